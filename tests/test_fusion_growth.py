"""Bounded symbolic growth at multi-branch joins (issue 15 item 4): HRNet-like fusion and
U-Net skip joins after nearest upsampling, exported from torch. onnxruntime is the oracle:
over a range of sizes it runs exactly where cnnsym's valid domain holds, and there every
tensor has cnnsym's shape. The expressions stay the same size however deep the network."""
from __future__ import annotations

import os
import sys
import tempfile
import warnings

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

sys.path.insert(0, os.path.dirname(__file__))
import fusionnet  # noqa: E402
from oracle import feeds_for, run_ort  # noqa: E402

from cnnsym.analyze import analyze, evaluate  # noqa: E402
from cnnsym.domain import violated  # noqa: E402
from cnnsym.frontends.onnx import load  # noqa: E402
from cnnsym.symbolic import expr_size  # noqa: E402


def _analyse(model_bytes):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.onnx")
        with open(p, "wb") as f:
            f.write(model_bytes)
        return onnx.load(p), analyze(load(p), {})


def _export(net, dynamo=False):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fusionnet.export(torch, net, dynamo=dynamo)


def _ort_shapes(model, dims):
    try:
        return {k: list(v.shape) for k, v in run_ort(model, feeds_for(model, dims)).items()}
    except Exception:  # noqa: BLE001 - onnxruntime refusing these sizes is the observation
        return None


def _check_domain_and_shapes(model, report, sizes):
    """At every size: onnxruntime runs iff cnnsym's constraints hold, and then every
    tensor shape is cnnsym's. Returns how many sizes were valid."""
    valid = 0
    for h, w in sizes:
        dims = {"N": 1, "H": h, "W": w}
        ort = _ort_shapes(model, dims)
        ok = not violated(report, dims)
        assert ok == (ort is not None), (dims, [c.message for c in violated(report, dims)])
        if ort is None:
            continue
        valid += 1
        for name, shape in ort.items():
            t = report.tensors[name]
            assert [evaluate(d, dims) for d in t.shape] == shape, (name, dims, t.shape)
    return valid


def _max_size(report):
    return max(expr_size(d) for t in report.tensors.values() if t.shape for d in t.shape)


# H odd or not divisible by the branch strides, H = 1..4 where a branch is the size-1 dim
# that broadcasts, and the multiples of 32 where every branch agrees
SIZES = [(h, 32) for h in range(1, 41)] + [(64, w) for w in (1, 7, 24, 33, 48)] + [(96, 160), (224, 224)]


def test_hrnet_fusion_exact_and_bounded():
    model, report = _analyse(_export(fusionnet.fusion_net(torch, stages=3, branches=3)))
    assert not report.errors and report.bindings, report.errors
    assert all(r.status == "ok" for r in report.nodes)
    y = report.tensors[report.outputs[0]].shape
    assert not any(d.has(__import__("sympy").Max) for d in y), y
    assert _check_domain_and_shapes(model, report, SIZES) >= 10
    # the head's receptive field survives the joins (it was lost under Max())
    assert report.tensors[report.outputs[0]].rf is not None


def test_fusion_depth_does_not_grow_expressions():
    sizes = []
    for stages in (2, 8):
        _, report = _analyse(_export(fusionnet.fusion_net(torch, stages=stages, branches=4)))
        assert not report.errors, report.errors
        sizes.append(_max_size(report))
    assert sizes[1] == sizes[0], sizes


@pytest.mark.parametrize("join", ["add", "cat"])
def test_unet_skip_joins(join):
    model, report = _analyse(_export(fusionnet.unet(torch, depth=3, join=join)))
    assert not report.errors and report.bindings, report.errors
    # Concat never broadcasts: only H, W multiples of 8 (and W = 1 for Add) run
    assert _check_domain_and_shapes(model, report, SIZES) >= 5


def test_dynamo_export():
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    model, report = _analyse(_export(fusionnet.fusion_net(torch, stages=2, branches=3), dynamo=True))
    assert not report.errors, report.errors
    assert _check_domain_and_shapes(model, report, [(64, 64), (96, 32), (128, 224)]) == 3
