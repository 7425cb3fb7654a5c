"""verify on models with static sizes (issue 14): a correct model must pass. A field larger
than the image, or reaching into padding, is clipped by the image (resnet18's global pool
at 224 x 224: formula rows -217..409, onnxruntime rows 0..223); floor-mode strides leave
trailing rows that no unit sees (squeezenet at 64 x 64 never sees row 63). The oracle is
onnxruntime executing the model (shapes) and its linearised copy (fields); a deliberately
wrong field must still fail."""
import dataclasses

import pytest

from conftest import ROOT, shared_models_dir

from cnnsym import api
from cnnsym.verify import verify

STATIC = {"resnet18": "1x3x224x224", "lenet5": "1x1x32x32", "seed_conv": "1x8x32x32"}  # others: 1x3x64x64


def _shared():
    d = shared_models_dir()
    if d is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="shared models absent: set CNNSYM_SHARED_MODELS "
                                                                  "or put them at ../shared/models"))]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in sorted(d.glob("*/*.onnx"))]


def _run(path, dims, **kw):
    graph, rep = api.analyze_graph(str(path), input=f"input={dims}")
    return verify(str(path), graph, rep, random_k=0, **kw)


@pytest.mark.parametrize("path", _shared())
def test_every_shared_model_passes_at_a_static_size(path):
    res = _run(path, STATIC.get(path.stem, "1x3x64x64"))
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures] + res.errors
    fields = [c for c in res.checks if c.what == "receptive_field"]
    assert fields, res.notes  # the fields were measured, not skipped


def test_resnet18_global_pool_is_compared_clipped():
    d = shared_models_dir()
    if d is None:
        pytest.skip("shared models absent")
    res = _run(d / "torchscript" / "resnet18.onnx", "1x3x224x224")
    pool = [c for c in res.checks if c.what == "receptive_field" and "GlobalAveragePool" in c.where]
    assert pool and all(c.ok for c in pool)
    # the formula's field (627 rows: -217..409) seen through a 224-row image is rows 0..223
    assert all(c.got.startswith("rows 0..223") and "clipped to the image" in c.expected for c in pool)


def test_squeezenet_trailing_row_no_unit_sees():
    d = shared_models_dir()
    if d is None:
        pytest.skip("shared models absent")
    res = _run(d / "torchscript" / "squeezenet1_1.onnx", "1x3x64x64")
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures]
    # conv 3x3 stride 2 without padding on 64 rows: units see rows 0..62 (floor((64-3)/2)+1 = 31
    # units, the last starting at row 60); row 63 is seen by no unit at all
    clipped = [c for c in res.checks if c.what == "receptive_field" and "clipped to rows 0..62" in c.expected]
    assert clipped and all(c.got.startswith("rows 0..62") for c in clipped)


def test_a_wrong_field_still_fails_at_static_sizes():
    """Clipping must not hide a wrong formula: widen one probed field by 2 rows on each side."""
    path = ROOT / "fixtures" / "tiny_resnet.onnx"
    graph, rep = api.analyze_graph(str(path), input="1x3x64x64")
    good = verify(str(path), graph, rep, random_k=0)
    assert good.ok, [(c.where, c.expected, c.got) for c in good.failures]
    fields = [c for c in good.checks if c.what == "receptive_field" and "clipped" not in c.expected]
    assert fields
    name = fields[0].where.rsplit(" axis ", 1)[0]
    t = rep.tensors[name]
    wrong = tuple(None if f is None else dataclasses.replace(f, size=f.size + 4) for f in t.rf)
    tensors = {**rep.tensors, name: dataclasses.replace(t, rf=wrong)}
    bad = verify(str(path), graph, dataclasses.replace(rep, tensors=tensors), random_k=0)
    assert not bad.ok and any(c.what == "receptive_field" and c.where.startswith(name) for c in bad.failures)
