"""Quantized graphs, both formats, made here with onnxruntime's own quantizer
(``quantize_static``, calibration on random data) from fixtures/tiny_resnet.onnx and the
shared torchvision exports, and single quantized ops built with onnx.helper.

Oracles: onnxruntime executing the quantized graph (every tensor's shape and element type
at several sizes), the file's stored initializer bytes, the float model's file (its weight
and bias element counts give the int8/int32 bytes by hand arithmetic), and the float
model's analysis (MACs and receptive fields must not change when a model is quantized;
those are checked against torchvision and onnxruntime in test_shared_models.py)."""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
import sympy as sp
from onnx import TensorProto, helper

from cnnsym.analyze import analyze, evaluate
from cnnsym.frontends.onnx import load
from cnnsym.render.common import node_rows
from cnnsym.report import peak_tensors
from cnnsym.verify import verify
from conftest import ROOT, shared_models_dir
from oracle import analyze_model, expose_all, feeds_for, make_model, run_ort

TINY = ROOT / "fixtures" / "tiny_resnet.onnx"
# (file under the shared models folder, input size used for calibration, sizes checked)
SHARED = {
    "resnet18": ("torchscript/resnet18.onnx", 64, [(1, 64, 64), (2, 75, 57)]),
    "mobilenet_v2": ("torchscript/mobilenet_v2.onnx", 64, [(1, 64, 64), (2, 71, 97)]),
    "squeezenet1_1": ("dynamo/squeezenet1_1.onnx", 64, [(1, 64, 64), (2, 83, 61)]),
    "shufflenet_ts": ("torchscript/shufflenet_v2_x0_5.onnx", 64, [(1, 64, 64), (2, 96, 65)]),
    "shufflenet_dynamo": ("dynamo/shufflenet_v2_x0_5.onnx", 64, [(1, 64, 64)]),
    "lenet5": ("dynamo/lenet5.onnx", 32, [(1, 32, 32), (3, 32, 32)]),
}
FORMATS = ["qdq", "qoperator"]


