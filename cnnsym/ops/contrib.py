"""onnxruntime's ``com.microsoft`` float ops that its transformer optimizer
(``onnxruntime.transformers.optimizer``) and graph fusions write into exported vision
transformers and hybrid CNNs: FusedConv, FusedGemm, FusedMatMul, Gelu, FastGelu, BiasGelu,
QuickGelu, BiasAdd, SkipLayerNormalization, SkipSimplifiedLayerNormalization, Attention,
MultiHeadAttention.

A fused op costs what its parts cost: the float op's shapes, MACs, terms and windows (its
``infer`` is called, nothing re-derived) plus one ``activation`` per output element for a
fused activation, one ``elementwise`` per element for a fused residual add, one ``bias``
per element for a fused bias. Semantics from onnxruntime's contrib-op documentation
(https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md) and, where it
is silent, its CPU kernels (checked by executing single-op graphs).
"""
from __future__ import annotations

import sympy as sp

from ..symbolic import as_expr, fdiv
from . import Case, Inference, Op, numel, register, same_rf
from ._broadcast import broadcast
from .conv import Conv
from .einsum import agree
from .linear import Gemm, MatMul
from .quant import delegate

MS = "com.microsoft"
_DOC = "https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft."
_ACTIVATION = {"activation": "", "activation_params": None}


def _with(res, **extra):
    terms = dict(res.terms)
    for k, v in extra.items():
        if v != 0:
            terms[k] = terms.get(k, 0) + v
    return Inference(res.outputs, res.macs, terms, res.rf, list(res.constraints))


def _act(op, y):
    a = op.attrs.get("activation")
    return numel(y) if a not in (None, "", b"") else 0


@register
class FusedConv(Op):
    """Y = activation(Conv(X, W, B) + Z): Conv's shapes, macs, bias term and windows; term
    activation = numel(Y) when ``activation`` is set; Z (optional, Y's shape) adds
    elementwise = numel(Y).

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.FusedConv
    """
    reads_values = False
    domain = MS
    op_type = "FusedConv"
    attributes = {**Conv.attributes, **_ACTIVATION}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,3,H,W", "16,3,3,3", "16"), "N,16,H,W", pads=(1, 1, 1, 1), activation="Relu", opset=1,
             macs="432*N*H*W", terms={"bias": "16*N*H*W", "activation": "16*N*H*W"}),
        Case(("N,8,H,W", "8,8,1,1", None, "N,8,H,W"), "N,8,H,W", opset=1, macs="64*N*H*W",
             terms={"elementwise": "8*N*H*W"}),
    ]

    def infer(self, inputs):
        conv = {k: v for k, v in self.attrs.items() if k in Conv.attributes}
        res = delegate(self, Conv, inputs[:3], {0: 0, 1: 1, 2: 2}, inputs[0].dtype, attrs=conv, opset=11)
        y = res.outputs[0].shape
        z = inputs[3] if len(inputs) > 3 else None
        extra = 0
        if z is not None:
            if z.shape is None or len(z.shape) != len(y):
                self.fail(f"Z must have Y's rank {len(y)}")
            for i, (a, b) in enumerate(zip(z.shape, y)):
                res.constraints.extend(agree(self, a, b, f"Z must have Y's shape (axis {i})"))
            extra = numel(y)
        return _with(res, activation=_act(self, y), elementwise=extra)


@register
class FusedGemm(Op):
    """Y = activation(Gemm(A, B, C)): Gemm's shapes, macs and bias term; term activation =
    numel(Y) when ``activation`` is set.

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.FusedGemm
    """
    reads_values = False
    domain = MS
    op_type = "FusedGemm"
    attributes = {**Gemm.attributes, **_ACTIVATION, "activation_alpha": 1.0, "activation_beta": 1.0,
                  "activation_gamma": 1.0}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [Case(("N,64", "10,64", "10"), "N,10", transB=1, activation="Relu", opset=1, macs="640*N",
                     terms={"bias": "10*N", "activation": "10*N"})]

    def infer(self, inputs):
        gemm = {k: v for k, v in self.attrs.items() if k in Gemm.attributes}
        res = delegate(self, Gemm, inputs[:3], {0: 0, 1: 1, 2: 2}, inputs[0].dtype, attrs=gemm, opset=13)
        return _with(res, activation=_act(self, res.outputs[0].shape))


def _trans(shape, batch, last):
    """FusedMatMul's operand transposes: ``batch`` moves axis 0 to just before the last
    axis (d0, d1, .., dn-1 -> d1, .., d0, dn-1), then ``last`` swaps the last two."""
    s = list(shape)
    if batch and len(s) >= 3:
        s = s[1:-1] + [s[0], s[-1]]
    if last and len(s) >= 2:
        s[-2], s[-1] = s[-1], s[-2]
    return tuple(s)


