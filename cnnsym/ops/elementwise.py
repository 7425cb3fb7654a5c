"""Elementwise ops: activations (one input) and arithmetic with numpy broadcasting.

Unary: output shape = input shape; term ``activation`` = numel(Y) x the op's weight (1
unless stated in the table below). Binary/variadic: output = broadcast shape; term
``elementwise`` = numel(Y) x (inputs - 1). Comparisons and logic give bool tensors.
Known small integer contents propagate (Add, Sub, Mul, Div, Mod, Neg, Abs, Max, Min), so
shape arithmetic such as ``Div(Shape(x)[1], 2)`` stays exact: integer Div is floor division
(the dims it sees are non-negative, where ONNX's truncation and floor agree).
https://onnx.ai/onnx/operators/ (each op's page)
"""
from __future__ import annotations

import itertools

# numpy is imported inside the few functions that use it: a report whose graph carries no
# known tensor contents never needs it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from ..graph import BOOL, FLOAT_TYPES, Value
from ..symbolic import as_expr, fdiv, imod, rscale, scale
from . import Case, Inference, Op, numel, register, same_rf
from ._broadcast import broadcast

# op_type -> (activation weight, attributes)
UNARY = {
    "Relu": (1, {}), "LeakyRelu": (1, {"alpha": 0.01}), "Sigmoid": (1, {}),
    "HardSigmoid": (1, {"alpha": 0.2, "beta": 0.5}), "HardSwish": (1, {}), "Tanh": (1, {}),
    "Erf": (1, {}), "Elu": (1, {"alpha": 1.0}), "Selu": (1, {"alpha": 1.67326, "gamma": 1.0507}),
    "Celu": (1, {"alpha": 1.0}), "Softplus": (1, {}), "Softsign": (1, {}), "Mish": (1, {}),
    "ThresholdedRelu": (1, {"alpha": 1.0}), "Shrink": (1, {"bias": 0.0, "lambd": 0.5}),
    "Exp": (1, {}), "Log": (1, {}), "Sqrt": (1, {}), "Neg": (1, {}), "Abs": (1, {}),
    "Reciprocal": (1, {}), "Floor": (1, {}), "Ceil": (1, {}), "Round": (1, {}), "Sign": (1, {}),
    "Sin": (1, {}), "Cos": (1, {}), "Tan": (1, {}), "Asin": (1, {}), "Acos": (1, {}),
    "Atan": (1, {}), "Sinh": (1, {}), "Cosh": (1, {}), "Asinh": (1, {}), "Acosh": (1, {}),
    "Atanh": (1, {}), "Not": (1, {}), "IsNaN": (1, {}), "IsInf": (1, {"detect_negative": 1, "detect_positive": 1}),
    "Gelu": (1, {"approximate": "none"}), "Clip": (1, {"min": None, "max": None}),
    "BitwiseNot": (1, {}), "Swish": (1, {"alpha": 1.0}),
}
BOOL_OUT = {"Not", "IsNaN", "IsInf", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "And", "Or", "Xor"}


def _truth(v):
    """True/False when the symbols' assumptions decide ``v != 0``, else None."""
    z = as_expr(v).is_zero
    return None if z is None else not z


def _bool(t):
    return None if t is None else sp.Integer(int(t))


def _not(v):
    t = _truth(v)
    return None if t is None else sp.Integer(int(not t))


_UNARY_VALUE = {"Neg": lambda v: -v, "Abs": lambda v: sp.Abs(v), "Floor": sp.floor, "Ceil": sp.ceiling,
                "Not": _not}


class Unary(Op):
    weight = 1

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None:
            self.fail("input rank unknown")
        y = x.shape
        dtype = BOOL if self.op_type in BOOL_OUT else x.dtype
        value = None
        f = _UNARY_VALUE.get(self.op_type)
        if f is not None and x.value is not None:
            value = tuple(f(v) for v in x.value)
            if any(v is None for v in value):  # undecided (Not of a symbolic comparison)
                value = None
        return Inference([Value(y, dtype, value)], terms={"activation": rscale(self.weight, numel(y))},
                         rf=[same_rf(len(y))])


