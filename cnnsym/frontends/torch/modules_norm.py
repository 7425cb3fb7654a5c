"""Normalisation layers: nn.BatchNorm (buffers running_mean/var and
``num_batches_tracked``, held by the node), InstanceNorm, GroupNorm, LayerNorm,
LocalResponseNorm."""
from __future__ import annotations

from ...graph import INT64
from . import requires
from .emit import as_tensor, ints, n_spatial, new_param
from .registry import FUNCS, LAYERS
from .values import Module, Param, Stop


def _norm_params(m, c_, affine, track):
    if affine:
        new_param(m, "weight", (c_,))
        new_param(m, "bias", (c_,))
    if track:
        new_param(m, "running_mean", (c_,), "buffer")
        new_param(m, "running_var", (c_,), "buffer")
        new_param(m, "num_batches_tracked", (), "buffer", INT64)


def _scale_bias(c, m, c_):
    if "weight" in m.params:
        return m.params["weight"], m.params["bias"]
    return c.zeros_like_param((c_,), "scale"), c.zeros_like_param((c_,), "B")


@LAYERS.register("BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm",
                 "num_features eps=1e-05 momentum=0.1 affine=True track_running_stats=True", "_BatchNorm")
class BatchNorm:
    @staticmethod
    def init(m, a):
        _norm_params(m, a["num_features"], a["affine"], a["track_running_stats"])

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        c_ = a["num_features"]
        scale, bias = _scale_bias(c, m, c_)
        if "running_mean" in m.buffers:
            mean, var = m.buffers["running_mean"], m.buffers["running_var"]
        else:
            mean, var = c.zeros_like_param((c_,), "mean"), c.zeros_like_param((c_,), "var")
        mom = a["momentum"] if a["momentum"] is not None else 0.1
        y = c.emit("BatchNormalization", [x, scale, bias, mean, var],
                   {"epsilon": float(a["eps"]), "momentum": 1.0 - float(mom)})
        if "running_mean" not in m.buffers:  # batch statistics, in eval mode too
            requires.batch_norm_batch_stats(c, y, x)
        if "num_batches_tracked" in m.buffers:
            c.b.hold(y.name, m.buffers["num_batches_tracked"])
        return y


@LAYERS.register("InstanceNorm1d InstanceNorm2d InstanceNorm3d",
                 "num_features eps=1e-05 momentum=0.1 affine=False track_running_stats=False", "_InstanceNorm")
class InstanceNorm:
    @staticmethod
    def init(m, a):
        _norm_params(m, a["num_features"], a["affine"], a["track_running_stats"])

    @staticmethod
    def forward(c, m, x):
        scale, bias = _scale_bias(c, m, m.cfg["num_features"])
        y = c.emit("InstanceNormalization", [x, scale, bias], {"epsilon": float(m.cfg["eps"])})
        if "running_mean" not in m.buffers:  # input statistics (eval mode uses running ones when tracked)
            requires.instance_norm(c, y, x, n_spatial(m.kind))
        for b in ("running_mean", "running_var", "num_batches_tracked"):
            if b in m.buffers:
                c.b.hold(y.name, m.buffers[b])
        return y


@LAYERS.register("GroupNorm", "num_groups num_channels eps=1e-05 affine=True")
class GroupNorm:
    @staticmethod
    def init(m, a):
        if a["affine"]:
            new_param(m, "weight", (a["num_channels"],))
            new_param(m, "bias", (a["num_channels"],))

    @staticmethod
    def forward(c, m, x):
        scale, bias = _scale_bias(c, m, m.cfg["num_channels"])
        y = c.emit("GroupNormalization", [x, scale, bias],
                   {"epsilon": float(m.cfg["eps"]), "num_groups": ints([m.cfg["num_groups"]])[0]})
        requires.group_norm(c, y, x, m.cfg["num_groups"])
        return y


