"""A global pool broadcast back over the map (DeepLab's image pooling, squeeze-excitation,
issue 14): every output unit depends on every input pixel, so its field is the whole image
(it was reported as 3 rows, or 123/4 through a Resize from 1x1). Oracle: torch autograd
through the fixture module with positive weights (the gradient of one output unit is
non-zero exactly on the input pixels it depends on); verify at a static size must pass with
the field measured on onnxruntime."""
import importlib.util
import math

import pytest

from conftest import ROOT

from cnnsym import api
from cnnsym.analyze import evaluate
from cnnsym.verify import verify

POOL = ROOT / "fixtures" / "torch" / "verify_image_pool.py"
SHAPES = ROOT / "fixtures" / "torch" / "verify_shape_sizes.py"
CASES = [(POOL, "ImagePooling"), (POOL, "ExpandPooling"), (POOL, "BroadcastPooling"), (SHAPES, "ExpandAs")]
H, W = 24, 20


def _module(path, cls):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, cls)()


def _torch_rows(path, cls, unit):
    """First and last input row (column) whose pixels reach output unit (unit, unit)."""
    torch = pytest.importorskip("torch")
    m = _module(path, cls).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(0.01 if p.dim() > 1 else 0.0)  # positive weights, no bias: no cancellation
    x = torch.ones(1, 3, H, W, requires_grad=True)
    y = m(x)
    y[0, :, unit[0], unit[1]].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows = torch.nonzero(g.sum(dim=1)).flatten().tolist()
    cols = torch.nonzero(g.sum(dim=0)).flatten().tolist()
    return (rows[0], rows[-1]), (cols[0], cols[-1]), tuple(y.shape)


@pytest.mark.parametrize("path,cls", CASES, ids=[c for _, c in CASES])
def test_reported_field_is_the_whole_image(path, cls):
    graph, rep = api.analyze_graph(f"{path}::{cls}", input=f"1x3x{H}x{W}")
    out = rep.tensors[graph.outputs[0]]
    shape = [int(evaluate(d, rep.bindings)) for d in out.shape]
    unit = (shape[2] // 2, shape[3] // 2)
    rows, cols, tshape = _torch_rows(path, cls, unit)
    assert tuple(shape) == tshape
    assert rows == (0, H - 1) and cols == (0, W - 1)  # torch: the unit sees the whole image
    for ax, (extent, u) in enumerate(zip((H, W), unit)):
        f = out.rf[2 + ax]
        start = evaluate(f.offset + u * f.stride - (f.size - 1) / 2, rep.bindings)
        lo, hi = math.ceil(start), math.floor(start + evaluate(f.size, rep.bindings) - 1)
        assert (max(lo, 0), min(hi, extent - 1)) == (0, extent - 1), (ax, f)
        assert evaluate(f.stride, rep.bindings) == 0  # every unit shares that field


@pytest.mark.parametrize("path,cls", CASES, ids=[c for _, c in CASES])
def test_verify_measures_the_global_field(path, cls):
    spec = f"{path}::{cls}"
    graph, rep = api.analyze_graph(spec, input=f"1x3x{H}x{W}")
    res = verify(spec, graph, rep, random_k=0)
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures] + res.errors + res.notes
    out = graph.outputs[0]
    measured = [c for c in res.checks if c.what == "receptive_field" and c.where.startswith(out + " ")]
    assert len(measured) == 2 and all(c.got.startswith(("rows 0..23", "rows 0..19")) for c in measured)
