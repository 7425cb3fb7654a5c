"""cnnsym verify end to end: it passes on models whose shapes onnxruntime confirms, fails
(exit 1) when a formula is wrong, and --device cuda without a CUDA provider is a one-line
error. The comparison target is always what onnxruntime produced."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "cnnsym", *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_verify_passes_and_measures_receptive_fields():
    p = cli("verify", "fixtures/tiny_resnet.onnx", "--random", "3", "--seed", "3", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    kinds = {c["what"] for c in doc["checks"]}
    assert {"shape", "params", "receptive_field"} <= kinds
    assert all(c["ok"] for c in doc["checks"])
    assert len(doc["bindings"]) == 4  # the report's own + 3 random valid ones


def test_verify_catches_a_wrong_formula(monkeypatch):
    """Break one op's formula on purpose: verify must report the mismatch, not agree."""
    from cnnsym.analyze import analyze
    from cnnsym.frontends.onnx import load
    from cnnsym.ops import elementwise
    from cnnsym.verify import verify
    import cnnsym.analyze as A

    original = elementwise.Unary.infer

    def wrong(self, inputs):
        res = original(self, inputs)
        v = res.outputs[0]
        res.outputs[0] = v.__class__((*v.shape[:-1], v.shape[-1] + 1), v.dtype, v.value)
        return res

    monkeypatch.setattr(elementwise.Unary, "infer", wrong)
    A._CACHE.clear()
    try:
        path = str(ROOT / "fixtures" / "tiny_resnet.onnx")
        g = load(path)
        r = analyze(g)
        res = verify(path, g, r, random_k=1, rf=False)
    finally:
        A._CACHE.clear()
    assert not res.ok
    assert any(c.what == "shape" and c.where == "stem_r" for c in res.failures)  # the Relu output


def test_cuda_without_provider_is_a_clear_error():
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("a CUDA provider is present here: the error path cannot be exercised")
    p = cli("verify", "fixtures/seed_conv.onnx", "--device", "cuda")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "CUDAExecutionProvider" in lines[0] and "Traceback" not in p.stderr


def test_verify_source_model_via_lowered_onnx():
    p = cli("verify", "fixtures/torch/lenet.py::LeNet", "--input", "Nx1x28x28", "--random", "2")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    assert "OK:" in p.stdout


def test_cli_source_verify_leaves_no_file_and_names_the_spec(tmp_path):
    """Issue 14: a source model used to be lowered to a lowered.onnx left in a temporary folder,
    and that path was printed as the model's name."""
    import subprocess
    import sys

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    spec = "fixtures/torch/lenet.py::LeNet"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "cnnsym", "verify", spec, "--random", "1"], capture_output=True,
                       text=True, cwd=root, env={**os.environ, "TMPDIR": str(tmp)}, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[0].startswith(f"cnnsym verify: {spec} ")
    # onnxruntime itself drops a small '.ses' marker in TMPDIR on import; no model file may be left
    assert not [p for p in tmp.rglob("*") if p.suffix in (".onnx", ".data") or "lowered" in p.name]


def test_verify_text_fits_the_width():
    """Issue 10: no command prints a line over the width (verify's field lines were 90-107)."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for cols in ("80", "60"):
        r = subprocess.run([sys.executable, "-m", "cnnsym", "verify", "fixtures/tiny_resnet.onnx", "--random", "1"],
                           capture_output=True, text=True, cwd=root, env={**os.environ, "COLUMNS": cols}, timeout=600)
        assert r.returncode == 0, r.stderr
        assert max(len(line) for line in r.stdout.splitlines()) <= int(cols)
