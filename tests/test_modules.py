"""The module tree (Report.modules, issue 10): source models have exactly torch's
named_modules(), each with the output shape torch gives its first call (forward hooks on
every module, two input sizes), torch's own and total parameter and buffer counts, in
torch's first-call order; ONNX exports name the same module paths from either exporter,
with the module shapes torch recorded (ground_truth.json)."""
from __future__ import annotations

import pytest
import sympy as sp

from cnnsym.analyze import analyze, evaluate
from cnnsym.api import analyze as analyze_model
from cnnsym.frontends.torch import load_source
from test_torch_frontend import CASES, FIX, _bindings, _build_torch, _id

ROOT = FIX.parent.parent


def _torch_run(torch, model, size):
    """{path: output shape of its first call (None: not a tensor)} and the paths in the
    order their first call starts (forward pre-hooks)."""
    names = {m: n for n, m in model.named_modules()}
    first, order = {}, []

    def pre(mod, inp):
        if names[mod] not in order:
            order.append(names[mod])

    def post(mod, inp, out):
        first.setdefault(names[mod], tuple(out.shape) if isinstance(out, torch.Tensor) else None)

    hs = [m.register_forward_pre_hook(pre) for m in names] + [m.register_forward_hook(post) for m in names]
    try:
        with torch.no_grad():
            model(torch.randn(*size))
    finally:
        for h in hs:
            h.remove()
    return first, order


_REPORTS: dict = {}


def _report(file, spec):
    if (file, spec) not in _REPORTS:
        g = load_source(f"{FIX / file}::{spec}")
        _REPORTS[(file, spec)] = (g, analyze(g))
    return _REPORTS[(file, spec)]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_every_named_module_has_torchs_first_call_shape(case):
    torch = pytest.importorskip("torch")
    file, spec, sizes = case
    g, r = _report(file, spec)
    model = _build_torch(file, spec)
    torch_names = [n for n, _ in model.named_modules()]
    assert sorted(r.modules) == sorted(torch_names), "the module tree is not torch's named_modules()"
    mods = dict(model.named_modules())
    for path, info in r.modules.items():
        m = mods[path]
        # torch's counts: own = recurse=False, total = the subtree; constants are apart
        assert evaluate(info.own_trainable, {}) == sum(p.numel() for p in m.parameters(recurse=False)), path
        assert evaluate(info.own_buffers, {}) == sum(b.numel() for b in m.buffers(recurse=False)), path
        assert evaluate(info.trainable, {}) == sum(p.numel() for p in m.parameters()), path
        assert evaluate(info.buffers, {}) == sum(b.numel() for b in m.buffers()), path
        assert info.type == type(m).__name__, path
    for size in sizes[:2]:  # two input sizes
        first, order = _torch_run(torch, model, size)
        b = _bindings(g, size)
        bad = []
        for path, info in r.modules.items():
            if path not in first:
                if info.calls != 0:
                    bad.append(f"{path!r}: torch never calls it, cnnsym says {info.calls} calls")
                continue
            want = first[path]
            if want is None:
                continue
            got = tuple(evaluate(d, b) for d in info.shape) if info.shape is not None else None
            if got != want:
                bad.append(f"{path!r} at {size}: cnnsym {got}, torch {want}")
        assert not bad, "\n".join(bad[:10])
        called = [p for p in r.modules if p in first]
        assert called == order, "modules are not in torch's first-call order"