def _quantize(src, dst, fmt, size):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    m = onnx.load(str(src))
    inp = m.graph.input[0]
    shape = [d.dim_value or (1 if i == 0 else size) for i, d in enumerate(inp.type.tensor_type.shape.dim)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.left = 2

        def get_next(self):
            if not self.left:
                return None
            self.left -= 1
            return {inp.name: np.random.default_rng(self.left).standard_normal(shape).astype(np.float32)}

    quantize_static(str(src), str(dst), Reader(), per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator)
    return dst


_CACHE = {}


def _pair(name, fmt, tmp_path_factory):
    """(float path, quantized path, sizes): made once per session."""
    key = (name, fmt)
    if key not in _CACHE:
        if name == "tiny_resnet":
            src, size, sizes = TINY, 32, [(1, 32, 32), (2, 45, 37), (1, 19, 23)]
        else:
            d = shared_models_dir()
            if d is None:
                pytest.skip("shared models absent: set CNNSYM_SHARED_MODELS or put them at ../shared/models")
            rel, size, sizes = SHARED[name]
            src = d / rel
        dst = tmp_path_factory.mktemp("q") / f"{name}_{fmt}.onnx"
        _CACHE[key] = (src, _quantize(src, dst, fmt, size), sizes)
    return _CACHE[key]


def _report(path):
    return analyze(load(str(path)), {}, strict_bindings=False)


def _bindings(report, size):
    n, h, w = size
    names = [s for s in report.symbols]  # batch, height, width in input-axis order
    axes = {report.symbols[s][1]: s for s in names}
    return {axes[a]: v for a, v in zip((0, 2, 3), (n, h, w)) if a in axes}


def _stored_bytes(t):
    """Bytes the file stores for one tensor (raw_data as written; typed fields decoded)."""
    if t.raw_data:
        return len(t.raw_data)
    if t.data_type in (TensorProto.INT4, TensorProto.UINT4):
        return len(t.int32_data)  # one packed byte (two elements) per int32_data entry
    return onnx.numpy_helper.to_array(t).nbytes


def _file_param_bytes(model):
    total = sum(_stored_bytes(t) for t in model.graph.initializer)
    for n in model.graph.node:
        if n.op_type == "Constant":
            total += sum(_stored_bytes(a.t) for a in n.attribute if a.name == "value")
    return total


def _fields(report):
    return {tuple((f.size, f.stride, f.offset) for f in t.rf if f is not None)
            for t in report.tensors.values() if t.rf is not None}


MODELS = ["tiny_resnet", *SHARED]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_quantized_model_against_onnxruntime(name, fmt, tmp_path_factory):
    src, qpath, sizes = _pair(name, fmt, tmp_path_factory)
    q, f = _report(qpath), _report(src)
    assert not q.errors and not q.unaccounted, (q.errors, q.unaccounted)
    assert all(r.status == "ok" for r in q.nodes)
    model = onnx.load(str(qpath))
    exposed = expose_all(model)
    for size in sizes:
        b = _bindings(q, size)
        outs = run_ort(model, feeds_for(model, b))
        for tname, arr in outs.items():
            t = q.tensors[tname]
            assert [evaluate(d, b) for d in t.shape] == list(arr.shape), (size, tname, t.shape)
            assert helper.tensor_dtype_to_np_dtype(t.dtype) == arr.dtype, (tname, t.dtype, arr.dtype)
            assert evaluate(t.bytes, b) == arr.nbytes, (tname, t.bytes)
    assert len(outs) == len(exposed.graph.output)
    # MACs and fields are the float model's; every MAC is an int8 x int8 (or uint8) product
    assert sp.expand(q.totals["macs"] - f.totals["macs"]) == 0
    assert sp.expand(q.totals["macs_int8"] - f.totals["macs"]) == 0
    assert not [k for k in q.totals if k.startswith("macs_") and k != "macs_int8"]
    assert _fields(f) <= _fields(q)
    # parameters: the same trainable elements; bytes as stored in the file
    assert q.totals["params.trainable"] == f.totals["params.trainable"]
    assert q.totals["params.bytes"] == _file_param_bytes(model)
    # hand arithmetic from the float file: weights (rank >= 2) become int8, 1 byte each;
    # biases (rank 1) int32, 4 bytes each
    fm = onnx.load(str(src), load_external_data=False)
    weights = sum(math.prod(t.dims) for t in fm.graph.initializer if t.data_type == 1 and len(t.dims) >= 2)
    biases = sum(math.prod(t.dims) for t in fm.graph.initializer if t.data_type == 1 and len(t.dims) == 1)
    assert q.totals["params.trainable_bytes"] == weights + 4 * biases


def test_int8_resnet18_figures(tmp_path_factory):
    """The issue's figures: ~11.7 M parameters in ~11.2 MiB, scales and zero points as
    constants, the float model's 1.81 G MACs at 224 x 224, all int8."""
    src, qpath, _ = _pair("resnet18", "qoperator", tmp_path_factory)
    r = analyze(load(str(qpath)), {"batch": 1, "height": 224, "width": 224})
    v = r.values
    assert v["params.trainable"] == 11_684_712
    assert 11.1 < v["params.trainable_bytes"] / 2**20 < 11.2
    assert v["params.constants"] > 0
    assert v["macs"] == v["macs_int8"] == 1_814_073_344  # torchvision: 1.81 GFLOPS (MACs)


@pytest.mark.parametrize("fmt", FORMATS)
def test_verify_passes_on_quantized_model(fmt, tmp_path_factory):
    _, qpath, _ = _pair("tiny_resnet", fmt, tmp_path_factory)
    g = load(str(qpath))
    r = analyze(g, {}, strict_bindings=False)
    res = verify(str(qpath), g, r, random_k=2)
    assert res.ok, [c for c in res.failures]
    assert {"shape", "params", "receptive_field"} <= {c.what for c in res.checks}, res.notes


# ------------------------------------------------------------------ single ops vs onnxruntime

F, U8, I8, I32 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32
MS = "com.microsoft"


def _t(name, dtype, dims, value=None):
    n = math.prod(dims)
    if value is None:
        value = [0.05] * n if dtype in (F, TensorProto.FLOAT16) else [1] * n
    return helper.make_tensor(name, dtype, dims, value if len(value) == n else value * n)


def _q(name, dtype, dims):
    """scale (float) and zero point (``dtype``) initializers ``name``_s, ``name``_z."""
    return [_t(f"{name}_s", F, dims, [0.05]), _t(f"{name}_z", dtype, dims, [0])]


def _model(node, inputs, inits, opset=21, ms=False):
    m = make_model([node], inputs, list(node.output), inits, opset=opset)
    if ms:
        m.opset_import.append(helper.make_opsetid(MS, 1))
    return m


def _ops():
    """(id, model, sizes): one node each, symbolic N/H/W (or S/K) inputs."""
    X = ("x", F, ["N", "C", "H", "W"])
    XU8 = ("x", U8, ["N", 8, "H", "W"])
    out = []
    # per tensor, per axis, blocked int4 and int16 QuantizeLinear / DequantizeLinear
    out.append(("Q-per-tensor-u8", _model(helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"]),
                                          [X], [_t("s", F, [], [0.1]), _t("z", U8, [], [3])]),
                [{"N": 1, "C": 3, "H": 5, "W": 7}]))
    out.append(("Q-per-axis-i16", _model(helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1),
                                         [("x", F, ["N", 4, "H", "W"])],
                                         [_t("s", F, [4], [0.1]), _t("z", TensorProto.INT16, [4], [0])]),
                [{"N": 2, "H": 5, "W": 3}]))
    # onnxruntime's Python API cannot return int4 tensors: dequantize again, and the int4
    # tensor's shape is checked through the DequantizeLinear that reads it
    q4 = make_model([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1, block_size=4),
                     helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1, block_size=4)],
                    [("x", F, ["N", 8])], ["y"], [_t("s", F, [3, 2], [0.1]), _t("z", TensorProto.INT4, [3, 2], [0])],
                    opset=21)
    out.append(("Q-blocked-int4", q4, [{"N": 3}]))
    out.append(("Q-output-dtype-u16", _model(helper.make_node("QuantizeLinear", ["x", "s"], ["y"],
                                                              output_dtype=TensorProto.UINT16), [X], [_t("s", F, [], [0.1])]),
                [{"N": 1, "C": 2, "H": 3, "W": 3}]))
    out.append(("Q-float8", _model(helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"]), [X],
                                   [_t("s", F, [], [0.1]), helper.make_tensor("z", TensorProto.FLOAT8E4M3FN, [], [0.0])],
                                   opset=19),
                [{"N": 1, "C": 2, "H": 3, "W": 5}]))
    out.append(("DQ-per-axis-i8", _model(helper.make_node("DequantizeLinear", ["w", "s", "z"], ["y"], axis=0),
                                        [("w", I8, [16, "C", "H", "W"])], [_t("s", F, [16]), _t("z", I8, [16], [0])]),
               [{"C": 3, "H": 3, "W": 5}]))
    out.append(("DQ-blocked-uint4-fp16", _model(helper.make_node("DequantizeLinear", ["w", "s", "z"], ["y"], axis=0,
                                                                 block_size=16), [],
                                                [_t("w", TensorProto.UINT4, [32, 4], [1]),
                                                 helper.make_tensor("s", TensorProto.FLOAT16, [2, 4], [0.5] * 8),
                                                 _t("z", TensorProto.UINT4, [2, 4], [0])], opset=21),
                [{}]))
    out.append(("DynamicQuantizeLinear", _model(helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"]),
                                                [X], [], opset=11), [{"N": 2, "C": 3, "H": 4, "W": 5}]))
    out.append(("QLinearConv", _model(helper.make_node(
        "QLinearConv", ["x", "x_s", "x_z", "w", "w_s", "w_z", "y_s", "y_z", "b"], ["y"], strides=[2, 2],
        pads=[1, 1, 1, 1]), [XU8], [*_q("x", U8, []), _t("w", I8, [16, 8, 3, 3]), *_q("w", I8, [16]), *_q("y", U8, []),
                                    _t("b", I32, [16])], opset=10),
        [{"N": 1, "H": 9, "W": 6}, {"N": 2, "H": 16, "W": 17}]))
    out.append(("ConvInteger", _model(helper.make_node("ConvInteger", ["x", "w", "x_z"], ["y"], dilations=[2, 2]),
                                      [XU8], [_t("w", U8, [4, 8, 3, 3]), _t("x_z", U8, [], [0])], opset=10),
                [{"N": 1, "H": 9, "W": 6}]))
    out.append(("QLinearMatMul", _model(helper.make_node(
        "QLinearMatMul", ["a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"], ["y"]),
        [("a", U8, ["N", "S", 16])], [*_q("a", U8, []), _t("b", I8, [16, 8]), *_q("b", I8, []), *_q("y", U8, [])],
        opset=10), [{"N": 2, "S": 5}]))
    out.append(("MatMulInteger", _model(helper.make_node("MatMulInteger", ["a", "b"], ["y"]),
                                        [("a", U8, ["N", "S", 16])], [_t("b", I8, [16, 8])], opset=10),
                [{"N": 2, "S": 5}]))
    # com.microsoft ops onnxruntime's quantizer and transformers write
    qin = [*_q("x", U8, []), *_q("y", U8, [])]
    for op, attrs, want in (("QLinearSigmoid", {}, None), ("QLinearLeakyRelu", {"alpha": 0.1}, None),
                            ("QLinearGlobalAveragePool", {"channels_last": 0}, None),
                            ("QLinearGlobalAveragePool", {"channels_last": 1}, "nhwc"),
                            ("QLinearAveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, None),
                            ("QLinearAveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1,
                                                    "channels_last": 1}, "nhwc"),
                            ("QLinearSoftmax", {"axis": -1, "opset": 13}, None)):
        # (QLinearReduceMean has no CPU kernel in onnxruntime: only its op examples test it)
        node = helper.make_node(op, ["x", "x_s", "x_z", "y_s", "y_z"], ["y"], domain=MS, **attrs)
        out.append((f"{op}-{want or 'nchw'}-{len(out)}", _model(node, [("x", U8, ["N", "C", "H", "W"])], qin, opset=17, ms=True),
                    [{"N": 1, "C": 3, "H": 7, "W": 9}, {"N": 2, "C": 4, "H": 10, "W": 5}]))
    for op in ("QLinearAdd", "QLinearMul"):
        node = helper.make_node(op, ["a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"], ["y"], domain=MS)
        out.append((op, _model(node, [("a", U8, ["N", "C", "H", "W"]), ("b", U8, [1, "C", 1, "W"])],
                               [*_q("a", U8, []), *_q("b", U8, []), *_q("y", U8, [])], opset=17, ms=True),
                    [{"N": 2, "C": 3, "H": 4, "W": 5}]))
    node = helper.make_node("QLinearConcat", ["y_s", "y_z", "a", "a_s", "a_z", "b", "b_s", "b_z"], ["y"], axis=1, domain=MS)
    out.append(("QLinearConcat", _model(node, [("a", U8, ["N", "C", "H", "W"]), ("b", U8, ["N", 5, "H", "W"])],
                                        [*_q("a", U8, []), *_q("b", U8, []), *_q("y", U8, [])], opset=17, ms=True),
                [{"N": 2, "C": 3, "H": 4, "W": 5}]))
    node = helper.make_node("QGemm", ["a", "a_s", "a_z", "b", "b_s", "b_z", "c", "y_s", "y_z"], ["y"], transB=1, domain=MS)
    out.append(("QGemm", _model(node, [("a", U8, ["N", 16])], [*_q("a", U8, []), _t("b", I8, [10, 16]), *_q("b", I8, []),
                                                               _t("c", I32, [10]), *_q("y", U8, [])], opset=17, ms=True),
                [{"N": 3}]))
    node = helper.make_node("QGemm", ["a", "a_s", "a_z", "b", "b_s", "b_z"], ["y"], domain=MS)
    out.append(("QGemm-float-out", _model(node, [("a", U8, ["N", 16])], [*_q("a", U8, []), _t("b", I8, [16, 10]),
                                                                         *_q("b", I8, [])], opset=17, ms=True),
                [{"N": 3}]))
    node = helper.make_node("MatMulIntegerToFloat", ["a", "b", "a_s", "b_s", "a_z", "b_z", "bias"], ["y"], domain=MS)
    out.append(("MatMulIntegerToFloat", _model(node, [("a", U8, ["N", "S", 16])],
                                               [_t("b", I8, [16, 8]), _t("a_s", F, [], [0.1]), _t("b_s", F, [], [0.1]),
                                                _t("a_z", U8, [], [0]), _t("b_z", I8, [], [0]), _t("bias", F, [8])],
                                               opset=17, ms=True), [{"N": 2, "S": 3}]))
    node = helper.make_node("DynamicQuantizeMatMul", ["a", "b", "b_s", "b_z"], ["y"], domain=MS)
    out.append(("DynamicQuantizeMatMul", _model(node, [("a", F, ["N", 16])],
                                                [_t("b", I8, [16, 8]), _t("b_s", F, [], [0.1]), _t("b_z", I8, [], [0])],
                                                opset=17, ms=True), [{"N": 2}]))
    for op in ("QuantizeLinear", "DequantizeLinear"):
        xdt, zdt = (F, U8) if op == "QuantizeLinear" else (U8, U8)
        node = helper.make_node(op, ["x", "s", "z"], ["y"], axis=1, domain=MS)
        out.append((f"ms-{op}", _model(node, [("x", xdt, ["N", 4, "H", "W"])], [_t("s", F, [4]), _t("z", zdt, [4], [0])],
                                       opset=17, ms=True), [{"N": 2, "H": 3, "W": 5}]))
    return out


