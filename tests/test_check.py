"""`cnnsym check`: budgets at a binding, over a range (proved by monotonicity or exact
evaluation, with the worst case and where), per layer, and against a baseline."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnsym.budget import parse_amount, parse_for_all, parse_growth

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"
LENET = ROOT / "fixtures" / "torch" / "lenet.py"


def cli(*args, cwd=ROOT):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


@pytest.mark.parametrize("text,kind,want", [("25M", "count", 25_000_000), ("4.1G", "count", 4_100_000_000),
                                            ("64MiB", "bytes", 64 * 2**20), ("512KB", "bytes", 512_000),
                                            ("1e9", "count", 10**9), (1000, "count", 1000), ("1k", "count", 1000)])
def test_parse_amount(text, kind, want):
    assert parse_amount(text, kind) == want


@pytest.mark.parametrize("bad", ["25X", "", "-3", "1MiB"])
def test_parse_amount_bad(bad):
    with pytest.raises(ValueError):
        parse_amount(bad, "count")


def test_parse_range_and_growth():
    (r,) = parse_for_all("H,W in 32..1024")
    assert r.symbols == ["H", "W"] and (r.lo, r.hi, r.step) == (32, 1024, 1)
    (r,) = parse_for_all("H in 32..512 step 32")
    assert r.step == 32
    assert parse_growth("5%") == 5.0
    with pytest.raises(ValueError):
        parse_for_all("H from 1 to 3")


def test_at_binding_pass_and_fail():
    r = cli("check", TINY, "--max-params", "25M", "--max-macs", "4.1G", "--bind", "H=224,W=224")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: within budget" in r.stdout and "headroom" in r.stdout
    r = cli("check", TINY, "--max-macs", "1M", "--bind", "H=224,W=224", "--format", "json")
    assert r.returncode == 1
    b = json.loads(r.stdout)["models"][0]["budgets"][0]
    assert b["actual"] == 55165760 - 0 or b["actual"] > 10**6
    assert not b["ok"] and b["formula"] and b["headroom_percent"] < 0


def test_over_range_monotone_proof():
    r = cli("check", TINY, "--max-macs", "4.1G", "--max-peak-activation-bytes", "64MiB", "--max-layer-macs", "1G",
            "--for-all", "H,W in 32..1024", "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    bs = json.loads(r.stdout)["models"][0]["budgets"]
    macs = next(b for b in bs if b["budget_key"] == "max-macs")
    assert "monotone" in macs["proof"] and macs["where"] == "H=1024, W=1024"
    # the worst case is the value at the corner, computed independently at that binding
    rep = cli("report", TINY, "--bind", "H=1024,W=1024", "--format", "json")
    assert macs["actual"] == json.loads(rep.stdout)["values"]["macs"]
    peak = next(b for b in bs if b["budget_key"] == "max-peak-activation-bytes")
    assert peak["actual"] == json.loads(rep.stdout)["values"]["peak_activation_bytes"]
    layer = next(b for b in bs if b["budget_key"] == "max-layer-macs")
    assert layer["layer"]


def test_over_range_skips_invalid_sizes_and_exceeds():
    r = cli("check", f"{LENET}::Net", "--max-macs", "600k", "--for-all", "H,W in 16..64")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "OVER" in r.stdout and "H=35, W=35" in r.stdout
    assert "16 of 2,401 sizes in the range are valid for the model" in r.stdout  # 4x4 valid: H,W in 32..35


def test_baseline(tmp_path):
    base = tmp_path / "base.json"
    assert cli("report", TINY, "-f", "json", "-o", base).returncode == 0
    r = cli("check", TINY, "--baseline", base)
    assert r.returncode == 0 and "per layer: no change" in r.stdout
    # shrink the baseline's numbers: the current model "grew"
    doc = json.loads(base.read_text())
    doc["values"]["macs"] = int(doc["values"]["macs"] * 0.9)
    stem = next(n for n in doc["nodes"] if n["name"] == "stem")
    stem["values"]["macs"] = stem["values"]["macs"] // 2
    doc["nodes"].append({"name": "gone", "values": {"params": {"trainable": 5}, "macs": 7}})
    base.write_text(json.dumps(doc))
    r = cli("check", TINY, "--baseline", base, "--max-growth", "5%")
    assert r.returncode == 1, r.stdout
    assert "GREW" in r.stdout and "changed  stem" in r.stdout and "removed  gone" in r.stdout
    r = cli("check", TINY, "--baseline", base, "--max-growth", "20%")
    assert r.returncode == 0, r.stdout


def test_config_budgets(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.cnnsym.budgets]\nmax-params = "10k"\n')
    r = cli("check", TINY, cwd=tmp_path)
    assert r.returncode == 1 and "params (total)" in r.stdout
    r = cli("check", TINY, "--max-params", "1M", cwd=tmp_path)  # the flag overrides
    assert r.returncode == 0, r.stdout


def test_errors_are_one_line():
    for args in (["--max-macs", "4X"], ["--for-all", "H in nothing"], ["--bind", "Q=3", "--max-macs", "1G"], []):
        r = cli("check", TINY, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
