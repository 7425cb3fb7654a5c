"""`cnnsym check --for-all`: every line says what it proved (issue 14, "check").

The oracles are independent of cnnsym's formulas: LeNet-5's valid sizes are enumerated in
plain Python from the layer arithmetic written out below, its MACs and peak memory from
the layer sizes by hand, and onnxruntime runs the exported graph on a box of sizes to
confirm which sizes are valid.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cnnsym
from cnnsym import budget

ROOT = Path(__file__).resolve().parent.parent
LENET5 = ROOT.parent / "shared" / "models" / "torchscript" / "lenet5.onnx"
LENET_SRC = ROOT / "fixtures" / "torch" / "lenet.py"
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"

needs_lenet5 = pytest.mark.skipif(not LENET5.exists(), reason="shared models absent")


def cli(*args, cwd=ROOT):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


# LeNet-5 (1 input channel): conv 5x5 (6 ch) -> tanh -> avgpool 2 -> conv 5x5 (16 ch) -> tanh
# -> avgpool 2 -> flatten -> Gemm 400->120 -> Gemm 120->84 -> Gemm 84->10. Per axis x:
#   c1 = x - 4, p1 = c1 // 2, c2 = p1 - 4, p2 = c2 // 2, each >= 1, and 16 * p2(h) * p2(w) = 400.
def _axis(x):
    c1 = x - 4
    p1 = c1 // 2
    c2 = p1 - 4
    p2 = c2 // 2
    return (c1, p1, c2, p2) if min(c1, p1, c2, p2) >= 1 else None


def lenet5_valid(lo, hi):
    axis = {x: _axis(x) for x in range(lo, hi + 1)}
    return [(h, w) for h, a in axis.items() if a for w, b in axis.items() if b and 16 * a[3] * b[3] == 400]


def lenet5_macs(h, w):
    (c1h, _, c2h, _), (c1w, _, c2w, _) = _axis(h), _axis(w)
    # conv1: 6 out x 1 in x 25 per output pixel; conv2: 16 x 6 x 25; the three Gemms
    return 6 * 25 * c1h * c1w + 16 * 6 * 25 * c2h * c2w + 400 * 120 + 120 * 84 + 84 * 10


def lenet5_peak(h, w):
    # float32: the largest live set is conv1's output and tanh's output together
    # (2 x 6 x c1h x c1w x 4 bytes); the input (h x w x 4) alone is smaller
    (c1h, *_), (c1w, *_) = _axis(h), _axis(w)
    return max(2 * 6 * c1h * c1w * 4, h * w * 4)


def test_oracle_counts_match_the_issue():
    valid = lenet5_valid(1, 4096)
    assert len(valid) == 48
    peak = max(lenet5_peak(h, w) for h, w in valid)
    assert peak == 79_920 and (19, 115) in [p for p in valid if lenet5_peak(*p) == peak]


def test_torch_confirms_the_valid_mask_on_a_box():
    # LeNet-5 as the ONNX file's attributes describe it, run by torch: torch refuses a
    # pooled map of 0 rows, which onnxruntime silently runs (it outputs 1x10 at 14x114)
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84),
                        nn.Tanh(), nn.Linear(84, 10))
    box = [(h, w) for h in range(12, 22) for w in list(range(12, 22)) + list(range(108, 119))]
    got = set()
    with torch.no_grad():
        for h, w in box:
            try:
                net(torch.zeros(1, 1, h, w))
                got.add((h, w))
            except RuntimeError:
                pass
    want = {p for p in lenet5_valid(1, 4096) if p in set(box)}
    assert got == want and (19, 115) in got and len(want) == 16


@needs_lenet5
def test_onnxruntime_runs_the_worst_case():
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    so.log_severity_level = 4
    sess = ort.InferenceSession(str(LENET5), so, providers=["CPUExecutionProvider"])
    x = sess.get_inputs()[0].name
    assert sess.run(None, {x: np.zeros((1, 1, 19, 115), np.float32)})[0].shape == (1, 10)
    with pytest.raises(Exception):  # noqa: B017 - one past the worst case: 16 x 1 x 26 features, not 400
        sess.run(None, {x: np.zeros((1, 1, 19, 116), np.float32)})


@needs_lenet5
def test_lenet5_full_box_is_scanned_exactly_not_sampled():
    r = cli("check", LENET5, "--for-all", "height,width in 1..4096", "--max-macs", "1G",
            "--max-peak-activation-bytes", "1GiB", "--max-layer-macs", "1G", "--allow-invalid-sizes", "-f", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)["models"][0]
    valid = lenet5_valid(1, 4096)
    assert doc["sizes"] == {"in_range": 4096 * 4096, "valid": 48, "sampled": False, "accepted": True}
    b = {x["budget_key"]: x for x in doc["budgets"]}
    peak = b["max-peak-activation-bytes"]
    assert peak["actual"] == max(lenet5_peak(*p) for p in valid) == 79_920
    assert peak["where"] in ("height=19, width=115", "height=115, width=19")
    macs = b["max-macs"]
    assert macs["actual"] == max(lenet5_macs(*p) for p in valid)
    for x in doc["budgets"]:
        assert x["proved"] and not x["sampled"] and "48 valid sizes" in x["proof"], x


@needs_lenet5
def test_lenet5_mostly_invalid_range_fails_by_default():
    r = cli("check", LENET5, "--for-all", "height,width in 1..4096", "--max-macs", "1G")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "48 of 16,777,216 sizes in the range are valid for the model" in r.stdout
    assert "FAILED" in r.stdout and "--allow-invalid-sizes" in r.stdout


def test_source_lenet_h_w_32_1024_counts_valid_sizes():
    # fixtures/torch/lenet.py::Net is LeNet-5 on 3 channels: the same per-axis arithmetic
    valid = lenet5_valid(32, 1024)
    r = cli("check", f"{LENET_SRC}::Net", "--for-all", "H,W in 32..1024", "--max-macs", "1G")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{len(valid)} of {993 * 993:,} sizes in the range are valid" in r.stdout
    assert "OK: within budget" not in r.stdout
    r = cli("check", f"{LENET_SRC}::Net", "--for-all", "H,W in 32..1024", "--max-macs", "1G",
            "--allow-invalid-sizes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "accepted" in r.stdout


def test_allow_invalid_sizes_from_the_configuration(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.cnnsym.budgets]\nmax-macs = "1G"\nallow-invalid-sizes = true\n')
    r = cli("check", f"{LENET_SRC}::Net", "--for-all", "H,W in 32..64", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_fully_valid_range_is_not_flagged():
    r = cli("check", TINY, "--max-macs", "100G", "--for-all", "H,W in 32..64", "-f", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)["models"][0]
    assert doc["sizes"]["accepted"] and doc["sizes"]["valid"] * 2 >= doc["sizes"]["in_range"]


@needs_lenet5
def test_sampling_is_said_on_every_line_peak_included(monkeypatch):
    monkeypatch.setattr(budget, "EXHAUSTIVE_LIMIT", 10_000)
    monkeypatch.setattr(budget, "SAMPLE", 5_000)
    res = cnnsym.check(str(LENET5), for_all="height,width in 1..4096", max_macs="1G",
                       max_peak_activation_bytes="1GiB", max_layer_macs="1G", max_params="1G",
                       allow_invalid_sizes=True)
    doc = json.loads(res.to_json())["models"][0]
    assert doc["sizes"]["sampled"]
    for x in doc["budgets"]:
        if x["budget_key"] == "max-params":  # does not depend on the sizes: exact, proved
            assert x["proved"], x
            continue
        assert not x["proved"] and x["sampled"], x
        assert "sampled" in x["proof"] and "of 16,777,216 sizes, not proved" in x["proof"], x
    text = res.to_text(width=10_000)  # one line per statement
    for line in text.splitlines():
        if line.strip().startswith(("MACs:", "peak activation bytes:", "MACs per layer:")) and "valid size" not in line:
            assert "not proved" in line, text
    assert "estimated from a sample" in text


def test_sampling_that_finds_valid_sizes_is_still_not_a_proof(monkeypatch):
    monkeypatch.setattr(budget, "EXHAUSTIVE_LIMIT", 100)
    monkeypatch.setattr(budget, "SAMPLE", 300)
    res = cnnsym.check(f"{LENET_SRC}::Net", for_all="H,W in 30..45", max_macs="1G", max_peak_activation_bytes="1GiB",
                       allow_invalid_sizes=True)
    doc = json.loads(res.to_json())["models"][0]
    for x in doc["budgets"]:
        assert x["actual"] is not None and not x["proved"], x
        assert x["proof"] == "sampled 301 of 256 sizes, not proved" or "of 256 sizes, not proved" in x["proof"], x
        if x["budget_key"] == "max-macs":  # what was found is a real value at a valid size: a lower bound
            assert x["actual"] <= max(_macs3(*p) for p in lenet5_valid(30, 45))


def _macs3(h, w):
    # the source LeNet has 3 input channels: conv1 is 6 x 3 x 25 per output pixel
    (c1h, *_), (c1w, *_) = _axis(h), _axis(w)
    return lenet5_macs(h, w) + 6 * 2 * 25 * c1h * c1w
