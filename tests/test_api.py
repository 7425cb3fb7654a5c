"""The library API (issue: cnnsym as a library). Oracles: torchvision's exact MACs in
../shared/models/ground_truth.json, torch executing source models, onnxruntime executing
graphs, and the command line's own output (the CLI must be a thin layer over the API)."""
from __future__ import annotations

import dataclasses
import doctest
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cnnsym

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "fixtures", "tiny_resnet.onnx")
SHARED = os.environ.get("CNNSYM_SHARED_MODELS", os.path.join(ROOT, "..", "shared", "models"))


def test_docs_api_example_runs():
    """Every `>>>` line of docs/api.md, run as written from the repository root."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        res = doctest.testfile(os.path.join(ROOT, "docs", "api.md"), module_relative=False,
                               optionflags=doctest.NORMALIZE_WHITESPACE)
    finally:
        os.chdir(cwd)
    assert res.attempted >= 10 and res.failed == 0


def test_import_is_light():
    code = ("import sys, cnnsym; heavy = [m for m in ('sympy', 'onnx', 'onnxruntime', 'libcst', 'numpy', 'torch') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_report_is_frozen_and_conventions_make_a_new_one():
    rep = cnnsym.analyze(TINY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.convention = "fvcore"
    other = cnnsym.analyze(TINY, convention="fvcore")
    assert other.convention == "fvcore" and "convention.total" in other.totals
    assert rep.convention == "cnnsym" and "convention.total" not in rep.totals


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/models is absent")
@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_at_matches_torchvision_exact_macs(exporter):
    """``Report.at`` evaluates the formula elsewhere; torchvision's exact counts are the oracle."""
    gt = json.load(open(os.path.join(SHARED, "ground_truth.json")))["models"]["resnet18"]["exact_macs"]
    path = os.path.join(SHARED, exporter, "resnet18.onnx")
    if not os.path.exists(path):
        pytest.skip(f"{path} absent")
    rep = cnnsym.analyze(path, input="Nx3xHxW")
    n, h, w = "N", "H", "W"
    for key, want in gt.items():
        if not key.startswith("b"):
            continue
        b, hw = key[1:].split("_")
        hh, ww = hw.split("x")
        assert rep.at(**{n: int(b), h: int(hh), w: int(ww)})["macs"] == want, key


def test_cli_is_a_thin_layer_over_the_api():
    """The JSON the CLI prints is the API's Report rendered."""
    r = subprocess.run([sys.executable, "-m", "cnnsym", "report", TINY, "-f", "json", "--bind", "H=97,W=61"],
                       capture_output=True, text=True, check=True)
    cli_doc = json.loads(r.stdout)
    api_doc = json.loads(cnnsym.analyze(TINY, bind="H=97,W=61").to_json())
    assert cli_doc["values"] == api_doc["values"]
    assert [n["name"] for n in cli_doc["nodes"]] == [n["name"] for n in api_doc["nodes"]]


def test_model_proto_and_path_agree():
    import onnx

    a = cnnsym.analyze(TINY)
    b = cnnsym.analyze(onnx.load(TINY))
    assert a.values == b.values and b.path == "<ModelProto>"


def test_shapes_at_a_size_match_onnxruntime():
    """Every tensor's formula, evaluated at an odd size, against onnxruntime's shapes."""
    import onnx
    import onnxruntime as ort

    m = onnx.load(TINY)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.zeros((2, 3, 37, 53), dtype=np.float32)
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    rep = cnnsym.analyze(TINY, bind={"N": 2, "H": 37, "W": 53})
    checked = 0
    for meta, arr in zip(sess.get_outputs(), outs):
        t = rep.tensors[meta.name]
        assert tuple(rep.evaluate(d) for d in t.shape) == arr.shape, meta.name
        checked += 1
    assert checked >= 10


SOURCE = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 5, stride=2, padding=1, dilation=2)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.head = nn.Conv2d(c, 4, 1)

    def forward(self, x):
        return self.head(self.pool(self.conv(x).relu()))
