"""Numpy (multidirectional) broadcasting of symbolic shapes.

https://onnx.ai/onnx/repo-docs/Broadcasting.html: shapes align at the right; each axis is
1 in all but one input, or equal. Two symbolic dims ``a``, ``b`` that may differ must be
equal or one of them 1 at the sizes used: constraint ``(a - b)(a - 1)(b - 1) = 0``, result
``max(a, b)`` (times ``min(1, a, b)``, which is 1 unless a dim can be 0). Dims that are never
equal (``L`` vs ``3L``): constraint ``(a - 1)(b - 1) = 0``, result ``a + b - 1``.
"""
from __future__ import annotations

import sympy as sp

from ..receptive import Window
from ..symbolic import ONE, ZERO

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
                # equal or one of them 1; the result is the larger one (0 if either is 0)
                cons.append((sp.Eq((first - d) * (first - 1) * (d - 1), 0),
                             f"{op.op_type} inputs must agree on axis {i} ({first} vs {d}) or one be 1"))
                first = sp.Max(first, d) * sp.Min(1, first, d)
            out.append(first)
        # an axis of extent 1 broadcast over the output (a pooled branch expanded back over
        # the map) gives every output unit its one unit's field: jump 0
        rf.append(tuple((idx, j, None if d == out[-1] or len(dims) == 1 else BROADCAST)
                        for idx, j, d in dims if d == out[-1] or len(dims) == 1 or d == ONE) or None)
    return tuple(out), cons, tuple(rf)
