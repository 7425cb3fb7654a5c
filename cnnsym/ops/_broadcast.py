"""Numpy (multidirectional) broadcasting of symbolic shapes.

https://onnx.ai/onnx/repo-docs/Broadcasting.html: shapes align at the right; each axis is
1 in all but one input, or equal. Two different symbolic dims must be equal (a constraint),
unless one is 1.
"""
from __future__ import annotations

import sympy as sp

from ..symbolic import ONE


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
                if eq is sp.false:
                    if d.is_number and first.is_number:
                        op.fail(f"shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast (axis {i}: {first} vs {d})")
                    continue
                if eq is not sp.true:
                    cons.append((eq, f"{op.op_type} inputs must agree on axis {i} ({first} vs {d})"))
            out.append(first)
        rf.append(tuple((idx, j, None) for idx, j, d in dims if d == out[-1] or len(dims) == 1) or None)
    return tuple(out), cons, tuple(rf)
