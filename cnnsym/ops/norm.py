"""Normalisation: BatchNormalization, InstanceNormalization, LayerNormalization,
GroupNormalization, LpNormalization, LRN, MeanVarianceNormalization.

Y always has X's shape. Cost term ``norm`` per output element: 2 for BatchNormalization at
inference (scale, shift); 5 for Instance/Layer/Group/MeanVariance normalisation (mean,
variance, subtract, divide, affine folded in); 3 for LpNormalization (power, sum, divide);
``size + 3`` for LRN (square-sum over ``size`` channels, then scale, power, divide).
Receptive fields: these ops are treated as pointwise in space (statistics count as
constants, as every receptive-field tool does; BatchNormalization at inference is exactly
pointwise).
"""
from __future__ import annotations

import sympy as sp

from ..graph import Value
from ..symbolic import eq as _eq
from ..symbolic import imod, rscale
from . import Case, Inference, Op, numel, register, same_rf


def _channel_check(op, x, v, want, what):
    """Constraint that 1-D parameter ``v`` has ``want`` elements."""
    if v is None or v.shape is None:
        return []
    if len(v.shape) != 1:
        return []
    eq = _eq(v.shape[0], want)  # sp.Eq, fast for integers and a symbol against itself
    if eq is sp.false:
        op.fail(f"{what} has {v.shape[0]} elements but {want} are needed", kind="channels",
                expected=v.shape[0], got=want)
    return [] if eq is sp.true else [(eq, f"{op.op_type} {what} must have {want} elements")]


def _pointwise(op, x, per_element, cons=(), extra=()):
    op.need_rank(x, 1)
    return Inference([Value(x.shape, x.dtype), *extra], terms={"norm": rscale(per_element, numel(x.shape))},
                     rf=[same_rf(len(x.shape))], constraints=list(cons))