@register
class FusedMatMul(Op):
    """Y = alpha * A' @ B', A' and B' after the optional transposes: ``transBatchA`` moves
    A's first axis to just before its last (batch dims 1..n-2 first), ``transA`` swaps the
    last two (then the same for B); MatMul's shapes and macs on A', B'.

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.FusedMatMul
    """
    reads_values = False
    domain = MS
    op_type = "FusedMatMul"
    attributes = {"alpha": 1.0, "transA": 0, "transB": 0, "transBatchA": 0, "transBatchB": 0}
    param_roles = {1: "trainable"}
    examples = [
        Case(("B,S,64", "B,T,64"), "B,S,T", transB=1, opset=1, macs="64*B*S*T"),
        Case(("S,B,64", "B,64,T"), "B,S,T", transBatchA=1, opset=1, macs="64*B*S*T"),
    ]

    def infer(self, inputs):
        a, b = inputs[0], inputs[1]
        if a.shape is None or b.shape is None:
            self.fail("operand ranks unknown")
        a2 = a.__class__(_trans(a.shape, self["transBatchA"], self["transA"]), a.dtype)
        b2 = b.__class__(_trans(b.shape, self["transBatchB"], self["transB"]), b.dtype)
        res = delegate(self, MatMul, [a2, b2], {0: 0, 1: 1}, a.dtype, attrs={}, opset=13)
        # the transposes move axes: no receptive field passes through unless A is as given
        if any(self[k] for k in ("transA", "transBatchA")):
            res.rf = None
        return res


def _pointwise_with_bias(op, x, bias, act_weight=1, skip=None):
    """An activation of X (+ bias over the last axis) (+ skip): X's shape."""
    if x.shape is None:
        op.fail("input rank unknown")
    shapes = [x.shape] + [v.shape for v in (bias, skip) if v is not None]
    y, cons, rf = broadcast(op, shapes)
    n = numel(y)
    terms = {"activation": act_weight * n if act_weight else 0, "bias": n if bias is not None else 0,
             "elementwise": n if skip is not None else 0}
    return Inference([x.__class__(y, x.dtype)], 0, {k: v for k, v in terms.items() if v != 0},
                     [rf], cons)


def _unary(name, formula, attrs, with_bias=False, act_weight=1, example_terms=None):
    doc = f"""com.microsoft {name}: Y = {formula}; Y has X's shape{' (bias over the last axis)' if with_bias else ''};
    term activation = numel(Y){'; bias = numel(Y) when the bias is given' if with_bias else ''}.

    {_DOC}{name}"""

    def infer(self, inputs):
        bias = inputs[1] if with_bias and len(inputs) > 1 else None
        return _pointwise_with_bias(self, inputs[0], bias, act_weight)

    ins = ("N,S,768", "768") if with_bias else ("N,C,H,W",)
    out = "N,S,768" if with_bias else "N,C,H,W"
    cls = type(name, (Op,), {
        "op_type": name, "domain": MS, "__doc__": doc, "__module__": __name__, "reads_values": False,
        "infer": infer, "attributes": attrs, "param_roles": {1: "trainable"} if with_bias else {},
        "examples": [Case(ins, out, opset=1, terms=example_terms or {"activation": "N*C*H*W"})]})
    return register(cls)


MsGelu = _unary("Gelu", "x * Phi(x) (erf form)", {})
QuickGelu = _unary("QuickGelu", "x * sigmoid(alpha * x)", {"alpha": 1.702})
FastGelu = _unary("FastGelu", "tanh approximation of gelu(X + bias)", {}, with_bias=True,
                  example_terms={"activation": "768*N*S", "bias": "768*N*S"})
BiasGelu = _unary("BiasGelu", "gelu(A + B) (erf form), B over the last axis", {}, with_bias=True,
                  example_terms={"activation": "768*N*S", "bias": "768*N*S"})


@register
class BiasAdd(Op):
    """Y = X + bias + skip: X (N, S, C), bias (C), skip X's shape; terms bias = numel(Y),
    elementwise = numel(Y). (onnxruntime has a CUDA kernel only.)

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.BiasAdd
    """
    reads_values = False
    domain = MS
    op_type = "BiasAdd"
    param_roles = {1: "trainable"}
    examples = [Case(("N,S,320", "320", "N,S,320"), "N,S,320", opset=1,
                     terms={"bias": "320*N*S", "elementwise": "320*N*S"})]

    def infer(self, inputs):
        return _pointwise_with_bias(self, inputs[0], inputs[1], 0, inputs[2])


