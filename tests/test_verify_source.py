"""Source models lowered to ONNX for verify (issue 14): sizes read from a tensor's shape
(``F.interpolate(x, size=(h, w))`` with ``h, w = x.shape[-2:]``, ``expand_as``, ``expand``)
used to crash the lowering (``int(symbol)``). The lowered model must run at every size and
produce what torch produces (the oracle: torch executing the fixture module), verify must
pass, and nothing may be left on disk; the result names the model spec."""
import importlib.util
import os

import pytest

from conftest import ROOT

import cnnsym
from cnnsym import api
from cnnsym.lower import to_model

SHAPE_SIZES = ROOT / "fixtures" / "torch" / "verify_shape_sizes.py"
CLASSES = ["InterpolateToInput", "ExpandAs", "ExpandSizes"]


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("cls", CLASSES)
def test_lowered_model_matches_torch_at_several_sizes(cls):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    graph, _ = api.analyze_graph(f"{SHAPE_SIZES}::{cls}", input="Nx3xHxW")
    sess = ort.InferenceSession(to_model(graph).SerializeToString(), providers=["CPUExecutionProvider"])
    module = getattr(_module(SHAPE_SIZES), cls)().eval()
    for n, h, w in [(1, 16, 16), (2, 17, 9), (1, 31, 64)]:
        x = torch.randn(n, 3, h, w)
        with torch.no_grad():
            want = tuple(module(x).shape)
        got = sess.run(None, {graph.inputs[0].name: x.numpy()})[0].shape
        assert tuple(got) == want, (n, h, w)


@pytest.mark.parametrize("cls", CLASSES)
def test_verify_passes_on_sizes_from_shapes(cls, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    spec = f"{SHAPE_SIZES.relative_to(ROOT)}::{cls}"
    monkeypatch.chdir(ROOT)
    res = cnnsym.verify(spec, input="Nx3xHxW", random_k=2)
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures] + res.errors
    assert res.path == spec  # the model's name, not a temporary file
    left = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs]
    assert not left, left  # no lowered.onnx (or anything) left behind
