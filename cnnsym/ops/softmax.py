"""Softmax, LogSoftmax, Hardmax: Y has X's shape.

Opset >= 13: the op acts along the single axis ``axis`` (default -1). Opset < 13: X is
coerced to 2-D (X[:axis] flattened by X[axis:] flattened, default axis 1) and the op acts
along the second dimension, so every axis from ``axis`` on is mixed: Softmax(axis=1) on NCHW
normalises over C*H*W jointly.

Term ``softmax`` per element: 3 (exp, sum, divide) for Softmax and LogSoftmax, 1 (a
comparison for the arg max) for Hardmax. Receptive field: a spatial axis the op acts along
is seen whole (``Window.of(kernel=x)``, stride 1), other axes pass through.
https://onnx.ai/onnx/operators/onnx__Softmax.html
"""
from __future__ import annotations

from ..graph import Value
from ..receptive import Window
from . import Case, Inference, Op, numel, register


class _SoftmaxLike(Op):
    reads_values = False
    weight = 3

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        r = len(x.shape)
        default = -1 if self.opset >= 13 else 1
        axis = self.attrs.get("axis")
        axis = default if axis is None else int(axis)
        if not -r <= axis < r:
            self.fail(f"axis {axis} out of range for rank {r}")
        axis %= r
        mixed = {axis} if self.opset >= 13 else set(range(axis, r))
        rf = []
        for i in range(r):
            if i in mixed and i >= 2 and r >= 3:
                rf.append(((0, i, Window.of(x.shape[i])),))
            else:
                rf.append(((0, i, None),))
        return Inference([Value(x.shape, x.dtype)], terms={"softmax": self.weight * numel(x.shape)}, rf=[tuple(rf)])


def _make(name, weight, doc):
    cls = type(name, (_SoftmaxLike,), {
        "op_type": name, "attributes": {"axis": None}, "weight": weight, "__module__": __name__,
        "__doc__": f"""{doc}; Y has X's shape; term softmax = {weight} * numel(Y).

    axis: opset >= 13 one axis (default -1); opset < 13 coerced 2-D at ``axis`` (default 1).
    https://onnx.ai/onnx/operators/onnx__{name}.html
    """,
        "examples": [Case(("N,C,H,W",), "N,C,H,W", axis=1, terms={"softmax": f"{weight}*N*C*H*W"}),
                     Case(("N,1000",), "N,1000", opset=11),
                     Case(("N,C",), axis=2, raises="axis")]})
    return register(cls)


Softmax = _make("Softmax", 3, "Y = exp(X) / sum(exp(X))")
LogSoftmax = _make("LogSoftmax", 3, "Y = X - log(sum(exp(X)))")
Hardmax = _make("Hardmax", 1, "Y = one-hot of the first arg max")
