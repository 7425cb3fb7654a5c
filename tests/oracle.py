"""onnxruntime as the oracle: run a model with every node output exposed and compare
each tensor's shape with cnnsym's formula evaluated at the same sizes."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import helper

from cnnsym.analyze import analyze, evaluate
from cnnsym.frontends.onnx import load

NP_TYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def expose_all(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(helper.ValueInfoProto(name=o))
                have.add(o)
    return m


def run_ort(model: onnx.ModelProto, feeds: dict):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    m = expose_all(model)
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    return dict(zip(names, outs))


def analyze_model(model: onnx.ModelProto, bindings=None):
    """Write the model to a temp file and analyse it as the CLI would."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.onnx")
        onnx.save(model, p)
        g = load(p)
        return analyze(g, bindings or {}, strict_bindings=False)


def feeds_for(model: onnx.ModelProto, dims: dict, seed=0):
    """Random inputs: ``dims`` maps symbol names (dim_param) to sizes."""
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims[d.dim_param] for d in tt.shape.dim]
        dt = NP_TYPES.get(tt.elem_type, np.float32)
        feeds[vi.name] = rng.standard_normal(shape).astype(dt) if dt in (np.float32, np.float64, np.float16) \
            else rng.integers(0, 3, size=shape).astype(dt)
    return feeds


def compare_shapes(model: onnx.ModelProto, dims: dict, report=None):
    """Mismatches between onnxruntime's shapes and cnnsym's formulas at ``dims``.
    Returns a list of strings (empty when everything agrees)."""
    report = report or analyze_model(model)
    outs = run_ort(model, feeds_for(model, dims))
    bad = []
    for name, arr in outs.items():
        t = report.tensors.get(name)
        if t is None or t.shape is None:
            bad.append(f"{name}: cnnsym has no shape")
            continue
        got = [evaluate(d, dims) for d in t.shape]
        if list(arr.shape) != got:
            bad.append(f"{name}: onnxruntime {list(arr.shape)} vs cnnsym {got} = {[str(d) for d in t.shape]}")
    return bad


def make_model(nodes, inputs, outputs, initializers=(), opset=17):
    """inputs: [(name, elem_type, dims with str for symbols)]; outputs: names."""
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, t, d) for n, t, d in inputs],
        [helper.ValueInfoProto(name=o) for o in outputs],
        list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
