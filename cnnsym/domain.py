"""Where a model is valid: the constraints its graph puts on its symbols, solved to integer
ranges by scanning (vectorised, exact int64 arithmetic: floors become integer floor division), and the bindings at which a
report's numbers are evaluated.

Method: constraints are sympy relationals (``Eq`` for dims that must agree, ``>= 1`` for
sizes that must stay positive). The smallest valid input is the smallest ``s`` in
``1..LIMIT`` such that every spatial symbol = ``s`` (others at their bound value) satisfies
all constraints. Each symbol's range is then scanned over ``1..LIMIT`` with the other
symbols held at the bindings, and described as an interval, a half-line, or an arithmetic
progression (``32k``) when the valid set is periodic.
"""
from __future__ import annotations

import functools

# numpy is imported inside the functions that scan a domain: a report that scans none never
# needs it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from .errors import BindingError, InputError

LIMIT = 4096
DEFAULT_SPATIAL = 224


def default_bindings(report, graph):
    """Static dims are what they are; symbols: batch (axis 0) = 1, spatial = 224, other = 1."""
    b, notes = {}, []
    for name, (inp, ax) in report.symbols.items():
        if name in report.symbol_defaults:
            b[name] = int(report.symbol_defaults[name])
        elif name in report.spatial_symbols:
            b[name] = DEFAULT_SPATIAL
        else:
            b[name] = 1
    if b:
        notes.append("default bindings: " + ", ".join(f"{k}={v}" for k, v in b.items())
                     + " (batch and other axes 1, spatial axes 224, hyperparameters their defaults)")
    return b, notes


class _IntFloor(sp.Function):
    """floor(n/d) for an integer polynomial n and positive integer d, printed for numpy as
    exact integer floor division (no float rounding at exact multiples)."""


_EXACT: dict = {}  # expression -> its exact form (pure; kept across the analyses of a process)
_REBUILT = (sp.Add, sp.Mul, sp.Pow, sp.Min, sp.Max)


def _exact(e):
    """``e`` with every floor/ceiling turned into integer floor division. The expressions
    around them are rebuilt as they are (not evaluated again: a Max of nested floors
    re-derived its simplification at every level, most of a compile), which computes the
    same value at every size: it is only compiled, to be evaluated at integer sizes."""
    hit = _EXACT.get(e)
    if hit is None:
        if len(_EXACT) >= 65536:
            _EXACT.clear()
        hit = _EXACT[e] = _exact_of(e) if e.has(sp.floor, sp.ceiling) else e
    return hit


def _exact_of(e):
    if isinstance(e, sp.floor):
        num, den = sp.fraction(sp.together(e.args[0]))
        if den.is_Integer and den > 0:
            return _IntFloor(_exact(sp.expand(num)), den)
        return sp.floor(_exact(e.args[0]))
    if isinstance(e, sp.ceiling):
        num, den = sp.fraction(sp.together(e.args[0]))
        if den.is_Integer and den > 0:
            return -_IntFloor(_exact(sp.expand(-num)), den)
        return sp.ceiling(_exact(e.args[0]))
    args = [_exact(a) for a in e.args]
    return e.func(*args, evaluate=False) if isinstance(e, _REBUILT) else e.func(*args)


def _printer():
    from sympy.printing.numpy import NumPyPrinter

    class Printer(NumPyPrinter):
        def _print__IntFloor(self, e):
            return "numpy.floor_divide(%s, %s)" % (self._print(e.args[0]), self._print(e.args[1]))

    return Printer


_COMPILED: dict = {}  # relation -> (kind, its symbols' names, compiled difference)


def _lambdified(report):
    """A vectorised, exact (int64) test of all constraints at many integer points."""
    syms = sorted({s for c in report.constraints for s in c.rel.free_symbols}, key=lambda s: s.name)
    if not syms:
        return syms, None
    import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
    # each relation is compiled once per process: the domain solver tests them all, lint's
    # rules one at a time, and the models of one file share most of them (issue 12)
    parts = [_compiled(c.rel, np) for c in report.constraints]
    return syms, _tester(parts, np)


def _compiled(rel, np):
    hit = _COMPILED.get(rel)
    if hit is None:
        if len(_COMPILED) >= 4096:
            _COMPILED.clear()
        hit = _COMPILED[rel] = _compile(rel, np)
    return hit


