"""Symbols and readable closed forms.

Every integer division in cnnsym goes through :func:`fdiv`, which keeps ``floor`` in one
canonical form, ``floor(P/q) + R`` with ``P`` an integer polynomial whose constant lies in
``[0, q)`` and ``q`` a positive integer. Nested floors collapse by the exact identity
``floor((floor(y) + c)/n) = floor((y + c)/n)`` (real ``y``, integer ``c``, positive integer
``n``), so a stride-32 backbone gives ``floor((H + 31)/32)``, which :func:`readable` prints
as ``ceiling(H/32)``. No ``simplify()`` anywhere: it is slow and often makes things worse.
"""
from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp
from sympy.core.parameters import global_parameters

Expr = sp.Expr
ZERO = sp.Integer(0)
ONE = sp.Integer(1)


@lru_cache(maxsize=None)
def dim_symbol(name: str) -> sp.Symbol:
    """A dimension: a positive integer symbol."""
    return sp.Symbol(name, integer=True, positive=True)


_INTEGERS: dict = {}  # small Python int -> its sp.Integer (sp.Integer(x) goes through sympy's cache wrapper)


def as_expr(x) -> Expr:
    if isinstance(x, sp.Basic):
        return x
    if type(x) is int and -4096 <= x <= 4096:
        r = _INTEGERS.get(x)
        if r is None:
            r = _INTEGERS[x] = sp.Integer(x)
        return r
    if isinstance(x, bool):
        return sp.Integer(int(x))
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, float):
        if x.is_integer():
            return sp.Integer(int(x))
        return sp.Rational(x)
    return sp.sympify(x)


def _is_pos_int(n: Expr) -> bool:
    return isinstance(n, sp.Integer) and n > 0


def _int_poly(p: Expr):
    """``p`` as {monomial: int coefficient} if it is an integer-coefficient polynomial
    in integer-valued atoms (symbols, floors), else None."""
    out: dict[Expr, int] = {}
    for term in sp.Add.make_args(sp.expand(p)):
        coeff, mono = term.as_coeff_Mul()
        if not isinstance(coeff, sp.Integer):
            return None
        if mono is not ONE and not mono.is_integer:
            return None
        out[mono] = out.get(mono, 0) + int(coeff)
    return out