class _SkipNorm(Op):
    """Shared by SkipLayerNormalization and SkipSimplifiedLayerNormalization."""
    reads_values = False
    domain = MS
    attributes = {"epsilon": 1e-12}
    norm_weight = 5
    bias_input = 4

    def infer(self, inputs):
        x, skip = inputs[0], inputs[1]
        if x.shape is None or len(x.shape) not in (2, 3):
            self.fail("input must be 3-D (batch, sequence, hidden) or 2-D (tokens, hidden)")
        if skip is None or skip.shape is None or len(skip.shape) > len(x.shape):
            self.fail("skip must be given with input's shape, (1, S, H) or (S, H)")
        cons = []
        for i in range(1, len(skip.shape) + 1):  # skip broadcasts only over the batch
            if i == len(x.shape) and skip.shape[-i] == 1:
                continue
            cons += agree(self, skip.shape[-i], x.shape[-i], f"skip must match input on axis -{i}")
        hidden = x.shape[-1]
        for k, what in ((2, "gamma"), (3, "beta"), (self.bias_input, "bias")):
            v = inputs[k] if len(inputs) > k else None
            if v is not None and v.shape is not None:
                if len(v.shape) != 1:
                    self.fail(f"{what} must be 1-D (hidden size)")
                cons += agree(self, v.shape[0], hidden, f"{what} must have the hidden size")
        stat = x.__class__((*x.shape[:-1], sp.Integer(1)), 1)
        n = numel(x.shape)
        bias = inputs[self.bias_input] if len(inputs) > self.bias_input else None
        terms = {"norm": self.norm_weight * n, "elementwise": n}
        if bias is not None:
            terms["bias"] = n
        y = x.__class__(x.shape, x.dtype)
        rf = same_rf(len(x.shape))
        return Inference([y, stat, stat, y], 0, terms, [rf, None, None, rf], cons)


@register
class SkipLayerNormalization(_SkipNorm):
    """output = LayerNorm(input + skip + bias) over the last axis, x gamma + beta.

    input (B, S, H) or (T, H); skip input's shape, (1, S, H) or (S, H); gamma, beta, bias
    (H,), trainable. Outputs output (input's shape), mean and inv_std_var (input's shape
    with a last axis of 1), input_skip_bias_sum (input's shape). Terms norm = 5 x numel,
    elementwise = numel (the skip add), bias = numel when bias is given.

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.SkipLayerNormalization
    """
    op_type = "SkipLayerNormalization"
    param_roles = {2: "trainable", 3: "trainable", 4: "trainable"}
    examples = [
        Case(("N,S,768", "N,S,768", "768", "768", "768"), ("N,S,768", "N,S,1", "N,S,1", "N,S,768"), opset=1,
             terms={"norm": "3840*N*S", "elementwise": "768*N*S", "bias": "768*N*S"}),
        Case(("N,S,64", "S,64", "64"), "N,S,64", opset=1),
        Case(("N,S,64", "N,S,32", "64"), opset=1, raises="skip"),
    ]


@register
class SkipSimplifiedLayerNormalization(_SkipNorm):
    """output = RMSNorm(input + skip + bias) over the last axis, x gamma (no mean, no
    beta): inputs input, skip, gamma, bias. Shapes as SkipLayerNormalization's; terms
    norm = 4 x numel (as RMSNormalization), elementwise = numel, bias = numel when given.

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.SkipSimplifiedLayerNormalization
    """
    op_type = "SkipSimplifiedLayerNormalization"
    norm_weight = 4
    bias_input = 3
    param_roles = {2: "trainable", 3: "trainable"}
    examples = [Case(("N,S,64", "N,S,64", "64"), ("N,S,64", "N,S,1", "N,S,1", "N,S,64"), opset=1,
                     terms={"norm": "256*N*S", "elementwise": "64*N*S"})]


def _scores(b, heads, s, total, mask):
    n = b * heads * s * total
    return n, {"softmax": 3 * n, "elementwise": n * (2 if mask else 1)}


def _heads(op, hidden, n, what):
    h = fdiv(hidden, n)
    return h, agree(op, h * n, hidden, f"{what} ({hidden}) must be a multiple of num_heads {n}")


