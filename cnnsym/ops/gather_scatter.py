"""GatherND, ScatterND and ScatterElements: index tensors whose last axis must be known.

https://onnx.ai/onnx/operators/onnx__GatherND.html, onnx__ScatterND.html,
onnx__ScatterElements.html
"""
from __future__ import annotations

from . import Case, Inference, Op, numel, register
from .einsum import agree


def _concrete(op, d, what):
    if not d.is_Integer:
        op.fail(f"{what} ({d}) must be a known number to derive shapes")
    return int(d)


@register
class GatherND(Op):
    """Y = data gathered at index tuples of length k = indices.shape[-1] (a known
    number), after ``batch_dims`` leading axes shared by data and indices:

        Y.shape = indices.shape[:-1] + data.shape[batch_dims + k:]

    with indices.shape[:batch_dims] = data.shape[:batch_dims] and
    batch_dims + k <= rank(data). No arithmetic: no cost terms.
    """

    op_type = "GatherND"
    reads_values = False
    attributes = {"batch_dims": 0}
    examples = [
        Case(("N,C,H,W", "K,2"), "K,H,W"),
        Case(("N,C,H,W", "N,K,1"), "N,K,H,W", batch_dims=1),
        Case(("2,2", "2,2"), "2"),
        Case(("N,C", "K,3"), raises="exceeds"),
    ]

    def infer(self, inputs):
        data, idx = inputs[0], inputs[1]
        if data.shape is None or idx.shape is None or not idx.shape:
            self.fail("data and indices need known ranks, indices rank >= 1")
        b = int(self["batch_dims"])
        k = _concrete(self, idx.shape[-1], "indices' last dim")
        if b + k > len(data.shape) or b >= len(idx.shape):
            self.fail(f"batch_dims {b} + index length {k} exceeds data rank {len(data.shape)}")
        cons = []
        for a in range(b):
            cons += agree(self, data.shape[a], idx.shape[a], f"batch axis {a} of data and indices must agree")
        out = tuple(idx.shape[:-1]) + tuple(data.shape[b + k:])
        return Inference([data.__class__(out, data.dtype)], constraints=cons)


@register
class ScatterND(Op):
    """Y = data with slices at ``indices`` replaced (or combined by ``reduction``) by
    ``updates``: Y.shape = data.shape; updates.shape = indices.shape[:-1] +
    data.shape[k:], k = indices.shape[-1] (known). Term elementwise = numel(updates) when
    a ``reduction`` combines them, else none (a copy)."""

    op_type = "ScatterND"
    reads_values = False
    attributes = {"reduction": "none"}
    examples = [
        Case(("N,C,H,W", "K,2", "K,H,W"), "N,C,H,W"),
        Case(("8", "4,1", "4"), "8", reduction="add", terms={"elementwise": "4"}),
        Case(("N,C", "K,1", "K,3"), "N,C"),
    ]

    def infer(self, inputs):
        data, idx, upd = inputs[0], inputs[1], inputs[2]
        if data.shape is None or idx.shape is None or upd.shape is None or not idx.shape:
            self.fail("data, indices and updates need known ranks")
        k = _concrete(self, idx.shape[-1], "indices' last dim")
        if k > len(data.shape):
            self.fail(f"index length {k} exceeds data rank {len(data.shape)}")
        want = tuple(idx.shape[:-1]) + tuple(data.shape[k:])
        if len(want) != len(upd.shape):
            self.fail(f"updates rank {len(upd.shape)} must be {len(want)} (indices[:-1] + data[k:])")
        cons = []
        for a, (w, u) in enumerate(zip(want, upd.shape)):
            cons += agree(self, w, u, f"updates axis {a} must match indices[:-1] + data[k:]")
        red = self["reduction"]
        red = red.decode() if isinstance(red, bytes) else str(red)
        terms = {"elementwise": numel(upd.shape)} if red not in ("none", "") else {}
        return Inference([data.__class__(tuple(data.shape), data.dtype)], terms=terms, constraints=cons)


@register
class ScatterElements(Op):
    """Y = data with elements at ``indices`` along ``axis`` replaced (or combined by
    ``reduction``) by ``updates`` (same shape as indices, same rank as data):
    Y.shape = data.shape. Term elementwise = numel(updates) with a reduction."""

    op_type = "ScatterElements"
    reads_values = False
    attributes = {"axis": 0, "reduction": "none"}
    examples = [
        Case(("N,C,H,W", "N,C,H,K", "N,C,H,K"), "N,C,H,W", axis=3),
        Case(("5", "2", "2"), "5", reduction="max", terms={"elementwise": "2"}),
        Case(("5", "2", "3"), raises="updates"),
    ]

    def infer(self, inputs):
        data, idx, upd = inputs[0], inputs[1], inputs[2]
        if data.shape is None or idx.shape is None or upd.shape is None:
            self.fail("data, indices and updates need known ranks")
        if len(idx.shape) != len(data.shape) or len(upd.shape) != len(idx.shape):
            self.fail("indices and updates must have data's rank")
        cons = []
        for a, (i, u) in enumerate(zip(idx.shape, upd.shape)):
            cons += agree(self, i, u, f"updates axis {a} must match indices")
        red = self["reduction"]
        red = red.decode() if isinstance(red, bytes) else str(red)
        terms = {"elementwise": numel(upd.shape)} if red not in ("none", "") else {}
        return Inference([data.__class__(tuple(data.shape), data.dtype)], terms=terms, constraints=cons)
