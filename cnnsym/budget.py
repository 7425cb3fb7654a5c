"""Budgets on a Report: at a binding, over a range of input sizes (with a proof), and
against a baseline report.

Over a range (``--for-all "H,W in 32..1024"``) every result says how its worst case was
established, and whether that is a proof (``Result.proved``):

- when the metric's formula is monotone in every ranged symbol (:func:`cnnsym.domain.monotone`:
  sums, products of non-negative factors, floors and ceilings of such) and the upper corner
  is valid, the maximum is there: one evaluation bounds every size (a proof);
- otherwise every valid size is visited (:class:`Scan`): each axis is first narrowed by the
  constraints on it alone, then the rest of the box is scanned in chunks with exact integer
  arithmetic, up to ``EXHAUSTIVE_LIMIT`` sizes (a proof);
- above that, ``SAMPLE`` sizes are drawn and every line says "sampled N of M sizes, not proved".

The peak of live activations is walked over the execution steps with a vector of running
totals, in the same scan. How many sizes of the range are valid is counted; a range where
most are invalid fails the check unless allowed (``--allow-invalid-sizes``).

Against a baseline report: :mod:`cnnsym.baseline`.
"""
from __future__ import annotations

from dataclasses import dataclass

# numpy is imported inside the functions that scan sizes: a check at fixed sizes never needs
# it, and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from .config import BUDGETS
from .domain import _exact, _lambdified, monotone
from .errors import InputError
from .render import human as _human
from .report import evaluate, peak_formula
from .symbolic import to_str
from .parse import BIN, SI, Range, parse_amount, parse_bind, parse_for_all, parse_growth  # noqa: F401 (public here too)

EXHAUSTIVE_LIMIT = 1 << 25  # sizes scanned exactly (about 33.5 million): a proof
SAMPLE = 1 << 20  # sizes drawn above that: not a proof
CHUNK = 1 << 20  # sizes evaluated at once


# budget key -> (Report totals key, per-layer attribute or None, kind, label), from the one
# registry of budgets (config.BUDGETS)
METRICS = {k: (b.total, b.layer, b.kind, b.label) for k, b in BUDGETS.items()}
CODES = {k: b.code for k, b in BUDGETS.items()}


def human(v, kind="count"):
    return _human(v, kind)


# ------------------------------------------------------------------------------ results
@dataclass
class Result:
    key: str  # budget key, e.g. max-macs
    label: str
    budget: int
    actual: object  # int (worst case over a range), None when unknown
    formula: object  # sympy expr
    where: str = ""  # binding / worst-case point, or the layer
    proof: str = ""  # how the worst case over a range was established
    layer: str = ""  # node name for per-layer budgets
    kind: str = "count"
    invalid_sizes: int = 0
    note: str = ""
    proved: bool = True  # False when the worst case over a range comes from a sample
    valid_sizes: object = None  # over a range: how many sizes are valid (an estimate when sampled)
    range_sizes: object = None  # over a range: how many sizes it holds
    sampled: bool = False
    range_ok: bool = True  # False: most sizes of the range are invalid for the model (and that was not allowed)
    # the report is incomplete (something not followed or not counted): ``actual`` is a lower
    # bound, so exceeding the budget is a definite failure but staying under it proves nothing
    lower_bound: bool = False
    allow_incomplete: bool = False  # accept a lower bound that passes (--allow-incomplete)

    @property
    def over(self):
        """The budget is exceeded for certain (a lower bound over it is over too)."""
        return self.actual is not None and self.actual > self.budget

    @property
    def ok(self):
        """The budget is met: the value is known, within the budget, and exact (a lower bound
        that passes is a pass only when incomplete models are allowed)."""
        return (self.actual is not None and self.actual <= self.budget
                and (not self.lower_bound or self.allow_incomplete))

    @property
    def status(self):
        """over | ok | unproven (a lower bound within the budget: the total is incomplete) |
        unknown (no value)."""
        if self.actual is None:
            return "unknown"
        if self.over:
            return "over"
        return "unproven" if self.lower_bound and not self.allow_incomplete else "ok"

    @property
    def headroom(self):
        if self.actual is None or not self.budget:
            return None
        return (self.budget - self.actual) / self.budget * 100.0

    def code(self):
        return CODES[self.key]

    def to_dict(self):
        return {"budget_key": self.key, "code": self.code(), "metric": self.label, "budget": self.budget,
                "actual": _num(self.actual), "ok": self.ok, "headroom_percent": None if self.headroom is None
                else round(self.headroom, 2), "formula": to_str(self.formula) if self.formula is not None else None,
                "where": self.where, "proof": self.proof, "layer": self.layer, "invalid_sizes": self.invalid_sizes,
                "valid_sizes": self.valid_sizes, "range_sizes": self.range_sizes, "proved": self.proved,
                "sampled": self.sampled, "range_ok": self.range_ok, "note": self.note,
                "lower_bound": self.lower_bound, "status": self.status}


