"""Half-precision and mixed graphs, made here from fixtures/tiny_resnet.onnx and the shared
torchvision exports with onnxconverter-common's float16 converter (pure float16, and
``keep_io_types`` which wraps the graph in Casts), plus a bfloat16-weight graph (every
weight stored as bfloat16 and Cast to float before use, as mixed-precision exports do).

Oracles: onnxruntime executing the converted graph (every tensor's shape, element type and
bytes at several sizes), the file's stored initializer bytes, hand arithmetic (2 bytes per
half-precision weight), the float model's analysis (MACs and every counting convention's
total must not change with the storage type)."""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
import sympy as sp
from onnx import TensorProto, helper, numpy_helper

from cnnsym.analyze import analyze, evaluate
from cnnsym.conventions import evaluate as convention_total
from cnnsym.conventions import names as convention_names
from cnnsym.frontends.onnx import load
from conftest import ROOT, shared_models_dir
from oracle import run_ort

float16 = pytest.importorskip("onnxconverter_common.float16", reason="onnxconverter-common not installed "
                              "(pip install onnxconverter-common; it is in the test extra)")

TINY = ROOT / "fixtures" / "tiny_resnet.onnx"
SHARED = {
    "resnet18": ("torchscript/resnet18.onnx", [(1, 64, 64), (2, 75, 57)]),
    "mobilenet_v2": ("dynamo/mobilenet_v2.onnx", [(1, 64, 64), (2, 71, 97)]),
    "squeezenet1_1": ("torchscript/squeezenet1_1.onnx", [(1, 64, 64), (2, 83, 61)]),
    "shufflenet_ts": ("torchscript/shufflenet_v2_x0_5.onnx", [(1, 64, 64), (2, 96, 65)]),
    "lenet5": ("torchscript/lenet5.onnx", [(1, 32, 32), (3, 32, 32)]),
}


def _source(name):
    if name == "tiny_resnet":
        return TINY, [(1, 32, 32), (2, 45, 37), (1, 19, 23)]
    d = shared_models_dir()
    if d is None:
        pytest.skip("shared models absent: set CNNSYM_SHARED_MODELS or put them at ../shared/models")
    rel, sizes = SHARED[name]
    return d / rel, sizes


def _report(path):
    return analyze(load(str(path)), {}, strict_bindings=False)


def _bindings(report, size):
    axes = {ax: s for s, (_, ax) in report.symbols.items()}
    return {axes[a]: v for a, v in zip((0, 2, 3), size) if a in axes}


def _feeds(model, dims):
    rng = np.random.default_rng(0)
    feeds = {}
    for vi in model.graph.input:
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims[d.dim_param] for d in tt.shape.dim]
        feeds[vi.name] = rng.standard_normal(shape).astype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
    return feeds


def _stored_bytes(t):
    return len(t.raw_data) if t.raw_data else numpy_helper.to_array(t).nbytes


def _file_param_bytes(model):
    total = sum(_stored_bytes(t) for t in model.graph.initializer)
    for n in model.graph.node:
        if n.op_type == "Constant":
            total += sum(_stored_bytes(a.t) for a in n.attribute if a.name == "value")
    return total


def _float_elements(path):
    m = onnx.load(str(path), load_external_data=False)
    return sum(math.prod(t.dims) for t in m.graph.initializer if t.data_type == TensorProto.FLOAT)


def _check_against_onnxruntime(model, report, sizes):
    for size in sizes:
        b = _bindings(report, size)
        outs = run_ort(model, _feeds(model, b))
        assert outs
        for name, arr in outs.items():
            t = report.tensors[name]
            assert [evaluate(d, b) for d in t.shape] == list(arr.shape), (size, name, t.shape)
            assert helper.tensor_dtype_to_np_dtype(t.dtype) == arr.dtype, (name, t.dtype, arr.dtype)
            assert evaluate(t.bytes, b) == arr.nbytes, (name, t.bytes)


def _check_same_cost(h, f):
    assert sp.expand(h.totals["macs"] - f.totals["macs"]) == 0
    for name in convention_names():
        assert sp.expand(convention_total(h, name).total - convention_total(f, name).total) == 0, name


@pytest.mark.parametrize("keep_io_types", [False, True], ids=["float16", "float16-float-io"])
@pytest.mark.parametrize("name", ["tiny_resnet", *SHARED])
def test_float16_model(name, keep_io_types, tmp_path):
    src, sizes = _source(name)
    model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=keep_io_types)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    h, f = _report(path), _report(src)
    assert not h.errors and not h.unaccounted and all(r.status == "ok" for r in h.nodes)
    _check_against_onnxruntime(model, h, sizes)
    _check_same_cost(h, f)
    assert sp.expand(h.totals["macs_fp16"] - h.totals["macs"]) == 0  # every product in float16
    assert h.totals["params.trainable"] == f.totals["params.trainable"]
    assert h.totals["params.bytes"] == _file_param_bytes(model)
    # every float32 initializer became float16: 2 bytes where there were 4
    halves = sum(math.prod(t.dims) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT16)
    assert halves == _float_elements(src)
    assert h.totals["params.trainable_bytes"] == 2 * f.totals["params.trainable"]


def test_bfloat16_weights_cast_to_float(tmp_path):
    """Weights stored as bfloat16, each Cast to float before its layer: 2 bytes per
    parameter, the float model's MACs, computed in float32."""
    src, sizes = _source("tiny_resnet")
    m = onnx.load(str(src))
    g = m.graph
    inits, casts = [], []
    for t in g.initializer:
        arr = numpy_helper.to_array(t)
        # bfloat16 = the upper 16 bits of the float32 pattern (truncation is enough here)
        bits = (arr.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        bt = helper.make_tensor(t.name + "_bf16", TensorProto.BFLOAT16, list(t.dims), bits.tobytes(), raw=True)
        inits.append(bt)
        casts.append(helper.make_node("Cast", [bt.name], [t.name], to=TensorProto.FLOAT, name=f"cast_{t.name}"))
    del g.initializer[:]
    g.initializer.extend(inits)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    path = tmp_path / "tiny_bf16.onnx"
    onnx.save(m, str(path))
    h, f = _report(path), _report(src)
    assert not h.errors and not h.unaccounted
    _check_against_onnxruntime(m, h, sizes)
    assert sp.expand(h.totals["macs"] - f.totals["macs"]) == 0
    assert sp.expand(h.totals["macs_fp32"] - h.totals["macs"]) == 0
    elements = sum(math.prod(t.dims) for t in inits)
    assert h.totals["params.total"] == elements
    assert h.totals["params.trainable"] == f.totals["params.trainable"]  # the Cast weights stay trainable
    assert h.totals["params.trainable_bytes"] == 2 * f.totals["params.trainable"]
    assert h.totals["params.bytes"] == 2 * elements == _file_param_bytes(m)
