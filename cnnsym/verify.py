"""Prove a report's numbers by executing the model on onnxruntime.

For each binding (the report's own, the requested sizes, and K random ones drawn from the
valid domain, odd and prime sizes included) the model runs with graph optimisations off and
every node output exposed; every output's shape must equal its formula evaluated at that
binding. Parameter totals are compared with a plain count of the file's initializers and
Constant nodes.

Receptive fields are measured, not re-derived: a linearised copy of the graph (activations
and normalisations as Sign, which keeps the support and resets magnitudes to 1, MaxPool as
AveragePool with the same window, GlobalMaxPool as GlobalAveragePool, weights 1/fan_in > 0, biases 0, float vectors used only by Add/Sub 0) is cut at
the probed tensor; its response at an interior unit is positive exactly when a masked input
reaches the unit's field. A binary search over row (column) prefix and suffix masks finds
the first and last input row (column) the unit sees, for that unit and its neighbour, so
size, jump and position of the field are measured with about 4 log2(H) small runs per probe
and compared with the formula. Only onnxruntime is imported here.
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

import numpy as np

from .analyze import evaluate
from .domain import violated
from .errors import CnnsymError, InputError

NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
            10: np.float16, 11: np.float64}
LINEAR_IDENTITY = {"Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Erf",
                   "Gelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "Dropout", "ThresholdedRelu",
                   "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
                   "LpNormalization", "LRN", "MeanVarianceNormalization", "Shrink", "Abs"}


@dataclass
class Check:
    what: str
    where: str
    expected: str
    got: str
    ok: bool
    binding: str = ""


@dataclass
class VerifyResult:
    path: str
    device: str
    checks: list = field(default_factory=list)
    bindings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def failures(self):
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self):
        return not self.failures and bool(self.checks)

    def verdict(self) -> str:
        n, bad = len(self.checks), len(self.failures)
        kinds = sorted({c.what for c in self.checks})
        if bad:
            return f"FAIL: {bad} of {n} checks disagree ({', '.join(sorted({c.what for c in self.failures}))}) on {self.device}"
        return f"OK: {n} checks hold ({', '.join(kinds)}) at {len(self.bindings)} bindings on {self.device}"


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
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path, load_external_data=False)
    folder = os.path.dirname(os.path.abspath(path))
    rng = np.random.default_rng(0)
    missing = 0
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = {e.key: e.value for e in t.external_data}.get("location", "")
            full = os.path.normpath(os.path.join(folder, loc))
            if loc and not os.path.isabs(loc) and os.path.commonpath([full, folder]) == folder and os.path.exists(full):
                from onnx.external_data_helper import load_external_data_for_tensor
                load_external_data_for_tensor(t, folder)
                t.data_location = onnx.TensorProto.DEFAULT
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
    from onnx import numpy_helper

    dt = NP_TYPES.get(t.data_type, np.float32)
    shape = tuple(t.dims)
    arr = (rng.standard_normal(shape) * 0.05).astype(dt) if np.issubdtype(dt, np.floating) else np.ones(shape, dt)
    new = numpy_helper.from_array(arr, t.name)
    t.ClearField("external_data")
    t.data_location = 0
    t.raw_data = new.raw_data


def _session(model, providers):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=providers)


def _expose_all(model):
    import onnx
    from onnx import helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(helper.ValueInfoProto(name=o))
                have.add(o)
    return m


def _feeds(report, graph, binding, rng):
    feeds = {}
    for gi in graph.inputs:
        shape = [int(evaluate(d, binding)) for d in gi.shape]
        dt = NP_TYPES.get(gi.dtype, np.float32)
        if np.issubdtype(dt, np.floating):
            feeds[gi.name] = rng.standard_normal(shape).astype(dt)
        elif dt == np.bool_:
            feeds[gi.name] = rng.integers(0, 2, size=shape).astype(dt)
        else:
            feeds[gi.name] = rng.integers(0, 3, size=shape).astype(dt)
    return feeds


def _is_prime(n):
    return n > 1 and all(n % p for p in range(2, int(n ** 0.5) + 1))


def pick_bindings(report, sizes, k, seed):
    """The report's binding, each requested size, then k random valid bindings."""
    spatial = sorted(report.spatial_symbols, key=lambda s: report.symbols[s])
    out = [dict(report.bindings)]
    for text in sizes:
        vals = [int(v) for v in text.lower().split("x")]
        if len(vals) != len(spatial):
            raise InputError(report.path, f"--sizes {text!r}: {len(vals)} sizes for {len(spatial)} spatial symbols ({', '.join(spatial) or 'none'})")
        b = {**report.bindings, **dict(zip(spatial, vals))}
        bad = violated(report, b)
        if bad:
            raise InputError(report.path, f"--sizes {text!r} is outside the valid domain: {bad[0].message} (node {bad[0].node!r})")
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