def _num(v):
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return float(v)


def _layer_exprs(report, attr):
    """[(node name, expr)] for a per-layer metric."""
    out = []
    for r in report.nodes:
        if attr == "params":
            e = r.params
        elif attr == "macs":
            e = r.macs
        else:
            e = 0
            for o in r.node.outputs:
                t = report.tensors.get(o)
                if t is not None and t.bytes is not None:
                    e = e + t.bytes
        out.append((r.node.name, e))
    return out


def check_at(report, budgets: dict, bindings: dict) -> list:
    """Each budget (key -> amount) evaluated at ``bindings``."""
    at = ", ".join(f"{k}={v}" for k, v in bindings.items()) or "static dims"
    out = []
    lb = not report.complete
    for key, amount in budgets.items():
        total_key, attr, kind, label = METRICS[key]
        if total_key is not None:
            e = report.totals.get(total_key)
            if e is None:
                out.append(Result(key, label, amount, None, None, at, kind=kind, note="not available (no valid binding)"))
                continue
            v = evaluate(e, bindings)
            out.append(Result(key, label, amount, _int_or_none(v), e, at, kind=kind, lower_bound=lb))
        else:
            worst = None
            for name, e in _layer_exprs(report, attr):
                v = _int_or_none(evaluate(e, bindings))
                if v is not None and (worst is None or v > worst[1]):
                    worst = (name, v, e)
            if worst is None:
                out.append(Result(key, label, amount, None, None, at, kind=kind, lower_bound=lb))
            else:
                out.append(Result(key, label, amount, worst[1], worst[2], at, layer=worst[0], kind=kind,
                                  lower_bound=lb))
    return out


def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def mostly_invalid(valid, total) -> bool:
    """A range where fewer than half the sizes are valid for the model: checking it mostly
    checks nothing (``--allow-invalid-sizes`` accepts it)."""
    return total is not None and valid is not None and 2 * valid < total


def range_text(r) -> str:
    """'48 of 16,777,216 sizes in the range are valid for the model' (from a Result over a
    range); the count is an estimate when the range was sampled."""
    if r.range_sizes is None:
        return ""
    if r.sampled:
        return (f"about {r.valid_sizes:,} of {r.range_sizes:,} sizes in the range are valid for the model "
                f"(estimated from a sample, not counted)")
    return f"{r.valid_sizes:,} of {r.range_sizes:,} sizes in the range are valid for the model"


