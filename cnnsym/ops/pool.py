"""Pooling: MaxPool, AveragePool, LpPool and their global forms.

Windowed pools share Conv's sliding-window arithmetic (``_spatial``), with ``ceil_mode``:
``out = floor((x + pb + pe - d(k-1) - 1)/s) + 1``, or in ceil mode
``min(ceil((x + pb + pe - d(k-1) - 1)/s) + 1, floor((x + pb - 1)/s) + 1)`` (the last window
must start inside the input or its begin padding; onnxruntime 1.32 applies the same rule,
VALID included). Term ``pooling`` = numel(Y) x prod(k) (comparisons or adds per output);
global pools: ``pooling`` = numel(X), output extent 1 on every spatial axis (an empty input
is refused), and each output unit sees its whole input axis (receptive field
``Window.of(kernel=x)``, stride 1).

onnxruntime differences (see ``_spatial``): SAME_* uses the undilated kernel for the pad,
pads >= kernel are refused, an empty input is refused whatever the pads (a constraint:
input spatial axes >= 1), and floor mode returns 1 for ``-s < num < 0`` where the spec
(and cnnsym) give 0.
"""
from __future__ import annotations

import sympy as sp

from ..graph import INT64, Value
from ..receptive import Window
from ..symbolic import cdiv, product, scale
from . import Case, Inference, Op, numel, register
from ._spatial import _auto_pad, spatial_rf, windowed


class _Pool(Op):
    """Windowed pool; subclasses set ``op_type``, ``attributes`` and ``examples``."""
    reads_values = False

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        ceil_mode = int(self.attrs.get("ceil_mode") or 0)
        outs, windows, cons, k = windowed(self, x.shape, ceil_mode=ceil_mode, pool=True)
        cons += self._extra_constraints(x.shape, k)
        y = (*x.shape[:2], *outs)
        terms = {"pooling": scale(numel(y), product(k))}
        values = [Value(y, x.dtype)]
        rf = [spatial_rf(windows, len(y))]
        return Inference(values + self._more_outputs(y), terms=terms, rf=rf + [rf[0]], constraints=cons)

    def _extra_constraints(self, shape, k):
        cons = []
        for j, d in enumerate(shape[2:]):  # onnxruntime refuses an empty input, pads or not
            rel = sp.Ge(d, 1)
            if rel is sp.false:
                self.fail(f"input axis {2 + j} is empty ({d})")
            if rel is not sp.true:
                cons.append((rel, f"{self.op_type} input axis {2 + j} must not be empty"))
        ap = _auto_pad(self["auto_pad"])
        if ap not in ("SAME_UPPER", "SAME_LOWER") or not self._refuses_negative_same_pad():
            return cons
        strides = self["strides"] or [1] * len(k)
        for j, (kj, sj) in enumerate(zip(k, strides)):
            if int(kj) >= int(sj):
                continue
            x = shape[2 + j]
            total = (cdiv(x, sj) - 1) * sj + kj - x
            rel = sp.Ge(total, 0)
            if rel is sp.false:
                self.fail(f"SAME padding on axis {2 + j} would be negative ({total}), which onnxruntime refuses")
            if rel is not sp.true:
                cons.append((rel, f"{self.op_type} SAME padding on axis {2 + j} must be >= 0 (kernel < stride)"))
        return cons

    def _refuses_negative_same_pad(self):
        """Whether onnxruntime refuses a negative SAME_* total pad (kernel < stride and
        ``(ceil(x/s) - 1)s + k < x``) for this node."""
        return False

    def _more_outputs(self, y):
        return []


_WINDOW_ATTRS = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None,
                 "pads": None, "strides": None}


@register
class MaxPool(_Pool):
    """Y = max over each window; optional Indices (int64, Y's shape): flat index of each max
    (``storage_order`` 0 row major, 1 column major; no effect on shapes).

    out per spatial axis as in ``_spatial`` (``ceil_mode``, ``dilations`` since opset 10);
    term pooling = numel(Y) * prod(k). onnxruntime refuses a negative SAME_* pad (kernel <
    stride and ``(ceil(x/s) - 1)s + k < x``): such sizes violate a constraint. Only its
    plain kernel does: with a dilation > 1 or the Indices output requested it accepts them.
    https://onnx.ai/onnx/operators/onnx__MaxPool.html
    """

    op_type = "MaxPool"
    attributes = {**_WINDOW_ATTRS, "storage_order": 0}
    examples = [
        Case(("N,64,H,W",), "N,64,floor((H-1)/2)+1,floor((W-1)/2)+1", kernel_shape=(3, 3), strides=(2, 2),
             pads=(1, 1, 1, 1), terms={"pooling": "9*N*64*(floor((H-1)/2)+1)*(floor((W-1)/2)+1)"}),
        Case(("N,C,H,W",), "N,C,ceiling(H/2),ceiling(W/2)", kernel_shape=(2, 2), strides=(2, 2), ceil_mode=1),
        Case(("N,C,H,W",), "N,C,ceiling(H/2),ceiling(W/2)", kernel_shape=(3, 3), strides=(2, 2),
             auto_pad="SAME_UPPER"),
        Case(("1,1,5",), "1,1,3", kernel_shape=(2,), strides=(2,), pads=(1, 1), ceil_mode=1),
        Case(("N,C,L",), ("N,C,L-4", "N,C,L-4"), kernel_shape=(3,), dilations=(2,)),
        Case(("N,C,D,H,W",), "N,C,D-1,H-1,W-1", kernel_shape=(2, 2, 2)),
        Case(("1,1,2",), kernel_shape=(3,), raises="< 1"),
    ]

    def _refuses_negative_same_pad(self):
        # only onnxruntime's plain kernel refuses: with a dilation > 1 or the Indices
        # output it takes the generic path, which accepts the negative pad
        if any(int(v) != 1 for v in (self["dilations"] or ())):
            return False
        return self.node is None or len([o for o in self.node.outputs if o]) <= 1

    def _more_outputs(self, y):
        return [Value(y, INT64)]


