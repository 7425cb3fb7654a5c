"""Indexing and padding ops: Slice, Gather, GatherElements, Expand, Tile, Pad.

Known contents propagate as in :mod:`cnnsym.ops.shape`; Slice and Pad shift the
receptive field of the spatial axes they keep, Expand carries it."""
from __future__ import annotations


# numpy is imported inside the few functions that use it: a report whose graph carries no
# known tensor contents never needs it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from ..receptive import Window
from ..symbolic import ONE, ZERO, as_expr, cdiv
from . import Case, Inference, Op, register
from ._broadcast import broadcast
from .shape import (BIG, INT64_MAX, VALUE_LIMIT, _array, _at_least, _axes, _axis, _clamp, _concrete, _int, _map_rf, _max0,
                    _negative, _nonneg, _positive, _rank, _value)


def _slice_axis(op, d, start, end, step):
    """(first index, output length) of one sliced axis of dim d, per the spec: negative
    indices add d; start clamps to [0, d] (step > 0) or [0, d - 1] (step < 0), end to
    [0, d] or [-1, d - 1]; length = max(0, ceil((end - start)/step)). Only the clamps that
    can change the length are written: for step > 0 a start beyond d or an end below 0
    already gives a length <= 0."""
    start, end = as_expr(start), as_expr(end)
    cons = []

    def adjust(i, lo, hi, clamp_lo=True, clamp_hi=True):
        if i.is_number:
            if i >= BIG:
                return hi
            if i <= -BIG:
                return lo
        neg = _negative(i)
        if not neg and not _nonneg(i):
            cons.append((sp.Ge(i, 0), f"Slice index {i} is taken as non-negative"))
        i = d + i if neg else i
        return _clamp(i, lo if clamp_lo else -sp.oo, hi if clamp_hi else sp.oo)

    if step > 0:
        s = adjust(start, ZERO, d, clamp_hi=False)
        e = adjust(end, ZERO, d, clamp_lo=False)
        n = _max0(cdiv(sp.expand(e - s), step))
    else:
        s = adjust(start, ZERO, d - 1)
        # onnxruntime reads end = INT64_MAX with a negative step as "through index 0"
        # (the spec would clamp it to d - 1 and give nothing); we follow the runtime
        e = -ONE if end == INT64_MAX else adjust(end, -ONE, d - 1, clamp_hi=False)
        n = _max0(cdiv(sp.expand(s - e), -step))
        # an empty axis stays empty (the clamp to [0, d - 1] above assumes d >= 1)
        n = n * sp.Min(1, d) if not _positive(as_expr(d)) else n
    return s, n, cons


