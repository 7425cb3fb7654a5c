"""Prove a report's numbers by executing the model on onnxruntime.

For each binding (the report's own, the requested sizes, and K random ones drawn from the
valid domain, odd and prime sizes included) the model runs with graph optimisations off and
every node output exposed; every output's shape must equal its formula evaluated at that
binding. Parameter totals are compared with a plain count of the file's initializers and
Constant nodes. Receptive fields are measured on a linearised copy (``verify_rf``).

onnxruntime runs in a child process (``verify_child``): a crash there is a one-line error
(exit 2, :attr:`VerifyResult.errors`) and the checks that could run are still reported. One
InferenceSession serves every binding, another every receptive-field probe. A PyTorch
source model is lowered to ONNX in memory (``lower``); nothing is written to disk.
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

import numpy as np

from ..analyze import evaluate
from ..domain import violated
from .. import api
from ..errors import CnnsymError, InputError
from ..frontends import is_source
from ..lower import COMPUTED_KEY, to_model
from .child import ChildError, Crashed, Worker
from .fields import check_fields
from . import proto as pb
from .linear import NP_TYPES, Check, linearize, make_masks, probes

__all__ = ["Check", "VerifyResult", "parse_sizes", "pick_bindings", "verify", "verify_model"]


@dataclass
class VerifyResult:
    path: str
    device: str
    checks: list = field(default_factory=list)
    bindings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # one line each: onnxruntime crashed (exit 2)

    @property
    def failures(self):
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self):
        return not self.failures and not self.errors and bool(self.checks)

    @property
    def exit_code(self) -> int:
        """0 every check holds, 1 a check failed, 2 onnxruntime could not run (crashed)."""
        return 2 if self.errors else 0 if self.ok else 1

    def verdict(self) -> str:
        n, bad = len(self.checks), len(self.failures)
        kinds = sorted({c.what for c in self.checks})
        if self.errors:
            return f"ERROR: {self.errors[0]} ({n - bad} of {n} checks that ran hold)"
        if bad:
            return f"FAIL: {bad} of {n} checks disagree ({', '.join(sorted({c.what for c in self.failures}))}) on {self.device}"
        return f"OK: {n} checks hold ({', '.join(kinds)}) at {len(self.bindings)} bindings on {self.device}"


def parse_sizes(text) -> list:
    """'224x224,193x161' -> [(224, 224), (193, 161)]; anything else is an InputError."""
    out = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        vals = []
        for tok in item.lower().split("x"):
            tok = tok.strip()
            if not tok.lstrip("-").isdigit():
                raise InputError(None, f"--sizes: {item!r} is not sizes like 224x224 ({tok!r} is not an integer)")
            v = int(tok)
            if v < 1:
                raise InputError(None, f"--sizes: {item!r}: every size must be >= 1")
            vals.append(v)
        out.append(tuple(vals))
    return out


def _providers(device):
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise CnnsymError("--device cuda: onnxruntime has no CUDAExecutionProvider here "
                              "(install onnxruntime-gpu and run on a machine with an NVIDIA GPU)")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise CnnsymError(f"--device {device!r}: expected cpu or cuda")


def load_runnable(path: str, notes: list):
    """The model with real weights where present; missing data -> seeded random weights
    of the declared shapes (said in the notes)."""
    model = pb.load(path)
    folder = os.path.dirname(os.path.abspath(path))
    rng = np.random.default_rng(0)
    missing = 0
    for t in model.graph.initializer:
        if t.data_location == pb.EXTERNAL:
            loc = {e.key: e.value for e in t.external_data}.get("location", "")
            full = os.path.normpath(os.path.join(folder, loc))
            if loc and not os.path.isabs(loc) and os.path.commonpath([full, folder]) == folder and os.path.exists(full):
                from onnx.external_data_helper import load_external_data_for_tensor  # the rare case: onnx itself

                load_external_data_for_tensor(t, folder)
                t.data_location = 0
                del t.external_data[:]
                continue
            _randomize(t, rng)
            missing += 1
        elif not _has_data(t) and math.prod(t.dims) > 0:
            _randomize(t, rng)
            missing += 1
    if missing:
        notes.append(f"{missing} initializers have no data in the file: verified with random weights of the declared shapes")
    return model


def _has_data(t):
    return bool(t.raw_data) or any(len(getattr(t, f)) for f in ("float_data", "int32_data", "int64_data",
                                                                 "double_data", "uint64_data", "string_data"))


def _randomize(t, rng):
    dt = NP_TYPES.get(t.data_type, np.float32)
    shape = tuple(t.dims)
    arr = (rng.standard_normal(shape) * 0.05).astype(dt) if np.issubdtype(dt, np.floating) else np.ones(shape, dt)
    t.ClearField("external_data")
    t.data_location = 0
    t.raw_data = pb.tensor(t.name, arr).raw_data


def _expose_all(model):
    m = pb.copy(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(pb.value_info(o))
                have.add(o)
    return m


def _is_prime(n):
    return n > 1 and all(n % p for p in range(2, int(n ** 0.5) + 1))


def pick_bindings(report, sizes, k, seed):
    """The report's binding, each requested size (tuples, or 'HxW' strings), then k random
    valid bindings."""
    spatial = sorted(report.spatial_symbols, key=lambda s: report.symbols[s])
    out = [dict(report.bindings)]
    for item in sizes:
        vals = list(parse_sizes(item)[0]) if isinstance(item, str) else [int(v) for v in item]
        text = "x".join(map(str, vals))
        if len(vals) != len(spatial):
            raise InputError(report.path, f"--sizes {text}: {len(vals)} sizes for {len(spatial)} spatial symbols ({', '.join(spatial) or 'none: the sizes are static'})")
        b = {**report.bindings, **dict(zip(spatial, vals))}
        bad = violated(report, b)
        if bad:
            raise InputError(report.path, f"--sizes {text} is outside the valid domain: {bad[0].message} (node {bad[0].node!r})")
        if b not in out:
            out.append(b)
    rng = random.Random(seed)
    free = [s for s in report.symbols]
    tries = 0
    while k > 0 and free and tries < 2000:
        tries += 1
        b = dict(report.bindings)
        for s in free:
            r = report.valid_ranges.get(s, {})
            lo = r.get("min") or 1
            hi = r.get("max")
            if s in report.spatial_symbols:
                top = hi if hi is not None else max(lo * 4, lo + 300)
                v = rng.randint(lo, top)
                if rng.random() < 0.5:  # odd and prime sizes are where off-by-ones hide
                    primes = [p for p in range(lo, top + 1) if _is_prime(p)]
                    v = rng.choice(primes) if primes else v | 1
                b[s] = v
            elif s in report.symbols and report.symbols[s][1] == 0:
                b[s] = rng.randint(1, 3) if hi is None else rng.randint(lo, min(hi, 3) if hi >= lo else lo)
        if not violated(report, b) and b not in out:
            out.append(b)
            k -= 1
    return out


def _fmt_binding(b):
    return ",".join(f"{k}={v}" for k, v in b.items())


MAX_BYTES = 8 * 2**30
RF_BUDGET_S = 60.0
RF_ROUND_BYTES = 256 * 2**20  # activations one receptive-field run may hold
SHAPES_PREFIX = "cnnsym_shape/"
RUNNABLE_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")  # shape arithmetic added by lowering a source model


class _Runner:
    """What the child process does; built in the parent, inherited by fork."""

    def __init__(self, exposed, linear, providers, inputs):
        self.models = {"shapes": exposed, "rf": linear}
        self.providers, self.inputs = providers, inputs
        self.sessions = {}
        self.one_at_a_time = False

    def session(self, kind):
        if kind not in self.sessions:
            import onnxruntime as ort

            ort.set_default_logger_severity(4)  # no coloured log lines on the user's terminal
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            so.log_severity_level = 4
            self.sessions[kind] = ort.InferenceSession(self.models[kind].SerializeToString(), so, providers=self.providers)
        return self.sessions[kind]

    def __call__(self, req):
        if req[0] == "shapes":
            return self._shapes(*req[1:])
        return self._rf(*req[1:])

    def _shapes(self, shapes, seed):
        sess = self.session("shapes")
        rng = np.random.default_rng(seed)
        feeds = {}
        for (name, dtype), shape in zip(self.inputs, shapes):
            dt = NP_TYPES.get(dtype, np.float32)
            if np.issubdtype(dt, np.floating):
                feeds[name] = rng.standard_normal(shape).astype(dt)
            elif dt == np.bool_:
                feeds[name] = rng.integers(0, 2, size=shape).astype(dt)
            else:
                feeds[name] = rng.integers(0, 3, size=shape).astype(dt)
        names = [o.name for o in sess.get_outputs()]
        return [(n, list(a.shape)) for n, a in zip(names, sess.run(names, feeds))]

    def _rf(self, in_shape, masks, chunk, probe_axes):
        """{probe: {axis: bool [len(masks), units along axis]}}: whether each unit along the
        axis (at the centre of the other axes) responds to each mask."""
        sess = self.session("rf")
        name, dtype = self.inputs[0]
        dt = NP_TYPES.get(dtype, np.float32)
        names = list(probe_axes)
        got = {p: {ax: [] for ax in probe_axes[p]} for p in names}
        for start in range(0, len(masks), chunk):
            x = make_masks(in_shape, masks[start:start + chunk], dt)
            if chunk == 1 or self.one_at_a_time:
                ys = self._one_at_a_time(sess, names, name, x, in_shape[0])
            else:
                try:
                    ys = sess.run(names, {name: x})
                except Exception:  # noqa: BLE001 - the graph fixes its batch (a constant shape)
                    self.one_at_a_time = True
                    ys = self._one_at_a_time(sess, names, name, x, in_shape[0])
            for p, y in zip(names, ys):
                a = np.abs(y).sum(axis=1)  # over channels: [B, spatial...]
                for ax in probe_axes[p]:
                    idx = [slice(None)] + [a.shape[1 + j] // 2 if j != ax else slice(None) for j in range(a.ndim - 1)]
                    got[p][ax].append(a[tuple(idx)] > 0)
        return {p: {ax: np.concatenate(v, axis=0) for ax, v in axes.items()} for p, axes in got.items()}

    @staticmethod
    def _one_at_a_time(sess, names, name, x, batch):
        """Each mask in a run of its own, at the model's own batch size."""
        outs = [sess.run(names, {name: np.repeat(x[i:i + 1], batch, axis=0)}) for i in range(x.shape[0])]
        return [np.concatenate([o[k][:1] for o in outs], axis=0) for k in range(len(names))]


