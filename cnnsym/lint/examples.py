"""Rule examples as models: ONNX text format (``onnx.parser``) with zero-filled
initializers, and PyTorch source files. Used by the rule tests and the rule docs."""
from __future__ import annotations

import os
import textwrap

import numpy as np


def onnx_model(text: str, opset: int = 17):
    """An ONNX ModelProto from a graph in ONNX text format. Names declared in the graph's
    ``<...>`` list without a value become zero initializers of their declared type and
    shape (integer ones may be given values: ``<int64[2] s = {1, 400}>``)."""
    import onnx
    from onnx import helper, numpy_helper, parser

    g = parser.parse_graph(textwrap.dedent(text).strip())
    inits = {i.name for i in g.initializer}
    inputs = {i.name for i in g.input}
    produced = {o for n in g.node for o in n.output}
    keep = []
    for vi in g.value_info:
        if vi.name in inits or vi.name in inputs or vi.name in produced:
            keep.append(vi)
            continue
        tt = vi.type.tensor_type
        dims = [d.dim_value for d in tt.shape.dim]
        dt = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        g.initializer.append(numpy_helper.from_array(np.zeros(dims, dtype=dt), vi.name))
    for o in g.output:  # outputs are derived, not declared: `=> (float y)` reads as rank 0
        if not o.type.tensor_type.shape.dim:
            o.type.tensor_type.ClearField("shape")
    del g.value_info[:]
    g.value_info.extend(keep)
    domains = sorted({n.domain for n in g.node if n.domain})
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] +
                          [helper.make_opsetid(d, 1) for d in domains], ir_version=8)
    return m


def write_example(example, directory: str, stem: str = "model") -> list:
    """Write an Example's models into ``directory``: [(kind, path)] for 'onnx' and 'torch'."""
    import onnx

    out = []
    os.makedirs(directory, exist_ok=True)
    if example.onnx:
        p = os.path.join(directory, f"{stem}.onnx")
        onnx.save(onnx_model(example.onnx), p)
        out.append(("onnx", p))
    if example.torch:
        p = os.path.join(directory, f"{stem}.py")
        with open(p, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(example.torch).lstrip())
        out.append(("torch", p))
    return out
