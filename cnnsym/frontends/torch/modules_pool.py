"""Pooling layers: nn.MaxPool/AvgPool/LPPool (a window as large as the input becomes a
global pool) and adaptive pooling (to 1: ``GlobalAveragePool``; to another size: the
``cnnsym.torch`` domain's ``AdaptiveAveragePool``)."""
from __future__ import annotations

import sympy as sp

from . import requires
from .emit import ints, n_spatial, rank_of, tup
from .registry import LAYERS
from .values import norm, num


def pool(c, x, op, nsp, kernel, stride, padding, dilation=1, ceil_mode=False, count_include_pad=True):
    if not hasattr(x, "shape"):
        rank_of(x)  # what an upstream error left unknown: stops with its reason
    kk = tup(kernel, nsp, "kernel_size")
    if any(not isinstance(v, int) for v in kk) and x.shape is not None and stride in (None, [], (), kernel) \
            and all(norm(p) == 0 for p in tup(padding, nsp)):
        # F.avg_pool2d(x, x.size()[3]): a window as large as the input is a global pool
        dims = [norm(d) for d in x.shape[2:]]
        if all(any(sp.expand(num(v) - num(d)) == 0 for d in dims) for v in kk):
            if [sp.expand(num(v) - num(d)) for v, d in zip(kk, dims)] != [0] * nsp:
                c.it.diag(f"{op} with a window of the input's size {tuple(kk)}: a global pool when the input is "
                          "square (assumed)")
            return c.emit("GlobalAveragePool" if op == "AveragePool" else "GlobalMaxPool", [x])
    k = ints(kk)
    s = ints(tup(stride if stride not in (None, [], ()) else kernel, nsp, "stride"))
    p = ints(tup(padding, nsp, "padding"))
    attrs = {"kernel_shape": k, "strides": s, "pads": p + p, "ceil_mode": int(bool(ceil_mode))}
    if op == "MaxPool":
        attrs["dilations"] = ints(tup(dilation, nsp))
    elif op == "AveragePool":
        attrs["count_include_pad"] = int(bool(count_include_pad))
    y = c.emit(op, [x], attrs)
    if op == "AveragePool" and nsp == 3:
        requires.avg_pool3d(c, y, x, k)
    return y


@LAYERS.register("MaxPool1d MaxPool2d MaxPool3d", "kernel_size stride=None padding=0 dilation=1 return_indices=False "
                 "ceil_mode=False", "_MaxPoolNd")
class MaxPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return pool(c, x, "MaxPool", n_spatial(m.kind), a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                    a["ceil_mode"])


@LAYERS.register("AvgPool1d AvgPool2d AvgPool3d",
                 "kernel_size stride=None padding=0 ceil_mode=False count_include_pad=True "
                 "divisor_override=None", "_AvgPoolNd")
class AvgPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return pool(c, x, "AveragePool", n_spatial(m.kind), a["kernel_size"], a["stride"], a["padding"], 1,
                    a["ceil_mode"], a["count_include_pad"])


@LAYERS.register("LPPool1d LPPool2d", "norm_type kernel_size stride=None ceil_mode=False")
class LPPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        nsp = n_spatial(m.kind)
        k = ints(tup(a["kernel_size"], nsp))
        s = ints(tup(a["stride"] if a["stride"] is not None else a["kernel_size"], nsp))
        return c.emit("LpPool", [x], {"kernel_shape": k, "strides": s, "p": int(a["norm_type"]),
                                      "ceil_mode": int(bool(a["ceil_mode"]))})


def adaptive(c, x, size, op):
    if not hasattr(x, "shape"):
        rank_of(x)  # what an upstream error left unknown: stops with its reason (found by the source fuzzer)
    nsp = len(x.shape) - 2 if x.shape is not None else 2
    size = size if isinstance(size, (list, tuple)) else [size]
    size = [norm(s) for s in size]
    if len(size) == 1:
        size = size * nsp
    if all(s == 1 for s in size):
        return c.emit("GlobalAveragePool" if op == "avg" else "GlobalMaxPool", [x])
    y = c.emit("AdaptiveAveragePool" if op == "avg" else "AdaptiveMaxPool", [x], {"output_size": size},
               domain="cnnsym.torch")
    requires.adaptive_nonempty(c, y, x, nsp)
    return y


@LAYERS.register("AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d", "output_size", "_AdaptiveAvgPoolNd")
class AdaptiveAvg:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: adaptive(c, x, m.cfg["output_size"], "avg"))


@LAYERS.register("AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d", "output_size return_indices=False",
                 "_AdaptiveMaxPoolNd")
class AdaptiveMax:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: adaptive(c, x, m.cfg["output_size"], "max"))
