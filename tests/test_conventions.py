"""Counting conventions (cnnsym/conventions.py): each preset, applied to cnnsym's named terms,
must reproduce what the tool itself reported in ../shared/models/ground_truth.json, exactly.

Two things the ONNX graph cannot show are added explicitly, from the torch-side figures of
the same file, never from cnnsym:

- BatchNorm: both exporters folded it into the preceding conv, so the graph has a conv bias
  (one add per element) where the torch model, which fvcore/ptflops/thop/torchinfo ran on,
  has a BatchNorm layer and a bias-free conv. The BN output elements come from
  ``pytorch_eager.b1_224x224.module_shapes`` (the BN modules, by name) and are cross-checked
  against fvcore's own ``by_operator.batch_norm`` (2 per element); the BN parameter count
  (torchinfo counts N x params) from ``pytorch_params.batchnorm_params``.
  :func:`folded_batchnorm_adjustment` turns these into each preset's count.
- Layers written as function calls in the torch source (torchvision's mobilenet_v2 calls
  F.adaptive_avg_pool2d): module-hook tools see no layer there.

Where a tool is simply wrong the preset does not copy it: the bug is a named rule in the
preset and its exact amount is asserted here (ptflops counts nn.ReLU and nn pooling modules
twice; thop silently skips functional layers; thop and torchinfo count ConvTranspose on the
output side, onnx-tool with Cout/g x numel(Y)).
"""
import json
import re

import pytest

from conftest import shared_models_dir
from cnnsym import conventions as C
from cnnsym.analyze import analyze, evaluate

MODELS = ["seed_conv", "lenet5", "squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x0_5", "resnet18"]
EXPORTERS = ["torchscript", "dynamo"]
TORCH_TOOLS = {"fvcore": "total", "ptflops_pytorch": "total_macs", "ptflops_aten": "total_macs",
               "thop": "total_macs", "torchinfo": "total_mult_adds"}

# torchvision's BatchNorm modules, by name (Conv2dNormActivation = Sequential(conv, bn, act))
BN_MODULES = {
    "resnet18": r"(^|\.)bn\d$|downsample\.1$",
    "mobilenet_v2": r"^features\.\d+\.1$|conv\.\d+\.1$|^features\.1\.conv\.2$|conv\.3$",
    "shufflenet_v2_x0_5": r"^(conv1|conv5)\.1$|branch1\.(1|3)$|branch2\.(1|4|6)$",
}
# op kinds that are function calls, not nn.Modules, in the torch source
FUNCTIONAL = {"mobilenet_v2": {"GlobalAveragePool"}}  # F.adaptive_avg_pool2d(x, (1, 1))

# the exact amount of each tool bug in each recorded run (b1 at the model's native size)
EXPECTED_BUGS = {
    ("resnet18", "ptflops_pytorch"): {"double_count": 2308096 + 802816 + 25088},  # ReLU + maxpool in + avgpool in
    ("squeezenet1_1", "ptflops_pytorch"): {"double_count": 2589352 + 1362368 + 169000},
    ("shufflenet_v2_x0_5", "ptflops_pytorch"): {"double_count": 821632 + 301056},
    ("lenet5", "ptflops_pytorch"): {"double_count": 6304},  # nn.AvgPool2d inputs (nn.Tanh is not hooked)
    ("mobilenet_v2", "thop"): {"functional_skipped": -(62720 + 1280)},  # F.adaptive_avg_pool2d: (49 + 1) x 1280
}

_REPORTS = {}


def _gt():
    d = shared_models_dir()
    return None if d is None else json.loads((d / "ground_truth.json").read_text())


def _pairs():
    gt = _gt()
    if gt is None:
        return [("seed_conv", "torchscript")]
    return [(m, e) for m in MODELS for e in EXPORTERS if e in gt["models"].get(m, {}).get("onnx", {})]


PAIRS = _pairs()


def report(shared_models, ground_truth, model, exporter):
    info = ground_truth["models"][model]["onnx"].get(exporter)
    if info is None:
        pytest.skip(f"{model} has no {exporter} export")
    key = (model, exporter)
    if key not in _REPORTS:
        from cnnsym.frontends.onnx import load

        _REPORTS[key] = analyze(load(str(shared_models / info["file"])), {}, strict_bindings=False)
    return _REPORTS[key]


def cfg_bindings(cfg):
    b, h, w = re.match(r"b(\d+)_(\d+)x(\d+)", cfg).groups()
    return {"batch": int(b), "height": int(h), "width": int(w)}


def native_cfg(model):
    return "b1_32x32" if model == "lenet5" else "b1_224x224"


def bn_elements(ground_truth, model, cfg):
    """BatchNorm output elements in the torch model, from its module shapes."""
    pat = BN_MODULES.get(model)
    if pat is None:
        return 0
    shapes = ground_truth["models"][model]["pytorch_eager"][cfg]["module_shapes"]
    total = 0
    for name, shape in shapes.items():
        if re.search(pat, name):
            n = 1
            for d in shape:
                n *= d
            total += n
    return total


