"""timm's mobile and efficient CNN families read statically from the INSTALLED package's
.py files (cnnsym never imports timm) against torch executing ``timm.create_model(name)``
(random init, eval mode) as the oracle: trainable parameters, buffers, completeness and
the output shape at two input sizes.

What each model exercises in the static reading (all through timm's own factories,
``build_model_with_cfg`` and its shared ``timm.layers``):

- efficientnet_b0: ``decode_arch_def`` parses ``'ir_r2_k3_s2_e6_c24_se0.25'`` with
  ``str.split``/``re.split``/``int``/``float``, ``copy.deepcopy`` per repeat, the
  ``EfficientNetBuilder`` object called through ``__call__``, ``BatchNormAct2d``
  (a BatchNorm2d subclass whose forward calls ``F.batch_norm``), weight init walking
  ``named_modules()`` generators;
- tf_efficientnet_b0: ``Conv2dSame`` (``padding='same'``, padding computed in forward
  from the input size with ``max``/``math.ceil``);
- mixnet_s: ``MixedConv2d`` (channel splits, one conv per kernel size);
- mobilenetv3_small_100: hard-swish / SE gates, ``get_act_layer`` strings;
- ghostnet_100, rexnet_100, convnext_atto (LayerNorm2d, ``F.layer_norm``),
  fasternet_t0 (``self.forward = self.forward_split_cat`` chosen in ``__init__``),
  hgnetv2_b0 (stage configs as dicts of lists).

Skips cleanly when torch or timm is absent (timm is installed ``--no-deps`` beside the
CPU torch; torchvision's op schemas are declared in conftest before it imports)."""
from __future__ import annotations

import os
import warnings
from importlib.machinery import PathFinder

import pytest

torch = pytest.importorskip("torch")

_SPEC = PathFinder.find_spec("timm")  # finds the package on sys.path; imports nothing
if _SPEC is None or not _SPEC.submodule_search_locations:
    pytest.skip("timm is not installed", allow_module_level=True)
MODELS_DIR = os.path.join(list(_SPEC.submodule_search_locations)[0], "models")

# model -> its file in timm/models
MODELS = {
    "efficientnet_b0": "efficientnet", "tf_efficientnet_b0": "efficientnet", "mixnet_s": "efficientnet",
    "mobilenetv3_small_100": "mobilenetv3", "ghostnet_100": "ghostnet", "rexnet_100": "rexnet",
    "convnext_atto": "convnext", "fasternet_t0": "fasternet", "hgnetv2_b0": "hgnet",
}
SIZES = (224, 160)


@pytest.fixture(scope="module")
def timm():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import timm as t
    except Exception as e:  # noqa: BLE001 - an oracle that cannot load is a skip, not a pass
        pytest.skip(f"timm cannot be imported beside this torch: {type(e).__name__}: {e}")
    return t


def _torch_truth(timm, name):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = timm.create_model(name, pretrained=False).eval()
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for b in m.buffers())
    shapes = {}
    with torch.no_grad():
        for s in SIZES:
            shapes[s] = tuple(m(torch.zeros(1, 3, s, s)).shape)
    return params, buffers, shapes


@pytest.mark.parametrize("name", list(MODELS))
def test_timm_model_matches_torch(timm, name):
    import cnnsym
    import timm.models._registry as reg

    assert reg._model_to_module[name] == MODELS[name]  # the file the factory is registered from
    params, buffers, shapes = _torch_truth(timm, name)
    rep = cnnsym.analyze(os.path.join(MODELS_DIR, MODELS[name] + ".py") + "::" + name)
    assert rep.complete, (rep.not_followed, rep.unaccounted)
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers
    out = rep.tensors[rep.outputs[0]].shape
    for s in SIZES:
        got = tuple(int(rep.evaluate(d, {**rep.bindings, "N": 1, "H": s, "W": s})) for d in out)
        assert got == shapes[s], (s, got, shapes[s])
