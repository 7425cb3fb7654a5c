"""Cheap, sound bounds on symbolic sizes: what the ops use to settle a Max, Min or broadcast
without writing it, and never by guessing.

:func:`interval` bounds an expression by interval arithmetic over its atoms: a dim (a
positive integer symbol) lies in ``[1, oo)``, ``floor(a)`` in ``[floor(lo a), floor(hi a)]``,
``Mod(x, q)`` of an integer ``x`` in ``[0, q - 1]``, Max/Min/sums/products of bounded parts
as interval arithmetic gives. Interval arithmetic forgets that the two ``h`` of
``6*h - 7*floor(6*h/7)`` are one value, so :func:`bounds` first writes every outermost
``floor(a)`` as ``a - t`` and ``ceiling(a)`` as ``a + t``, with ``t`` in ``[0, 1 - 1/q]``
where ``q`` is the common denominator of ``a`` over integer-valued atoms (the fractional
part of a multiple of ``1/q``), and expands: the ``h`` cancel and ``7*t`` is left, in
``[0, 6]``. This is how a pad to a window multiple, ``(7 - h % 7) % 7``, is proved
non-negative, and ``x[:, :h]`` of the padded map is seen to be ``h`` itself (Swin).

Everything answers "proved" or "don't know": :func:`nonneg` False means only that no proof
was found.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from ..symbolic import ONE, ZERO, expr_size
from ._witness import refutes_equal, refutes_nonneg, refutes_positive, values

INF = math.inf
_UNKNOWN = (-INF, INF)
# bigger expressions are not worth a proof (the expansion below would cost more than the
# Max it saves); the answer is "don't know", which is always sound
_SIZE_LIMIT = 300


def _mul(a, b):
    """a*b for interval endpoints, with 0 * oo = 0 (an endpoint of 0 bounds a factor that
    is exactly 0 there, whatever the other factor's limit)."""
    if a == 0 or b == 0:
        return 0
    return a * b


def _num(e):
    """A sympy number as a Python one (exact Fraction, or +-inf), None for nan/zoo."""
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e is sp.oo:
        return INF
    if e is sp.S.NegativeInfinity:
        return -INF
    if e.is_Float:
        return Fraction(float(e))
    return None


def interval(e, env=None):
    """(lo, hi) with lo <= e <= hi for every value of the symbols (dims positive integers,
    the symbols of ``env`` in their given ranges); endpoints are Python numbers (exact
    Fractions) or +-inf. Plain Python arithmetic: sympy's numbers cost ten times more."""
    if not env:
        return _interval_cached(e)
    return _interval(e, env)


@lru_cache(maxsize=65536)
def _interval_cached(e):
    return _interval(e, None)


def _interval(e, env):
    if e.is_Number:
        v = _num(e)
        return _UNKNOWN if v is None else (v, v)
    if env and e in env:
        return env[e]
    if e.is_Symbol:
        if e.is_positive:
            return (1 if e.is_integer else 0, INF)
        return (0, INF) if e.is_nonnegative else _UNKNOWN
    if e.is_Add:
        lo, hi = 0, 0
        for t in e.args:
            a, b = _interval(t, env)
            lo, hi = lo + a, hi + b
            if lo == -INF and hi == INF or lo != lo or hi != hi:  # nothing known (or nan)
                return _UNKNOWN
        return lo, hi
    if e.is_Mul:
        lo, hi = 1, 1
        for f in e.args:
            a, b = _interval(f, env)
            ps = (_mul(lo, a), _mul(lo, b), _mul(hi, a), _mul(hi, b))
            lo, hi = min(ps), max(ps)
            if lo == -INF and hi == INF:
                return _UNKNOWN
        return lo, hi
    if e.is_Pow:
        n = e.exp
        lo, hi = _interval(e.base, env)
        if n.is_Integer and n > 0:
            n = int(n)
            if lo >= 0 or n % 2:
                return lo ** n, hi ** n
            return 0, max(lo ** n, hi ** n)
        if n.is_Integer and lo > 0:  # 1/x of a positive x
            n = int(n)
            return (0 if hi == INF else hi ** n), lo ** n
        return _UNKNOWN
    if isinstance(e, (sp.floor, sp.ceiling)):
        lo, hi = _interval(e.args[0], env)
        f = math.floor if isinstance(e, sp.floor) else math.ceil
        return (lo if lo in (INF, -INF) else f(lo)), (hi if hi in (INF, -INF) else f(hi))
    if isinstance(e, sp.Mod):
        x, q = e.args
        if q.is_Integer and q > 0:
            return (0, int(q) - 1) if x.is_integer else (0, int(q))
        return _UNKNOWN
    if isinstance(e, (sp.Max, sp.Min)):
        ivs = [_interval(a, env) for a in e.args]
        pick = max if isinstance(e, sp.Max) else min
        return pick(i[0] for i in ivs), pick(i[1] for i in ivs)
    if isinstance(e, sp.Piecewise):
        ivs = [_interval(a.expr, env) for a in e.args]
        return min(i[0] for i in ivs), max(i[1] for i in ivs)
    return _UNKNOWN


def _denominator(a):
    """q with a*q an integer for every value of the symbols, or None: ``a`` a sum of
    rational multiples of integer-valued monomials."""
    q = 1
    for term in sp.Add.make_args(a):
        c, mono = term.as_coeff_Mul()
        if not c.is_Rational or not (mono is ONE or mono.is_integer):
            return None
        q = q * int(c.q) // math.gcd(q, int(c.q))
    return q


def _outermost(fs):
    """The members of ``fs`` not inside another member's argument."""
    inner = set()
    for f in fs:
        inner |= f.args[0].atoms(sp.floor, sp.ceiling, sp.Mod)
    return fs - inner


def _unfloored(e):
    """``e`` with each outermost floor/ceiling written as its argument -+ a fresh symbol,
    and those symbols' ranges; (e, {}) when there is none."""
    rule, env = {}, {}
    for m in e.atoms(sp.Mod):  # Mod(x, q) = x - q*floor(x/q), the floor kept as an atom
        x, q = m.args
        if q.is_Integer and q > 0 and x.is_integer:
            rule[m] = x - q * sp.floor(x / q)
    # outermost only: one inside another's argument stays an atom everywhere
    for f in _outermost(e.atoms(sp.floor, sp.ceiling)):
        a = f.args[0]
        q = _denominator(a)
        t = sp.Dummy("t")
        env[t] = (0, 1 - Fraction(1, q) if q else 1)
        rule[f] = a - t if isinstance(f, sp.floor) else a + t
    if not rule:
        return e, env
    # an inner floor stays an atom of the result (bounded by interval), which keeps its
    # non-negativity, and the same atom outside and inside an argument cancels
    return sp.expand(e.xreplace(rule)), env


def _affine(e):
    """``e`` with EVERY floor/ceiling (nested ones too, bottom-up) written as its rewritten
    argument -+ a fresh ``t`` in ``[0, 1 - 1/q]`` (``q`` the denominator of its own argument)
    and each Mod(x, q) as ``q*t``; one floor is one ``t`` wherever it occurs; a Max/Min/
    Piecewise is an atom bounded by its interval. Nested halvings
    become linear in the dims: ``H - floor(H/2 + floor(3*H/4)/2)`` is ``H/8 + t1/2 + t2``."""
    env, memo = {}, {}

    def sub(x):
        if x.is_Atom:
            return x
        if x in memo:
            return memo[x]
        if isinstance(x, (sp.floor, sp.ceiling)):
            q = _denominator(x.args[0])
            t = sp.Dummy("t")
            env[t] = (0, 1 - Fraction(1, q) if q else 1)
            a = sub(x.args[0])
            r = a - t if isinstance(x, sp.floor) else a + t
        elif isinstance(x, (sp.Max, sp.Min, sp.Piecewise)):  # an atom: never rebuilt (slow)
            t = sp.Dummy("m")
            env[t] = interval(x)
            r = t
        elif isinstance(x, sp.Mod) and x.args[1].is_Integer and x.args[1] > 0 and x.args[0].is_integer:
            t = sp.Dummy("t")
            q = int(x.args[1])
            env[t] = (0, 1 - Fraction(1, q))
            r = q * t
        else:
            r = x.func(*[sub(a) for a in x.args])
        memo[x] = r
        return r

    return sp.expand(sub(e)), env


def _period(f):
    """L such that every dim ``x`` = L*k + r makes the floor/ceiling/Mod ``f`` exact in
    ``k``: the lcm over its argument's terms ``c*m`` of c's denominator times the periods of
    the floors inside ``m``; None where ``f`` is not over rational combinations of dims."""
    arg = f.args[0]
    if isinstance(f, sp.Mod):
        if not (f.args[1].is_Integer and f.args[1] > 0):
            return None
        arg = arg / f.args[1]
    period = 1
    for term in sp.Add.make_args(sp.expand(arg)):
        c, mono = term.as_coeff_Mul()
        if not c.is_Rational:
            return None
        need = 1
        for g in _outermost(mono.atoms(sp.floor, sp.ceiling, sp.Mod)):
            p = _period(g)
            if p is None:
                return None
            need = need * p // math.gcd(need, p)
        need *= int(c.q)
        if any(not (x.is_integer and x.is_positive) for x in mono.free_symbols):
            return None
        period = period * need // math.gcd(period, need)
    return period


def _residue_cases(e):
    """The substitutions ``x = L*k + r`` (one ``r`` in ``[0, L)`` per dim ``x`` under a floor,
    ceiling or Mod, ``L`` the lcm of their periods) that make every floor exact in the fresh
    integers ``k`` (``floor((8*k + 5)/4) = 2*k + 1``), with the ranges of the ``k`` (``k >= 1``
    where ``r = 0``: dims are >= 1); None where there are more than ``_CASES`` of them."""
    per = {}
    for f in e.atoms(sp.floor, sp.ceiling, sp.Mod):
        p = _period(f)
        if p is None:
            return None
        for x in f.free_symbols:
            per[x] = per.get(x, 1) * p // math.gcd(per.get(x, 1), p)
    per = {x: q for x, q in per.items() if q > 1}
    if not per or math.prod(per.values()) > _CASES:
        return None
    cases = [({}, {})]
    for x, q in sorted(per.items(), key=lambda t: t[0].name):
        k = sp.Dummy(f"k_{x.name}", integer=True, nonnegative=True)
        cases = [({**rule, x: q * k + r}, {**env, k: (1 if r == 0 else 0, INF)})
                 for rule, env in cases for r in range(q)]
    return cases


_CASES = 64


def _sign_known(lo, hi):
    return lo >= 0 or hi <= 0


def _zero_known(lo, hi):
    return lo > 0 or hi < 0 or (lo >= 0 and hi <= 0)


@lru_cache(maxsize=65536)
def bounds(e):
    """(lo, hi) bounds of ``e``, tight enough to know its sign where a stage below can: plain
    interval arithmetic; Max/Min settled or made atoms; the outermost floors written out;
    every floor written out (affine in the dims); once per residue of the dims modulo the
    floors' periods (every floor then exact). Stops at the first stage that knows."""
    return _search(sp.sympify(e), _sign_known)


@lru_cache(maxsize=65536)
def _tight(e):
    """As :func:`bounds`, searching on until ``e`` is known to be 0 or known not to be."""
    return _search(e, _zero_known)


def _search(e, done):
    lo, hi = _rounded(e, interval(e))
    if done(lo, hi) or expr_size(e) > _SIZE_LIMIT or not e.has(sp.floor, sp.ceiling, sp.Mod, sp.Max, sp.Min):
        return lo, hi
    if e.is_Mul:  # factor by factor (each searched, cached): no expansion of the product
        a, b = 1, 1
        for f in e.args:
            c, d = bounds(f)
            ps = (_mul(a, c), _mul(a, d), _mul(b, c), _mul(b, d))
            a, b = min(ps), max(ps)
        lo, hi = _rounded(e, (max(lo, a), min(hi, b)))
        if done(lo, hi):
            return lo, hi
    e0 = e
    e, env = _opaque(e)
    if e != e0:  # a Max/Min settled or made an atom: the correlation it hid may cancel now
        e = sp.expand(e)
        lo1, hi1 = _rounded(e0, interval(e, env))
        lo, hi = max(lo, lo1), min(hi, hi1)
        if done(lo, hi):
            return lo, hi
    if not e.has(sp.floor, sp.ceiling, sp.Mod):
        return lo, hi
    for rewrite in (_unfloored, _affine):
        e2, env2 = rewrite(e)
        lo2, hi2 = _rounded(e0, interval(e2, {**env, **env2}))
        lo, hi = max(lo, lo2), min(hi, hi2)
        if done(lo, hi):
            return lo, hi
    cases = _residue_cases(e)
    if cases is None:
        return lo, hi
    lo3, hi3 = INF, -INF
    for rule, kenv in cases:
        iv = _linear_case(e, rule, {**env, **kenv})
        if iv is not None:  # every floor exact, the same interval without sympy's rebuild
            a, b = _rounded(e0, iv)
            lo3, hi3 = min(lo3, a), max(hi3, b)
            if not done(lo3, hi3):
                return lo, hi
            continue
        ei = sp.expand(e.xreplace(rule))
        a, b = _rounded(e0, interval(ei, {**env, **kenv}))
        if not done(a, b) and ei.has(sp.floor, sp.ceiling, sp.Mod):  # a floor the residues left
            e3, env3 = _affine(ei)
            a2, b2 = _rounded(e0, interval(e3, {**env, **kenv, **env3}))
            a, b = max(a, a2), min(b, b2)
        lo3, hi3 = min(lo3, a), max(hi3, b)
        if not done(lo3, hi3):  # open in some case (the union only widens): no proof this way
            return lo, hi
    return _rounded(e0, (max(lo, lo3), min(hi, hi3)))


def _linear_case(e, rule, env):
    """The interval that ``interval(expand(e.xreplace(rule)), env)`` gives, computed in plain
    arithmetic, where ``e`` is linear (sums of rational multiples of atoms, floors and
    ceilings of such sums) and every floor/ceiling comes out exact under ``rule`` (integer
    coefficients on integer atoms, as sympy's floor then pulls them out: ``floor(4*k + 5/8)``
    is ``4*k``); None otherwise (sympy does it). The residue cases rebuild the same floors
    once per case (32 cases for three nested halvings), each through sympy's assumptions."""
    form = _linear(e, rule, {})
    if form is None:
        return None
    lo, hi = 0, 0
    for atom, c in form.items():
        if atom == 1:
            a, b = c, c
        else:
            a, b = _interval(atom, env)
            if c != 1:
                ps = (_mul(c, a), _mul(c, b))
                a, b = min(ps), max(ps)
        lo, hi = lo + a, hi + b
        if lo == -INF and hi == INF or lo != lo or hi != hi:
            return _UNKNOWN
    return lo, hi


def _linear(e, rule, memo):
    """``e`` under ``rule`` as {atom: Fraction, 1: constant}, or None (see _linear_case)."""
    if e in memo:
        return memo[e]
    out = None
    if e.is_Rational:
        out = {1: Fraction(int(e.p), int(e.q))}
    elif e in rule:
        out = _linear_rule(rule[e])
    elif e.is_Symbol:
        out = {e: Fraction(1)}
    elif e.is_Add:
        out = {}
        for t in e.args:
            f = _linear(t, rule, memo)
            if f is None:
                out = None
                break
            for a, c in f.items():
                out[a] = out.get(a, 0) + c
        if out is not None:
            out = {a: c for a, c in out.items() if c != 0 or a == 1}
    elif e.is_Mul:
        coeff, var = Fraction(1), None
        for f in e.args:
            g = _linear(f, rule, memo)
            if g is None:
                return None
            if set(g) == {1}:
                coeff *= g[1]
            elif var is None:
                var = g
            else:
                return None  # a product of two non-constant factors
        out = {1: coeff} if var is None else {a: coeff * c for a, c in var.items()}
    elif isinstance(e, (sp.floor, sp.ceiling)):
        g = _linear(e.args[0], rule, memo)
        if g is not None and all(a == 1 or (c.denominator == 1 and a.is_integer) for a, c in g.items()):
            c0 = g.get(1, Fraction(0))
            f = math.floor if isinstance(e, sp.floor) else math.ceil
            out = {**g, 1: Fraction(f(c0))}
    memo[e] = out
    return out


def _linear_rule(r):
    """``q*k + r`` (a residue case's substitution) as a linear form."""
    out = {}
    for t in sp.Add.make_args(r):
        c, a = t.as_coeff_Mul()
        if a is ONE:
            out[1] = out.get(1, 0) + Fraction(int(c))
        else:
            out[a] = out.get(a, 0) + Fraction(int(c))
    out.setdefault(1, Fraction(0))
    return out


def _opaque(e):
    """``e`` with each outermost Max, Min and Piecewise made a fresh symbol bounded by its
    interval (sound: only their correlation with the rest is forgotten), so that the
    rewriting below never rebuilds one (sympy's Max/Min constructor compares its
    arguments, seconds on DLA's nested trees)."""
    kinds = (sp.Max, sp.Min, sp.Piecewise)
    found = e.atoms(*kinds)
    if not found:
        return e, {}
    inner = set()
    for m in found:
        for a in m.args:
            inner |= a.atoms(*kinds)
    rule, env = {}, {}
    for m in found - inner:
        s = _settled(m)
        if s is not None:
            rule[m] = s
            continue
        t = sp.Dummy("m", integer=bool(m.is_integer))
        rule[m], env[t] = t, interval(m)
    return e.xreplace(rule), env


def _settled(m):
    """The argument a Max/Min provably equals (``Min(H, H + Mod(-H, 7))`` is ``H``), or None:
    one argument not below (Max) / not above (Min) each of the others."""
    if not isinstance(m, (sp.Max, sp.Min)) or len(m.args) > 4:
        return None
    sign = 1 if isinstance(m, sp.Max) else -1
    for a in m.args:
        if all(b is a or (not _below(a, b, sign) and _cheap_nonneg(sp.expand(sign * (a - b)))) for b in m.args):
            return a
    return None


def _below(a, b, sign) -> bool:
    """``sign*(a - b) < 0`` at some admissible point (see :mod:`._witness`): no proof of the
    opposite exists, and the expansion it would need is skipped."""
    return any(x is not None and y is not None and sign * (x - y) < 0 for x, y in zip(values(a), values(b)))


def _cheap_nonneg(e) -> bool:
    """e >= 0 by interval arithmetic, then with every floor written out: no recursion into
    further Max/Min and no residue cases (a Max/Min that needs those stays an atom)."""
    lo = _rounded(e, interval(e))[0]
    if lo >= 0:
        return True
    if expr_size(e) > _SIZE_LIMIT or not e.has(sp.floor, sp.ceiling, sp.Mod):
        return False
    return _rounded(e, interval(*_affine(e)))[0] >= 0


def _rounded(e, iv):
    """An integer-valued ``e`` lies in [ceiling(lo), floor(hi)]: ``floor(H/4 + 3/4) -
    floor(H/4 + 1/4)`` bounded below by -1/4 is >= 0."""
    lo, hi = iv
    if not e.is_integer:
        return iv
    return (lo if lo in (INF, -INF) else math.ceil(lo)), (hi if hi in (INF, -INF) else math.floor(hi))


# The questions below first look for a counterexample (:mod:`._witness`): a statement false at
# one admissible value of the symbols has no proof, so the proof search (and the expansion
# it starts from) is skipped; the answer, "not proved", is the one the search would give.
def nonneg(e) -> bool:
    """True when ``e >= 0`` is proved for every value of the symbols."""
    e = sp.sympify(e)
    if e.is_Number:
        v = _num(e)
        return v is not None and v >= 0
    if refutes_nonneg(e):
        return False
    return bool(bounds(e)[0] >= 0)


def nonpos(e) -> bool:
    return nonneg(-sp.sympify(e))


def positive(e) -> bool:
    e = sp.sympify(e)
    if e.is_Number:
        v = _num(e)
        return v is not None and v > 0
    if refutes_positive(e):
        return False
    if e.is_integer:  # an integer > 0 is one >= 1, which the stages can prove
        return nonneg(sp.expand(e - 1))
    return bool(bounds(e)[0] > 0)


def at_least(e, n) -> bool:
    """True when ``e >= n`` is proved."""
    e, n = sp.sympify(e), sp.sympify(n)
    if _below(e, n, 1):
        return False
    return nonneg(sp.expand(e - n))


def zero(d) -> bool:
    """True when the (expanded) ``d`` is proved to be 0 for every value of the symbols."""
    d = sp.sympify(d)
    if d == 0:
        return True
    if d.is_Number:
        return False
    if refutes_equal(d, ZERO):
        return False
    lo, hi = _tight(d)
    return lo >= 0 and hi <= 0


def nonzero(d) -> bool:
    """True when the (expanded) ``d`` is proved never to be 0."""
    d = sp.sympify(d)
    if d.is_Number:
        return d != 0
    if _zero_somewhere(d, ZERO):
        return False
    lo, hi = _tight(d)
    return lo > 0 or hi < 0


def equal(a, b) -> bool:
    """True when ``a == b`` is proved (difference 0, or bounded to [0, 0])."""
    a, b = sp.sympify(a), sp.sympify(b)
    if refutes_equal(a, b):
        return False
    return zero(sp.expand(a - b))


def differ(a, b) -> bool:
    """True when ``a != b`` is proved for every value of the symbols."""
    a, b = sp.sympify(a), sp.sympify(b)
    if _zero_somewhere(a, b):
        return False
    return nonzero(sp.expand(a - b))


def _zero_somewhere(a, b) -> bool:
    return any(x is not None and y is not None and x == y for x, y in zip(values(a), values(b)))
