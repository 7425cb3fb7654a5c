"""Constants, casts and pass-through ops: ConstantOfShape, Constant, Range, NonZero,
Cast, CastLike, Identity, Dropout. No cost terms; known contents propagate."""
from __future__ import annotations


# numpy is imported inside the few functions that use it: a report whose graph carries no
# known tensor contents never needs it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from ..graph import BOOL, FLOAT, FLOAT_TYPES, INT64, Initializer, Value
from ..symbolic import ZERO, as_expr, cdiv
from . import Case, Inference, Op, register, same_rf
from .shape import VALUE_LIMIT, _array, _concrete, _max0, _rank, _safe, _scalar, _value


@register
class ConstantOfShape(Op):
    """Y of shape ``input``'s contents, every element ``value`` (a one-element tensor,
    default float 0). https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html"""

    op_type = "ConstantOfShape"
    attributes = {"value": None}
    examples = [
        Case(("4",), "N,C,H,W", values={0: ("N", "C", "H", "W")}),
        Case(("2",), "1,3", values={0: (1, 3)}, value=(0, 0, 0)),
        Case(("1",), "2", values={0: (2,)}, attributes={"value": Initializer("v", (1,), 7, (5,))}, value=(5, 5)),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        dims = self.input_or_attr(inputs, 0, "shape")
        if dims is None:
            self.fail("needs a shape")
        out = tuple(as_expr(d) for d in dims)
        for d in out:
            if d.is_number and d < 0:
                self.fail(f"shape {list(out)} has a negative dim")
        v = self["value"]
        dtype, fill = FLOAT, ZERO
        if v is not None:
            dtype = v.dtype
            if v.value is not None and len(v.value) == 1:
                fill = as_expr(v.value[0])
            else:
                fill = None
        c = _concrete(out)
        res = None
        if fill is not None and c is not None and int(np.prod(c, dtype=object)) <= VALUE_LIMIT:
            res = np.full(c, fill, dtype=object)
        return Inference([_value(out, dtype, res)])


@register
class Constant(Op):
    """Y = the attribute: ``value`` (a tensor), ``value_int(s)`` (int64 scalar/vector),
    ``value_float(s)`` (float scalar/vector), ``value_string(s)``.
    https://onnx.ai/onnx/operators/onnx__Constant.html"""

    op_type = "Constant"
    attributes = {"value": None, "value_int": None, "value_ints": None, "value_float": None,
                  "value_floats": None, "value_string": None, "value_strings": None, "sparse_value": None}
    examples = [
        Case((), "", value_int=3, value=(3,)),
        Case((), "3", value_ints=(1, 2, 3), value=(1, 2, 3)),
        Case((), "2", value_floats=(0.5, 2.0), value=("1/2", 2)),
        Case((), "2,2", attributes={"value": Initializer("c", (2, 2), 7, (1, 2, 3, 4))}, value=(1, 2, 3, 4)),
        Case((), raises="value"),
    ]

    def infer(self, inputs):
        a = self.attrs
        if isinstance(a.get("value"), Initializer):
            t = a["value"]
            if t.value is None and t.pending is not None:  # small float tensors decode on demand
                t.value, t.pending = t.pending(), None
            return Inference([Value(tuple(as_expr(d) for d in t.shape), t.dtype,
                                    None if t.value is None else tuple(as_expr(x) for x in t.value))])
        if a.get("value_int") is not None:
            return Inference([Value((), INT64, (as_expr(a["value_int"]),))])
        if a.get("value_ints") is not None:
            v = tuple(as_expr(x) for x in a["value_ints"])
            return Inference([Value((as_expr(len(v)),), INT64, v)])
        if a.get("value_float") is not None:
            return Inference([Value((), FLOAT, (as_expr(a["value_float"]),))])
        if a.get("value_floats") is not None:
            v = tuple(as_expr(x) for x in a["value_floats"])
            return Inference([Value((as_expr(len(v)),), FLOAT, v)])
        if a.get("value_string") is not None:
            return Inference([Value((), 8)])
        if a.get("value_strings") is not None:
            return Inference([Value((as_expr(len(a["value_strings"])),), 8)])
        self.fail("has no value attribute (sparse_value is not supported)")


@register
class Range(Op):
    """Y = [start, start + delta, ...) below ``limit``: length max(ceil((limit - start)/delta), 0).
    https://onnx.ai/onnx/operators/onnx__Range.html"""

    op_type = "Range"
    examples = [
        Case(("", "", ""), "5", values={0: (0,), 1: (5,), 2: (1,)}, value=(0, 1, 2, 3, 4)),
        Case(("", "", ""), "H", values={0: (0,), 1: ("H",), 2: (1,)}),
        Case(("", "", ""), "ceiling(H/2)", values={0: (0,), 1: ("H",), 2: (2,)}),
        Case(("", "", ""), "3", values={0: (10,), 1: (4,), 2: (-2,)}, value=(10, 8, 6)),
        Case(("", "", ""), "0", values={0: (3,), 1: (1,), 2: (1,)}, value=()),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        start = _scalar(self, inputs[0], "start")
        limit = _scalar(self, inputs[1], "limit")
        delta = _scalar(self, inputs[2], "delta")
        if delta == 0:
            self.fail("delta 0")
        span = sp.expand(limit - start)
        if delta.is_Integer and span.is_integer:
            n = _max0(cdiv(span, delta) if delta > 0 else cdiv(-span, -delta))
        else:
            n = _max0(sp.ceiling(span / delta))
        res = None
        if n.is_Integer and int(n) <= VALUE_LIMIT:
            res = np.array([start + i * delta for i in range(int(n))] or [], dtype=object)
        return Inference([_value((n,), inputs[0].dtype, res)])


@register
class NonZero(Op):
    """Y = indices of X's non-zero elements, int64 (rank(X), nnz). nnz depends on the data:
    unless X's contents are known it is a fresh non-negative symbol ``nonzero_<node>``
    that no input binds, so downstream sizes stay opaque.
    https://onnx.ai/onnx/operators/onnx__NonZero.html"""

    op_type = "NonZero"
    examples = [
        Case(("2,2",), "2,3", values={0: (1, 0, 2, 3)}, value=(0, 1, 1, 0, 0, 1)),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x = inputs[0]
        r = _rank(self, x)
        arr = _array(x)
        if arr is not None and all(as_expr(v).is_number for v in arr.reshape(-1)):
            nz = np.array(np.nonzero(np.vectorize(lambda v: bool(v != 0), otypes=[bool])(arr)), dtype=object) \
                if arr.size else np.empty((r, 0), dtype=object)
            nz = nz.reshape(r, -1)
            return Inference([_value((r, nz.shape[1]), INT64, nz)])
        name = "nonzero" if self.node is None else f"nonzero_{_safe(self.node.name)}"
        nnz = sp.Symbol(name, integer=True, nonnegative=True)
        return Inference([Value((as_expr(r), nnz), INT64)])


def _cast_value(e, to):
    e = as_expr(e)
    if to in FLOAT_TYPES:
        return e
    if to == BOOL:
        return sp.Integer(int(e != 0)) if e.is_number else None
    if e.is_integer:
        return e
    if e.is_number:
        return sp.Integer(int(e))  # truncation toward zero, as the spec's float -> int
    if e.is_nonnegative:
        return sp.floor(e)
    return None


def _cast(x: Value, to) -> Value:
    value = None
    if x.value is not None:
        vals = [_cast_value(e, to) for e in x.value]
        value = None if any(v is None for v in vals) else tuple(vals)
    return Value(x.shape, int(to), value)


@register
class Cast(Op):
    """Y = X converted to element type ``to``; same shape. Contents follow (float -> int
    truncates). https://onnx.ai/onnx/operators/onnx__Cast.html"""

    op_type = "Cast"
    attributes = {"to": None, "saturate": 1, "round_mode": "up"}
    examples = [
        Case(("N,C,H,W",), "N,C,H,W", to=10),
        Case(("1",), "1", to=7, values={0: ("7/2",)}, value=(3,)),
        Case(("1",), "1", to=7, values={0: ("C/2",)}, value=("floor(C/2)",)),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        if self["to"] is None:
            self.fail("needs 'to'")
        return Inference([_cast(x, self["to"])], rf=[same_rf(r)])


@register
class CastLike(Op):
    """Y = X converted to the element type of ``target_type``; same shape.
    https://onnx.ai/onnx/operators/onnx__CastLike.html"""

    op_type = "CastLike"
    attributes = {"saturate": 1, "round_mode": "up"}
    examples = [Case(("N,C,H,W", ""), "N,C,H,W", dtypes={1: 10})]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        return Inference([_cast(x, inputs[1].dtype)], rf=[same_rf(r)])


@register
class Identity(Op):
    """Y = X. https://onnx.ai/onnx/operators/onnx__Identity.html"""

    op_type = "Identity"
    examples = [Case(("N,C,H,W",), "N,C,H,W"), Case(("2",), "2", values={0: ("H", "W")}, value=("H", "W"))]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        return Inference([x], rf=[same_rf(r)])


@register
class Dropout(Op):
    """Y = X at inference (same shape); optional ``mask``, bool of X's shape. ratio and
    training_mode are inputs from opset 12. https://onnx.ai/onnx/operators/onnx__Dropout.html"""

    op_type = "Dropout"
    attributes = {"ratio": 0.5, "seed": None}
    examples = [Case(("N,C,H,W",), ("N,C,H,W", "N,C,H,W"))]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        return Inference([x, Value(x.shape, BOOL)], rf=[same_rf(r), same_rf(r)])
