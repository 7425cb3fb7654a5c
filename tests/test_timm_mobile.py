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

The timm models skip cleanly when timm is absent (it is installed ``--no-deps`` beside the
CPU torch; torchvision's op schemas are declared in conftest before it imports); the
idioms test needs torch only."""
from __future__ import annotations

import os
from importlib.machinery import PathFinder

import pytest
from torch_oracle import import_oracle, module_truth

torch = pytest.importorskip("torch")

_SPEC = PathFinder.find_spec("timm")  # finds the package on sys.path; imports nothing
_HAS_TIMM = _SPEC is not None and bool(_SPEC.submodule_search_locations)
MODELS_DIR = os.path.join(list(_SPEC.submodule_search_locations)[0], "models") if _HAS_TIMM else None

# model -> its file in timm/models
MODELS = {
    "efficientnet_b0": "efficientnet", "tf_efficientnet_b0": "efficientnet", "mixnet_s": "efficientnet",
    "mobilenetv3_small_100": "mobilenetv3", "ghostnet_100": "ghostnet", "rexnet_100": "rexnet",
    "convnext_atto": "convnext", "fasternet_t0": "fasternet", "hgnetv2_b0": "hgnet",
}
SIZES = (224, 160)


@pytest.fixture(scope="module")
def timm():
    if not _HAS_TIMM:
        pytest.skip("timm is not installed")
    return import_oracle("timm")


def _torch_truth(timm, name):
    return module_truth(lambda: timm.create_model(name, pretrained=False), SIZES)


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


# The same idioms in a self-contained model file (no timm needed): torch executing the file
# is the oracle for what the static reading computes from it.
IDIOMS = r'''
import copy
import math
import re
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F


def decode(block_str):
    ops = block_str.split('_')
    kind, opts = ops[0], {}
    for op in ops[1:]:
        key, value = re.split(r'(\d.*)', op)[:2]
        opts[key] = value
    m = re.match(r'([a-z]+)(\d+)', 'k' + opts['k'])
    return dict(kind=kind.upper().lower(), k=int(m.group(2)), c=int(opts['c']), s=int(opts['s']),
                e=float(opts.get('e', '1'))), int(opts['r'])


def walk(module, prefix=''):
    for name, child in module.named_children():
        full = '.'.join((prefix, name)) if prefix else name
        yield from walk(child, full)
        yield full, child


def same_pad(x, k, s):
    ih, iw = x.size()[-2:]
    ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
    pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


class ConvSame(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(same_pad(x, self.kernel_size[0], self.stride[0]), self.weight, self.bias, self.stride)


class BNAct(nn.BatchNorm2d):
    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                         0.1, self.eps)
        return F.relu(x)


class Split(nn.Module):
    def __init__(self, c, how):
        super().__init__()
        self.part = c // 4
        self.conv = nn.Conv2d(self.part, self.part, 3, 1, 1, bias=False)
        if how == 'split_cat':
            self.forward = self.forward_split_cat
        else:
            raise NotImplementedError

    def forward_split_cat(self, x):
        x1, x2 = torch.split(x, [self.part, x.shape[1] - self.part], dim=1)
        return torch.cat((self.conv(x1), x2), 1)


class Builder:
    def __init__(self, norm):
        self.norm = norm
        self.in_chs = None

    def __call__(self, in_chs, args):
        self.in_chs = in_chs
        out = []
        for ba in args:
            ba.pop('kind')
            out.append(nn.Sequential(ConvSame(self.in_chs, ba['c'], ba['k'], ba['s'], bias=False), self.norm(ba['c'])))
            self.in_chs = ba['c']
        return out


class Net(nn.Module):
    def __init__(self, arch=('ir_r2_k3_s2_e6_c24', 'ir_r1_k5_s2_e6_c40', 'ds_r1_k3_s1_c40')):
        super().__init__()
        args = []
        for s in arch:
            ba, rep = decode(s)
            args.extend([copy.deepcopy(ba) for _ in range(rep)])
        for i in range(1, len(args)):
            if args[i - 1]['c'] == args[i]['c']:
                args[i]['s'] = 1
        norm = partial(BNAct, eps=1e-3)
        assert isinstance(norm, partial) and norm.keywords == {'eps': 1e-3}
        self.blocks = nn.Sequential(*Builder(norm)(3, args))
        self.mix = Split(40, 'split_cat')
        self.head = nn.Linear(40, 10)
        self.names = [n for n, _ in walk(self)]

    def forward(self, x):
        x = self.mix(self.blocks(x))
        g = x.norm(p=2, dim=(2, 3), keepdim=True)  # global response norm (ConvNeXt-V2)
        x = torch.addcmul(x, g, x / (g.mean(dim=1, keepdim=True) + 1e-6), value=0.5)
        return self.head(x.mean((2, 3)))
'''


def test_model_building_idioms_match_torch(tmp_path):
    """str.split / re.split / re.match on arch strings, copy.deepcopy per repeat, a builder
    object called through __call__, functools.partial introspection, a generator walking
    named_children, 'same' padding from max/math.ceil of the input size, F.batch_norm in a
    BatchNorm2d subclass, a forward chosen in __init__, x.norm and torch.addcmul: params,
    buffers and the output shape at several sizes (odd ones included) equal torch's."""
    import importlib.util

    import cnnsym

    path = tmp_path / "idioms.py"
    path.write_text(IDIOMS)
    spec = importlib.util.spec_from_file_location("idioms_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.Net().eval()
    rep = cnnsym.analyze(f"{path}::Net")
    assert rep.complete, (rep.not_followed, rep.unaccounted)
    assert rep.values["params.trainable"] == sum(p.numel() for p in net.parameters())
    assert rep.values["params.buffers"] == sum(b.numel() for b in net.buffers())
    out = rep.tensors[rep.outputs[0]].shape
    with torch.no_grad():
        for h, w in ((224, 224), (31, 45), (8, 9)):
            want = tuple(net(torch.zeros(2, 3, h, w)).shape)
            got = tuple(int(rep.evaluate(d, {**rep.bindings, "N": 2, "H": h, "W": w})) for d in out)
            assert got == want, ((h, w), got, want)
