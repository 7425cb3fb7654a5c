"""The PyTorch-source frontend: files are read, never executed; the static report agrees
with torch executing the same file (every module's output shape at 3 sizes, parameter and
buffer counts) and with the report of the same model exported to ONNX."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import sympy as sp

from cnnsym.analyze import analyze, apply_inputs, evaluate
from cnnsym.errors import InputError
from cnnsym.frontends.torch import list_models, load_source

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "torch"

# file, spec, three input sizes (batch and spatial vary; shapes checked at each)
CASES = [
    ("lenet.py", "Net", [(1, 3, 32, 32), (2, 3, 32, 32), (5, 3, 32, 32)]),
    ("lenet.py", "LeNet", [(1, 1, 28, 28), (3, 1, 28, 28), (2, 1, 28, 28)]),
    ("lenet.py", "MnistNet", [(1, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]),
    ("lenet.py", "SimpleCNN", [(1, 3, 32, 32), (2, 3, 17, 23), (1, 3, 8, 9)]),
    ("vgg.py", "VGG('VGG11')", [(1, 3, 32, 32), (2, 3, 32, 32), (3, 3, 32, 32)]),
    ("vgg.py", "vgg11", [(1, 3, 32, 32), (1, 3, 67, 45), (2, 3, 100, 100)]),
    ("resnet.py", "resnet18", [(1, 3, 64, 64), (2, 3, 97, 131), (1, 3, 224, 224)]),
    ("resnet.py", "resnet50", [(1, 3, 64, 64), (1, 3, 113, 77), (1, 3, 160, 160)]),
    ("resnet.py", "resnext50_32x4d", [(1, 3, 64, 64), (1, 3, 45, 71), (1, 3, 96, 96)]),
    ("resnet.py", "resnet20", [(1, 3, 32, 32), (2, 3, 32, 32), (1, 3, 64, 64)]),
    ("mobilenetv2.py", "mobilenet_v2", [(1, 3, 64, 64), (1, 3, 97, 131), (2, 3, 224, 224)]),
    ("mobilenetv2.py", "mobilenet_v2_050", [(1, 3, 32, 32), (1, 3, 51, 77), (1, 3, 128, 128)]),
    ("squeezenet.py", "squeezenet1_0", [(1, 3, 64, 64), (1, 3, 111, 97), (1, 3, 224, 224)]),
    ("squeezenet.py", "squeezenet1_1", [(1, 3, 64, 64), (2, 3, 71, 83), (1, 3, 224, 224)]),
    ("dcgan.py", "Generator(1)", [(1, 100, 1, 1), (2, 100, 1, 1), (1, 100, 2, 3)]),
    ("dcgan.py", "Discriminator()", [(1, 3, 64, 64), (2, 3, 64, 64), (5, 3, 64, 64)]),
    ("superres.py", "Net", [(1, 1, 32, 32), (2, 1, 17, 23), (1, 1, 64, 48)]),
    ("superres.py", "ESPCN(scale_factor=3)", [(1, 1, 32, 32), (2, 1, 17, 23), (1, 1, 9, 11)]),
    ("unet.py", "UNet", [(1, 3, 32, 32), (1, 3, 37, 45), (2, 3, 64, 64)]),
    ("unet.py", "UNet(bilinear=True)", [(1, 3, 32, 32), (1, 3, 41, 35), (1, 3, 48, 48)]),
    ("unet.py", "SmallUNet", [(1, 1, 20, 20), (1, 1, 33, 47), (2, 1, 16, 16)]),
    ("public_styles.py", "StyleNet", [(1, 3, 32, 32), (2, 3, 45, 61), (1, 3, 8, 8)]),
]
# exported to ONNX for the parity test (large-weight models left out to keep it quick)
PARITY = ["Net", "LeNet", "MnistNet", "SimpleCNN", "VGG('VGG11')", "resnet18", "resnet20", "mobilenet_v2",
          "squeezenet1_1", "Generator(1)", "Discriminator()", "ESPCN(scale_factor=3)", "SmallUNet",
          "UNet(bilinear=True)"]


def _id(case):
    return f"{case[0]}::{case[1]}"


_REPORTS: dict = {}


def source_report(file, spec):
    key = (file, spec)
    if key not in _REPORTS:
        g = load_source(f"{FIX / file}::{spec}")
        _REPORTS[key] = (g, analyze(g))
    return _REPORTS[key]


def _bindings(graph, size):
    gi = graph.inputs[0]
    b = {}
    for d, v in zip(gi.shape, size):
        if isinstance(d, sp.Symbol):
            b[d.name] = v
        else:
            assert int(d) == v, f"input dim {d} fixed by the model, test size {size}"
    return b


# ---------------------------------------------------------------------------
# nothing is executed


def test_model_file_is_never_executed(tmp_path):
    marker = tmp_path / "marker.txt"
    model = tmp_path / "evil.py"
    model.write_text(f'''
import os
import torch.nn as nn
open({str(marker)!r}, "w").write("module level")
os.system("touch {marker}")
__import__("os").system("touch {marker}")

class Evil(nn.Module):
    open({str(marker)!r}, "w").write("class body")

    def __init__(self):
        super().__init__()
        os.system("touch {marker}")
        exec("open({str(marker)!r}, 'w')")
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        open({str(marker)!r}, "w").write("forward")
        eval("__import__('os').system('touch {marker}')")
        return self.conv(x)

if __name__ == "__main__":
    open({str(marker)!r}, "w").write("main")
''')
    g = load_source(f"{model}::Evil")
    r = analyze(g)
    assert not marker.exists()
    assert r.values["params.trainable"] == 8 * 3 * 9 + 8
    assert "evil" not in sys.modules


# ---------------------------------------------------------------------------
# torch oracle: every named module's output shape, parameters and buffers


def _import_fixture(file):
    """Import a fixture as a module of a synthetic package (sibling imports work)."""
    pkg = "cnnsym_torch_fixtures"
    if pkg not in sys.modules:
        m = types.ModuleType(pkg)
        m.__path__ = [str(FIX)]
        sys.modules[pkg] = m
    name = f"{pkg}.{file[:-3]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FIX / file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    argv = sys.argv
    sys.argv = [str(FIX / file)]  # dcgan.py parses its arguments at import
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.argv = argv
    return mod


def _build_torch(file, spec):
    mod = _import_fixture(file)
    expr = spec if "(" in spec else spec + "()"
    model = eval(expr, vars(mod))  # noqa: S307 - the test (not cnnsym) runs the fixture
    return model.eval()


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_torch_oracle(case):
    torch = pytest.importorskip("torch")
    file, spec, sizes = case
    g, r = source_report(file, spec)
    assert not r.errors, r.errors
    assert not r.unaccounted, r.unaccounted
    model = _build_torch(file, spec)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers())
    b0 = _bindings(g, sizes[0])
    assert evaluate(r.totals["params.trainable"], b0) == trainable
    assert evaluate(r.totals["params.buffers"], b0) == buffers

    names = {m: n for n, m in model.named_modules()}
    for size in sizes:
        seen: dict = {}

        def hook(mod, inp, out, seen=seen):
            if isinstance(out, torch.Tensor):
                seen.setdefault(names[mod], []).append(tuple(out.shape))

        handles = [m.register_forward_hook(hook) for m in names]
        try:
            with torch.no_grad():
                model(torch.randn(*size))
        finally:
            for h in handles:
                h.remove()
        b = _bindings(g, size)
        mismatches = []
        for name, shapes in seen.items():
            ours = g.module_outputs.get(name)
            if ours is None:
                mismatches.append(f"{name!r}: no output in the graph")
                continue
            if len(ours) != len(shapes):
                mismatches.append(f"{name!r}: called {len(shapes)} times in torch, {len(ours)} in the graph")
                continue
            for t_name, want in zip(ours, shapes):
                info = r.tensors[t_name]
                got = tuple(evaluate(d, b) for d in info.shape) if info.shape is not None else None
                if got != want:
                    mismatches.append(f"{name!r} at {size}: cnnsym {got}, torch {want}")
        assert not mismatches, "\n".join(mismatches[:10])
        assert len(seen) >= 1


# ---------------------------------------------------------------------------
# parity with the ONNX export of the same model


@pytest.mark.parametrize("case", [c for c in CASES if c[1] in PARITY], ids=_id)
def test_onnx_export_parity(case, tmp_path):
    torch = pytest.importorskip("torch")
    from cnnsym.frontends.onnx import load

    file, spec, sizes = case
    size = sizes[0]
    g, r = source_report(file, spec)
    model = _build_torch(file, spec)
    with torch.no_grad():  # distinct values: the exporter merges equal initializers
        for t in [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]:
            t.copy_(torch.rand_like(t) + 0.5)
    path = tmp_path / "model.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(*size),), str(path), dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    ro = analyze(load(str(path)))
    assert not ro.errors and not ro.unaccounted
    b = _bindings(g, size)
    nbt = sum(bf.numel() for n, bf in model.named_buffers() if n.endswith("num_batches_tracked"))
    assert evaluate(r.totals["macs"], b) == ro.values["macs"]
    assert evaluate(r.totals["params.trainable"], b) == ro.values["params.trainable"]
    # torch.onnx.export drops num_batches_tracked, which torch counts as a buffer
    assert evaluate(r.totals["params.buffers"], b) == ro.values["params.buffers"] + nbt
    out_src = [tuple(evaluate(d, b) for d in r.tensors[o].shape) for o in r.outputs]
    out_onnx = [tuple(evaluate(d, ro.bindings) for d in ro.tensors[o].shape) for o in ro.outputs]
    assert out_src == out_onnx


# ---------------------------------------------------------------------------
# without torch: names, locations, symbols, what cannot be followed


def test_torchvision_numbers_without_torch():
    g, r = source_report("resnet.py", "resnet18")
    b = {"N": 1, "H": 224, "W": 224}
    assert evaluate(r.totals["params.trainable"], b) == 11_689_512
    assert evaluate(r.totals["macs"], b) == 1_814_073_344
    g, r = source_report("mobilenetv2.py", "mobilenet_v2")
    assert evaluate(r.totals["params.trainable"], b) == 3_504_872
    g, r = source_report("squeezenet.py", "squeezenet1_1")
    assert evaluate(r.totals["params.trainable"], b) == 1_235_496


def test_names_and_source_locations():
    g, r = source_report("resnet.py", "resnet18")
    by_name = {n.name: n for n in g.nodes}
    conv = by_name["layer1.0.conv1"]
    assert conv.op_type == "Conv" and conv.attrs["pads"] == [1, 1, 1, 1] and conv.attrs["group"] == 1
    assert conv.loc.path.endswith("resnet.py")
    src = (FIX / "resnet.py").read_text().splitlines()
    assert "nn.Conv2d(" in src[conv.loc.line - 1]  # built inside conv3x3
    assert "self.conv1(x)" in src[conv.call_loc.line - 1]
    assert by_name["layer2.0.downsample.0"].attrs["strides"] == [2, 2]
    assert by_name["fc"].op_type == "Gemm" and by_name["fc"].attrs["transB"] == 1
    assert by_name["avgpool"].op_type == "GlobalAveragePool"
    assert any(n.startswith("layer1.0.add") or n.startswith("layer1.0.") and n.endswith(("Add",))
               for n in by_name) or any(n.op_type == "Add" and n.name.startswith("layer1.0") for n in g.nodes)
    bn = by_name["bn1"]
    assert bn.op_type == "BatchNormalization"
    assert g.held[bn.name] == ["bn1.num_batches_tracked"]
    assert g.kind == "torch"
    gi = g.inputs[0]
    assert gi.name == "x" and [str(d) for d in gi.shape] == ["N", "3", "H", "W"]


def test_functional_names_follow_the_forward_line():
    g, r = source_report("lenet.py", "Net")
    src = (FIX / "lenet.py").read_text().splitlines()
    relus = [n for n in g.nodes if n.op_type == "Relu"]
    assert relus[0].name.startswith("relu@")
    line = int(relus[0].name.split("@")[1])
    assert "F.relu(self.conv1(x))" in src[line - 1]
    pools = [n.name for n in g.nodes if n.op_type == "MaxPool"]
    assert pools == ["pool", "pool#2"]


def test_symbolic_hyperparameters():
    g = load_source(f"{FIX / 'lenet.py'}::SimpleCNN", symbolic=["width", "num_classes"])
    assert g.symbol_defaults == {"width": 32, "num_classes": 10}
    r = analyze(g)
    w, k = sp.Symbol("width", integer=True, positive=True), sp.Symbol("num_classes", integer=True, positive=True)
    params = sp.expand(r.totals["params.trainable"])
    conv1 = 3 * 9 * w + w
    conv2 = w * 9 * 2 * w + 2 * w
    bn = 2 * w + 4 * w
    head = 32 * w * k + k
    assert sp.expand(params - (conv1 + conv2 + bn + head)) == 0
    vals = {"width": 32, "num_classes": 10, "N": 1, "H": 32, "W": 32}
    g2, r2 = source_report("lenet.py", "SimpleCNN")
    assert evaluate(r.totals["params.trainable"], vals) == evaluate(r2.totals["params.trainable"], vals)
    assert evaluate(r.totals["macs"], vals) == evaluate(r2.totals["macs"], vals)
    # factories pass them through **kwargs
    g = load_source(f"{FIX / 'resnet.py'}::resnet18", symbolic=["num_classes"])
    r = analyze(g)
    k = sp.Symbol("num_classes", integer=True, positive=True)
    assert sp.expand(r.totals["params.trainable"]).coeff(k) == 513
    with pytest.raises(InputError, match="--symbolic"):
        load_source(f"{FIX / 'lenet.py'}::Net", symbolic=["width"])


def test_list_models():
    assert list_models(FIX / "lenet.py") == ["LeNet", "Net", "MnistNet", "SimpleCNN"]
    assert list_models(FIX / "resnet.py") == ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet50",
                                              "resnext50_32x4d", "LambdaLayer", "CifarBlock", "CifarResNet",
                                              "resnet20"]
    assert "UNet" in list_models(FIX / "unet.py")


def test_spec_with_arguments():
    g = load_source(f"{FIX / 'resnet.py'}::ResNet(BasicBlock, [1, 1, 1, 1], num_classes=7)")
    r = analyze(g)
    assert r.tensors[r.outputs[0]].shape[1] == 7
    g = load_source(f"{FIX / 'resnet.py'}::CifarResNet(CifarBlock, [2, 2, 2])")
    assert any(n.name == "layer3.1.conv2" for n in g.nodes)


def test_public_styles_are_followed_without_warnings():
    g, r = source_report("public_styles.py", "StyleNet")
    assert not r.warnings and not r.unaccounted, (r.warnings, r.unaccounted)
    names = {n.name for n in g.nodes}
    assert "features.4" in names  # the second conv of the second namedtuple stage


def test_what_cannot_be_followed_is_unaccounted_not_fatal():
    g = load_source(f"{FIX / 'odd.py'}::Odd")
    r = analyze(g)
    assert [u["op"] for u in r.unaccounted] == ["DropPath"]
    assert r.unaccounted[0]["domain"] == "torch.unknown"
    text = "\n".join(r.warnings)
    assert "odd.py:5" in text or "odd.py:12" in text  # the third-party layer, located
    assert "odd.py:14" in text and "eval" in text
    assert "odd.py:18" in text  # data-dependent control flow
    stem = next(n for n in r.nodes if n.node.name == "stem")
    assert stem.status == "ok" and stem.trainable == 3 * 16 * 9 + 16


@pytest.mark.parametrize("source, spec, match", [
    ("class A:\n  pass\n", "Nope", "no model named"),
    ("import torch.nn as nn\nclass M(nn.Module):\n  def __init__(self, c):\n    super().__init__()\n", "M",
     "missing argument"),
    ("def f(:\n", "M", "syntax error"),
    ("import torch.nn as nn\nclass M(nn.Module):\n  def forward(self, x):\n    return x\n", "M", "no operations"),
])
def test_fatal_problems_are_one_line_errors(tmp_path, source, spec, match):
    p = tmp_path / "m.py"
    p.write_text(source)
    with pytest.raises(InputError, match=match):
        load_source(f"{p}::{spec}")


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        load_source("does/not/exist.py::Net")


def test_input_override_follows_reshape_targets():
    g = load_source(f"{FIX / 'lenet.py'}::LeNet")
    apply_inputs(g, {None: [2, 1, 28, 28]})
    r = analyze(g)
    assert r.values["macs"] == 2 * 416_520
    assert tuple(r.tensors[r.outputs[0]].shape) == (2, 10)
