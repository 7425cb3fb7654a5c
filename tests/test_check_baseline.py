"""`cnnsym check --baseline` (issue 14): the peak is compared at other sizes too (the
baseline's formulas evaluated at the check's sizes), and two exports of one model
(TorchScript vs dynamo: other node names, shape constants, shape arithmetic) compare equal:
layers matched by module path, trainable parameters gated, constants apart."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnsym.baseline import _module_of, _shape_nodes

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "models"


def cli(*args, cwd=ROOT):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


def model(kind, name):
    p = SHARED / kind / f"{name}.onnx"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


def _baseline(tmp_path, m, *args):
    out = tmp_path / "base.json"
    r = cli("report", m, "-f", "json", "-o", out, *args)
    assert r.returncode == 0, r.stderr
    return out


def _totals(stdout):
    doc = json.loads(stdout)["models"][0]["baseline"]
    return {t["metric"]: t for t in doc["totals"]}, doc


@pytest.mark.parametrize("name", ["squeezenet1_1", "lenet5", "mobilenet_v2"])
def test_two_exports_of_one_model_compare_equal(tmp_path, name):
    base = _baseline(tmp_path, model("torchscript", name))
    r = cli("check", model("dynamo", name), "--baseline", base, "-f", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    totals, doc = _totals(r.stdout)
    assert doc["layers"] == []  # every layer matched by module path, none changed
    assert not any(t["failed"] for t in totals.values())
    assert totals["trainable params"]["old"] == totals["trainable params"]["new"]
    assert totals["MACs"]["old"] == totals["MACs"]["new"]
    # and the other way round
    base = _baseline(tmp_path, model("dynamo", name))
    r = cli("check", model("torchscript", name), "--baseline", base)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "per layer: no change" in r.stdout and "GREW" not in r.stdout


def test_lenet5_dynamo_shape_arithmetic_is_apart(tmp_path):
    base = _baseline(tmp_path, model("torchscript", "lenet5"))
    r = cli("check", model("dynamo", "lenet5"), "--baseline", base, "-f", "json")
    totals, _ = _totals(r.stdout)
    # dynamo computes the flatten size with Shape -> Squeeze -> Div/Mul/Add -> Concat on
    # int64 scalars: 6 elementwise ops and 14 tensors of 8 bytes (count them in the graph)
    assert totals["shape-op FLOPs (info)"]["new"] == 6 and totals["shape-op bytes (info)"]["new"] == 14 * 8
    assert totals["FLOPs ex. shape ops"]["old"] == totals["FLOPs ex. shape ops"]["new"]


def test_peak_compared_when_the_baseline_was_made_at_other_sizes(tmp_path):
    m = model("torchscript", "lenet5")
    base = _baseline(tmp_path, m, "--bind", "height=32,width=32")
    r = cli("check", m, "--baseline", base, "--bind", "height=35,width=35", "-f", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    totals, doc = _totals(r.stdout)
    assert doc["bindings"]["height"] == 35
    # by hand at 35x35: conv1 output 6 x 31 x 31 float32, live with tanh's output: 2 x 6 x 31 x 31 x 4
    peak = totals["peak activation bytes"]
    assert peak["old"] == peak["new"] == 2 * 6 * 31 * 31 * 4
    # MACs: conv1 6x25 per pixel of 31x31, conv2 16x6x25 per pixel of 11x11, Gemms 400x120 + 120x84 + 84x10
    macs = 150 * 31 * 31 + 2400 * 11 * 11 + 48000 + 10080 + 840
    assert totals["MACs"]["old"] == totals["MACs"]["new"] == macs
    assert "formulas evaluated at these sizes" in doc["note"]


def test_a_changed_layer_is_named_by_its_module(tmp_path):
    base = _baseline(tmp_path, model("torchscript", "squeezenet1_1"))
    doc = json.loads(base.read_text())
    node = next(n for n in doc["nodes"] if n["name"] == "/features/features.3/squeeze/Conv")
    node["values"]["params"]["trainable"] -= 16
    node["values"]["macs"] -= 1000
    doc["values"]["params"]["trainable"] -= 16
    base.write_text(json.dumps(doc))
    r = cli("check", model("dynamo", "squeezenet1_1"), "--baseline", base)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "changed  features.3.squeeze Conv" in r.stdout and "GREW" in r.stdout
    assert r.stdout.count("changed ") == 1 and "added" not in r.stdout and "removed" not in r.stdout


def test_module_of_names():
    assert _module_of("/layer1/layer1.0/conv1/Conv", None) == "layer1.0.conv1"
    assert _module_of("/features/features.3/Concat", None) == "features.3"
    assert _module_of("/features/features.3/Concat_1", None) == "features.3"
    assert _module_of("/features/features.3/squeeze/Conv", None) == "features.3.squeeze"  # as the exporter recorded
    assert _module_of("node_Conv_12", "layer1.0.conv1") == "layer1.0.conv1"
    assert _module_of("node_Conv_12", None) is None


def test_shape_nodes_follow_shape_tensors_only():
    nodes = [("k0", "Constant", [], ["k"]), ("s", "Shape", ["x"], ["sx"]), ("g", "Gather", ["sx", "idx"], ["h"]), ("c", "Conv", ["x", "w"], ["y"]),
             ("cat", "Concat", ["h", "k"], ["shp"]), ("r", "Reshape", ["y", "shp"], ["z"])]
    names, tensors = _shape_nodes(nodes, {"x", "sx", "h", "y", "shp", "z", "k"})
    assert names == {"s", "g", "cat"} and tensors == {"sx", "h", "shp"}
