"""Activation layers (nn.ReLU, nn.GELU, nn.Softmax, nn.PReLU, ...) and the ``clip`` /
``silu`` lowerings their functional forms share."""
from __future__ import annotations

from .emit import new_param
from .registry import LAYERS
from .values import norm


def _simple(kind, op, sig="", attrs=None):
    class Act:
        @staticmethod
        def init(m, a):
            pass

        @staticmethod
        def forward(c, m, x):
            return c.emit(op, [x], attrs(m.cfg) if attrs else {})

    LAYERS.register(kind, sig)(Act)


_simple("ReLU", "Relu", "inplace=False")
_simple("Sigmoid", "Sigmoid")
_simple("Tanh", "Tanh")
_simple("Hardswish", "HardSwish", "inplace=False")
_simple("Hardsigmoid", "HardSigmoid", "inplace=False", lambda a: {"alpha": 1.0 / 6, "beta": 0.5})
_simple("Mish", "Mish", "inplace=False")
_simple("Softsign", "Softsign")
_simple("SELU", "Selu", "inplace=False")
_simple("LeakyReLU", "LeakyRelu", "negative_slope=0.01 inplace=False", lambda a: {"alpha": float(a["negative_slope"])})
_simple("ELU", "Elu", "alpha=1.0 inplace=False", lambda a: {"alpha": float(a["alpha"])})
_simple("CELU", "Celu", "alpha=1.0 inplace=False", lambda a: {"alpha": float(a["alpha"])})
_simple("GELU", "Gelu", "approximate='none'", lambda a: {"approximate": a["approximate"]})
_simple("Softplus", "Softplus", "beta=1.0 threshold=20.0")
_simple("Softmax", "Softmax", "dim=None", lambda a: {"axis": a["dim"] if a["dim"] is not None else -1})
_simple("LogSoftmax", "LogSoftmax", "dim=None", lambda a: {"axis": a["dim"] if a["dim"] is not None else -1})
_simple("Softmax2d", "Softmax", "", lambda a: {"axis": -3})


def clip(c, x, lo, hi, suffix=""):
    return c.emit("Clip", [x, c.scalar(lo), c.scalar(hi)], suffix=suffix)


def silu(c, x):
    s = c.emit("Sigmoid", [x], suffix="Sigmoid")
    return c.emit("Mul", [x, s])


@LAYERS.register("ReLU6", "inplace=False")
class ReLU6:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: clip(c, x, 0.0, 6.0))


@LAYERS.register("Hardtanh", "min_val=-1.0 max_val=1.0 inplace=False")
class Hardtanh:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: clip(c, x, float(m.cfg["min_val"]), float(m.cfg["max_val"])))


@LAYERS.register("SiLU", "inplace=False")
class SiLU:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: silu(c, x))


@LAYERS.register("PReLU", "num_parameters=1 init=0.25")
class PReLU:
    @staticmethod
    def init(m, a):
        new_param(m, "weight", (a["num_parameters"],))

    @staticmethod
    def forward(c, m, x):
        w = m.params["weight"]
        n = norm(m.cfg["num_parameters"])
        if n != 1 and x.shape is not None and len(x.shape) > 2:
            w = c.emit("Unsqueeze", [w, c.ints(list(range(1, len(x.shape) - 1)), "axes")], suffix="Unsqueeze")
        return c.emit("PRelu", [x, w])
