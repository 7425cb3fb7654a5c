"""An API report whose module tree is built on first read (``analyze(lazy_modules=True)``)
renders to HTML as the eager report does (the review of issue 12's lazy reports found
to_html reading the lazy tree's keys as modules). Oracle: the eager report's page."""
from pathlib import Path

from cnnsym.analyze import analyze
from cnnsym.api import load

ROOT = Path(__file__).resolve().parent.parent


def test_lazy_module_tree_renders_as_the_eager_one():
    for spec in (str(ROOT / "fixtures" / "tiny_resnet.onnx"), f"{ROOT / 'fixtures' / 'torch' / 'lenet.py'}::Net"):
        eager = analyze(load(spec))
        lazy = analyze(load(spec), lazy_modules=True)
        assert lazy.to_html() == eager.to_html()
