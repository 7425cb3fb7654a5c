"""nn.Linear (``Gemm`` transB=1, or ``MatMul`` + ``Add`` above rank 2), nn.LazyLinear,
nn.Bilinear and nn.Embedding (``Gather``)."""
from __future__ import annotations

from .emit import new_param
from .registry import LAYERS
from .values import Stop, norm


@LAYERS.register("Linear", "in_features out_features bias=True")
class Linear:
    @staticmethod
    def init(m, a):
        new_param(m, "weight", (a["out_features"], a["in_features"]))
        if a["bias"]:
            new_param(m, "bias", (a["out_features"],))

    @staticmethod
    def forward(c, m, x):
        return linear(c, x, m.params["weight"], m.params.get("bias"))


def linear(c, x, w, b):
    if x.shape is None or len(x.shape) == 2:
        return c.emit("Gemm", [x, w] + ([b] if b is not None else []), {"transB": 1})
    wt = c.emit("Transpose", [w], {"perm": [1, 0]}, suffix="Transpose")
    y = c.emit("MatMul", [x, wt], suffix="MatMul" if b is not None else "")
    if b is not None:
        y = c.emit("Add", [y, b])
    return y


@LAYERS.register("LazyLinear", "out_features bias=True")
class LazyLinear:
    @staticmethod
    def init(m, a):
        pass

    @staticmethod
    def forward(c, m, x):
        if x.shape is None:
            raise Stop("LazyLinear on an input of unknown shape")
        fin = norm(x.shape[-1])
        c.it.diag(f"LazyLinear: in_features inferred from its first input ({fin})")
        if "weight" not in m.params:
            new_param(m, "weight", (m.cfg["out_features"], fin))
            if m.cfg["bias"]:
                new_param(m, "bias", (m.cfg["out_features"],))
        return linear(c, x, m.params["weight"], m.params.get("bias"))


@LAYERS.register("Bilinear", "in1_features in2_features out_features bias=True")
class Bilinear:
    @staticmethod
    def init(m, a):
        new_param(m, "weight", (a["out_features"], a["in1_features"], a["in2_features"]))
        if a["bias"]:
            new_param(m, "bias", (a["out_features"],))

    forward = None


@LAYERS.register("Embedding", "num_embeddings embedding_dim padding_idx=None max_norm=None norm_type=2.0 "
                 "scale_grad_by_freq=False sparse=False _weight=None _freeze=False")
class Embedding:
    @staticmethod
    def init(m, a):
        new_param(m, "weight", (a["num_embeddings"], a["embedding_dim"]))

    @staticmethod
    def forward(c, m, x):
        return c.emit("Gather", [m.params["weight"], x], {"axis": 0})
