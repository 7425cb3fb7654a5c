"""Ops that rearrange or select along axes: DepthToSpace, SpaceToDepth, TopK, ArgMax,
ArgMin, OneHot."""
from __future__ import annotations


import sympy as sp

from ..graph import FLOAT, INT64, Value
from ..receptive import Window
from ..symbolic import ONE, as_expr
from . import Case, Inference, Op, register
from .shape import _at_least, _axis, _divides, _int, _map_rf, _rank, _scalar


def _mode(op):
    m = op["mode"]
    m = m.decode() if isinstance(m, bytes) else str(m)
    if m not in ("DCR", "CRD"):
        op.fail(f"mode {m!r} must be DCR or CRD")
    return m


@register
class DepthToSpace(Op):
    """(N, C, H, W) -> (N, C/b^2, H*b, W*b), b = blocksize (b^2 must divide C); mode DCR
    or CRD orders the channels, not the shape. Each output pixel reads one input pixel,
    row floor(u/b): window jump 1/b, as ConvTranspose(kernel b, stride b). https://onnx.ai/onnx/operators/onnx__DepthToSpace.html"""

    op_type = "DepthToSpace"
    attributes = {"blocksize": None, "mode": "DCR"}
    examples = [
        Case(("N,16,H,W",), "N,4,2*H,2*W", blocksize=2),
        Case(("N,C,H,W",), "N,floor(C/9),3*H,3*W", blocksize=3, mode="CRD"),
        Case(("N,6,H,W",), raises="divide", blocksize=2),
    ]

    def infer(self, inputs):
        x = inputs[0]
        if _rank(self, x) != 4:
            self.fail(f"needs rank 4, got {len(x.shape)}")
        _mode(self)
        b = _int(self, self["blocksize"] if self["blocksize"] is not None else 0, "blocksize")
        if b < 1:
            self.fail("blocksize must be >= 1")
        n, c, h, w = x.shape
        cons = []
        c2 = _divides(self, b * b, c, f"blocksize^2 = {b * b} must divide the channels", cons)
        # as ConvTranspose with kernel b, stride b, no pads: output row u reads input row
        # floor(u/b); span (b-1)/b and shift -(b-1)/(2b) make ceil/floor of the field's ends exact
        win = Window(sp.Rational(b - 1, b), sp.Rational(1, b), -sp.Rational(b - 1, 2 * b))
        rf = (None, None, ((0, 2, win),), ((0, 3, win),))
        return Inference([Value((n, c2, h * b, w * b), x.dtype)], rf=[rf], constraints=cons)


@register
class SpaceToDepth(Op):
    """(N, C, H, W) -> (N, C*b^2, H/b, W/b), b = blocksize (b must divide H and W). Each
    output pixel gathers a b x b block: window b, stride b.
    https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html"""

    op_type = "SpaceToDepth"
    attributes = {"blocksize": None}
    examples = [
        Case(("N,C,H,W",), "N,4*C,floor(H/2),floor(W/2)", blocksize=2),
        Case(("N,3,8,6",), "N,12,4,3", blocksize=2),
        Case(("N,3,7,6",), raises="divide", blocksize=2),
    ]

    def infer(self, inputs):
        x = inputs[0]
        if _rank(self, x) != 4:
            self.fail(f"needs rank 4, got {len(x.shape)}")
        b = _int(self, self["blocksize"] if self["blocksize"] is not None else 0, "blocksize")
        if b < 1:
            self.fail("blocksize must be >= 1")
        n, c, h, w = x.shape
        cons = []
        h2 = _divides(self, b, h, f"blocksize {b} must divide the height", cons)
        w2 = _divides(self, b, w, f"blocksize {b} must divide the width", cons)
        win = Window.of(b, b)
        rf = (None, None, ((0, 2, win),), ((0, 3, win),))
        return Inference([Value((n, c * b * b, h2, w2), x.dtype)], rf=[rf], constraints=cons)


