"""The lecture example this project began from, with the arithmetic done by hand."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T, helper, numpy_helper

from cnnsym.analyze import evaluate
from oracle import analyze_model, make_model, run_ort, feeds_for
from conftest import ROOT


def test_seed_conv_numbers():
    # Conv2d(8, 16, 5, stride=1, padding=2) on 8x32x32
    r = analyze_model(onnx.load(str(ROOT / "fixtures" / "seed_conv.onnx")), {"N": 1, "H": 32, "W": 32})
    v = r.values
    assert v["params.trainable"] == 16 * 8 * 5 * 5 + 16 == 3216
    out = r.tensors["output"]
    assert [evaluate(d, r.bindings) for d in out.shape] == [1, 16, 32, 32]  # 16,384 values
    assert evaluate(out.bytes, r.bindings) == 16384 * 4 == 65536  # 64 KiB in float32
    # each output value: 8*5*5 = 200 multiply-accumulates; 16,384 x 200 = 3,276,800
    assert v["macs"] == 3_276_800
    # flops = 2 x macs + one bias add per output value
    assert v["terms.bias"] == 16384
    assert v["flops"] == 6_553_600 + 16_384
    # receptive field of one 5x5 stride-1 conv: 5, jump 1
    assert [evaluate(f.size, r.bindings) for f in out.rf[2:]] == [5, 5]
    assert [evaluate(f.stride, r.bindings) for f in out.rf[2:]] == [1, 1]


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("layers", [1, 2, 3, 4, 6])
def test_stacked_convs_receptive_field(k, layers):
    # L stacked k x k stride-1 layers see 1 + L(k - 1) input pixels
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        inits.append(numpy_helper.from_array(np.ones((2, 2, k, k), np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"y{i}"], pads=[k // 2] * 4))
        x = f"y{i}"
    m = make_model(nodes, [("x", T.FLOAT, ["N", 2, "H", "W"])], [x], inits)
    r = analyze_model(m)
    rf = r.tensors[x].rf
    assert [int(f.size) for f in rf[2:]] == [1 + layers * (k - 1)] * 2
    # and onnxruntime agrees that an impulse spreads exactly that far
    feeds = feeds_for(m, {"N": 1, "H": 41, "W": 41})
    feeds["x"][:] = 0
    feeds["x"][0, 0, 20, 20] = 1
    out = run_ort(m, feeds)[x][0, 0]
    rows = np.flatnonzero(np.abs(out).sum(axis=1) > 0)
    assert rows[-1] - rows[0] + 1 == 1 + layers * (k - 1)