def _compile(r, np):
    """(kind, symbol names, f): ``f(*values of those symbols)`` is the relation's difference
    (``eq``: must be 0; ``ge``: >= 0; ``gt``: > 0) with floors as exact integer division."""
    if isinstance(r, sp.Equality):
        kind, d = "eq", r.lhs - r.rhs
    elif isinstance(r, (sp.GreaterThan, sp.StrictGreaterThan)):
        kind, d = ("ge" if isinstance(r, sp.GreaterThan) else "gt"), r.lhs - r.rhs
    elif isinstance(r, (sp.LessThan, sp.StrictLessThan)):
        kind, d = ("ge" if isinstance(r, sp.LessThan) else "gt"), r.rhs - r.lhs
    else:
        kind, d = "eq", sp.Integer(0)
    num, den = sp.fraction(sp.together(d))
    if den.is_number and den < 0:
        num = -num
    if not den.is_number:
        num = d  # symbolic denominator: positive dims, sign kept; exact enough
    syms = sorted(getattr(r, "free_symbols", ()), key=lambda s: s.name)
    # an explicit namespace: the "numpy" module string makes lambdify star-import numpy
    # (and numpy.f2py, numpy.testing), 70-200 ms on first use
    f = sp.lambdify(syms, _exact(num), printer=_printer(), modules=[{"numpy": np, "functools": functools}],
                    **_NO_DOCSTRING)
    return kind, tuple(s.name for s in syms), f


# lambdify writes str(expression) into the function's docstring, which nothing reads: about
# 40% of a compile on torchvision's constraints (sympy >= 1.13 can skip it)
_CODE = getattr(getattr(sp.lambdify, "__wrapped__", sp.lambdify), "__code__", None)
_NO_DOCSTRING = {"docstring_limit": -1} if _CODE is not None and "docstring_limit" in _CODE.co_varnames else {}


def _tester(parts, np):
    def ok(count=False, **vals):
        """Where every constraint holds; with ``count``, how many hold at each point."""
        n = max(np.size(v) for v in vals.values())
        args = {k: np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) for k, v in vals.items()}
        res = np.zeros(n, dtype=np.int64) if count else np.ones(n, dtype=bool)
        with np.errstate(all="ignore"):
            for kind, names, f in parts:
                v = np.broadcast_to(np.asarray(f(*[args[k] for k in names])), (n,))
                hold = (v == 0) if kind == "eq" else (v >= 0 if kind == "ge" else v > 0)
                if count:
                    res += hold
                else:
                    res &= hold
        return res

    return ok


def monotone(e) -> bool:
    """True when ``e`` provably never decreases as any (positive integer) symbol grows:
    symbols, constants, sums, floors/ceilings/Min/Max of such, and products of such
    factors that are non-negative at their minimum (all symbols = 1)."""
    if e.is_Number or e.is_Symbol:
        return True
    if isinstance(e, (sp.Add, sp.floor, sp.ceiling, sp.Min, sp.Max)):
        return all(monotone(a) for a in e.args)
    if isinstance(e, sp.Mul):
        coeff, rest = e.as_coeff_Mul()
        if coeff < 0:
            return False
        factors = sp.Mul.make_args(rest)
        if len(factors) == 1:
            return monotone(factors[0])
        ones = {s: sp.Integer(1) for s in e.free_symbols}
        return all(monotone(f) and f.xreplace(ones) >= 0 for f in factors)
    if isinstance(e, sp.Pow):
        return e.exp.is_Integer and e.exp > 0 and monotone(e.base) and e.base.xreplace({s: 1 for s in e.free_symbols}) >= 0
    return False


def always_true(rel) -> bool:
    """A lower bound ``e >= c`` with ``e`` monotone holds everywhere iff it holds with
    every symbol at 1: such constraints are proved and need not be listed."""
    if isinstance(rel, (sp.GreaterThan, sp.StrictGreaterThan)):
        e = rel.lhs - rel.rhs
        if monotone(e):
            v = e.xreplace({s: sp.Integer(1) for s in e.free_symbols})
            return bool(v >= 0) if isinstance(rel, sp.GreaterThan) else bool(v > 0)
    return False


