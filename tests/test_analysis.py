"""Analyzer behaviour: unknown ops, declared-shape cross-checks, parameters counted once,
receptive fields through branches, input overrides, the valid domain and bindings."""
import numpy as np
import onnx
import onnx.parser
import pytest
import sympy as sp
from onnx import TensorProto as T, helper, numpy_helper

from cnnsym.analyze import analyze, apply_inputs, evaluate, parse_dims
from cnnsym.domain import violated
from cnnsym.errors import BindingError, InputError
from cnnsym.frontends.onnx import load
from oracle import analyze_model, compare_shapes, make_model


def save(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    onnx.save(model, str(p))
    return str(p)


def w(name, *shape):
    return numpy_helper.from_array(np.ones(shape, np.float32) / 10, name)


def test_unknown_op_is_listed_not_zero_and_the_rest_is_analysed(tmp_path):
    m = make_model([
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("FancyConv", ["a"], ["b"], domain="com.example"),
        helper.make_node("FancyConv", ["b"], ["c"], domain="com.example"),
        helper.make_node("Relu", ["c"], ["d"]),
        helper.make_node("Conv", ["x", "w1"], ["e"], pads=[1, 1, 1, 1]),
    ], [("x", T.FLOAT, ["N", 4, "H", "W"])], ["d", "e"], [w("w1", 4, 4, 3, 3)])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    # the exporter declared b's shape: used, and flagged as declared
    m.graph.value_info.append(helper.make_tensor_value_info("b", T.FLOAT, ["N", 4, "H", "W"]))
    r = analyze(load(save(tmp_path, m)))
    assert r.unaccounted == [{"op": "FancyConv", "domain": "com.example", "count": 2, "nodes": ["FancyConv_1", "FancyConv_2"]}]
    assert r.tensors["b"].declared
    assert r.tensors["c"].shape is None  # nothing declared: unknown, never invented
    # the known parts are still counted: two 3x3 convs 4->4 = 2 * 144 * N*H*W macs
    assert r.values["macs"] == 2 * 144 * 224 * 224
    assert any("FancyConv" in x for x in r.warnings)


def test_declared_shapes_are_a_cross_check_only(tmp_path):
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["y"], strides=[2, 2])],
                   [("x", T.FLOAT, [1, 4, 9, 9])], ["y"], [w("w1", 8, 4, 3, 3)])
    m.graph.value_info.append(helper.make_tensor_value_info("y", T.FLOAT, [1, 8, 5, 5]))  # wrong: (9-3)/2+1 = 4
    r = analyze(load(save(tmp_path, m)))
    assert [int(d) for d in r.tensors["y"].shape] == [1, 8, 4, 4]
    assert any("declares" in x and "'y'" in x for x in r.warnings)


def test_shared_initializer_counted_once(tmp_path):
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1] * 4),
                    helper.make_node("Conv", ["a", "w1"], ["b"], pads=[1] * 4)],
                   [("x", T.FLOAT, ["N", 4, "H", "W"])], ["b"], [w("w1", 4, 4, 3, 3)])
    r = analyze(load(save(tmp_path, m)))
    assert r.values["params.trainable"] == 4 * 4 * 9


def test_batchnorm_buffers_are_split(tmp_path):
    m = make_model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
                   [("x", T.FLOAT, ["N", 4, "H", "W"])], ["y"],
                   [w("s", 4), w("b", 4), w("m", 4), w("v", 4)])
    r = analyze(load(save(tmp_path, m)))
    assert (r.values["params.trainable"], r.values["params.buffers"]) == (8, 8)


def test_residual_join_takes_the_wider_field(tmp_path):
    # main branch: two 3x3 convs (field 5); shortcut: identity (field 1)
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1] * 4),
                    helper.make_node("Conv", ["a", "w1"], ["b"], pads=[1] * 4),
                    helper.make_node("Add", ["b", "x"], ["y"])],
                   [("x", T.FLOAT, ["N", 4, "H", "W"])], ["y"], [w("w1", 4, 4, 3, 3)])
    r = analyze(load(save(tmp_path, m)))
    assert [int(f.size) for f in r.tensors["y"].rf[2:]] == [5, 5]
    assert not any("misaligned" in x for x in r.warnings)


def test_misaligned_branches_are_noted(tmp_path):
    # a 2x2 unpadded conv shifts the field centre by half a pixel, then a crop via Pad
    m = make_model([helper.make_node("Conv", ["x", "w2"], ["a"], pads=[0, 0, 1, 1]),
                    helper.make_node("Add", ["a", "x"], ["y"])],
                   [("x", T.FLOAT, ["N", 4, "H", "W"])], ["y"], [w("w2", 4, 4, 2, 2)])
    assert compare_shapes(m, {"N": 1, "H": 7, "W": 6}) == []
    r = analyze(load(save(tmp_path, m)))
    assert any("misaligned" in x for x in r.warnings)