@register
class MsAttention(Op):
    """Self-attention with the input projection fused: Q K V = input @ weights + bias,
    split as ``qkv_hidden_sizes`` (default three equal parts), ``num_heads`` heads each,
    Y = softmax(Q K^T x scale + masks) V.

    input (B, S, Din), weights (Din, Dq + Dk + Dv) and bias (Dq + Dk + Dv) trainable, past
    (2, B, N, P, Dk/N). Outputs Y (B, S, Dv) and present (2, B, N, P + S, Dk/N).
    macs = B S Din (Dq + Dk + Dv) (projection) + B N S T (Dq + Dv)/N with T = P + S; terms
    bias = B S (Dq + Dk + Dv) when bias is given, softmax = 3 B N S T, elementwise = B N S T
    (scale), twice with a mask or attention bias.

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.Attention
    """
    reads_values = False
    domain = MS
    op_type = "Attention"
    attributes = {"num_heads": None, "qkv_hidden_sizes": None, "unidirectional": 0, "scale": None,
                  "mask_filter_value": -10000.0, "past_present_share_buffer": 0, "do_rotary": 0,
                  "rotary_embedding_dim": 0}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("B,S,768", "768,2304", "2304"), "B,S,768", num_heads=12, opset=1,
             macs="1769472*B*S + 1536*B*S**2",
             terms={"bias": "2304*B*S", "softmax": "36*B*S**2", "elementwise": "12*B*S**2"}),
        Case(("B,S,64", "64,192", "192", None, "2,B,4,P,16"), ("B,S,64", "2,B,4,P+S,16"), num_heads=4, opset=1),
        Case(("B,S,64", "32,192"), num_heads=4, opset=1, raises="first axis"),
    ]

    def infer(self, inputs):
        x, w = inputs[0], inputs[1]
        if x.shape is None or len(x.shape) != 3 or w is None or w.shape is None or len(w.shape) != 2:
            self.fail("input must be 3-D (B, S, hidden) and weights 2-D")
        if self["num_heads"] is None:
            self.fail("num_heads is required")
        n = as_expr(self["num_heads"])
        b, s, din = x.shape
        cons = agree(self, w.shape[0], din, "weights' first axis must equal the input's hidden size")
        if self["qkv_hidden_sizes"]:
            dq, dk, dv = (as_expr(v) for v in self["qkv_hidden_sizes"])
            cons += agree(self, w.shape[1], dq + dk + dv, "weights' second axis must be the sum of qkv_hidden_sizes")
        else:
            dq = dk = dv = fdiv(w.shape[1], 3)
            cons += agree(self, 3 * dq, w.shape[1], "weights' second axis must be divisible by 3")
        cons += agree(self, dk, dq, "Q and K hidden sizes must be equal")
        hq, c1 = _heads(self, dq, n, "Q hidden size")
        hv, c2 = _heads(self, dv, n, "V hidden size")
        cons += c1 + c2
        bias = inputs[2] if len(inputs) > 2 else None
        if bias is not None and bias.shape is not None:
            cons += agree(self, bias.shape[-1] if bias.shape else 1, dq + dk + dv, "bias must have Dq + Dk + Dv elements")
        total = s
        past = inputs[4] if len(inputs) > 4 else None
        if past is not None and past.shape is not None:
            if len(past.shape) != 5:
                self.fail("past must be 5-D (2, B, N, P, head size)")
            total = sp.expand(past.shape[3] + s)
        mask = any(len(inputs) > k and inputs[k] is not None for k in (3, 5))
        scores, terms = _scores(b, n, s, total, mask)
        if bias is not None:
            terms["bias"] = b * s * (dq + dk + dv)
        macs = b * s * din * (dq + dk + dv) + scores * (hq + hv)
        outs = [x.__class__((b, s, dv), x.dtype), x.__class__((sp.Integer(2), b, n, total, hq), x.dtype)]
        return Inference(outs, macs, terms, None, cons)