@LAYERS.register("LayerNorm", "normalized_shape eps=1e-05 elementwise_affine=True bias=True")
class LayerNorm:
    @staticmethod
    def init(m, a):
        shape = a["normalized_shape"]
        shape = list(shape) if isinstance(shape, (list, tuple)) else [shape]
        m.cfg["normalized_shape"] = shape
        if a["elementwise_affine"]:
            new_param(m, "weight", shape)
            if a["bias"]:
                new_param(m, "bias", shape)

    @staticmethod
    def forward(c, m, x):
        shape = m.cfg["normalized_shape"]
        ins = [x]
        if "weight" in m.params:
            ins.append(m.params["weight"])
            if "bias" in m.params:
                ins.append(m.params["bias"])
        else:
            ins.append(c.zeros_like_param(shape, "scale"))
        return c.emit("LayerNormalization", ins, {"axis": -len(shape), "epsilon": float(m.cfg["eps"])})


@LAYERS.register("LocalResponseNorm", "size alpha=0.0001 beta=0.75 k=1.0")
class LRN:
    @staticmethod
    def init(m, a):
        pass

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return c.emit("LRN", [x], {"size": ints([a["size"]])[0], "alpha": float(a["alpha"]), "beta": float(a["beta"]),
                                   "bias": float(a["k"])})


# functional forms (a layer subclass calling them with its own parameters and buffers:
# timm's BatchNormAct2d / GroupNormAct copy torch's forward and call F.batch_norm)

@FUNCS.register("batch_norm", "input running_mean running_var weight=None bias=None training=False "
                              "momentum=0.1 eps=1e-05")
def _f_batch_norm(c, a):
    """F.batch_norm: running statistics in eval mode (``training`` false and both given),
    else the batch's own (the same op, with torch's batch-size requirement)."""
    x = as_tensor(c.it, a["input"])
    if x.shape is None or len(x.shape) < 2:
        raise Stop("F.batch_norm of a tensor of unknown rank")
    ch = x.shape[1]
    training = c.it.known_truth(a["training"])
    if training is None:
        raise Stop("F.batch_norm with a `training` flag that is not known")
    batch_stats = training or a["running_mean"] is None or a["running_var"] is None
    scale = a["weight"] if a["weight"] is not None else c.zeros_like_param((ch,), "scale")
    bias = a["bias"] if a["bias"] is not None else c.zeros_like_param((ch,), "B")
    if batch_stats:
        mean, var = c.zeros_like_param((ch,), "mean"), c.zeros_like_param((ch,), "var")
    else:
        mean, var = a["running_mean"], a["running_var"]
    mom = a["momentum"] if a["momentum"] is not None else 0.1
    y = c.emit("BatchNormalization", [x, scale, bias, mean, var],
               {"epsilon": float(a["eps"]), "momentum": 1.0 - float(mom)})
    if batch_stats:
        requires.batch_norm_batch_stats(c, y, x)
    _hold_counter(c, y, a["running_mean"])
    return y


def _hold_counter(c, y, mean):
    """The calling module's ``num_batches_tracked`` (read by no op) is held by the node
    that uses the module's running mean, as nn.BatchNorm's own node holds it."""
    if not c.it.owner_stack or not isinstance(mean, Param):
        return
    m = c.it.owner_stack[-1][0]
    if isinstance(m, Module) and m.buffers.get("running_mean") is mean and "num_batches_tracked" in m.buffers:
        c.b.hold(y.name, m.buffers["num_batches_tracked"])


@FUNCS.register("group_norm", "input num_groups weight=None bias=None eps=1e-05")
def _f_group_norm(c, a):
    x = as_tensor(c.it, a["input"])
    if x.shape is None or len(x.shape) < 2:
        raise Stop("F.group_norm of a tensor of unknown rank")
    ch = x.shape[1]
    scale = a["weight"] if a["weight"] is not None else c.zeros_like_param((ch,), "scale")
    bias = a["bias"] if a["bias"] is not None else c.zeros_like_param((ch,), "B")
    y = c.emit("GroupNormalization", [x, scale, bias],
               {"epsilon": float(a["eps"]), "num_groups": ints([a["num_groups"]])[0]})
    requires.group_norm(c, y, x, a["num_groups"])
    return y
