"""Shape-manipulating ops: views, indexing, padding, constants, casts.

These carry no cost terms. What matters is that their known contents propagate: exporters
compute view/flatten targets as ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``
(TorchScript) or ``Shape(start, end) -> Squeeze -> Div/Mul/Add -> Concat -> Reshape``
(dynamo), so every op here that moves elements around also moves ``Value.value`` when the
result is small (at most ``VALUE_LIMIT`` elements) and its shape is concrete. Reshape then
sees exact closed forms such as ``(N, 2, 24, floor((H + 7)/8), ...)``.

Receptive fields pass through where spatial axes survive: views permute or remap axes,
Slice and Pad shift them, Split shifts each chunk, Reshape/Flatten keep the trailing axes
their input and output share (row-major order leaves those coordinates unchanged).
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp

from ..graph import BOOL, FLOAT, FLOAT_TYPES, INT64, Initializer, Value
from ..receptive import Window
from ..symbolic import ONE, ZERO, as_expr, cdiv, fdiv
from . import UNKNOWN_OPERAND, Case, Inference, Op, numel, register, same_rf
from ._broadcast import broadcast

VALUE_LIMIT = 1024
# an index of this magnitude means "to the end" / "from the start" (exporters pass
# INT64_MAX and INT64_MIN); dims are never this large
BIG = 2**31 - 1
INT64_MAX = 2**63 - 1


# contents ---------------------------------------------------------------------------
def _concrete(shape):
    """The shape as ints, or None if any dim is symbolic."""
    if shape is None:
        return None
    out = []
    for d in shape:
        d = as_expr(d)
        if not d.is_Integer:
            return None
        out.append(int(d))
    return tuple(out)


def _array(v):
    """``v``'s known contents as a numpy object array of its shape, or None."""
    if v is None or v.value is None:
        return None
    dims = _concrete(v.shape)
    if dims is None or int(np.prod(dims, dtype=object)) != len(v.value):
        return None
    a = np.empty(len(v.value), dtype=object)
    for i, x in enumerate(v.value):
        a[i] = as_expr(x)
    return a.reshape(dims)


def _contents(a):
    if a is None:
        return None
    a = np.asarray(a, dtype=object)
    if a.size > VALUE_LIMIT:
        return None
    return tuple(as_expr(x) for x in a.reshape(-1))


def _value(shape, dtype, arr=None) -> Value:
    return Value(tuple(as_expr(d) for d in shape), dtype, _contents(arr))


def _int(op, x, what):
    x = as_expr(x)
    if not x.is_number:
        op.fail(f"{what} must be a known integer, got {x}")
    if not x.is_integer:
        op.fail(f"{what} must be an integer, got {x}")
    return int(x)


