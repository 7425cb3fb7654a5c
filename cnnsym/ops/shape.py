"""Shape-manipulating ops: Shape, Size, Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
Concat, Split, and the contents helpers that indexing.py, constants.py and rearrange.py
share.

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
from functools import lru_cache

# numpy is imported inside the few functions that use it: a report whose graph carries no
# known tensor contents never needs it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from ..graph import INT64, Value
from ..receptive import Window
from ..symbolic import ONE, ZERO, as_expr, cdiv, expr_size, fdiv
from . import UNKNOWN_OPERAND, Case, Inference, Op, numel, register
from ._bounds import nonneg, nonzero, positive, zero
from ._witness import refutes_nonneg, refutes_positive, values

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
    import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
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
    import numpy as np  # only for known contents: imported on use (start-up time, issue 12)
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
    kind = "elements" if "element count" in message else "shape"
    if _sometimes_equal(a, b):
        # equal at one admissible point and not at another: a - b is no number, and no
        # sound proof says 0 or never 0 (see ._witness), so its expansion (0.3 s on a Swin
        # view's element count) would settle nothing; the relation below is the answer
        rel = sp.Eq(a, b) if expr_size(a) + expr_size(b) <= 60 else sp.Eq(a, b, evaluate=False)
        if rel is sp.false:
            op.fail(f"{message} ({a} vs {b})", kind=kind, expected=a, got=b)
        if rel is not sp.true:
            cons.append((rel, message))
        return
    diff = sp.expand(a - b)
    if diff == 0:
        return
    if diff.is_number:
        op.fail(f"{message} ({a} vs {b})", kind=kind, expected=a, got=b)
    if zero(diff):  # written differently, provably one value (see ._bounds)
        return
    # sympy's own Eq of floor expressions rewrites them (seconds each on DLA's trees):
    # only where that is cheap; the bounds above settle what matters
    rel = sp.Eq(a, b) if expr_size(a) + expr_size(b) <= 60 else sp.Eq(a, b, evaluate=False)
    if rel is sp.false or nonzero(diff):
        op.fail(f"{message} ({a} vs {b})", kind=kind, expected=a, got=b)
    if rel is not sp.true:
        cons.append((rel, message))


def _sometimes_equal(a, b) -> bool:
    """a == b at one admissible point of the symbols and a != b at another."""
    eq = ne = False
    for x, y in zip(values(a), values(b)):
        if x is not None and y is not None:
            eq, ne = eq or x == y, ne or x != y
    return eq and ne


def _sometimes_below(x, lo) -> bool:
    """x < lo at one admissible point and x - lo takes two values: the difference is no
    number and ``x >= lo`` has no proof."""
    seen, below = set(), False
    for a, b in zip(values(x), values(lo)):
        if a is not None and b is not None:
            seen.add(a - b)
            below = below or a < b
    return below and len(seen) > 1


def _at_least(op, x, lo, message, cons):
    x, lo = as_expr(x), as_expr(lo)
    if _sometimes_below(x, lo):
        cons.append((sp.Ge(x, lo), message))
        return
    diff = sp.expand(x - lo)
    if diff.is_number:
        if diff < 0:
            op.fail(f"{message} (got {x})")
        return
    if _nonneg(diff):
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
    return _max0_of(as_expr(x))


@lru_cache(maxsize=16384)
def _max0_of(x):  # remembered: sympy's Max(x, 0) compares x with 0 through its assumptions
    if _nonneg(x):
        return x
    if _nonneg(-x):
        return ZERO
    return sp.Max(x, 0)


def _clamp(x, lo, hi):
    """min(max(x, lo), hi) for lo <= hi, kept exact where the comparison is provable."""
    return _clamp_of(as_expr(x), as_expr(lo), as_expr(hi))


@lru_cache(maxsize=16384)
def _clamp_of(x, lo, hi):  # remembered, as _max0_of
    d = sp.expand(x - lo)
    if _negative(d):
        return lo
    if not _nonneg(d):
        x = sp.Max(x, lo)
    d = sp.expand(hi - x)
    if _negative(d):
        return hi
    if _nonneg(d):
        return x
    return sp.Min(x, hi)


def _nonneg(d) -> bool:
    """d >= 0 proved: sympy's assumptions, then the bounds that see through a pad to a
    multiple (``6*h - 7*floor(6*h/7)``, see :mod:`._bounds`)."""
    if refutes_nonneg(d):  # negative somewhere: neither sympy nor the bounds can prove it
        return False
    return bool(d.is_nonnegative) or nonneg(d)


def _negative(d) -> bool:
    if refutes_positive(-d):
        return False
    return bool(d.is_negative) or positive(-d)


def _positive(d) -> bool:
    if refutes_positive(d):
        return False
    return bool(d.is_positive) or positive(d)


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
        arr = _array(x)  # numpy is loaded only where contents are known (start-up time, issue 12)
        res = arr.transpose(perm) if arr is not None else None
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
        res = None
        if all(x is not None for x in arrs):  # numpy is loaded only where contents are known
            import numpy as np  # (start-up time, issue 12: 0.09 s when no content is known)
            res = np.concatenate(arrs, axis=a)
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
            if arr is not None and s.is_Integer and off.is_Integer:  # numpy is loaded (by _array)
                res = arr.take(range(int(off), int(off + s)), axis=a)
            outs.append(_value(shape, x.dtype, res))
            rfs.append(tuple(((0, i, Window(ZERO, ONE, off) if i == a else None),) for i in range(r)))
            off = off + s
        return Inference(outs, rf=rfs, constraints=cons)