@register
class BatchNormalization(Op):
    """Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel (axis 1).

    Inference: outputs Y. ``training_mode=1`` (opset 14+) adds running_mean and running_var
    (C,); opset < 14 declares mean, var, saved_mean, saved_var (C,) as optional outputs.
    scale and B are trainable, input_mean/input_var buffers. term norm = 2 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
    """
    reads_values = False

    op_type = "BatchNormalization"
    attributes = {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0, "spatial": 1}
    param_roles = {1: "trainable", 2: "trainable", 3: "buffer", 4: "buffer"}
    examples = [
        Case(("N,C,H,W", "C", "C", "C", "C"), "N,C,H,W", terms={"norm": "2*N*C*H*W"}),
        Case(("N,64,H,W", "64", "64", "64", "64"), ("N,64,H,W", "64", "64"), training_mode=1),
        Case(("N,8,L", "8", "8", "8", "8"), "N,8,L"),
        Case(("N,8,L", "4", "4", "4", "4"), raises="elements"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 2)
        c = x.shape[1]
        cons = []
        for i, what in ((1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")):
            if i < len(inputs):
                cons += _channel_check(self, x, inputs[i], c, what)
        stats = [Value((c,), x.dtype) for _ in range(4)]
        return _pointwise(self, x, 2, cons, stats)


@register
class InstanceNormalization(Op):
    """Y = scale * (X - mean) / sqrt(var + epsilon) + B, statistics per (n, c) over space.
    scale and B (C,) are trainable; term norm = 5 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html
    """
    reads_values = False

    op_type = "InstanceNormalization"
    attributes = {"epsilon": 1e-5}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [Case(("N,C,H,W", "C", "C"), "N,C,H,W", terms={"norm": "5*N*C*H*W"})]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        cons = []
        for i, what in ((1, "scale"), (2, "B")):
            if i < len(inputs):
                cons += _channel_check(self, x, inputs[i], x.shape[1], what)
        return _pointwise(self, x, 5, cons)


@register
class LayerNormalization(Op):
    """Y = (X - mean) / sqrt(var + epsilon) * Scale + B, statistics over axes [axis, rank).

    Optional outputs Mean and InvStdDev have shape X[:axis] + [1] * (rank - axis).
    Scale and B (broadcast to X[axis:]) are trainable; term norm = 5 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__LayerNormalization.html
    """
    reads_values = False

    op_type = "LayerNormalization"
    attributes = {"axis": -1, "epsilon": 1e-5, "stash_type": 1}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,L,768", "768", "768"), ("N,L,768", "N,L,1", "N,L,1"), terms={"norm": "3840*N*L"}),
        Case(("N,C,H,W", "C,H,W"), ("N,C,H,W", "N,1,1,1"), axis=1),
        Case(("N,C", "C"), axis=2, raises="axis"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        r = len(x.shape)
        axis = int(self["axis"])
        if not -r <= axis < r:
            self.fail(f"axis {axis} out of range for rank {r}")
        axis %= r
        stat = Value((*x.shape[:axis], *[sp.Integer(1)] * (r - axis)), 1)
        return _pointwise(self, x, 5, (), [stat, stat])


@register
class GroupNormalization(Op):
    """Y = scale * (X - mean) / sqrt(var + epsilon) + bias, statistics per (n, group).

    C must be divisible by num_groups. scale and bias are trainable, of shape (num_groups,)
    in opset 18 and (C,) from opset 21. term norm = 5 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__GroupNormalization.html
    """
    reads_values = False

    op_type = "GroupNormalization"
    attributes = {"epsilon": 1e-5, "num_groups": None, "stash_type": 1}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,32,H,W", "32", "32"), "N,32,H,W", num_groups=8, opset=21, terms={"norm": "160*N*H*W"}),
        Case(("N,32,H,W", "8", "8"), "N,32,H,W", num_groups=8, opset=18),
        Case(("N,30,H,W", "30", "30"), num_groups=8, opset=21, raises="divisible"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        g = self["num_groups"]
        if g is None:
            self.fail("num_groups is required")
        c = x.shape[1]
        cons = []
        rem = imod(c, g)
        if rem.is_number:
            if rem != 0:
                self.fail(f"channels {c} are not divisible by num_groups {g}")
        else:
            cons.append((sp.Eq(rem, 0), f"GroupNormalization channels must be divisible by {g}"))
        want = c if self.opset >= 21 else sp.Integer(g)
        for i, what in ((1, "scale"), (2, "bias")):
            if i < len(inputs):
                cons += _channel_check(self, x, inputs[i], want, what)
        return _pointwise(self, x, 5, cons)


@register
class LpNormalization(Op):
    """Y = X / ||X||_p along ``axis``; term norm = 3 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__LpNormalization.html
    """
    reads_values = False

    op_type = "LpNormalization"
    attributes = {"axis": -1, "p": 2}
    examples = [Case(("N,C,H,W",), "N,C,H,W", axis=1, terms={"norm": "3*N*C*H*W"})]

    def infer(self, inputs):
        return _pointwise(self, inputs[0], 3)


@register
class LRN(Op):
    """Local response normalisation across ``size`` neighbouring channels:
    Y = X / (bias + alpha/size * sum of squares)^beta. term norm = (size + 3) * numel(Y).
    https://onnx.ai/onnx/operators/onnx__LRN.html
    """
    reads_values = False

    op_type = "LRN"
    attributes = {"alpha": 0.0001, "beta": 0.75, "bias": 1.0, "size": None}
    examples = [Case(("N,96,H,W",), "N,96,H,W", size=5, terms={"norm": "768*N*H*W"})]

    def infer(self, inputs):
        size = self["size"]
        if size is None:
            self.fail("size is required")
        self.need_rank(inputs[0], 3)
        return _pointwise(self, inputs[0], int(size) + 3)


@register
class MeanVarianceNormalization(Op):
    """Y = (X - mean) / sqrt(var), statistics over ``axes`` (default [0, 2, 3]);
    term norm = 5 * numel(Y).
    https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html
    """
    reads_values = False

    op_type = "MeanVarianceNormalization"
    attributes = {"axes": [0, 2, 3]}
    examples = [Case(("N,C,H,W",), "N,C,H,W", terms={"norm": "5*N*C*H*W"})]

    def infer(self, inputs):
        return _pointwise(self, inputs[0], 5)
