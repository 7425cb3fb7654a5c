"""Lowering a Graph whose constants hold sizes computed from the input's dims (source models:
``x.shape[-2:]`` arithmetic) into ONNX shape arithmetic. Oracle: Python's own integer
arithmetic on the same sizes (``//`` is floor division, ``-(-a // q)`` the ceiling), compared
with what onnxruntime computes from the lowered model."""
import pytest
import sympy as sp

from cnnsym.graph import Graph, GraphInput, Initializer, Node
from cnnsym.lower import COMPUTED_KEY, to_model

N, H, W = (sp.Symbol(s, integer=True, positive=True) for s in "NHW")
EXPRS = [H, W - 1, sp.floor(H / 2) + 1, sp.ceiling(W / 3), sp.floor((H - 7) / 4), sp.Max(H, W),
         sp.Min(H, 2 * W), sp.Mod(H, 5), 3 * H * W, sp.ceiling((H + W) / 8) * 2,
         (3 * H + W) / 2 + sp.Mod(H + W, 2) / 2 - H]  # an exact quotient with rational coefficients


def oracle(h, w):
    return [h, w - 1, h // 2 + 1, -(-w // 3), (h - 7) // 4, max(h, w), min(h, 2 * w), h % 5, 3 * h * w,
            -(-(h + w) // 8) * 2, (3 * h + w + (h + w) % 2) // 2 - h, 7]


def _graph():
    value = tuple(EXPRS) + (sp.Integer(7),)  # symbolic and concrete elements mixed
    init = Initializer("sizes", (len(value),), 7, value=value)
    return Graph(path="<test>", inputs=[GraphInput("x", (N, 3, H, W), 1)], outputs=["y"],
                 nodes=[Node("Identity", "id", ["sizes"], ["y"])], initializers={"sizes": init}, opsets={"": 17})


@pytest.mark.parametrize("h,w", [(1, 1), (7, 9), (8, 8), (31, 2), (224, 193)])
def test_shape_arithmetic_matches_integer_arithmetic(h, w):
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    model = to_model(_graph())
    assert {p.key: p.value for p in model.metadata_props}[COMPUTED_KEY] == str(len(EXPRS) + 1)  # the whole constant is computed
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": np.zeros((2, 3, h, w), np.float32)})[0].tolist()
    assert got == oracle(h, w)


def test_constants_without_symbols_stay_initializers():
    g = _graph()
    g.initializers["sizes"] = Initializer("sizes", (2,), 7, value=(sp.Integer(3), sp.Integer(4)))
    model = to_model(g)
    assert [t.name for t in model.graph.initializer] == ["sizes"]
    assert not model.metadata_props
