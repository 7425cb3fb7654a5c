"""--fold-bn (issue 11 item 4): the inference model with BatchNorm folded into the Conv
before it must count what the exporter's graph counts.

Oracle: the same PyTorch module exported by ``torch.onnx.export`` in eval mode (which
folds Conv + BatchNorm itself), analysed by cnnsym as an ONNX file. Parameters are
randomised before export: an untrained model's folded biases are all zero, and the exporter
would then share identical constant tensors, which is deduplication, not folding."""
import importlib.util
import io
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnnsym
from cnnsym import api
from cnnsym.cli import main

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "torch"
KEPT = FIX / "batchnorm_kept.py"
KEYS = ("params.total", "params.trainable", "params.buffers", "macs", "flops")


def _module(path):
    spec = importlib.util.spec_from_file_location(f"fold_fixture_{path.stem}", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def export(net, shape):
    net = net.eval()
    with torch.no_grad():
        for t in [*net.parameters(), *(b for b in net.buffers() if b.dtype.is_floating_point)]:
            t.uniform_(0.5, 1.5)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.randn(*shape),), f, dynamo=False)
    return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize("file,ctor,shape", [
    ("lecture.py", "Lecture()", (1, 8, 32, 32)),
    ("resnet.py", "resnet18()", (1, 3, 64, 64)),  # convs without bias: folding adds one
    ("vgg.py", "VGG('VGG11')", (1, 3, 32, 32)),  # convs with bias
    ("mobilenetv2.py", "MobileNetV2()", (1, 3, 64, 64)),  # depthwise convs
])
def test_folded_source_matches_the_exported_onnx(file, ctor, shape):
    path = FIX / file
    exported = cnnsym.analyze(export(eval(f"m.{ctor}", {"m": _module(path)}), shape))
    assert not any(n.node.op_type == "BatchNormalization" for n in exported.nodes)  # the exporter folded all
    spec, inp = f"{path}::{ctor}", "x".join(map(str, shape))
    folded = api.analyze(spec, input=inp, fold_bn=True)
    plain = cnnsym.analyze(spec, input=inp)
    for k in KEYS:
        assert folded.values[k] == exported.values[k], k
    assert not any(n.node.op_type == "BatchNormalization" for n in folded.nodes)
    # folding removes the BN's 2C trainable + 2C buffers (+1 counter) and its 2 FLOPs per element
    assert plain.values["params.total"] > folded.values["params.total"]
    assert plain.values["flops"] > folded.values["flops"]
    assert plain.values["macs"] == folded.values["macs"]
    assert any(w.startswith("--fold-bn:") for w in folded.warnings)




def test_kept_batchnorms_say_why_and_match_the_export():
    # fixtures/torch/batchnorm_kept.py: five BatchNorms exporters keep, bn_ok they fold
    proto = export(_module(KEPT).Kept(), (1, 3, 8, 8))
    kept_by_exporter = sum(n.op_type == "BatchNormalization" for n in proto.graph.node)
    assert kept_by_exporter == 5  # all but bn_ok
    folded = api.analyze(f"{KEPT}::Kept", input="1x3x8x8", fold_bn=True)
    exported = cnnsym.analyze(proto)
    for k in ("params.total", "macs", "flops"):
        assert folded.values[k] == exported.values[k], k
    assert sum(n.node.op_type == "BatchNormalization" for n in folded.nodes) == 5
    msg = next(w for w in folded.warnings if w.startswith("--fold-bn:"))
    assert "1 BatchNormalization folded" in msg and "5 kept" in msg
    for why in ("ConvTranspose", "also read elsewhere", "Concat", "pre-activation", "Gemm"):
        assert why in msg, why
    # the exported ONNX that kept its BatchNorms: --fold-bn folds nothing more and says why
    again = api.analyze(proto, fold_bn=True)
    assert again.values["params.total"] == exported.values["params.total"]
    assert "0 BatchNormalization folded" in next(w for w in again.warnings if w.startswith("--fold-bn:"))


def test_cli_fold_bn(tmp_path):
    spec = f"{FIX / 'lecture.py'}::Lecture"
    r = CliRunner().invoke(main, ["report", spec, "--input", "1x8x32x32", "--fold-bn", "-f", "json"])
    assert r.exit_code == 0, r.output
    assert '"BatchNormalization"' not in r.output
    # conv 16 x 201 = 3,216 + fc 10 x 17 = 170: 3,386 (the BN's 4 x 16 + 1 are gone)
    assert "3386" in r.output
    r = CliRunner().invoke(main, ["check", spec, "--input", "1x8x32x32", "--fold-bn", "--max-params", "3386"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["check", spec, "--input", "1x8x32x32", "--max-params", "3386"])
    assert r.exit_code == 1, r.output  # unfolded: 3,386 + 65 = 3,451
    r = CliRunner().invoke(main, ["explain", spec, "conv", "--input", "1x8x32x32", "--fold-bn"])
    assert r.exit_code == 0 and "3,216" in r.output
    r = CliRunner().invoke(main, ["explain", spec, "bn", "--input", "1x8x32x32", "--fold-bn"])
    assert r.exit_code == 2 and "folded into conv" in r.output
