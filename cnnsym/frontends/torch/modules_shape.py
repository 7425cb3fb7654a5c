"""Layers that move data without parameters: nn.Identity/Dropout (pass-through), Flatten,
Unflatten, Upsample, PixelShuffle/Unshuffle, the padding layers, ChannelShuffle."""
from __future__ import annotations

from .emit import ints, n_spatial, rank_of
from .functional import channel_shuffle, interpolate, pad
from .registry import LAYERS
from .tensor_methods import flatten, reshape
from .values import norm


@LAYERS.register("Identity Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout", "*")
class Passthrough:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: x)


@LAYERS.register("Flatten", "start_dim=1 end_dim=-1")
class Flatten:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: flatten(c, x, m.cfg["start_dim"], m.cfg["end_dim"]))


@LAYERS.register("Unflatten", "dim unflattened_size")
class Unflatten:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        r = rank_of(x)
        d = norm(m.cfg["dim"]) % r
        target = [*x.shape[:d], *m.cfg["unflattened_size"], *x.shape[d + 1:]]
        return reshape(c, x, target)


@LAYERS.register("Upsample",
                 "size=None scale_factor=None mode='nearest' align_corners=None recompute_scale_factor=None")
class Upsample:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return interpolate(c, x, a["size"], a["scale_factor"], a["mode"], a["align_corners"])


@LAYERS.register("UpsamplingNearest2d", "size=None scale_factor=None")
class UpNearest:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: interpolate(c, x, m.cfg["size"], m.cfg["scale_factor"], "nearest", None))


@LAYERS.register("UpsamplingBilinear2d", "size=None scale_factor=None")
class UpBilinear:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: interpolate(c, x, m.cfg["size"], m.cfg["scale_factor"], "bilinear", True))


@LAYERS.register("PixelShuffle", "upscale_factor")
class PixelShuffle:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: c.emit("DepthToSpace", [x], {"blocksize": ints([m.cfg["upscale_factor"]])[0],
                                                                        "mode": "CRD"}))


@LAYERS.register("PixelUnshuffle", "downscale_factor")
class PixelUnshuffle:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: c.emit("SpaceToDepth", [x], {"blocksize": ints([m.cfg["downscale_factor"]])[0]}))


def _pad_layer(kinds, mode, sig):
    class P:
        init = staticmethod(lambda m, a: None)

        @staticmethod
        def forward(c, m, x):
            n = n_spatial(m.kind)
            p = m.cfg["padding"]
            p = list(p) if isinstance(p, (list, tuple)) else [p] * (2 * n)
            return pad(c, x, p, mode, m.cfg.get("value", 0.0))

    LAYERS.register(kinds, sig)(P)


_pad_layer("ZeroPad1d ZeroPad2d ZeroPad3d", "constant", "padding")
_pad_layer("ConstantPad1d ConstantPad2d ConstantPad3d", "constant", "padding value")
_pad_layer("ReflectionPad1d ReflectionPad2d ReflectionPad3d", "reflect", "padding")
_pad_layer("ReplicationPad1d ReplicationPad2d ReplicationPad3d", "replicate", "padding")
_pad_layer("CircularPad1d CircularPad2d CircularPad3d", "circular", "padding")


@LAYERS.register("ChannelShuffle", "groups")
class ChannelShuffle:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        return channel_shuffle(c, x, m.cfg["groups"])