def test_unusual_modules_appear(tmp_path):
    """An empty nn.Sequential() shortcut, nn.Identity, nn.Dropout, a ModuleList, a custom
    module with its own parameter and a module never called: all in the tree."""
    torch = pytest.importorskip("torch")
    src = tmp_path / "m.py"
    src.write_text('''
import torch
import torch.nn as nn


class LayerNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return x * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.shortcut = nn.Sequential()
        self.norm = LayerNorm2d(8)
        self.blocks = nn.ModuleList([nn.Conv2d(8, 8, 3, stride=2), nn.Identity()])
        self.drop = nn.Dropout(0.5)
        self.unused = nn.Linear(4, 4)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        x = self.stem(x)
        x = self.norm(x) + self.shortcut(x)
        for b in self.blocks:
            x = b(x)
        return self.head(self.drop(x))
''')
    r = analyze_model(f"{src}::Net", input="Nx3xHxW")
    import importlib.util

    spec = importlib.util.spec_from_file_location("cnnsym_test_unusual", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the test (not cnnsym) runs the file
    model = mod.Net().eval()
    order = _torch_run(torch, model, (1, 3, 9, 9))[1]
    # the ModuleList is never called itself: it comes with its first child's call
    order.insert(order.index("blocks.0"), "blocks")
    assert list(r.modules) == order + ["unused"]
    for size in [(1, 3, 9, 9), (2, 3, 16, 21)]:
        first, _ = _torch_run(torch, model, size)
        b = {"N": size[0], "H": size[2], "W": size[3]}
        for path, want in first.items():
            got = tuple(evaluate(d, b) for d in r.modules[path].shape)
            assert got == want, (path, size)
    assert r.modules["unused"].calls == 0 and r.modules["unused"].shape is None
    assert evaluate(r.modules["unused"].trainable, {}) == 20
    assert evaluate(r.modules["norm"].own_trainable, {}) == 16
    assert r.modules["shortcut"].nodes == () and r.modules["shortcut"].type == "Sequential"
    # the root's costs are the model's
    assert r.modules[""].macs == r.totals["macs"]


# ---------------------------------------------------------------------------
# ONNX exports


def _exported(shared_models):
    names = sorted(p.stem for p in (shared_models / "dynamo").glob("*.onnx"))
    return [n for n in names if (shared_models / "torchscript" / f"{n}.onnx").exists()]


def test_both_exporters_name_the_same_modules(shared_models):
    names = _exported(shared_models)
    assert names
    for name in names:
        a = analyze_model(shared_models / "dynamo" / f"{name}.onnx")
        b = analyze_model(shared_models / "torchscript" / f"{name}.onnx")
        assert list(a.modules) == list(b.modules), name
        for p in a.modules:
            assert a.modules[p].children == b.modules[p].children, (name, p)
            # two exporters, two graphs: the same convolutions inside each module
            assert sp.simplify(a.modules[p].macs - b.modules[p].macs) == 0, (name, p)


def test_export_module_shapes_are_torchs(shared_models, ground_truth):
    """Each module an export names has the output shape torch recorded for it."""
    checked = 0
    for exporter in ("dynamo", "torchscript"):
        for f in sorted((shared_models / exporter).glob("*.onnx")):
            gt = ground_truth["models"][f.stem]
            r = analyze_model(f)
            torch_paths = {p for run in gt["pytorch_eager"].values() for p in run["module_shapes"]}
            for cfg, run in gt["pytorch_eager"].items():
                n, hw = cfg.split("_")
                h, w = (int(v) for v in hw.split("x"))
                b = {s: v for s, v in zip(_spatial_names(r), (int(n[1:]), h, w))}
                for path, want in run["module_shapes"].items():
                    info = r.modules.get(path)
                    if info is None or info.shape is None:
                        continue
                    got = [evaluate(d, b) for d in info.shape]
                    assert got == want, (f.name, cfg, path, got, want)
                    checked += 1
            # every module the export names is one of torch's (or the root)
            assert set(r.modules) - {""} <= torch_paths | _containers(torch_paths), f.name
    assert checked > 500


def _containers(paths):
    out = set()
    for p in paths:
        while "." in p:
            p = p.rsplit(".", 1)[0]
            out.add(p)
    return out


def _spatial_names(r):
    gi = r.tensors[r.inputs[0]]
    return [d.name for d in gi.shape if isinstance(d, sp.Symbol)][:1] + \
        [d.name for d in gi.shape[2:] if isinstance(d, sp.Symbol)]


def test_a_file_without_scopes_gets_one_module_per_node():
    r = analyze_model(ROOT / "fixtures" / "tiny_resnet.onnx")
    nodes = [n.node.name for n in r.nodes]
    assert list(r.modules) == ["", *nodes]
    assert all(r.modules[n].kind == "node" and r.modules[n].parent == "" for n in nodes)


# ---------------------------------------------------------------------------
# exporter scopes on hand-made graphs (expected paths written by hand)


def _scoped_model(names, metadata=None, weights=()):
    import onnx
    from onnx import TensorProto as T, helper

    nodes, prev = [], "x"
    inits = []
    for k, name in enumerate(names):
        if name in weights:
            w = f"w{k}"
            inits.append(helper.make_tensor(w, T.FLOAT, [3, 3, 1, 1], [0.1] * 9))
            n = helper.make_node("Conv", [prev, w], [f"t{k}"], name=name)
        else:
            n = helper.make_node("Relu", [prev], [f"t{k}"], name=name)
        for key, value in (metadata or {}).get(name, {}).items():
            n.metadata_props.add(key=key, value=value)
        nodes.append(n)
        prev = f"t{k}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, ["N", 3, "H", "W"])],
                          [helper.make_tensor_value_info(prev, T.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_torchscript_names_give_module_paths():
    names = ["/features/features.0/conv/conv.0/Conv", "/features/features.0/relu/Relu",
             "/features/features.0/relu_1/Relu",  # the same ReLU called again
             "/features/features.0/conv_1/Conv",  # a real sibling with its own weight
             "/head/Relu", "/Relu"]
    r = analyze_model(_scoped_model(names, weights=(names[0], names[3])))
    assert [n.node.module for n in r.nodes] == ["features.0.conv.0", "features.0.relu", "features.0.relu",
                                                 "features.0.conv_1", "head", ""]
    assert list(r.modules) == ["", "features", "features.0", "features.0.conv", "features.0.conv.0",
                               "features.0.relu", "features.0.conv_1", "head"]


def test_dynamo_scopes_and_a_fused_batchnorm():
    md = {
        "a": {"pkg.torch.onnx.name_scopes": "['', 'block', 'block.1', '_native_batch_norm']",
              "pkg.torch.onnx.class_hierarchy": "['Net', 'Sequential', 'BatchNorm2d', 'aten.bn']",
              "pkg.onnxscript.rewriter.rule_name": "FuseBatchNormIntoConv"},
        "b": {"pkg.torch.onnx.name_scopes": "['', 'block', 'block.2', 'relu']",
              "pkg.torch.onnx.class_hierarchy": "['Net', 'Sequential', 'ReLU', 'aten.relu']"},
        "c": {"pkg.torch.onnx.name_scopes": "['_empty_nn_module_stack_from_metadata_hook', 'sym_size']"},
        "d": {"pkg.torch.onnx.name_scopes": "not a list ["},
    }
    m = _scoped_model(["a", "b", "c", "d"], md, weights=("a",))
    m.graph.initializer[0].name = "block.0.weight"  # the conv's weight names its module
    m.graph.node[0].input[1] = "block.0.weight"
    r = analyze_model(m)
    assert [n.node.module for n in r.nodes] == ["block.0", "block.2", "", ""]
    assert r.modules[""].type == "Net" and r.modules["block"].type == "Sequential"
    assert r.modules["block.2"].type == "ReLU" and r.modules["block.0"].type == ""
    assert "block.1" not in r.modules  # the folded BatchNorm has no node left
