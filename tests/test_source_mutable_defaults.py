"""A list, dict or set default is made once, when the function is defined, as Python makes
it (frontends/torch/statements.py Statements.mutable_defaults): what one call puts in it
the next call sees. torch running the same file is the oracle."""
from __future__ import annotations

import pytest
from torch_oracle import run_file

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''\
import torch.nn as nn


def make(n, cache={}):
    cache[n] = 1
    return len(cache) + 1


def grow(width, seen=[], *, extra={"k": 0}):
    seen.append(width)
    extra["k"] += 1
    return sum(seen) + extra["k"]


class A(nn.Module):
    def __init__(self):
        super().__init__()
        make(5)
        self.l = nn.Linear(3, make(1))
        self.m = nn.Linear(3, grow(2) + grow(3))

    def forward(self, x):
        return self.l(x) + self.m(x)[:, :3]
'''


def test_a_mutable_default_is_one_object_for_every_call(tmp_path):
    path = tmp_path / "defaults.py"
    path.write_text(SRC)
    # torch: make(5), then make(1) sees {5: 1, 1: 1}: Linear(3, 3) = 12; grow(2) = 2 + 1 = 3,
    # grow(3) sees seen == [2, 3] and k == 2: 5 + 2 = 7, so Linear(3, 10) = 40; 12 + 40 = 52
    expect = sum(p.numel() for p in run_file(str(path), "defaults_net").A().parameters())
    assert expect == 52
    rep = cnnsym.analyze(f"{path}::A", input="1x3")
    assert rep.totals["params.trainable"] == expect
    assert rep.complete
