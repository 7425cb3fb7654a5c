"""Quantized ops of the standard domain: QuantizeLinear, DequantizeLinear,
DynamicQuantizeLinear, QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger.

An integer op computes what its float op computes, so its shapes, MACs, cost terms and
receptive-field windows are the float op's (the float class's ``infer`` is called on the
operand inputs; nothing is re-derived here); only the output element type differs:
the output zero point's type (QLinear*), ``int32`` (ConvInteger, MatMulInteger).

Quantize/dequantize (https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html):
``y = saturate(round(x / y_scale) + y_zero_point)``, ``x = (y - zero_point) * scale``. The
scale (and zero point, same shape) is a scalar or 1-element tensor (per tensor), a 1-D
tensor of length ``x.shape[axis]`` (per axis, opset 13+), or, with ``block_size`` B > 0
(opset 21+), a tensor of x's rank with ``ceil(x.shape[axis] / B)`` on ``axis`` and x's dims
elsewhere. QuantizeLinear's output type is ``output_dtype`` (opset 21+), else the zero
point's, else uint8; DequantizeLinear's is ``output_dtype`` (opset 23+), else the scale's
(float32 before opset 19). Term ``quantize`` = numel(Y): one scale-round-shift per element
(DynamicQuantizeLinear: 3, for the min/max scan and the quantization).

Parameters: integer weights read by these ops are trainable parameters (``integer_params``),
counted by element and in their own bytes (int4 half a byte); scales and zero points are
constants. ``mac_operands`` names the inputs whose element types set a node's MAC precision.
"""
from __future__ import annotations

import sympy as sp

from ..graph import FLOAT, Value
from ..symbolic import as_expr, cdiv
from . import TERMS, Case, Inference, Op, numel, register, same_rf
from .conv import Conv
from .linear import MatMul

UINT8, INT8, INT32 = 2, 3, 6



def remap_rf(rf, index_map):
    """A float op's receptive-field spec with its input indices mapped to the quantized
    op's (``index_map[i]`` is the quantized op's input that was float input i)."""
    if rf is None:
        return None
    out = []
    for spec in rf:
        if spec is None:
            out.append(None)
            continue
        out.append(tuple(None if ax is None else tuple((index_map[i], a, w) for i, a, w in ax) for ax in spec))
    return out


def delegate(op, float_cls, operands, index_map, dtype, *, attrs=None, opset=None, extra_terms=None):
    """Run ``float_cls`` on ``operands`` (the quantized op's inputs at ``index_map``) and
    give its outputs ``dtype``. Errors and constraints name the quantized op."""
    f = float_cls(op.attrs if attrs is None else attrs, op.opset if opset is None else opset, op.node)
    f.op_type = op.op_type
    res = f.infer(operands)
    outs = [Value(v.shape, dtype if k == 0 else v.dtype, None) for k, v in enumerate(res.outputs)]
    terms = dict(res.terms)
    for k, v in (extra_terms or {}).items():
        terms[k] = terms.get(k, 0) + v
    return Inference(outs, res.macs, terms, remap_rf(res.rf, index_map), list(res.constraints))


def pick(inputs, i):
    return inputs[i] if i < len(inputs) else None


def zp_dtype(zp, default=UINT8):
    return default if zp is None else zp.dtype


