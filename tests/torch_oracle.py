"""torch as the oracle for the model-zoo tests: build a model (random init, eval mode) and
report what torch says of it, for cnnsym's static reading to be compared with."""
from __future__ import annotations

import importlib
import importlib.util
import warnings

import pytest


def import_oracle(name):
    """``import name`` with its warnings silenced; a skip when it cannot be imported beside
    this torch (an oracle that cannot load is a skip, not a pass)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - whatever the package raises at import
        pytest.skip(f"{name.split('.')[0]} cannot be imported beside this torch: {type(e).__name__}: {e}")


def module_truth(build, sizes):
    """(params, buffers, {size: output shape at 1x3xSxS}) of the module ``build()`` makes."""
    import torch

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build().eval()
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for b in m.buffers())
    shapes = {}
    with torch.no_grad():
        for s in sizes:
            shapes[s] = tuple(m(torch.zeros(1, 3, s, s)).shape)
    return params, buffers, shapes


def run_file(path, name):
    """The module of the source file at ``path``, executed by Python (as ``name``): torch
    running the file cnnsym reads."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