OPS = _ops()


@pytest.mark.parametrize("model,sizes", [pytest.param(m, s, id=i) for i, m, s in OPS])
def test_quantized_op_against_onnxruntime(model, sizes):
    r = analyze_model(model)
    assert not r.errors and not r.unaccounted, (r.errors, r.unaccounted)
    if any(r.tensors[o].dtype in (TensorProto.INT4, TensorProto.UINT4) for n in model.graph.node for o in n.output):
        run = _run_graph_outputs
    else:
        run = run_ort
    for dims in sizes:
        outs = run(model, _feeds(model, dims))
        for name, arr in outs.items():
            t = r.tensors[name]
            assert [evaluate(d, dims) for d in t.shape] == list(arr.shape), (name, dims, t.shape)
            want = helper.tensor_dtype_to_np_dtype(t.dtype)
            # onnxruntime hands float8 tensors to numpy as uint8
            assert want == arr.dtype or (SUB_NUMPY.get(t.dtype) == arr.dtype), (name, t.dtype, arr.dtype)


SUB_NUMPY = {t: np.dtype(np.uint8) for t in (17, 18, 19, 20)}


def _feeds(model, dims, seed=0):
    """Random inputs of each input's own element type."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in model.graph.input:
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims[d.dim_param] for d in tt.shape.dim]
        dt = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        feeds[vi.name] = (rng.standard_normal(shape).astype(dt) if np.issubdtype(dt, np.floating)
                          else rng.integers(0, 5, size=shape).astype(dt))
    return feeds


def _run_graph_outputs(model, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def test_int4_weights_take_half_a_byte():
    """An int4 weight of 3 x 7 elements is stored in ceil(21 / 2) = 11 bytes."""
    w = helper.make_tensor("w", TensorProto.INT4, [3, 7], [1] * 21)
    m = make_model([helper.make_node("DequantizeLinear", ["w", "s"], ["wf"], axis=0),
                    helper.make_node("MatMul", ["x", "wf"], ["y"])],
                   [("x", F, ["N", 3])], ["y"], [w, _t("s", F, [3])], opset=21)
    r = analyze_model(m)
    assert r.totals["params.trainable"] == 21
    assert r.totals["params.trainable_bytes"] == 11 == _stored_bytes(w)
    assert r.totals["params.bytes"] == 11 + 3 * 4
    # weight-only quantization: float activations times dequantized weights run in float
    assert sp.expand(r.totals["macs_fp32"] - r.totals["macs"]) == 0


@pytest.mark.parametrize("name", ["tiny_resnet", "resnet18"])
def test_dynamically_quantized_model(name, tmp_path):
    """onnxruntime's quantize_dynamic: DynamicQuantizeLinear + ConvInteger/MatMulInteger,
    then Cast, Mul by the scales and Add of the float bias."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if name == "tiny_resnet":
        src, sizes = TINY, [(1, 32, 32), (2, 45, 37)]
    else:
        d = shared_models_dir()
        if d is None:
            pytest.skip("shared models absent: set CNNSYM_SHARED_MODELS or put them at ../shared/models")
        rel, _, sizes = SHARED[name]
        src = d / rel
    dst = tmp_path / "dyn.onnx"
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv", "MatMul", "Gemm"])
    q, f = _report(dst), _report(src)
    assert not q.errors and not q.unaccounted
    model = onnx.load(str(dst))
    for size in sizes:
        b = _bindings(q, size)
        for tname, arr in run_ort(model, feeds_for(model, b)).items():
            t = q.tensors[tname]
            assert [evaluate(d, b) for d in t.shape] == list(arr.shape), (size, tname, t.shape)
            assert helper.tensor_dtype_to_np_dtype(t.dtype) == arr.dtype, (tname, t.dtype, arr.dtype)
    assert sp.expand(q.totals["macs_int8"] - f.totals["macs"]) == 0
    assert q.totals["params.bytes"] == _file_param_bytes(model)
    fm = onnx.load(str(src), load_external_data=False)
    weights = sum(math.prod(t.dims) for t in fm.graph.initializer if t.data_type == 1 and len(t.dims) >= 2)
    # the uint8 weights, one byte each (the float biases are added by a separate Add, so
    # they count as constants, as in a float MatMul + Add export)
    assert q.totals["params.trainable_bytes"] == q.totals["params.trainable"] == weights