def check_scale(op, x, scale, zp, axis, block_size):
    """Constraints tying the scale's (and zero point's) shape to x: per tensor, per axis
    or blocked (see the module docstring)."""
    cons = []
    r = len(x.shape)
    s = scale.shape
    if s is None:
        return cons
    if zp is not None and zp.shape is not None and len(zp.shape) == len(s):
        for a, b in zip(zp.shape, s):
            _same(op, a, b, "the zero point must have the scale's shape", cons)
    elif zp is not None and zp.shape is not None and _one_element(zp.shape) and _one_element(s):
        pass  # per tensor both: a scalar beside a [1] tensor is valid (ONNX node tests)
    elif zp is not None and zp.shape is not None:
        op.fail(f"zero point rank {len(zp.shape)} differs from the scale's rank {len(s)}")
    if block_size:
        if len(s) != r:
            op.fail(f"blocked quantization needs a scale of x's rank {r}, got rank {len(s)}")
        for i in range(r):
            want = cdiv(x.shape[i], block_size) if i == axis else x.shape[i]
            _same(op, s[i], want, f"scale axis {i} must be {want} (block_size {block_size})", cons)
        return cons
    if len(s) == 0 or (len(s) == 1 and s[0] == 1):
        return cons
    if len(s) == 1:
        if r == 0:
            op.fail("a per-axis scale needs x of rank >= 1")
        _same(op, s[0], x.shape[axis], f"per-axis scale length must equal x axis {axis}", cons)
        return cons
    op.fail(f"scale of shape {tuple(s)} is neither a scalar, a 1-D per-axis vector nor blocked")


def _one_element(shape):
    return len(shape) <= 1 and all(d == 1 for d in shape)


def _same(op, a, b, message, cons):
    eq = sp.Eq(as_expr(a), as_expr(b))
    if eq is sp.false:
        op.fail(f"{message}: {a} vs {b}", kind="shape", expected=b, got=a)
    if eq is not sp.true:
        cons.append((eq, f"{op.op_type}: {message}"))


class _QDQ(Op):
    """Shared by QuantizeLinear and DequantizeLinear (element-wise, per tensor/axis/block)."""
    reads_values = False
    # the contrib (com.microsoft) forms have no opset of their own: opset 13 semantics
    semantics_opset = None

    def _opset(self):
        return self.semantics_opset or self.opset

    def infer(self, inputs):
        x, scale, zp = inputs[0], inputs[1], pick(inputs, 2)
        if x.shape is None:
            self.fail("input rank unknown")
        r = len(x.shape)
        opset = self._opset()
        axis = int(self.attrs.get("axis", 1) or 0) if opset >= 13 else 1
        block = int(self.attrs.get("block_size") or 0) if opset >= 21 else 0
        cons = []
        if r:
            if not -r <= axis < r:
                if scale.shape is not None and numel(scale.shape) != 1:
                    self.fail(f"axis {axis} out of range for rank {r}")
            else:
                cons = check_scale(self, x, scale, zp, axis % r, block)
        y = Value(x.shape, self.out_dtype(x, scale, zp, opset))
        return Inference([y], terms={"quantize": numel(x.shape)}, rf=[same_rf(r)], constraints=cons)


@register
class QuantizeLinear(_QDQ):
    """y = saturate(round(x / y_scale) + y_zero_point); Y has X's shape.

    Per tensor, per axis (``axis``, opset 13+) or blocked (``block_size``, opset 21+);
    output type ``output_dtype`` (21+), else y_zero_point's, else uint8 (int4/uint4,
    int8/uint8, int16/uint16, float8 since 19/21). Term quantize = numel(Y).
    https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html
    """

    op_type = "QuantizeLinear"
    attributes = {"axis": 1, "block_size": 0, "output_dtype": 0, "precision": 0, "saturate": 1}
    examples = [
        Case(("N,C,H,W", "", ""), "N,C,H,W", dtypes={2: INT8}, terms={"quantize": "N*C*H*W"}),
        Case(("N,C,H,W", "C"), "N,C,H,W", axis=1, opset=13),
        Case(("M,K", "M,B", "M,B"), "M,K", axis=1, block_size=32, dtypes={2: 22}, opset=21),
        Case(("64,3,7,7", "3"), axis=0, opset=13, raises="per-axis"),
        Case(("16,64", "16,3"), axis=1, block_size=32, opset=21, raises="block_size"),
    ]

    def out_dtype(self, x, scale, zp, opset):
        od = int(self.attrs.get("output_dtype") or 0) if opset >= 21 else 0
        return od or zp_dtype(zp)


