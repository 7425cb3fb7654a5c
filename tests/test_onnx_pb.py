"""Reading ONNX without importing the ``onnx`` package (cnnsym/frontends/_onnxpb.py).

The oracle is the onnx package itself: its numpy_helper decodes every tensor, its dtype table
gives item sizes, its defs give the newest opset, and its ModelProto class must be the very
class cnnsym parsed with.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cnnsym.frontends import _onnxpb

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "fixtures" / "seed_conv.onnx")


def _run(code, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


def test_loading_a_model_does_not_import_onnx_or_ml_dtypes():
    code = ("import sys\n"
            "from cnnsym.frontends.onnx import load\n"
            "from cnnsym.analyze import analyze\n"
            "analyze(load(sys.argv[1]))\n"
            "print(sorted(m for m in ('onnx', 'ml_dtypes') if m in sys.modules))\n")
    assert _run(code, SEED) == "[]"


def test_classes_are_onnx_own_classes_when_onnx_is_imported_later():
    code = ("import sys\n"
            "from cnnsym.frontends.onnx import _decode\n"
            "m = _decode(sys.argv[1])\n"
            "import onnx, onnx.checker\n"
            "onnx.checker.check_model(m)\n"
            "print(type(m) is onnx.ModelProto, isinstance(m, onnx.ModelProto))\n")
    assert _run(code, SEED) == "True True"


def test_item_sizes_match_onnx():
    from onnx import _mapping

    for dt, info in _mapping.TENSOR_TYPE_MAP.items():
        assert _onnxpb.ITEMSIZE.get(dt) == info.np_dtype.itemsize, info.name


def test_newest_opset_table_matches_installed_onnx():
    import onnx.defs

    newest = onnx.defs.onnx_opset_version()
    major_minor = ".".join(onnx.__version__.split(".")[:2])
    if major_minor in _onnxpb.NEWEST_OPSET:
        assert _onnxpb.NEWEST_OPSET[major_minor] == newest
    assert _onnxpb.OPSET_FLOOR <= newest
    assert _onnxpb.newest_opset_at_least(newest) == newest
    assert _onnxpb.newest_opset_at_least(newest + 1) == newest


PLAIN = [np.float32, np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.bool_, np.float16,
         np.float64, np.uint32, np.uint64]


def _samples(dtype):
    if dtype is np.bool_:
        return np.array([True, False, True])
    if np.issubdtype(dtype, np.floating):
        return np.array([0.5, -2.0, 1e-3, np.inf, -0.0, 3.0], dtype=dtype)
    info = np.iinfo(dtype)
    return np.array([info.min, info.max, 0, 1, info.max // 3], dtype=dtype)


@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_field"])
@pytest.mark.parametrize("dtype", PLAIN, ids=lambda d: np.dtype(d).name)
def test_tensor_values_equal_numpy_helper(dtype, raw):
    arr = _samples(dtype)
    if raw:
        t = numpy_helper.from_array(arr, "t")
    else:
        t = helper.make_tensor("t", helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape, arr.tolist())
    assert t.HasField("raw_data") == raw
    expected = tuple(x.item() for x in numpy_helper.to_array(t).reshape(-1))
    got = _onnxpb.tensor_values(t)
    assert got == expected or all(a == b or (a != a and b != b) for a, b in zip(got, expected))
    assert [type(x) for x in got] == [type(x) for x in expected]


def test_out_of_range_typed_values_wrap_like_numpy():
    for dt in (TensorProto.INT8, TensorProto.UINT8, TensorProto.INT16, TensorProto.UINT16, TensorProto.BOOL):
        t = TensorProto(name="t", data_type=dt, dims=[4])
        t.int32_data.extend([300, -129, 70000, -1])
        assert _onnxpb.tensor_values(t) == tuple(x.item() for x in numpy_helper.to_array(t).reshape(-1)), dt
    t = TensorProto(name="t", data_type=TensorProto.UINT32, dims=[2])
    t.uint64_data.extend([2**40 + 5, 7])
    assert _onnxpb.tensor_values(t) == tuple(x.item() for x in numpy_helper.to_array(t).reshape(-1))


def test_count_mismatch_raises_what_numpy_helper_raises():
    t = TensorProto(name="t", data_type=TensorProto.INT64, dims=[4])
    t.int64_data.extend([1, 2, 3])
    with pytest.raises(ValueError) as ours:
        _onnxpb.tensor_values(t)
    with pytest.raises(ValueError) as theirs:
        numpy_helper.to_array(t)
    assert str(ours.value) == str(theirs.value)


def test_exotic_types_go_through_onnx():
    t = helper.make_tensor("t", TensorProto.BFLOAT16, [2], [1.5, -2.0])
    assert _onnxpb.tensor_values(t) == tuple(x.item() for x in numpy_helper.to_array(t).reshape(-1))
    assert onnx.ModelProto is _onnxpb.proto().ModelProto or _onnxpb.proto() is onnx


# ---- skipping weight bytes before parsing (cnnsym/frontends/_onnxwire.py)

def _conv_model(w_bytes=None, dtype=np.float32):
    w = np.arange(16 * 8 * 3 * 3).astype(dtype).reshape(16, 8, 3, 3)  # 1152 elements: stripped
    wt = numpy_helper.from_array(w, "w")
    if w_bytes is not None:
        wt.raw_data = w_bytes
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")  # small: kept, read
    scale = numpy_helper.from_array(np.array([0.5, 2.0], np.float32), "scale")  # small float
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "shape"], ["y"])]
    g = helper.make_graph(nodes, "g", [x], [y], [wt, shape, scale])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _summary(path):
    from cnnsym.errors import InputError
    from cnnsym.frontends.onnx import load

    try:
        g = load(str(path))
    except InputError as e:
        return f"error: {e}"
    return {k: (v.shape, v.dtype, v.value, v.external, v.data_missing, v.pending() if v.pending else None)
            for k, v in g.initializers.items()}


@pytest.mark.parametrize("case", ["plain", "size_mismatch", "float16", "int64_weights"])
def test_lean_read_equals_full_parse(tmp_path, monkeypatch, case):
    import cnnsym.frontends.onnx as fe

    m = {"plain": lambda: _conv_model(),
         "size_mismatch": lambda: _conv_model(w_bytes=b"\0" * 4000),
         "float16": lambda: _conv_model(dtype=np.float16),
         "int64_weights": lambda: _conv_model(dtype=np.int64)}[case]()
    p = tmp_path / "m.onnx"
    p.write_bytes(m.SerializeToString())
    monkeypatch.setattr(fe, "LEAN_MIN_BYTES", 1 << 62)
    full = _summary(p)
    monkeypatch.setattr(fe, "LEAN_MIN_BYTES", 0)
    assert fe._decode_lean(str(p))[1] == {0: len(m.graph.initializer[0].raw_data)}
    assert _summary(p) == full
    if case == "size_mismatch":
        assert "holds 4000 bytes" in full


def test_lean_model_is_the_model_minus_big_raw_data(tmp_path):
    from cnnsym.frontends._onnxwire import lean_bytes
    from cnnsym.frontends.onnx import STRIPPABLE

    m = _conv_model()
    data = m.SerializeToString()
    lean, sizes = lean_bytes(data, onnx, STRIPPABLE)
    assert len(lean) < len(data) - 4000
    got = onnx.ModelProto()
    got.ParseFromString(lean)
    expected = onnx.ModelProto()
    expected.CopyFrom(m)
    for i in sizes:
        expected.graph.initializer[i].ClearField("raw_data")
    assert got == expected


def test_lean_walk_gives_up_on_truncated_files():
    from cnnsym.frontends._onnxwire import lean_bytes
    from cnnsym.frontends.onnx import STRIPPABLE

    data = _conv_model().SerializeToString()
    for cut in (len(data) - 1, len(data) // 2, 7):
        assert lean_bytes(data[:cut], onnx, STRIPPABLE) is None