def _source_model(path, graph):
    if isinstance(path, str) and is_source(path):
        return to_model(graph)
    return None


def verify(path, graph, report, *, sizes=(), random_k=5, seed=0, device="cpu", rf=True, progress=None,
           max_bytes=MAX_BYTES, rf_budget=RF_BUDGET_S, model=None, isolate=True):
    """Run every check; returns a VerifyResult (never raises for a mismatch or a crash).

    ``path``: the model file, or a source spec (``net.py::Net``, lowered in memory), or just a
    name when ``model`` (an onnx ModelProto) is given. ``sizes``: tuples (see
    :func:`parse_sizes`). ``progress(done, total, what)`` is called after every onnxruntime
    run with counts. ``isolate``: run onnxruntime in a child process."""
    providers = _providers(device)
    res = VerifyResult(str(path), device)
    if report.bindings is None:
        raise InputError(path, "no valid binding: nothing to run (see the report's constraints)")
    bindings = pick_bindings(report, sizes, random_k, seed)
    kept = []
    for i, b in enumerate(bindings):
        need = sum(int(evaluate(t.bytes, b)) for t in report.tensors.values() if t.bytes is not None)
        if need <= max_bytes:
            kept.append(b)
        elif i <= len(sizes):  # asked for (or the report's own): refuse
            raise InputError(path, f"too large to run: {need:,} bytes of activations at {_fmt_binding(b) or 'the static sizes'} "
                                   f"(limit {max_bytes:,}; raise it with --max-bytes)")
        else:
            res.notes.append(f"random binding {_fmt_binding(b)} skipped: {need:,} bytes of activations exceed --max-bytes")
    bindings = kept
    if model is None:
        model = _source_model(path, graph)
    if model is None:
        model = load_runnable(str(path), res.notes)
    foreign = sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node if n.domain not in RUNNABLE_DOMAINS})
    if foreign:
        raise InputError(path, f"cannot run: {', '.join(foreign)} has no onnxruntime kernel (cnnsym-only op)")
    res.bindings = bindings
    _check_params(model, report, res)
    picks = probes(report) if rf else []
    if rf and picks and len(report.inputs) != 1:
        res.notes.append("receptive fields measured only for single-input models")
        picks = []
    linear = None
    if picks:
        try:
            linear = linearize(model, picks)
        except Exception as e:  # noqa: BLE001 - a graph the linearisation cannot copy
            res.notes.append(f"receptive fields not measured: {str(e).splitlines()[0][:160]}")
            picks = []
    inputs = [(gi.name, gi.dtype) for gi in graph.inputs]
    runner = _Runner(_expose_all(model), linear, providers, inputs)
    rank = len(report.tensors[report.inputs[0]].shape or ()) if report.inputs else 0
    field_runs = 0 if not picks else 1 if not report.spatial_symbols else max(1, rank - 2)  # one per input shape
    counter = _Progress(progress, len(bindings) + field_runs)
    with Worker(runner, isolate) as worker:
        _check_shapes(worker, report, graph, bindings, seed, res, counter)
        if picks:
            check_fields(worker, report, picks, res, counter, rf_budget, RF_ROUND_BYTES)
    return res


