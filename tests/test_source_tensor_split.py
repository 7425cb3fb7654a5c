"""torch.tensor_split, unbind, repeat_interleave and in-place fills (``zero_``) read from
source, against torch executing the same file: every output's shape, at concrete sizes and
(tensor_split by indices, repeat_interleave) symbolic ones. torchvision uses them in
mvit.py (``torch.tensor_split(x, indices=(1,), dim=2)``, ``.unbind(dim=2)``,
``torch.repeat_interleave(self.temporal_pos, hw_size, dim=0)``) and swin_transformer.py
(``qkv_bias[length:2 * length].zero_()``), where each was an unsupported op."""
from __future__ import annotations

import pytest
from torch_oracle import run_file
import sympy as sp

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, case):
        super().__init__()
        self.case = case
        self.pos = nn.Parameter(torch.zeros(3, 5))
        self.lin = nn.Linear(5, 6)

    def forward(self, x):
        c = self.case
        if c == "split_indices":
            return torch.tensor_split(x, indices=(1,), dim=2)
        if c == "split_indices_many":
            return x.tensor_split([1, 4, -1], dim=-1)
        if c == "split_out_of_order":
            return torch.tensor_split(x, (5, 2), 2)
        if c == "split_sections":
            return torch.tensor_split(x, 3, dim=2)
        if c == "unbind":
            q, k, v = x.unbind(dim=1)
            return q, k, v
        if c == "unbind_first":
            return torch.unbind(x)
        if c == "repeat_dim":
            return torch.repeat_interleave(x, 3, dim=1)
        if c == "repeat_flat":
            return x.repeat_interleave(2)
        if c == "repeat_param":
            p = torch.repeat_interleave(self.pos, 4, dim=0)
            return x.sum() + p
        if c == "zero_slice":
            b = self.lin.bias.clone()
            b[2:4].zero_()
            return nn.functional.linear(x[..., :5], self.lin.weight, b)
        raise ValueError(c)
'''

CASES = ["split_indices", "split_indices_many", "split_out_of_order", "split_sections", "unbind", "unbind_first",
         "repeat_dim", "repeat_flat", "repeat_param", "zero_slice"]


@pytest.fixture(scope="module")
def src_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tsplit") / "tsplit_net.py"
    path.write_text(SRC)
    mod = run_file(path, "tsplit_net")
    return path, mod


@pytest.mark.parametrize("case", CASES)
def test_against_torch(src_file, case):
    path, mod = src_file
    shape = (2, 3, 7)
    with torch.no_grad():
        out = mod.Net(case).eval()(torch.zeros(*shape))
    outs = out if isinstance(out, tuple) else (out,)
    rep = cnnsym.analyze(f"{path}::Net({case!r})", input="x".join(map(str, shape)))
    assert rep.complete, (rep.not_followed, [(r.node.name, r.status, r.message) for r in rep.nodes if r.status != "ok"])
    assert [tuple(int(d) for d in rep.tensors[o].shape) for o in rep.outputs] == [tuple(t.shape) for t in outs]


@pytest.mark.parametrize("case,expect", [
    ("split_indices", [("N", 3, 1), ("N", 3, "W - 1")]),
    ("repeat_dim", [("N", 9, "W")]),
    ("repeat_flat", [("6*N*W",)]),
])
def test_symbolic(src_file, case, expect):
    path, mod = src_file
    rep = cnnsym.analyze(f"{path}::Net({case!r})", input="Nx3xW")
    assert rep.complete
    got = [tuple(rep.tensors[o].shape) for o in rep.outputs]
    syms = {s.name: s for sh in got for d in sh for s in getattr(d, "free_symbols", ())}
    want = [tuple(sp.sympify(str(d), locals=syms) for d in sh) for sh in expect]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert all(sp.expand(a - b) == 0 for a, b in zip(g, w)) and len(g) == len(w), (g, w)
    with torch.no_grad():  # the formula at one size torch runs
        out = mod.Net(case).eval()(torch.zeros(4, 3, 11))
    outs = out if isinstance(out, tuple) else (out,)
    at = {syms["N"]: 4, syms["W"]: 11}
    assert [tuple(int(sp.sympify(d).subs(at)) for d in sh) for sh in got] == [tuple(t.shape) for t in outs]


def test_torchvision_mvit_v1_b_from_its_source():
    """mvit.py uses tensor_split, repeat_interleave on a parameter, in-place adds and
    MaxPool3d: read from the installed file, mvit_v1_b is complete with torchvision's own
    figures (weights' meta: num_params 36,610,672, _ops 70.599 GFLOPS at 16x224x224)."""
    import os
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("torchvision is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", "video", "mvit.py")
    rep = cnnsym.analyze(f"{path}::mvit_v1_b", input="1x3x16x224x224")
    assert rep.complete, rep.not_followed
    assert rep.values["params.trainable"] == 36_610_672
    assert round(rep.values["macs"] / 1e9, 3) == 70.599
    assert [tuple(rep.tensors[o].shape) for o in rep.outputs] == [(1, 400)]


def test_elementwise_function_of_an_init_tensor(tmp_path):
    """swin_v2's ``nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))``: a parameter
    of the ones' shape (it stopped: 'log() outside forward', the parameter not counted)."""
    path = tmp_path / "logit_scale.py"
    path.write_text('''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, heads=3):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.bias = nn.Parameter(torch.exp(torch.zeros(heads, 5, 5)))

    def forward(self, x):
        return x * self.logit_scale.exp() + self.bias
''')
    mod = run_file(path, "logit_scale")
    m = mod.Net()
    with torch.no_grad():
        y = m(torch.zeros(2, 3, 5, 5))
    rep = cnnsym.analyze(f"{path}::Net", input="2x3x5x5")
    assert rep.complete, rep.not_followed
    assert rep.values["params.trainable"] == sum(p.numel() for p in m.parameters()) == 3 + 75
    assert tuple(rep.tensors[rep.outputs[0]].shape) == tuple(y.shape)