@register
class AveragePool(_Pool):
    """Y = mean over each window; ``count_include_pad`` (whether pads count in the divisor)
    does not change shapes. ``dilations`` since opset 19, ``ceil_mode`` since 10.

    out per spatial axis as in ``_spatial``; term pooling = numel(Y) * prod(k). Before opset
    19 onnxruntime refuses a negative SAME_* pad as MaxPool does (a constraint), except in
    ceil mode with count_include_pad = 1; its opset-19 kernel accepts it.
    https://onnx.ai/onnx/operators/onnx__AveragePool.html
    """

    op_type = "AveragePool"
    attributes = {**_WINDOW_ATTRS, "count_include_pad": 0}

    def _refuses_negative_same_pad(self):
        # onnxruntime's AveragePool-19 kernel accepts it, and so do the older ones in ceil
        # mode with count_include_pad
        return self.opset < 19 and not (int(self["ceil_mode"] or 0) and int(self["count_include_pad"] or 0))
    examples = [
        Case(("N,C,H,W",), "N,C,floor(H/2),floor(W/2)", kernel_shape=(2, 2), strides=(2, 2),
             terms={"pooling": "4*N*C*floor(H/2)*floor(W/2)"}),
        Case(("N,C,H,W",), "N,C,H,W", kernel_shape=(3, 3), pads=(1, 1, 1, 1), count_include_pad=1),
        Case(("N,C,L",), "N,C,floor(L/3)", kernel_shape=(3,), strides=(3,), dilations=(2,),
             ceil_mode=1, opset=19),
    ]


@register
class LpPool(_Pool):
    """Y = (sum over each window of |X|^p)^(1/p); ``ceil_mode`` and ``dilations`` since
    opset 18. out per spatial axis as in ``_spatial``; term pooling = numel(Y) * prod(k).
    https://onnx.ai/onnx/operators/onnx__LpPool.html
    """

    op_type = "LpPool"
    attributes = {**_WINDOW_ATTRS, "p": 2}
    examples = [
        Case(("N,C,H,W",), "N,C,H-2,W-2", kernel_shape=(3, 3), p=3, terms={"pooling": "9*N*C*(H-2)*(W-2)"}),
    ]


class _GlobalPool(Op):
    reads_values = False
    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        y = (*x.shape[:2], *[sp.Integer(1)] * (len(x.shape) - 2))
        windows = [Window.of(d) for d in x.shape[2:]]
        cons = []
        for j, d in enumerate(x.shape[2:]):  # onnxruntime refuses an empty input
            rel = sp.Ge(d, 1)
            if rel is sp.false:
                self.fail(f"input axis {2 + j} is empty ({d})")
            if rel is not sp.true:
                cons.append((rel, f"{self.op_type} input axis {2 + j} must not be empty"))
        return Inference([Value(y, x.dtype)], terms={"pooling": numel(x.shape)},
                         rf=[spatial_rf(windows, len(y))], constraints=cons)


def _make_global(name, what, attrs):
    doc = f"""Y[n, c, 1, ...] = {what} over all spatial positions of X[n, c].

    Output (N, C, 1, ..., 1), input spatial axes >= 1 (onnxruntime refuses an empty
    input); term pooling = numel(X); each output unit sees the whole
    input axis (``Window.of(kernel=x)``: span x - 1, stride 1).
    https://onnx.ai/onnx/operators/onnx__{name}.html
    """
    cls = type(name, (_GlobalPool,), {
        "op_type": name, "attributes": attrs, "__doc__": doc, "__module__": __name__,
        "examples": [Case(("N,C,H,W",), "N,C,1,1", terms={"pooling": "N*C*H*W"}),
                     Case(("N,C,D,H,W",), "N,C,1,1,1"), Case(("N,C,L",), "N,C,1")]})
    return register(cls)


GlobalAveragePool = _make_global("GlobalAveragePool", "mean", {})
GlobalMaxPool = _make_global("GlobalMaxPool", "max", {})
GlobalLpPool = _make_global("GlobalLpPool", "(sum |X|^p)^(1/p)", {"p": 2})
