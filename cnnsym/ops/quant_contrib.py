"""onnxruntime's ``com.microsoft`` quantized ops, as its quantizer (QOperator format) and
its graph transformers write them.

Each computes its float op on dequantized inputs and requantizes the result, so shapes,
MACs, cost terms and receptive-field windows are the float op's (its ``infer`` is called on
the operand inputs); the output type is the output zero point's (uint8 when omitted).
``channels_last=1`` (QLinearConv, QLinearAveragePool, QLinearGlobalAveragePool) means X is
(N, spatial..., C) and so is Y. Semantics from onnxruntime's contrib-op documentation:
https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md
"""
from __future__ import annotations

from . import Case, Inference, Op, numel, register
from .conv import Conv
from .elementwise import Add, LeakyRelu, Mul, Sigmoid, Where
from .linear import Gemm, MatMul
from .pool import AveragePool, GlobalAveragePool
from .quant import (INT8, INT32, UINT8, DequantizeLinear, QuantizeLinear, conv_like, delegate,
                    delegate_layout, pick, zp_dtype)
from .reduce import ReduceMean
from .shape import Concat
from .softmax import Softmax

MS = "com.microsoft"
_DOC = "https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft."


@register
class MsQuantizeLinear(QuantizeLinear):
    """com.microsoft QuantizeLinear: the standard op's opset-13 form (per tensor or per
    ``axis``); Y's type is y_zero_point's (uint8 when omitted). Term quantize = numel(Y).
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QuantizeLinear
    """
    domain = MS
    op_type = "QuantizeLinear"
    semantics_opset = 13
    attributes = {"axis": 1}
    examples = [Case(("N,C,H,W", "C", "C"), "N,C,H,W", axis=1, dtypes={2: INT8}, opset=1)]


@register
class MsDequantizeLinear(DequantizeLinear):
    """com.microsoft DequantizeLinear: the standard op's opset-13 form; Y has x_scale's
    type. Term quantize = numel(Y).
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.DequantizeLinear
    """
    domain = MS
    op_type = "DequantizeLinear"
    semantics_opset = 19
    attributes = {"axis": 1}
    examples = [Case(("N,C,H,W", "", ""), "N,C,H,W", dtypes={0: UINT8, 2: UINT8}, opset=1)]


@register
class MsQLinearConv(Op):
    """com.microsoft QLinearConv: ONNX QLinearConv (inputs x, x_scale, x_zero_point, w,
    w_scale, w_zero_point, y_scale, y_zero_point, B) plus ``channels_last``. Conv's shapes,
    macs, terms and windows on (x, w, B); Y's type is y_zero_point's.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QLinearConv
    """
    reads_values = False
    domain = MS
    op_type = "QLinearConv"
    attributes = {**Conv.attributes, "channels_last": 0}
    param_roles = {3: "trainable", 8: "trainable"}
    integer_params = True
    mac_operands = (0, 3)
    examples = [
        Case(("N,H,W,8", "", "", "16,8,3,3", "", "", "", "", "16"), "N,H,W,16", channels_last=1,
             pads=(1, 1, 1, 1), dtypes={0: UINT8, 3: INT8, 7: UINT8}, opset=1, macs="1152*N*H*W"),
        Case(("N,8,H,W", "", "", "16,8,3,3", "", "", "", ""), "N,16,H-2,W-2", opset=1),
    ]

    def infer(self, inputs):
        return conv_like(self, inputs, (0, 3, 8), zp_dtype(pick(inputs, 7), inputs[0].dtype))


def _binary(name, float_cls, formula):
    doc = f"""com.microsoft {name}: C = quantize({formula}) with numpy broadcasting.

    Inputs A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point;
    {float_cls.op_type}'s shape and terms on (A, B); C's type is C_zero_point's.
    {_DOC}{name}"""

    def infer(self, inputs):
        return delegate(self, float_cls, [inputs[0], inputs[3]], {0: 0, 1: 3},
                        zp_dtype(pick(inputs, 7), inputs[0].dtype), attrs={})

    cls = type(name, (Op,), {
        "op_type": name, "domain": MS, "__doc__": doc, "__module__": __name__, "reads_values": False,
        "infer": infer,
        "examples": [Case(("N,C,H,W", "", "", "1,C,1,1", "", "", "", ""), "N,C,H,W", dtypes={0: UINT8, 3: UINT8},
                          opset=1, terms={"elementwise": "N*C*H*W"})]})
    return register(cls)


QLinearAdd = _binary("QLinearAdd", Add, "dequantize(A) + dequantize(B)")
QLinearMul = _binary("QLinearMul", Mul, "dequantize(A) * dequantize(B)")


def _unary(name, float_cls, formula, attrs, extra_examples=()):
    doc = f"""com.microsoft {name}: Y = quantize({formula}).

    Inputs X, X_scale, X_zero_point, Y_scale, Y_zero_point; {float_cls.op_type}'s shape,
    terms and field on X; Y's type is Y_zero_point's.
    {_DOC}{name}"""

    def infer(self, inputs):
        fa = {k: v for k, v in self.attrs.items() if k in float_cls.attributes}
        return delegate_layout(self, float_cls, [inputs[0]], (0,), zp_dtype(pick(inputs, 4), inputs[0].dtype),
                               attrs=fa, opset=self.float_opset)

    cls = type(name, (Op,), {
        "op_type": name, "domain": MS, "__doc__": doc, "__module__": __name__, "reads_values": False,
        "infer": infer, "attributes": attrs, "float_opset": 11,
        "examples": [*extra_examples]})
    return register(cls)