'''


def test_source_text_matches_torch():
    torch = pytest.importorskip("torch")
    rep = cnnsym.analyze(SOURCE, input="1x3xHxW")
    ns: dict = {}
    exec(compile(SOURCE, "<test>", "exec"), ns)  # the test executes it; cnnsym never does
    net = ns["Net"]().eval()
    assert rep.path == "<source>"
    for h, w in [(29, 31), (64, 45)]:
        want = tuple(net(torch.zeros(1, 3, h, w)).shape)
        got = tuple(rep.evaluate(d, {**rep.bindings, "H": h, "W": w}) for d in rep.tensors[rep.outputs[0]].shape)
        assert got == want
    conv = next(r for r in rep.nodes if r.node.op_type == "Conv")
    w = conv.windows[0]
    assert (w.kernel, w.stride, w.pads, w.dilation) == (5, 2, (1, 1), 2)
    pool = next(r for r in rep.nodes if r.node.op_type == "MaxPool")
    assert pool.windows[0].ceil_mode == 1
    params = sum(p.numel() for p in net.parameters())
    assert rep.values["params.trainable"] == params


def test_live_intervals_cover_every_reader():
    rep = cnnsym.analyze(TINY)
    step = {r.node.name: k for k, r in enumerate(rep.nodes)}
    for k, r in enumerate(rep.nodes):
        for i in r.node.inputs:
            t = rep.tensors.get(i)
            if t is not None:
                assert t.live[0] < k <= t.live[1] or (t.live[0] == -1 and k <= t.live[1]), i
        for o in r.node.outputs:
            if o in rep.tensors:
                assert rep.tensors[o].live[0] == step[r.node.name]
    for o in rep.outputs:
        assert rep.tensors[o].live[1] == rep.steps


def test_initializer_roles():
    rep = cnnsym.analyze(TINY)
    total = sum(i.numel for i in rep.initializers.values() if i.role == "trainable")
    assert total == rep.values["params.trainable"]
    import onnx

    m = onnx.load(TINY)
    assert set(rep.initializers) == {t.name for t in m.graph.initializer}


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(cnnsym.errors.CnnsymError, match="no such file|cannot read"):
        cnnsym.analyze(str(tmp_path / "missing.onnx"))
    with pytest.raises(cnnsym.errors.CnnsymError, match="--input"):
        cnnsym.analyze(TINY, input="1x3xHx-")


def test_the_modules_named_like_the_functions_are_callable():
    import cnnsym.analyze  # noqa: F401  (the module replaces the package attribute)

    rep = cnnsym.analyze(TINY)
    assert rep.values["macs"] == cnnsym.api.analyze(TINY).values["macs"]


def test_layer_contract_holds():
    """import-linter: the layers of DESIGN.md, imports pointing down only, no cycles."""
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(exe):
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    r = subprocess.run([exe, "--config", os.path.join(ROOT, "pyproject.toml")], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_no_module_over_the_size_limit():
    big = []
    for d, _, files in os.walk(os.path.join(ROOT, "cnnsym")):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    n = sum(1 for _ in fh)
                if n > 650:
                    big.append((os.path.relpath(os.path.join(d, f), ROOT), n))
    assert not big, big


def test_notebook_and_text_renderings_name_every_layer():
    import html.parser

    rep = cnnsym.analyze(TINY)
    page = rep.to_html()
    html.parser.HTMLParser().feed(page)  # well formed enough to parse
    # self-contained: no script or stylesheet to fetch, no URL (an inline script filters the tree)
    assert page.startswith("<!doctype html>") and "<script src" not in page and "http" not in page
    for r in rep.nodes:
        if r.node.op_type == "Conv":
            assert r.node.name.split("/")[-1] in rep._repr_html_()
    md = rep.to_markdown()
    assert "| " in md and str(rep.values["macs"]) in md.replace(",", "")