# ------------------------------------------------------------------ QDQ: weights are not activations

def _from_initializers(model):
    """Node outputs computed from initializers and Constant nodes only (a graph walk)."""
    const = {t.name for t in model.graph.initializer}
    for n in model.graph.node:
        ins = [i for i in n.input if i]
        if n.op_type == "Constant" or (ins and all(i in const for i in ins)):
            const.update(o for o in n.output if o)
    return const


def _ort_activation_bytes(model, feeds):
    """What onnxruntime holds as activations: every node output's nbytes, weights folded
    from initializers excluded."""
    const = _from_initializers(model)
    return sum(a.nbytes for k, a in run_ort(model, feeds).items() if k not in const)


@pytest.mark.parametrize("name", ["tiny_resnet", "resnet18"])
def test_qdq_activation_bytes_exclude_dequantized_weights(name, tmp_path_factory):
    src, qpath, sizes = _pair(name, "qdq", tmp_path_factory)
    q, f = _report(qpath), _report(src)
    qm, fm = onnx.load(str(qpath)), onnx.load(str(src))
    size = sizes[0]
    bq, bf = _bindings(q, size), _bindings(f, size)
    qa, fa = evaluate(q.totals["activation_bytes"], bq), evaluate(f.totals["activation_bytes"], bf)
    assert qa == _ort_activation_bytes(qm, feeds_for(qm, bq))
    assert fa == _ort_activation_bytes(fm, feeds_for(fm, bf))
    # what was counted before: every node output, the float copies of the weights included
    everything = sum(a.nbytes for a in run_ort(qm, feeds_for(qm, bq)).values())
    const = _from_initializers(qm)
    assert everything > qa
    # nor are they live at the peak (resnet18 at 224: 4.0 MB, below the float model's 6.4)
    assert not [t.name for t in peak_tensors(q, bq) if t.constant]
    # weights' DequantizeLinear rows fold away; each Conv shows its int8 weight
    rows = {r["name"]: r for r in node_rows(q)}
    for r in q.nodes:
        if r.node.op_type == "DequantizeLinear" and r.node.inputs[0] in const:
            assert rows[r.node.name]["folded"] and q.tensors[r.node.outputs[0]].constant
        if r.node.op_type == "Conv":
            assert not rows[r.node.name]["folded"]
            assert (r.weight_dtype, r.precision) == (TensorProto.INT8, "int8")


