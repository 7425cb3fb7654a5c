"""The standard-library plumbing of model libraries, read statically with its real
semantics (cnnsym/frontends/torch/pystdlib.py), checked against torch executing the same
file: a registry filled by a decorator, dataclass configs (default_factory per instance,
replace, asdict), defaultdict/deque/sets, str-mixin enums, a partial of a partial,
substring tests, torch.unique on constants, logging calls."""
from __future__ import annotations

import importlib.util
import sys

import pytest

torch = pytest.importorskip("torch")

SOURCE = '''
import functools
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace, asdict
from enum import Enum

import torch
import torch.nn as nn

_logger = logging.getLogger(__name__)
_REGISTRY = {}
_CFGS = defaultdict(dict)


class Fmt(str, Enum):
    WIDE = 'wide'
    DEEP = 'deep'


@dataclass
class Cfg:
    widths: tuple = (8, 16)
    stem: str = ''
    tags: deque = field(default_factory=deque)
    extra: dict = field(default_factory=dict)


def register(fn):
    _REGISTRY[fn.__name__] = fn
    _CFGS[fn.__name__]['classes'] = 7
    return fn


class Net(nn.Module):
    def __init__(self, cfg, num_classes=10, norm=nn.BatchNorm2d):
        super().__init__()
        c = cfg.widths[0]
        stem = [nn.Conv2d(3, c, 3, padding=1)]
        if 'deep' in cfg.stem:  # a substring test, not a character test
            stem += [nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)]
        self.stem = nn.Sequential(*stem)
        self.norm = norm(c)
        widths, counts = torch.unique(torch.tensor([c, c, cfg.widths[1]]), return_counts=True)
        blocks = []
        prev = c
        for w, n in zip(widths.tolist(), counts.tolist()):
            for _ in range(n):
                blocks.append(nn.Conv2d(prev, w, 3, padding=1))
                prev = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(prev, num_classes)

    def forward(self, x):
        x = self.norm(self.stem(x))
        x = self.pool(self.blocks(x)).flatten(1)
        return self.fc(x)


def _build(cfg, **kwargs):
    a, b = Cfg(), Cfg()
    a.tags.append('x')
    assert len(b.tags) == 0  # one deque per instance
    seen = {'x', 'y'} - {'y'}
    assert seen == {'x'}
    norm = functools.partial(functools.partial(nn.BatchNorm2d, eps=1e-3), momentum=0.2)
    assert norm.func is nn.BatchNorm2d and norm.keywords == {'eps': 1e-3, 'momentum': 0.2}
    _logger.info('building')
    return Net(cfg, norm=norm, **kwargs)


@register
def small(**kwargs):
    cfg = replace(Cfg(), stem=Fmt('deep').value)
    assert asdict(cfg)['widths'] == (8, 16)
    kwargs.setdefault('num_classes', _CFGS['small']['classes'])
    return _build(cfg, **kwargs)


@register
def wide(**kwargs):
    cfg = Cfg(widths=(12, 24), stem=Fmt.WIDE)
    return _build(cfg, **kwargs)
'''


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("stdlib") / "zoo_stdlib.py"
    p.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("zoo_stdlib", p)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["zoo_stdlib"] = mod
    spec.loader.exec_module(mod)
    yield p, mod
    sys.modules.pop("zoo_stdlib", None)


@pytest.mark.parametrize("name", ["small", "wide"])
def test_stdlib_plumbing_matches_torch(model_file, name):
    import cnnsym

    path, mod = model_file
    m = mod._REGISTRY[name]().eval()
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for b in m.buffers())
    with torch.no_grad():
        shape = tuple(m(torch.zeros(2, 3, 20, 20)).shape)
    rep = cnnsym.analyze(f"{path}::{name}")
    assert rep.complete, rep.not_followed
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers
    out = rep.tensors[rep.outputs[0]].shape
    assert tuple(int(rep.evaluate(d, {**rep.bindings, "N": 2, "H": 20, "W": 20})) for d in out) == shape
