"""nn.Conv1d/2d/3d -> ``Conv`` and nn.ConvTranspose1d/2d/3d -> ``ConvTranspose``, with
torch's parameter shapes (a transposed conv's weight is (in, out/groups, *k))."""
from __future__ import annotations

from . import requires
from .emit import div, ints, n_spatial, new_param, tup
from .registry import LAYERS


def _conv_params(m, a, first, grouped):
    """weight (first, grouped/groups, *kernel) and the optional bias (out_channels,)."""
    n = n_spatial(m.kind)
    k = tup(a["kernel_size"], n, "kernel_size")
    new_param(m, "weight", (first, div(grouped, a["groups"]), *k))
    if a["bias"]:
        new_param(m, "bias", (a["out_channels"],))


@LAYERS.register("Conv1d Conv2d Conv3d", "in_channels out_channels kernel_size stride=1 padding=0 dilation=1 groups=1 "
                 "bias=True padding_mode='zeros'", "_ConvNd")
class Conv:
    @staticmethod
    def init(m, a):
        _conv_params(m, a, a["out_channels"], a["in_channels"])

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        n = n_spatial(m.kind)
        k = ints(tup(a["kernel_size"], n))
        s = ints(tup(a["stride"], n))
        d = ints(tup(a["dilation"], n))
        p = a["padding"]
        if p == "valid":
            pads = [0] * (2 * n)
        elif p == "same":
            tot = [di * (ki - 1) for di, ki in zip(d, k)]
            pads = [t // 2 for t in tot] + [t - t // 2 for t in tot]
        else:
            pp = ints(tup(p, n, "padding"))
            pads = pp + pp
        mode = a.get("padding_mode", "zeros")
        if mode != "zeros" and any(pads):
            onnx_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode, "constant")
            full = [0, 0] + pads[:n] + [0, 0] + pads[n:]
            y = c.emit("Pad", [x, c.ints(full, "pads")], {"mode": onnx_mode}, suffix="Pad")
            if mode == "circular":
                requires.circular_pad(c, y, x, full[:n + 2], full[n + 2:])
            x = y
            pads = [0] * (2 * n)
        ins = [x, m.params["weight"]] + ([m.params["bias"]] if "bias" in m.params else [])
        return c.emit("Conv", ins, {"dilations": d, "group": ints([a["groups"]])[0], "kernel_shape": k, "pads": pads,
                                    "strides": s})


@LAYERS.register("ConvTranspose1d ConvTranspose2d ConvTranspose3d",
                 "in_channels out_channels kernel_size stride=1 padding=0 output_padding=0 groups=1 bias=True "
                 "dilation=1 padding_mode='zeros'", "_ConvNd")
class ConvT:
    @staticmethod
    def init(m, a):  # torch stores a transposed conv's weight as (in, out/groups, k...)
        _conv_params(m, a, a["in_channels"], a["out_channels"])

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        n = n_spatial(m.kind)
        pp = ints(tup(a["padding"], n))
        ins = [x, m.params["weight"]] + ([m.params["bias"]] if "bias" in m.params else [])
        return c.emit("ConvTranspose", ins, {
            "dilations": ints(tup(a["dilation"], n)), "group": ints([a["groups"]])[0],
            "kernel_shape": ints(tup(a["kernel_size"], n)), "output_padding": ints(tup(a["output_padding"], n)),
            "pads": pp + pp, "strides": ints(tup(a["stride"], n))})
