"""Budgets on a Report: at a binding, over a range of input sizes (with a proof), and
against a baseline report.

Over a range (``--for-all "H,W in 32..1024"``) the worst case is *proved*, not sampled:

- when the metric's formula is monotone in every ranged symbol (:func:`cnnsym.domain.monotone`:
  sums, products of non-negative factors, floors and ceilings of such), its maximum over
  the box is at the upper corner, so one evaluation there bounds every size in the range;
- otherwise the formula is evaluated exactly (integer arithmetic, vectorised) at every
  point of the range, up to ``EXHAUSTIVE_LIMIT`` points, which is also a proof; above that
  the result says it was sampled.

Sizes in the range where the model is invalid (its constraints fail) are left out and
counted. Peak activation memory is the maximum over execution steps of live bytes, each a
sum of monotone tensor sizes, so it is monotone when they are: it is re-evaluated at the
corner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .domain import _exact, _lambdified, monotone
from .errors import InputError
from .render import human as _human
from .report import evaluate, peak_formula
from .symbolic import to_str
from .parse import BIN, SI, Range, parse_amount, parse_bind, parse_for_all, parse_growth  # noqa: F401 (public here too)

EXHAUSTIVE_LIMIT = 4_000_000


# budget key -> (Report totals key, per-layer attribute or None, kind, label)
METRICS = {
    "max-params": ("params.total", None, "count", "params (total)"),
    "max-trainable-params": ("params.trainable", None, "count", "params (trainable)"),
    "max-macs": ("macs", None, "count", "MACs"),
    "max-flops": ("flops", None, "count", "FLOPs"),
    "max-activation-bytes": ("activation_bytes", None, "bytes", "activation bytes"),
    "max-peak-activation-bytes": ("peak_activation_bytes", None, "bytes", "peak activation bytes"),
    "max-layer-params": (None, "params", "count", "params per layer"),
    "max-layer-macs": (None, "macs", "count", "MACs per layer"),
    "max-layer-activation-bytes": (None, "bytes", "bytes", "output bytes per layer"),
}
CODES = {"max-params": "CNS301", "max-trainable-params": "CNS301", "max-macs": "CNS302", "max-flops": "CNS303",
         "max-activation-bytes": "CNS304", "max-peak-activation-bytes": "CNS304", "max-layer-params": "CNS305",
         "max-layer-macs": "CNS305", "max-layer-activation-bytes": "CNS305"}


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

    @property
    def ok(self):
        return self.actual is not None and self.actual <= self.budget

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
                "note": self.note}


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
    for key, amount in budgets.items():
        total_key, attr, kind, label = METRICS[key]
        if total_key is not None:
            e = report.totals.get(total_key)
            if e is None:
                out.append(Result(key, label, amount, None, None, at, kind=kind, note="not available (no valid binding)"))
                continue
            v = evaluate(e, bindings)
            out.append(Result(key, label, amount, _int_or_none(v), e, at, kind=kind))
        else:
            worst = None
            for name, e in _layer_exprs(report, attr):
                v = _int_or_none(evaluate(e, bindings))
                if v is not None and (worst is None or v > worst[1]):
                    worst = (name, v, e)
            if worst is None:
                out.append(Result(key, label, amount, None, None, at, kind=kind))
            else:
                out.append(Result(key, label, amount, worst[1], worst[2], at, layer=worst[0], kind=kind))
    return out


def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def check_range(report, budgets: dict, ranges: list, bindings: dict, graph=None) -> list:
    """Each budget's worst case over the box ``ranges`` (other symbols at ``bindings``),
    proved by monotonicity or exhaustive evaluation."""
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
    npoints = 1
    for _, v in axes:
        npoints *= len(v)
    sample = npoints > EXHAUSTIVE_LIMIT
    if sample:
        rng = np.random.default_rng(0)
        k = EXHAUSTIVE_LIMIT
        cols = {s: rng.choice(v, size=k) for s, v in axes}
        for s, v in axes:  # corners are always included
            cols[s] = np.concatenate([cols[s], [v[0], v[-1]]])
    else:
        grids = np.meshgrid(*[v for _, v in axes], indexing="ij")
        cols = {s: g.ravel() for (s, _), g in zip(axes, grids)}
    n = len(next(iter(cols.values()))) if cols else 1
    base = {k: v for k, v in bindings.items() if k not in cols}
    # validity of every point
    syms, ok = _lambdified(report)
    valid = np.ones(n, dtype=bool)
    if ok is not None:
        args = {s.name: cols.get(s.name, base.get(s.name, 1)) for s in syms}
        valid = ok(**args)
    invalid = int((~valid).sum())
    corner = {**base, **{s: int(v[-1]) for s, v in axes}}

    def evaluate_all(e):
        e = sp.sympify(e)
        free = sorted(e.free_symbols, key=lambda s: s.name)
        if not free:
            return np.full(n, int(e) if e.is_Integer else float(e), dtype=object if e.is_Integer else float)
        f = sp.lambdify(free, _exact(e), modules=[{"_IntFloor": np.floor_divide, "Min": np.minimum,
                                                   "Max": np.maximum, "Mod": np.mod}, "numpy"])
        a = [np.asarray(cols.get(s.name, base.get(s.name, 1)), dtype=np.int64) for s in free]
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*a)), (n,))

    def worst_of(e, key_note=""):
        """(value, point dict, proof) of the maximum of e over valid points."""
        e = sp.sympify(e)
        free = {s.name for s in e.free_symbols}
        if not (free & set(cols)):
            return _int_or_none(evaluate(e, corner)), {}, "does not depend on the ranged sizes"
        if monotone(e) and valid[-1 if not sample else n - 1]:
            return _int_or_none(evaluate(e, corner)), {s: corner[s] for s in cols}, \
                f"monotone in {', '.join(sorted(free & set(cols)))}: the maximum is at the upper corner"
        vals = evaluate_all(e)
        vals = np.where(valid, vals, -1)
        if not valid.any():
            return None, {}, "no valid size in the range"
        i = int(np.argmax(vals))
        point = {s: int(cols[s][i]) for s in cols}
        exact = evaluate(e, {**base, **point})
        how = (f"sampled {n} points (range too large to enumerate): not proved" if sample
               else f"evaluated exactly at all {n - invalid} valid sizes")
        if monotone(e):
            how = "monotone, the upper corner is invalid: " + how
        return _int_or_none(exact), point, how

    out = []
    for key, amount in budgets.items():
        total_key, attr, kind, label = METRICS[key]
        if total_key == "peak_activation_bytes":
            out.append(_peak_over_range(report, amount, label, kind, corner, cols, valid, key, invalid))
            continue
        if total_key is not None:
            e = report.totals.get(total_key)
            if e is None:
                out.append(Result(key, label, amount, None, None, kind=kind, note="not available"))
                continue
            v, pt, how = worst_of(e)
            out.append(Result(key, label, amount, v, e, _pt(pt), how, kind=kind, invalid_sizes=invalid))
        else:
            best = None
            for name, e in _layer_exprs(report, attr):
                if e == 0:
                    continue
                v, pt, how = worst_of(e)
                if v is not None and (best is None or v > best[0]):
                    best = (v, pt, how, name, e)
            if best is None:
                out.append(Result(key, label, amount, None, None, kind=kind))
            else:
                v, pt, how, name, e = best
                out.append(Result(key, label, amount, v, e, _pt(pt), how, layer=name, kind=kind, invalid_sizes=invalid))
    return out


def _pt(pt):
    return ", ".join(f"{k}={v}" for k, v in pt.items())


def _peak_over_range(report, amount, label, kind, corner, cols, valid, key, invalid):
    """The peak of live activations over the range, from the tensors' live intervals in the
    Report (no graph walk)."""
    tensors = report.tensors
    all_mono = all(t.bytes is None or monotone(t.bytes) for t in tensors.values())
    if all_mono and valid[-1]:
        e = peak_formula(report, corner)
        return Result(key, label, amount, _int_or_none(evaluate(e, corner)), e, _pt({s: corner[s] for s in cols}),
                      "every tensor's size is monotone, so the live total at every step is: the peak is at the "
                      "upper corner", kind=kind, invalid_sizes=invalid)
    # otherwise evaluate the peak at every valid point (slow path: a Python loop)
    idx = np.flatnonzero(valid)
    if idx.size > 20000:
        idx = idx[np.linspace(0, idx.size - 1, 20000).astype(int)]
        how = f"sampled {idx.size} valid sizes: not proved"
    else:
        how = f"evaluated at all {idx.size} valid sizes"
    best = None
    for i in idx:
        b = {**corner, **{s: int(cols[s][i]) for s in cols}}
        e = peak_formula(report, b)
        v = _int_or_none(evaluate(e, b))
        if v is not None and (best is None or v > best[0]):
            best = (v, e, {s: b[s] for s in cols})
    if best is None:
        return Result(key, label, amount, None, None, kind=kind, note="no valid size in the range")
    return Result(key, label, amount, best[0], best[1], _pt(best[2]), how, kind=kind, invalid_sizes=invalid)


# ------------------------------------------------------------------------------ baseline
@dataclass
class Diff:
    metric: str
    old: object
    new: object
    kind: str = "count"

    @property
    def growth(self):
        if self.old is None or self.new is None:
            return None
        if self.old == 0:
            return 0.0 if self.new == 0 else float("inf")
        return (self.new - self.old) / abs(self.old) * 100.0


@dataclass
class BaselineResult:
    bindings: dict
    totals: list  # Diff
    layers: list = field(default_factory=list)  # (name, status, [Diff]) status: changed | added | removed
    max_growth: float = 0.0
    note: str = ""

    @property
    def failed(self):
        return [d for d in self.totals if d.growth is not None and d.growth > self.max_growth + 1e-9]


BASE_TOTALS = [("params.total", "params", "count"), ("params.trainable", "trainable params", "count"),
               ("macs", "MACs", "count"), ("flops", "FLOPs", "count"),
               ("activation_bytes", "activation bytes", "bytes"),
               ("peak_activation_bytes", "peak activation bytes", "bytes")]


def load_baseline(path: str) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(path, f"--baseline: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise InputError(path, f"--baseline: not JSON ({e})") from None
    if not isinstance(doc, dict) or "nodes" not in doc or "values" not in doc:
        raise InputError(path, "--baseline: not a cnnsym report (make one with `cnnsym report MODEL --format json -o FILE`)")
    if doc.get("values") is None:
        raise InputError(path, "--baseline: the report has no values (it was made without a valid binding)")
    return doc


def compare(report, doc: dict, max_growth: float) -> BaselineResult:
    b = doc.get("bindings") or {}
    note = ""
    usable = {k: v for k, v in b.items() if k in report.symbols}
    bindings = {**(report.bindings or {}), **usable}
    if set(b) - set(report.symbols):
        note = f"baseline symbols {', '.join(sorted(set(b) - set(report.symbols)))} are not in this model"
    vals = doc["values"]

    def old_total(key):
        if key.startswith("params."):
            return (vals.get("params") or {}).get(key.split(".", 1)[1])
        return vals.get(key)

    totals = []
    for key, label, kind in BASE_TOTALS:
        e = report.totals.get(key)
        new = _int_or_none(evaluate(e, bindings)) if e is not None else None
        if key == "peak_activation_bytes" and report.bindings != bindings:
            new = None  # the peak formula is for the report's own bindings
        totals.append(Diff(label, old_total(key), new, kind))
    old_nodes = {n["name"]: n for n in doc.get("nodes", [])}
    layers = []
    seen = set()
    for r in report.nodes:
        name = r.node.name
        seen.add(name)
        nv = {"params": _int_or_none(evaluate(r.params, bindings)), "macs": _int_or_none(evaluate(r.macs, bindings))}
        o = old_nodes.get(name)
        if o is None:
            layers.append((name, "added", [Diff(k, None, v) for k, v in nv.items()]))
            continue
        ov = o.get("values") or {}
        op = ov.get("params") or {}
        old_params = sum(v for v in op.values() if isinstance(v, (int, float))) if op else None
        diffs = [Diff("params", old_params, nv["params"]), Diff("macs", ov.get("macs"), nv["macs"])]
        if any(d.old != d.new for d in diffs):
            layers.append((name, "changed", diffs))
    for name, o in old_nodes.items():
        if name not in seen:
            ov = o.get("values") or {}
            op = ov.get("params") or {}
            layers.append((name, "removed", [Diff("params", sum(v for v in op.values() if isinstance(v, (int, float))), None),
                                             Diff("macs", ov.get("macs"), None)]))
    return BaselineResult(bindings, totals, layers, max_growth, note)
