"""Review of the lint cache's dependencies as the interpreter reads them (a2ca0bd): a file
whose content decides a lint result must be recorded in the file's cache entry, however the
analysis reached it: a package __init__'s lazy ``from .x import Name`` (read on first use),
a star import through another module, ``import a.b.c`` (the packages on the way), an import
inside ``forward``, an import in a ``try`` of a file that does not parse, and module levels
served from a shared template (made by earlier analyses in the same process, or the listing
adopted as the file's template when it has two models), in this process and in forked
workers (``jobs=2``).

Oracle: the uncached lint of the same files after the edit (cache=False, every model
analysed afresh); a cached run must equal it. The planted numbers are hand arithmetic
(comments at the edits)."""
from __future__ import annotations

import json
import os
import textwrap

import pytest

import cnnsym.lint.engine as engine
from cnnsym.api import load
from cnnsym.config import Config
from cnnsym.lint import all_rules, selected

FILES = {
    "proj/__init__.py": "",
    "proj/app/__init__.py": "",
    # a package __init__: `from .other import Thing` binds Thing lazily (read when used)
    "proj/lib/__init__.py": "from .blocks import *\nfrom .other import Thing\n",
    "proj/lib/blocks.py": textwrap.dedent("""\
        import torch.nn as nn
        WB = 16
        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, WB, 3)
            def forward(self, x):
                return self.conv(x)
        """),
    "proj/lib/other.py": textwrap.dedent("""\
        import torch.nn as nn
        WT = 16
        class Thing(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, WT, 1)
            def forward(self, x):
                return self.conv(x)
        """),
    "proj/lib/deep/__init__.py": "DEEPINIT = 16\n",
    "proj/lib/deep/mod.py": "W = 16\n",
    "proj/lib/infwd.py": "K = 16\n",
    "proj/lib/broken.py": "X = (\n",
    "proj/lib/starred.py": "from .starsrc import *\n",
    "proj/lib/starsrc.py": "SW = 16\n",
    "proj/app/net.py": textwrap.dedent("""\
        import torch.nn as nn
        from ..lib import Block, Thing
        import proj.lib.deep.mod
        from proj.lib import deep
        from ..lib.starred import *
        try:
            from ..lib.broken import X
        except ImportError:
            X = 16


        class Net1(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = Block(3)
                self.b = Thing(16)
                self.c = nn.Conv2d(16, proj.lib.deep.mod.W, 1)
                self.d = nn.Conv2d(16, SW, 1)
                self.e = nn.Conv2d(16, deep.DEEPINIT, 1)
                self.f = nn.Conv2d(16, X, 1)
                self.fc = nn.Linear(16 * 30 * 30, 10)

            def forward(self, x):
                from ..lib.infwd import K
                y = self.f(self.e(self.d(self.c(self.b(self.a(x))))))
                return self.fc(y.flatten(1)) if K == 16 else self.fc(y)


        class Net2(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = Block(3)

            def forward(self, x):
                return self.a(x)
        """),
    "proj/app/plain.py": textwrap.dedent("""\
        import torch.nn as nn


        class Plain(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)

            def forward(self, x):
                return self.conv(x)
        """),
}

# each edit changes what the uncached lint says: a width of 16 becomes 8 somewhere along
# the chain 3 -> a (WB) -> b (in 16) -> c (in 16, out W) -> d (in 16, out SW) -> e (in 16,
# out DEEPINIT) -> f (in 16, out X) -> fc (in 16 * 30 * 30 = 14,400 at 32x32: the 3x3 conv
# makes 30x30), so a channel mismatch (CNS102) or a Linear mismatch (8 * 900 = 7,200; CNS101)
# appears; `K` != 16 makes forward skip the flatten
EDITS = {
    "proj/lib/blocks.py": ("WB = 16", "WB = 8"),
    "proj/lib/other.py": ("WT = 16", "WT = 8"),
    "proj/lib/deep/__init__.py": ("16", "8"),
    "proj/lib/deep/mod.py": ("16", "8"),
    "proj/lib/starsrc.py": ("16", "8"),
    "proj/lib/broken.py": ("X = (", "X = 8"),  # parses now: f makes 8 channels
    "proj/lib/infwd.py": ("16", "8"),
}


def _build(root):
    for rel, text in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _opts(root, cache=True, jobs=1):
    return engine.Options(selected(all_rules(), None, [], []), ["1x3x32x32"], Config(), cache=cache,
                          cache_dir=str(root / "cache"), jobs=jobs)