def check_range(report, budgets: dict, ranges: list, bindings: dict, graph=None, allow_invalid_sizes=False) -> list:
    """Each budget's worst case over the box ``ranges`` (other symbols at ``bindings``):
    proved by monotonicity (the upper corner valid) or by an exact scan of every valid size;
    above ``EXHAUSTIVE_LIMIT`` sizes (after each axis is narrowed by its own constraints)
    the sizes are sampled and every result says so (``proved`` False)."""
    import numpy as np  # size scans only: imported on use (start-up time, issue 12)
    ranged = [s for r in ranges for s in r.symbols]
    unknown = [s for s in ranged if s not in report.symbols]
    if unknown:
        raise InputError(report.path, f"--for-all: {', '.join(unknown)} not a symbol of this model "
                                      f"(symbols: {', '.join(report.symbols) or 'none'})")
    axes = []
    for r in ranges:
        vals = np.arange(r.lo, r.hi + 1, r.step, dtype=np.int64)
        for s in r.symbols:
            axes.append((s, vals))
    base = {k: v for k, v in bindings.items() if k not in ranged}
    scan = Scan(report, axes, base)
    corner = {**base, **{s: int(v[-1]) for s, v in axes}}
    corner_ok = scan.valid_at(corner)

    # what each budget needs: a proof by monotonicity, or a place in the one scan
    jobs, out = [], []
    for key, amount in budgets.items():
        total_key, attr, kind, label = METRICS[key]
        if total_key == "peak_activation_bytes":
            jobs.append((key, label, amount, kind, [("", _PEAK)]))
        elif total_key is not None:
            e = report.totals.get(total_key)
            if e is None:
                jobs.append((key, label, amount, kind, None))
            else:
                jobs.append((key, label, amount, kind, [("", sp.sympify(e))]))
        else:
            jobs.append((key, label, amount, kind, [(n, sp.sympify(e)) for n, e in _layer_exprs(report, attr) if e != 0]))
    exprs = {}
    for *_, items in jobs:
        for _, e in items or ():
            if e is _PEAK:
                if not (_peak_monotone(report) and corner_ok):
                    exprs[_PEAK] = None
            elif {s.name for s in e.free_symbols} & set(scan.names) and not (monotone(e) and corner_ok):
                exprs[e] = None
    best = scan.run(list(exprs), report)
    common = dict(invalid_sizes=scan.invalid, valid_sizes=scan.valid, range_sizes=scan.total,
                  sampled=scan.sampled, lower_bound=not report.complete,
                  range_ok=bool(allow_invalid_sizes) or not mostly_invalid(scan.valid, scan.total))
    for key, label, amount, kind, items in jobs:
        if items is None:
            out.append(Result(key, label, amount, None, None, kind=kind, note="not available", **common))
            continue
        cands = []
        for name, e in items:
            cands.append((name, e) + _worst(report, e, scan, corner, corner_ok, best))
        proved_all = all(c[6] for c in cands)
        unknown = [c for c in cands if c[2] is None]
        cands = [c for c in cands if c[2] is not None]
        if not cands:
            out.append(Result(key, label, amount, None, None, proof=scan.how(), kind=kind,
                              note="no valid size found in the sample" if scan.sampled else "no valid size in the range",
                              proved=not scan.sampled, **common))
            continue
        name, e, v, formula, pt, how, proved = max(cands, key=lambda c: c[2])
        if proved and not proved_all:  # the maximum over layers is only as proved as its least proved part
            how, proved = f"{how}; other layers {scan.how()}", False
        note = f"{len(unknown)} layer(s) had no valid size in the sample" if unknown and scan.sampled else ""
        out.append(Result(key, label, amount, v, formula, _pt(pt), how, layer=name, kind=kind, proved=proved,
                          note=note, **common))
    return out


_PEAK = object()  # stands for the peak of live activations, which is no single formula


def _peak_monotone(report):
    return all(t.bytes is None or monotone(sp.sympify(t.bytes)) for t in report.tensors.values())


