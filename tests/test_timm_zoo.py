"""timm's CNNs read statically from the INSTALLED package's .py files (cnnsym never imports
timm) against torch executing ``timm.create_model(name)`` (random init, eval mode) as the
oracle: parameters, buffers, completeness, and the output shape at two input sizes.

Every factory goes through timm's generic builder (``build_model_with_cfg``: the model
registry filled by ``@register_model``, pretrained-cfg dataclasses, ``**kwargs``
forwarding) and the blocks come from its shared layers package (``get_act_layer('relu')``,
``create_conv2d``, ``create_attn``, ``ClassifierHead``, ``SelectAdaptivePool2d``), so this
is a test of following an installed library as Python would run it. A CI subset across
the families; ``python bench/timm_zoo.py`` measures the whole list. Skips cleanly when
torch or timm is absent (timm is installed with --no-deps beside the CPU torch;
tests/conftest.py declares torchvision's op schemas before anything imports it)."""
from __future__ import annotations

import os
from importlib.machinery import PathFinder

import pytest
from torch_oracle import import_oracle, module_truth

torch = pytest.importorskip("torch")

_SPEC = PathFinder.find_spec("timm")  # finds the package on sys.path; imports nothing
if _SPEC is None or not _SPEC.submodule_search_locations:
    pytest.skip("timm is not installed", allow_module_level=True)
MODELS_DIR = os.path.join(list(_SPEC.submodule_search_locations)[0], "models")

# model -> its file in timm/models (one or two per family; the bench covers the rest)
ZOO = {
    "resnet18": "resnet",
    "resnet26d": "resnet",  # deep stem ('deep' in stem_type), average-pool downsample
    "seresnet50": "resnet",  # attention from a string: create_attn('se', ...)
    "resnext50_32x4d": "resnet",
    "skresnet18": "sknet",
    "resnest14d": "resnest",
    "regnetx_002": "regnet",  # widths from torch.unique(..., return_counts=True) on constants
    "vgg11_bn": "vgg",
    "cspresnet50": "cspnet",
    "legacy_seresnet18": "senet",
    "repvgg_a0": "byobnet",
    "selecsls42b": "selecsls",
}
SIZES = (224, 160)


@pytest.fixture(scope="module")
def timm_mod():
    return import_oracle("timm"), import_oracle("timm.models._registry")


def _torch_truth(timm, name):
    return module_truth(lambda: timm.create_model(name, pretrained=False), SIZES)


@pytest.mark.parametrize("name", list(ZOO))
def test_timm_model_matches_torch(timm_mod, name):
    import cnnsym

    timm, reg = timm_mod
    assert reg._model_to_module[name] == ZOO[name]
    params, buffers, shapes = _torch_truth(timm, name)
    rep = cnnsym.analyze(os.path.join(MODELS_DIR, ZOO[name] + ".py") + "::" + name)
    assert rep.complete, (rep.not_followed, rep.unaccounted)
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers
    out = rep.tensors[rep.outputs[0]].shape
    for s in SIZES:
        got = tuple(int(rep.evaluate(d, {**rep.bindings, "N": 1, "H": s, "W": s})) for d in out)
        assert got == shapes[s], (s, got, shapes[s])


def test_registry_decorator_feeds_the_builder():
    """@register_model is applied as Python applies it: timm's registry holds resnet18's
    pretrained cfg, build_model_with_cfg reads num_classes from it, and nothing about the
    builder's plumbing is left unfollowed (no warning names a timm helper module)."""
    import cnnsym

    rep = cnnsym.analyze(os.path.join(MODELS_DIR, "resnet.py") + "::resnet18")
    assert rep.complete
    assert not rep.not_followed
    # fc: 512 -> 1000 classes, the count torchvision and timm document for resnet18's head
    out = rep.tensors[rep.outputs[0]].shape
    assert int(rep.evaluate(out[1], {**rep.bindings, "N": 1, "H": 224, "W": 224})) == 1000