@register
class TopK(Op):
    """Values and Indices (int64) of X with the ``axis`` dim replaced by K (K <= dim).
    K: attribute ``k`` before opset 10, a one-element input from 10.
    https://onnx.ai/onnx/operators/onnx__TopK.html"""

    op_type = "TopK"
    attributes = {"axis": -1, "largest": 1, "sorted": 1, "k": None}
    examples = [
        Case(("N,C", "1"), ("N,5", "N,5"), values={1: (5,)}),
        Case(("N,C,L",), ("N,3,L", "N,3,L"), axis=1, k=3, opset=9),
        Case(("N,4", "1"), raises="larger", values={1: (5,)}),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        a = _axis(self, self["axis"], r)
        k = self.input_or_attr(inputs, 1, "k")
        if k is None:
            self.fail("needs K")
        if isinstance(k, (list, tuple)):
            if len(k) != 1:
                self.fail(f"K must have one element, got {len(k)}")
            k = k[0]
        k = as_expr(k)
        cons = []
        if k.is_number and k < 0:
            self.fail(f"K {k} is negative")
        d = x.shape[a]
        if (d - k).is_number and d - k < 0:
            self.fail(f"K {k} is larger than axis {a}'s dim {d}")
        _at_least(self, d, k, f"TopK's K must not exceed axis {a}'s dim", cons)
        out = list(x.shape)
        out[a] = k
        rf = tuple(None if i == a else ((0, i, None),) for i in range(r))
        return Inference([Value(tuple(out), x.dtype), Value(tuple(out), INT64)], rf=[rf, rf], constraints=cons)


class _ArgReduce(Op):
    attributes = {"axis": 0, "keepdims": 1, "select_last_index": 0}

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        a = _axis(self, self["axis"], r)
        if self["keepdims"]:
            out = tuple(ONE if i == a else d for i, d in enumerate(x.shape))
            src = [None if i == a else i for i in range(r)]
        else:
            out = tuple(d for i, d in enumerate(x.shape) if i != a)
            src = [i for i in range(r) if i != a]
        return Inference([Value(out, INT64)], rf=[_map_rf(src)])


@register
class ArgMax(_ArgReduce):
    """Y = int64 index of the largest element along ``axis`` (kept as 1 when keepdims).
    https://onnx.ai/onnx/operators/onnx__ArgMax.html"""

    op_type = "ArgMax"
    examples = [Case(("N,C,H,W",), "N,1,H,W", axis=1), Case(("N,C,H,W",), "N,C,H", axis=-1, keepdims=0)]


@register
class ArgMin(_ArgReduce):
    """Y = int64 index of the smallest element along ``axis`` (kept as 1 when keepdims).
    https://onnx.ai/onnx/operators/onnx__ArgMin.html"""

    op_type = "ArgMin"
    examples = [Case(("N,C,H,W",), "1,C,H,W"), Case(("N,C",), "C", keepdims=0)]


@register
class OneHot(Op):
    """Y = indices with a new axis of size ``depth`` at ``axis`` (counted in Y's rank), of
    ``values``' element type. https://onnx.ai/onnx/operators/onnx__OneHot.html"""

    op_type = "OneHot"
    attributes = {"axis": -1}
    examples = [
        Case(("N,L", "", "2"), "N,L,10", values={1: (10,)}),
        Case(("N,L", "1", "2"), "N,10,L", values={1: (10,)}, axis=1),
    ]

    def infer(self, inputs):
        ind = inputs[0]
        r = _rank(self, ind, "indices")
        depth = _scalar(self, inputs[1], "depth")
        if depth.is_number:
            depth = as_expr(int(depth))
        a = _axis(self, self["axis"], r + 1)
        out = list(ind.shape)
        out.insert(a, depth)
        return Inference([Value(tuple(out), inputs[2].dtype if len(inputs) > 2 and inputs[2] is not None else FLOAT)])