def _worst(report, e, scan, corner, corner_ok, best):
    """(value, formula, point, proof, proved) of ``e``'s maximum over the valid sizes."""
    names = scan.names
    if e is _PEAK:
        if _peak_monotone(report) and corner_ok:
            f = peak_formula(report, corner)
            return (_int_or_none(evaluate(f, corner)), f, {s: corner[s] for s in names},
                    "every tensor's size is monotone, so the live total at every step is: the peak is at the "
                    "upper corner", True)
    else:
        free = {s.name for s in e.free_symbols}
        if not free & set(names):
            return _int_or_none(evaluate(e, corner)), e, {}, "does not depend on the ranged sizes", True
        if monotone(e) and corner_ok:
            return (_int_or_none(evaluate(e, corner)), e, {s: corner[s] for s in names},
                    f"monotone in {', '.join(sorted(free & set(names)))}: the maximum is at the upper corner", True)
    hit = best.get(e)
    if hit is None:
        return None, None, {}, scan.how(), not scan.sampled
    point = {**scan.base, **hit}
    if e is _PEAK:
        f = peak_formula(report, point)
        v = _int_or_none(evaluate(f, point))
    else:
        f, v = e, _int_or_none(evaluate(e, point))
    how = scan.how()
    if e is not _PEAK and monotone(e) or e is _PEAK and _peak_monotone(report):
        how = "monotone, but the upper corner is invalid: " + how
    return v, f, hit, how, not scan.sampled


class Scan:
    """The valid sizes of a box of ranged symbols, visited in chunks: each axis is first
    narrowed by the constraints on it alone (the valid domain's structure), then the rest
    of the box is scanned exactly (integer arithmetic) when it has at most
    ``EXHAUSTIVE_LIMIT`` points, else sampled (``SAMPLE`` points and the upper corner)."""

    def __init__(self, report, axes, base):
        self.base = dict(base)
        self.names = [s for s, _ in axes]
        self.total = 1
        for _, v in axes:
            self.total *= len(v)
        cons = list(report.constraints)
        ranged = set(self.names)
        narrowed = []
        for s, vals in axes:
            own = [c for c in cons if {x.name for x in c.rel.free_symbols} & ranged == {s}]
            if own:
                _, ok = _lambdified(_Cons(own))
                keep = ok(**{x.name: self.base.get(x.name, 1) for c in own for x in c.rel.free_symbols
                             if x.name != s}, **{s: vals})
                vals = vals[keep]
            narrowed.append(vals)
        self.axes = narrowed
        self.box = 1
        for v in narrowed:
            self.box *= len(v)
        self.syms, self.ok = _lambdified(report)
        self.sampled = self.box > EXHAUSTIVE_LIMIT
        self.seen = 0  # points evaluated
        self.valid = None  # exact count, or an estimate when sampled
        self.invalid = 0

    def valid_at(self, point):
        if self.ok is None:
            return True
        return bool(self.ok(**{s.name: point.get(s.name, 1) for s in self.syms})[0])

    def _chunks(self):
        import numpy as np  # size scans only: imported on use (start-up time, issue 12)
        lens = [len(v) for v in self.axes]
        if self.box == 0:
            return
        if not self.sampled:
            for start in range(0, self.box, CHUNK):
                idx = np.unravel_index(np.arange(start, min(self.box, start + CHUNK), dtype=np.int64), lens)
                yield {s: v[i] for s, v, i in zip(self.names, self.axes, idx)}
            return
        rng = np.random.default_rng(0)
        flat = rng.integers(0, self.box, size=SAMPLE, dtype=np.int64)
        flat = np.append(flat, self.box - 1)  # the upper corner is always included
        for start in range(0, flat.size, CHUNK):
            idx = np.unravel_index(flat[start:start + CHUNK], lens)
            yield {s: v[i] for s, v, i in zip(self.names, self.axes, idx)}

    def run(self, exprs, report):
        """{expr: point of its maximum over the valid sizes} (exprs may hold _PEAK); also
        counts the valid sizes."""
        import numpy as np  # size scans only: imported on use (start-up time, issue 12)
        best = {}
        nvalid = seen = 0
        fns = {e: _vector_fn(e) for e in exprs if e is not _PEAK}
        peak = _PeakVector(report) if _PEAK in exprs else None
        for cols in self._chunks():
            n = len(next(iter(cols.values()))) if cols else 1
            seen += n
            if self.ok is not None:
                valid = self.ok(**{s.name: cols.get(s.name, self.base.get(s.name, 1)) for s in self.syms})
                # constraints on symbols outside the range only (Eq(C, 3)) give one value for the chunk
                valid = np.broadcast_to(np.asarray(valid, dtype=bool), (n,))
            else:
                valid = np.ones(n, dtype=bool)
            nvalid += int(valid.sum())
            if not valid.any():
                continue
            vc = {s: c[valid] for s, c in cols.items()}
            m = int(valid.sum())
            for e in exprs:
                vals = peak(vc, self.base, m) if e is _PEAK else fns[e](vc, self.base, m)
                i = int(np.argmax(vals))
                if e not in best or vals[i] > best[e][0]:
                    best[e] = (vals[i], {s: int(vc[s][i]) for s in self.names})
        self.seen = seen
        if self.sampled:
            self.valid = int(round(nvalid / max(seen, 1) * self.total))
            self.sample_valid = nvalid
        else:
            self.valid = nvalid
        self.invalid = self.total - self.valid
        return {e: pt for e, (_, pt) in best.items()}

    def how(self):
        if self.sampled:
            return f"sampled {self.seen:,} of {self.total:,} sizes, not proved"
        return (f"evaluated exactly at all {self.valid:,} valid sizes of the {self.total:,} in the range"
                + (f" (scanned {self.box:,} after narrowing each axis by its own constraints)"
                   if self.box < self.total else ""))


