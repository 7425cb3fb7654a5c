"""Graph -> ONNX model, for executing what a non-ONNX frontend built (``cnnsym verify
net.py::Net``). Initializers get seeded random data of their declared shapes; symbolic
input dims become ``dim_param`` names. Only ``verify`` imports this (it needs onnx)."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from .errors import InputError

NP = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def _tensor(name, init, rng):
    from onnx import numpy_helper

    dt = NP.get(init.dtype, np.float32)
    shape = tuple(int(d) for d in init.shape)
    if init.value is not None:
        arr = np.array([float(v) if np.issubdtype(dt, np.floating) else int(v) for v in init.value], dtype=dt).reshape(shape)
    elif np.issubdtype(dt, np.floating):
        arr = (rng.standard_normal(shape) * 0.05).astype(dt)
    else:
        arr = np.zeros(shape, dt)
    return numpy_helper.from_array(arr, name)


def to_model(graph, opset: int = 17):
    import onnx
    from onnx import helper

    from .graph import Initializer

    rng = np.random.default_rng(0)
    for name, init in graph.initializers.items():
        if any(not (isinstance(d, int) or getattr(d, "is_Integer", False)) for d in init.shape):
            raise InputError(graph.path, f"initializer {name!r} has symbolic dims {init.shape}: bind hyperparameters to run it")
    nodes = []
    for n in graph.nodes:
        attrs = {}
        for k, v in n.attrs.items():
            if v is None:
                continue
            attrs[k] = _tensor(k, v, rng) if isinstance(v, Initializer) else v
        nodes.append(helper.make_node(n.op_type, [i for i in n.inputs], list(n.outputs), name=n.name,
                                      domain=n.domain or None, **attrs))
    inputs = []
    for gi in graph.inputs:
        dims = [int(d) if d.is_Integer else str(d) for d in gi.shape]
        inputs.append(helper.make_tensor_value_info(gi.name, gi.dtype, dims))
    outputs = [helper.ValueInfoProto(name=o) for o in graph.outputs]
    inits = [_tensor(name, init, rng) for name, init in graph.initializers.items()]
    g = helper.make_graph(nodes, "cnnsym_lowered", inputs, outputs, inits)
    domains = {n.domain for n in graph.nodes if n.domain}
    ops = [helper.make_opsetid("", max(opset, graph.opsets.get("", opset)))] + [helper.make_opsetid(d, 1) for d in sorted(domains)]
    return helper.make_model(g, opset_imports=ops, ir_version=8)


def to_onnx_file(graph) -> str:
    import onnx

    model = to_model(graph)
    d = tempfile.mkdtemp(prefix="cnnsym_")
    p = os.path.join(d, "lowered.onnx")
    onnx.save(model, p)
    return p