class _Progress:
    """Counts onnxruntime runs for the caller's ``progress(done, total, what)``."""

    def __init__(self, fn, total):
        self.fn, self.done, self.total = fn, 0, total

    def expect(self, runs):
        """``runs`` more runs are planned (replaces the first estimate)."""
        self.total = self.done + runs

    def __call__(self, what):
        self.done += 1
        self.total = max(self.total, self.done)
        if self.fn:
            self.fn(self.done, self.total, what)


def _check_shapes(worker, report, graph, bindings, seed, res, counter):
    for i, b in enumerate(bindings):
        shapes = [[int(evaluate(d, b)) for d in gi.shape] for gi in graph.inputs]
        where = _fmt_binding(b)
        try:
            outs = worker.call(("shapes", shapes, seed + i))
        except Crashed as e:
            res.errors.append(f"{e} running the model at {where or 'the static sizes'}")
            counter(f"shapes at {where or 'the static sizes'}")
            continue
        except ChildError as e:
            res.checks.append(Check("run", "model", "runs (valid per cnnsym)", str(e)[:200], False, where))
            counter(f"shapes at {where or 'the static sizes'}")
            continue
        for name, got in outs:
            if name.startswith(SHAPES_PREFIX) or name in graph.initializers:
                continue  # shape arithmetic a lowered source model computes
            t = report.tensors.get(name)
            if t is None or t.shape is None:
                res.checks.append(Check("shape", name, "a derived shape", str(got), False, where))
                continue
            want = [evaluate(d, b) for d in t.shape]
            res.checks.append(Check("shape", name, str(want), str(got), want == got, where))
        counter(f"shapes at {where or 'the static sizes'}")


