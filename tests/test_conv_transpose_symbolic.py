"""ConvTranspose with auto_pad=SAME_* and a kernel whose size is a symbol (the weight a
graph input): onnxruntime is the oracle at kernels on both sides of the stride."""
from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from oracle import analyze_model, compare_shapes, make_model  # noqa: E402


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_symbolic_kernel_same_pad(auto_pad):
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[3, 2], auto_pad=auto_pad)
    m = make_model([node], [("x", TensorProto.FLOAT, ["N", 2, "H", "W"]),
                            ("w", TensorProto.FLOAT, [2, 3, "K", "J"])], ["y"])
    report = analyze_model(m)
    assert not report.errors, report.errors
    # stride 3 on H: kernel 1 gives the unpadded 3H - 2 in onnxruntime, kernels >= 2 give 3H
    for k, j in [(1, 1), (2, 1), (3, 2), (5, 4)]:
        for h, w in [(1, 1), (4, 7), (9, 2)]:
            dims = {"N": 2, "H": h, "W": w, "K": k, "J": j}
            assert compare_shapes(m, dims, report) == [], dims
