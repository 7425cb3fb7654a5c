"""Layers cnnsym knows, downstream of a call it cannot follow (a layer from a package it
does not read): their input shape is unknown, so their nodes are "unresolved (downstream
of an unsupported op)", with the ONNX op each lowers to and their parameters and buffers
counted; only the call cnnsym cannot follow is an unsupported op (CNS001). Before, each
was emitted with the torch layer's name as its op type (``ai.onnx::LayerNorm``,
``ai.onnx::GELU``, ``ai.onnx::ReLU6``...) and reported as an unsupported op of its own,
its parameters counted only when the layer happened to hold some, its buffers never.

The oracle is torch building the same file (the unread package stubbed by an identity):
``sum(p.numel() for p in m.parameters())`` and the buffers' count."""
from __future__ import annotations

import sys
import types

import pytest
from torch_oracle import run_file

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''
import torch
import torch.nn as nn
from somewhere_unread import Mystery


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Mystery()
        self.ln = nn.LayerNorm(8)
        self.g = nn.GELU()
        self.r6 = nn.ReLU6()
        self.hs = nn.Hardswish()
        self.hsig = nn.Hardsigmoid()
        self.bn = nn.BatchNorm2d(8)
        self.conv = nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect")
        self.p = nn.AdaptiveAvgPool2d(1)
        self.mp = nn.MaxPool2d(1)
        self.flat = nn.Flatten()
        self.uf = nn.Unflatten(1, (2, 4))
        self.fc = nn.Linear(4, 6)
        self.attn = nn.MultiheadAttention(6, 2, batch_first=True)

    def forward(self, x):
        x = self.a(x)
        x = x.permute(0, 2, 3, 1)
        x = self.ln(x)
        x = x.permute(0, 3, 1, 2)
        x = self.hsig(self.hs(self.r6(self.g(x))))
        x = self.conv(self.bn(x))
        x = self.mp(self.p(x))
        x = self.fc(self.uf(self.flat(x)))
        y, _ = self.attn(x, x, x)
        return y
'''

# the op each layer lowers to, whatever its input's shape
EXPECTED_OPS = {"ln": "LayerNormalization", "g": "Gelu", "r6": "Clip", "hs": "HardSwish", "hsig": "HardSigmoid",
                "bn": "BatchNormalization", "conv": "Conv", "p": "GlobalAveragePool", "mp": "MaxPool",
                "flat": "Flatten", "uf": "Reshape", "fc": "Gemm", "attn": "Attention"}


@pytest.fixture()
def model_file(tmp_path):
    path = tmp_path / "unresolved_net.py"
    path.write_text(SRC)
    return path


def _torch_truth(path):
    stub = types.ModuleType("somewhere_unread")
    stub.Mystery = torch.nn.Identity
    sys.modules["somewhere_unread"] = stub
    try:
        mod = run_file(path, "unresolved_net")
        m = mod.Net().eval()
        with torch.no_grad():
            y = m(torch.zeros(2, 8, 4, 4))
    finally:
        del sys.modules["somewhere_unread"]
    return (sum(p.numel() for p in m.parameters()), sum(b.numel() for b in m.buffers()), tuple(y.shape))


def test_layers_after_an_unfollowed_call_are_unresolved_not_unsupported(model_file):
    params, buffers, shape = _torch_truth(model_file)
    assert shape == (2, 2, 6)  # the model runs in torch with the unread layer an identity
    rep = cnnsym.analyze(f"{model_file}::Net", input="2x8x4x4")
    assert not rep.complete
    assert [(u["domain"], u["op"], u["count"]) for u in rep.unaccounted] == [("torch.unknown", "Mystery", 1)]
    by_module = {}
    for r in rep.nodes:
        by_module.setdefault(r.node.module.split(".")[0], []).append(r)
    for mod, op in EXPECTED_OPS.items():
        rows = by_module[mod]
        assert op in [r.node.op_type for r in rows], (mod, [r.node.op_type for r in rows])
        assert all(r.status == "unresolved" for r in rows), (mod, [(r.node.op_type, r.status) for r in rows])
    # every parameter and buffer torch holds is counted (Mystery, the identity, has none)
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers


def test_lint_names_only_the_unfollowed_call(model_file):
    res = cnnsym.lint([str(model_file)])
    cns001 = [f.message for f in res.findings if f.code == "CNS001"]
    assert len(cns001) == 1 and "torch.unknown::Mystery" in cns001[0], cns001
    assert not any("ai.onnx::" in m for m in cns001)
