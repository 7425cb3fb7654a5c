"""Markdown for pull requests (``cnnsym check`` and ``cnnsym compare`` with ``--format
markdown``) and text that never runs past the width (check, compare, conventions).

Oracles: tiny_resnet's MACs at 256x256 counted from the tensors onnxruntime computes
(each Conv's output elements times its weight's Cin/g*kh*kw, the Gemm's output times its
inner dimension), and its parameter count from the initializers read with onnx."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from cnnsym.render import human

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"


def cli(*args, columns=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), env=env, timeout=600)


def _ort_macs(size: int) -> int:
    import onnx

    sys.path.insert(0, str(ROOT / "tests"))
    from oracle import run_ort

    model = onnx.load(str(TINY))
    outs = run_ort(model, {"input": np.zeros((1, 3, size, size), np.float32)})
    w = {i.name: tuple(i.dims) for i in model.graph.initializer}
    macs = 0
    for n in model.graph.node:
        y = outs[n.output[0]]
        if n.op_type == "Conv":
            macs += y.size * int(np.prod(w[n.input[1]][1:]))
        elif n.op_type == "Gemm":
            tb = next((a.i for a in n.attribute if a.name == "transB"), 0)
            macs += y.size * (w[n.input[1]][1] if tb else w[n.input[1]][0])
    return macs


def _fits(text: str, width: int):
    lines = text.splitlines()
    over = [x for x in lines if len(x) > width]
    assert not over, over
    assert not [x for x in lines if x != x.rstrip()]


def _md_rows(text: str, first_cell: str) -> list:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith(f"| {first_cell}")]


def test_check_markdown_budget_table_and_baseline_diff(tmp_path):
    base = tmp_path / "base.json"
    assert cli("report", TINY, "-f", "json", "-o", base).returncode == 0
    r = cli("check", TINY, "--max-macs", "50M", "--max-params", "1M", "--baseline", base, "--bind", "H=256,W=256",
            "-f", "markdown")
    assert r.returncode == 1, r.stderr  # MACs over budget
    md = r.stdout
    assert md.startswith("### \u274c cnnsym check") and "FAILED: 1 budget(s) exceeded" in md
    assert "| metric | budget | actual | headroom | status | where |" in md
    (macs,) = _md_rows(md, "MACs | 50.0M")
    assert macs[1] == "50.0M" and macs[2] == human(_ort_macs(256)) and macs[4] == "**OVER**"
    (params,) = _md_rows(md, "params (total)")
    assert params[4] == "ok"
    # the baseline diff is at the check's --bind sizes (issue 14): the baseline's formulas
    # evaluated at 256x256, compared with this model's numbers there
    assert "#### Against the baseline (at N=1, H=256, W=256" in md
    (diff,) = _md_rows(md, f"MACs | {human(_ort_macs(256))}")
    assert diff[1] == diff[2] == human(_ort_macs(256)) and diff[3] == "+0.0%"
    assert "<details><summary>Formulas and proofs</summary>" in md
    assert re.search(r"- MACs: `14336\*N\*ceiling\(H/8\)", md)


def test_check_markdown_passes_with_a_tick():
    r = cli("check", TINY, "--max-macs", "1G", "-f", "markdown")
    assert r.returncode == 0 and r.stdout.startswith("### \u2705 cnnsym check") and "OK: within budget" in r.stdout


def test_check_text_fits_the_width(tmp_path):
    base = tmp_path / "base.json"
    cli("report", TINY, "-f", "json", "-o", base)
    for cols in (50, 80, 200):
        r = cli("check", TINY, "--max-macs", "50M", "--max-layer-macs", "20M", "--baseline", base,
                "--for-all", "H,W in 32..256", columns=cols)
        assert r.returncode == 1, r.stderr
        _fits(r.stdout, cols)
        assert "OVER" in r.stdout and "ceiling(H/8)" in r.stdout  # the formula is kept, wrapped
    # wide enough: the formula stays on its row
    assert any(x.startswith("  MACs ") and "14336*N" in x for x in r.stdout.splitlines())


def test_compare_markdown_and_text_width():
    r = cli("compare", TINY, "-f", "markdown")
    assert r.returncode == 0, r.stderr
    rows = _md_rows(r.stdout, "`")
    names = [row[0].strip("`") for row in rows]
    assert {"cnnsym", "torchvision", "fvcore", "thop"} <= set(names)
    tv = rows[names.index("torchvision")]
    assert tv[4] == str(_ort_macs(224))  # torchvision's number is the MACs (no bias, no activations)
    assert "<details><summary>What each convention counts</summary>" in r.stdout
    for cols in (50, 80, 160):
        t = cli("compare", TINY, columns=cols)
        assert t.returncode == 0
        _fits(t.stdout, cols)
        assert f"({_ort_macs(224)})" in t.stdout


def test_conventions_text_fits_the_width():
    for cols in (40, 80):
        r = cli("conventions", columns=cols)
        assert r.returncode == 0
        _fits(r.stdout, cols)