def _axis(op, axis, rank, what="axis"):
    a = _int(op, axis, what)
    if not -rank <= a < rank:
        op.fail(f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def _axes(op, axes, rank, what="axes"):
    out = [_axis(op, a, rank, what) for a in axes]
    if len(set(out)) != len(out):
        op.fail(f"{what} {list(axes)} repeat an axis")
    return out


def _scalar(op, v: Value, what):
    """The single known element of a scalar or one-element tensor."""
    if v is None or v.value is None:
        op.fail(f"{what} must be a known constant to derive shapes", kind="" if v is None else UNKNOWN_OPERAND)
    if len(v.value) != 1:
        op.fail(f"{what} must have one element, got {len(v.value)}")
    return as_expr(v.value[0])


def _rank(op, v: Value, what="input"):
    if v is None or v.shape is None:
        op.fail(f"{what} rank unknown")
    return len(v.shape)


# constraints ------------------------------------------------------------------------
def _equal(op, a, b, message, cons):
    """Require a == b: nothing when provably so, fail when provably not, else a constraint."""
    a, b = as_expr(a), as_expr(b)
    if a == b:
        return
    diff = sp.expand(a - b)
    if diff == 0:
        return
    kind = "elements" if "element count" in message else "shape"
    if diff.is_number:
        op.fail(f"{message} ({a} vs {b})", kind=kind, expected=a, got=b)
    rel = sp.Eq(a, b)
    if rel is sp.false:
        op.fail(f"{message} ({a} vs {b})", kind=kind, expected=a, got=b)
    if rel is not sp.true:
        cons.append((rel, message))


def _at_least(op, x, lo, message, cons):
    x, lo = as_expr(x), as_expr(lo)
    diff = sp.expand(x - lo)
    if diff.is_number:
        if diff < 0:
            op.fail(f"{message} (got {x})")
        return
    if diff.is_nonnegative:
        return
    cons.append((sp.Ge(x, lo), message))


def _divides(op, n, d, message, cons):
    """floor(d/n) with the constraint that n divides d."""
    q = fdiv(d, n)
    _equal(op, d, n * q, message, cons)
    return q


def _exact_div(a, b):
    """a/b for integer-valued a, b whose quotient is an integer: the cancelled quotient if it
    is a polynomial, else its floor."""
    a, b = as_expr(a), as_expr(b)
    q = sp.cancel(a / b)
    num, den = sp.fraction(sp.together(q))  # together: cancel may leave a sum of fractions
    if den == 1:
        return q
    if den.is_Integer and den > 0:
        return fdiv(num, den)
    return sp.floor(q)


def _max0(x):
    """max(x, 0), kept exact where the sign is provable."""
    x = as_expr(x)
    if x.is_nonnegative:
        return x
    if x.is_negative:
        return ZERO
    return sp.Max(x, 0)


def _clamp(x, lo, hi):
    """min(max(x, lo), hi) for lo <= hi, kept exact where the comparison is provable."""
    x, lo, hi = as_expr(x), as_expr(lo), as_expr(hi)
    d = sp.expand(x - lo)
    if d.is_negative:
        return lo
    if not d.is_nonnegative:
        x = sp.Max(x, lo)
    d = sp.expand(hi - x)
    if d.is_negative:
        return hi
    if d.is_nonnegative:
        return x
    return sp.Min(x, hi)


# receptive fields ---------------------------------------------------------------------
def _map_rf(sources, src=0):
    """Output axis i takes input ``src`` axis sources[i] (None: no spatial meaning)."""
    return tuple(None if a is None else ((src, a, None),) for a in sources)


def _suffix_rf(in_shape, out_shape):
    """Trailing axes a reshape leaves alone keep their field (row-major coordinates of a
    shared suffix are unchanged when the element count is)."""
    spec = [None] * len(out_shape)
    i, j = len(in_shape) - 1, len(out_shape) - 1
    while i >= 0 and j >= 0 and as_expr(in_shape[i]) == as_expr(out_shape[j]):
        spec[j] = ((0, i, None),)
        i, j = i - 1, j - 1
    return tuple(spec)


def _safe(name):
    return re.sub(r"\W", "_", str(name))


# ops ---------------------------------------------------------------------------------
@register
class Shape(Op):
    """Y = shape(X)[start:end], int64 of length end - start (negative start/end count from
    the back, both clamped to [0, rank]). Contents: the dims themselves.
    https://onnx.ai/onnx/operators/onnx__Shape.html"""

    op_type = "Shape"
    attributes = {"start": 0, "end": None}
    examples = [
        Case(("N,C,H,W",), "4", value=("N", "C", "H", "W")),
        Case(("N,C,H,W",), "2", start=2, value=("H", "W")),
        Case(("N,C,H,W",), "1", start=-2, end=-1, value=("H",)),
        Case(("N,C,H,W",), "0", start=3, end=1, value=()),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)

        def clip(i):
            i = _int(self, i, "start/end")
            return min(max(i + r if i < 0 else i, 0), r)

        s = clip(self["start"])
        e = r if self["end"] is None else clip(self["end"])
        dims = tuple(x.shape[s:e]) if e > s else ()
        return Inference([Value((as_expr(len(dims)),), INT64, dims)])


@register
class Size(Op):
    """Y = numel(X), an int64 scalar. https://onnx.ai/onnx/operators/onnx__Size.html"""

    op_type = "Size"
    examples = [Case(("N,C,H,W",), "", value=("N*C*H*W",))]

    def infer(self, inputs):
        _rank(self, inputs[0])
        return Inference([Value((), INT64, (numel(inputs[0].shape),))])


@register
class Reshape(Op):
    """Y = X viewed as ``shape``: an entry 0 copies X's dim at that index (unless
    allowzero=1, where 0 is a zero dim), one entry -1 is inferred as numel(X) / prod(other
    entries). Constraint: numel(Y) = numel(X). Receptive fields survive on the trailing
    axes X and Y share. https://onnx.ai/onnx/operators/onnx__Reshape.html"""

    op_type = "Reshape"
    attributes = {"allowzero": 0, "shape": None}
    examples = [
        Case(("N,C,H,W", "2"), "N,C*H*W", values={1: (0, -1)}),
        Case(("N,48,H,W", "5"), "N,2,24,H,W", values={1: ("N", 2, 24, "H", "W")}),
        Case(("N,C,H,W", "3"), "N,2,floor(C*H*W/2)", values={1: (0, 2, -1)}),
        Case(("2,3,4", "2"), "6,4", values={1: (-1, 4)}),
        Case(("2,3,4", "2"), "0,24", values={1: (0, 24)}, raises="element count"),
        Case(("2,3,4", "2"), "4,6", values={1: (-1, -1)}, raises="-1"),
        Case(("3", "2"), "1,3", values={0: ("H", "W", 1), 1: (1, 3)}, value=("H", "W", 1)),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        target = self.input_or_attr(inputs, 1, "shape")
        if target is None:
            self.fail("needs a shape")
        out, infer_at, cons = [], None, []
        for i, t in enumerate(target):
            t = as_expr(t)
            if t == -1:
                if infer_at is not None:
                    self.fail(f"shape {list(target)} has more than one -1")
                infer_at = i
                out.append(None)
            elif t == 0 and not self["allowzero"]:
                if i >= r:
                    self.fail(f"shape entry {i} is 0 (copy) but the input has rank {r}")
                out.append(x.shape[i])
            elif t.is_number and t < 0:
                self.fail(f"shape entry {t} is invalid")
            else:
                if not t.is_number and not self["allowzero"]:
                    _at_least(self, t, 1, f"Reshape target entry {i} ({t}) must be >= 1: 0 would copy the input dim", cons)
                out.append(t)
        n_in = numel(x.shape)
        if infer_at is not None:
            known = sp.Mul(*[d for d in out if d is not None])
            if known == 0:
                self.fail("cannot infer -1 next to a zero dim")
            out[infer_at] = _exact_div(n_in, known)
        _equal(self, numel(out), n_in, "Reshape must preserve the element count", cons)
        arr = _array(x)
        dims = _concrete(out)
        res = arr.reshape(dims) if arr is not None and dims is not None else None
        return Inference([_value(out, x.dtype, res)], rf=[_suffix_rf(x.shape, out)], constraints=cons)


@register
class Flatten(Op):
    """Y = X as (prod(dims[:axis]), prod(dims[axis:])), axis in [-r, r].
    https://onnx.ai/onnx/operators/onnx__Flatten.html"""

    op_type = "Flatten"
    attributes = {"axis": 1}
    examples = [
        Case(("N,C,H,W",), "N,C*H*W"),
        Case(("N,C,H,W",), "N*C*H,W", axis=-1),
        Case(("N,C,H,W",), "1,N*C*H*W", axis=0),
        Case(("N,C,H,W",), "N*C*H*W,1", axis=4),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        a = _int(self, self["axis"], "axis")
        if not -r <= a <= r:
            self.fail(f"axis {a} is out of range for rank {r}")
        a = a + r if a < 0 else a
        out = (numel(x.shape[:a]), numel(x.shape[a:]))
        arr = _array(x)
        res = arr.reshape(_concrete(out)) if arr is not None else None
        return Inference([_value(out, x.dtype, res)], rf=[_suffix_rf(x.shape, out)])


@register
class Transpose(Op):
    """Y axis i = X axis perm[i] (default: reversed).
    https://onnx.ai/onnx/operators/onnx__Transpose.html"""

    op_type = "Transpose"
    attributes = {"perm": None}
    examples = [
        Case(("N,C,H,W",), "N,H,W,C", perm=(0, 2, 3, 1)),
        Case(("A,B,C",), "C,B,A"),
        Case(("N,C,H,W",), raises="permutation", perm=(0, 1, 1, 2)),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        perm = self["perm"]
        perm = list(range(r - 1, -1, -1)) if perm is None else [_int(self, p, "perm") for p in perm]
        if sorted(perm) != list(range(r)):
            self.fail(f"perm {perm} is not a permutation of {r} axes")
        out = tuple(x.shape[p] for p in perm)
        arr = _array(x)
        res = np.transpose(arr, perm) if arr is not None else None
        return Inference([_value(out, x.dtype, res)], rf=[_map_rf(perm)])


@register
class Squeeze(Op):
    """Y = X without the listed axes (each must be 1); with no axes, without every dim
    that is the literal 1. A symbolic dim is kept, with the constraint that it is not 1
    (at 1, onnxruntime would drop it). axes: attribute before opset 13, input from 13.
    https://onnx.ai/onnx/operators/onnx__Squeeze.html"""

    op_type = "Squeeze"
    attributes = {"axes": None}
    examples = [
        Case(("N,1,H,1",), "N,H", axes=(1, -1), opset=11),
        Case(("N,1,H,1", "1"), "N,1,H", values={1: (-1,)}, opset=13),
        Case(("1",), "", values={0: ("H",)}, value=("H",)),
        Case(("N,1,H,1",), "N,H"),
        Case(("N,2,H",), raises="must be 1", axes=(1,), opset=11),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        axes = self.input_or_attr(inputs, 1, "axes")
        cons = []
        if not axes:  # absent or empty: every dim that is 1
            drop = []
            for i, d in enumerate(x.shape):
                if d == ONE:
                    drop.append(i)
                elif not d.is_number:
                    _at_least(self, d, 2, f"Squeeze without axes keeps symbolic axis {i} ({d}), which must not be 1", cons)
        else:
            drop = _axes(self, axes, r)
            for a in drop:
                _equal(self, x.shape[a], 1, f"squeezed axis {a} must be 1", cons)
        keep = [i for i in range(r) if i not in drop]
        out = tuple(x.shape[i] for i in keep)
        arr = _array(x)
        res = arr.reshape(_concrete(out)) if arr is not None else None
        return Inference([_value(out, x.dtype, res)], rf=[_map_rf(keep)], constraints=cons)


@register
class Unsqueeze(Op):
    """Y = X with a 1 inserted at each of ``axes`` (indices of Y, negative ones counted
    from Y's rank r + len(axes)). axes: attribute before opset 13, input from 13.
    https://onnx.ai/onnx/operators/onnx__Unsqueeze.html"""

    op_type = "Unsqueeze"
    attributes = {"axes": None}
    examples = [
        Case(("N,C",), "N,C,1,1", axes=(2, 3), opset=11),
        Case(("N,C", "2"), "1,N,C,1", values={1: (0, -1)}, opset=13),
        Case(("",), "1", values={0: ("H",)}, value=("H",), axes=(0,), opset=11),
        Case(("N,C",), raises="repeat", axes=(1, 1), opset=11),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        axes = self.input_or_attr(inputs, 1, "axes")
        if axes is None:
            self.fail("needs axes")
        out_r = r + len(axes)
        ins = set(_axes(self, axes, out_r))
        out, src, k = [], [], 0
        for i in range(out_r):
            if i in ins:
                out.append(ONE)
                src.append(None)
            else:
                out.append(x.shape[k])
                src.append(k)
                k += 1
        arr = _array(x)
        res = arr.reshape(_concrete(out)) if arr is not None else None
        return Inference([_value(out, x.dtype, res)], rf=[_map_rf(src)])


@register
class Concat(Op):
    """Y = inputs joined along ``axis``: that dim is their sum, every other dim must agree
    (constraint). Receptive fields of all inputs join on the other axes.
    https://onnx.ai/onnx/operators/onnx__Concat.html"""

    op_type = "Concat"
    attributes = {"axis": None}
    examples = [
        Case(("N,C,H,W", "N,D,H,W"), "N,C+D,H,W", axis=1),
        Case(("1", "1", "2"), "4", axis=0, values={0: ("N",), 1: (2,), 2: ("H", "W")}, value=("N", 2, "H", "W")),
        Case(("N,3,H", "N,3,H"), "N,3,2*H", axis=-1),
        Case(("N,3,4", "N,3,5"), raises="agree", axis=1),
    ]

    def infer(self, inputs):
        xs = [v for v in inputs if v is not None]
        if not xs:
            self.fail("needs at least one input")
        r = _rank(self, xs[0])
        if self["axis"] is None:
            self.fail("needs an axis")
        a = _axis(self, self["axis"], r)
        cons = []
        for k, v in enumerate(xs[1:], start=1):
            if _rank(self, v) != r:
                self.fail(f"input {k} has rank {len(v.shape)}, input 0 has rank {r}")
            for i in range(r):
                if i != a:
                    _equal(self, v.shape[i], xs[0].shape[i], f"Concat inputs must agree on axis {i}", cons)
        out = list(xs[0].shape)
        out[a] = sp.Add(*[v.shape[a] for v in xs])
        arrs = [_array(v) for v in xs]
        res = np.concatenate(arrs, axis=a) if all(x is not None for x in arrs) else None
        idx = [i for i, v in enumerate(inputs) if v is not None]
        rf = tuple(None if i == a else tuple((k, i, None) for k in idx) for i in range(r))
        return Inference([_value(out, xs[0].dtype, res)], rf=[rf], constraints=cons)


@register
class Split(Op):
    """Y_i = X[..., o_i : o_i + s_i, ...] along ``axis``: sizes ``split`` (attribute before
    opset 13, input from 13; their sum must be the dim), else equal parts, one per output,
    of d/n (n must divide d); opset 18's ``num_outputs`` gives ceil(d/n) each and the
    rest to the last. https://onnx.ai/onnx/operators/onnx__Split.html"""

    op_type = "Split"
    attributes = {"axis": 0, "split": None, "num_outputs": None}
    examples = [
        Case(("N,C,H,W", "2"), ("N,16,H,W", "N,C-16,H,W"), axis=1, values={1: (16, "C-16")}, opset=13),
        Case(("N,48,H,W",), ("N,24,H,W", "N,24,H,W"), axis=1, num_outputs=2, opset=18),
        Case(("N,C,H,W",), ("N,C,ceiling(H/3),W", "N,C,ceiling(H/3),W", "N,C,H-2*ceiling(H/3),W"),
             axis=2, num_outputs=3, opset=18),
        Case(("N,6,L",), ("N,1,L", "N,5,L"), axis=1, split=(1, 5), opset=11),
        Case(("N,6,L",), raises="sum", axis=1, split=(1, 4), opset=11),
    ]

    def infer(self, inputs):
        x = inputs[0]
        r = _rank(self, x)
        a = _axis(self, self["axis"], r)
        d = x.shape[a]
        sizes = self.input_or_attr(inputs, 1, "split")
        cons = []
        if sizes is not None:
            sizes = [as_expr(s) for s in sizes]
            _equal(self, sp.Add(*sizes), d, f"split sizes must sum to axis {a}'s dim", cons)
        else:
            n = self["num_outputs"]
            if n is None:
                if self.node is None:
                    self.fail("needs split sizes, num_outputs or a node with outputs")
                n = len(self.node.outputs)
            n = _int(self, n, "num_outputs")
            if n < 1:
                self.fail(f"num_outputs {n} must be >= 1")
            if self["num_outputs"] is not None and self.opset >= 18:
                chunk = cdiv(d, n)
                sizes = [chunk] * (n - 1) + [sp.expand(d - (n - 1) * chunk)]
                _at_least(self, sizes[-1], 0, f"Split of axis {a} into {n} parts leaves a negative last part", cons)
            else:
                q = _divides(self, n, d, f"Split into {n} equal parts: {n} must divide axis {a}'s dim", cons)
                sizes = [q] * n
        outs, rfs, off = [], [], ZERO
        arr = _array(x)
        for s in sizes:
            if s.is_number and s < 0:
                self.fail(f"split size {s} is negative")
            shape = list(x.shape)
            shape[a] = s
            res = None
            if arr is not None and s.is_Integer and off.is_Integer:
                res = np.take(arr, range(int(off), int(off + s)), axis=a)
            outs.append(_value(shape, x.dtype, res))
            rfs.append(tuple(((0, i, Window(ZERO, ONE, off) if i == a else None),) for i in range(r)))
            off = off + s
        return Inference(outs, rf=rfs, constraints=cons)


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
        elif not (i.is_negative or i.is_nonnegative):
            cons.append((sp.Ge(i, 0), f"Slice index {i} is taken as non-negative"))
        i = d + i if i.is_negative else i
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
        n = n * sp.Min(1, d) if not as_expr(d).is_positive else n
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