class _Cons:
    def __init__(self, constraints):
        self.constraints = constraints


def _vector_fn(e):
    import numpy as np  # size scans only: imported on use (start-up time, issue 12)
    free = sorted(e.free_symbols, key=lambda s: s.name)
    if not free:
        c = int(e) if e.is_Integer else float(e)
        return lambda cols, base, n: np.full(n, c)
    f = sp.lambdify(free, _exact(e), modules=[{"_IntFloor": np.floor_divide, "Min": np.minimum,
                                               "Max": np.maximum, "Mod": np.mod}, "numpy"])

    def run(cols, base, n):
        a = [np.asarray(cols.get(s.name, base.get(s.name, 1)), dtype=np.int64) for s in free]
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*a)), (n,))

    return run


class _PeakVector:
    """The peak of live activation bytes at many sizes at once: the execution steps walked
    once with a vector of running totals (the tensors' live intervals, as
    :func:`cnnsym.report.peak_tensors` walks them at one size)."""

    def __init__(self, report):
        self.steps = report.steps
        self.base, self.starts, self.ends = [], {}, {}
        fns = {}
        for t in report.tensors.values():
            if t.live is None or t.bytes is None:
                continue
            e = sp.sympify(t.bytes)
            if e not in fns:
                fns[e] = _vector_fn(e)
            lo, hi = t.live
            if lo < 0:
                self.base.append(e)
                lo = 0
            if hi < self.steps:
                self.ends.setdefault(hi, []).append(e)
            self.starts.setdefault(lo, []).append(e)
        self.fns = fns

    def __call__(self, cols, base, n):
        import numpy as np  # size scans only: imported on use (start-up time, issue 12)
        vals = {e: f(cols, base, n).astype(np.int64) for e, f in self.fns.items()}
        best = np.zeros(n, dtype=np.int64)  # before the first step: the graph inputs alone
        for e in self.base:
            best = best + vals[e]
        cur = np.zeros(n, dtype=np.int64)
        for step in range(self.steps):
            for e in self.starts.get(step, ()):
                cur = cur + vals[e]
            best = np.maximum(best, cur)
            for e in self.ends.get(step, ()):
                cur = cur - vals[e]
        return best


def _pt(pt):
    return ", ".join(f"{k}={v}" for k, v in pt.items())