def verify(path, graph, report, *, sizes=(), random_k=5, seed=0, device="cpu", rf=True, progress=None,
           max_bytes=MAX_BYTES, rf_budget=RF_BUDGET_S):
    """Run every check; returns a VerifyResult (never raises for a mismatch)."""
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
    model = load_runnable(str(path), res.notes)
    res.bindings = bindings
    _check_params(model, report, res)
    exposed = _expose_all(model)
    sess = _session(exposed, providers)
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(seed)
    for b in bindings:
        feeds = _feeds(report, graph, b, rng)
        try:
            outs = sess.run(names, feeds)
        except Exception as e:  # noqa: BLE001 - onnxruntime's own error types
            res.checks.append(Check("run", "model", "runs (valid per cnnsym)", str(e).splitlines()[0][:200], False,
                                    _fmt_binding(b)))
            if progress:
                progress()
            continue
        for name, arr in zip(names, outs):
            t = report.tensors.get(name)
            if t is None or t.shape is None:
                res.checks.append(Check("shape", name, "a derived shape", str(list(arr.shape)), False, _fmt_binding(b)))
                continue
            want = [evaluate(d, b) for d in t.shape]
            res.checks.append(Check("shape", name, str(want), str(list(arr.shape)), want == list(arr.shape), _fmt_binding(b)))
        del outs
        if progress:
            progress()
    if rf:
        _check_receptive_fields(model, report, res, providers, rf_budget)
    return res


def _check_params(model, report, res):
    from onnx import numpy_helper

    n = sum(math.prod(t.dims) for t in model.graph.initializer)
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and a.HasField("t"):
                    n += math.prod(a.t.dims)
                elif a.name in ("value_ints", "value_floats"):
                    n += len(a.ints) + len(a.floats)
                elif a.name in ("value_int", "value_float"):
                    n += 1
    got = evaluate(report.totals["params.total"], report.bindings)
    res.checks.append(Check("params", "initializers + Constant nodes", str(n), str(got), n == got))


# ---------------------------------------------------------------- receptive fields

# integer ops -> (float op, the inputs it reads); QLinearConcat reads inputs 2, 5, 8, ...
QUANT_FLOAT = {"QLinearConv": ("Conv", (0, 3, 8)), "ConvInteger": ("Conv", (0, 1)), "QLinearMatMul": ("MatMul", (0, 3)),
               "MatMulInteger": ("MatMul", (0, 1)), "QGemm": ("Gemm", (0, 3, 6)), "QLinearAdd": ("Add", (0, 3)),
               "QLinearMul": ("Mul", (0, 3)), "QLinearGlobalAveragePool": ("GlobalAveragePool", (0,)),
               "QLinearAveragePool": ("AveragePool", (0,)), "QLinearSigmoid": ("Sigmoid", (0,)),
               "QLinearLeakyRelu": ("LeakyRelu", (0,)), "QLinearConcat": ("Concat", None)}


def _strip_qdq(g):
    """A quantized graph as its float graph: QuantizeLinear/DequantizeLinear between
    activations become Identity (quantization would round a field's faint edge to 0), a
    dequantized initializer becomes a float initializer of its shape, and QOperator ops
    their float op on the same operands (integer weights are replaced below like any other)."""
    from onnx import helper

    inits = {t.name: t for t in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type in QUANT_FLOAT and n.domain in ("", "ai.onnx", "com.microsoft"):
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            if not attrs.pop("channels_last", 0):
                op, idx = QUANT_FLOAT[n.op_type]
                ins = [n.input[i] if i < len(n.input) else "" for i in (idx or range(2, len(n.input), 3))]
                while ins and not ins[-1]:
                    ins.pop()
                nodes.append(helper.make_node(op, ins, [n.output[0]], name=n.name, **attrs))
                continue
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.domain in ("", "ai.onnx", "com.microsoft"):
            src = inits.get(n.input[0])
            if n.op_type == "DequantizeLinear" and src is not None:
                g.initializer.append(helper.make_tensor(n.output[0], 1, list(src.dims), np.zeros(math.prod(src.dims), np.float32)))
                continue
            nodes.append(helper.make_node("Identity", [n.input[0]], [n.output[0]], name=n.name))
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)

