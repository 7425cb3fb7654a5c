"""The receptive-field checks of ``cnnsym verify``: k-ary mask searches (``verify_rf``) run
through the onnxruntime worker, compared with the report's fields (clipped to the image)."""
from __future__ import annotations

import math
import time

from ..analyze import evaluate
from .child import ChildError, Crashed
from .linear import Check, Search, field_binding

MAX_POINTS = 3  # masks per search and round


def _fmt_binding(b):
    return ",".join(f"{k}={v}" for k, v in b.items())


class _Probe:
    """One probe on one axis: its unit, neighbour and three searches."""

    def __init__(self, report, name, ax, b, out_shape, extent):
        self.name, self.ax, self.b, self.extent = name, ax, b, extent
        units = out_shape[2 + ax]
        self.unit = units // 2
        if self.unit + 1 >= units:
            self.unit = max(0, units - 2)
        self.d = max(1, min(16, units - 1 - self.unit))
        # the formula's field of the unit, clipped by the image (a field larger than the
        # image, or reaching into padding, can only be seen where there are pixels)
        f = report.tensors[name].rf[2 + ax]
        self.size, self.stride = evaluate(f.size, b), evaluate(f.stride, b)
        start = evaluate(f.offset + self.unit * f.stride - (f.size - 1) / 2, b)
        lo, hi = math.ceil(start), math.floor(start + self.size - 1)
        self.clipped = lo < 0 or hi > extent - 1
        clip = lambda v: min(max(v, 0), extent - 1)  # noqa: E731
        self.exp_lo, self.exp_hi = clip(lo), clip(hi)
        self.first = Search(name, ax, self.unit, "first", extent, self.exp_lo)
        self.last = Search(name, ax, self.unit, "last", extent, self.exp_hi)
        # where clipped, the field ends where the network's sight ends: the first/last row
        # that any unit sees (floor-mode strides drop trailing rows: squeezenet at 64 never
        # sees row 63), measured and said so
        self.cov_first = Search(name, ax, None, "first", extent, 0) if lo < 0 else None
        self.cov_last = Search(name, ax, None, "last", extent, extent - 1) if hi > extent - 1 else None
        self.next = None
        if self.unit + self.d < units:
            nxt = math.ceil(start + self.d * self.stride)
            self.next_clipped = nxt < 0
            self.exp_next = clip(nxt)
            self.next = Search(name, ax, self.unit + self.d, "first", extent, self.exp_next)

    @property
    def searches(self):
        return [s for s in (self.first, self.last, self.next, self.cov_first, self.cov_last) if s is not None]


