"""``cnnsym report a.onnx b.py::Net c.onnx``: one comparison of several models, analysed
in parallel worker processes.

Oracles: torch's FlopCounterMode MACs of resnet18 (``ground_truth.json``), the element
counts of tiny_resnet's initializers (read with onnx), torch's own parameter count of
LeNet built from the fixture source, and the MACs/params of a model as the single-model
command prints them (the comparison must not change a number)."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cnnsym

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"
LENET = "fixtures/torch/lenet.py::LeNet"


def cli(*args, columns=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), env=env, timeout=600)


def _tiny_params() -> int:
    import onnx

    m = onnx.load(str(TINY))
    return sum(int(np.prod(i.dims)) for i in m.graph.initializer)


def _lenet_params():
    torch = pytest.importorskip("torch")
    ns = {}
    exec(compile((ROOT / "fixtures" / "torch" / "lenet.py").read_text(), "lenet.py", "exec"), ns)  # noqa: S102
    with torch.no_grad():
        return sum(p.numel() for p in ns["LeNet"]().parameters())


def test_report_pickles_for_the_workers():
    rep = cnnsym.analyze(str(TINY))
    back = pickle.loads(pickle.dumps(rep))
    assert back.totals == rep.totals and back.at(H=97, W=131) == rep.at(H=97, W=131)


def test_side_by_side_json_values(shared_models, ground_truth):
    r18 = shared_models / "torchscript" / "resnet18.onnx"
    r = cli("report", TINY, LENET, r18, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    models = {m["model"]: m for m in doc["models"]}
    assert list(models) == [str(TINY), LENET, str(r18)]  # the order given
    assert models[str(TINY)]["params"]["value"] == _tiny_params()
    assert models[LENET]["params"]["value"] == _lenet_params()
    assert models[LENET]["bindings"] == {"N": 1, "H": 28, "W": 28}
    assert models[LENET]["valid_ranges"] and models[LENET]["smallest_input"] == {"H": 28, "W": 28}
    assert models[str(r18)]["macs"]["value"] == ground_truth["models"]["resnet18"]["exact_macs"]["b1_224x224"]
    assert "ceiling(height/32)" in models[str(r18)]["macs"]["formula"]
    assert doc["failed"] == []


def test_side_by_side_text_fits_and_matches_single_reports():
    singles = {}
    for m in (str(TINY), LENET):
        d = json.loads(cli("report", m, "-f", "json").stdout)
        singles[m] = d["values"]["macs"]
    for cols in (60, 80, 132):
        r = cli("report", TINY, LENET, columns=cols)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert max(len(x) for x in lines) <= cols, [x for x in lines if len(x) > cols]
        assert not any(x != x.rstrip() for x in lines)
        assert r.stdout.startswith("cnnsym report: 2 models")
    # each model's MACs formula is printed, and evaluates to the single report's value
    assert "MACs = 14336*N*ceiling(H/8)*ceiling(W/8)" in cli("report", TINY, LENET, columns=200).stdout
    assert singles[str(TINY)] == cnnsym.analyze(str(TINY)).values["macs"]


def test_side_by_side_markdown():
    r = cli("report", TINY, LENET, "-f", "markdown")
    assert r.returncode == 0, r.stderr
    assert "| model | params | MACs | peak memory | valid sizes | smallest input | at |" in r.stdout
    assert f"| `{LENET}` |" in r.stdout and "H: 28..31" in r.stdout and "<details>" in r.stdout


def test_one_bad_model_names_its_file_and_keeps_the_others():
    r = cli("report", TINY, "fixtures/no_such_model.onnx")
    assert r.returncode == 2
    errs = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(errs) == 1 and "no_such_model.onnx" in errs[0] and "Traceback" not in r.stderr
    assert str(TINY) in r.stdout


def test_formats_of_one_model_only_are_refused():
    r = cli("report", TINY, TINY, "-f", "html")
    assert r.returncode == 2 and "table, json, markdown" in r.stderr


def test_one_model_is_todays_report():
    r = cli("report", TINY, "-f", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["model"] == str(TINY)