def V(expr, b):
    return int(evaluate(expr, b))


@pytest.mark.parametrize("model", MODELS)
def test_batchnorm_elements_agree(ground_truth, model):
    """The torch-side BN count used below: module shapes == fvcore's batch_norm / 2 (eval,
    affine), and its parameters == pytorch_params.batchnorm_params."""
    g = ground_truth["models"][model]
    cfg = native_cfg(model)
    fv = g["flops"][cfg]["fvcore"]["by_operator"].get("batch_norm", 0)
    assert 2 * bn_elements(ground_truth, model, cfg) == fv
    if g["pytorch_params"]["batchnorm_params"]:
        assert model in BN_MODULES


@pytest.mark.parametrize("model,exporter", PAIRS)
@pytest.mark.parametrize("tool", list(TORCH_TOOLS))
def test_torch_tools_reproduced(shared_models, ground_truth, model, exporter, tool):
    rep = report(shared_models, ground_truth, model, exporter)
    g = ground_truth["models"][model]
    cfg = native_cfg(model)
    recorded = g["flops"][cfg][tool].get(TORCH_TOOLS[tool])
    if recorded is None:
        pytest.skip(f"{tool} failed on {model}: {g['flops'][cfg][tool].get('error')}")
    b = cfg_bindings(cfg)
    functional = FUNCTIONAL.get(model, set())
    res = C.evaluate(rep, tool, functional_kinds=functional)
    preset = V(res.total, b)
    # the BatchNorm the exporter folded away, as this tool counts it (torch-side figures)
    preset += int(C.folded_batchnorm_adjustment(tool, bn_elements(ground_truth, model, cfg),
                                                g["pytorch_params"]["batchnorm_params"], b["batch"]))
    bugs = {k: V(v, b) for k, v in res.bugs.items()}
    bugs = {k: v for k, v in bugs.items() if v}
    assert bugs == EXPECTED_BUGS.get((model, tool), {}), bugs
    assert preset + sum(bugs.values()) == recorded


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_onnx_tool_reproduced(shared_models, ground_truth, model, exporter):
    """onnx-tool ran on these very ONNX files: no torch-side correction at all."""
    rep = report(shared_models, ground_truth, model, exporter)
    cfg = native_cfg(model)
    rec = ground_truth["models"][model]["flops"][cfg].get(f"onnx_tool_{exporter}", {})
    if "total_macs" not in rec:
        pytest.skip(f"onnx-tool failed on {model} ({exporter}): {rec.get('error')}")
    res = C.evaluate(rep, "onnx-tool")
    b = cfg_bindings(cfg)
    assert not res.bugs
    assert V(res.total, b) == rec["total_macs"]
    # per op type too (onnx-tool's own breakdown)
    for op, v in rec["macs_by_op_type"].items():
        assert V(res.by_kind.get(op, 0), b) == v, op


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_torchvision_exact_macs_every_config(shared_models, ground_truth, model, exporter):
    rep = report(shared_models, ground_truth, model, exporter)
    total = C.evaluate(rep, "torchvision").total
    exact = ground_truth["models"][model]["exact_macs"]
    checked = 0
    for cfg, v in exact.items():
        if cfg == "convention" or v is None:
            continue
        assert V(total, cfg_bindings(cfg)) == v, cfg
        checked += 1
    assert checked


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_cnnsym_preset_is_report_flops(shared_models, ground_truth, model, exporter):
    rep = report(shared_models, ground_truth, model, exporter)
    b = cfg_bindings(native_cfg(model))
    assert V(C.evaluate(rep, "cnnsym").total, b) == V(rep.totals["flops"], b)