def _linearize(model, probe):
    """The graph up to ``probe``, linearised with positive weights (see module doc)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    _strip_qdq(g)
    producers = {o: n for n in g.node for o in n.output}
    need, stack = set(), [probe]
    while stack:
        t = stack.pop()
        n = producers.get(t)
        if n is None or id(n) in need:
            continue
        need.add(id(n))
        stack.extend(i for i in n.input if i)
    keep = [n for n in g.node if id(n) in need]
    weights = {}
    new_nodes = []
    for n in keep:
        if n.op_type in LINEAR_IDENTITY:
            # Sign, not Identity: it keeps the support (which is all a field is) and resets the
            # magnitude to 1, so gates such as SiLU = x*Sigmoid(x) (x*x once linearised) and long
            # chains of 1/fan_in averages cannot underflow float32 to 0 at a field's edge.
            new_nodes.append(helper.make_node("Sign", [n.input[0]], [n.output[0]], name=n.name))
            continue
        if n.op_type == "MaxPool":
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute if a.name != "storage_order"}
            if all(d == 1 for d in attrs.get("dilations", [1])):
                attrs.pop("dilations", None)  # AveragePool takes dilations only from opset 19
            new_nodes.append(helper.make_node("AveragePool", [n.input[0]], [n.output[0]], name=n.name, **attrs))
            continue
        if n.op_type == "GlobalMaxPool":
            new_nodes.append(helper.make_node("GlobalAveragePool", [n.input[0]], [n.output[0]], name=n.name))
            continue
        if n.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            for idx, i in enumerate(n.input):
                if idx >= 1 and i:
                    weights[i] = (n.op_type, idx)
        new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)
    # biases added outside the layer (Linear on 3-D+ inputs exports as MatMul then Add): a
    # float vector used only by Add/Sub is set to 0 too, or every unit would respond
    uses = {}
    for n in new_nodes:
        for i in n.input:
            uses.setdefault(i, set()).add(n.op_type)
    float_types = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16)
    inits = []
    for t in g.initializer:
        if t.name not in weights and t.data_type in float_types and math.prod(t.dims) > 1 \
                and uses.get(t.name) and uses[t.name] <= {"Add", "Sub"}:
            inits.append(numpy_helper.from_array(np.zeros(tuple(t.dims), np.float32).astype(
                helper.tensor_dtype_to_np_dtype(t.data_type)), t.name))
            continue
        if t.name in weights:
            op, idx = weights[t.name]
            shape = tuple(t.dims)
            if idx == 2 and op != "MatMul":
                arr = np.zeros(shape, np.float32)
            else:
                fan_in = max(1, math.prod(shape[1:]) if op in ("Conv",) else (shape[0] if op == "ConvTranspose" else 1))
                arr = np.full(shape, 1.0 / fan_in, np.float32)
            inits.append(numpy_helper.from_array(arr, t.name))
        else:
            inits.append(t)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.output[:]
    g.output.append(helper.ValueInfoProto(name=probe))
    return m


UPSAMPLING = ("Resize", "Upsample", "ConvTranspose", "DepthToSpace")


def _probes(report, limit=3):
    """Tensors whose field has an input-independent size: the deepest ones first."""
    cands = []
    resized = set()  # downstream of upsampling: the field's position varies per unit
    for r in report.nodes:
        if r.node.op_type in UPSAMPLING or any(i in resized for i in r.node.inputs if i):
            resized.update(o for o in r.node.outputs if o)
        for o in r.node.outputs:
            t = report.tensors.get(o)
            if t is None or t.rf is None or o in resized:
                continue
            fields = list(t.rf[2:])  # measured on axes 2.. (NCHW); skip channels-last tensors
            if not fields or any(f is None for f in fields) or any(f is not None for f in t.rf[:2]):
                continue
            if any(not f.size.is_number or not f.stride.is_number for f in fields):
                continue
            cands.append(o)
    if not cands:
        return []
    picks = [cands[-1]]
    step = max(1, len(cands) // limit)
    for i in range(len(cands) - 1 - step, -1, -step):
        if len(picks) >= limit:
            break
        picks.append(cands[i])
    return picks


def _check_receptive_fields(model, report, res, providers, budget_s=RF_BUDGET_S):
    import time

    if len(report.inputs) != 1:
        res.notes.append("receptive fields measured only for single-input models")
        return
    deadline = time.monotonic() + budget_s
    spatial = sorted(report.spatial_symbols, key=lambda s: report.symbols[s])
    batch = [s for s, (_, ax) in report.symbols.items() if ax == 0]
    for probe in _probes(report):
        t = report.tensors[probe]
        fields = list(t.rf[2:])
        base = dict(report.bindings)
        for s in batch:
            base[s] = 1
        need = max(int(math.ceil(evaluate(f.size, base))) for f in fields)
        jump = max(int(math.ceil(evaluate(f.stride, base))) for f in fields)
        size = max(need + 4 * jump + 8, 16)
        try:
            sess = _session(_linearize(model, probe), providers)
        except Exception as e:  # noqa: BLE001
            res.notes.append(f"receptive field of {probe!r} not measured: {str(e).splitlines()[0][:160]}")
            continue
        for ax, f in enumerate(fields):
            if time.monotonic() > deadline:
                res.notes.append(f"receptive-field measurement stopped after {budget_s:.0f} s (--rf-budget); "
                                 f"{probe!r} axis {ax + 2} and later probes not measured")
                return
            # the measured axis big enough for an interior unit; the others as small as
            # valid, which is enough (masks cover whole rows) and much faster
            b = _rf_binding(report, base, spatial, ax, size)
            if b is None:
                res.notes.append(f"receptive field of {probe!r} not measured: no valid input of size {size}")
                break
            try:
                got = _measure(sess, report, probe, b, ax)
            except Exception as e:  # noqa: BLE001
                res.notes.append(f"receptive field of {probe!r} not measured: {str(e).splitlines()[0][:160]}")
                break
            if got is None:
                res.notes.append(f"receptive field of {probe!r} not measured: the linearised unit does not respond")
                break
            unit, lo, hi, d, lo_next = got
            size_f, stride_f = evaluate(f.size, b), evaluate(f.stride, b)
            start_f = evaluate(f.offset + unit * f.stride - (f.size - 1) / 2, b)
            exp_lo, exp_hi = math.ceil(start_f), math.floor(start_f + size_f - 1)
            exp_next = math.ceil(start_f + d * stride_f)
            jump_ok = lo_next is None or lo_next == exp_next
            got_jump = "" if lo_next is None else f", unit +{d} starts at {lo_next}"
            res.checks.append(Check("receptive_field", f"{probe} axis {ax + 2}",
                                    f"rows {exp_lo}..{exp_hi} (size {size_f}, jump {stride_f}"
                                    f"{'' if lo_next is None else f', unit +{d} starts at {exp_next}'})",
                                    f"rows {lo}..{hi} (size {hi - lo + 1}{got_jump})",
                                    (lo, hi) == (exp_lo, exp_hi) and jump_ok, _fmt_binding(b)))


def _rf_binding(report, base, spatial, ax, size):
    """A valid binding with the measured axis >= size (the next valid size: some models only
    take multiples of 4 or 32) and the other spatial axes as small as valid."""
    small = report.smallest_input or {}
    for extent in range(size, size + 512):
        for others in ("small", "same"):
            b = dict(base)
            for j, sym in enumerate(spatial):
                b[sym] = extent if j == ax or others == "same" else small.get(sym, extent)
            if not violated(report, b):
                return b
    return None


def _measure(sess, report, probe, b, ax):
    """(unit, first row, last row, neighbour's first row) seen along spatial axis ``ax``."""
    in_shape = [int(evaluate(d, b)) for d in report.tensors[report.inputs[0]].shape]
    out_shape = [int(evaluate(d, b)) for d in report.tensors[probe].shape]
    nsp = len(in_shape) - 2
    dtype = NP_TYPES.get(report.tensors[report.inputs[0]].dtype, np.float32)
    extent = in_shape[2 + ax]
    units = out_shape[2 + ax]
    unit = units // 2
    if unit + 1 >= units:
        unit = max(0, units - 2)
    centre = [max(0, min(out_shape[2 + a] - 1, out_shape[2 + a] // 2)) for a in range(nsp)]

    def responds(u, lo, hi):
        x = np.zeros(in_shape, dtype)
        idx = [slice(None)] * len(in_shape)
        idx[2 + ax] = slice(lo, hi + 1)
        x[tuple(idx)] = 1
        y = sess.run([probe], {report.inputs[0]: x})[0]
        pos = [0, slice(None)] + [centre[a] if a != ax else u for a in range(nsp)]
        return float(np.abs(y[tuple(pos)]).sum()) > 0

    def first(u):  # smallest m: rows 0..m reach unit u
        if not responds(u, 0, extent - 1):
            return None
        lo, hi = 0, extent - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if responds(u, 0, mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def last(u):  # largest m: rows m..end reach unit u
        lo, hi = 0, extent - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if responds(u, mid, extent - 1):
                lo = mid
            else:
                hi = mid - 1
        return lo

    a = first(unit)
    if a is None:
        return None
    # a unit further on: its first row pins the jump (16 units averages over the groups of
    # units that share a field after nearest-neighbour upsampling)
    d = max(1, min(16, units - 1 - unit))
    return unit, a, last(unit), d, (first(unit + d) if unit + d < units else None)
