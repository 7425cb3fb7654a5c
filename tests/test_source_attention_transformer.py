"""nn.TransformerEncoderLayer / TransformerDecoderLayer / TransformerEncoder /
TransformerDecoder / Transformer read from source (cnnsym/frontends/torch/
modules_transformer.py) against torch executing the same file: output shape and
``sum(p.numel() for p in m.parameters())`` for post-norm and pre-norm (norm_first),
sequence-first and batch_first, activations given as a string, a module and a function,
with and without the encoder's final norm, masks; the module tree is torch's
``named_modules()``; MACs by hand for the default encoder."""
from __future__ import annotations

import warnings

import pytest
from torch_oracle import run_file

import cnnsym

torch = pytest.importorskip("torch")

SRC = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Enc(nn.Module):
    def __init__(self, d=32, h=4, ff=64, n=2, batch_first=False, norm_first=False, act="relu", final_norm=True,
                 masks=False):
        super().__init__()
        if act == "gelu_mod":
            act = nn.GELU()
        elif act == "gelu_fn":
            act = F.gelu
        layer = nn.TransformerEncoderLayer(d, h, ff, dropout=0.1, activation=act, batch_first=batch_first,
                                           norm_first=norm_first)
        self.enc = nn.TransformerEncoder(layer, n, norm=nn.LayerNorm(d) if final_norm else None)
        self.masks = masks

    def forward(self, x):
        if self.masks:
            bf = self.enc.layers[0].self_attn.batch_first
            n, s = (x.shape[0], x.shape[1]) if bf else (x.shape[1], x.shape[0])
            return self.enc(x, mask=torch.zeros(s, s), src_key_padding_mask=torch.zeros(n, s, dtype=torch.bool))
        return self.enc(x)


class Dec(nn.Module):
    def __init__(self, d=32, h=4, ff=40, norm_first=False):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(d, h, ff, activation="gelu", norm_first=norm_first)
        self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(d, h, ff), 2)

    def forward(self, x):
        tgt = x[:4]
        y = self.layer(tgt, x, tgt_mask=torch.zeros(4, 4), memory_key_padding_mask=torch.zeros(x.shape[1], x.shape[0]))
        return self.dec(y, x)


class Full(nn.Module):
    def __init__(self, d=32, h=4, ne=2, nd=1, ff=48, batch_first=False, norm_first=False):
        super().__init__()
        self.t = nn.Transformer(d, h, ne, nd, ff, batch_first=batch_first, norm_first=norm_first)

    def forward(self, x):
        tgt = x[:, :3] if self.t.batch_first else x[:3]
        return self.t(x, tgt)
'''

CASES = {
    "encoder": ("Enc", "", (7, 2, 32)),
    "encoder_pre_norm_batch_first_gelu_module": ("Enc", "batch_first=True, norm_first=True, act='gelu_mod'",
                                                 (2, 7, 32)),
    "encoder_gelu_function_no_final_norm": ("Enc", "act='gelu_fn', final_norm=False", (7, 2, 32)),
    "encoder_masks": ("Enc", "masks=True", (7, 2, 32)),
    "encoder_masks_batch_first": ("Enc", "masks=True, batch_first=True, n=1", (2, 7, 32)),
    "decoder": ("Dec", "", (6, 2, 32)),
    "decoder_pre_norm": ("Dec", "norm_first=True", (6, 2, 32)),
    "transformer": ("Full", "", (7, 2, 32)),
    "transformer_pre_norm_batch_first": ("Full", "batch_first=True, norm_first=True", (2, 7, 32)),
}


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    path = tmp_path_factory.mktemp("transformer") / "transformer_net.py"
    path.write_text(SRC)
    mod = run_file(path, "transformer_net")
    return mod, path


def _build(mod, cls, args):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # enable_nested_tensor notes
        return eval(f"mod.{cls}({args})", {"mod": mod}).eval()


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_torch(src, case):
    mod, path = src
    cls, args, shape = CASES[case]
    m = _build(mod, cls, args)
    with torch.no_grad():
        y = m(torch.zeros(*shape))
    rep = cnnsym.analyze(f"{path}::{cls}({args})", input="x".join(map(str, shape)))
    assert rep.complete, (rep.not_followed, [(r.node.name, r.status, r.message) for r in rep.nodes if r.status != "ok"])
    assert [tuple(int(d) for d in rep.tensors[o].shape) for o in rep.outputs] == [tuple(y.shape)]
    assert rep.values["params.trainable"] == sum(p.numel() for p in m.parameters())
    # every module torch lists that holds parameters of its own is one cnnsym's nodes run in
    own = {n for n, mm in m.named_modules() if any(True for _ in mm.parameters(recurse=False))}
    assert own <= {r.node.module for r in rep.nodes}, own - {r.node.module for r in rep.nodes}


def test_encoder_macs_by_hand(src):
    """d=32, 4 heads, ff=64, 2 layers, L=7, N=2. Per layer: q, k, v, out projections
    4·L·N·d·d = 57,344; scores and weighted sum 2·N·4·L·L·8 = 6,272; feed-forward
    2·L·N·d·ff = 57,344: 120,960; two layers 241,920."""
    mod, path = src
    rep = cnnsym.analyze(f"{path}::Enc()", input="7x2x32")
    assert rep.values["macs"] == 2 * (4 * 7 * 2 * 32 * 32 + 2 * 2 * 4 * 7 * 7 * 8 + 2 * 7 * 2 * 32 * 64) == 241_920


def test_bad_activation_is_refused_as_torch_does(src, tmp_path):
    path = tmp_path / "bad_act.py"
    path.write_text('''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, activation="tanh")

    def forward(self, x):
        return self.layer(self.fc(x))
''')
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        torch.nn.TransformerEncoderLayer(8, 2, 16, activation="tanh")
    rep = cnnsym.analyze(f"{path}::Net", input="3x2x8")
    assert not rep.complete
    assert any("activation should be relu/gelu, not tanh" in w for w in rep.not_followed)


def test_downstream_of_an_unread_layer(tmp_path):
    """After a layer from a package cnnsym does not read, the encoder and the transformer
    are unresolved (not unsupported ops), every parameter torch holds still counted."""
    path = tmp_path / "tr_unres.py"
    path.write_text('''
import torch.nn as nn
from somewhere_unread import Mystery


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Mystery()
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32), 2)
        self.t = nn.Transformer(16, 2, 1, 1, 24)

    def forward(self, x):
        x = self.enc(self.a(x))
        return self.t(x, x)
''')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn = torch.nn
        params = sum(p.numel() for p in nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32), 2).parameters())
        params += sum(p.numel() for p in nn.Transformer(16, 2, 1, 1, 24).parameters())
    rep = cnnsym.analyze(f"{path}::Net", input="5x2x16")
    assert not rep.complete
    assert [u["op"] for u in rep.unaccounted] == ["Mystery"]
    assert {r.status for r in rep.nodes if r.node.op_type != "Mystery"} == {"unresolved"}
    assert rep.values["params.trainable"] == params
