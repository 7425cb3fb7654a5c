"""torch as the oracle for the model-zoo tests: build a model (random init, eval mode) and
report what torch says of it, for cnnsym's static reading to be compared with."""
from __future__ import annotations

import warnings


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
