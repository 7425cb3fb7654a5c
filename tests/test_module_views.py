"""The module view of the table (issue 10 item 2) and golden outputs of the shipped fixtures.

Golden files live in tests/golden/; after an intended change of a view, regenerate them
with ``CNNSYM_UPDATE_GOLDEN=1 pytest tests/test_module_views.py`` and review the diff (a
few plain files, no snapshot library needed).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnnsym.api import analyze
from cnnsym.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
RESNET = "fixtures/torch/resnet.py::resnet18"


def _run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return r


def _module_rows(text):
    """(name cell, rest) of each module row of a printed module table."""
    lines = text.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("module "))
    type_col = lines[head].index("type")
    out = []
    for l in lines[head + 2:]:
        if not l or not l.startswith(" ") and not l[:type_col].strip():
            break
        if l.startswith(("deeper", "params:")):
            break
        name = l[:type_col].strip()
        if name:
            out.append((name, l[type_col:]))
    return out


@pytest.fixture(scope="module")
def resnet18_source():
    return analyze(f"{ROOT}/{RESNET}")


@pytest.mark.parametrize("net,blocks", [("resnet18", [2, 2, 2, 2]), ("resnet50", [3, 4, 6, 3])])
def test_default_table_of_a_resnet_fits_80_columns_with_distinct_names(net, blocks):
    text = analyze(f"{ROOT}/fixtures/torch/resnet.py::{net}").render("table", width=80)
    assert all(len(l) <= 80 and l == l.rstrip() for l in text.splitlines())
    names = [n for n, _ in _module_rows(text)]
    assert len(names) == len(set(names)) and not any("\u2026" in n for n in names), names
    # torchvision's ResNet: 10 children, then layer1..4 with these many blocks (hand list)
    assert len(names) == 10 + sum(blocks)
    assert [n for n in names if n.startswith("layer4.")] == [f"layer4.{k}" for k in range(blocks[3])]


def test_default_table_of_resnet18_fits_80_columns_with_distinct_names(resnet18_source):
    text = resnet18_source.render("table", width=80)
    assert all(len(l) <= 80 and l == l.rstrip() for l in text.splitlines())
    rows = _module_rows(text)
    names = [n for n, _ in rows]
    assert len(names) == len(set(names)), names
    # torch's resnet18 children (hand list from torchvision's ResNet) and its blocks
    for want in ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.1", "layer2", "layer2.0",
                 "layer3.1", "layer4", "layer4.1", "avgpool", "fc"]:
        assert want in names, want
    assert len(names) == 10 + 8  # 10 children of the model, 2 blocks in each of layer1..4


def test_params_are_torchs_and_macs_have_a_share(resnet18_source):
    rows = dict(_module_rows(resnet18_source.render("table", width=120)))
    # BatchNorm2d(64): weight and bias, 2 x 64 (running stats are buffers, apart)
    assert rows["bn1"].split()[2] == "128"
    # layer1.0: two 3x3 convs 64->64 at 56x56: 2 * 64*64*9*56*56 = 231,211,008 MACs, 12.7% of
    # resnet18's 1,814,073,344 (torchvision's figure)
    cells = rows["layer1.0"].split()
    assert "231M" in cells and "12.7" in cells


def test_depth_sort_top_and_nodes(monkeypatch):
    monkeypatch.chdir(ROOT)
    one = _run("report", RESNET, "--depth", "1", "--width", "100").output
    assert len(_module_rows(one)) == 10
    three = _run("report", RESNET, "--depth", "3", "--width", "100").output
    assert "layer2.0.downsample" in three and "layer1.0.conv1" in three
    hot = _run("report", RESNET, "--sort", "macs", "--top", "3", "--width", "100").output
    rows = _module_rows(hot)
    assert len(rows) == 3
    # the three basic blocks without a downsampling conv of 231,211,008 MACs each (above);
    # every other depth-2 module has fewer
    assert all("231M" in r for _, r in rows)
    nodes = _run("report", RESNET, "--nodes", "--width", "100").output
    assert "\nnode " in nodes and "\nmodule " not in nodes


def test_onnx_exports_default_to_modules_and_plain_files_to_nodes(shared_models):
    text = analyze(shared_models / "torchscript" / "resnet18.onnx").render("table", width=80)
    assert all(len(l) <= 80 for l in text.splitlines())
    names = [n for n, _ in _module_rows(text)]
    assert len(names) == len(set(names)) and "layer4.1" in names
    tiny = analyze(ROOT / "fixtures" / "tiny_resnet.onnx").render("table", width=80)
    assert "\nnode " in tiny  # no exporter scopes: the node table
    assert "\nmodule " in analyze(ROOT / "fixtures" / "tiny_resnet.onnx").render("table", view="modules")


def test_markdown_puts_the_top_modules_first(resnet18_source):
    md = resnet18_source.render("markdown")
    assert md.index("### Totals") < md.index("### Modules") < md.index("<summary>Module tree")
    top = md[md.index("### Modules"):md.index("<details>")]
    assert "`layer1`" in top and "`layer1.0`" not in top


# --------------------------------------------------------------------------- golden outputs
GOLDEN_CASES = [
    ("fixtures/tiny_resnet.onnx", {}),
    ("fixtures/seed_conv.onnx", {}),
    # bound explicitly: the domain solver's note on a moved default binding lists the
    # symbols in set order, which varies between runs (reported)
    ("fixtures/torch/lenet.py::LeNet", {"bind": "H=28,W=28"}),
    (RESNET, {}),
]


def _normalize(text):
    return re.sub(r'"cnnsym_version": "[^"]*"', '"cnnsym_version": "X"', text)


def _golden_name(spec, fmt):
    stem = re.sub(r"\W+", "_", spec.replace("fixtures/", "")).strip("_")
    return GOLDEN / f"{stem}.{fmt}"


@pytest.mark.parametrize("spec,fmt", [(c[0], f) for c in GOLDEN_CASES for f in ("table", "markdown", "json")
                                      if not (c[0] == RESNET and f == "json")])  # 240 KB: left out
def test_golden(spec, fmt, monkeypatch):
    monkeypatch.chdir(ROOT)
    rep = analyze(spec, **dict(GOLDEN_CASES)[spec])
    got = _normalize(rep.render(fmt, **({"width": 80} if fmt == "table" else {})))
    path = _golden_name(spec, fmt)
    if os.environ.get("CNNSYM_UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CNNSYM_UPDATE_GOLDEN") != "1":
            pytest.fail(f"{path} is missing: run with CNNSYM_UPDATE_GOLDEN=1 and review it")
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    assert got == path.read_text(), f"{fmt} of {spec} changed: compare with {path}"
    if fmt == "json":
        doc = json.loads(got)
        assert doc["modules"][0]["path"] == "" and doc["schema_version"] == 2