_FAILS: dict = {}  # (relation, bindings) -> it is false there (pure; the solver and the rules ask again)


def violated(report, bindings):
    """The constraints that fail at ``bindings`` (exact evaluation)."""
    out = []
    at = tuple(sorted(bindings.items()))
    for c in report.constraints:
        key = (c.rel, at)
        fails = _FAILS.get(key)
        if fails is None:
            if len(_FAILS) >= 100_000:
                _FAILS.clear()
            fails = _FAILS[key] = _fails(c.rel, bindings)
        if fails:
            out.append(c)
    return out


def _fails(rel, bindings) -> bool:
    sub = {s: sp.Integer(bindings[s.name]) for s in rel.free_symbols if s.name in bindings}
    try:
        v = rel.xreplace(sub)
    except (TypeError, ValueError):  # e.g. x/0 -> zoo inside Max: a dim upstream is 0,
        return False  # which a constraint of its own excludes
    return v is sp.false or v is False


def describe(valid) -> dict:
    """Describe the set {i+1 : valid[i]} (``valid``: a boolean numpy array) compactly."""
    import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
    idx = np.flatnonzero(valid) + 1
    if idx.size == 0:
        return {"text": f"none in 1..{LIMIT}", "min": None, "max": None}
    lo, hi = int(idx[0]), int(idx[-1])
    if idx.size == hi - lo + 1:
        if hi == valid.size:
            return {"text": f">= {lo}", "min": lo, "max": None}
        return {"text": f"{lo}..{hi}", "min": lo, "max": hi}
    diffs = np.diff(idx)
    if np.all(diffs == diffs[0]) and hi + diffs[0] > valid.size:
        step = int(diffs[0])
        r = lo % step
        return {"text": f"{step}k{' + ' + str(r) if r else ''}, >= {lo}", "min": lo, "max": None, "step": step}
    runs = np.split(idx, np.flatnonzero(diffs != 1) + 1)
    parts = [f"{int(r[0])}..{int(r[-1])}" if r.size > 1 else str(int(r[0])) for r in runs[:6]]
    if len(runs) > 6:
        parts.append("...")
    return {"text": ", ".join(parts), "min": lo, "max": hi if hi < valid.size else None}


GRID_POINTS = 200_000


def _search(ok, names, start, groups, divisors=()):
    """A valid point when the uniform scan finds none (dims that must equal constants or
    each other's products, as the layer-norm function's ``H*W = 20``). ``groups``: lists
    of symbols moved together (dims a constraint makes agree). Every combination of
    candidate values when few, else coordinate ascent on the number of constraints that
    hold (also when the grid finds nothing: a size such as 3 heads x 8 is no candidate).
    Candidates: 1..8, the bindings, and the divisors of the integers in the constraints
    (sizes a graph pins are built from them)."""
    import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
    if not groups:
        return None
    lead = [g[0] for g in groups]
    cands = sorted({*range(1, 9), *(start[n] for n in lead), *divisors})
    cands = [c for c in cands if 1 <= c <= LIMIT]

    def spread(point):
        return {m: point[g[0]] for g in groups for m in g}

    if len(cands) ** len(groups) <= GRID_POINTS:
        grid = np.meshgrid(*[np.asarray(cands)] * len(groups), indexing="ij")
        vals = {m: start[m] for m in names}
        vals.update(spread({n: g.reshape(-1) for n, g in zip(lead, grid)}))
        good = np.flatnonzero(ok(**vals))
        if good.size:
            # the valid point nearest the bindings (relative distance)
            dist = sum(((vals[n][good] - start[n]) / start[n]) ** 2 for n in lead)
            k = good[int(np.argmin(dist))]
            return {m: int(vals[m][k]) for g in groups for m in g}
    # from the bindings, then from all ones (sums such as past + new sequence length = 18
    # are out of reach of one coordinate while the other sits at 224)
    for origin in (start, {**start, **{m: 1 for g in groups for m in g}}):
        found = _ascend(ok, names, start, groups, dict(origin), cands)
        if found:
            return found
    return None


