"""Today's torchvision classification zoo read statically from the INSTALLED package's
.py files (cnnsym never imports it) against torch executing the same models
(weights=None): parameters, buffers, completeness, and the output shape at two input
sizes. Skips cleanly when torchvision is not installed.

The torchvision wheel is a CUDA build; with CPU torch its compiled ops do not load, so
the oracle declares the op schemas its __init__ registers fake kernels for
(torchvision::nms, torchvision::qnms) before ``import torchvision``."""
from __future__ import annotations

import os
from importlib.machinery import PathFinder

import pytest
from torch_oracle import module_truth

torch = pytest.importorskip("torch")

_SPEC = PathFinder.find_spec("torchvision")  # finds the package on sys.path; imports nothing
if _SPEC is None or not _SPEC.submodule_search_locations:
    pytest.skip("torchvision is not installed", allow_module_level=True)
MODELS_DIR = os.path.join(list(_SPEC.submodule_search_locations)[0], "models")

# model -> its file in torchvision/models
ZOO = {
    "resnet18": "resnet", "resnet50": "resnet", "vgg11": "vgg", "vgg11_bn": "vgg", "mobilenet_v2": "mobilenetv2",
    "mobilenet_v3_small": "mobilenetv3", "efficientnet_b0": "efficientnet", "regnet_x_400mf": "regnet",
    "regnet_y_400mf": "regnet", "shufflenet_v2_x0_5": "shufflenetv2", "squeezenet1_0": "squeezenet",
    "densenet121": "densenet", "mnasnet0_5": "mnasnet", "googlenet": "googlenet", "alexnet": "alexnet",
    "convnext_tiny": "convnext",
}
SIZES = (224, 160)


@pytest.fixture(scope="module")
def tv_models():
    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except RuntimeError:
        lib = None  # already declared (or a build whose ops load)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torchvision.models as tvm
    except Exception as e:  # noqa: BLE001 - an oracle that cannot load is a skip, not a pass
        pytest.skip(f"torchvision cannot be imported beside this torch: {type(e).__name__}: {e}")
    yield tvm, lib


def _torch_truth(tvm, name):
    return module_truth(lambda: getattr(tvm, name)(weights=None), SIZES)


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_matches_torch(tv_models, name):
    import cnnsym

    tvm, _ = tv_models
    params, buffers, shapes = _torch_truth(tvm, name)
    rep = cnnsym.analyze(os.path.join(MODELS_DIR, ZOO[name] + ".py") + "::" + name)
    assert rep.complete, (rep.not_followed, rep.unaccounted)
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers
    out = rep.tensors[rep.outputs[0]].shape
    for s in SIZES:
        got = tuple(int(rep.evaluate(d, {**rep.bindings, "N": 1, "H": s, "W": s})) for d in out)
        assert got == shapes[s], (s, got, shapes[s])


def test_regnet_width_arithmetic_is_evaluated():
    """regnet_x_400mf's widths come from torch.arange/log/pow/round on constants in
    __init__: 5,495,976 parameters (torchvision's documented count for the model)."""
    import cnnsym

    rep = cnnsym.analyze(os.path.join(MODELS_DIR, "regnet.py") + "::regnet_x_400mf")
    assert rep.complete
    assert rep.values["params.trainable"] == 5_495_976