# --------------------------------------------------------------------- no shared models needed
def _convtranspose_model(tmp_path, s=2, cin=4, cout=6, k=3, g=1):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((cin, cout // g, k, k), np.float32), "w")
    bias = numpy_helper.from_array(np.ones((cout,), np.float32), "b")
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[s, s], pads=[1, 1, 1, 1],
                            output_padding=[s - 1, s - 1], group=g)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", cin, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, bias])
    p = tmp_path / "ct.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    return p


@pytest.mark.parametrize("s,g", [(2, 1), (3, 2)])
def test_convtranspose_bugs_exact(tmp_path, s, g):
    from cnnsym.frontends.onnx import load

    cin, cout, k = 4, 6, 3
    rep = analyze(load(str(_convtranspose_model(tmp_path, s, cin, cout, k, g))), {"N": 2, "H": 5, "W": 7})
    b = rep.bindings
    N, H, W = 2, 5, 7
    Ho, Wo = s * H, s * W  # (x-1)s + (k-1) + 1 + (s-1) - 2 = s*x for k=3, pads 1
    macs_in = N * cin * H * W * (cout // g) * k * k
    assert V(rep.totals["macs"], b) == macs_in
    for tool in ("thop", "torchinfo"):
        res = C.evaluate(rep, tool)
        # the tool's count: numel(Y) * Cin/g * k^2, s^2 times the input side
        assert V(res.bugs["convtranspose_output_side"], b) == N * cout * Ho * Wo * (cin // g) * k * k - macs_in
        assert V(res.bugs["convtranspose_output_side"], b) == (s * s - 1) * macs_in
    res = C.evaluate(rep, "onnx-tool")
    assert V(res.bugs["convtranspose_out_cout"], b) == N * cout * Ho * Wo * (cout // g) * k * k - macs_in
    for tool in ("fvcore", "ptflops_aten", "ptflops_pytorch", "calflops", "torchvision"):
        assert not C.evaluate(rep, tool).bugs  # these count it on the input side


def test_presets_are_data_and_documented():
    for p in C.PRESETS.values():
        for rule in [p.default, *p.ops.values()]:
            assert set(rule) <= set(C.QUANTITIES), (p.name, rule)
    assert C.get("deepspeed").name == "calflops"
    assert C.get("ptflops").name == "ptflops_pytorch"
    with pytest.raises(KeyError):
        C.get("nope")


def test_docs_generated_and_current():
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "conventions.md"
    assert doc.read_text() == C.markdown_table(), "regenerate: cnnsym conventions --format markdown -o docs/conventions.md"


def test_cli_compare_and_report_convention(tmp_path):
    from click.testing import CliRunner

    from cnnsym.cli import main

    p = _convtranspose_model(tmp_path)
    r = CliRunner().invoke(main, ["compare", str(p), "--bind", "N=1,H=8,W=8"])
    assert r.exit_code == 0, r.output
    for name in C.PRESETS:
        assert name in r.output
    assert "convtranspose_output_side" in r.output
    r = CliRunner().invoke(main, ["compare", str(p), "--bind", "N=1,H=8,W=8", "-f", "json"])
    doc = json.loads(r.output)
    assert {c["convention"] for c in doc["conventions"]} == set(C.PRESETS)
    r = CliRunner().invoke(main, ["report", str(p), "--bind", "N=1,H=8,W=8", "--convention", "thop", "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["convention"] == "thop"
    assert doc["values"]["convention_total"] == doc["values"]["macs"]
    r = CliRunner().invoke(main, ["report", str(p), "--convention", "bogus"])
    assert r.exit_code == 2 and "unknown convention" in r.output


# --------------------------------------------------------------------- live tools (optional)
def _live_model():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 10)

        def forward(self, x):
            x = self.pool(self.relu(self.conv(x)))
            x = self.gap(self.up(x))
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(0)
    return torch, M().eval()


def _live_report(tmp_path, torch, m):
    from cnnsym.frontends.onnx import load

    p = tmp_path / "live.onnx"
    torch.onnx.export(m, (torch.randn(1, 3, 16, 16),), str(p), dynamo=False, opset_version=17)
    return analyze(load(str(p)), {})


def test_live_tools(tmp_path):
    """fvcore, ptflops, thop and torchinfo themselves, on a small module with a
    ConvTranspose (pip install -e .[conventions-live]); each equals its preset plus its bugs."""
    torch, m = _live_model()
    try:
        rep = _live_report(tmp_path, torch, m)
    except Exception as e:  # noqa: BLE001 - the exporter may be unavailable
        pytest.skip(f"torch.onnx.export failed: {e}")
    b = rep.bindings
    x = torch.randn(1, 3, 16, 16)
    got = {}
    try:
        from fvcore.nn import FlopCountAnalysis

        fa = FlopCountAnalysis(m, x)
        fa.unsupported_ops_warnings(False)
        got["fvcore"] = int(fa.total())
    except ImportError:
        pass
    try:
        from ptflops import get_model_complexity_info

        for backend in ("pytorch", "aten"):
            macs, _ = get_model_complexity_info(m, (3, 16, 16), as_strings=False, print_per_layer_stat=False,
                                                verbose=False, backend=backend)
            got[f"ptflops_{backend}"] = int(macs)
    except ImportError:
        pass
    try:
        import thop

        got["thop"] = int(thop.profile(m, inputs=(x,), verbose=False)[0])
    except ImportError:
        pass
    try:
        import torchinfo

        got["torchinfo"] = int(torchinfo.summary(m, input_data=x, verbose=0).total_mult_adds)
    except ImportError:
        pass
    if not got:
        pytest.skip("none of fvcore, ptflops, thop, torchinfo is installed")
    for tool, v in got.items():
        res = C.evaluate(rep, tool)
        assert V(res.tool_total(), b) == v, (tool, {k: V(e, b) for k, e in res.bugs.items()})
