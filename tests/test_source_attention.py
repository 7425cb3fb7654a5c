"""nn.MultiheadAttention read from source (cnnsym/frontends/torch/modules_attention.py)
against torch executing the same file: every output's shape (the attention output and the
weights, averaged or per head, or none with need_weights=False), the parameter count
(``sum(p.numel() for p in m.parameters())``), at concrete and symbolic sizes, for the
configurations torch distinguishes: sequence-first and batch_first, unbatched (2-D)
input, packed in_proj_weight (kdim == vdim == embed_dim) with query, key and value the
same tensor, key the same as value, or all different, separate q/k/v_proj_weight (kdim
and vdim differ), no bias, add_bias_kv, add_zero_attn and both masks. MACs are checked
against hand arithmetic (see ``_hand_macs``). torchvision's vit_b_16, read from its
installed .py file, has torchvision's published parameter count and GFLOPS."""
from __future__ import annotations

import os
from importlib.machinery import PathFinder

import pytest
from torch_oracle import run_file
import sympy as sp

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, e=32, h=4, kdim=None, vdim=None, batch_first=False, bias=True, add_bias_kv=False,
                 add_zero_attn=False, mode="self", need_weights=True, average=True, unbatched=False, masks=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(e, h, kdim=kdim, vdim=vdim, bias=bias, add_bias_kv=add_bias_kv,
                                          add_zero_attn=add_zero_attn, batch_first=batch_first)
        self.kp = nn.Linear(e, kdim or e)
        self.vp = nn.Linear(e, vdim or e)
        self.mode = mode
        self.need_weights = need_weights
        self.average = average
        self.unbatched = unbatched
        self.masks = masks

    def forward(self, x):
        if self.unbatched:
            x = x[0]
        if self.mode == "detr":  # DETR's layers: query and key the same, value another tensor
            qk = x + 1
            return self.attn(qk, qk, value=x, need_weights=self.need_weights)[0]
        if self.mode == "kwargs":
            y, w = self.attn(query=x, key=x, value=x)
            return y, w
        if self.mode == "self":
            k = x
            v = x
        else:
            mem = x[:, :5] if (self.attn.batch_first and not self.unbatched) else x[:5]
            k = self.kp(mem)
            v = k if self.mode == "kv" else self.vp(mem)
        kw = {}
        if self.masks:
            lq = x.shape[1] if self.attn.batch_first else x.shape[0]
            lk = k.shape[1] if self.attn.batch_first else k.shape[0]
            n = x.shape[0] if self.attn.batch_first else x.shape[1]
            kw = dict(attn_mask=torch.zeros(lq, lk), key_padding_mask=torch.zeros(n, lk, dtype=torch.bool))
        y, w = self.attn(x, k, v, need_weights=self.need_weights, average_attn_weights=self.average, **kw)
        if w is None:
            return y
        return y, w
