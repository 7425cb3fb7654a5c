"""Report.modules built on first read (analyze(lazy_modules=True), what lint asks for):
the tree a reader gets is torch's named_modules() (torch builds the fixture: the oracle),
the same mapping as the eager tree in the same order, and lint builds it only when a rule
reads it."""
from __future__ import annotations

import pickle

import pytest

from cnnsym import modules
from cnnsym.analyze import analyze
from cnnsym.config import Config
from cnnsym.frontends.torch import load_source
from cnnsym.lint import engine
from test_torch_frontend import FIX, _build_torch

ROOT = FIX.parent.parent
CASES = [("resnet.py", "resnet18"), ("mobilenetv2.py", "MobileNetV2"), ("lenet.py", "Net")]


@pytest.mark.parametrize("file,spec", CASES)
def test_lazy_tree_is_torchs_named_modules_and_the_eager_tree(file, spec):
    torch = pytest.importorskip("torch")  # noqa: F841 - _build_torch runs the fixture in torch
    g = load_source(f"{FIX / file}::{spec}")
    lazy = analyze(g, lazy_modules=True)
    assert isinstance(lazy.modules, modules.LazyTree) and lazy.modules._d is None  # not built yet
    names = [n for n, _ in _build_torch(file, spec).named_modules()]
    assert sorted(lazy.modules) == sorted(names)
    eager = analyze(load_source(f"{FIX / file}::{spec}"))
    assert list(lazy.modules) == list(eager.modules)  # first-call order
    assert lazy.modules == eager.modules and eager.modules == lazy.modules
    assert repr(lazy.modules) == repr(eager.modules)
    back = pickle.loads(pickle.dumps(lazy.modules))
    assert type(back) is dict and back == eager.modules
    assert lazy.to_json() == eager.to_json()
    # what a caller may do with the eager dict: copy it, merge it
    copy = lazy.modules.copy()
    assert type(copy) is dict and list(copy) == list(eager.modules)
    assert (lazy.modules | {}) == eager.modules and ({} | lazy.modules) == eager.modules


def test_lazy_tree_of_an_onnx_file_without_scopes():
    from cnnsym.api import load

    lazy = analyze(load(str(ROOT / "fixtures" / "seed_conv.onnx")), lazy_modules=True)
    eager = analyze(load(str(ROOT / "fixtures" / "seed_conv.onnx")))
    # one module per node under the root: the root and the file's one Conv
    assert [m.kind for m in lazy.modules.values()] == ["module", "node"]
    assert lazy.modules == eager.modules and len(lazy.modules) == 2


def test_lint_builds_the_tree_only_for_a_rule_that_reads_it(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")  # noqa: F841
    built = []
    real = modules.build
    monkeypatch.setattr(modules, "build", lambda g, r: built.append(1) or real(g, r))
    seen = {}

    class ReadsModules:  # a plugin rule that reads the tree
        code, name, severity, fix, needs_input = "X900", "reads-modules", "info", "", False

        def check(self, ctx):
            seen["paths"] = sorted(ctx.report.modules)
            return []

    cfg = Config(root=str(tmp_path))
    spec = f"{FIX / 'lenet.py'}::Net"
    res = engine.lint_paths([spec], engine.Options({}, None, cfg, cache=False))
    assert res.models == 1 and not res.errors
    assert built == []  # no rule read it: never built
    engine.lint_paths([spec], engine.Options({"X900": ReadsModules}, None, cfg, cache=False))
    assert built == [1]
    assert seen["paths"] == sorted(n for n, _ in _build_torch("lenet.py", "Net").named_modules())
