"""Budgets and reports of a model cnnsym cannot follow completely (issue 13.4, "never
silently partial"): its totals are lower bounds. A lower bound over a budget is a definite
failure; one within the budget proves nothing and fails unless incomplete models are
allowed (--allow-incomplete / allow-incomplete = true); every format marks the totals as
lower bounds.

The model below has a layer from a package that is not installed (MysteryBlock): its
parameters are unknown. What is counted, by hand: stem Conv2d(3, 16, 3) = 16*3*3*3 + 16
= 448, head Conv2d(16, 8, 1) = 8*16 + 8 = 136, so params >= 584. MACs of the stem at
8x8 (padding 1 keeps 8x8): 16*3*9 * 64 = 27,648; the head's input is unknown."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnnsym

ROOT = Path(__file__).resolve().parent.parent

SOURCE = '''import torch.nn as nn
from not_installed_pkg import MysteryBlock


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block = MysteryBlock(16, 16)
        self.head = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))
'''

COUNTED = 448 + 136  # hand arithmetic above


@pytest.fixture()
def model(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(SOURCE)
    return f"{p}::Net"


def cli(*args, cwd=ROOT):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


def test_the_model_is_incomplete(model):
    rep = cnnsym.analyze(model, input="1x3x8x8")
    assert not rep.complete and rep.not_followed
    assert rep.values["params.total"] == COUNTED


def test_a_lower_bound_within_budget_is_not_a_pass(model):
    r = cli("check", model, "--input", "1x3x8x8", "--max-params", "1k")
    assert r.returncode == 1, r.stdout + r.stderr
    assert ">= 584" in r.stdout and "NOT PROVEN" in r.stdout
    assert "lower bound passes; the total is incomplete" in r.stdout
    assert "--allow-incomplete" in r.stdout
    assert "incomplete: every total is a lower bound" in r.stdout and "MysteryBlock" in r.stdout


def test_a_lower_bound_over_budget_is_a_failure(model):
    r = cli("check", model, "--input", "1x3x8x8", "--max-params", "500")
    assert r.returncode == 1
    assert "OVER" in r.stdout and "budget(s) exceeded" in r.stdout and ">= 584" in r.stdout
    res = cnnsym.check(model, input="1x3x8x8", max_params=500, allow_incomplete=True)
    assert not res.ok  # allowing incomplete models never hides a budget already exceeded


def test_allow_incomplete_accepts_a_lower_bound_within_budget(model, tmp_path):
    r = cli("check", model, "--input", "1x3x8x8", "--max-params", "1k", "--allow-incomplete")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok (lower bound)" in r.stdout and ">= 584" in r.stdout
    # the same from the configuration
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.cnnsym.budgets]\nmax-params = "1k"\nallow-incomplete = true\n')
    r = cli("check", model, "--input", "1x3x8x8", "--config", cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    cfg.write_text('[tool.cnnsym.budgets]\nmax-params = "1k"\n')
    assert cli("check", model, "--input", "1x3x8x8", "--config", cfg).returncode == 1


def test_check_json_and_markdown_say_lower_bound(model):
    res = cnnsym.check(model, input="1x3x8x8", max_params="1k", max_macs="1G")
    assert not res.ok
    doc = json.loads(res.to_json())["models"][0]
    assert doc["complete"] is False and "MysteryBlock" in doc["incomplete_reason"]
    assert doc["ok"] is False
    for b in doc["budgets"]:
        assert b["lower_bound"] is True and b["status"] == "unproven" and b["ok"] is False
    assert {b["metric"]: b["actual"] for b in doc["budgets"]}["params (total)"] == COUNTED
    md = res.to_markdown()
    assert ">= 584" in md and "NOT PROVEN" in md and "lower bound" in md
    ok = cnnsym.check(model, input="1x3x8x8", max_params="1k", allow_incomplete=True)
    assert ok.ok and json.loads(ok.to_json())["models"][0]["budgets"][0]["status"] == "ok"


def test_over_a_range_and_per_layer_the_lower_bound_is_marked(model):
    res = cnnsym.check(model, input="1xCxHxW", bind="C=3", for_all="H,W in 8..16", max_macs="1G",
                       max_layer_params="1k")
    assert not res.ok
    doc = json.loads(res.to_json())["models"][0]
    assert all(b["lower_bound"] and b["status"] == "unproven" for b in doc["budgets"])


def test_a_complete_model_is_unchanged():
    res = cnnsym.check(str(ROOT / "fixtures" / "torch" / "lenet.py") + "::LeNet", max_params="100k")
    assert res.ok
    doc = json.loads(res.to_json())["models"][0]
    assert doc["complete"] is True and doc["incomplete_reason"] is None
    assert doc["budgets"][0]["lower_bound"] is False and doc["budgets"][0]["status"] == "ok"
    assert ">=" not in res.to_text() and "OK: within budget" in res.to_text()


def test_lint_budget_fires_only_when_the_lower_bound_is_over(model, tmp_path):
    path = model.split("::")[0]
    for amount, fires in (("1k", False), ("500", True)):
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.cnnsym]\ninput = "1x3x8x8"\n[tool.cnnsym.budgets]\nmax-params = "{amount}"\n')
        r = cli("lint", "--no-cache", path, cwd=tmp_path)
        assert ("CNS301" in r.stdout) == fires, r.stdout
        if fires:
            assert "at least 584" in r.stdout


def test_every_report_format_marks_the_totals_as_lower_bounds(model, tmp_path):
    rep = cnnsym.analyze(model, input="1x3x8x8")
    table = rep.render("table")
    assert ">= 584" in table and "lower bounds" in table
    md = rep.render("markdown")
    assert "| >= 584 |" in md and "lower bounds" in md
    html = rep.render("html")
    assert "&gt;= 584" in html and "lower bounds" in html
    doc = json.loads(rep.render("json"))
    assert doc["complete"] is False and doc["not_followed"]  # docs/json.md: totals are then lower bounds
    rows = list(csv.DictReader(io.StringIO(rep.render("csv"))))
    assert rows and all(r["model_complete"] == "false" for r in rows)
    lenet = cnnsym.analyze(str(ROOT / "fixtures" / "torch" / "lenet.py") + "::LeNet")
    assert all(r["model_complete"] == "true" for r in csv.DictReader(io.StringIO(lenet.render("csv"))))
    # several models side by side: the incomplete one's cells and formulas are marked, the other's not
    r = cli("report", model, str(ROOT / "fixtures" / "torch" / "lenet.py") + "::LeNet")
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "net.py::Net" in x and ">=" in x)
    assert line.count(">=") == 3  # params, MACs, peak memory
    assert "params >= 584" in r.stdout and "params = 61706" in r.stdout
    r = cli("report", model, str(ROOT / "fixtures" / "torch" / "lenet.py") + "::LeNet", "-f", "markdown")
    assert "| >= 584 |" in r.stdout


def test_a_range_whose_constraints_are_all_on_other_symbols(tmp_path):
    """The only constraint is on C (Eq(C, 3)), outside the range: the validity test gives one
    value per chunk of sizes, not one per size (it raised IndexError). MACs of a 3->16 3x3
    conv with padding 1 at 12x12: 16*3*9 * 144 = 62,208 (hand arithmetic)."""
    p = tmp_path / "one.py"
    p.write_text("import torch.nn as nn\n\n\nclass One(nn.Module):\n    def __init__(self):\n"
                 "        super().__init__()\n        self.c = nn.Conv2d(3, 16, 3, padding=1)\n\n"
                 "    def forward(self, x):\n        return self.c(x)\n")
    res = cnnsym.check(f"{p}::One", input="1xCxHxW", bind="C=3", for_all="H,W in 4..12", max_macs="1G")
    assert res.ok, res.to_text()
    doc = json.loads(res.to_json())["models"][0]
    assert doc["budgets"][0]["actual"] == 16 * 3 * 9 * 144
