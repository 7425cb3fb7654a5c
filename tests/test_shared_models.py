"""Real torchvision exports (../shared/models): every node output's shape at every
configuration onnxruntime ran, parameter totals, torchvision's exact MACs and measured
receptive fields. The oracle is ground_truth.json (onnxruntime and torch), never cnnsym."""
import re

import pytest

from cnnsym.analyze import analyze, evaluate
from cnnsym.domain import violated
from cnnsym.frontends.onnx import load

import json

from conftest import shared_models_dir

MODELS = ["seed_conv", "lenet5", "squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x0_5", "resnet18"]
EXPORTERS = ["torchscript", "dynamo"]
_REPORTS = {}


def _pairs():
    """(model, exporter) pairs that exist; one placeholder (skipped) when the folder is absent."""
    d = shared_models_dir()
    if d is None:
        return [("seed_conv", "torchscript")]
    gt = json.loads((d / "ground_truth.json").read_text())["models"]
    return [(m, e) for m in MODELS for e in EXPORTERS if e in gt.get(m, {}).get("onnx", {})]


PAIRS = _pairs()


def cfg_bindings(cfg):
    b, h, w = re.match(r"b(\d+)_(\d+)x(\d+)", cfg).groups()
    return {"batch": int(b), "height": int(h), "width": int(w)}


def report_for(shared_models, ground_truth, model, exporter):
    info = ground_truth["models"][model]["onnx"].get(exporter)
    if info is None:
        pytest.skip(f"{model} has no {exporter} export")
    key = (model, exporter)
    if key not in _REPORTS:
        _REPORTS[key] = analyze(load(str(shared_models / info["file"])), {}, strict_bindings=False)
    return _REPORTS[key], info


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_every_tensor_shape_at_every_config(shared_models, ground_truth, model, exporter):
    report, info = report_for(shared_models, ground_truth, model, exporter)
    assert not report.errors, report.errors
    assert not report.unaccounted, report.unaccounted
    checked = 0
    for cfg, run in info["runs"].items():
        b = cfg_bindings(cfg)
        if "error" in run:
            # onnxruntime failed at this size: cnnsym's valid domain must exclude it
            assert violated(report, b), f"{cfg}: onnxruntime failed ({run['failed_node']['name']}) but cnnsym calls it valid"
        else:
            assert not violated(report, b), f"{cfg}: onnxruntime ran but cnnsym calls it invalid: {violated(report, b)[0].message}"
        for name, shape in run["tensors"].items():
            t = report.tensors[name]
            got = [evaluate(d, b) for d in t.shape]
            assert got == shape, f"{cfg} {name}: onnxruntime {shape}, cnnsym {got} = {[str(d) for d in t.shape]}"
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_parameter_totals_equal_initializers(shared_models, ground_truth, model, exporter):
    report, info = report_for(shared_models, ground_truth, model, exporter)
    total = report.totals["params.total"]
    # every initializer element once, plus the contents of Constant nodes
    assert total == info["initializer_elements"] + info["constant_node_elements"]
    # trainable = torch's parameters with BatchNorm folded into the convs: each BN's
    # weight and bias (2C) become one conv bias (C), so params - batchnorm_params / 2;
    # the rest (Clip bounds, int64 shape constants) are constants
    torch_params = ground_truth["models"][model]["pytorch_params"]
    assert report.totals["params.trainable"] == torch_params["params"] - torch_params["batchnorm_params"] // 2


@pytest.mark.parametrize("model,exporter", PAIRS)
def test_macs_equal_torchvision_exact(shared_models, ground_truth, model, exporter):
    report, info = report_for(shared_models, ground_truth, model, exporter)
    exact = ground_truth["models"][model]["exact_macs"]
    n = 0
    for cfg, want in exact.items():
        if cfg == "convention" or want is None:
            continue
        assert evaluate(report.totals["macs"], cfg_bindings(cfg)) == want, cfg
        n += 1
    assert n > 0


def _probe_tensor(report, probe):
    """The output of torch module ``probe`` in a TorchScript export: the last node whose
    name lies under the module's scope (``layer1.0`` -> ``/layer1/layer1.0/``)."""
    parts = probe.split(".")
    prefix = "/" + "/".join(".".join(parts[:i + 1]) for i in range(len(parts))) + "/"
    nodes = [r.node for r in report.nodes if r.node.name.startswith(prefix)]
    if not nodes and len(report.nodes) == 1:
        nodes = [report.nodes[0].node]
    assert nodes, f"no node under {prefix}"
    return nodes[-1].outputs[0]


RF_CASES = [(m, k) for m in ["seed_conv", "lenet5", "resnet18", "mobilenet_v2"] for k in range(4)]


@pytest.mark.parametrize("model", ["seed_conv", "lenet5", "resnet18", "mobilenet_v2"])
def test_receptive_fields_equal_measured(shared_models, ground_truth, model):
    report, _ = report_for(shared_models, ground_truth, model, "torchscript")
    rf = ground_truth["models"][model]["receptive_field"]
    checked = 0
    for key, entry in rf.items():
        if "@" not in key:
            continue
        meas = entry["linearized"]
        if meas.get("clipped"):
            continue
        probe = key.split("@")[0]
        t = report.tensors[_probe_tensor(report, probe)]
        fields = [f for f in t.rf if f is not None]
        assert len(fields) == 2
        h, w = map(int, key.split("@")[1].split("x"))
        b = {"batch": 1, "height": h, "width": w}
        assert evaluate(fields[0].size, b) == meas["rf_h"]
        assert evaluate(fields[1].size, b) == meas["rf_w"]
        if entry.get("jump"):
            assert [evaluate(f.stride, b) for f in fields] == entry["jump"]
        if entry.get("start_of_unit0"):
            # start of unit 0's field = offset - (size - 1)/2
            assert [evaluate(f.offset - (f.size - 1) / 2, b) for f in fields] == entry["start_of_unit0"]
        # the probed unit's field, placed by our offset/stride, is the measured bbox
        uh, uw = meas["unit"]
        start_h = evaluate(fields[0].offset + uh * fields[0].stride - (fields[0].size - 1) / 2, b)
        assert [start_h, start_h + meas["rf_h"] - 1] == meas["bbox_rows"]
        checked += 1
    assert checked > 0
