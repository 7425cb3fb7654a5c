"""Refutation by exact evaluation: the cheap "no" in front of the proofs of :mod:`._bounds`.

A statement about sizes (``e >= 0``, ``e > 0``, ``e == 0``, ``e != 0``) that is false at one
admissible value of the symbols has no proof: a sound prover cannot prove it, so asking the
prover (interval arithmetic after expanding nested floors, up to 64 residue cases, and
sympy's own assumptions before it) is wasted work with a known answer, "don't know". Most of
what the ops ask is of that kind (is this dim 1? is this slice index non-negative? is
``H - 7 >= 0``?), and the proofs cost milliseconds on Swin's nested floor/Max/Min sizes.

:func:`values` evaluates an expression exactly (Python integers and Fractions, no sympy
arithmetic) at a few fixed points, memoised per sub-expression, so the shared sub-trees of a
size are evaluated once. A point gives each symbol a value its assumptions allow: a dim
(positive integer) any integer >= 1, a nonnegative integer symbol any integer >= 0; an
expression with any other symbol, or any operation not listed below, has no values (None)
and nothing is refuted. Only a refutation is drawn from the values, never a proof.
"""
from __future__ import annotations

import math
import zlib
from fractions import Fraction
from functools import lru_cache

import sympy as sp

_POSITIVE_INT = sp.Symbol("x", integer=True, positive=True).assumptions0
_NONNEG_INT = sp.Symbol("x", integer=True, nonnegative=True).assumptions0
# divisible by every window, stride and patch size in common use (2^6, 3^2, 5, 7)
_ROUND = 20160


def _symbol_values(name: str, lo: int) -> tuple:
    """The symbol's value at each point: all at the smallest value, all 2, all 3, all a highly
    divisible size, and two points of distinct values per symbol (a deterministic hash of its
    name), one moderate and one mixing 1 with the divisible size."""
    h = zlib.crc32(name.encode())
    return (lo, 2, 3, _ROUND, 5 + h % 89, 1 if h & 1 else _ROUND)


POINTS = len(_symbol_values("x", 1))
_NONE = (None,) * POINTS


@lru_cache(maxsize=131072)
def values(e) -> tuple:
    """``e``'s exact value (int or Fraction) at each point, a tuple of POINTS entries, each
    None where ``e`` is undefined there (division by zero); all None where ``e`` has a symbol
    of other assumptions or an operation this evaluator does not know."""
    try:
        return _values(e)
    except (ZeroDivisionError, OverflowError, ValueError):
        return _NONE


def _values(e):
    if e.is_Integer:
        return (int(e),) * POINTS
    if e.is_Rational:
        return (Fraction(int(e.p), int(e.q)),) * POINTS
    if e.is_Symbol:
        a = e.assumptions0
        if a == _POSITIVE_INT:
            return _symbol_values(e.name, 1)
        if a == _NONNEG_INT:
            return _symbol_values(e.name, 0)
        return _NONE
    if e.is_Add or e.is_Mul:
        parts = [values(a) for a in e.args]
        out = []
        for k in range(POINTS):
            acc = 0 if e.is_Add else 1
            for p in parts:
                v = p[k]
                if v is None:
                    acc = None
                    break
                acc = acc + v if e.is_Add else acc * v
            out.append(acc)
        return tuple(out)
    if e.is_Pow:
        n = e.exp
        if not n.is_Integer or abs(int(n)) > 64:
            return _NONE
        n = int(n)
        return tuple(None if b is None or (n < 0 and b == 0) else (Fraction(b) ** n if n < 0 else b ** n)
                     for b in values(e.base))
    if isinstance(e, (sp.floor, sp.ceiling)):
        f = math.floor if isinstance(e, sp.floor) else math.ceil
        return tuple(None if v is None else f(v) for v in values(e.args[0]))
    if isinstance(e, sp.Mod):
        xs, qs = values(e.args[0]), values(e.args[1])
        return tuple(None if x is None or q is None or q == 0 else x - q * math.floor(Fraction(x) / q)
                     for x, q in zip(xs, qs))
    if isinstance(e, (sp.Max, sp.Min)):
        pick = max if isinstance(e, sp.Max) else min
        parts = [values(a) for a in e.args]
        return tuple(None if any(p[k] is None for p in parts) else pick(p[k] for p in parts)
                     for k in range(POINTS))
    if isinstance(e, sp.Abs):
        return tuple(None if v is None else abs(v) for v in values(e.args[0]))
    return _NONE


def refutes_nonneg(e) -> bool:
    """``e < 0`` at some admissible point: ``e >= 0`` has no proof."""
    return any(v is not None and v < 0 for v in values(e))


def refutes_positive(e) -> bool:
    """``e <= 0`` at some admissible point: ``e > 0`` has no proof."""
    return any(v is not None and v <= 0 for v in values(e))


def refutes_zero(e) -> bool:
    """``e != 0`` at some admissible point: ``e == 0`` has no proof."""
    return any(v is not None and v != 0 for v in values(e))


def refutes_nonzero(e) -> bool:
    """``e == 0`` at some admissible point: ``e != 0`` has no proof."""
    return any(v is not None and v == 0 for v in values(e))


def refutes_equal(a, b) -> bool:
    """``a != b`` at some admissible point."""
    return any(x is not None and y is not None and x != y for x, y in zip(values(a), values(b)))


def refutes_differ(a, b) -> bool:
    """``a == b`` at some admissible point."""
    return any(x is not None and y is not None and x == y for x, y in zip(values(a), values(b)))