@register
class MultiHeadAttention(Op):
    """Y = softmax(Q K^T x scale + masks) V over ``num_heads`` heads, Q K V projected
    already. query (B, S, D), or packed Q K V (B, S, N, 3, H) without key and value; key
    (B, L, D), (B, N, L, H) or packed K V (B, L, N, 2, H) without value; value (B, L, Dv) or
    (B, N, L, Hv); bias (D + D + Dv); past_key/past_value (B, N, P, H/Hv) extend a 3-D key.

    Outputs Y (B, S, N Hv), present_key (B, N, T, H), present_value (B, N, T, Hv), qk (B, N,
    S, T) with T = P + L (L for a 4-D key). macs = B N S T (H + Hv); terms softmax = 3 B N S T,
    elementwise = B N S T (scale, twice with a mask or attention bias), bias = B (S D + L D +
    L Dv) when bias is given. (onnxruntime's CPU kernel refuses the packed Q K V form.)

    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.MultiHeadAttention
    """
    reads_values = False
    domain = MS
    op_type = "MultiHeadAttention"
    attributes = {"num_heads": None, "unidirectional": 0, "scale": None, "mask_filter_value": -10000.0}
    examples = [
        Case(("B,S,64", "B,L,64", "B,L,64"), ("B,S,64", "B,4,L,16", "B,4,L,16"), num_heads=4, opset=1,
             macs="128*B*S*L", terms={"softmax": "12*B*S*L", "elementwise": "4*B*S*L"}),
        Case(("B,S,64", "B,4,L,16", "B,4,L,8"), "B,S,32", num_heads=4, opset=1, macs="96*B*S*L"),
        Case(("B,S,4,3,16",), "B,S,64", num_heads=4, opset=1, macs="128*B*S**2"),
    ]

    def infer(self, inputs):
        q = inputs[0]
        key = inputs[1] if len(inputs) > 1 else None
        value = inputs[2] if len(inputs) > 2 else None
        if self["num_heads"] is None:
            self.fail("num_heads is required")
        n = as_expr(self["num_heads"])
        if q.shape is None or len(q.shape) not in (3, 5) or any(
                v is not None and v.shape is None for v in (key, value)):
            self.fail("query must be 3-D (B, S, D) or packed 5-D (B, S, N, 3, H)")
        cons = []
        b, s = q.shape[0], q.shape[1]
        kernel_dims = []
        if len(q.shape) == 5:
            cons += agree(self, q.shape[2], n, "packed query's heads must equal num_heads")
            cons += agree(self, q.shape[3], 3, "packed query's fourth axis must be 3")
            h = hv = q.shape[4]
            d = dv = n * h
            length, four_d = s, False
        else:
            d = q.shape[2]
            h, c = _heads(self, d, n, "query hidden size")
            cons += c
            if key is None:
                self.fail("key is required with a 3-D query")
            ks = key.shape
            cons += agree(self, ks[0], b, "key's batch must equal the query's")
            if len(ks) == 5:  # packed K V
                cons += agree(self, ks[2], n, "packed key's heads must equal num_heads")
                cons += agree(self, ks[3], 2, "packed key's fourth axis must be 2")
                cons += agree(self, ks[4], h, "packed key's head size must equal the query's")
                length, hv, four_d = ks[1], h, False
            elif len(ks) == 4:
                cons += agree(self, ks[1], n, "key's heads must equal num_heads")
                cons += agree(self, ks[3], h, "key's head size must equal the query's")
                length, four_d = ks[2], True
            elif len(ks) == 3:
                cons += agree(self, ks[2], d, "key's hidden size must equal the query's")
                length, four_d = ks[1], False
            else:
                self.fail("key must be 3-D, 4-D or packed 5-D")
            if len(ks) != 5:
                if value is None or len(value.shape) != len(ks):
                    self.fail("value must be given with key's rank")
                vs = value.shape
                cons += agree(self, vs[0], b, "value's batch must equal the query's")
                if len(vs) == 4:
                    cons += agree(self, vs[1], n, "value's heads must equal num_heads")
                    cons += agree(self, vs[2], length, "value's length must equal key's")
                    hv = vs[3]
                else:
                    cons += agree(self, vs[1], length, "value's length must equal key's")
                    hv, c = _heads(self, vs[2], n, "value hidden size")
                    cons += c
            dv = n * hv
            kernel_dims = [d, d, dv]
        total = length
        past_k = inputs[6] if len(inputs) > 6 else None
        if past_k is not None and past_k.shape is not None and not four_d:
            if len(past_k.shape) != 4:
                self.fail("past_key must be 4-D (B, N, P, H)")
            total = sp.expand(past_k.shape[2] + length)
        mask = any(len(inputs) > k and inputs[k] is not None for k in (4, 5))
        scores, terms = _scores(b, n, s, total, mask)
        bias = inputs[3] if len(inputs) > 3 else None
        if bias is not None and bias.shape is not None and kernel_dims:
            cons += agree(self, bias.shape[-1] if bias.shape else 1, sum(kernel_dims), "bias must have D + D + Dv elements")
            terms["bias"] = b * (s * d + length * d + length * dv)
        outs = [q.__class__((b, s, dv), q.dtype), q.__class__((b, n, total, h), q.dtype),
                q.__class__((b, n, total, hv), q.dtype), q.__class__((b, n, s, total), q.dtype)]
        return Inference(outs, scores * (h + hv), terms, None, cons)
