"""onnxruntime's com.microsoft float ops (cnnsym/ops/contrib.py) against onnxruntime's own
CPU kernels: single-op graphs with symbolic dims, every output's shape compared at several
sizes. MACs are checked against hand arithmetic written beside each case."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from oracle import analyze_model, compare_shapes  # noqa: E402
from cnnsym.analyze import evaluate  # noqa: E402

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def _dims(spec):
    return [int(d) if d.strip().isdigit() else d.strip() for d in spec.split(",")]


def model(op, inputs, outputs=1, inits=None, **attrs):
    """inputs: dim specs ("N,S,64"), None for an omitted optional input; ``inits``: index ->
    concrete shape of an initializer."""
    inits = inits or {}
    names, vis, tensors = [], [], []
    for k, spec in enumerate(inputs):
        if spec is None:
            names.append("")
            continue
        names.append(f"i{k}")
        if k in inits:
            tensors.append(numpy_helper.from_array(RNG.standard_normal(inits[k]).astype(np.float32), f"i{k}"))
        else:
            vis.append(helper.make_tensor_value_info(f"i{k}", F, _dims(spec)))
    outs = [f"o{k}" for k in range(outputs)]
    node = helper.make_node(op, names, outs, domain="com.microsoft", **attrs)
    g = helper.make_graph([node], "g", vis, [helper.ValueInfoProto(name=o) for o in outs], tensors)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                             ir_version=8)


def check(m, sizes, macs=None):
    report = analyze_model(m)
    assert not report.errors, report.errors
    assert all(r.status == "ok" for r in report.nodes), [r.message for r in report.nodes]
    for dims in sizes:
        assert compare_shapes(m, dims, report) == [], dims
        if macs is not None:
            assert evaluate(report.totals["macs"], dims) == macs(**dims), dims
    return report


SIZES_NCHW = [{"N": 1, "H": 8, "W": 8}, {"N": 2, "H": 7, "W": 13}, {"N": 3, "H": 1, "W": 5}]


def test_fused_conv():
    # 8 output channels x 3 input x 3x3 taps per output element
    m = model("FusedConv", ["N,3,H,W", "8,3,3,3", "8"], inits={1: (8, 3, 3, 3), 2: (8,)},
              activation="Relu", pads=[1, 1, 1, 1], strides=[2, 2])
    r = check(m, SIZES_NCHW, lambda N, H, W: N * 8 * ((H + 1) // 2) * ((W + 1) // 2) * 27)
    assert "activation" in r.nodes[0].terms
    m = model("FusedConv", ["N,4,H,W", "4,4,1,1", None, "N,4,H,W"], inits={1: (4, 4, 1, 1)},
              activation="LeakyRelu", activation_params=[0.1])
    check(m, SIZES_NCHW, lambda N, H, W: N * 4 * H * W * 4)


def test_fused_gemm():
    m = model("FusedGemm", ["N,64", "10,64", "10"], inits={1: (10, 64), 2: (10,)}, transB=1, activation="Relu")
    check(m, [{"N": 1}, {"N": 5}], lambda N: N * 640)


def _physical(logical, trans_batch, trans_last):
    """Undo FusedMatMul's transposes: the operand shape that becomes ``logical``."""
    s = list(logical)
    if trans_last:
        s[-2], s[-1] = s[-1], s[-2]
    if trans_batch:
        s = [s[-2], *s[:-2], s[-1]]
    return ",".join(s)


@pytest.mark.parametrize("rank", [3, 4])
@pytest.mark.parametrize("flags", [(ta, tb, ba, bb) for ta in (0, 1) for tb in (0, 1) for ba in (0, 1) for bb in (0, 1)])
def test_fused_matmul(rank, flags):
    ta, tb, ba, bb = flags
    batch = ["B", "C"][: rank - 2]
    a = _physical([*batch, "M", "K"], ba, ta)
    b = _physical([*batch, "K", "T"], bb, tb)
    m = model("FusedMatMul", [a, b], transA=ta, transB=tb, transBatchA=ba, transBatchB=bb, alpha=0.5)
    sizes = [{"B": 2, "C": 3, "M": 4, "K": 5, "T": 6}, {"B": 1, "C": 2, "M": 7, "K": 3, "T": 1}]
    check(m, sizes, lambda B, C, M, K, T: B * (C if rank == 4 else 1) * M * K * T)


@pytest.mark.parametrize("op,bias", [("Gelu", False), ("QuickGelu", False), ("FastGelu", False), ("FastGelu", True),
                                     ("BiasGelu", True)])
def test_gelus(op, bias):
    m = model(op, ["N,S,16", "16"] if bias else ["N,S,16"], inits={1: (16,)})
    r = check(m, [{"N": 1, "S": 3}, {"N": 4, "S": 9}])
    assert r.nodes[0].terms.keys() >= ({"activation", "bias"} if bias else {"activation"})


@pytest.mark.parametrize("skip", ["N,S,32", "S,32", "1,S,32"])
def test_skip_layer_normalization(skip):
    m = model("SkipLayerNormalization", ["N,S,32", skip, "32", "32", "32"], outputs=4,
              inits={2: (32,), 3: (32,), 4: (32,)})
    r = check(m, [{"N": 1, "S": 1}, {"N": 3, "S": 7}])
    assert r.totals["params.trainable"] == 96  # gamma, beta, bias