def _ascend(ok, names, start, groups, point, cands=()):
    import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
    axis = np.arange(1, LIMIT + 1)
    for _ in range(4 * len(groups)):
        improved = False
        for g in groups:
            vals = {m: point[m] for m in names}
            vals.update({m: axis for m in g})
            held = ok(count=True, **vals)
            best = int(held.max())
            cur = point[g[0]]
            if cur > LIMIT or best > held[cur - 1]:
                # of the values that hold the most, the one nearest the binding: a size
                # pinned by "equal or one be 1" prefers the pin over 1
                ties = np.flatnonzero(held == best) + 1
                v = int(ties[np.argmin(np.abs(ties - start[g[0]]))])
                point.update({m: v for m in g})
                improved = True
        if bool(ok(**{m: point[m] for m in names})[0]):
            return {m: point[m] for g in groups for m in g}
        if not improved:
            # a plateau for single moves: two sums tied to each other and to a constant
            # (a + b = 18 and c + d = a + b) need two groups moved at once
            moved = _pair_move(ok, names, groups, point, cands) if len(groups) <= PAIR_GROUPS else None
            if moved is None:
                return None
            point.update(moved)
    return None


PAIR_GROUPS = 12  # pair moves cost groups^2/2 scans of LIMIT x candidates points


def _pair_move(ok, names, groups, point, cands):
    """The joint move of two groups (one over every size, the other over the candidates)
    that holds the most constraints, when it holds more than now; else None."""
    import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
    axis = np.arange(1, LIMIT + 1)
    cur = int(ok(count=True, **{m: point[m] for m in names})[0])
    grid_a, grid_b = (g.ravel() for g in np.meshgrid(axis, np.asarray(sorted(cands)), indexing="ij"))
    best = None
    for i, ga in enumerate(groups):
        for gb in groups[i + 1:]:
            for first, second in ((ga, gb), (gb, ga)):
                vals = {m: point[m] for m in names}
                vals.update({m: grid_a for m in first})
                vals.update({m: grid_b for m in second})
                held = ok(count=True, **vals)
                k = int(np.argmax(held))
                if held[k] > cur and (best is None or held[k] > best[0]):
                    best = (int(held[k]), {**{m: int(grid_a[k]) for m in first}, **{m: int(grid_b[k]) for m in second}})
    return None if best is None else best[1]


