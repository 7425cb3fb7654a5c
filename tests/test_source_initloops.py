"""Weight-initialisation loops are recognised and not run (frontends/torch/initloops.py,
issue 12); a loop that changes anything the analysis reads runs as written. The oracle is
torch running the same file: a wrongly skipped loop gives a different parameter count."""
from __future__ import annotations

import textwrap

import pytest
from torch_oracle import run_file

import cnnsym
from cnnsym.frontends.torch import initloops

torch = pytest.importorskip("torch")

HEAD = """\
import math
import torch.nn as nn
from torch.nn import init


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, 10)
"""
FORWARD = """
    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))
"""

# torchvision's loops, as written there (resnet, efficientnet)
INIT_LOOPS = """\
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight.data, -init_range, init_range)
        for m in self.children():
            pass
"""


def _write(tmp_path, body, forward=FORWARD):
    path = tmp_path / "net.py"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(body), " " * 8) + forward)
    return str(path)


def _spy(monkeypatch):
    said = []
    real = initloops.skippable

    def skippable(it, stmt, frame):
        said.append(real(it, stmt, frame))
        return said[-1]

    monkeypatch.setattr(initloops, "skippable", skippable)
    return said


def _with_and_without_skipping(path, monkeypatch):
    """(the skip decisions, the report with loops skipped where allowed), after checking that
    report equals the one with no loop skipped."""
    said = _spy(monkeypatch)
    on = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    monkeypatch.setattr(initloops, "skippable", lambda *a: False)
    off = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert on.to_json() == off.to_json()
    return said, on


def _before_class(path, text):
    """``text`` inserted before the file's class Net."""
    with open(path) as f:
        src = f.read()
    with open(path, "w") as f:
        f.write(src.replace("class Net", text + "class Net"))


def _params(path):
    return sum(p.numel() for p in run_file(path, "initloop_net").Net().parameters())


def test_an_initialisation_loop_is_skipped(tmp_path, monkeypatch):
    path = _write(tmp_path, INIT_LOOPS)
    said = _spy(monkeypatch)
    rep = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert said == [True, True]
    # torch: conv 3*8*9 + 8 = 224, bn 16, fc 8*10 + 10 = 90 -> 330
    assert rep.totals["params.trainable"] == _params(path) == 330
    assert rep.complete


# each changes what the analysis reads, so each runs; torch's count says whether it did
@pytest.mark.parametrize("body", [
    # a list the loop fills sizes the head
    """\
    widths = []
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            widths.append(m.out_channels)
    self.head = nn.Linear(sum(widths), 2)
    """,
    # the loop variable is read after the loop
    """\
    for m in self.modules():
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    self.head = nn.Linear(m.out_features if isinstance(m, nn.Linear) else 3, 2)
    """,
    # a name the loop assigns is read after it
    """\
    n = 1
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            n = m.out_channels * 2
    self.head = nn.Linear(n, 2)
    """,
    # the function it calls is the file's own
    """\
    self.seen = []
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            self.note(m.weight)
    self.head = nn.Linear(len(self.seen) + 1, 2)
    """,
])
def test_a_loop_that_changes_something_runs(tmp_path, monkeypatch, body):
    forward = FORWARD + """
    def note(self, w):
        self.seen.append(w)
"""
    path = _write(tmp_path, body, forward)
    said = _spy(monkeypatch)
    rep = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert said and not any(said)
    # torch: 330 for conv, bn and fc, plus the head sized by what the loop did
    assert rep.totals["params.trainable"] == _params(path)
    assert _params(path) > 330


def test_an_attribute_a_layer_may_lack_keeps_the_loop(tmp_path, monkeypatch):
    # Embedding has no bias: the loop reads what torch would fail on, so it runs as written
    body = """\
    self.emb = nn.Embedding(4, 3)
    for m in self.modules():
        if isinstance(m, nn.Embedding):
            nn.init.zeros_(m.bias)
    """
    path = _write(tmp_path, body)
    said = _spy(monkeypatch)
    cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert said == [False]
    with pytest.raises(AttributeError):
        run_file(path, "initloop_emb").Net()


# loops torch fails on (review of 091232e): each must run, so that the analysis says what
# running it says (not followed, the report incomplete), as with no loop skipped at all
@pytest.mark.parametrize("body", [
    # a convolution without bias: None has no .data
    """\
    self.c2 = nn.Conv2d(3, 3, 1, bias=False)
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.bias.data, 0)
    """,
    # a name read where no path assigned it yet (the Linear comes after the convolution)
    """\
    for m in self.modules():
        if isinstance(m, nn.Linear):
            s = 1.0 / m.in_features
        elif isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=s)
    """,
    # a Conv1d's kernel_size has one item
    """\
    self.c1 = nn.Conv1d(3, 3, 1)
    for m in self.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            n = m.kernel_size[1] * m.out_channels
    """,
])
def test_a_loop_torch_fails_on_runs(tmp_path, monkeypatch, body):
    path = _write(tmp_path, body)
    with pytest.raises((AttributeError, NameError, IndexError)):
        run_file(path, "initloop_fails").Net()
    said, on = _with_and_without_skipping(path, monkeypatch)
    assert said == [False]
    assert not on.complete


def test_the_files_own_isinstance_keeps_the_loop(tmp_path, monkeypatch):
    path = _write(tmp_path, INIT_LOOPS)
    _before_class(path, "def isinstance(m, c):\n    raise ValueError(m)\n\n\n")
    with pytest.raises(ValueError):
        run_file(path, "initloop_isinstance").Net()
    said = _spy(monkeypatch)
    on = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert said == [False, True]
    assert not on.complete


def test_a_layer_subclass_answering_a_read_itself_keeps_the_loop(tmp_path, monkeypatch):
    # in_features is the file's own property: reading it runs the file's code (here it logs,
    # and the log sizes the head); skipped, the report said complete with torch's count off
    body = """\
    self.own = OwnLinear(3, 4)
    for m in self.modules():
        if isinstance(m, nn.Linear):
            r = 1.0 / m.in_features
            nn.init.uniform_(m.weight, -r, r)
    self.head = nn.Linear(4, len(LOG) + 1)
    """
    path = _write(tmp_path, body)
    _before_class(path, """LOG = []


class OwnLinear(nn.Linear):
    @property
    def in_features(self):
        LOG.append(1)
        return self._in

    @in_features.setter
    def in_features(self, v):
        self._in = v


""")
    said, on = _with_and_without_skipping(path, monkeypatch)
    assert said == [False]
    # torch: the loop read OwnLinear's in_features once, the head is 4 -> 2
    assert _params(path) == 330 + 16 + 10
    assert not on.complete or on.totals["params.trainable"] == _params(path)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_a_loop_dividing_by_a_size_of_zero_runs(tmp_path, monkeypatch):
    # review of 091232e: 1.0 / m.out_features of a Linear(8, 0) raises in torch; skipped, the
    # report said complete
    path = _write(tmp_path, "        self.fc = nn.Linear(width, 0)\n" + INIT_LOOPS)
    with pytest.raises(ZeroDivisionError):
        run_file(path, "initloop_zero").Net()
    said = _spy(monkeypatch)
    on = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert said[0] is False
    monkeypatch.setattr(initloops, "skippable", lambda *a: False)
    off = cnnsym.analyze(f"{path}::Net", input="1x3x16x16")
    assert on.to_json() == off.to_json()
    assert not on.complete