def test_skip_layer_normalization_2d_and_simplified():
    check(model("SkipLayerNormalization", ["T,32", "T,32", "32"], outputs=4, inits={2: (32,)}), [{"T": 5}])
    check(model("SkipSimplifiedLayerNormalization", ["N,S,32", "N,S,32", "32", "32"], outputs=4,
                inits={2: (32,), 3: (32,)}), [{"N": 2, "S": 6}])


SIZES_BS = [{"B": 1, "S": 1, "L": 3, "P": 2}, {"B": 2, "S": 5, "L": 4, "P": 1}, {"B": 3, "S": 7, "L": 1, "P": 6}]


def test_attention():
    # projection B*S*64*192, then per head (4 of 16) QK^T and AV over S x S: 4*S*S*(16+16)
    m = model("Attention", ["B,S,64", "64,192", "192"], inits={1: (64, 192), 2: (192,)}, num_heads=4)
    check(m, SIZES_BS, lambda B, S, **_: B * S * 64 * 192 + B * 4 * S * S * 32)
    m = model("Attention", ["B,S,64", "64,128", "128"], inits={1: (64, 128), 2: (128,)}, num_heads=4,
              qkv_hidden_sizes=[32, 32, 64])
    check(m, SIZES_BS, lambda B, S, **_: B * S * 64 * 128 + B * 4 * S * S * (8 + 16))


def test_attention_with_past():
    m = model("Attention", ["B,S,64", "64,192", "192", None, "2,B,4,P,16"], outputs=2,
              inits={1: (64, 192), 2: (192,)}, num_heads=4)
    check(m, SIZES_BS, lambda B, S, P, **_: B * S * 64 * 192 + B * 4 * S * (P + S) * 32)


# packed Q K V and packed K V: onnxruntime's CPU kernel refuses them (the op's examples
# cover their shapes, from the documented layout)
@pytest.mark.parametrize("kv", ["3d", "4d", "3d_wide_v"])
def test_multi_head_attention(kv):
    if kv == "3d":
        ins, macs = ["B,S,64", "B,L,64", "B,L,64"], lambda B, S, L, **_: B * 4 * S * L * 32
    elif kv == "4d":
        ins, macs = ["B,S,64", "B,4,L,16", "B,4,L,16"], lambda B, S, L, **_: B * 4 * S * L * 32
    else:  # value heads of 32: QK^T 16 per score, AV 32
        ins, macs = ["B,S,64", "B,L,64", "B,L,128"], lambda B, S, L, **_: B * 4 * S * L * (16 + 32)
    check(model("MultiHeadAttention", ins, outputs=3, num_heads=4), SIZES_BS, macs)


def test_multi_head_attention_bias_and_past():
    m = model("MultiHeadAttention", ["B,S,64", "B,L,64", "B,L,64", "192", None, None, "B,4,P,16", "B,4,P,16"],
              outputs=3, inits={3: (192,)}, num_heads=4)
    r = check(m, SIZES_BS, lambda B, S, L, P: B * 4 * S * (P + L) * 32)
    # bias adds to q (S x 64), k and v (L x 64 each)
    assert evaluate(r.nodes[0].terms["bias"], {"B": 2, "S": 5, "L": 4}) == 2 * (5 * 64 + 4 * 64 * 2)


def test_onnxruntime_optimized_model(tmp_path):
    """A small conv + token-mixing net exported from torch, then rewritten by onnxruntime's
    own graph optimizer (ORT_ENABLE_EXTENDED writes FusedConv, with and without Z,
    FusedMatMul and BiasGelu): every tensor's shape agrees with onnxruntime executing the
    rewritten graph, and the MACs are the hand count of the float layers."""
    torch = pytest.importorskip("torch")
    import io
    import warnings

    import onnx
    import onnxruntime as ort

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.c3 = nn.Conv2d(3, 8, 3, 1, 1), nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 8, 1)
            self.fc1, self.fc2 = nn.Linear(8, 32), nn.Linear(32, 8)

        def forward(self, x):
            x = torch.relu(self.c2(torch.relu(self.c1(x))))
            x = torch.relu(self.c3(x) + x)
            t = x.flatten(2).transpose(1, 2)
            t = t + torch.matmul(torch.matmul(t, t.transpose(1, 2)).softmax(-1), t)
            return t + self.fc2(torch.nn.functional.gelu(self.fc1(t)))

    torch.manual_seed(0)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), (torch.randn(1, 3, 16, 16),), buf, dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}}, opset_version=17)
    src, dst = tmp_path / "net.onnx", tmp_path / "net_ort.onnx"
    src.write_bytes(buf.getvalue())
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(dst)
    so.log_severity_level = 3
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    m = onnx.load(str(dst))
    fused = {n.op_type for n in m.graph.node if n.domain == "com.microsoft"}
    assert {"FusedConv", "FusedMatMul"} <= fused, fused

    def macs(N, H, W):
        h, w = (H + 1) // 2, (W + 1) // 2
        t = h * w  # tokens after the stride-2 conv
        return N * (8 * 27 * H * W + 8 * 72 * t + 8 * 8 * t + 2 * t * t * 8 + 2 * t * 8 * 32)

    check(m, [{"N": 1, "H": 16, "W": 16}, {"N": 2, "H": 9, "W": 14}, {"N": 1, "H": 3, "W": 1}], macs)