def _make_unary(name, weight, attrs):
    doc = f"""{name}: Y has X's shape; term activation = {weight} x numel(Y).
    https://onnx.ai/onnx/operators/onnx__{name}.html"""
    cls = type(name, (Unary,), {"op_type": name, "attributes": attrs, "weight": weight, "__doc__": doc,
                                 "reads_values": name in _UNARY_VALUE,
                                 "__module__": __name__,
                                 "examples": [Case(("N,C,H,W",), "N,C,H,W", terms={"activation": f"{weight}*N*C*H*W"})]})
    return register(cls)


for _n, (_w, _a) in UNARY.items():
    globals()[_n] = _make_unary(_n, _w, _a)


def _int_like(dtype):
    return dtype not in FLOAT_TYPES


_BINARY_VALUE = {
    "Add": lambda a, b, i: a + b,
    "Sub": lambda a, b, i: a - b,
    "Mul": lambda a, b, i: a * b,
    "Div": lambda a, b, i: fdiv(a, b) if i else a / b,
    "Mod": lambda a, b, i: imod(a, b),
    "Max": lambda a, b, i: sp.Max(a, b),
    "Min": lambda a, b, i: sp.Min(a, b),
    "Pow": lambda a, b, i: a ** b,
    "Equal": lambda a, b, i: _equal(a, b),
    # comparisons and logic on shape arithmetic (the expanded Attention function's GQA
    # tests): decided by the symbols' assumptions (dims are positive), else unknown
    "Less": lambda a, b, i: _bool((as_expr(a) - as_expr(b)).is_negative),
    "Greater": lambda a, b, i: _bool((as_expr(a) - as_expr(b)).is_positive),
    "LessOrEqual": lambda a, b, i: _bool((as_expr(a) - as_expr(b)).is_nonpositive),
    "GreaterOrEqual": lambda a, b, i: _bool((as_expr(a) - as_expr(b)).is_nonnegative),
    "And": lambda a, b, i: _and(_truth(a), _truth(b)),
    "Or": lambda a, b, i: _bool(_not_false(_truth(a), _truth(b))),
    "Xor": lambda a, b, i: None if _truth(a) is None or _truth(b) is None else sp.Integer(int(_truth(a) != _truth(b))),
}


def _and(a, b):
    if a is False or b is False:
        return sp.Integer(0)
    return None if a is None or b is None else sp.Integer(1)


def _not_false(a, b):
    """Or of two truth values, None when undecided."""
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _equal(a, b):
    """1/0 when the symbols' assumptions decide a == b (a dim N is never -1, the TorchScript
    exporter's ``expand(N, -1, -1)`` test), else None."""
    z = (as_expr(a) - as_expr(b)).is_zero
    return None if z is None else sp.Integer(1 if z else 0)


def broadcast_values(shapes, values, out_shape, f, dtype_int):
    """Elementwise f over known contents; None unless all shapes are concrete."""
    import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
    try:
        dims = [tuple(int(d) for d in s) for s in shapes]
        out = tuple(int(d) for d in out_shape)
    except TypeError:
        return None
    if int(np.prod(out)) > 1024:
        return None
    arrays = [np.empty(d, dtype=object) for d in dims]
    for a, v in zip(arrays, values):
        a.reshape(-1)[:] = list(v)
    bs = np.broadcast_arrays(*arrays)
    flat = [b.reshape(-1) for b in bs]
    res = []
    for items in zip(*flat):
        acc = items[0]
        for it in items[1:]:
            acc = f(acc, it, dtype_int)
            if acc is None:
                return None
        res.append(as_expr(acc))
    return tuple(res)