@lru_cache(maxsize=65536)
def fdiv(x, n) -> Expr:
    """``floor(x/n)`` for integer-valued ``x`` and positive ``n``, in canonical form."""
    x, n = as_expr(x), as_expr(n)
    if not _is_pos_int(n):
        if expr_size(x) + expr_size(n) <= 500:
            q = sp.cancel(x / n)  # exact division by a symbolic size (a view's -1)
            num, den = sp.fraction(q)
            if den.is_Integer:
                return fdiv(num, den) if den > 1 else num
        return sp.floor(x / n)
    if x.is_Integer:
        return sp.Integer(int(x) // int(n))
    if x.is_Rational:
        return sp.Integer(math.floor(sp.Rational(x) / n))
    q = int(n)
    # absorb one floor term of coefficient 1: floor((floor(y) + c)/q) = floor((y + c)/q)
    terms = sp.Add.make_args(x)
    floors = [t for t in terms if isinstance(t, sp.floor)]
    if len(floors) == 1:
        rest = sp.Add(*[t for t in terms if t is not floors[0]])
        if rest.is_integer and expr_size(x) <= 500:
            num, den = sp.fraction(sp.together(floors[0].args[0] + rest))
            if _is_pos_int(den):
                return _floor_poly(num, q * int(den)) if _int_poly(num) is not None else sp.floor((num / den) / q)
    if expr_size(x) > 500 or _int_poly(x) is None:
        return sp.floor(x / n)
    if q == 1:
        return x
    return _floor_poly(x, q)


def _floor_poly(p: Expr, q: int) -> Expr:
    """floor(p/q) for an integer polynomial p, canonical: multiples of q pulled out,
    constant reduced into [0, q), common factors cancelled."""
    poly = _int_poly(p)
    if poly is None:
        return sp.floor(p / q)
    outside = []
    inside: dict[Expr, int] = {}
    for mono, c in poly.items():
        whole, rem = divmod(c, q)
        if whole:
            outside.append(whole * mono)
        if rem:
            inside[mono] = rem
    if not inside:
        return sp.Add(*outside)
    g = q
    for c in inside.values():
        g = math.gcd(g, c)
    if g > 1:
        q //= g
        inside = {m: c // g for m, c in inside.items()}
    if q == 1:
        return sp.Add(*outside, *[c * m for m, c in inside.items()])
    if list(inside) == [ONE]:  # constant in [0, q): floor is 0
        return sp.Add(*outside)
    arg = sp.Add(*[sp.Rational(c, q) * m for m, c in inside.items()])
    return sp.Add(sp.floor(arg, evaluate=False), *outside)


def cdiv(x, n) -> Expr:
    """``ceiling(x/n)`` for integer-valued ``x`` and positive integer ``n``."""
    x, n = as_expr(x), as_expr(n)
    if not _is_pos_int(n):
        return sp.ceiling(x / n)
    return fdiv(x + n - 1, n)


def imod(x, n) -> Expr:
    """``x mod n`` (non-negative result for positive n) as ``x - n*floor(x/n)``."""
    x, n = as_expr(x), as_expr(n)
    if x.is_Integer and n.is_Integer and n != 0:
        return sp.Integer(int(x) % int(n))
    return sp.expand(x - n * fdiv(x, n))


@lru_cache(maxsize=65536)
def readable(e: Expr) -> Expr:
    """The same value, printed as a person writes it: ``floor((H + q - 1)/q)`` becomes
    ``ceiling(H/q)``. Exact; the result still parses with ``sympy.sympify``."""
    e = as_expr(e)
    if not e.has(sp.floor):
        return e
    repl = {}
    for f in e.atoms(sp.floor):
        c = _as_ceiling(f)
        if c is not None:
            repl[f] = c
    if not repl:
        return e
    # printing only: the parents are not re-evaluated (sympy's Max/Min constructor compares
    # its arguments again, 10 of dla34's 18 CPU s at symbolic sizes; same output)
    with sp.evaluate(False):
        return e.xreplace(repl)


@lru_cache(maxsize=65536)
def _as_ceiling(f):
    """``ceiling(P/q)`` for ``f = floor((P + q - 1)/q)``, else None. Cached per floor: the same
    few floors recur in every shape of a network (``together`` dominated the JSON output)."""
    num, den = sp.fraction(sp.together(f.args[0]))
    if not _is_pos_int(den) or den == 1:
        return None
    const = num.as_coeff_Add()[0]
    if const == den - 1:
        return sp.ceiling((num - const) / den, evaluate=False)
    return None


@lru_cache(maxsize=262144)
def to_str(e) -> str:
    """The string form used in every output; parses back with ``sympy.sympify``."""
    return sp.sstr(readable(as_expr(e)))


MAX_EXPR_SIZE = 20_000


@lru_cache(maxsize=262144)
def expr_size(e) -> int:
    """Size of ``e`` as a tree (shared subexpressions counted each time they occur),
    in time linear in the DAG: a guard against expressions that blow up."""
    if not isinstance(e, sp.Basic) or not e.args:
        return 1
    return 1 + sum(expr_size(a) for a in e.args)


def product(xs) -> Expr:
    return sp.Mul(*[as_expr(x) for x in xs])


# ------------------------------------------------------------------ products by a number
# sympy's Mul.flatten is slow when a product meets a new rational coefficient (it re-derives
# every factor: base/exponent split, powers re-evaluated, assumption facts on the new
# object): 64*N*floor(H/2 + 1/2)*floor(W/2 + 1/2) costs 100-300 us where the object itself
# is only the base's factors behind the new coefficient. Where that is provably the object
# sympy builds (same args in the same order: ==, srepr and hash equal), build it directly
# (~2 us); in every other case ask sympy. Issue 12.
#
# Why it is the same object: for a rational c (not 0) and an evaluated product
# B = c0 * f1 * ... * fk (c0 a rational coefficient, possibly absent), Mul(c, B) runs
# flatten over [c, c0, f1, ..., fk]: the numbers multiply into c*c0; each fi is a distinct
# base (B was gathered already) whose power re-evaluates to itself; _mulsort keeps B's
# order; the coefficient goes first unless it is 1. The one other rewrite is distribution:
# a rational times a single Add (2*(x + 1) -> 2*x + 2): left to sympy. Only factors of the
# kinds below are taken (symbols, floors, ceilings, Max/Min, Adds among others, their integer
# powers): numeric bases (sqrt(2)), infinities, non-commutative or Float factors go to sympy.
_Mul_from_args = sp.Mul._from_args
_PLAIN = frozenset({sp.Symbol, sp.floor, sp.ceiling, sp.Max, sp.Min})
_POW_BASES = frozenset({sp.Symbol, sp.floor, sp.ceiling})


def _plain(f, in_product: bool) -> bool:
    """``f`` is a factor Mul.flatten leaves as it is (see above); an Add only next to others."""
    t = type(f)
    if t in _PLAIN:
        return f.is_commutative is True
    if t is sp.Add:
        return in_product and f.is_commutative is True
    if t is sp.Pow:
        b, e = f.args
        return type(b) in _POW_BASES and e.is_Integer and b.is_commutative is True
    return False


_POSTPROCESSED: list = [None, True]  # (mapping size seen, whether no plain kind is postprocessed)


def _no_postprocessors() -> bool:
    """No constructor postprocessor (sympy's hook, today only for matrix expressions)
    applies to a plain factor: Mul's constructor would otherwise run it."""
    mapping = sp.Basic._constructor_postprocessor_mapping
    if _POSTPROCESSED[0] != len(mapping):
        kinds = _PLAIN | {sp.Add, sp.Pow, sp.Mul}
        _POSTPROCESSED[:] = [len(mapping), not any(k in mapping for t in kinds for k in t.__mro__)]
    return _POSTPROCESSED[1]


def _scaled(e, c):
    """``e * c`` built directly when that provably is sympy's object, else None.
    ``c`` a sympy Rational or int, ``e`` an evaluated sympy expression."""
    if type(c) is int:
        c = sp.Integer(c)
    elif not isinstance(c, sp.Rational):
        return None
    if not isinstance(e, sp.Expr) or e.is_Number or not global_parameters.evaluate:
        return None
    if c.p == 0:
        return None  # 0 * e: sympy decides (nan for an infinite e)
    if c.p == 1 and c.q == 1:
        return e  # e * 1 is e (AssocOp drops the identity)
    t = type(e)
    if t is sp.Mul:
        args = e.args
        first = args[0]
        if first.is_Number:
            if not isinstance(first, sp.Rational):
                return None
            rest = args[1:]
            new = first * c
        else:
            rest = args
            new = c
        many = len(rest) > 1
        for f in rest:
            if not _plain(f, many):
                return None
        if not _no_postprocessors():
            return None
        if new.p == 1 and new.q == 1:
            return rest[0] if not many else _Mul_from_args(rest, True)
        return _Mul_from_args((new,) + rest, True)
    if _plain(e, False) and _no_postprocessors():
        return _Mul_from_args((c, e), True)
    return None


def eq(a, b):
    """``sp.Eq(a, b)``, the same object, without sympy's relational machinery for the
    common cases it settles first: two integers (true or false), a symbol and itself (sympy's
    is_eq: no legacy _eval_Eq hook and no dispatch rule for them, then ``lhs == rhs`` is True)."""
    if not global_parameters.evaluate:
        return sp.Eq(a, b)
    if isinstance(a, sp.Integer) and isinstance(b, sp.Integer):
        return sp.true if a.p == b.p else sp.false
    if a is b and type(a) is sp.Symbol:
        return sp.true
    return sp.Eq(a, b)


def scale(e: Expr, c) -> Expr:
    """``e * c`` for a number ``c``, the object sympy builds, fast where provably the same."""
    r = _scaled(e, c)
    return e * c if r is None else r


def rscale(c, e: Expr) -> Expr:
    """``c * e`` (the same object as ``e * c`` for a rational ``c``, sympy's 2-argument Mul
    puts the rational first; any other ``c`` is multiplied in this order)."""
    r = _scaled(e, c)
    return c * e if r is None else r


@lru_cache(maxsize=4096)
def _symbolic_product(dims: tuple) -> Expr:
    return sp.Mul(*dims)


def dims_product(shape) -> Expr:
    """``sp.Mul(*shape)`` for a tuple of dims: the integer dims are multiplied as numbers
    and scale the (remembered) product of the symbolic ones where that is provably
    sympy's object (layers differing only in channels share the symbolic part)."""
    n = 1
    syms = []
    for d in shape:
        if isinstance(d, sp.Integer):
            n *= d.p
        elif isinstance(d, sp.Expr) and not d.is_Number:
            syms.append(d)
        else:
            return sp.Mul(*shape)
    if not syms:
        return sp.Integer(n)
    if n <= 0:
        return sp.Mul(*shape)
    try:
        base = _symbolic_product(tuple(syms))
    except TypeError:  # an unhashable dim
        return sp.Mul(*shape)
    if n == 1:
        return base
    if isinstance(base, sp.Add):
        return sp.Mul(*shape)  # sympy distributes the integer over a lone Add
    r = _scaled(base, sp.Integer(n))
    return sp.Mul(*shape) if r is None else r