def test_input_override_frees_static_dims(tmp_path):
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["y"], strides=[2, 2], pads=[1] * 4)],
                   [("x", T.FLOAT, [1, 4, 224, 224])], ["y"], [w("w1", 8, 4, 3, 3)])
    g = load(save(tmp_path, m))
    apply_inputs(g, {None: parse_dims("Nx4xHxW")})
    r = analyze(g, {"H": 193, "W": 161, "N": 2})
    y = r.tensors["y"].shape
    assert str(y[2]) == "ceiling(H/2)" or evaluate(y[2], {"H": 193}) == 97
    assert [evaluate(d, r.bindings) for d in y] == [2, 8, 97, 81]  # ceil(193/2), ceil(161/2)
    with pytest.raises(InputError):
        apply_inputs(g, {"nope": parse_dims("1x4xHxW")})
    with pytest.raises(InputError):
        apply_inputs(g, {None: parse_dims("1x4xH")})


def test_binding_outside_domain_is_an_error(tmp_path):
    # 7x7 valid conv needs H, W >= 7
    m = make_model([helper.make_node("Conv", ["x", "w7"], ["y"])],
                   [("x", T.FLOAT, ["N", 4, "H", "W"])], ["y"], [w("w7", 4, 4, 7, 7)])
    p = save(tmp_path, m)
    r = analyze(load(p))
    assert r.valid_ranges["H"]["min"] == 7 and r.valid_ranges["H"]["max"] is None
    assert r.smallest_input == {"H": 7, "W": 7}
    with pytest.raises(BindingError):
        analyze(load(p), {"H": 6})
    with pytest.raises(InputError):
        analyze(load(p), {"Q": 6})


def test_lenet_like_domain_is_a_finite_range(tmp_path):
    # conv5 -> pool2 -> conv5 -> pool2 -> flatten -> Gemm(400): 16*f(H)*f(W) = 400
    m = make_model([
        helper.make_node("Conv", ["x", "c1"], ["a"]),
        helper.make_node("AveragePool", ["a"], ["b"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["b", "c2"], ["c"]),
        helper.make_node("AveragePool", ["c"], ["d"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["d"], ["e"]),
        helper.make_node("Gemm", ["e", "fc"], ["y"], transB=1),
    ], [("x", T.FLOAT, ["N", 1, "H", "W"])], ["y"], [w("c1", 6, 1, 5, 5), w("c2", 16, 6, 5, 5), w("fc", 120, 400)])
    r = analyze(load(save(tmp_path, m)))
    assert r.smallest_input == {"H": 32, "W": 32}
    assert (r.valid_ranges["H"]["min"], r.valid_ranges["H"]["max"]) == (32, 35)
    assert r.bindings["H"] == 32  # default 224 is invalid: evaluated at the smallest valid input
    for h in (31, 32, 35, 36):
        ok = not violated(r, {"N": 1, "H": h, "W": 32})
        assert ok == (32 <= h <= 35)
        if ok:
            assert compare_shapes(m, {"N": 1, "H": h, "W": 32}, r) == []


@pytest.mark.parametrize("problem,make", [
    ("cycle", lambda: make_model([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])],
                                 [("x", T.FLOAT, [1])], ["b"])),
    ("defines", lambda: make_model([helper.make_node("Relu", ["nope"], ["a"])], [("x", T.FLOAT, [1])], ["a"])),
    ("more than one node", lambda: make_model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["a"])],
                                              [("x", T.FLOAT, [1])], ["a"])),
    ("no nodes", lambda: make_model([], [("x", T.FLOAT, [1])], ["x"])),
])
def test_broken_graphs_are_input_errors(tmp_path, problem, make):
    with pytest.raises(InputError, match=problem):
        analyze(load(save(tmp_path, make())))


def test_external_data_is_never_read_and_escapes_are_refused(tmp_path):
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["y"])], [("x", T.FLOAT, ["N", 4, "H", "W"])], ["y"],
                   [w("w1", 8, 4, 3, 3)])
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    t.external_data.add(key="location", value="weights.bin")
    r = analyze(load(save(tmp_path, m)))  # weights.bin does not exist: shapes suffice
    assert r.values["params.trainable"] == 8 * 4 * 9
    for bad in ("../../etc/passwd", "/etc/passwd"):
        t.external_data[0].value = bad
        with pytest.raises(InputError, match="refused"):
            load(save(tmp_path, m))
