"""Inside lint's list-then-load of a file (``listing_handover()``), the listing hands its
interpreter (module level run, nothing built) to the next load of the same file
(cnnsym/frontends/torch/__init__.py, issue 12). Every load must still see the state a fresh
Python process would: the expected channel counts below are what Python itself computes when
it imports the file and builds the model once (arithmetic in comments)."""
from __future__ import annotations

import os
import textwrap

import cnnsym
from cnnsym import api
from cnnsym.frontends import torch as frontend
from cnnsym.frontends.torch import list_models, listing_handover

SRC = textwrap.dedent('''
    import torch.nn as nn

    SEEN = []          # construction appends: a fresh process builds the model once -> len 1
    WIDTH = {width}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            SEEN.append(1)
            self.c = nn.Conv2d(3, WIDTH * len(SEEN), 3)

        def forward(self, x):
            return self.c(x)
''')

USES_BLOCKS = textwrap.dedent('''
    import torch.nn as nn
    from blocks import Block


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = Block()

        def forward(self, x):
            return self.b(x)
''')

BLOCKS = textwrap.dedent('''
    import torch.nn as nn


    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 32, 3)

        def forward(self, x):
            return self.c(x)
''')


def _channels(spec):
    g = api.load(spec)
    out = g.outputs[0]
    node = next(n for n in g.nodes if out in n.outputs)
    return int(g.initializers[node.inputs[1]].shape[0])  # conv weight: (out_channels, in, k, k)


def test_loads_after_a_listing_see_a_fresh_module_level(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(SRC.format(width=4))
    spec = f"{p}::Net"
    with listing_handover():
        assert list_models(str(p)) == ["Net"]
        assert (str(p), str(p)) in frontend._LISTED  # the handover is on offer
        # first load (from the listing's interpreter) and a second (fresh): Python gives
        # WIDTH * len(SEEN) = 4 * 1 = 4 each time a process builds Net once
        assert _channels(spec) == 4
        assert not frontend._LISTED  # ... and was taken
        assert _channels(spec) == 4


def test_a_file_changed_after_the_listing_is_read_again(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(SRC.format(width=4))
    with listing_handover():
        assert list_models(str(p)) == ["Net"]
        p.write_text(SRC.format(width=16))  # a different size: the listing's stamps no longer hold
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert _channels(f"{p}::Net") == 16  # 16 * 1


def test_nothing_is_handed_over_outside_lint(tmp_path):
    # the listing looked for blocks.py and did not find it; created afterwards, a later
    # analysis must read it, as a fresh process does: Conv2d(3, 32, 3) = 32 * 27 + 32 = 896
    (tmp_path / "model.py").write_text(USES_BLOCKS)
    list_models(str(tmp_path / "model.py"))
    assert not frontend._LISTED
    (tmp_path / "blocks.py").write_text(BLOCKS)
    rep = cnnsym.analyze(f"{tmp_path / 'model.py'}::Net", input="1x3x8x8")
    assert rep.totals["params.trainable"] == 896


def test_a_relative_path_in_another_directory_is_another_file(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "net.py").write_text(SRC.format(width=4))
    (b / "net.py").write_text(SRC.format(width=8))
    with listing_handover():
        monkeypatch.chdir(a)
        list_models("net.py")
        monkeypatch.chdir(b)
        assert _channels("net.py::Net") == 8  # b's WIDTH * 1, not a's listing