'''

# (constructor arguments, input shape as torch runs it)
CASES = {
    "self_seq_first": ("", (7, 2, 32)),
    "self_batch_first_no_weights": ("batch_first=True, need_weights=False", (2, 7, 32)),
    "self_per_head_weights": ("average=False", (7, 2, 32)),
    "cross_kdim_vdim_no_bias": ("kdim=24, vdim=40, bias=False, mode='cross', batch_first=True", (3, 9, 32)),
    "cross_same_kv_packed": ("mode='kv'", (9, 3, 32)),
    "cross_packed": ("mode='cross'", (9, 3, 32)),
    "bias_kv_zero_attn": ("add_bias_kv=True, add_zero_attn=True", (6, 2, 32)),
    "bias_kv_zero_attn_masks": ("add_bias_kv=True, add_zero_attn=True, masks=True, mode='cross'", (8, 2, 32)),
    "masks_batch_first": ("masks=True, batch_first=True", (2, 6, 32)),
    "unbatched": ("unbatched=True, average=False", (1, 7, 32)),
    "unbatched_cross_vdim": ("unbatched=True, mode='cross', kdim=16, vdim=8", (1, 7, 32)),
    "eight_heads": ("e=64, h=8", (5, 3, 64)),
    "detr_qk_shared": ("mode='detr'", (6, 2, 32)),
    "detr_batch_first_no_weights": ("mode='detr', batch_first=True, need_weights=False", (2, 6, 32)),
    "keyword_arguments": ("mode='kwargs'", (6, 2, 32)),
}
_SELF = ("self", "detr", "kwargs")  # key and value have the query's length


def _torch_module(tmp_path, args):
    path = tmp_path / "attn_net.py"
    path.write_text(SRC)
    mod = run_file(path, "attn_net")
    torch.manual_seed(0)
    return eval(f"mod.Net({args})", {"mod": mod}).eval(), str(path)


def _hand_macs(e, h, kdim, vdim, lq, lk, n, mode, add_kv):
    """q, k, v projections (L·N·E·E, S·N·E·kdim, S·N·E·vdim), the scores Q·K^T and the
    weighted sum A·V (N·H·L·S'·d each, d = E/H, S' = S + added keys), out_proj (L·N·E·E),
    and the Net's own key/value Linears on the 5-row memory when mode is not 'self'."""
    d = e // h
    kd, vd = kdim or e, vdim or e
    macs = lq * n * e * e + lk * n * e * kd + lk * n * e * vd + 2 * n * h * lq * (lk + add_kv) * d + lq * n * e * e
    if mode not in _SELF:
        macs += 5 * n * e * kd + (5 * n * e * vd if mode == "cross" else 0)
    return macs


def _cfg(args):
    cfg = dict(e=32, h=4, kdim=None, vdim=None, batch_first=False, mode="self", unbatched=False, add_bias_kv=False,
               add_zero_attn=False)
    cfg.update(eval(f"dict({args})"))
    return cfg


@pytest.mark.parametrize("case", sorted(CASES))
def test_multihead_attention_against_torch(tmp_path, case):
    args, shape = CASES[case]
    m, path = _torch_module(tmp_path, args)
    with torch.no_grad():
        out = m(torch.zeros(*shape))
    outs = out if isinstance(out, tuple) else (out,)
    rep = cnnsym.analyze(f"{path}::Net({args})", input="x".join(map(str, shape)))
    assert rep.complete, (rep.not_followed, [(r.node.name, r.status, r.message) for r in rep.nodes if r.status != "ok"])
    assert [tuple(int(d) for d in rep.tensors[o].shape) for o in rep.outputs] == [tuple(t.shape) for t in outs]
    assert rep.values["params.trainable"] == sum(p.numel() for p in m.parameters())
    cfg = _cfg(args)
    bf = cfg["batch_first"] and not cfg["unbatched"]
    lq = shape[1] if (bf or cfg["unbatched"]) else shape[0]
    n = 1 if cfg["unbatched"] else (shape[0] if bf else shape[1])
    lk = lq if cfg["mode"] in _SELF else 5
    add_kv = int(cfg["add_bias_kv"]) + int(cfg["add_zero_attn"])
    assert rep.values["macs"] == _hand_macs(cfg["e"], cfg["h"], cfg["kdim"], cfg["vdim"], lq, lk, n, cfg["mode"],
                                            add_kv)


def test_symbolic_lengths(tmp_path):
    """Sequence length L and batch N symbolic: out (L, N, 32), weights (N, L, L); macs by
    hand: 4·L·N·32·32 (q, k, v, out_proj) + 2·N·4·L·L·8 (scores, weighted sum)."""
    m, path = _torch_module(tmp_path, "")
    rep = cnnsym.analyze(f"{path}::Net()", input="LxNx32")
    assert rep.complete
    L, N = sp.Symbol("L", integer=True, positive=True), sp.Symbol("N", integer=True, positive=True)
    shapes = [tuple(rep.tensors[o].shape) for o in rep.outputs]
    assert [tuple(sp.simplify(d.subs({s: sp.Symbol(s.name, integer=True, positive=True)
                                      for s in d.free_symbols}) if hasattr(d, "free_symbols") else d)
                  for d in sh) for sh in shapes] == [(L, N, 32), (N, L, L)]
    macs = rep.totals["macs"].subs({s: sp.Symbol(s.name, integer=True, positive=True)
                                    for s in rep.totals["macs"].free_symbols})
    assert sp.expand(macs - (4 * L * N * 32 * 32 + 2 * N * 4 * L * L * 8)) == 0
    with torch.no_grad():  # the formula at a size torch runs
        y, w = m(torch.zeros(11, 3, 32))
    assert rep.at(L=11, N=3)["macs"] == 4 * 11 * 3 * 1024 + 2 * 3 * 4 * 11 * 11 * 8
    assert (tuple(y.shape), tuple(w.shape)) == ((11, 3, 32), (3, 11, 11))


def test_heads_must_divide_embed_dim(tmp_path):
    """torch refuses embed_dim 30 with 4 heads at construction; cnnsym says so and the
    report is not complete (the attention's parameters are not counted)."""
    path = tmp_path / "attn_bad.py"
    path.write_text('''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, e=32, h=4):
        super().__init__()
        self.fc = nn.Linear(e, e)
        self.attn = nn.MultiheadAttention(e, h)

    def forward(self, x):
        x = self.fc(x)
        return self.attn(x, x, x)[0]
