"""Numpy (multidirectional) broadcasting of symbolic shapes.

https://onnx.ai/onnx/repo-docs/Broadcasting.html: shapes align at the right; each axis is
1 in all but one input, or equal. Two symbolic dims ``a``, ``b`` that may differ must be
equal or one of them 1 at the sizes used (onnxruntime's rule), and the result is chosen so
that it is exact on that valid domain and does not grow when branches are joined again and
again (HRNet, BiFPN, U-Net skips after resizing):

- ``b`` provably >= 2 (an upsampled branch, ``2*ceil(H/8)``): ``b`` is never the 1 that
  broadcasts, so on the valid domain (``a = b`` or ``a = 1``) the result is ``b`` itself:
  constraint ``(a - b)(a - 1) = 0``, result ``b``;
- both provably >= 2: constraint ``a = b``, result the smaller expression of the two (equal
  wherever the graph runs);
- neither provably >= 2 (both may be the broadcast 1): constraint ``(a - b)(a - 1)(b - 1) =
  0``, result ``max(a, b)`` (times ``min(1, a, b)``, which is 1 unless a dim can be 0).

"Provably >= 2" is a cheap sufficient test (``lower_bound``): a lower bound from the dims'
positivity through sums, positive products, floor, ceiling, Max and Min. Dims that are never
equal (``L`` vs ``3L``): constraint ``(a - 1)(b - 1) = 0``, result ``a + b - 1``.
Every input whose dim agrees with the result on the valid domain passes its receptive field
through unchanged; a 1 broadcast over the output gives jump 0 (``BROADCAST``).
"""
from __future__ import annotations

import sympy as sp

from ..receptive import Window
from ..symbolic import ONE, ZERO, expr_size

BROADCAST = Window(ZERO, ZERO, ZERO)


def broadcast(op, shapes):
    """(output shape, constraints, rf) for inputs whose shapes broadcast together."""
    rank = max(len(s) for s in shapes)
    out, cons, rf = [], [], []
    for i in range(rank):
        dims = []
        for idx, s in enumerate(shapes):
            j = i - (rank - len(s))
            if j >= 0:
                dims.append((idx, j, s[j]))
        non1 = [d for d in dims if d[2] != ONE]
        agree = set()
        if not non1:
            out.append(ONE)
        else:
            first = non1[0][2]
            for _, _, d in non1[1:]:
                if d == first:
                    continue
                eq = sp.Eq(d, first)
                if eq is sp.true:
                    continue
                if eq is sp.false:
                    if d.is_number and first.is_number:
                        op.fail(f"shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast (axis {i}: {first} vs {d})",
                                kind="broadcast", expected=first, got=d)
                    # never equal: valid only where one of them is 1, and then the
                    # result is the other one, first + d - 1
                    rel = sp.Eq(sp.expand((first - 1) * (d - 1)), 0)
                    if rel is sp.false:
                        op.fail(f"axis {i}: {first} and {d} are never equal and never 1")
                    cons.append((rel, f"{op.op_type} inputs differ on axis {i} ({first} vs {d}): one must be 1"))
                    first = sp.expand(first + d - 1)
                    continue
                # equal or one of them 1 (see the module docstring for the result)
                big_first, big_d = _at_least_two(first), _at_least_two(d)
                if big_first and big_d:
                    cons.append((eq, f"{op.op_type} inputs must agree on axis {i} ({first} vs {d})"))
                    if expr_size(d) < expr_size(first):
                        first = d
                elif big_first or big_d:
                    small, first = (d, first) if big_first else (first, d)
                    cons.append((sp.Eq((small - first) * (small - 1), 0),
                                 f"{op.op_type} inputs must agree on axis {i} ({small} vs {first}) or the first be 1"))
                else:
                    cons.append((sp.Eq((first - d) * (first - 1) * (d - 1), 0),
                                 f"{op.op_type} inputs must agree on axis {i} ({first} vs {d}) or one be 1"))
                    first = sp.Max(first, d) * sp.Min(1, first, d)
                agree.add(d)
                agree.add(non1[0][2])
            out.append(first)
        # an axis of extent 1 broadcast over the output (a pooled branch expanded back over
        # the map) gives every output unit its one unit's field: jump 0; a dim constrained
        # to equal the result maps through unchanged
        rf.append(tuple((idx, j, None if d == out[-1] or d in agree or len(dims) == 1 else BROADCAST)
                        for idx, j, d in dims if d == out[-1] or d in agree or len(dims) == 1 or d == ONE) or None)
    return tuple(out), cons, tuple(rf)


def _at_least_two(e) -> bool:
    lb = lower_bound(e)
    return lb is not None and lb >= 2


def lower_bound(e):
    """A number <= e for every value of its symbols (dims are positive integers), or None:
    cheap structural bounds, no solving."""
    if e.is_Number:
        return e
    if e.is_Symbol:
        if e.is_integer and e.is_positive:
            return ONE
        return ZERO if e.is_nonnegative else None
    if isinstance(e, (sp.floor, sp.ceiling)):
        lb = lower_bound(e.args[0])
        return None if lb is None else (sp.floor(lb) if isinstance(e, sp.floor) else sp.ceiling(lb))
    if e.is_Add:
        total = ZERO
        for t in e.args:
            lb = lower_bound(t)
            if lb is None:
                return None
            total += lb
        return total
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff < 0:
            return None
        total = coeff
        for f in sp.Mul.make_args(rest):
            lb = lower_bound(f)
            if lb is None or lb < 0:
                return None
            total *= lb
        return total
    if isinstance(e, sp.Max):
        lbs = [b for b in map(lower_bound, e.args) if b is not None]
        return max(lbs) if lbs else None
    if isinstance(e, sp.Min):
        lbs = [lower_bound(a) for a in e.args]
        return None if any(b is None for b in lbs) else min(lbs)
    return None
