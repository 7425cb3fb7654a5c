"""The ONNX project's own node test cases as an external suite.

``onnx.backend.test.case.node.collect_testcases()`` builds every node test of the ONNX
specification with its inputs and the outputs the reference implementation produced.
Each case is analysed three ways and every output shape cnnsym derives, evaluated at the
case's sizes, is compared with the shape of the expected output (the oracle: onnx's
reference outputs, never cnnsym's own formulas):

- ``as_is``: the model as the ONNX project wrote it (shape operands such as Reshape's
  ``shape`` or Resize's ``scales`` are often runtime graph inputs: unknown, never invalid);
- ``const``: small shape operands made initializers, as in an exported model;
- ``known``: every small input made an initializer, data included, so that known
  contents flow through every op (value propagation: Pad with ``axes``, logic ops);
- ``free``: the ``const`` model with batch and spatial dims of every rank >= 3 input made
  named dims (dim_params), analysed bound to the case's sizes, and once more unbound
  (cnnsym must find a valid binding by itself wherever the case's sizes are valid).

Outcomes: ``match``; ``opaque`` (some dims data-dependent or from a runtime operand, the
node marked incomplete); ``unaccounted`` (an op cnnsym does not support: listed, allowed);
``refused`` (a deliberate refusal, each class documented in :data:`REFUSALS`). A shape
mismatch, a crash (an internal exception, or an op raising something other than its
documented ShapeError) or an undocumented refusal fails the test.

Run ``python tests/test_onnx_node_cases.py`` for the per-outcome counts and lists.
"""
from __future__ import annotations

import collections
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field

import pytest

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

from cnnsym.analyze import analyze  # noqa: E402
from cnnsym.errors import CnnsymError, InputError  # noqa: E402
from cnnsym.frontends.onnx import load  # noqa: E402

# Deliberate refusals: (variant or "*", regex on the one-line message, why it is right).
REFUSALS = [
    ("*", r"has a zero dim on axis",
     "zero-size graph inputs are refused at load: cnnsym's dims are positive symbols and a "
     "size-0 tensor has no receptive field or cost; the user gets a one-line exit-2 error"),
    ("*", r"is not a tensor \(sequences and maps are not supported\)",
     "sequence, map and optional graph inputs are outside the tensor-shape model"),
    ("*", r"has no shape; give one with --input",
     "a graph input declared without a shape: the user must give one (exit 2, named)"),
]


@dataclass
class Case:
    name: str
    model: bytes  # serialized ModelProto
    inputs: list  # numpy arrays (or sequences/None) in graph-input order
    expected: list  # output shapes (tuples) or None where the output is not a tensor


@dataclass
class Outcome:
    kind: str  # match | opaque | unaccounted | refused | mismatch | crash | unexplained
    detail: str = ""
    ops: tuple = ()


def collect():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            raw = collect_testcases()
    out = []
    for c in raw:
        ins, outs = c.data_sets[0] if c.data_sets else ([], [])
        ins = [np.asarray(x) if isinstance(x, np.generic) else x for x in ins]
        out.append(Case(c.name, c.model.SerializeToString(), ins,
                        [tuple(x.shape) if isinstance(x, np.ndarray) else None for x in outs]))
    return out


# schema input names that carry sizes, indices or scales rather than data: made
# initializers in the ``const`` variant whatever their position
SHAPE_OPERANDS = {"shape", "starts", "ends", "axes", "steps", "scales", "sizes", "roi", "pads",
                  "repeats", "split", "k", "constant_value", "start", "limit", "delta", "depth",
                  "min", "max", "block_shape", "output_shape",
                  "kernel_shape", "image_shape", "blocksize"}
# operands whose schema name is generic: (op_type, input index)
OP_OPERANDS = {("ConstantOfShape", 0)}
SMALL_INT, SMALL_FLOAT = 64, 8


def _schema_input_name(node, index, opset):
    try:
        s = onnx.defs.get_schema(node.op_type, opset, node.domain or "")
    except Exception:  # noqa: BLE001 - unknown op or domain
        return ""
    if not s.inputs:
        return ""
    if index < len(s.inputs):
        return s.inputs[index].name
    return s.inputs[-1].name if s.inputs[-1].option == s.inputs[-1].option.Variadic else ""