def _groups(report, free):
    """Symbols that a two-symbol constraint holding whenever they are equal ties together
    (broadcast agreement ``(a - b)(a - 1)(b - 1) = 0``, ``a = b``): a search heuristic,
    every point it finds is checked exactly."""
    parent = {n: n for n in free}

    def root(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for c in report.constraints:
        fs = sorted(c.rel.free_symbols, key=lambda s: s.name)
        if not isinstance(c.rel, sp.Equality) or len(fs) != 2 or not all(s.name in parent for s in fs):
            continue
        a, b = fs
        try:
            if sp.expand((c.rel.lhs - c.rel.rhs).xreplace({b: a})) == 0:
                parent[root(b.name)] = root(a.name)
        except (TypeError, ValueError):
            continue
    out = {}
    for n in free:
        out.setdefault(root(n), []).append(n)
    return list(out.values())


def _divisors_of_constants(report):
    out = set()
    for c in report.constraints:
        for a in c.rel.atoms(sp.Integer):
            v = abs(int(a))
            if 1 < v <= LIMIT:
                out.update(d for d in range(1, int(v ** 0.5) + 1) if v % d == 0)
                out.update(v // d for d in range(1, int(v ** 0.5) + 1) if v % d == 0)
                out.update((v - 1, v + 1))  # sums that must make v (past + one new = v)
    return out



class Deferred:
    """A scan left for later (``solve(lazy=True)``): called once, its result kept."""

    __slots__ = ("_args", "_done")

    def __init__(self, *args):
        self._args, self._done = args, None

    def __call__(self):
        if self._done is None:
            f, *a = self._args
            self._done, self._args = f(*a), None
        return self._done


def _scanned(constraints, symbols, spatial_symbols, bindings):
    """(smallest_input, valid_ranges) as :func:`solve` computes them at ``bindings``."""
    from types import SimpleNamespace

    draft = SimpleNamespace(constraints=constraints, symbols=symbols, spatial_symbols=spatial_symbols,
                            smallest_input=None, valid_ranges={})
    _scan(draft, bindings)
    return draft.smallest_input, draft.valid_ranges


def _scan(report, bindings):
    """Fill ``report.smallest_input`` and ``report.valid_ranges`` (scans at ``bindings``);
    returns the vectorised test of every constraint (None: no constraint has a symbol)."""
    syms, ok = _lambdified(report)
    names = [s.name for s in syms]
    spatial = [n for n in report.symbols if n in report.spatial_symbols]  # symbol order: a set's varies per process
    if ok is not None:
        import numpy as np  # domain scans only: imported on use (start-up time, issue 12)
        if spatial:
            grid = np.arange(1, LIMIT + 1)
            vals = {n: bindings.get(n, 1) for n in names}
            for n in spatial:
                if n in vals:
                    vals[n] = grid
            valid = ok(**vals) if any(n in names for n in spatial) else np.ones(LIMIT, bool) & bool(ok(**{n: bindings[n] for n in names})[0])
            if valid.any():
                s = int(np.flatnonzero(valid)[0]) + 1
                report.smallest_input = {n: s for n in spatial}
        ref = dict(bindings)
        if violated(report, ref) and report.smallest_input:
            ref.update(report.smallest_input)  # ranges around a valid point say more
        for n in names:
            vals = {m: ref.get(m, 1) for m in names}
            vals[n] = np.arange(1, LIMIT + 1)
            report.valid_ranges[n] = describe(ok(**vals))
            report.valid_ranges[n]["others"] = {m: ref[m] for m in names if m != n}
    return ok

def solve(report, graph, user: dict, strict: bool = True, lazy: bool = False):
    """Fill ``report``'s bindings (and notes), its smallest valid input and each symbol's
    valid range. ``lazy`` (lint, issue 12): where the bindings hold, the two scans decide
    nothing else, and both fields are set to one :class:`Deferred` that makes them when
    called (the analysis gives the Report fields that call it on first read)."""
    unknown = [k for k in user if k not in report.symbols]
    if unknown:
        raise InputError(report.path, f"--bind: {', '.join(unknown)} not a symbol of this model (symbols: {', '.join(report.symbols) or 'none'})")
    base, notes = default_bindings(report, graph)
    bindings = {**base, **user}
    if lazy and not violated(report, bindings):
        # what the eager path below ends with when nothing is violated: these bindings and
        # notes; the scans read only the constraints and these bindings
        report.bindings, report.binding_notes = bindings, notes
        # copies: the eager scans see the report as analyze leaves it, and so must these
        # (a rule may add to the Report's constraint list before the first read)
        report.smallest_input = report.valid_ranges = Deferred(_scanned, list(report.constraints), dict(report.symbols),
                                                               set(report.spatial_symbols), dict(bindings))
        return
    ok = _scan(report, bindings)
    names = sorted({s.name for c in report.constraints for s in c.rel.free_symbols})
    bad = violated(report, bindings)
    if bad and report.smallest_input:
        # spatial sizes the user did not choose move to the smallest valid input
        moved = {k: v for k, v in report.smallest_input.items() if k not in user}
        if moved and not violated(report, {**bindings, **moved}):
            bindings.update(moved)
            notes.append("the default spatial size is outside the valid domain; evaluated at the smallest valid input "
                         + ", ".join(f"{k}={v}" for k, v in moved.items()))
            bad = []
    if bad and ok is not None:
        found = _search(ok, names, {m: bindings.get(m, 1) for m in names},
                        _groups(report, [m for m in names if m not in user]), _divisors_of_constants(report))
        if found and not violated(report, {**bindings, **found}):
            bindings.update(found)
            notes.append("no uniform spatial size is valid with the other bindings; evaluated at the valid point nearest the defaults "
                         + ", ".join(f"{k}={v}" for k, v in found.items()))
            bad = []
    if bad:
        if user and strict:
            c = bad[0]
            ranges = "; ".join(f"{k}: {v['text']}" for k, v in report.valid_ranges.items())
            raise BindingError(f"bindings {', '.join(f'{k}={v}' for k, v in bindings.items())} are outside the valid "
                               f"domain: {c.message} (node {c.node!r}){'; valid: ' + ranges if ranges else ''}")
        report.errors.append("no valid binding found: " + "; ".join(f"{c.message} (node {c.node!r})" for c in bad[:3]))
        report.bindings = None
        report.binding_notes = notes
        return
    report.bindings = bindings
    report.binding_notes = notes