QLinearSigmoid = _unary("QLinearSigmoid", Sigmoid, "sigmoid(dequantize(X))", {}, [
    Case(("N,C,H,W", "", "", "", ""), "N,C,H,W", dtypes={0: UINT8}, opset=1, terms={"activation": "N*C*H*W"})])
QLinearLeakyRelu = _unary("QLinearLeakyRelu", LeakyRelu, "leaky_relu(dequantize(X), alpha)", {"alpha": 0.01}, [
    Case(("N,C,H,W", "", "", "", ""), "N,C,H,W", dtypes={0: INT8}, opset=1, terms={"activation": "N*C*H*W"})])
QLinearGlobalAveragePool = _unary(
    "QLinearGlobalAveragePool", GlobalAveragePool, "global_average_pool(dequantize(X))", {"channels_last": 0}, [
        Case(("N,C,H,W", "", "", "", ""), "N,C,1,1", dtypes={0: UINT8}, opset=1, terms={"pooling": "N*C*H*W"}),
        Case(("N,H,W,C", "", "", "", ""), "N,1,1,C", channels_last=1, opset=1)])
QLinearAveragePool = _unary(
    "QLinearAveragePool", AveragePool, "average_pool(dequantize(X))",
    {"auto_pad": "NOTSET", "ceil_mode": 0, "channels_last": 0, "count_include_pad": 0, "kernel_shape": None,
     "pads": None, "strides": None}, [
        Case(("N,C,H,W", "", "", "", ""), "N,C,floor(H/2),floor(W/2)", kernel_shape=(2, 2), strides=(2, 2), opset=1,
             terms={"pooling": "4*N*C*floor(H/2)*floor(W/2)"}),
        Case(("N,H,W,C", "", "", "", ""), "N,H-2,W-2,C", kernel_shape=(3, 3), channels_last=1, opset=1)])
QLinearReduceMean = _unary("QLinearReduceMean", ReduceMean, "reduce_mean(dequantize(X), axes)",
                           {"axes": None, "keepdims": 1}, [
                               Case(("N,C,H,W", "", "", "", ""), "N,C,1,1", axes=(2, 3), opset=1,
                                    terms={"reduce": "N*C*H*W"})])
QLinearReduceMean.float_opset = 13


@register
class QLinearSoftmax(Op):
    """com.microsoft QLinearSoftmax: Y = quantize(softmax(dequantize(X))), along ``axis``
    with the semantics of the Softmax opset named by the ``opset`` attribute (before 13:
    coerced to 2-D at ``axis``). Softmax's shape, term and field; Y's type is y_zero_point's.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QLinearSoftmax
    """
    reads_values = False
    domain = MS
    op_type = "QLinearSoftmax"
    attributes = {"axis": -1, "opset": 13}
    examples = [Case(("N,S,S", "", "", "", ""), "N,S,S", opset=1, terms={"softmax": "3*N*S*S"})]

    def infer(self, inputs):
        return delegate(self, Softmax, [inputs[0]], {0: 0}, zp_dtype(pick(inputs, 4), inputs[0].dtype),
                        attrs={"axis": self["axis"]}, opset=int(self["opset"] or 13))


@register
class QLinearConcat(Op):
    """com.microsoft QLinearConcat: Y = quantize(concat(dequantize(X_i)) along ``axis``).

    Inputs Y_scale, Y_zero_point, then (X_i, X_i_scale, X_i_zero_point) per joined tensor;
    Concat's shape and fields on the X_i; Y's type is Y_zero_point's.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QLinearConcat
    """
    reads_values = False
    domain = MS
    op_type = "QLinearConcat"
    attributes = {"axis": None}
    examples = [Case(("", "", "N,C,H,W", "", "", "N,D,H,W", "", ""), "N,C+D,H,W", axis=1, opset=1,
                     dtypes={1: UINT8, 2: UINT8, 5: UINT8})]

    def infer(self, inputs):
        idx = list(range(2, len(inputs), 3))
        return delegate(self, Concat, [inputs[i] for i in idx], dict(enumerate(idx)),
                        zp_dtype(pick(inputs, 1), inputs[2].dtype))


@register
class QLinearWhere(Op):
    """com.microsoft QLinearWhere: Z = quantize(where(condition, dequantize(X),
    dequantize(Y))). Inputs condition, X, x_scale, x_zero_point, Y, y_scale, y_zero_point,
    z_scale, z_zero_point; Where's shape and term; Z's type is z_zero_point's.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QLinearWhere
    """
    reads_values = False
    domain = MS
    op_type = "QLinearWhere"
    examples = [Case(("N,1,H,W", "N,C,H,W", "", "", "1", "", "", "", ""), "N,C,H,W", opset=1,
                     dtypes={1: UINT8, 4: UINT8})]

    def infer(self, inputs):
        return delegate(self, Where, [inputs[0], inputs[1], inputs[4]], {0: 0, 1: 1, 2: 4},
                        zp_dtype(pick(inputs, 8), inputs[1].dtype), attrs={})


