"""Shape-preserving ops that work along axes: RMSNormalization (opset 23), CumSum,
CumProd, Trilu.

https://onnx.ai/onnx/operators/onnx__RMSNormalization.html, onnx__CumSum.html,
onnx__CumProd.html, onnx__Trilu.html
"""
from __future__ import annotations

from ..symbolic import rscale
from . import Case, Inference, Op, numel, register, same_rf
from ._broadcast import broadcast


@register
class RMSNormalization(Op):
    """Y = X / sqrt(mean(X^2 over axes [axis, rank)) + epsilon) * scale.

    scale (broadcast to X[axis:]) is trainable. term norm = 4 x numel(Y) (square, sum,
    divide by the root mean square, scale). The field of a unit is that of X's unit at
    the same place (statistics span the normalised axes, as LayerNormalization).
    """

    op_type = "RMSNormalization"
    reads_values = False
    attributes = {"axis": -1, "epsilon": 1e-5, "stash_type": 1}
    param_roles = {1: "trainable"}
    examples = [
        Case(("N,L,768", "768"), "N,L,768", terms={"norm": "3072*N*L"}, opset=23),
        Case(("N,C,H,W", "C,H,W"), "N,C,H,W", axis=1, opset=23),
        Case(("N,C", "C"), axis=2, raises="axis", opset=23),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        r = len(x.shape)
        axis = int(self["axis"])
        if not -r <= axis < r:
            self.fail(f"axis {axis} out of range for rank {r}")
        axis %= r
        cons = []
        if len(inputs) > 1 and inputs[1] is not None and inputs[1].shape is not None:
            _, cons, _ = broadcast(self, [tuple(x.shape[axis:]), inputs[1].shape])
        return Inference([x.__class__(x.shape, x.dtype)], terms={"norm": rscale(4, numel(x.shape))},
                         rf=[same_rf(r)], constraints=cons)


class _Cumulative(Op):
    reads_values = False
    attributes = {"exclusive": 0, "reverse": 0}

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        return Inference([x.__class__(x.shape, x.dtype)], terms={"elementwise": numel(x.shape)},
                         rf=[same_rf(len(x.shape))])


@register
class CumSum(_Cumulative):
    """Y = running sum of X along ``axis`` (an input): Y has X's shape; term elementwise
    = numel(Y) (one add per element)."""

    op_type = "CumSum"
    examples = [Case(("N,C,H,W", ""), "N,C,H,W", values={1: (2,)}, terms={"elementwise": "N*C*H*W"})]


@register
class CumProd(_Cumulative):
    """Y = running product of X along ``axis`` (an input): Y has X's shape; term
    elementwise = numel(Y) (one multiply per element)."""

    op_type = "CumProd"
    examples = [Case(("N,L", ""), "N,L", values={1: (1,)}, terms={"elementwise": "N*L"}, opset=26)]


@register
class Trilu(Op):
    """Y = the upper (``upper=1``) or lower triangle of the last two axes of X, the rest
    zeroed, diagonal offset by ``k`` (an optional input): Y has X's shape. No arithmetic:
    no cost terms."""

    op_type = "Trilu"
    reads_values = False
    attributes = {"upper": 1}
    examples = [Case(("B,S,S",), "B,S,S"), Case(("S,T", ""), "S,T", values={1: (1,)}, upper=0)]

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None or len(x.shape) < 2:
            self.fail("input must have rank >= 2")
        return Inference([x.__class__(x.shape, x.dtype)], rf=[same_rf(len(x.shape))])

