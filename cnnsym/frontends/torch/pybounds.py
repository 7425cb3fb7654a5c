"""``max``/``min`` of size expressions settled where an order is provable for every input
size: ``max((ceil(H / 2) - 1) * 2 + k - H, 0)`` (timm's and TensorFlow's 'same' padding)
is the first operand for every positive integer H when k >= 2, so the padding stays a
small expression instead of a ``Max`` that grows through every layer.

The proof is interval arithmetic on the difference of two operands: ``ceiling(u)`` lies in
``[u, u + 1]`` and ``floor(u)`` in ``[u - 1, u]`` (each bound chosen by the sign of its
coefficient), outermost ones first, one nesting level at a time (an inner ``ceiling(H/2)``
that also appears on its own then cancels exactly); everything else stays as it is and
sympy decides the sign of the bound under the symbols' assumptions (sizes are positive
integers). An operand is dropped only when
another one is proved at least as large (max) or at least as small (min) for all sizes;
otherwise the ``Max``/``Min`` is kept, exact as before."""
from __future__ import annotations

import sympy as sp

from .registry import OPS

MAX_TERMS = 64  # operands' size beyond which no proof is tried (the Max is kept)
MAX_LEVELS = 6  # nesting levels of ceiling/floor bounded before giving up


def _bound(e, lower: bool, only):
    """A lower (or upper) bound of ``e``, valid for every value of its symbols: the
    ceiling/floor terms in ``only`` are replaced by their bounds, the rest kept exact."""
    if e.is_Add:
        return sp.Add(*[_bound(t, lower, only) for t in e.args])
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff.is_number and coeff != 1:
            return coeff * _bound(rest, lower if coeff > 0 else not lower, only)
        return e
    if e in only and isinstance(e, sp.ceiling):
        u = e.args[0]
        return u if lower else u + 1
    if e in only and isinstance(e, sp.floor):
        u = e.args[0]
        return u - 1 if lower else u
    return e


def _outermost(d):
    """The ceiling/floor terms of ``d`` that no other one holds in its argument: bounding
    those first keeps an inner ``ceiling(H/2)`` exact where it appears twice."""
    atoms = [a for a in d.atoms(sp.ceiling, sp.floor)]
    return {a for a in atoms if not any(b is not a and b.args[0].has(a) for b in atoms)}


def _at_least(a, b) -> bool:
    """a >= b for every value of the symbols (proved), else False (not known)."""
    d = sp.expand(a - b)
    if d.is_number:
        return bool(d >= 0)
    if sp.count_ops(d) > MAX_TERMS:
        return False
    for _ in range(MAX_LEVELS):  # one nesting level of ceilings/floors bounded per step
        if d.is_nonnegative is True:
            return True
        outer = _outermost(d)
        if not outer:
            return False
        d = sp.expand(_bound(d, True, outer))
        if d.is_number:
            return bool(d >= 0)
    return False


@OPS.register()
def settle_minmax(vals, is_max: bool):
    """The operands of max (is_max) or min left after dropping each one another operand
    provably dominates; the order of the rest is kept."""
    vals = list(vals)
    if len(vals) < 2 or not all(isinstance(v, sp.Expr) for v in vals):
        return vals
    out = []
    for i, v in enumerate(vals):
        dominated = False
        for j, w in enumerate(vals):
            if i == j:
                continue
            # w dominates v: max -> w >= v; min -> w <= v (ties keep the earlier operand)
            ge = _at_least(w, v) if is_max else _at_least(v, w)
            if ge and (j < i or not (_at_least(v, w) if is_max else _at_least(w, v))):
                dominated = True
                break
        if not dominated:
            out.append(v)
    return out or vals[:1]
