"""The lint cache follows what a result depends on (issue 12): a file the model imports from
another folder (``from ..layers.blocks import ...``, as torchvision's segmentation/fcn.py
imports ../_utils.py) and cnnsym's own source. Editing the imported file makes the next run
analyse the model again (and the CLI's cache-only warm path must not answer from the stale
entry); editing nothing keeps every result cached.

Oracle: the uncached analysis of the same files (cache=False), and hand arithmetic for the
planted mismatch (commented where the file is edited)."""
import subprocess
import sys

import pytest

import cnnsym.lint.cache as cache
import cnnsym.lint.engine as engine
from cnnsym.config import Config
from cnnsym.lint import all_rules, selected

NET = '''import torch.nn as nn

from ..layers.blocks import WIDTH, Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Block(3, WIDTH)
        self.fc = nn.Linear(16 * 30 * 30, 10)

    def forward(self, x):
        return self.fc(self.body(x).flatten(1))
'''

BLOCKS = '''import torch.nn as nn

WIDTH = {width}


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3)

    def forward(self, x):
        return self.conv(x).relu()
'''


@pytest.fixture
def project(tmp_path):
    pkg = tmp_path / "pkg"
    for d in (pkg, pkg / "models", pkg / "layers"):
        d.mkdir()
        (d / "__init__.py").write_text("")
    (pkg / "models" / "net.py").write_text(NET)
    (pkg / "layers" / "blocks.py").write_text(BLOCKS.format(width=16))
    return tmp_path


def _opts(tmp_path, use_cache=True):
    return engine.Options(selected(all_rules(), None, [], []), ["1x3x32x32"], Config(), cache=use_cache,
                          cache_dir=str(tmp_path / "cache"))


def _data(res):
    return [f.to_dict() for f in res.findings], res.errors, res.models


def test_editing_an_imported_file_in_another_folder_invalidates(project):
    net = str(project / "pkg" / "models" / "net.py")
    first = engine.lint_paths([net], _opts(project))
    # 3x32x32 through a 3x3 conv without padding: 16 x 30 x 30 = 14,400 = the Linear's in_features
    assert first.cached == 0 and not [f for f in first.findings if f.code == "CNS101"]
    again = engine.lint_paths([net], _opts(project))
    assert again.cached == 1 and _data(again) == _data(first)  # nothing edited: warm
    assert cache.run([net], _opts(project)) is not None  # the CLI's cache-only path answers too

    # the block in ../layers/ now makes 8 channels: 8 x 30 x 30 = 7,200 != 14,400
    (project / "pkg" / "layers" / "blocks.py").write_text(BLOCKS.format(width=8))
    assert cache.run([net], _opts(project)) is None  # the cache-only path must not serve the stale entry
    edited = engine.lint_paths([net], _opts(project))
    assert edited.cached == 0
    fresh = engine.lint_paths([net], _opts(project, use_cache=False))
    assert _data(edited) == _data(fresh)
    assert any(f.code == "CNS101" and "7200" in f.message.replace(",", "") for f in edited.findings)
    # the new result is cached in turn
    assert engine.lint_paths([net], _opts(project)).cached == 1


def test_cnnsyms_own_source_is_part_of_the_key(project, monkeypatch):
    net = str(project / "pkg" / "models" / "net.py")
    engine.lint_paths([net], _opts(project))
    assert engine.lint_paths([net], _opts(project)).cached == 1
    monkeypatch.setattr(cache, "_CODE", ["another build of cnnsym"])  # as after editing a cnnsym module
    assert engine.lint_paths([net], _opts(project)).cached == 0


def test_code_digest_follows_the_package_files(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "PACKAGE_DIR", str(pkg))
    monkeypatch.setattr(cache, "_CODE", [])
    before = cache.code_digest()
    (pkg / "a.py").write_text("x = 12\n")  # another size
    monkeypatch.setattr(cache, "_CODE", [])
    assert cache.code_digest() != before


def test_cli_warm_run_after_an_edit_elsewhere_is_not_stale(project):
    env_cache = str(project / "clicache")
    cmd = [sys.executable, "-m", "cnnsym", "lint", "--input", "1x3x32x32", "--format", "concise", "pkg/models/net.py"]
    env = {"CNNSYM_CACHE_DIR": env_cache}
    import os

    env = {**os.environ, **env}
    p1 = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
    assert p1.returncode == 0, p1.stdout + p1.stderr
    (project / "pkg" / "layers" / "blocks.py").write_text(BLOCKS.format(width=8))
    p2 = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
    assert p2.returncode == 1 and "CNS101" in p2.stdout, p2.stdout + p2.stderr


def test_a_later_run_in_the_same_process_sees_a_module_created_since(project):
    """A long-lived process (the API, an editor plugin) that linted while ../layers/blocks.py
    did not exist must record it in the next run's cache entry once it does, so that
    editing it invalidates that entry."""
    net = str(project / "pkg" / "models" / "net.py")
    blocks = project / "pkg" / "layers" / "blocks.py"
    blocks.unlink()
    engine.lint_paths([net], engine.Options(selected(all_rules(), None, [], []), ["1x3x32x32"], Config(), cache=True,
                                            cache_dir=str(project / "cache_a")))
    blocks.write_text(BLOCKS.format(width=16))

    def run_b():
        return engine.lint_paths([net], engine.Options(selected(all_rules(), None, [], []), ["1x3x32x32"], Config(),
                                                       cache=True, cache_dir=str(project / "cache_b")))

    # 16 x 30 x 30 = 14,400 = the Linear's in_features: no CNS101
    assert not [f for f in run_b().findings if f.code == "CNS101"]
    blocks.write_text(BLOCKS.format(width=8))  # 8 x 30 x 30 = 7,200 != 14,400
    edited = run_b()
    assert edited.cached == 0
    assert any(f.code == "CNS101" and "7200" in f.message.replace(",", "") for f in edited.findings)


def test_fixing_an_imported_file_that_did_not_parse_invalidates(project):
    """The imported file failed to parse: it was still read (tried), so the entry records it
    and fixing it makes the next run analyse the model again."""
    net = str(project / "pkg" / "models" / "net.py")
    blocks = project / "pkg" / "layers" / "blocks.py"
    blocks.write_text(BLOCKS.format(width=8).replace("def forward(self, x):", "def forward(self, x:"))
    broken = engine.lint_paths([net], _opts(project))
    assert broken.cached == 0 and not [f for f in broken.findings if f.code == "CNS101"]
    blocks.write_text(BLOCKS.format(width=8))  # parses now: 8 x 30 x 30 = 7,200 != 14,400
    fixed = engine.lint_paths([net], _opts(project))
    assert fixed.cached == 0
    assert any(f.code == "CNS101" and "7200" in f.message.replace(",", "") for f in fixed.findings)


def test_a_module_imported_inside_the_constructor_is_recorded(project):
    net = project / "pkg" / "models" / "net.py"
    net.write_text(NET.replace("from ..layers.blocks import WIDTH, Block\n", "").replace(
        "        super().__init__()\n", "        super().__init__()\n        from ..layers.blocks import WIDTH, Block\n\n"))
    first = engine.lint_paths([str(net)], _opts(project))
    assert first.models == 1 and not [f for f in first.findings if f.code == "CNS101"]  # 16 x 30 x 30 = 14,400
    (project / "pkg" / "layers" / "blocks.py").write_text(BLOCKS.format(width=8))  # 7,200 != 14,400
    edited = engine.lint_paths([str(net)], _opts(project))
    assert edited.cached == 0
    assert any(f.code == "CNS101" and "7200" in f.message.replace(",", "") for f in edited.findings)