def check_fields(worker, report, picks, res, counter, budget_s, round_bytes):
    deadline = time.monotonic() + budget_s
    spatial = sorted(report.spatial_symbols, key=lambda s: report.symbols[s])
    base = dict(report.bindings)
    for s, (_, axis) in report.symbols.items():
        if axis == 0:
            base[s] = 1
    in_dims = report.tensors[report.inputs[0]].shape
    groups = {}  # input shape -> [probes]
    for ax in range(len(in_dims) - 2):
        need = 16
        for p in picks:
            f = report.tensors[p].rf[2 + ax]
            need = max(need, int(math.ceil(evaluate(f.size, base))) + 4 * int(math.ceil(evaluate(f.stride, base))) + 8)
        b = field_binding(report, base, spatial, ax, need)
        if b is None:  # no valid input fits the fields: measure at the report's own sizes, clipped
            b = dict(base)
        in_shape = tuple(int(evaluate(d, b)) for d in in_dims)
        for p in picks:
            out_shape = [int(evaluate(d, b)) for d in report.tensors[p].shape]
            groups.setdefault(in_shape, []).append(_Probe(report, p, ax, b, out_shape, in_shape[2 + ax]))
    plans, runs = [], 0
    for in_shape, members in groups.items():
        entry = max(1, sum(int(evaluate(t.bytes, members[0].b)) for t in report.tensors.values() if t.bytes is not None))
        chunk = max(1, min(1024, round_bytes // entry))
        n = sum(len(m.searches) for m in members)
        g = max(1, min(MAX_POINTS, chunk // max(1, n)))
        plans.append([in_shape, members, chunk, g])
        runs += 1
    counter.expect(runs)
    probe_axes = {}
    for _, members, _, _ in plans:
        for m in members:
            probe_axes.setdefault(m.name, set()).add(m.ax)
    probe_axes = {p: sorted(v) for p, v in probe_axes.items()}
    for plan in plans:
        in_shape, members, chunk, g = plan
        try:
            _search(worker, in_shape, members, chunk, g, probe_axes, counter, deadline, res)
        except Crashed as e:
            res.errors.append(f"{e} measuring receptive fields at {_fmt_binding(members[0].b) or 'the static sizes'}")
            continue
        except ChildError as e:
            res.notes.append(f"receptive fields at {_fmt_binding(members[0].b) or 'the static sizes'} not measured: {e}")
            continue
        for m in members:
            _compare(report, m, in_shape, res)


def _run(worker, in_shape, masks, chunk, probe_axes, counter, what):
    got = worker.call(("rf", in_shape, masks, chunk, probe_axes))
    counter(what)
    return got


def _search(worker, in_shape, members, chunk, g, probe_axes, counter, deadline, res):
    axes = sorted({m.ax for m in members})
    zero = [("zero", ax, 0) for ax in axes]
    full = [("first", ax, in_shape[2 + ax] - 1) for ax in axes]
    proof = sorted({(s.kind, s.ax, p) for m in members for s in m.searches for p in s.proof_points()} - set(full))
    start = zero + full + proof
    got = _run(worker, in_shape, start, chunk, probe_axes, counter, "receptive fields: proof run")
    if any(got[m.name][m.ax][: len(axes)].any() for m in members):
        # an all-zero mask responded: the graph mixes batch entries; one mask per run
        chunk, g = 1, 1
        got = _run(worker, in_shape, start, 1, probe_axes, counter, "receptive fields: proof run, one mask a run")
        if any(got[m.name][m.ax][: len(axes)].any() for m in members):
            raise ChildError("the linearised graph responds to an empty input")
    for m in members:
        at_full = got[m.name][m.ax][len(axes) + axes.index(m.ax)]
        for s in m.searches:
            if not (at_full.any() if s.unit is None else at_full[s.unit]):
                s.dead = True
    _update(members, start, got)
    rnd = 1
    while True:
        pending = [s for m in members for s in m.searches if not s.done]
        if not pending:
            return
        if time.monotonic() > deadline:
            res.notes.append("receptive-field measurement stopped by --rf-budget; unfinished fields not compared")
            for s in pending:
                s.dead = True
            return
        masks = sorted({(s.kind, s.ax, p) for s in pending for p in s.points(g)})
        rnd += 1
        got = _run(worker, in_shape, masks, chunk, probe_axes, counter, f"receptive fields: search run {rnd}")
        _update(members, masks, got)


def _update(members, masks, got):
    for m in members:
        line = got[m.name][m.ax]
        for s in m.searches:
            if s.dead:
                continue
            for i, (kind, ax, p) in enumerate(masks):
                if kind == s.kind and ax == s.ax:
                    s.update(p, bool(line[i].any() if s.unit is None else line[i, s.unit]))


def _compare(report, m, in_shape, res):
    where = f"{m.name} axis {m.ax + 2}"
    binding = _fmt_binding(m.b)
    if m.first.dead:
        res.notes.append(f"receptive field of {m.name!r} axis {m.ax + 2} not measured: the linearised unit does not respond")
        return
    if m.first.lo > m.first.hi or m.last.lo > m.last.hi:
        res.checks.append(Check("receptive_field", where, "a contiguous field", "responses not monotone in the mask", False, binding))
        return
    extent, size_f, stride_f = m.extent, m.size, m.stride
    seen_lo = m.cov_first.lo if m.cov_first is not None and not m.cov_first.dead else 0
    seen_hi = m.cov_last.lo if m.cov_last is not None and not m.cov_last.dead else extent - 1
    exp_lo = seen_lo if m.cov_first is not None else m.exp_lo
    exp_hi = seen_hi if m.cov_last is not None else m.exp_hi
    lo, hi = m.first.lo, m.last.lo
    nxt = None if m.next is None or m.next.dead else m.next.lo
    exp_next = None if m.next is None else seen_lo if m.next_clipped else m.exp_next
    jump_ok = nxt is None or nxt == exp_next
    note = ""
    if m.clipped:
        note = ", clipped to the image" if (seen_lo, seen_hi) == (0, extent - 1) else \
            f", clipped to rows {seen_lo}..{seen_hi}, all the network sees"
    res.checks.append(Check(
        "receptive_field", where,
        f"rows {exp_lo}..{exp_hi} of 0..{extent - 1} (size {size_f}{note}, jump {stride_f}"
        f"{'' if exp_next is None else f', unit +{m.d} starts at {exp_next}'})",
        f"rows {lo}..{hi} (size {hi - lo + 1}{'' if nxt is None else f', unit +{m.d} starts at {nxt}'})",
        (lo, hi) == (exp_lo, exp_hi) and jump_ok and (m.next is None or nxt is not None), binding))