def _data(res):
    return [f.to_dict() for f in res.findings], res.errors, res.models


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("edited", sorted(EDITS))
def test_an_edit_anywhere_the_analysis_read_is_not_served_stale(tmp_path, edited, jobs):
    _build(tmp_path)
    net = str(tmp_path / "proj" / "app" / "net.py")
    paths = [net, str(tmp_path / "proj" / "app" / "plain.py")]  # two files: jobs=2 forks workers
    for _ in range(2):  # module levels shared from here on (templates made in this process)
        load(net + "::Net1")
    before = engine.lint_paths(paths, _opts(tmp_path, jobs=jobs))
    assert before.cached == 0 and before.models == 3
    warm = engine.lint_paths(paths, _opts(tmp_path, jobs=jobs))
    assert warm.cached == 2 and _data(warm) == _data(before)
    old, new = EDITS[edited]
    p = tmp_path / edited
    assert old in p.read_text()
    p.write_text(p.read_text().replace(old, new))
    cached = engine.lint_paths(paths, _opts(tmp_path, jobs=jobs))
    fresh = engine.lint_paths(paths, _opts(tmp_path, cache=False, jobs=jobs))
    assert _data(fresh) != _data(before)  # the edit matters
    assert cached.cached == 1  # plain.py only
    assert _data(cached) == _data(fresh)


def test_the_entry_records_each_file_read_and_nothing_outside_the_project(tmp_path):
    _build(tmp_path)
    net = str(tmp_path / "proj" / "app" / "net.py")
    engine.lint_paths([net], _opts(tmp_path))
    (entry,) = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "cache") for f in fs if f.endswith(".json")]
    with open(entry) as f:
        deps = sorted(os.path.relpath(p, tmp_path) for p in json.load(f)["deps"])
    assert deps == sorted(k for k in FILES if not k.startswith("proj/app/"))


SIMPLE_NET = """import torch.nn as nn

from ..lib.blocks import Block


class Net1(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(3)
        self.b = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        return self.b(self.a(x))


class Net2(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(3)

    def forward(self, x):
        return self.a(x)
"""


# (review: modcache's stamps held (size, mtime) only; they now hold the change time and inode too)
def test_a_same_size_edit_with_the_mtime_kept_is_not_served_from_a_template(tmp_path):
    _build(tmp_path)
    net = tmp_path / "proj" / "app" / "net.py"
    net.write_text(SIMPLE_NET)
    first = engine.lint_paths([str(net)], _opts(tmp_path))  # two models: the listing is the template
    assert first.models == 2 and not [f for f in first.findings if f.code == "CNS102"]
    blocks = tmp_path / "proj" / "lib" / "blocks.py"
    st = os.stat(blocks)
    blocks.write_text(FILES["proj/lib/blocks.py"].replace("WB = 16", "WB = 32"))  # same size
    os.utime(blocks, ns=(st.st_atime_ns, st.st_mtime_ns))
    # Block makes 32 channels now; b expects 16: a channel mismatch (CNS102) in Net1
    again = engine.lint_paths([str(net)], _opts(tmp_path))
    assert again.cached == 0  # the content hash changed: analysed again
    assert any(f.code == "CNS102" and "32" in f.message for f in again.findings)


def test_a_same_size_edit_with_the_mtime_kept_is_parsed_again(tmp_path, monkeypatch):
    """The parsed-file cache (imports._PARSED) alone, module sharing off: the edit keeps the
    size and the mtime, but not the inode-change time, so the file is parsed again. Before
    the fix the old tree was used and the lint cache stored its result under the new hash."""
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "0")
    _build(tmp_path)
    net = str(tmp_path / "proj" / "app" / "net.py")
    first = engine.lint_paths([net], _opts(tmp_path))
    assert first.models == 2 and not [f for f in first.findings if f.code == "CNS102"]
    blocks = tmp_path / "proj" / "lib" / "blocks.py"
    st = os.stat(blocks)
    blocks.write_text(FILES["proj/lib/blocks.py"].replace("WB = 16", "WB = 32"))  # same size
    os.utime(blocks, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(blocks).st_size, os.stat(blocks).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    # Block makes 32 channels now; Thing (b) expects 16: a channel mismatch (CNS102) in Net1
    again = engine.lint_paths([net], _opts(tmp_path))
    assert again.cached == 0
    assert any(f.code == "CNS102" and "32" in f.message for f in again.findings)