@register
class DequantizeLinear(_QDQ):
    """y = (x - x_zero_point) * x_scale; Y has X's shape.

    Per tensor, per axis (``axis``, opset 13+) or blocked (``block_size``, opset 21+);
    output type ``output_dtype`` (23+), else x_scale's (float32, float16 or bfloat16;
    float32 before opset 19). Term quantize = numel(Y). Its quantized input, when an
    initializer, is counted as the parameter its float consumer reads (a Conv's weight is
    trainable, in int8 bytes); a MAC op whose operands come from DequantizeLinear computes
    at the quantized precision (``macs_int8``).
    https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html
    """

    op_type = "DequantizeLinear"
    attributes = {"axis": 1, "block_size": 0, "output_dtype": 0}
    dequantizes = True
    examples = [
        Case(("N,C,H,W", "", ""), "N,C,H,W", dtypes={0: UINT8, 2: UINT8}, terms={"quantize": "N*C*H*W"}),
        Case(("64,3,7,7", "64", "64"), "64,3,7,7", axis=0, dtypes={0: INT8, 2: INT8}, opset=13),
        Case(("K,N", "B,N"), "K,N", axis=0, block_size=128, dtypes={0: 22}, opset=21),
        Case(("K,N", "B,N"), "K,N", axis=0, block_size=16, opset=23, output_dtype=10),
        Case(("64,3,7,7", "32"), axis=0, opset=13, raises="per-axis"),
    ]

    def out_dtype(self, x, scale, zp, opset):
        od = int(self.attrs.get("output_dtype") or 0) if opset >= 23 else 0
        return od or (scale.dtype if opset >= 19 else FLOAT)


@register
class DynamicQuantizeLinear(Op):
    """y_scale = (max(0, max(x)) - min(0, min(x))) / 255, y_zero_point =
    saturate(round(-min(0, min(x)) / y_scale)), y = saturate(round(x / y_scale) + y_zero_point).

    Outputs Y (X's shape, uint8), y_scale (scalar float32), y_zero_point (scalar uint8).
    Term quantize = 3 numel(X) (min and max scan, then quantize).
    https://onnx.ai/onnx/operators/onnx__DynamicQuantizeLinear.html
    """
    reads_values = False

    op_type = "DynamicQuantizeLinear"
    examples = [Case(("N,C,H,W",), ("N,C,H,W", "", ""), opset=11, terms={"quantize": "3*N*C*H*W"})]

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None:
            self.fail("input rank unknown")
        return Inference([Value(x.shape, UINT8), Value((), FLOAT), Value((), UINT8)],
                         terms={"quantize": 3 * numel(x.shape)}, rf=[same_rf(len(x.shape)), None, None])


@register
class QLinearConv(Op):
    """Conv on quantized tensors: y = quantize(conv(dequantize(x), dequantize(w)) + B).

    Inputs x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
    (int32). Shapes, macs, terms and windows are Conv's on (x, w, B); Y's type is
    y_zero_point's. https://onnx.ai/onnx/operators/onnx__QLinearConv.html
    """
    reads_values = False

    op_type = "QLinearConv"
    attributes = dict(Conv.attributes)
    param_roles = {3: "trainable", 8: "trainable"}
    integer_params = True
    mac_operands = (0, 3)
    examples = [
        Case(("N,3,H,W", "", "", "64,3,7,7", "64", "64", "", "", "64"), "N,64,ceiling(H/2),ceiling(W/2)",
             strides=(2, 2), pads=(3, 3, 3, 3), dtypes={0: UINT8, 3: INT8, 7: UINT8, 8: INT32}, opset=10,
             macs="9408*N*ceiling(H/2)*ceiling(W/2)", terms={"bias": "64*N*ceiling(H/2)*ceiling(W/2)"}),
        Case(("1,3,8,8", "", "", "4,5,3,3", "", "", "", ""), raises="channels"),
    ]

    def infer(self, inputs):
        return conv_like(self, inputs, (0, 3, 8), zp_dtype(pick(inputs, 7), inputs[0].dtype))


