"""`cnnsym explain`: the lecture's worked example derived step by step (issue 11).

Every expected number below is hand arithmetic written in the comment beside it (the
lecture's own derivation), never cnnsym's formula run again."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx import TensorProto as T, helper, numpy_helper

import cnnsym
from cnnsym.cli import main
from cnnsym.errors import InputError
from cnnsym.explain import Explanation

ROOT = Path(__file__).resolve().parent.parent
LECTURE = str(ROOT / "fixtures" / "torch" / "lecture.py")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def lecture():
    # 16 kernels of 8x5x5, padding 2, on one 8x32x32 input
    return cnnsym.explain(f"{LECTURE}::LectureConv", "conv", input="1x8x32x32")


def lecture_onnx():
    """The same layer as an ONNX graph, built by hand."""
    w = numpy_helper.from_array(np.zeros((16, 8, 5, 5), np.float32), "w")
    b = numpy_helper.from_array(np.zeros((16,), np.float32), "b")
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    g = helper.make_graph([node], "lecture", [helper.make_tensor_value_info("x", T.FLOAT, [1, 8, 32, 32])],
                          [helper.make_tensor_value_info("y", T.FLOAT, None)], [w, b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def check_lecture_numbers(ex):
    # params: C_out x (C_in x k_h x k_w + 1) = 16 x (8 x 5 x 5 + 1) = 16 x 201 = 3,216
    p = ex.step("params")
    assert p.formula == "C_out x (C_in/g x k_h x k_w + 1)"
    assert p.substituted == ("16 x (8 x 5 x 5 + 1)", "16 x 201")
    assert p.value == 3216
    # output extent: floor((32 + 2 + 2 - 1 x (5 - 1) - 1)/1) + 1 = 31 + 1 = 32, both axes
    for axis in ("H_out", "W_out"):
        s = ex.step(axis)
        assert s.substituted == ("floor((32 + 4 - 4 - 1)/1) + 1",)
        assert s.value == 32
    # output values: 1 x 16 x 32 x 32 = 16,384
    assert ex.step("output values").substituted == ("1 x 16 x 32 x 32",)
    assert ex.step("output values").value == 16384
    # bytes at float32: 16,384 x 4 = 65,536 = 64 x 1024 = 64 KiB
    b = ex.step("output bytes")
    assert b.substituted == ("16,384 x 4",) and b.value == 65536 and "64 KiB" in b.note
    # MACs per output: C_in x k_h x k_w = 8 x 5 x 5 = 200
    assert ex.step("MACs per output").substituted == ("8 x 5 x 5",)
    assert ex.step("MACs per output").value == 200
    # MACs: 16,384 x 200 = 3,276,800
    assert ex.step("MACs").substituted == ("16,384 x 200",)
    assert ex.step("MACs").value == 3276800
    # FLOPs (cnnsym): 2 x 3,276,800 + one bias add per output 16,384 = 6,569,984
    assert ex.step("FLOPs").substituted == ("2 x 3,276,800 + 16,384",)
    assert ex.step("FLOPs").value == 6569984
    # receptive field from the input's (size 1, jump 1, offset 0):
    # size 1 + 1 x (5-1) x 1 = 5; jump 1 x 1 = 1; offset 0 + (4/2 - 2) x 1 = 0
    assert ex.step("RF size (H)").value == 5
    assert ex.step("RF jump (H)").value == 1
    assert ex.step("RF offset (H)").value == 0


def test_lecture_example_source(lecture):
    check_lecture_numbers(lecture)
    text = lecture.to_text()
    for line in ("= 16 x (8 x 5 x 5 + 1)", "= 16 x 201", "= 3,216", "= floor((32 + 4 - 4 - 1)/1) + 1", "= 32",
                 "= 16,384", "= 65,536", "(64 KiB at float32)", "= 200", "= 16,384 x 200", "= 3,276,800"):
        assert line in text, line


def test_lecture_example_onnx_gives_the_same_numbers(lecture):
    ex = cnnsym.explain(lecture_onnx(), "conv")
    check_lecture_numbers(ex)
    assert [(s.label, s.substituted, s.value) for s in ex.steps] == \
        [(s.label, s.substituted, s.value) for s in lecture.steps]


def test_other_convention(lecture):
    # fvcore counts one FLOP per MAC and no bias: 3,276,800
    ex = cnnsym.explain(f"{LECTURE}::LectureConv", "conv", input="1x8x32x32", convention="fvcore")
    assert ex.step("FLOPs").value == 3276800


@pytest.mark.parametrize("k", [3, 5, 7])
def test_receptive_field_grows_as_1_plus_L_k_minus_1(k):
    for L in range(1, 11):
        # L stride-1 convs of kernel k: the field grows by k-1 per layer, 1 + L(k-1)
        expected = 1 + L * (k - 1)
        rep = cnnsym.analyze(f"{LECTURE}::Stack({L}, {k})", input="1x1x64x64")
        ex = cnnsym.explain(rep, f"convs.{L - 1}")
        size = ex.step("RF size (H)")
        assert size.value == expected, (L, k)
        # and it is composed from the layer before: (1 + (L-1)(k-1)) + 1 x (k - 1) x 1
        assert size.substituted == (f"{1 + (L - 1) * (k - 1)} + 1 x ({k} - 1) x 1",)
        assert ex.step("RF jump (H)").value == 1


def test_pool_batchnorm_linear():
    rep = cnnsym.analyze(f"{LECTURE}::Lecture", input="1x8x32x32")
    bn = cnnsym.explain(rep, "bn")
    assert bn.step("trainable params").value == 32  # gamma, beta: 2 x 16
    assert bn.step("buffers").value == 33  # running mean, var: 2 x 16, + num_batches_tracked
    assert "folded" in bn.summary
    pool = cnnsym.explain(rep, "pool")
    assert "each channel aggregated alone, no parameters" in pool.summary
    assert pool.step("params").value == 0
    assert pool.step("H_out").value == 16  # floor((32 - 1 - 1)/2) + 1 = 16
    assert pool.step("inputs per output").value == 4  # 2 x 2
    assert pool.step("RF size (H)").value == 6  # 5 + 1 x (2-1) x 1
    assert pool.step("RF jump (H)").value == 2  # 1 x 2
    fc = cnnsym.explain(rep, "fc")
    assert fc.step("params").value == 170  # 10 x (16 + 1)
    assert fc.step("MACs").value == 160  # 10 outputs x 16 inputs each
    relu = cnnsym.explain(rep, "relu")  # generic: its formula docstring
    assert "activation" in relu.summary
    assert relu.step("term: activation").value == 16384  # one per element, 16 x 32 x 32


def test_layer_names():
    rep = cnnsym.analyze(lecture_onnx())
    assert cnnsym.explain(rep, "conv").layer == "conv"
    with pytest.raises(InputError, match="no layer 'cnv'.*close names: conv"):
        cnnsym.explain(rep, "cnv")
    # a torch-exported ONNX name: /layer1/layer1.0/conv1/Conv answers to layer1.0.conv1
    m = lecture_onnx()
    m.graph.node[0].name = "/layer1/layer1.0/conv1/Conv"
    rep = cnnsym.analyze(m)
    assert cnnsym.explain(rep, "layer1.0.conv1").layer == "/layer1/layer1.0/conv1/Conv"
    assert cnnsym.explain(rep, "conv1").layer == "/layer1/layer1.0/conv1/Conv"


def test_json_round_trip(lecture):
    d = json.loads(lecture.to_json())
    assert d["steps"][0]["value"] == 3216
    assert Explanation.from_dict(d) == lecture


def test_cli(tmp_path):
    r = run("explain", f"{LECTURE}::LectureConv", "conv", "--input", "1x8x32x32")
    assert r.exit_code == 0, r.output
    assert "= 16 x 201" in r.output and "= 3,276,800" in r.output
    r = run("explain", f"{LECTURE}::LectureConv", "conv", "-i", "1x8x32x32", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.output)["steps"][0]["value"] == 3216
    r = run("explain", f"{LECTURE}::LectureConv", "nope", "-i", "1x8x32x32")
    assert r.exit_code == 2
    assert "no layer 'nope'" in r.output and "lecture.py" in r.output and len(r.output.strip().splitlines()) == 1
    assert run("explain", f"{LECTURE}::LectureConv", "conv", "-c", "nope").exit_code == 2
    assert run("explain", str(tmp_path / "missing.onnx"), "conv").exit_code == 2


@pytest.mark.parametrize("cin,cout,g,h,w,k,s,p,d", [
    (8, 16, 1, 12, 10, 5, 1, 2, 1),  # the lecture's layer, smaller input
    (2, 3, 1, 7, 6, 3, 2, 1, 1),
    (4, 4, 2, 9, 8, 3, 1, 2, 2),  # groups and dilation, padding wider than the dilated reach
    (3, 2, 1, 5, 7, 4, 3, 0, 1),
])
def test_linear_operator_against_an_explicit_dense_matrix(cin, cout, g, h, w, k, s, p, d):
    torch = pytest.importorskip("torch")
    weight = torch.rand(cout, cin // g, k, k) + 0.5  # no zero weights: every tap is a nonzero
    # the dense matrix: column j is the conv applied to the j-th basis input
    eye = torch.eye(cin * h * w).reshape(cin * h * w, cin, h, w)
    dense = torch.nn.functional.conv2d(eye, weight, stride=s, padding=p, dilation=d, groups=g)
    dense = dense.reshape(cin * h * w, -1).T  # rows: outputs, cols: inputs
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[k, k], strides=[s, s],
                            pads=[p, p, p, p], dilations=[d, d], group=g)
    gr = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", T.FLOAT, [1, cin, h, w])],
                           [helper.make_tensor_value_info("y", T.FLOAT, None)],
                           [numpy_helper.from_array(weight.numpy(), "W")])
    ex = cnnsym.explain(helper.make_model(gr, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "conv")
    nnz = int((dense != 0).sum())
    assert ex.step("dense matrix").value == dense.shape[0] * dense.shape[1]
    assert ex.step("nonzeros").value == nnz
    assert ex.step("density").value == f"{nnz / dense.numel():.4%}"
    assert ex.step("sharing factor").value == f"{nnz / weight.numel():.2f}"


def test_lecture_linear_operator(lecture):
    # rows 16 x 32 x 32 = 16,384; cols 8 x 32 x 32 = 8,192
    assert lecture.step("dense matrix").substituted[-1] == "16,384 x 8,192"
    # per axis 32 positions x 5 taps = 160, less 2 + 1 taps on the padding at each end = 154;
    # 16 x 8 x 154 x 154 = 3,035,648
    assert lecture.step("nonzeros").value == 3035648
    assert any("translation equivariant" in n for n in lecture.notes)


def test_conv_transpose_against_torch():
    torch = pytest.importorskip("torch")
    src = ("import torch.nn as nn\n\nclass Up(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
           "        self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)\n\n"
           "    def forward(self, x):\n        return self.up(x)\n")
    ex = cnnsym.explain(src, "up", input="1x4x5x5")
    m = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
    y = m(torch.zeros(1, 4, 5, 5))
    # torch's own count and shape: 4 x 3 x 3 x 3 + 3 = 111; H_out = 2 x 4 + 2 + 1 + 1 - 2 = 10
    assert ex.step("params").value == sum(p.numel() for p in m.parameters()) == 111
    assert ex.step("H_out").value == y.shape[2] == 10
    assert ex.step("output values").value == y.numel()
    # each of the 4 x 5 x 5 inputs scatters into 3 x 3 x 3 outputs: 100 x 27 = 2,700
    assert ex.step("MACs").value == 2700


def test_readme_example_is_real_output(monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's command names the fixture relative to the checkout
    text = (ROOT / "README.md").read_text()
    cmd = "$ cnnsym explain fixtures/torch/lecture.py::LectureConv conv --input 1x8x32x32\n"
    block = text.split(cmd, 1)[1].split("\n  ...", 1)[0]
    r = run("explain", "fixtures/torch/lecture.py::LectureConv", "conv", "--input", "1x8x32x32")
    assert r.exit_code == 0 and r.output.startswith(block)


def test_batchnorm_train_test_and_export():
    ex = cnnsym.explain(f"{LECTURE}::Lecture", "bn", input="1x8x32x32")
    # C = 16 channels of 32 x 32: 16,384 elements
    assert ex.step("trainable params").value == 32  # 2C
    assert ex.step("buffers").value == 33  # 2C + the batch counter
    # training: 7 x 16,384 + 9 x 16 = 114,688 + 144 = 114,832; inference: 2 x 16,384 = 32,768
    assert ex.step("training FLOPs").substituted == ("7 x 16,384 + 9 x 16",)
    assert ex.step("training FLOPs").value == 114832
    assert ex.step("inference FLOPs").value == 32768
    assert ex.step("at export").formula.startswith("folded into the conv") and "into conv" in ex.step("at export").note
