"""The lecture's views of a whole model (issue 11 items 2-4): convolution as a linear
operator, feature extractor vs classifier, BatchNorm at train and test time.

Oracles: the dense matrix torch builds from basis inputs (its nonzeros counted by torch),
torch executing the model (parameters per part counted by torch, MACs by
torch.utils.flop_counter), hand arithmetic written beside each number."""
import importlib.util
import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto as T, helper, numpy_helper

from cnnsym import api
from cnnsym.cli import main
from cnnsym.lecture import lecture, operators, split, batchnorms

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "torch"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _module(path):
    spec = importlib.util.spec_from_file_location(f"lecture_views_{path.stem}", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def export(net, shape, randomise=True):
    """``net`` exported by torch.onnx in eval mode (BatchNorm after a conv folded by the
    exporter). Parameters randomised: the exporter shares identical constants (an untrained
    model's zero biases) between layers, which cnnsym then counts once."""
    if randomise:
        with torch.no_grad():
            for t in [*net.parameters(), *(b for b in net.buffers() if b.dtype.is_floating_point)]:
                t.uniform_(0.5, 1.5)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.randn(*shape),), f, dynamo=False)
    return onnx.load_from_string(f.getvalue())


# ------------------------------------------------------------------ item 2: the operator
def conv_graph(cin, cout, g, k, s, pads, d):
    """One Conv on a 1 x cin x H x W input with symbolic H and W."""
    w = numpy_helper.from_array(np.ones((cout, cin // g, k, k), np.float32), "W")
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[k, k], strides=[s, s],
                            pads=list(pads), dilations=[d, d], group=g)
    gr = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", T.FLOAT, [1, cin, "H", "W"])],
                           [helper.make_tensor_value_info("y", T.FLOAT, None)], [w])
    return helper.make_model(gr, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def dense(cin, cout, g, k, s, pads, d, h, w):
    """The convolution of one sample as a matrix: column j is the conv of the j-th basis input."""
    weight = torch.rand(cout, cin // g, k, k) + 0.5  # no zero weight: every tap a nonzero
    eye = torch.eye(cin * h * w).reshape(cin * h * w, cin, h, w)
    hb, wb, he, we = pads
    eye = torch.nn.functional.pad(eye, (wb, we, hb, he))  # asymmetric pads as ONNX gives them
    out = torch.nn.functional.conv2d(eye, weight, stride=s, dilation=d, groups=g)
    return out.reshape(cin * h * w, -1).T


CASES = [  # cin, cout, g, k, s, pads (h_begin, w_begin, h_end, w_end), d
    (8, 16, 1, 5, 1, (2, 2, 2, 2), 1),  # the lecture's layer
    (2, 3, 1, 3, 2, (1, 1, 1, 1), 1),  # stride 2: parity of H matters
    (4, 4, 2, 3, 1, (2, 2, 2, 2), 2),  # groups and dilation
    (3, 2, 1, 4, 3, (0, 0, 0, 0), 1),  # no padding: every tap inside
    (2, 2, 2, 3, 2, (0, 1, 2, 1), 1),  # asymmetric pads, depthwise
    (1, 2, 1, 5, 2, (3, 3, 3, 3), 2),  # padding wider than the dilated reach
]


@pytest.mark.parametrize("cin,cout,g,k,s,pads,d", CASES)
def test_operator_formulas_against_a_dense_matrix(cin, cout, g, k, s, pads, d):
    rep = api.analyze(conv_graph(cin, cout, g, k, s, pads, d), bind="H=9,W=9")
    (op,) = operators(rep)
    checked = 0
    for h, w in [(1, 1), (2, 3), (5, 4), (6, 7), (8, 8), (9, 6), (11, 10)]:
        ho = (h + pads[0] + pads[2] - d * (k - 1) - 1) // s + 1
        wo = (w + pads[1] + pads[3] - d * (k - 1) - 1) // s + 1
        if ho < 1 or wo < 1:
            continue  # no output: the model is not valid at this size
        M = dense(cin, cout, g, k, s, pads, d, h, w)
        at = {"H": h, "W": w}
        nnz = int((M != 0).sum())
        assert rep.evaluate(op.rows, at) == M.shape[0]
        assert rep.evaluate(op.cols, at) == M.shape[1]
        assert rep.evaluate(op.entries, at) == M.numel()
        assert rep.evaluate(op.nonzeros, at) == nnz, (h, w)
        # without padding taken out: every output reads C_in/g x k x k weights
        assert rep.evaluate(op.nonzeros_unpadded, at) == M.shape[0] * (cin // g) * k * k
        assert rep.evaluate(op.weights, at) == cout * (cin // g) * k * k
        checked += 1
    assert checked >= 3


def test_lecture_layer_as_an_operator_from_source():
    rep = api.analyze(f"{FIX / 'lecture.py'}::LectureConv", input="1x8xHxW", bind="H=32,W=32")
    (op,) = operators(rep)
    v = op.values
    # rows 16 x 32 x 32 = 16,384; cols 8 x 32 x 32 = 8,192
    assert (v["rows"], v["cols"]) == (16384, 8192)
    # per axis 32 x 5 = 160 pairs less 2 + 1 reading padding at each end = 154;
    # 16 x 8 x 154 x 154 = 3,035,648 of 16,384 x 200 = 3,276,800 if every tap were inside
    assert v["taps"] == [154, 154]
    assert v["nonzeros"] == 3035648 and v["nonzeros_unpadded"] == 3276800
    assert v["density"] == pytest.approx(3035648 / (16384 * 8192))
    assert v["sharing"] == pytest.approx(3035648 / 3200)
    assert "translation equivariant" in op.equivariance()
    # T_H = 5H - 6 for H >= 2 (3 taps on padding at each end): 5 x 100 - 6 = 494 at H = 100
    assert rep.evaluate(op.taps[0], {"H": 100, "W": 7}) == 494


def test_striding_breaks_equivariance_to_multiples_of_the_jump():
    rep = api.analyze(f"{FIX / 'resnet.py'}::resnet18()", input="1x3x64x64")
    ops = operators(rep)
    stem = ops[0]  # 7x7 stride 2
    assert stem.strides == (2, 2) and "multiples of the stride" in stem.equivariance()
    last = ops[-1]  # layer4's last 3x3 conv, stride 1, after five halvings: jump 32
    assert last.strides == (1, 1) and "jump 32x32" in last.equivariance()


# ------------------------------------------------------------------ item 3: the split
def _flop_macs(module, x):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        module(x)
    return fc.get_total_flops() // 2  # torch counts 2 FLOPs per multiply-accumulate


def test_vgg11_split_against_torch():
    net = _module(FIX / "vgg.py").vgg11().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        feats = net.avgpool(net.features(x))
        n_feat = sum(p.numel() for p in [*net.features.parameters(), *net.avgpool.parameters()])
        n_head = sum(p.numel() for p in net.classifier.parameters())
        macs_feat = _flop_macs(lambda t: net.avgpool(net.features(t)), x)
        macs_head = _flop_macs(net.classifier, torch.flatten(feats, 1))
    rep = api.analyze(f"{FIX / 'vgg.py'}::vgg11()", input="1x3x224x224")
    s = split(rep)
    assert s.boundary.startswith("flatten")
    feat, head = s.parts
    assert feat.values["params"] == n_feat and head.values["params"] == n_head
    assert feat.values["macs"] == macs_feat and head.values["macs"] == macs_head
    # the lecture's sentence: the classifier holds 93% of the parameters, under 2% of the MACs
    assert round(head.shares["params"]) == 93 and head.shares["macs"] < 2
    # memory: every activation the classifier produces, at float32: 4096 + 4096 (fc1, relu)
    # + 4096 + 4096 (fc2, relu) + 1000 (fc3) = 17,384 values x 4 bytes (dropout: identity)
    assert head.values["activation_bytes"] == 17384 * 4
    assert feat.values["activation_bytes"] + head.values["activation_bytes"] == rep.values["activation_bytes"]
    text = lecture(rep, views=("split",)).to_text()
    assert "the classifier holds 93.1% of the parameters and 1.62% of the MACs" in text


def test_split_of_an_exported_onnx_and_models_without_a_head():
    net = _module(FIX / "vgg.py").vgg11()
    s = split(api.analyze(export(net, (1, 3, 224, 224))))
    head = s.parts[1]
    assert head.values["params"] == sum(p.numel() for p in net.classifier.parameters())
    # ResNet: the global pool ends the extractor
    s = split(api.analyze(f"{FIX / 'resnet.py'}::resnet18()", input="1x3x64x64"))
    assert s.reason.startswith("GlobalAveragePool")
    # SqueezeNet's classifier is a 1x1 conv; a U-Net has no head at all
    for spec in ("squeezenet.py::SqueezeNet()", "unet.py::UNet(3, 2)"):
        s = split(api.analyze(f"{FIX / spec.split('::')[0]}::{spec.split('::')[1]}", input="1x3x64x64"))
        assert not s.parts and s.reason.startswith("no fully connected head"), spec


# ------------------------------------------------------------------ item 4: BatchNorm
def test_batchnorm_train_and_test():
    rep = api.analyze(f"{FIX / 'lecture.py'}::Lecture", input="1x8x32x32")
    (bn,) = batchnorms(rep)
    m = _module(FIX / "lecture.py").Lecture().bn
    v = bn.values
    assert v["channels"] == 16
    assert v["trainable"] == sum(p.numel() for p in m.parameters())  # 2C = 32
    assert v["buffers"] == sum(b.numel() for b in m.buffers())  # 2C + 1 = 33 (num_batches_tracked)
    # 16 x 32 x 32 = 16,384 elements: inference 2 x 16,384 = 32,768 (scale, shift);
    # training 7 x 16,384 + 9 x 16 = 114,688 + 144 = 114,832
    assert v["elements"] == 16384 and v["inference_flops"] == 32768 and v["train_flops"] == 114832
    assert bn.folded and "into conv" in bn.reason and v["folded_flops"] == 0  # conv has a bias already


def test_batchnorm_kept_reasons_on_an_exported_graph():
    # untrained: the exporter shares the BNs' identical statistics through Identity nodes
    kept = _module(FIX / "batchnorm_kept.py").Kept
    rows = {b.node: b for b in batchnorms(api.analyze(export(kept(), (1, 3, 8, 8), randomise=False)))}
    assert len(rows) == 5 and not any(b.folded for b in rows.values())  # the exporter folded bn_ok itself
    reasons = " | ".join(b.reason for b in rows.values())
    for why in ("ConvTranspose", "also read elsewhere", "Concat", "pre-activation", "Gemm"):
        assert why in reasons, why


def test_cli(tmp_path):
    spec = f"{FIX / 'lecture.py'}::Lecture"
    r = run("lecture", spec, "--input", "1x8x32x32")
    assert r.exit_code == 0, r.output
    for part in ("Convolution as a linear operator", "= 3,035,648", "Feature extractor and classifier",
                 "Batch normalisation, train and test", "after folding (--fold-bn): params.total 3,386"):
        assert part in r.output, part
    r = run("lecture", spec, "--input", "1x8x32x32", "--view", "split", "-f", "json")
    doc = json.loads(r.output)
    assert set(doc) == {"model", "bindings", "split"} and doc["split"]["parts"][1]["values"]["params"] == 170
    r = run("lecture", tmp_path / "missing.onnx")
    assert r.exit_code == 2 and "missing.onnx" in r.output