def test_float_model_activation_bytes_unchanged_by_folding(tmp_path_factory):
    """A float model with no weight arithmetic: every node output is an activation."""
    src, _, sizes = _pair("tiny_resnet", "qdq", tmp_path_factory)
    f = _report(src)
    fm = onnx.load(str(src))
    b = _bindings(f, sizes[1])
    assert evaluate(f.totals["activation_bytes"], b) == _ort_activation_bytes(fm, feeds_for(fm, b))


@pytest.mark.parametrize("fmt", ["qdq", "qoperator"])
def test_budgets_on_int8_macs_and_parameter_bytes(fmt, tmp_path_factory):
    """Issue 15: a budget can be set on int8 MACs and on parameter bytes. Oracles: the float
    model's MACs (quantization keeps every multiply-accumulate) and the quantized file's
    stored initializer bytes."""
    import cnnsym

    src, q, _ = _pair("tiny_resnet", fmt, tmp_path_factory)
    float_macs = cnnsym.analyze(str(src), bind="H=32,W=32").values["macs"]
    stored = _file_param_bytes(onnx.load(str(q)))
    rep = cnnsym.analyze(str(q), bind="H=32,W=32")
    assert cnnsym.check(rep, max_macs_int8=float_macs, max_param_bytes=stored).ok
    assert not cnnsym.check(rep, max_macs_int8=float_macs - 1).ok
    assert not cnnsym.check(rep, max_param_bytes=stored - 1).ok
