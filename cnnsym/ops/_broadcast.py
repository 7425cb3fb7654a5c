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

"Provably >= 2" is a cheap sufficient test (:func:`._bounds.at_least`: interval arithmetic
from the dims' positivity that sees through a pad to a window multiple). Dims that are never
equal (``L`` vs ``3L``): constraint ``(a - 1)(b - 1) = 0``, result ``a + b - 1``. Dims written
differently but provably equal (``h`` and ``7*h - 7*floor(6*h/7) - Mod(-h, 7)``, Swin's
padded-then-sliced map against its shortcut) need no constraint and give the shorter one;
a dim provably 1 broadcasts like the literal 1; ``min(1, a, b)`` is left out where both are
provably >= 1. Without these each residual block nested the last one's Max/Min.
Every input whose dim agrees with the result on the valid domain passes its receptive field
through unchanged; a 1 broadcast over the output gives jump 0 (``BROADCAST``).
"""
from __future__ import annotations

import sympy as sp

from ..receptive import Window
from ..symbolic import ONE, ZERO, expr_size
from ._bounds import at_least, differ, equal

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
        ones = {d for _, _, d in dims if _is_one(d)}
        non1 = [t for t in dims if t[2] not in ones]
        agree = set()
        if not non1:
            out.append(ONE)
        else:
            first = non1[0][2]
            for _, _, d in non1[1:]:
                if d == first:
                    continue
                eq = _eq(d, first)
                same = eq is sp.true or equal(d, first)
                if same:
                    if expr_size(d) < expr_size(first):
                        first = d
                    agree.add(d)
                    agree.add(non1[0][2])
                    continue
                if eq is sp.false or differ(d, first):
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
                agree.add(d)
                agree.add(non1[0][2])
                # equal or one of them 1 (see the module docstring for the result)
                big_first, big_d = _at_least_two(first), _at_least_two(d)
                if big_first and big_d:
                    cons.append((eq, f"{op.op_type} inputs must agree on axis {i} ({first} vs {d})"))
                    if expr_size(d) < expr_size(first):
                        first = d
                elif big_first or big_d:
                    small, first = (d, first) if big_first else (first, d)
                    cons.append((_eq((small - first) * (small - 1), ZERO),
                                 f"{op.op_type} inputs must agree on axis {i} ({small} vs {first}) or the first be 1"))
                else:
                    cons.append((_eq((first - d) * (first - 1) * (d - 1), ZERO),
                                 f"{op.op_type} inputs must agree on axis {i} ({first} vs {d}) or one be 1"))
                    # max(a, b) is the one provably not smaller, min(1, a, b) leaves out
                    # what is provably >= 1 (all of it: 1)
                    low = [x for x in (first, d) if not at_least(x, 1)]
                    first = d if at_least(d, first) else first if at_least(first, d) else sp.Max(first, d, evaluate=False)
                    if low:
                        first = first * sp.Min(1, *low, evaluate=False)
            out.append(first)
        # an axis of extent 1 broadcast over the output (a pooled branch expanded back over
        # the map) gives every output unit its one unit's field: jump 0; a dim constrained
        # to equal the result maps through unchanged
        rf.append(tuple((idx, j, None if d == out[-1] or d in agree or len(dims) == 1 or (d in ones and out[-1] == ONE)
                         else BROADCAST)
                        for idx, j, d in dims if d == out[-1] or d in agree or len(dims) == 1 or d in ones) or None)
    return tuple(out), cons, tuple(rf)


def _eq(a, b):
    """Eq(a, b), evaluated by sympy only where that is cheap: sympy's own test of two floor
    expressions rewrites them (seconds each on DLA's trees, issue 12); the bounds settle
    the equal and never-equal cases that matter, the rest is a relation for the domain."""
    return sp.Eq(a, b) if expr_size(a) + expr_size(b) <= _EVAL_SIZE else sp.Eq(a, b, evaluate=False)


_EVAL_SIZE = 60


def _is_one(d) -> bool:
    """d is 1 (literally, or provably: a dim written as an expression that is always 1)."""
    if d == ONE:
        return True
    return not d.is_number and equal(d, ONE)


def _at_least_two(e) -> bool:
    return at_least(e, 2)
