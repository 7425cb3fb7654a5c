"""Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.

``axes`` is an attribute up to opset 17 (ReduceSum: up to 12) and an optional second input
from opset 18 (ReduceSum: 13). No axes: every axis is reduced, unless
``noop_with_empty_axes=1`` (input-axes opsets), which makes the op the identity. Reduced axes
become 1 (``keepdims=1``, default) or disappear. Term ``reduce`` = numel(X) (one per input
element; 0 for the identity). Receptive field: a reduced spatial axis kept as 1 sees its
whole input axis (``Window.of(kernel=x)``, stride 1). Known contents of a 1-D input (shape
arithmetic, e.g. ReduceProd of a Shape) are reduced too.
https://onnx.ai/onnx/operators/onnx__ReduceMean.html
"""
from __future__ import annotations

import sympy as sp

from ..graph import Value
from ..receptive import Window
from . import Case, Inference, Op, numel, register

_VALUE = {"ReduceSum": sp.Add, "ReduceProd": sp.Mul, "ReduceMax": sp.Max, "ReduceMin": sp.Min}


class _Reduce(Op):
    axes_input_since = 18

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None:
            self.fail("input rank unknown")
        r = len(x.shape)
        if self.opset >= self.axes_input_since:
            axes = self.input_or_attr(inputs, 1, "axes", None) if len(inputs) > 1 and inputs[1] is not None else None
        else:
            axes = self.attrs.get("axes")
        axes = list(axes) if axes is not None else []
        if not axes:
            if self.opset >= self.axes_input_since and int(self.attrs.get("noop_with_empty_axes") or 0):
                return Inference([x], rf=[tuple(((0, i, None),) for i in range(r))])
            axes = list(range(r))
        norm = set()
        for a in axes:
            a = int(a)
            if not -r <= a < r:
                self.fail(f"axis {a} out of range for rank {r}")
            norm.add(a % r)
        keep = int(self["keepdims"])
        shape, rf = [], []
        for i, d in enumerate(x.shape):
            if i in norm:
                if keep:
                    shape.append(sp.Integer(1))
                    rf.append(((0, i, Window.of(d)),) if i >= 2 and r >= 3 else None)
            else:
                shape.append(d)
                rf.append(((0, i, None),))
        value = None
        f = _VALUE.get(self.op_type)
        if f is not None and x.value is not None and r == 1 and len(x.value) == int(x.shape[0]):
            value = (f(*x.value),)
        return Inference([Value(tuple(shape), x.dtype, value)], terms={"reduce": numel(x.shape)}, rf=[tuple(rf)])


REDUCE_OPS = {
    "ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "product",
    "ReduceL1": "sum of |x|", "ReduceL2": "sqrt of the sum of squares", "ReduceLogSum": "log of the sum",
    "ReduceLogSumExp": "log of the sum of exp", "ReduceSumSquare": "sum of squares",
}


def _make(name, what):
    since = 13 if name == "ReduceSum" else 18
    doc = f"""Y = {what} of X over ``axes``; reduced axes kept as 1 (keepdims=1) or dropped.

    axes: attribute up to opset {since - 1}, input from opset {since} (with
    noop_with_empty_axes). term reduce = numel(X).
    https://onnx.ai/onnx/operators/onnx__{name}.html
    """
    examples = [
        Case(("N,C,H,W",), "N,C,1,1", axes=(2, 3), opset=13 if name != "ReduceSum" else 11,
             terms={"reduce": "N*C*H*W"}),
        Case(("N,C,H,W",), "N,C", axes=(-1, -2), keepdims=0, opset=11),
        Case(("N,C,H,W", "2"), "N,1,H,1", values={1: (1, 3)}, opset=18),
        Case(("N,C,H,W",), "1,1,1,1", opset=18),
        Case(("N,C,H,W",), "N,C,H,W", noop_with_empty_axes=1, opset=18, terms={"reduce": "0"}),
        Case(("N,C",), axes=(2,), opset=11, raises="out of range"),
    ]
    if name in _VALUE:
        examples.append(Case(("3",), "1", values={0: (2, "H", 4)}, dtypes={0: 7}, opset=18,
                             value=({"ReduceSum": "H+6", "ReduceProd": "8*H", "ReduceMax": "Max(4, H)",
                                     "ReduceMin": "Min(2, H)"}[name],)))
    cls = type(name, (_Reduce,), {
        "op_type": name, "attributes": {"axes": None, "keepdims": 1, "noop_with_empty_axes": 0},
        "axes_input_since": since, "__doc__": doc, "__module__": __name__, "examples": examples})
    return register(cls)


for _n, _w in REDUCE_OPS.items():
    globals()[_n] = _make(_n, _w)
