"""F.scaled_dot_product_attention read from source
(cnnsym/frontends/torch/modules_attention.py) against torch executing the same file:
output shapes for 4-D heads, grouped key/value heads (enable_gqa), a 2-D call, masks and
an explicit scale; MACs by hand (two products, batch·heads·L·S·E and batch·heads·L·S·Ev).
timm's ViTs call it (timm.layers.Attention with fused attention): vit_tiny_patch16_224,
read from the installed timm source, against timm's model built by torch."""
from __future__ import annotations

import os
from importlib.machinery import PathFinder

import pytest
from torch_oracle import run_file

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, hq=4, hk=4, ev=16, s=7, mask=False, scale=None, gqa=False):
        super().__init__()
        self.hq, self.hk, self.ev, self.s, self.mask, self.scale, self.gqa = hq, hk, ev, s, mask, scale, gqa

    def forward(self, x):
        b, l, e = x.shape
        q = x.reshape(b, l, self.hq, e // self.hq).transpose(1, 2)
        k = torch.zeros(b, self.hk, self.s, e // self.hq)
        v = torch.zeros(b, self.hk, self.s, self.ev)
        m = torch.zeros(l, self.s) if self.mask else None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=self.scale, enable_gqa=self.gqa)


class Flat(nn.Module):
    def forward(self, x):
        return F.scaled_dot_product_attention(x, x[:3], torch.zeros(3, 5), is_causal=False)
'''

CASES = {
    "heads": ("", (2, 5, 32)),
    "gqa": ("hq=8, hk=2, ev=12, gqa=True", (2, 5, 64)),
    "mask_scale": ("mask=True, scale=0.5, s=9", (3, 4, 32)),
}


@pytest.fixture(scope="module")
def mod_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("sdpa") / "sdpa_net.py"
    path.write_text(SRC)
    mod = run_file(path, "sdpa_net")
    return mod, path


@pytest.mark.parametrize("case", sorted(CASES))
def test_sdpa_against_torch(mod_path, case):
    mod, path = mod_path
    args, shape = CASES[case]
    m = eval(f"mod.Net({args})", {"mod": mod})
    with torch.no_grad():
        y = m(torch.zeros(*shape))
    rep = cnnsym.analyze(f"{path}::Net({args})", input="x".join(map(str, shape)))
    assert rep.complete, rep.not_followed
    assert tuple(int(d) for d in rep.tensors[rep.outputs[0]].shape) == tuple(y.shape)
    b, lq, e = shape
    hq, s, ev = m.hq, m.s, m.ev
    assert rep.values["macs"] == b * hq * lq * s * (e // hq) + b * hq * lq * s * ev  # q·k^T, then ·v


def test_sdpa_2d(mod_path):
    mod, path = mod_path
    with torch.no_grad():
        y = mod.Flat()(torch.zeros(6, 8))
    rep = cnnsym.analyze(f"{path}::Flat", input="6x8")
    assert rep.complete
    assert tuple(int(d) for d in rep.tensors[rep.outputs[0]].shape) == tuple(y.shape) == (6, 5)
    assert rep.values["macs"] == 6 * 3 * 8 + 6 * 3 * 5


_TIMM = PathFinder.find_spec("timm")


@pytest.mark.skipif(_TIMM is None or not _TIMM.submodule_search_locations, reason="timm is not installed")
def test_timm_vit_tiny_against_torch():
    """vit_tiny_patch16_224 (192 wide, 12 blocks of 3 heads, 197 tokens): complete, torch's
    parameter count and output shape; macs by hand: patch embedding 196·192·768, per block
    qkv 197·192·576 + scores and sum 2·3·197·197·64 + proj 197·192·192 + mlp 2·197·192·768,
    head 192·1000."""
    from torch_oracle import import_oracle, module_truth

    timm = import_oracle("timm")
    params, buffers, shapes = module_truth(lambda: timm.create_model("vit_tiny_patch16_224"), (224,))
    path = os.path.join(list(_TIMM.submodule_search_locations)[0], "models", "vision_transformer.py")
    rep = cnnsym.analyze(f"{path}::vit_tiny_patch16_224", input="1x3x224x224")
    assert rep.complete, rep.not_followed
    assert rep.values["params.trainable"] == params
    assert [tuple(rep.tensors[o].shape) for o in rep.outputs] == [shapes[224]]
    block = 197 * 192 * 576 + 2 * 3 * 197 * 197 * 64 + 197 * 192 * 192 + 2 * 197 * 192 * 768
    assert rep.values["macs"] == 196 * 192 * 768 + 12 * block + 192 * 1000