def _check_params(model, report, res):
    n = sum(math.prod(t.dims) for t in model.graph.initializer if not t.name.startswith(SHAPES_PREFIX))
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and a.HasField("t"):
                    n += math.prod(a.t.dims)
                elif a.name in ("value_ints", "value_floats"):
                    n += len(a.ints) + len(a.floats)
                elif a.name in ("value_int", "value_float"):
                    n += 1
    computed = {p.key: p.value for p in model.metadata_props}.get(COMPUTED_KEY)
    where = "initializers + Constant nodes"
    if computed:  # constants of shape arithmetic, computed in the lowered model
        n += int(computed)
        where += f" + {computed} computed shape elements"
    got = evaluate(report.totals["params.total"], report.bindings)
    res.checks.append(Check("params", where, str(n), str(got), n == got))


def verify_model(model, *, input=None, bind=None, symbolic=(), name=None, sizes=(), **kwargs) -> VerifyResult:
    """``cnnsym.verify(model, ...)``: analyse ``model`` (a file or a source spec, as for
    :func:`cnnsym.analyze`) and :func:`verify` it. ``sizes``: 'HxW,...' or a list of 'HxW'
    strings or tuples. A model that is invalid for every input, or holds ops cnnsym cannot
    derive, is an :class:`~cnnsym.errors.InputError`."""
    graph, rep = api.analyze_graph(model, input=input, bind=bind, symbolic=symbolic, name=name)
    return verify_analysed(model, graph, rep, sizes=sizes, **kwargs)


def verify_analysed(model, graph, rep, *, sizes=(), **kwargs) -> VerifyResult:
    """:func:`verify` of a model already analysed (the CLI bounds the analysis' time): refuses
    models that are invalid everywhere or hold underivable ops, lowers source in memory."""
    if rep.errors:
        raise InputError(model, "the model is invalid for every input: " + rep.errors[0])
    if rep.unaccounted:
        names = ", ".join(f"{u['domain']}::{u['op']}" for u in rep.unaccounted)
        raise InputError(model, f"cannot run: unsupported ops {names} (cnnsym cannot check what it cannot derive)")
    if isinstance(sizes, str):
        sizes = parse_sizes(sizes)
    proto = model if hasattr(model, "SerializeToString") else None
    if proto is None and ("\n" in str(model) or is_source(str(model))):
        proto = to_model(graph)  # source: lowered in memory
    return verify(str(model) if isinstance(model, (str, os.PathLike)) and "\n" not in str(model) else graph.path,
                  graph, rep, sizes=sizes, model=proto, **kwargs)


from cnnsym._public import make_callable  # noqa: E402  (the module is also the function cnnsym.verify)
make_callable(__name__)
