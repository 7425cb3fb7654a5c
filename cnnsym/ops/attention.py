"""Attention (opset 23+): scaled dot-product attention with grouped key/value heads,
masks and a key/value cache.

https://onnx.ai/onnx/operators/onnx__Attention.html
"""
from __future__ import annotations

import sympy as sp

from ..symbolic import as_expr, fdiv
from . import Case, Inference, Op, register
from .einsum import agree


@register
class Attention(Op):
    """Y = softmax(Q K^T x scale + mask) V, per head; kv heads shared by groups of q heads.

    4-D operands: Q (B, Hq, S, E), K (B, Hkv, T, E), V (B, Hkv, T, Ev). 3-D operands:
    (B, S, Hq x E), (B, T, Hkv x E), (B, T, Hkv x Ev) with ``q_num_heads`` = Hq and
    ``kv_num_heads`` = Hkv. A cache past_key (B, Hkv, P, E), past_value (B, Hkv, P, Ev)
    makes the total length L = P + T. Hq must be a multiple of Hkv.

    Outputs: Y (B, Hq, S, Ev) (3-D: (B, S, Hq x Ev)), present_key (B, Hkv, L, E),
    present_value (B, Hkv, L, Ev), qk_matmul_output (B, Hq, S, L).
    macs = B x Hq x S x L x (E + Ev) (the two matmuls); term softmax = 3 x B x Hq x S x L;
    term elementwise = B x Hq x S x L (the scale; one more with a mask).
    """

    op_type = "Attention"
    reads_values = False
    attributes = {"is_causal": 0, "kv_num_heads": None, "q_num_heads": None, "qk_matmul_output_mode": 0,
                  "scale": None, "softcap": 0.0, "softmax_precision": None}
    examples = [
        Case(("B,8,S,64", "B,8,T,64", "B,8,T,64"), "B,8,S,64", opset=23, macs="8*128*B*S*T",
             terms={"softmax": "24*B*S*T", "elementwise": "8*B*S*T"}),
        Case(("B,S,512", "B,T,128", "B,T,128"), ("B,S,512", "B,2,T,64", "B,2,T,64"), opset=23,
             q_num_heads=8, kv_num_heads=2, macs="8*128*B*S*T"),
        Case(("B,8,S,64", "B,2,T,64", "B,2,T,32", None, "B,2,P,64", "B,2,P,32"),
             ("B,8,S,32", "B,2,P+T,64", "B,2,P+T,32", "B,8,S,P+T"), opset=23, macs="8*96*B*S*(P+T)"),
        Case(("B,6,S,64", "B,4,T,64", "B,4,T,64"), opset=23, raises="multiple"),
    ]

    def infer(self, inputs):
        q, k, v = inputs[0], inputs[1], inputs[2]
        for t, nm in ((q, "Q"), (k, "K"), (v, "V")):
            if t is None or t.shape is None or len(t.shape) not in (3, 4):
                self.fail(f"{nm} must be 3-D or 4-D")
        if not len(q.shape) == len(k.shape) == len(v.shape):
            self.fail("Q, K and V must have the same rank")
        cons = []
        if len(q.shape) == 4:
            b, hq, s, e = q.shape
            _, hkv, t, ek = k.shape
            ev = v.shape[3]
            cons += agree(self, v.shape[1], hkv, "V's heads must equal K's")
            cons += agree(self, v.shape[2], t, "V's length must equal K's")
        else:
            if self["q_num_heads"] is None or self["kv_num_heads"] is None:
                self.fail("3-D operands need q_num_heads and kv_num_heads")
            hq, hkv = as_expr(self["q_num_heads"]), as_expr(self["kv_num_heads"])
            b, s, qh = q.shape
            _, t, kh = k.shape
            e, ek, ev = fdiv(qh, hq), fdiv(kh, hkv), fdiv(v.shape[2], hkv)
            cons += agree(self, e * hq, qh, "Q's hidden size must be a multiple of q_num_heads")
            cons += agree(self, ek * hkv, kh, "K's hidden size must be a multiple of kv_num_heads")
            cons += agree(self, ev * hkv, v.shape[2], "V's hidden size must be a multiple of kv_num_heads")
            cons += agree(self, v.shape[1], t, "V's length must equal K's")
        cons += agree(self, k.shape[0], b, "K's batch must equal Q's")
        cons += agree(self, v.shape[0], b, "V's batch must equal Q's")
        cons += agree(self, ek, e, "K's head size must equal Q's")
        group = sp.Mod(hq, hkv)
        if group.is_number and group != 0:
            self.fail(f"q heads ({hq}) must be a multiple of kv heads ({hkv})")
        if not group.is_number:
            cons.append((sp.Eq(group, 0), "Attention q heads must be a multiple of kv heads"))
        total = t
        past_k = inputs[4] if len(inputs) > 4 else None
        past_v = inputs[5] if len(inputs) > 5 else None
        if past_k is not None and past_k.shape is not None:
            if len(past_k.shape) != 4:
                self.fail("past_key must be 4-D (B, Hkv, P, E)")
            total = sp.expand(past_k.shape[2] + t)
            cons += agree(self, past_k.shape[3], e, "past_key's head size must equal K's")
            if past_v is not None and past_v.shape is not None:
                cons += agree(self, past_v.shape[2], past_k.shape[2], "past_value's length must equal past_key's")
        y = (b, hq, s, ev) if len(q.shape) == 4 else (b, s, hq * ev)
        outs = [q.__class__(y, q.dtype), q.__class__((b, hkv, total, e), k.dtype),
                q.__class__((b, hkv, total, ev), v.dtype), q.__class__((b, hq, s, total), q.dtype)]
        scores = b * hq * s * total
        mask = inputs[3] if len(inputs) > 3 else None
        terms = {"softmax": 3 * scores, "elementwise": scores * (2 if mask is not None else 1)}
        return Inference(outs, scores * (e + ev), terms, None, cons)
