"""``input=`` reaches the source frontend (api.load): forward is followed on the shapes the
user gives, not on a rank and channel count guessed from the first layer. Oracle: torch
executing the same model on a tensor of that shape."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import cnnsym  # noqa: E402
from cnnsym.analyze import evaluate  # noqa: E402

SEQ = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)        # first layer: a guess would give a rank-2 input

    def forward(self, x):                # used on (N, L, 8) sequences
        return self.fc(x).mean(dim=1)
"""

CHUNK = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)         # before any layer: the input's channels decide
        return self.conv(torch.cat([b, a], dim=1) if a.shape == b.shape else x)
"""


def _torch(src, shape):
    ns = {}
    exec(compile(src, "<test>", "exec"), ns)  # torch is the oracle: the TEST executes the model
    try:
        with torch.no_grad():
            return tuple(ns["Net"]().eval()(torch.randn(*shape)).shape)
    except (RuntimeError, ValueError) as e:
        return e


def test_rank_from_the_input_spec_not_the_first_layer():
    rep = cnnsym.analyze(SEQ, input="2xLx8", bind="L=5")
    assert tuple(int(evaluate(d, rep.bindings)) for d in rep.tensors[rep.outputs[0]].shape) == _torch(SEQ, (2, 5, 8))
    assert rep.complete and not rep.problems


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_input_channels_known_while_forward_is_followed(channels):
    # chunk(2) of one channel is one piece: unpacking it into two names fails in Python
    # (torch: ValueError); with two or four channels the model runs
    want = _torch(CHUNK, (1, channels, 9, 9))
    rep = cnnsym.analyze(CHUNK, input=f"1x{channels}xHxW")
    if isinstance(want, Exception):
        assert rep.problems or rep.not_followed
    else:
        assert not rep.problems and not rep.not_followed
        shape = tuple(int(evaluate(d, {"H": 9, "W": 9})) for d in rep.tensors[rep.outputs[0]].shape)
        assert shape == want