@register
class Slice(Op):
    """Y = X[starts:ends:steps] on ``axes`` (default all, in order): per axis of dim d,
    negative indices add d, start clamps to [0, d] (step > 0) or [0, d - 1] (step < 0),
    end to [0, d] or [-1, d - 1], and the length is max(0, ceil((end - start)/step)).
    Min/Max appear only where a symbolic dim might clamp; |index| >= 2^31 - 1 means "to
    the end" (INT64_MAX/INT64_MIN). As onnxruntime does, end = INT64_MAX with a negative
    step runs through index 0 (the spec's clamp would give an empty slice).
    Inputs from opset 10, attributes before.
    https://onnx.ai/onnx/operators/onnx__Slice.html"""

    op_type = "Slice"
    attributes = {"starts": None, "ends": None, "axes": None}
    examples = [
        Case(("N,C,H,W", "1", "1", "1"), "N,C,H-1,W", values={1: (1,), 2: (2**63 - 1,), 3: (2,)}),
        Case(("N,C,H,W", "1", "1", "1"), "N,C,H-1,W", values={1: (0,), 2: (-1,), 3: (-2,)}),
        Case(("N,48,H,W", "1", "1", "1"), "N,24,H,W", values={1: (24,), 2: (48,), 3: (1,)}),
        Case(("N,C,H,W", "1", "1", "1", "1"), "N,C,H,ceiling(W/2)", values={1: (0,), 2: (2**63 - 1,), 3: (3,), 4: (2,)}),
        Case(("N,C,H,W", "1", "1", "1", "1"), "N,C,H,W", values={1: (-1,), 2: (-(2**63),), 3: (3,), 4: (-1,)}),
        Case(("N,C,L", "1", "1", "1"), "N,C,Min(3,L)", values={1: (0,), 2: (3,), 3: (2,)}),
        Case(("N,C,L", "1", "1", "1"), "N,C,Max(L - 2, 0)", values={1: (2,), 2: (2**31,), 3: (-1,)}),
        Case(("N,C,L", "1", "1", "1", "1"), "N,C,Max(L-4,0)", values={1: (-BIG - 1,), 2: (-4,), 3: (2,), 4: (1,)}),
        Case(("N,C,L", "1", "1", "1", "1"), "N,C,Max(L-99,1)", values={1: (-100,), 2: (-BIG - 1,), 3: (2,), 4: (-1,)}),
        Case(("N,C,L", "1", "1", "1", "1"), "N,C,L", values={1: (-1,), 2: (INT64_MAX,), 3: (2,), 4: (-1,)}),
        Case(("5",), "2", values={0: ("N", "C", "H", "W", 7)}, opset=9, starts=(2,), ends=(4,), axes=(0,),
             value=("H", "W")),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        starts = self.input_or_attr(inputs, 1, "starts")
        ends = self.input_or_attr(inputs, 2, "ends")
        if starts is None or ends is None:
            self.fail("needs starts and ends")
        axes = self.input_or_attr(inputs, 3, "axes")
        steps = self.input_or_attr(inputs, 4, "steps")
        if len(starts) != len(ends):
            self.fail(f"starts {list(starts)} and ends {list(ends)} differ in length")
        axes = list(range(len(starts))) if axes is None else _axes(self, axes, r)
        steps = [1] * len(starts) if steps is None else [_int(self, s, "step") for s in steps]
        if not len(axes) == len(steps) == len(starts):
            self.fail("starts, ends, axes and steps differ in length")
        out = list(x.shape)
        rf = [((0, i, None),) for i in range(r)]
        cons = []
        index = [slice(None)] * r
        for a, s, e, st in zip(axes, starts, ends, steps):
            if st == 0:
                self.fail("step 0")
            s0, n, c = _slice_axis(self, x.shape[a], s, e, st)
            cons += c
            out[a] = n
            rf[a] = ((0, a, Window(ZERO, as_expr(st), s0)),) if st > 0 else None
            if s0.is_Integer and n.is_Integer:
                index[a] = slice(int(s0), int(s0) + st * int(n), st) if st > 0 or int(s0) + st * int(n) >= 0 \
                    else slice(int(s0), None, st)
            else:
                index[a] = None
        arr = _array(x)
        res = arr[tuple(index)] if arr is not None and all(i is not None for i in index) else None
        return Inference([_value(out, x.dtype, res)], rf=[tuple(rf)], constraints=cons)


@register
class Gather(Op):
    """Y = take(data, indices, axis): shape data[:axis] + indices + data[axis+1:].
    Contents: Gather(Shape(x), i) gives the dim itself, the heart of shape arithmetic.
    https://onnx.ai/onnx/operators/onnx__Gather.html"""

    op_type = "Gather"
    attributes = {"axis": 0}
    examples = [
        Case(("4", ""), "", values={0: ("N", "C", "H", "W"), 1: (2,)}, dtypes={1: 7}, value=("H",)),
        Case(("4", "2"), "2", values={0: ("N", "C", "H", "W"), 1: (-1, 0)}, value=("W", "N")),
        Case(("N,C,H,W", "K"), "N,K,H,W", axis=1),
        Case(("V,D", "N,L"), "N,L,D"),
        Case(("4", ""), raises="out of range", values={0: (1, 2, 3, 4), 1: (4,)}),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x, ind = inputs[0], inputs[1]
        r = _rank(self, x)
        q = _rank(self, ind, "indices")
        a = _axis(self, self["axis"], r)
        out = tuple(x.shape[:a]) + tuple(ind.shape) + tuple(x.shape[a + 1:])
        arr, idx = _array(x), _array(ind)
        res = None
        if idx is not None:
            d = x.shape[a]
            flat = []
            for i in idx.reshape(-1):
                i = _int(self, i, "index")
                if d.is_number and not -int(d) <= i < int(d):
                    self.fail(f"index {i} is out of range for axis {a} of dim {d}")
                flat.append(i + int(d) if i < 0 and d.is_number else i)
            if arr is not None and all(i >= 0 for i in flat):
                res = np.take(arr, np.array(flat, dtype=np.int64).reshape(idx.shape), axis=a)
        src = list(range(a)) + [None] * q + list(range(a + 1, r))
        return Inference([_value(out, x.dtype, res)], rf=[_map_rf(src)])


@register
class GatherElements(Op):
    """Y[i...] = data[... index[i...] on axis ...]: Y has the shape of ``indices`` (same
    rank as data). https://onnx.ai/onnx/operators/onnx__GatherElements.html"""

    op_type = "GatherElements"
    attributes = {"axis": 0}
    examples = [
        Case(("N,C,H,W", "N,C,K,W"), "N,C,K,W", axis=2),
        Case(("3,2", "2,2"), "2,2", values={0: (1, 2, 3, 4, 5, 6), 1: (0, 1, 2, 0)}, value=(1, 4, 5, 2)),
        Case(("N,C", "N"), raises="rank"),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x, ind = inputs[0], inputs[1]
        r = _rank(self, x)
        if _rank(self, ind, "indices") != r:
            self.fail(f"indices rank {len(ind.shape)} must equal data rank {r}")
        a = _axis(self, self["axis"], r)
        arr, idx = _array(x), _array(ind)
        res = None
        if arr is not None and idx is not None:
            d = arr.shape[a]
            ii = np.array([(_int(self, i, "index") + d) % d if d else 0 for i in idx.reshape(-1)],
                          dtype=np.int64).reshape(idx.shape)
            res = np.take_along_axis(arr, ii, axis=a)
        return Inference([_value(ind.shape, x.dtype, res)])


@register
class Expand(Op):
    """Y = X broadcast (numpy rules, both ways) with ``shape``.
    https://onnx.ai/onnx/operators/onnx__Expand.html"""

    op_type = "Expand"
    examples = [
        Case(("C,1,1", "4"), "N,C,H,W", values={1: ("N", 1, "H", "W")}),
        Case(("N,C,1,1", "2"), "N,C,1,W", values={1: (1, "W")}),
        Case(("1", "2"), "2,3", values={0: (7,), 1: (2, 3)}, value=(7,) * 6),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x = inputs[0]
        _rank(self, x)
        target = self.input_or_attr(inputs, 1, "shape")
        if target is None:
            self.fail("needs a shape")
        target = tuple(as_expr(t) for t in target)
        out, cons, rf = broadcast(self, [x.shape, target])
        rf = tuple(tuple(s for s in src if s[0] == 0) or None if src else None for src in rf)
        arr, dims = _array(x), _concrete(out)
        res = None
        if arr is not None and dims is not None and int(np.prod(dims, dtype=object)) <= VALUE_LIMIT:
            res = np.broadcast_to(arr, dims)
        return Inference([_value(out, x.dtype, res)], rf=[rf], constraints=cons)


@register
class Tile(Op):
    """Y dim i = X dim i * repeats[i]. https://onnx.ai/onnx/operators/onnx__Tile.html"""

    op_type = "Tile"
    examples = [
        Case(("N,C,H,W", "4"), "N,C,2*H,3*W", values={1: (1, 1, 2, 3)}),
        Case(("2", "1"), "4", values={0: ("H", "W"), 1: (2,)}, value=("H", "W", "H", "W")),
        Case(("N,C", "1"), raises="repeats", values={1: (2,)}),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x = inputs[0]
        r = _rank(self, x)
        reps = self.input_or_attr(inputs, 1, "repeats")
        if reps is None or len(reps) != r:
            self.fail(f"repeats {reps} must have one entry per axis ({r})")
        reps = [as_expr(t) for t in reps]
        out = tuple(d * t for d, t in zip(x.shape, reps))
        arr = _array(x)
        res = None
        if arr is not None and all(t.is_Integer for t in reps) and _concrete(out) is not None \
                and int(np.prod(_concrete(out), dtype=object)) <= VALUE_LIMIT:
            res = np.tile(arr, [int(t) for t in reps])
        rf = tuple(((0, i, None),) if t == 1 else None for i, t in enumerate(reps))
        return Inference([_value(out, x.dtype, res)], rf=[rf])


_NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "reflect", "wrap": "wrap"}


@register
class Pad(Op):
    """Y dim = x + pad_begin + pad_end on each padded axis (``pads`` = all begins then all
    ends; attribute before opset 11, input from 11; ``axes`` input from 18, default all).
    Negative pads crop. reflect needs pads < x, edge x >= 1 where padded, wrap (onnxruntime)
    a non-empty input on every axis, whatever the pads.
    The receptive field shifts by -pad_begin. https://onnx.ai/onnx/operators/onnx__Pad.html"""

    op_type = "Pad"
    attributes = {"mode": "constant", "pads": None, "value": 0.0}
    examples = [
        Case(("N,C,H,W", "8"), "N,C,H+2,W+3", values={1: (0, 0, 1, 1, 0, 0, 1, 2)}),
        Case(("N,C,H,W",), "N,C,H+2,W+2", pads=(0, 0, 1, 1, 0, 0, 1, 1), opset=10),
        Case(("N,C,H,W", "4", None, "2"), "N,C,H-1,W+4", values={1: (1, 2, -2, 2), 3: (-2, -1)}, opset=18),
        Case(("N,C,H,W", "8"), "N,C,H+4,W", mode="reflect", values={1: (0, 0, 2, 0, 0, 0, 2, 0)}),
        Case(("3", "2"), "5", values={0: (1, 2, 3), 1: (1, 1)}, value=(0, 1, 2, 3, 0)),
        # known data, axes=[1]: np.pad([[1, 2], [3, 4]], ((0, 0), (1, 1))) = [[0, 1, 2, 0], [0, 3, 4, 0]]
        Case(("2,2", "2", None, "1"), "2,4", values={0: (1, 2, 3, 4), 1: (1, 1), 3: (1,)}, opset=18,
             value=(0, 1, 2, 0, 0, 3, 4, 0)),
        Case(("N,C,2,W", "8"), raises="reflect", mode="reflect", values={1: (0, 0, 2, 0, 0, 0, 0, 0)}),
    ]

    def infer(self, inputs):
        import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
        x = inputs[0]
        r = _rank(self, x)
        mode = self["mode"]
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        pads = self.input_or_attr(inputs, 1, "pads")
        if pads is None:
            self.fail("needs pads")
        axes = self.input_or_attr(inputs, 3, "axes") if self.opset >= 18 else None
        axes = list(range(r)) if axes is None else _axes(self, axes, r)
        k = len(axes)
        if len(pads) != 2 * k:
            self.fail(f"pads {list(pads)} must have 2 x {k} entries")
        pads = [as_expr(p) for p in pads]
        out = list(x.shape)
        rf = [((0, i, None),) for i in range(r)]
        cons = []
        widths = [(ZERO, ZERO)] * r  # sympy zeros: axes the ``axes`` input leaves alone
        for j, a in enumerate(axes):
            d, pb, pe = x.shape[a], pads[j], pads[k + j]
            out[a] = sp.expand(d + pb + pe)
            _at_least(self, out[a], 0, f"Pad output axis {a} must not be negative", cons)
            if mode == "reflect":
                for p in (pb, pe):
                    if p != 0:
                        _at_least(self, d - 1, p, f"reflect pads on axis {a} must be smaller than the dim", cons)
            elif mode == "edge" and (pb != 0 or pe != 0):
                _at_least(self, d, 1, f"edge pads on axis {a} need a non-empty dim", cons)
            rf[a] = ((0, a, Window(ZERO, ONE, -pb)),)
            widths[a] = (pb, pe)
        if mode == "wrap":  # onnxruntime: no empty axis at all, even with zero pads
            for a in range(r):
                _at_least(self, x.shape[a], 1, f"wrap padding needs a non-empty input (axis {a})", cons)
        arr = _array(x)
        res = None
        if arr is not None and mode in _NP_PAD and all(p.is_Integer and p >= 0 for w in widths for p in w) \
                and _concrete(out) is not None and int(np.prod(_concrete(out), dtype=object)) <= VALUE_LIMIT:
            w = [(int(b), int(e)) for b, e in widths]
            if mode == "constant":
                cv = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
                fill = self["value"] if cv is None else (cv.value[0] if cv.value else None)
                if fill is not None:
                    res = np.pad(arr, w, mode="constant", constant_values=as_expr(fill))
            elif arr.size:
                res = np.pad(arr, w, mode=_NP_PAD[mode])
        return Inference([_value(out, x.dtype, res)], rf=[tuple(rf)], constraints=cons)