def constify(model, inputs, everything=False):
    """Small integer operands (read at input index > 0, or named like a shape operand)
    and small float shape operands become initializers (``everything``: every small
    tensor input, data included, so that known contents flow through every op); returns
    the new model and the names made constant."""
    from onnx import numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 21)
    uses = collections.defaultdict(list)
    for n in g.node:
        for k, i in enumerate(n.input):
            if i:
                uses[i].append((k, "shape" if (n.op_type, k) in OP_OPERANDS else _schema_input_name(n, k, opset)))
    init_names = {t.name for t in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in init_names]
    made = []
    keep = []
    for vi, arr in zip(graph_inputs, inputs):
        u = uses.get(vi.name, [])
        names = {name for _, name in u}
        late = any(k > 0 for k, _ in u)
        ok = isinstance(arr, np.ndarray) and arr.dtype.kind in "iuf" and vi.type.HasField("tensor_type")
        small = ok and (arr.size <= SMALL_INT if arr.dtype.kind in "iu" else arr.size <= SMALL_FLOAT)
        operand = ok and (everything or bool(names & SHAPE_OPERANDS) or (late and arr.dtype.kind in "iu"))
        if small and operand:
            t = numpy_helper.from_array(arr, vi.name)
            g.initializer.append(t)
            made.append(vi.name)
        else:
            keep.append(vi)
    del g.input[:]
    g.input.extend(keep)
    return m, made


def free_dims(model):
    """Batch (axis 0) and spatial (axes >= 2) dims of every rank >= 3 data input (one
    that nodes read as their first input only: a Conv's X, not its W) made named dims;
    returns the model and the bindings giving the case's sizes."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    init_names = {t.name for t in g.initializer}
    late = {i for n in g.node for i in n.input[1:]}
    bindings = {}
    for k, vi in enumerate(vi for vi in g.input if vi.name not in init_names):
        tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if vi.name in late:
            continue
        if tt is None or not tt.HasField("shape") or len(tt.shape.dim) < 3:
            continue
        dims = tt.shape.dim
        if any(not d.HasField("dim_value") or d.dim_value < 1 for d in dims):
            continue  # zero-size or already symbolic: leave as the case wrote it
        for ax, d in enumerate(dims):
            if ax == 1:
                continue
            name = f"N{k}" if ax == 0 else f"S{k}_{ax}"
            bindings[name] = int(d.dim_value)
            d.Clear()
            d.dim_param = name
    return m, bindings


def _refusal(variant, message):
    for v, pattern, _why in REFUSALS:
        if v in ("*", variant) and re.search(pattern, message):
            return pattern
    return None


def analyse(variant, model_bytes, expected, bindings=None, folder=None):
    """One analysis, classified. ``bindings``: None for cnnsym's own choice."""
    with tempfile.TemporaryDirectory(dir=folder) as d:
        path = os.path.join(d, "model.onnx")
        with open(path, "wb") as f:
            f.write(model_bytes)
        try:
            report = analyze(load(path), bindings)
        except CnnsymError as e:
            msg = str(e).replace(path, "model.onnx")
            return Outcome("refused" if _refusal(variant, msg) else "unexplained", msg)
        except Exception as e:  # noqa: BLE001 - this is what the suite looks for
            return Outcome("crash", f"{type(e).__name__}: {e}")
    crashed = [r for r in report.nodes if "cannot derive shapes (" in r.message]
    if crashed:
        return Outcome("crash", f"{crashed[0].node.op_type}: {crashed[0].message}")
    unacc = tuple(sorted(f"{u['domain']}::{u['op']}" for u in report.unaccounted))
    if report.errors or report.bindings is None:
        msg = report.errors[0] if report.errors else "no bindings"
        return Outcome("refused" if _refusal(variant, msg) else "unexplained", msg, unacc)
    incomplete = any(r.status != "ok" for r in report.nodes)
    kind, details = "match", []
    for name, want in zip(report.outputs, expected):
        if want is None:
            continue
        t = report.tensors.get(name)
        if t is None or t.shape is None or t.declared:
            kind = "unaccounted" if unacc else ("opaque" if incomplete else "unknown")
            details.append(f"{name}: unknown")
            continue
        if len(t.shape) != len(want):
            return Outcome("mismatch", f"{name}: derived {tuple(t.shape)} (rank {len(t.shape)}), expected {want}")
        for ax, (dim, w) in enumerate(zip(t.shape, want)):
            v = report.evaluate(dim)
            if isinstance(v, int) or getattr(v, "is_number", False):
                if v != w:
                    return Outcome("mismatch", f"{name}: axis {ax} derived {dim} = {v}, expected {w} (shape {want})")
            else:
                if kind == "match":
                    kind = "opaque" if incomplete or _data_dependent(v) else "unknown"
                details.append(f"{name}[{ax}] = {v}")
    return Outcome(kind, "; ".join(details), unacc)