''')
    mod = run_file(path, "attn_bad")
    with pytest.raises(AssertionError, match="divisible"):
        mod.Net(30, 4)
    assert mod.Net(32, 4)(torch.zeros(7, 2, 32)).shape == (7, 2, 32)
    rep = cnnsym.analyze(f"{path}::Net(30, 4)", input="7x2x30")
    assert not rep.complete
    assert any("embed_dim 30 must be divisible by num_heads 4" in w for w in rep.not_followed)
    assert rep.values["params.trainable"] == 30 * 30 + 30  # fc only: a lower bound, said so
    ok = cnnsym.analyze(f"{path}::Net(32, 4)", input="7x2x32")
    assert ok.complete and tuple(ok.tensors[ok.outputs[0]].shape) == (7, 2, 32)


def test_out_proj_is_a_linear_child(tmp_path):
    """named_modules() lists attn.out_proj (torch's NonDynamicallyQuantizableLinear, an
    nn.Linear): its node is under that module, and isinstance(.., nn.Linear) holds."""
    path = tmp_path / "attn_child.py"
    path.write_text('''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.n_linear = sum(1 for m in self.modules() if isinstance(m, nn.Linear))
        self.fc = nn.Linear(16, self.n_linear)

    def forward(self, x):
        y, _ = self.attn(x, x, x, need_weights=False)
        return self.fc(y)
''')
    rep = cnnsym.analyze(f"{path}::Net", input="2x5x16")
    assert rep.complete
    assert any(r.node.module == "attn.out_proj" and r.node.op_type == "Gemm" for r in rep.nodes)
    assert tuple(rep.tensors[rep.outputs[0]].shape) == (2, 5, 1)  # one nn.Linear in modules(): out_proj
    import torch.nn as nn
    assert isinstance(nn.MultiheadAttention(16, 2).out_proj, nn.Linear)


_SPEC = PathFinder.find_spec("torchvision")


@pytest.mark.skipif(_SPEC is None or not _SPEC.submodule_search_locations, reason="torchvision is not installed")
@pytest.mark.parametrize("name,params,gmacs", [
    # torchvision's model table (weights' meta "num_params" and "_ops" GFLOPS, ImageNet 224x224)
    ("vit_b_16", 86_567_656, 17.564),
    ("vit_b_32", 88_224_232, 4.409),
])
def test_torchvision_vit_from_its_source(name, params, gmacs):
    path = os.path.join(list(_SPEC.submodule_search_locations)[0], "models", "vision_transformer.py")
    rep = cnnsym.analyze(f"{path}::{name}", input="1x3x224x224")
    assert rep.complete, rep.not_followed
    assert not rep.unaccounted
    assert rep.values["params.trainable"] == params
    assert round(rep.values["macs"] / 1e9, 3) == gmacs
    assert [tuple(rep.tensors[o].shape) for o in rep.outputs] == [(1, 1000)]


@pytest.mark.skipif(_SPEC is None or not _SPEC.submodule_search_locations, reason="torchvision is not installed")
def test_vit_b_16_against_torch_building_it():
    """torch builds torchvision's vit_b_16 (untrained) and runs it: parameters and the
    output shape equal what cnnsym reads from the same .py file."""
    from torch_oracle import import_oracle, module_truth

    tvm = import_oracle("torchvision.models")
    params, buffers, shapes = module_truth(lambda: tvm.vit_b_16(weights=None), (224,))
    path = os.path.join(list(_SPEC.submodule_search_locations)[0], "models", "vision_transformer.py")
    rep = cnnsym.analyze(f"{path}::vit_b_16", input="1x3x224x224")
    assert rep.values["params.trainable"] + rep.values["params.buffers"] == params + buffers
    assert [tuple(rep.tensors[o].shape) for o in rep.outputs] == [shapes[224]]