class Variadic(Op):
    """Shared by binary ops and variadic Sum/Mean/Max/Min."""

    term = "elementwise"

    def infer(self, inputs):
        present = [v for v in inputs if v is not None]
        if any(v.shape is None for v in present):
            self.fail("input rank unknown")
        out, cons, rf = broadcast(self, [v.shape for v in present])
        dtype = BOOL if self.op_type in BOOL_OUT else present[0].dtype
        value = None
        f = _BINARY_VALUE.get(self.op_type)
        if f is not None and all(v.value is not None for v in present):
            value = broadcast_values([v.shape for v in present], [v.value for v in present], out, f,
                                     _int_like(present[0].dtype))
        return Inference([Value(out, dtype, value)], terms={self.term: scale(numel(out), len(present) - 1)},
                         rf=[rf], constraints=cons)


BINARY = ["Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual",
          "GreaterOrEqual", "And", "Or", "Xor", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor"]
VARIADIC = ["Sum", "Mean", "Max", "Min"]


def _make_binary(name):
    attrs = {"fmod": 0} if name == "Mod" else ({"direction": ""} if name == "BitShift" else {})
    doc = f"""{name}: Y = broadcast shape of the inputs; term elementwise = numel(Y) x (inputs - 1).
    https://onnx.ai/onnx/operators/onnx__{name}.html"""
    cls = type(name, (Variadic,), {"op_type": name, "attributes": attrs, "__doc__": doc, "__module__": __name__,
                                   "examples": [Case(("N,C,H,W", "C,1,1"), "N,C,H,W", terms={"elementwise": "N*C*H*W"}),
                                                Case(("N,C,H,W", "1,C,H,1"), "N,C,H,W")]})
    return register(cls)


for _n in BINARY + VARIADIC:
    globals()[_n] = _make_binary(_n)

Equal.examples = Equal.examples + [Case(("3", "3"), "3", values={0: ("N", -1, 2), 1: (-1, -1, 2)}, value=(0, 1, 1))]
Add.examples = Add.examples + [Case(("2", "1"), "2", values={0: (3, 5), 1: (2,)}, value=(5, 7))]
Div.examples = Div.examples + [Case(("1", "1"), "1", values={0: ("C",), 1: (2,)}, dtypes={0: 7, 1: 7},
                                    value=("floor(C/2)",))]


@register
class PRelu(Op):
    """Y = X where X >= 0 else slope * X; slope broadcasts to X (unidirectionally).
    term activation = numel(Y). https://onnx.ai/onnx/operators/onnx__PRelu.html"""
    reads_values = False

    op_type = "PRelu"
    param_roles = {1: "trainable"}
    examples = [Case(("N,C,H,W", "C,1,1"), "N,C,H,W", terms={"activation": "N*C*H*W"})]

    def infer(self, inputs):
        x = inputs[0]
        out, cons, _ = broadcast(self, [x.shape, inputs[1].shape])
        return Inference([Value(x.shape, x.dtype)], terms={"activation": numel(x.shape)},
                         rf=[same_rf(len(x.shape))], constraints=cons)


@register
class Where(Op):
    """Y = X if condition else Y, all three broadcast; term elementwise = numel(Y).
    https://onnx.ai/onnx/operators/onnx__Where.html"""

    op_type = "Where"
    examples = [Case(("N,1,H,W", "N,C,H,W", "1"), "N,C,H,W", terms={"elementwise": "N*C*H*W"})]

    def infer(self, inputs):
        out, cons, rf = broadcast(self, [v.shape for v in inputs])
        value = _where_values(inputs, out) if all(v.value is not None for v in inputs) else None
        return Inference([Value(out, inputs[1].dtype, value)], terms={"elementwise": numel(out)},
                         rf=[rf], constraints=cons)


def _where_values(inputs, out):
    import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
    try:
        dims = [tuple(int(d) for d in v.shape) for v in inputs]
        oshape = tuple(int(d) for d in out)
    except TypeError:
        return None
    arrs = []
    for d, v in zip(dims, inputs):
        a = np.empty(d, dtype=object)
        a.reshape(-1)[:] = list(v.value)
        arrs.append(a)
    c, a, b = (x.reshape(-1) for x in np.broadcast_arrays(*arrs))
    res = []
    for ci, ai, bi in zip(c, a, b):
        if not as_expr(ci).is_number:
            return None
        res.append(as_expr(ai if ci != 0 else bi))
    return tuple(res)