def _data_dependent(v):
    """Sizes no analysis can know: NonZero's count, Unique's, ... (named by their op)."""
    return all(s.name.startswith(("nonzero_", "unique_", "compress_")) for s in v.free_symbols)


VARIANTS = ("as_is", "const", "known", "free", "free_unbound")


def run_all(cases, variants=VARIANTS):
    """{variant: [(case name, Outcome)]}."""
    out = {v: [] for v in variants}
    for c in cases:
        model = onnx.ModelProto()
        model.ParseFromString(c.model)
        if "as_is" in out:
            out["as_is"].append((c.name, analyse("as_is", c.model, c.expected)))
        if "known" in out:
            km, _ = constify(model, c.inputs, everything=True)
            out["known"].append((c.name, analyse("known", km.SerializeToString(), c.expected)))
        cm, made = constify(model, c.inputs)
        cb = cm.SerializeToString()
        if "const" in out:
            out["const"].append((c.name, analyse("const", cb, c.expected)))
        fm, bindings = free_dims(cm)
        fb = fm.SerializeToString()
        if "free" in out:
            out["free"].append((c.name, analyse("free", fb, c.expected, bindings) if bindings else Outcome("skipped")))
        if "free_unbound" in out:
            out["free_unbound"].append((c.name, analyse("free_unbound", fb, [None] * len(c.expected))
                                        if bindings else Outcome("skipped")))
    return out


# Open problems outside this suite's fixes, each named with its owner's area: listed so
# they stay visible, checked so that nothing else joins them silently.
KNOWN_OPEN = {
    # detail substring -> why it is still open (none: the expanded-Attention free_unbound
    # cases, two sums tied to each other and to a constant, are found by domain's pair moves)
}


@pytest.fixture(scope="session")
def node_results():
    """Every case, every variant, analysed once per session (~1 minute)."""
    cases = collect()
    return cases, run_all(cases)


def _rows(node_results, variant, kind):
    return [(n, o) for n, o in node_results[1][variant] if o.kind == kind]


def _fmt(rows):
    return "\n".join(f"{n}: {o.detail}" for n, o in rows[:20]) + (f"\n... {len(rows)} in all" if len(rows) > 20 else "")


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_crash(node_results, variant):
    rows = _rows(node_results, variant, "crash")
    assert not rows, _fmt(rows)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_shape_mismatch(node_results, variant):
    rows = _rows(node_results, variant, "mismatch")
    assert not rows, _fmt(rows)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_refusal_is_documented(node_results, variant):
    """A refusal (exit 2 at load, or "the graph is invalid") must be one of REFUSALS; a
    case whose shapes stay unknown without an unsupported op or a runtime operand to
    blame is a refusal too."""
    rows = [(n, o) for n, o in node_results[1][variant] if o.kind in ("unexplained", "unknown")
            and not any(k in o.detail for k in KNOWN_OPEN)]
    assert not rows, _fmt(rows)