@register
class QGemm(Op):
    """com.microsoft QGemm: Y = alpha * dequantize(A') dequantize(B') + C (C int32 in the
    accumulator's scale), requantized when y_scale is given (Y then has y_zero_point's type,
    uint8 when omitted), else float (a_scale's type). Inputs A, a_scale, a_zero_point, B,
    b_scale, b_zero_point, C, y_scale, y_zero_point; Gemm's shape, macs and terms on (A, B, C).
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.QGemm
    """
    reads_values = False
    domain = MS
    op_type = "QGemm"
    attributes = {"alpha": 1.0, "transA": 0, "transB": 0}
    param_roles = {3: "trainable", 6: "trainable"}
    integer_params = True
    mac_operands = (0, 3)
    examples = [Case(("N,512", "", "", "1000,512", "", "", "1000", "", ""), "N,1000", transB=1, opset=1,
                     dtypes={0: UINT8, 3: INT8, 6: INT32, 8: UINT8}, macs="512000*N", terms={"bias": "1000*N"})]

    def infer(self, inputs):
        c = pick(inputs, 6)
        operands, idx = ([inputs[0], inputs[3], c], (0, 3, 6)) if c is not None else ([inputs[0], inputs[3]], (0, 3))
        y_scale = pick(inputs, 7)
        dtype = zp_dtype(pick(inputs, 8)) if y_scale is not None else inputs[1].dtype
        attrs = {"alpha": self["alpha"], "beta": 1.0, "transA": self["transA"], "transB": self["transB"]}
        return delegate(self, Gemm, operands, dict(enumerate(idx)), dtype, attrs=attrs)


@register
class MatMulIntegerToFloat(Op):
    """com.microsoft MatMulIntegerToFloat: Y = (A - a_zero_point)(B - b_zero_point) *
    a_scale * b_scale + bias, float (a_scale's type). Inputs A, B, a_scale, b_scale,
    a_zero_point, b_zero_point, bias; MatMul's shape and macs on (A, B); term bias =
    numel(Y) when bias is given.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.MatMulIntegerToFloat
    """
    reads_values = False
    domain = MS
    op_type = "MatMulIntegerToFloat"
    param_roles = {1: "trainable", 6: "trainable"}
    integer_params = True
    examples = [Case(("N,S,64", "64,128", "", "", "", "", "128"), "N,S,128", macs="8192*N*S", opset=1,
                     dtypes={0: UINT8, 1: INT8}, terms={"bias": "128*N*S"})]

    def infer(self, inputs):
        res = delegate(self, MatMul, [inputs[0], inputs[1]], {0: 0, 1: 1}, inputs[2].dtype, attrs={})
        return _with_bias(res, pick(inputs, 6))


@register
class DynamicQuantizeMatMul(Op):
    """com.microsoft DynamicQuantizeMatMul: A (float) quantized to uint8 at run time
    (DynamicQuantizeLinear), then MatMulIntegerToFloat with the integer B: MatMul's shape and
    macs on (A, B), computed at B's precision; Y float (A's type); term quantize = 3 numel(A),
    bias = numel(Y) when bias is given. Inputs A, B, b_scale, b_zero_point, bias.
    
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.DynamicQuantizeMatMul
    """
    reads_values = False
    domain = MS
    op_type = "DynamicQuantizeMatMul"
    param_roles = {1: "trainable", 4: "trainable"}
    integer_params = True
    mac_operands = (1, 1)  # A is quantized to 8 bits before the product
    examples = [Case(("N,64", "64,10", "", ""), "N,10", macs="640*N", opset=1, dtypes={1: INT8},
                     terms={"quantize": "192*N"})]

    def infer(self, inputs):
        res = delegate(self, MatMul, [inputs[0], inputs[1]], {0: 0, 1: 1}, inputs[0].dtype, attrs={},
                       extra_terms={"quantize": 3 * numel(inputs[0].shape)})
        return _with_bias(res, pick(inputs, 4))


@register
class MatMulInteger16(Op):
    """com.microsoft MatMulInteger16: Y (int32) = A @ B on int16/uint16 operands; MatMul's
    shape and macs. 
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.MatMulInteger16
    """
    reads_values = False
    domain = MS
    op_type = "MatMulInteger16"
    param_roles = {0: "trainable", 1: "trainable"}
    integer_params = True
    examples = [Case(("N,S,64", "64,128"), "N,S,128", macs="8192*N*S", opset=1, dtypes={0: 5, 1: 5})]

    def infer(self, inputs):
        return delegate(self, MatMul, [inputs[0], inputs[1]], {0: 0, 1: 1}, INT32, attrs={})


def _with_bias(res: Inference, bias):
    if bias is not None:
        y = res.outputs[0]
        res.terms["bias"] = res.terms.get("bias", 0) + numel(y.shape)
    return res