def conv_like(op, inputs, idx, dtype):
    """Conv on the inputs at ``idx`` (x, w[, B]), channels-last inputs transposed to
    channels-first and back (the contrib ops' ``channels_last``)."""
    operands = [pick(inputs, i) for i in idx]
    if len(operands) > 2 and operands[2] is None:
        operands, idx = operands[:2], idx[:2]
    attrs = {k: v for k, v in op.attrs.items() if k in Conv.attributes}
    return delegate_layout(op, Conv, operands, idx, dtype, attrs=attrs, opset=op.opset)


def delegate_layout(op, float_cls, operands, idx, dtype, **kw):
    """:func:`delegate`, through a channels-first view of input 0 when the op's
    ``channels_last`` attribute is set (X is N, spatial..., C)."""
    if not int(op.attrs.get("channels_last") or 0):
        return delegate(op, float_cls, operands, dict(enumerate(idx)), dtype, **kw)
    x = operands[0]
    op.need_rank(x, 3)
    r = len(x.shape)
    to_first = [0, r - 1, *range(1, r - 1)]  # channels-first axis j is channels-last axis to_first[j]
    xf = Value(tuple(x.shape[a] for a in to_first), x.dtype)
    res = delegate(op, float_cls, [xf, *operands[1:]], dict(enumerate(idx)), dtype, **kw)
    y = res.outputs[0]
    back = [0, *range(2, r), 1]  # channels-last axis i is channels-first axis back[i]
    res.outputs[0] = Value(tuple(y.shape[a] for a in back), y.dtype)
    if res.rf and res.rf[0] is not None:
        spec = res.rf[0]
        res.rf[0] = tuple(None if spec[back[i]] is None else
                          tuple((k, to_first[a] if k == idx[0] else a, w) for k, a, w in spec[back[i]])
                          for i in range(r))
    return res


@register
class ConvInteger(Op):
    """Y (int32) = conv(x - x_zero_point, w - w_zero_point): Conv's shapes, macs and
    windows on (x, w). https://onnx.ai/onnx/operators/onnx__ConvInteger.html"""
    reads_values = False

    op_type = "ConvInteger"
    attributes = dict(Conv.attributes)
    param_roles = {1: "trainable"}
    integer_params = True
    examples = [
        Case(("N,8,H,W", "16,8,3,3", "", ""), "N,16,H-2,W-2", dtypes={0: UINT8, 1: UINT8}, opset=10,
             macs="1152*N*(H-2)*(W-2)"),
    ]

    def infer(self, inputs):
        return conv_like(self, inputs, (0, 1), INT32)


@register
class QLinearMatMul(Op):
    """MatMul on quantized tensors: y = quantize(dequantize(a) @ dequantize(b)).

    Inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point; shapes
    and macs are MatMul's on (a, b); Y's type is y_zero_point's.
    https://onnx.ai/onnx/operators/onnx__QLinearMatMul.html
    """
    reads_values = False

    op_type = "QLinearMatMul"
    param_roles = {0: "trainable", 3: "trainable"}
    integer_params = True
    mac_operands = (0, 3)
    examples = [Case(("N,S,64", "", "", "64,128", "", "", "", ""), "N,S,128", macs="8192*N*S",
                     dtypes={0: UINT8, 3: INT8, 7: UINT8}, opset=10)]

    def infer(self, inputs):
        return delegate(self, MatMul, [inputs[0], inputs[3]], {0: 0, 1: 3},
                        zp_dtype(pick(inputs, 7), inputs[0].dtype), attrs={})


@register
class MatMulInteger(Op):
    """Y (int32) = (A - a_zero_point) @ (B - b_zero_point): MatMul's shapes and macs on
    (A, B). https://onnx.ai/onnx/operators/onnx__MatMulInteger.html"""
    reads_values = False

    op_type = "MatMulInteger"
    param_roles = {0: "trainable", 1: "trainable"}
    integer_params = True
    examples = [Case(("N,S,64", "64,128"), "N,S,128", macs="8192*N*S", dtypes={0: UINT8, 1: INT8}, opset=10)]

    def infer(self, inputs):
        return delegate(self, MatMul, [inputs[0], inputs[1]], {0: 0, 1: 1}, INT32, attrs={})