def test_suite_is_exercised(node_results):
    """Guards the harness itself: most cases must reach a full comparison."""
    cases, res = node_results
    assert len(cases) > 1500
    counts = {v: collections.Counter(o.kind for _, o in rows) for v, rows in res.items()}
    assert counts["as_is"]["match"] > 900, counts
    assert counts["const"]["match"] > 1200, counts
    assert counts["known"]["match"] > 1200, counts
    assert counts["free"]["match"] > 700, counts
    # constant operands only ever help: what as_is matches, const matches too
    as_is = dict(res["as_is"])
    lost = [n for n, o in res["const"] if as_is[n].kind == "match" and o.kind != "match"]
    assert not lost, lost[:10]


def _one(node_results, name):
    for c in node_results[0]:
        if c.name == name:
            return c
    pytest.skip(f"{name} not in this onnx release's node tests")


def _report(model, bindings=None, tmp=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        return analyze(load(path), bindings)


def test_runtime_shape_operand_is_opaque_not_invalid(node_results):
    """Reshape's shape as a graph input: its output has the declared rank, every dim an
    opaque symbol, the node unresolved (report incomplete), and no error (exit 0)."""
    c = _one(node_results, "test_reshape_reordered_all_dims")
    m = onnx.ModelProto()
    m.ParseFromString(c.model)
    rep = _report(m)
    assert not rep.errors and rep.bindings is not None
    node = next(r for r in rep.nodes if r.node.op_type == "Reshape")
    assert node.status == "unresolved" and "runtime value" in node.message
    out = rep.tensors[rep.outputs[0]].shape
    assert len(out) == len(c.expected[0]) and all(d.free_symbols for d in out)
    # the same model with the shape constant: exact (onnx's expected output is (4, 2, 3))
    cm, made = constify(m, c.inputs)
    assert made == ["shape"]
    assert tuple(_report(cm).tensors[rep.outputs[0]].shape) == c.expected[0] == (4, 2, 3)


def test_logic_ops_keep_known_contents(node_results):
    """The expanded Attention function decides grouped-query attention with Equal, Not,
    And and Where on head counts: contents must survive them or Expand loses its shape."""
    c = _one(node_results, "test_attention_3d_expanded")
    m = onnx.ModelProto()
    m.ParseFromString(c.model)
    cm, _ = constify(m, c.inputs)
    rep = _report(cm)
    assert not rep.errors
    assert tuple(rep.tensors["Y"].shape) == c.expected[0]


def test_layer_norm_free_dims_find_a_valid_binding(node_results):
    """Free N, H, W and no bindings: the scale's (4, 5) pins H*W = 20 through a Reshape,
    so no uniform H = W is valid; cnnsym must still find H=4, W=5 (or another valid point)
    rather than call the graph invalid."""
    c = _one(node_results, "test_layer_normalization_4d_axis_negative_2_expanded")
    m = onnx.ModelProto()
    m.ParseFromString(c.model)
    fm, case_sizes = free_dims(constify(m, c.inputs)[0])
    assert set(case_sizes) == {"N0", "S0_2", "S0_3"}
    rep = _report(fm)
    assert not rep.errors and rep.bindings is not None
    b = rep.bindings
    assert b["S0_2"] * b["S0_3"] == 20
    assert tuple(rep.evaluate(d) for d in rep.tensors[rep.outputs[0]].shape) == (b["N0"], 3, b["S0_2"], b["S0_3"])


if __name__ == "__main__":
    import time

    t0 = time.time()
    cases = collect()
    only = sys.argv[1:]
    if only:
        cases = [c for c in cases if any(re.search(p, c.name) for p in only)]
    t1 = time.time()
    res = run_all(cases)
    t2 = time.time()
    for v, rows in res.items():
        counts = collections.Counter(o.kind for _, o in rows)
        print(f"== {v}: {dict(counts)}")
        for name, o in rows:
            if o.kind not in ("match", "skipped") or only:
                print(f"  {o.kind:12s} {name}: {o.detail[:200]} {' '.join(o.ops)}")
    print(f"collect {t1 - t0:.1f}s, analyse {t2 - t1:.1f}s, {len(cases)} cases")
