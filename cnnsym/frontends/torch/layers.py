"""torch.nn layers, torch / torch.nn.functional functions and tensor methods, each mapped
to the ONNX nodes ``torch.onnx.export`` produces for it (``Conv2d`` -> ``Conv`` with
``kernel_shape``/``strides``/``pads``/``dilations``/``group``, ``Linear`` -> ``Gemm``
transB=1, ``PixelShuffle`` -> ``DepthToSpace`` CRD, ...). Torch-only semantics (adaptive
pooling to a size other than 1) use ops of the ``cnnsym.torch`` domain."""
from __future__ import annotations

import ast

import sympy as sp

from ...graph import FLOAT, INT64, Initializer
from ...symbolic import as_expr, fdiv
from .builder import UNKNOWN_DOMAIN
from .interpreter import BUILTINS, Stop, math_fn, norm, num
from .values import (ArgParser, BoundMethod, Builtin, Module, Namespace, NS, Obj, Param, Partial, Tensor,
                     TensorCtor, NTuple, ntuple_class, TorchClass, Unknown, UserClass, UserFunction)

# ---------------------------------------------------------------------------
# signatures


def _sig(text):
    out = []
    for tok in text.split():
        if "=" in tok:
            n, d = tok.split("=", 1)
            out.append((n, ast.literal_eval(d)))
        else:
            out.append((tok, _REQUIRED))
    return out


_REQUIRED = object()


def bind(sig, args, kwargs, what):
    out = {}
    args = list(args)
    kwargs = dict(kwargs)
    for i, (n, d) in enumerate(sig):
        if i < len(args):
            out[n] = args[i]
        elif n in kwargs:
            out[n] = kwargs.pop(n)
        elif d is _REQUIRED:
            raise Stop(f"{what}() missing argument {n!r}")
        else:
            out[n] = d
    if len(args) > len(sig):
        raise Stop(f"{what}() takes {len(sig)} arguments, {len(args)} given")
    for k in ("device", "dtype", "inplace"):
        kwargs.pop(k, None)
    if kwargs:
        raise Stop(f"{what}() got unexpected keyword arguments {', '.join(kwargs)}")
    return out


def tup(v, n, what="size"):
    if isinstance(v, (list, tuple)):
        v = [norm(x) for x in v]
        if len(v) == 1 and n > 1:
            v = v * n
        if len(v) != n:
            raise Stop(f"{what} {tuple(v)} must have {n} entries")
        return v
    return [norm(v)] * n


def div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if b == 0 or a % b:
            raise Stop(f"{a} is not divisible by groups={b}")
        return a // b
    return norm(as_expr(a) / as_expr(b))


def ints(vals):
    """Attribute lists must be concrete integers."""
    out = []
    for v in vals:
        v = norm(v)
        if not isinstance(v, int):
            raise Stop(f"{v} must be a known integer here (an attribute)")
        out.append(v)
    return out


# ---------------------------------------------------------------------------
# layer table: kind -> (signature, init(m, a), forward(it, m, x, a_call, name, node))

LAYERS: dict = {}
FAMILIES = {}  # kind -> family names for isinstance (_ConvNd, _BatchNorm, ...)


def layer(kinds, sig, family=None):
    def deco(cls):
        for k in kinds.split():
            LAYERS[k] = (_sig(sig), cls)
            if family:
                FAMILIES.setdefault(k, set()).add(family)
        return cls

    return deco


def _nsp(kind):
    for c in kind:
        if c.isdigit():
            return int(c)
    return 2


class Ctx:
    """What a layer's forward needs: emit nodes named and located for this call."""

    def __init__(self, it, name, loc, call_loc):
        self.it = it
        self.b = it.builder
        self.name = name
        self.loc = loc
        self.call_loc = call_loc

    def emit(self, op_type, inputs, attrs=None, suffix="", domain="", n_out=1):
        name = self.name if not suffix else f"{self.name}/{suffix}"
        inputs = [None if t is None else as_tensor(self.it, t) for t in inputs]
        outs = self.b.emit(op_type, inputs, attrs, name, domain, self.loc, self.call_loc, n_out)
        return outs[0] if n_out == 1 else outs

    def ints(self, values, what):
        return self.b.const(values, f"{self.name}/{what}", INT64)

    def floats(self, values, what):
        return self.b.const(values, f"{self.name}/{what}", FLOAT)

    def scalar(self, v, dtype=FLOAT):
        return self.b.const([v], f"{self.name}/const", dtype, shape=())

    def zeros_like_param(self, shape, what):
        name = self.b.unique(f"{self.name}/{what}")
        self.b.initializers[name] = Initializer(name, tuple(shape), FLOAT, data_missing=True, role="constant")
        return Tensor(name, tuple(as_expr(d) for d in shape), FLOAT)


def _param(m, pname, shape, role="trainable", dtype=FLOAT):
    p = Param(m, pname, shape, dtype, role)
    (m.params if role == "trainable" else m.buffers)[pname] = p
    return p


# convolutions ---------------------------------------------------------------


def _conv_params(m, a, first, grouped):
    """weight (first, grouped/groups, *kernel) and the optional bias (out_channels,)."""
    n = _nsp(m.kind)
    k = tup(a["kernel_size"], n, "kernel_size")
    _param(m, "weight", (first, div(grouped, a["groups"]), *k))
    if a["bias"]:
        _param(m, "bias", (a["out_channels"],))


@layer("Conv1d Conv2d Conv3d", "in_channels out_channels kernel_size stride=1 padding=0 dilation=1 groups=1 "
       "bias=True padding_mode='zeros'", "_ConvNd")
class Conv:
    @staticmethod
    def init(m, a):
        _conv_params(m, a, a["out_channels"], a["in_channels"])

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        n = _nsp(m.kind)
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
            x = c.emit("Pad", [x, c.ints(full, "pads")], {"mode": onnx_mode}, suffix="Pad")
            pads = [0] * (2 * n)
        ins = [x, m.params["weight"]] + ([m.params["bias"]] if "bias" in m.params else [])
        return c.emit("Conv", ins, {"dilations": d, "group": ints([a["groups"]])[0], "kernel_shape": k, "pads": pads,
                                    "strides": s})


@layer("ConvTranspose1d ConvTranspose2d ConvTranspose3d",
       "in_channels out_channels kernel_size stride=1 padding=0 output_padding=0 groups=1 bias=True dilation=1 "
       "padding_mode='zeros'", "_ConvNd")
class ConvT:
    @staticmethod
    def init(m, a):  # torch stores a transposed conv's weight as (in, out/groups, k...)
        _conv_params(m, a, a["in_channels"], a["out_channels"])

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        n = _nsp(m.kind)
        pp = ints(tup(a["padding"], n))
        ins = [x, m.params["weight"]] + ([m.params["bias"]] if "bias" in m.params else [])
        return c.emit("ConvTranspose", ins, {
            "dilations": ints(tup(a["dilation"], n)), "group": ints([a["groups"]])[0],
            "kernel_shape": ints(tup(a["kernel_size"], n)), "output_padding": ints(tup(a["output_padding"], n)),
            "pads": pp + pp, "strides": ints(tup(a["stride"], n))})


# linear ------------------------------------------------------------------------


@layer("Linear", "in_features out_features bias=True")
class Linear:
    @staticmethod
    def init(m, a):
        _param(m, "weight", (a["out_features"], a["in_features"]))
        if a["bias"]:
            _param(m, "bias", (a["out_features"],))

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


@layer("LazyLinear", "out_features bias=True")
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
            _param(m, "weight", (m.cfg["out_features"], fin))
            if m.cfg["bias"]:
                _param(m, "bias", (m.cfg["out_features"],))
        return linear(c, x, m.params["weight"], m.params.get("bias"))


@layer("Bilinear", "in1_features in2_features out_features bias=True")
class Bilinear:
    @staticmethod
    def init(m, a):
        _param(m, "weight", (a["out_features"], a["in1_features"], a["in2_features"]))
        if a["bias"]:
            _param(m, "bias", (a["out_features"],))

    forward = None


# normalization -----------------------------------------------------------------


def _norm_params(m, c_, affine, track):
    if affine:
        _param(m, "weight", (c_,))
        _param(m, "bias", (c_,))
    if track:
        _param(m, "running_mean", (c_,), "buffer")
        _param(m, "running_var", (c_,), "buffer")
        _param(m, "num_batches_tracked", (), "buffer", INT64)


def _scale_bias(c, m, c_):
    if "weight" in m.params:
        return m.params["weight"], m.params["bias"]
    return c.zeros_like_param((c_,), "scale"), c.zeros_like_param((c_,), "B")


@layer("BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm",
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
        if "num_batches_tracked" in m.buffers:
            c.b.hold(y.name, m.buffers["num_batches_tracked"])
        return y


@layer("InstanceNorm1d InstanceNorm2d InstanceNorm3d",
       "num_features eps=1e-05 momentum=0.1 affine=False track_running_stats=False", "_InstanceNorm")
class InstanceNorm:
    @staticmethod
    def init(m, a):
        _norm_params(m, a["num_features"], a["affine"], a["track_running_stats"])

    @staticmethod
    def forward(c, m, x):
        scale, bias = _scale_bias(c, m, m.cfg["num_features"])
        y = c.emit("InstanceNormalization", [x, scale, bias], {"epsilon": float(m.cfg["eps"])})
        for b in ("running_mean", "running_var", "num_batches_tracked"):
            if b in m.buffers:
                c.b.hold(y.name, m.buffers[b])
        return y


@layer("GroupNorm", "num_groups num_channels eps=1e-05 affine=True")
class GroupNorm:
    @staticmethod
    def init(m, a):
        if a["affine"]:
            _param(m, "weight", (a["num_channels"],))
            _param(m, "bias", (a["num_channels"],))

    @staticmethod
    def forward(c, m, x):
        scale, bias = _scale_bias(c, m, m.cfg["num_channels"])
        return c.emit("GroupNormalization", [x, scale, bias],
                      {"epsilon": float(m.cfg["eps"]), "num_groups": ints([m.cfg["num_groups"]])[0]})


@layer("LayerNorm", "normalized_shape eps=1e-05 elementwise_affine=True bias=True")
class LayerNorm:
    @staticmethod
    def init(m, a):
        shape = a["normalized_shape"]
        shape = list(shape) if isinstance(shape, (list, tuple)) else [shape]
        m.cfg["normalized_shape"] = shape
        if a["elementwise_affine"]:
            _param(m, "weight", shape)
            if a["bias"]:
                _param(m, "bias", shape)

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


@layer("LocalResponseNorm", "size alpha=0.0001 beta=0.75 k=1.0")
class LRN:
    @staticmethod
    def init(m, a):
        pass

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return c.emit("LRN", [x], {"size": ints([a["size"]])[0], "alpha": float(a["alpha"]), "beta": float(a["beta"]),
                                   "bias": float(a["k"])})


# activations -------------------------------------------------------------------


def _simple(kind, op, sig="", attrs=None):
    class Act:
        @staticmethod
        def init(m, a):
            pass

        @staticmethod
        def forward(c, m, x):
            return c.emit(op, [x], attrs(m.cfg) if attrs else {})

    layer(kind, sig)(Act)


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


@layer("ReLU6", "inplace=False")
class ReLU6:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: clip(c, x, 0.0, 6.0))


@layer("Hardtanh", "min_val=-1.0 max_val=1.0 inplace=False")
class Hardtanh:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: clip(c, x, float(m.cfg["min_val"]), float(m.cfg["max_val"])))


@layer("SiLU", "inplace=False")
class SiLU:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: silu(c, x))


@layer("PReLU", "num_parameters=1 init=0.25")
class PReLU:
    @staticmethod
    def init(m, a):
        _param(m, "weight", (a["num_parameters"],))

    @staticmethod
    def forward(c, m, x):
        w = m.params["weight"]
        n = norm(m.cfg["num_parameters"])
        if n != 1 and x.shape is not None and len(x.shape) > 2:
            w = c.emit("Unsqueeze", [w, c.ints(list(range(1, len(x.shape) - 1)), "axes")], suffix="Unsqueeze")
        return c.emit("PRelu", [x, w])


# pooling -----------------------------------------------------------------------


def pool(c, x, op, nsp, kernel, stride, padding, dilation=1, ceil_mode=False, count_include_pad=True):
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
    return c.emit(op, [x], attrs)


@layer("MaxPool1d MaxPool2d MaxPool3d", "kernel_size stride=None padding=0 dilation=1 return_indices=False "
       "ceil_mode=False", "_MaxPoolNd")
class MaxPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return pool(c, x, "MaxPool", _nsp(m.kind), a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                    a["ceil_mode"])


@layer("AvgPool1d AvgPool2d AvgPool3d", "kernel_size stride=None padding=0 ceil_mode=False count_include_pad=True "
       "divisor_override=None", "_AvgPoolNd")
class AvgPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return pool(c, x, "AveragePool", _nsp(m.kind), a["kernel_size"], a["stride"], a["padding"], 1,
                    a["ceil_mode"], a["count_include_pad"])


@layer("LPPool1d LPPool2d", "norm_type kernel_size stride=None ceil_mode=False")
class LPPool:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        nsp = _nsp(m.kind)
        k = ints(tup(a["kernel_size"], nsp))
        s = ints(tup(a["stride"] if a["stride"] is not None else a["kernel_size"], nsp))
        return c.emit("LpPool", [x], {"kernel_shape": k, "strides": s, "p": int(a["norm_type"]),
                                      "ceil_mode": int(bool(a["ceil_mode"]))})


def adaptive(c, x, size, op):
    nsp = len(x.shape) - 2 if x.shape is not None else 2
    size = size if isinstance(size, (list, tuple)) else [size]
    size = [norm(s) for s in size]
    if len(size) == 1:
        size = size * nsp
    if all(s == 1 for s in size):
        return c.emit("GlobalAveragePool" if op == "avg" else "GlobalMaxPool", [x])
    return c.emit("AdaptiveAveragePool" if op == "avg" else "AdaptiveMaxPool", [x], {"output_size": size},
                  domain="cnnsym.torch")


@layer("AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d", "output_size", "_AdaptiveAvgPoolNd")
class AdaptiveAvg:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: adaptive(c, x, m.cfg["output_size"], "avg"))


@layer("AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d", "output_size return_indices=False",
       "_AdaptiveMaxPoolNd")
class AdaptiveMax:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: adaptive(c, x, m.cfg["output_size"], "max"))


# shape layers ------------------------------------------------------------------


@layer("Identity Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout", "*")
class Passthrough:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: x)


@layer("Flatten", "start_dim=1 end_dim=-1")
class Flatten:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: flatten(c, x, m.cfg["start_dim"], m.cfg["end_dim"]))


@layer("Unflatten", "dim unflattened_size")
class Unflatten:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        r = _rank(x)
        d = norm(m.cfg["dim"]) % r
        target = [*x.shape[:d], *m.cfg["unflattened_size"], *x.shape[d + 1:]]
        return reshape(c, x, target)


@layer("Upsample", "size=None scale_factor=None mode='nearest' align_corners=None recompute_scale_factor=None")
class Upsample:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        a = m.cfg
        return interpolate(c, x, a["size"], a["scale_factor"], a["mode"], a["align_corners"])


@layer("UpsamplingNearest2d", "size=None scale_factor=None")
class UpNearest:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: interpolate(c, x, m.cfg["size"], m.cfg["scale_factor"], "nearest", None))


@layer("UpsamplingBilinear2d", "size=None scale_factor=None")
class UpBilinear:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: interpolate(c, x, m.cfg["size"], m.cfg["scale_factor"], "bilinear", True))


@layer("PixelShuffle", "upscale_factor")
class PixelShuffle:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: c.emit("DepthToSpace", [x], {"blocksize": ints([m.cfg["upscale_factor"]])[0],
                                                                        "mode": "CRD"}))


@layer("PixelUnshuffle", "downscale_factor")
class PixelUnshuffle:
    init = staticmethod(lambda m, a: None)
    forward = staticmethod(lambda c, m, x: c.emit("SpaceToDepth", [x], {"blocksize": ints([m.cfg["downscale_factor"]])[0]}))


def _pad_layer(kinds, mode, sig):
    class P:
        init = staticmethod(lambda m, a: None)

        @staticmethod
        def forward(c, m, x):
            n = _nsp(m.kind)
            p = m.cfg["padding"]
            p = list(p) if isinstance(p, (list, tuple)) else [p] * (2 * n)
            return pad(c, x, p, mode, m.cfg.get("value", 0.0))

    layer(kinds, sig)(P)


_pad_layer("ZeroPad1d ZeroPad2d ZeroPad3d", "constant", "padding")
_pad_layer("ConstantPad1d ConstantPad2d ConstantPad3d", "constant", "padding value")
_pad_layer("ReflectionPad1d ReflectionPad2d ReflectionPad3d", "reflect", "padding")
_pad_layer("ReplicationPad1d ReplicationPad2d ReplicationPad3d", "replicate", "padding")
_pad_layer("CircularPad1d CircularPad2d CircularPad3d", "circular", "padding")


@layer("Embedding", "num_embeddings embedding_dim padding_idx=None max_norm=None norm_type=2.0 "
       "scale_grad_by_freq=False sparse=False _weight=None _freeze=False")
class Embedding:
    @staticmethod
    def init(m, a):
        _param(m, "weight", (a["num_embeddings"], a["embedding_dim"]))

    @staticmethod
    def forward(c, m, x):
        return c.emit("Gather", [m.params["weight"], x], {"axis": 0})


@layer("ChannelShuffle", "groups")
class ChannelShuffle:
    init = staticmethod(lambda m, a: None)

    @staticmethod
    def forward(c, m, x):
        return channel_shuffle(c, x, m.cfg["groups"])


def channel_shuffle(c, x, g):
    n, ch, h, w = x.shape
    y = c.emit("Reshape", [x, c.ints([0, g, div(ch, g), -1, 0] if False else [0, g, -1, 0, 0], "shape")], suffix="Reshape")
    y = c.emit("Transpose", [y], {"perm": [0, 2, 1, 3, 4]}, suffix="Transpose")
    return c.emit("Reshape", [y, c.ints([0, -1, 0, 0], "shape2")])


# containers ----------------------------------------------------------------------


@layer("Sequential", "*")
class Sequential:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if len(args) == 1 and isinstance(args[0], dict):
            for k, v in args[0].items():
                _add_child(m, str(k), v)
        else:
            for i, v in enumerate(args):
                _add_child(m, str(i), v)

    @staticmethod
    def forward(c, m, x):
        it = c.it
        for child in list(m.modules.values()):
            x = call_module(it, child, [x], {}, None)
        return x


@layer("ModuleList", "*")
class ModuleList:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args:
            for i, v in enumerate(c for c in (args[0] if isinstance(args[0], (list, tuple)) else
                                              _iter_any(args[0]))):
                _add_child(m, str(i), v)

    forward = None


@layer("ModuleDict", "*")
class ModuleDict:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args and args[0] is not None:
            items = args[0].items() if isinstance(args[0], dict) else args[0]
            for k, v in items:
                _add_child(m, str(k), v)

    forward = None


@layer("ParameterList ParameterDict", "*")
class ParamContainer:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args and args[0] is not None:
            items = list(args[0].items()) if isinstance(args[0], dict) else list(enumerate(args[0]))
            for k, v in items:
                _set_param(m, str(k), v, "trainable")

    forward = None


def _iter_any(v):
    if isinstance(v, Module):
        return list(v.modules.values())
    return list(v)


def _add_child(m, name, v):
    if not isinstance(v, Module):
        raise Stop(f"{m.kind} child {name!r} is not a module ({type(v).__name__})")
    m.modules[name] = v


def _set_param(m, name, v, role):
    if isinstance(v, Param):
        (m.params if role == "trainable" else m.buffers)[name] = v
        return
    if isinstance(v, TensorCtor):
        _param(m, name, v.shape, role, v.dtype)
        return
    if v is None:
        return
    raise Stop(f"cannot make a parameter of {type(v).__name__}")


# ---------------------------------------------------------------------------
# modules: construction, attributes, calls


def construct(it, kind, args, kwargs, node):
    if kind == "Parameter":
        v = args[0] if args else kwargs.get("data")
        if isinstance(v, (TensorCtor, Param)):
            return TensorCtor(v.shape, v.dtype, "param")
        raise Stop("nn.Parameter of an unknown tensor")
    if kind == "Module":
        return Module("Module", loc=it.site_loc())
    m = Module(kind, loc=_loc(it, node))
    init_layer(it, kind, m, args, kwargs, node)
    return m


def _loc(it, node):
    scope, _ = it.where()
    if node is not None and scope is not None:
        return scope.loc(node)
    return it.site_loc()


def init_layer(it, kind, m, args, kwargs, node):
    if kind == "Module":
        return None
    spec = LAYERS.get(kind)
    if spec is None:
        m.unknown = kind
        it.diag(f"nn.{kind} is not a layer cnnsym knows: its parameters are not counted and its call is unaccounted")
        return None
    sig, cls = spec
    m.kind = kind
    if sig and sig[0][0] == "*":
        a = {"*args": list(args), **kwargs}
    else:
        a = bind(sig, args, kwargs, kind)
    m.cfg = a
    cls.init(m, a)
    return None


def module_setattr(it, m, name, v):
    if isinstance(v, Module):
        for d in (m.params, m.buffers, m.attrs):
            d.pop(name, None)
        m.modules[name] = v
    elif isinstance(v, TensorCtor):
        if v.value == "param":
            m.attrs.pop(name, None)
            _param(m, name, v.shape, "trainable", v.dtype)
        elif name in m.buffers:
            _param(m, name, v.shape, "buffer", v.dtype)
        else:
            m.attrs[name] = v
    elif isinstance(v, Param):
        m.attrs.pop(name, None)
        (m.buffers if v.role == "buffer" else m.params)[name] = v
    else:
        if v is None and name in m.modules:
            m.modules[name] = None
            return
        m.modules.pop(name, None) if name in m.modules else None
        m.attrs[name] = v


def module_method(it, m, name):
    def bound(fn):
        return Builtin(name, lambda it_, a, k, s: fn(it_, m, a, k, s))

    if name in _MODULE_METHODS:
        return bound(_MODULE_METHODS[name])
    if name == "forward":
        return Builtin("forward", lambda it_, a, k, s: layer_forward(it_, m, a, k, s))
    if m.kind in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        # torch stores these as tuples whatever was passed (m.kernel_size[0] in init code)
        if name in ("kernel_size", "stride", "padding", "dilation", "output_padding") and name in m.cfg \
                and not isinstance(m.cfg[name], str):
            return tuple(tup(m.cfg[name], _nsp(m.kind)))
    if name in ("weight", "bias") and m.kind in LAYERS:
        return None  # not a parameter (bias=False, affine=False): torch gives None, not the flag
    if name in m.cfg:
        return m.cfg[name]
    if name == "groups" and "groups" in m.cfg:
        return m.cfg["groups"]
    if name == "training":
        return False
    if m.unknown:
        return Unknown(f"{m.unknown}.{name}")
    raise Stop(f"{m.type_name} has no attribute {name!r}")


def _mm(name):
    def deco(fn):
        _MODULE_METHODS[name] = fn
        return fn

    return deco


_MODULE_METHODS: dict = {}


@_mm("add_module")
def _add_module(it, m, a, k, s):
    name, child = (a + [k.get("module")])[:2] if len(a) < 2 else a[:2]
    if child is None:
        m.modules[str(name)] = None
        return None
    _add_child(m, str(norm(name)), child)


_MODULE_METHODS["register_module"] = _add_module


@_mm("register_buffer")
def _register_buffer(it, m, a, k, s):
    name = a[0]
    t = a[1] if len(a) > 1 else k.get("tensor")
    if t is None:
        return None
    if isinstance(t, Param):
        m.buffers[name] = Param(m, name, t.shape, t.dtype, "buffer")
    elif isinstance(t, TensorCtor):
        _param(m, name, t.shape, "buffer", t.dtype)
    else:
        raise Stop("register_buffer of an unknown tensor")


@_mm("register_parameter")
def _register_parameter(it, m, a, k, s):
    _set_param(m, a[0], a[1] if len(a) > 1 else k.get("param"), "trainable")


@_mm("append")
def _append(it, m, a, k, s):
    _add_child(m, str(len(m.modules)), a[0])
    return m


@_mm("extend")
def _extend(it, m, a, k, s):
    for v in _iter_any(a[0]) if isinstance(a[0], Module) else it.iterate(a[0]):
        _add_child(m, str(len(m.modules)), v)
    return m


@_mm("insert")
def _insert(it, m, a, k, s):
    idx = it.concrete_int(a[0])
    items = list(m.modules.values())
    items.insert(idx, a[1])
    m.modules.clear()
    for i, v in enumerate(items):
        m.modules[str(i)] = v


def named_modules(m, prefix="", seen=None):
    seen = set() if seen is None else seen
    if id(m) in seen:
        return []
    seen.add(id(m))
    out = [(prefix, m)]
    for k, c in m.modules.items():
        if c is None:
            continue
        out.extend(named_modules(c, f"{prefix}.{k}" if prefix else k, seen))
    return out


_MODULE_METHODS["modules"] = lambda it, m, a, k, s: [x for _, x in named_modules(m)]
_MODULE_METHODS["named_modules"] = lambda it, m, a, k, s: [(n, x) for n, x in named_modules(m)]
_MODULE_METHODS["children"] = lambda it, m, a, k, s: [c for c in m.modules.values() if c is not None]
_MODULE_METHODS["named_children"] = lambda it, m, a, k, s: [(n, c) for n, c in m.modules.items() if c is not None]
_MODULE_METHODS["parameters"] = lambda it, m, a, k, s: [p for _, x in named_modules(m) for p in x.params.values()]
_MODULE_METHODS["buffers"] = lambda it, m, a, k, s: [p for _, x in named_modules(m) for p in x.buffers.values()]
_MODULE_METHODS["named_parameters"] = lambda it, m, a, k, s: [
    (f"{n}.{pn}" if n else pn, p) for n, x in named_modules(m) for pn, p in x.params.items()]
for _n in ("apply", "train", "eval", "to", "cuda", "cpu", "half", "float", "double", "requires_grad_",
           "zero_grad", "_initialize_weights", "init_weights", "reset_parameters", "load_state_dict"):
    _MODULE_METHODS.setdefault(_n, lambda it, m, a, k, s: m)
_MODULE_METHODS["keys"] = lambda it, m, a, k, s: list(m.modules.keys())
_MODULE_METHODS["values"] = lambda it, m, a, k, s: [v for v in m.modules.values()]
_MODULE_METHODS["items"] = lambda it, m, a, k, s: list(m.modules.items())
_MODULE_METHODS["__len__"] = lambda it, m, a, k, s: len(m.modules)


@_mm("update")
def _update(it, m, a, k, s):
    src = a[0] if a else k
    for kk, v in (src.items() if isinstance(src, dict) else src):
        _add_child(m, str(kk), v)


def container_iter(it, m):
    if m.kind in ("Sequential", "ModuleList"):
        return [v for v in m.modules.values()]
    if m.kind == "ModuleDict":
        return list(m.modules.keys())
    if m.kind in ("ParameterList",):
        return list(m.params.values())
    raise Stop(f"iterating over {m.type_name}")


def container_getitem(it, m, key):
    if m.kind == "ModuleDict":
        return m.modules[str(key)]
    if m.kind in ("ParameterList", "ParameterDict"):
        return m.params[str(norm(key))] if not isinstance(key, slice) else list(m.params.values())[key]
    items = list(m.modules.values())
    if isinstance(key, slice):
        sub = Module(m.kind, loc=m.loc)
        for i, v in enumerate(items[key]):
            sub.modules[str(i)] = v
        return sub
    i = it.concrete_int(key, "index")
    try:
        return items[i]
    except IndexError:
        raise Stop(f"index {i} out of range for {m.type_name} of length {len(items)}")


def container_setitem(it, m, key, v):
    if m.kind == "ModuleDict":
        _add_child(m, str(key), v)
        return
    keys = list(m.modules.keys())
    i = it.concrete_int(key, "index")
    m.modules[keys[i]] = v


def container_contains(it, m, key):
    return str(key) in m.modules


def _name_of_call(it, m):
    if m.qualname is not None:
        return m.qualname or (m.type_name.lower())
    owner = it.owner_stack[-1][1] if it.owner_stack else ""
    _, line = it.where()
    base = f"{m.type_name.lower()}@{line}"
    return f"{owner}.{base}" if owner else base


def call_module(it, m, args, kwargs, node):
    if it.phase != "forward":
        raise Stop(f"calling {m.type_name} outside forward")
    base = _name_of_call(it, m)
    m.calls += 1
    scope, _ = it.where()
    call_loc = scope.loc(node) if (node is not None and scope is not None) else (
        it.owner_stack[-1][2] if it.owner_stack else it.site_loc())
    it.owner_stack.append((m, base if m.qualname != "" else "", call_loc))
    try:
        out = _dispatch(it, m, args, kwargs, node, base, call_loc)
    finally:
        it.owner_stack.pop()
    key = m.qualname if m.qualname is not None else base
    names = [t.name for t in _tensors_in(out)]
    if names:
        it.builder.module_outputs.setdefault(key, []).append(names[0] if len(names) == 1 else names)
    return out


def _tensors_in(v):
    if isinstance(v, Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _tensors_in(x)]
    if isinstance(v, dict):
        return [t for x in v.values() for t in _tensors_in(x)]
    return []


def _dispatch(it, m, args, kwargs, node, base, call_loc):
    if m.cls is not None:
        for c in m.cls.mro():
            if isinstance(c, UserClass) and "forward" in c.ns:
                return it.call_function(c.ns["forward"], [m, *args], kwargs, node)
            if isinstance(c, TorchClass):
                break
    if m.kind in LAYERS and LAYERS[m.kind][1].forward is not None:
        return layer_forward(it, m, args, kwargs, node, base=base, call_loc=call_loc)
    return unknown_node(it, m.unknown or m.type_name, args, kwargs, base, m.loc, call_loc)


def layer_forward(it, m, args, kwargs, node, kind=None, base=None, call_loc=None):
    kind = kind or m.kind
    spec = LAYERS.get(kind)
    if spec is None or spec[1].forward is None:
        raise Stop(f"{kind} has no forward cnnsym can follow")
    if base is None:
        base = it.owner_stack[-1][1] if it.owner_stack else _name_of_call(it, m)
        call_loc = it.owner_stack[-1][2] if it.owner_stack else it.site_loc()
    if not args:
        raise Stop(f"{kind} called without an input")
    x = as_tensor(it, args[0])
    c = Ctx(it, base, m.loc, call_loc)
    if x.shape is None and kind not in ("Sequential",):
        return c.emit(_OP_OF.get(kind, kind), [x] + [p for p in m.params.values()])
    saved = m.kind
    m.kind = kind
    try:
        return spec[1].forward(c, m, x)
    finally:
        m.kind = saved


_OP_OF = {"Conv2d": "Conv", "Conv1d": "Conv", "Conv3d": "Conv", "Linear": "Gemm", "BatchNorm2d": "BatchNormalization",
          "BatchNorm1d": "BatchNormalization", "ReLU": "Relu", "MaxPool2d": "MaxPool"}


def unknown_node(it, what, args, kwargs, base, loc, call_loc):
    tensors = [as_tensor(it, t) for t in [*args, *kwargs.values()] if isinstance(t, (Tensor, Param))]
    it.diag(f"{what} is not something cnnsym can follow: unaccounted node {base!r}, shapes after it unknown")
    op = str(what).split(".")[-1].split("(")[0] or "Unknown"
    return it.builder.emit(op if op.isidentifier() else "Unknown", tensors, {}, base, UNKNOWN_DOMAIN, loc, call_loc)[0]


def as_tensor(it, v):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Param):
        return it.builder.materialize(v)
    if isinstance(v, Unknown):
        owner = it.owner_stack[-1][1] if it.owner_stack else ""
        _, line = it.where()
        base = f"{owner}.unknown@{line}" if owner else f"unknown@{line}"
        it.diag(f"{v.why}: not followed; unaccounted node {base!r}")
        return it.builder.emit("Unknown", [], {}, base, UNKNOWN_DOMAIN, it.site_loc(), it.site_loc())[0]
    if isinstance(v, (int, float)) or isinstance(v, sp.Basic):
        return it.builder.const([v], "const", FLOAT, shape=())
    raise Stop(f"expected a tensor, got {type(v).__name__}")


def isinstance_(it, v, target):
    targets = list(target) if isinstance(target, (list, tuple)) else [target]
    for t in targets:
        if isinstance(t, TorchClass):
            if t.name == "Module" and isinstance(v, Module):
                return True
            if isinstance(v, Module):
                if v.kind == t.name or t.name in FAMILIES.get(v.kind or "", ()):
                    return True
                if v.cls is not None and t in v.cls.mro():
                    return True
            if t.name == "Parameter" and isinstance(v, Param):
                return True
            if t.name == "Tensor" and isinstance(v, (Tensor, Param)):
                return True
        elif isinstance(t, UserClass):
            if isinstance(v, (Module, Obj)) and v.cls is not None and t in v.cls.mro():
                return True
        elif isinstance(t, Builtin):
            if isinstance(v, NTuple) and type(v).type_name == t.name:
                return True
            py = {"int": int, "float": float, "str": str, "list": list, "tuple": tuple, "dict": dict,
                  "bool": bool}.get(t.name)
            if py is int and isinstance(v, sp.Basic) and v.is_integer:
                return True
            if py is not None and isinstance(norm(v), py):
                return True
        elif isinstance(t, Namespace):
            if t.path.endswith("Tensor") and isinstance(v, (Tensor, Param)):
                return True
            # typing / collections.abc: isinstance(cfgs, Sequence) guards in torchvision builders
            abc = t.path.rsplit(".", 1)[-1]
            if isinstance(v, (list, tuple)) and (abc in ("Sequence", "MutableSequence") and
                                                 (abc == "Sequence" or isinstance(v, list))):
                return True
            if (abc == "List" and isinstance(v, list)) or (abc == "Tuple" and isinstance(v, tuple)):
                return True
            if abc in ("Mapping", "MutableMapping", "Dict") and isinstance(v, dict):
                return True
            if abc in ("Iterable", "Collection", "Container", "Sized") and isinstance(v, (list, tuple, dict, str)):
                return True
    return False



# ---------------------------------------------------------------------------
# namespaces: torch, torch.nn, F, math, functools, collections, argparse


def resolve(it, path):
    parts = path.split(".")
    head = parts[0]
    last = parts[-1]
    if head == "torch":
        if path in ("torch.nn.functional", "torch.nn.init", "torch.nn", "torch.nn.modules", "torch.utils",
                    "torch.jit", "torch.fx", "torch.Tensor"):
            return Namespace(path)
        if parts[:2] == ["torch", "nn"] and len(parts) > 2:
            if parts[2] == "functional":
                return _func(last, path)
            if parts[2] == "init":
                return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
            if last in LAYERS or last in ("Module", "Parameter") or last in FAMILY_NAMES:
                return TorchClass(last)
            if last[:1].isupper():
                return TorchClass(last)
            return Namespace(path)
        if len(parts) == 2:
            if last in TORCH_CTORS:
                return Builtin(path, TORCH_CTORS[last])
            if last in ("float32", "float", "float16", "int64", "long", "int32", "bool", "device", "Size"):
                return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
            if last in ("no_grad", "enable_grad", "inference_mode"):
                return Builtin(path, lambda it_, a, k, s: None)
            if last == "Tensor":
                return Namespace(path)
            return _func(last, path)
        if parts[1] == "jit" or parts[1] == "utils":
            return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
        return Namespace(path)
    if head == "math":
        if last in ("pi", "e", "inf"):
            import math
            return getattr(math, last)
        return Builtin(path, math_fn(last))
    if path == "functools.partial":
        return Builtin(path, lambda it_, a, k, s: Partial(a[0], a[1:], k))
    if path == "functools.reduce":
        return Builtin(path, _reduce)
    if path in ("collections.namedtuple", "typing.NamedTuple"):
        return Builtin(path, lambda it_, a, k, s: ntuple_class(a[0] if a else k.get("typename"),
                                                                a[1] if len(a) > 1 else k.get("field_names", ()),
                                                                k.get("defaults", ())))
    if path == "dataclasses.field":
        return Builtin(path, _dc_field)
    if path == "dataclasses.dataclass":
        return Builtin(path, lambda it_, a, k, s: a[0] if a else Builtin(path, lambda i2, a2, k2, s2: a2[0]))
    if path in ("collections.OrderedDict", "typing.OrderedDict"):
        return BUILTINS["dict"]
    if path == "argparse.ArgumentParser":
        return Builtin(path, lambda it_, a, k, s: ArgParser())
    if path in ("argparse.Namespace", "types.SimpleNamespace"):
        return Builtin(path, lambda it_, a, k, s: NS(k))
    if head == "typing":
        return Namespace(path)
    if path == "copy.deepcopy" or path == "copy.copy":
        return Builtin(path, lambda it_, a, k, s: a[0])
    if path in ("warnings.warn", "logging.info", "logging.warning"):
        return Builtin(path, lambda it_, a, k, s: None)
    return Namespace(path)


def _dc_field(it, a, k, s):
    """dataclasses.field(default=..., default_factory=...): the default, made once."""
    if "default" in k:
        return k["default"]
    if "default_factory" in k:
        return it.call(k["default_factory"], [], {}, s)
    return None


FAMILY_NAMES = {"_ConvNd", "_BatchNorm", "_InstanceNorm", "_MaxPoolNd", "_AvgPoolNd", "_AdaptiveAvgPoolNd",
                "_AdaptiveMaxPoolNd"}


def _reduce(it, a, k, s):
    items = list(it.iterate(a[1]))
    acc = a[2] if len(a) > 2 else items.pop(0)
    for x in items:
        acc = it.call(a[0], [acc, x], {}, s)
    return acc


def _shape_args(it, a):
    if len(a) == 1 and isinstance(a[0], (list, tuple)):
        a = a[0]
    return [norm(x) for x in a]


def _ctor(kind):
    def fn(it, a, k, s):
        shape = _shape_args(it, [x for x in a])
        if it.phase == "forward":
            if all(isinstance(d, int) for d in shape):
                c = Ctx(it, _fname(it, kind), it.site_loc(), it.site_loc())
                return c.zeros_like_param(shape, "tensor")
            raise Stop(f"torch.{kind} with a size that depends on the input")
        v = TensorCtor(shape)
        return v

    return fn


def _tensor_lit(it, a, k, s):
    data = a[0] if a else None

    def shape_of(v):
        if isinstance(v, (list, tuple)):
            return [len(v)] + (shape_of(v[0]) if v else [])
        return []

    return TensorCtor(shape_of(data))


def _like(it, a, k, s):
    v = a[0]
    if isinstance(v, (Param, TensorCtor)):
        return TensorCtor(v.shape, v.dtype)
    if isinstance(v, Tensor):
        return v
    raise Stop("*_like of an unknown tensor")


def _arange(it, a, k, s):
    vals = [it.concrete_int(x) for x in a if not isinstance(x, float)]
    return TensorCtor([len(range(*vals))])


TORCH_CTORS = {"zeros": _ctor("zeros"), "ones": _ctor("ones"), "randn": _ctor("randn"), "rand": _ctor("rand"),
               "empty": _ctor("empty"), "full": None, "tensor": _tensor_lit, "Tensor": _tensor_lit,
               "FloatTensor": _ctor("FloatTensor"), "zeros_like": _like, "ones_like": _like, "randn_like": _like,
               "arange": _arange, "eye": lambda it, a, k, s: TensorCtor([a[0], a[1] if len(a) > 1 else a[0]]),
               "linspace": lambda it, a, k, s: TensorCtor([a[2]])}
TORCH_CTORS["full"] = lambda it, a, k, s: TensorCtor(_shape_args(it, [a[0]]))


def _func(name, path):
    h = FUNCS.get(name)
    if h is None:
        return Namespace(path)
    return Builtin(path, lambda it, a, k, s: call_func(it, name, h, a, k, s))


def call_func(it, name, h, a, k, s):
    if it.phase != "forward":
        if name in ("relu", "sigmoid", "tanh"):  # activations passed as callables are called in forward
            pass
        raise Stop(f"{name}() outside forward")
    inplace = bool(k.pop("inplace", False)) or name.endswith("_") and name not in ("view_",)
    c = Ctx(it, _fname(it, name.rstrip("_")), it.site_loc(), _call_loc(it, s))
    out = h(c, list(a), dict(k))
    if inplace and a and isinstance(a[0], Tensor) and isinstance(out, Tensor):
        a[0].name, a[0].shape, a[0].dtype, a[0].value = out.name, out.shape, out.dtype, out.value
        return a[0]
    return out


def _call_loc(it, node):
    scope, _ = it.where()
    if node is not None and scope is not None:
        return scope.loc(node)
    return it.site_loc()


def _fname(it, fn):
    owner = it.owner_stack[-1][1] if it.owner_stack else ""
    _, line = it.where()
    base = f"{fn}@{line}"
    return f"{owner}.{base}" if owner else base


def call_external(it, path, args, kwargs, node):
    if it.phase == "forward":
        if any(isinstance(v, (Tensor, Param)) for v in [*args, *kwargs.values()]):
            return unknown_node(it, path, args, kwargs, _fname(it, path.split(".")[-1]), it.site_loc(),
                                _call_loc(it, node))
        return Unknown(path)
    m = Module(loc=_loc(it, node), unknown=path.split(".")[-1])
    if path.startswith("torch"):
        it.diag(f"{path} is not followed: treated as an unknown layer (parameters not counted)")
    else:
        it.diag(f"{path} comes from a package cnnsym does not read: an unknown layer "
                "(parameters not counted, its call unaccounted)")
    return m


def call_unknown(it, why, args, kwargs, node):
    if it.phase == "forward" and any(isinstance(v, (Tensor, Param)) for v in [*args, *kwargs.values()]):
        return unknown_node(it, why, args, kwargs, _fname(it, "unknown"), it.site_loc(), _call_loc(it, node))
    if it.phase != "forward":
        it.diag(f"{why}: not followed; treated as an unknown layer")
        return Module(loc=_loc(it, node), unknown=str(why).split(" ")[0].split(".")[-1])
    return Unknown(why)


# ---------------------------------------------------------------------------
# functions on tensors (torch.X, F.X and x.X share one table)

FUNCS: dict = {}


def fn(names, sig=None):
    def deco(f):
        for n in names.split():
            FUNCS[n] = (lambda f_, s_, n_: (lambda c, a, k: f_(c, bind(s_, a, k, n_)) if s_ is not None else f_(c, a, k)))(
                f, _sig(sig) if sig is not None else None, n)
        return f

    return deco


def _rank(x):
    if x.shape is None:
        raise Stop("the rank of this tensor is unknown")
    return len(x.shape)


def _unary(op, attrs=None):
    return lambda c, a: c.emit(op, [as_tensor(c.it, a["input"])], attrs(a) if attrs else {})


for _names, _op in (("relu relu_", "Relu"), ("sigmoid sigmoid_", "Sigmoid"), ("tanh tanh_", "Tanh"),
                    ("hardswish", "HardSwish"), ("mish", "Mish"), ("exp", "Exp"), ("sqrt", "Sqrt"),
                    ("abs", "Abs"), ("neg", "Neg"), ("log", "Log"), ("selu", "Selu"), ("softsign", "Softsign"),
                    ("floor", "Floor"), ("ceil", "Ceil"), ("rsqrt", None), ("reciprocal", "Reciprocal"),
                    ("sign", "Sign"), ("erf", "Erf"), ("sin", "Sin"), ("cos", "Cos")):
    if _op:
        fn(_names, "input inplace=False")(_unary(_op))

fn("leaky_relu leaky_relu_", "input negative_slope=0.01 inplace=False")(
    _unary("LeakyRelu", lambda a: {"alpha": float(a["negative_slope"])}))
fn("elu elu_", "input alpha=1.0 inplace=False")(_unary("Elu", lambda a: {"alpha": float(a["alpha"])}))
fn("gelu", "input approximate='none'")(_unary("Gelu", lambda a: {"approximate": a["approximate"]}))
fn("hardsigmoid", "input inplace=False")(_unary("HardSigmoid", lambda a: {"alpha": 1.0 / 6, "beta": 0.5}))
fn("softplus", "input beta=1.0 threshold=20.0")(_unary("Softplus"))
fn("silu", "input inplace=False")(lambda c, a: silu(c, as_tensor(c.it, a["input"])))
fn("relu6", "input inplace=False")(lambda c, a: clip(c, a["input"], 0.0, 6.0))
fn("hardtanh hardtanh_", "input min_val=-1.0 max_val=1.0 inplace=False")(
    lambda c, a: clip(c, a["input"], float(a["min_val"]), float(a["max_val"])))


@fn("clamp clip clamp_", "input min=None max=None")
def _clamp(c, a):
    lo = c.scalar(float(a["min"])) if a["min"] is not None else None
    hi = c.scalar(float(a["max"])) if a["max"] is not None else None
    return c.emit("Clip", [a["input"], lo, hi])


@fn("softmax", "input dim=None _stacklevel=3 dtype=None")
def _softmax(c, a):
    return c.emit("Softmax", [a["input"]], {"axis": norm(a["dim"]) if a["dim"] is not None else -1})


@fn("log_softmax", "input dim=None _stacklevel=3 dtype=None")
def _log_softmax(c, a):
    return c.emit("LogSoftmax", [a["input"]], {"axis": norm(a["dim"]) if a["dim"] is not None else -1})


for _n in ("dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout contiguous clone "
           "detach float double half cpu cuda requires_grad_ type_as to type").split():
    FUNCS[_n] = lambda c, a, k: a[0]


def _conv_fn(transposed):
    sig = ("input weight bias=None stride=1 padding=0 output_padding=0 groups=1 dilation=1" if transposed else
           "input weight bias=None stride=1 padding=0 dilation=1 groups=1")

    def f(c, a):
        x, w = a["input"], a["weight"]
        n = _rank(x) - 2
        k = ints(w.shape[2:])
        pp = ints(tup(a["padding"], n))
        attrs = {"dilations": ints(tup(a["dilation"], n)), "group": ints([a["groups"]])[0], "kernel_shape": k,
                 "pads": pp + pp, "strides": ints(tup(a["stride"], n))}
        if transposed:
            attrs["output_padding"] = ints(tup(a["output_padding"], n))
        ins = [x, w] + ([a["bias"]] if a["bias"] is not None else [])
        return c.emit("ConvTranspose" if transposed else "Conv", ins, attrs)

    return sig, f


for _n, _t in (("conv1d conv2d conv3d", False), ("conv_transpose1d conv_transpose2d conv_transpose3d", True)):
    _s, _f = _conv_fn(_t)
    fn(_n, _s)(_f)

fn("linear", "input weight bias=None")(lambda c, a: linear(c, a["input"], a["weight"], a["bias"]))


@fn("max_pool1d max_pool2d max_pool3d", "input kernel_size stride=None padding=0 dilation=1 ceil_mode=False "
    "return_indices=False")
def _max_pool(c, a):
    x = a["input"]
    return pool(c, x, "MaxPool", _rank(x) - 2, a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                a["ceil_mode"])


@fn("avg_pool1d avg_pool2d avg_pool3d", "input kernel_size stride=None padding=0 ceil_mode=False "
    "count_include_pad=True divisor_override=None")
def _avg_pool(c, a):
    x = a["input"]
    return pool(c, x, "AveragePool", _rank(x) - 2, a["kernel_size"], a["stride"], a["padding"], 1, a["ceil_mode"],
                a["count_include_pad"])


fn("adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d", "input output_size")(
    lambda c, a: adaptive(c, a["input"], a["output_size"], "avg"))
fn("adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d", "input output_size return_indices=False")(
    lambda c, a: adaptive(c, a["input"], a["output_size"], "max"))


def interpolate(c, x, size, scale, mode, align_corners):
    r = _rank(x)
    nsp = r - 2
    onnx_mode = {"nearest": "nearest", "nearest-exact": "nearest", "linear": "linear", "bilinear": "linear",
                 "trilinear": "linear", "bicubic": "cubic", "area": None}.get(mode)
    if onnx_mode is None:
        raise Stop(f"interpolate mode {mode!r}")
    attrs = {"mode": onnx_mode}
    if onnx_mode == "nearest":
        attrs["coordinate_transformation_mode"] = "asymmetric" if mode == "nearest" else "half_pixel"
        attrs["nearest_mode"] = "floor" if mode == "nearest" else "round_prefer_ceil"
    else:
        attrs["coordinate_transformation_mode"] = "align_corners" if align_corners else "pytorch_half_pixel"
        if onnx_mode == "cubic":
            attrs["cubic_coeff_a"] = -0.75
    if size is not None:
        sz = list(size) if isinstance(size, (list, tuple)) else [size] * nsp
        if len(sz) == 1:
            sz = sz * nsp
        full = [*x.shape[:2], *[num(v) for v in sz]]
        return c.emit("Resize", [x, None, None, c.ints(full, "sizes")], attrs)
    if scale is None:
        raise Stop("interpolate without size or scale_factor")
    sc = list(scale) if isinstance(scale, (list, tuple)) else [scale] * nsp
    return c.emit("Resize", [x, None, c.floats([1.0, 1.0, *[float(v) for v in sc]], "scales")], attrs)


fn("interpolate upsample", "input size=None scale_factor=None mode='nearest' align_corners=None "
   "recompute_scale_factor=None antialias=False")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], a["mode"], a["align_corners"]))
fn("upsample_nearest", "input size=None scale_factor=None")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], "nearest", None))
fn("upsample_bilinear", "input size=None scale_factor=None")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], "bilinear", True))
fn("pixel_shuffle", "input upscale_factor")(
    lambda c, a: c.emit("DepthToSpace", [a["input"]], {"blocksize": ints([a["upscale_factor"]])[0], "mode": "CRD"}))
fn("pixel_unshuffle", "input downscale_factor")(
    lambda c, a: c.emit("SpaceToDepth", [a["input"]], {"blocksize": ints([a["downscale_factor"]])[0]}))
fn("channel_shuffle", "input groups")(lambda c, a: channel_shuffle(c, a["input"], a["groups"]))


def pad(c, x, p, mode="constant", value=0.0):
    r = _rank(x)
    p = [norm(v) for v in p]
    begins, ends = [0] * r, [0] * r
    for i in range(len(p) // 2):  # torch: last axis first, (begin, end) pairs
        ax = r - 1 - i
        begins[ax], ends[ax] = p[2 * i], p[2 * i + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    ins = [x, c.ints(begins + ends, "pads")]
    if onnx_mode == "constant" and value:
        ins.append(c.scalar(float(value)))
    return c.emit("Pad", ins, {"mode": onnx_mode})


fn("pad", "input pad mode='constant' value=None")(
    lambda c, a: pad(c, a["input"], list(a["pad"]), a["mode"], a["value"] or 0.0))


@fn("normalize", "input p=2.0 dim=1 eps=1e-12 out=None")
def _normalize(c, a):
    return c.emit("LpNormalization", [a["input"]], {"axis": norm(a["dim"]), "p": int(a["p"])})


# arithmetic ------------------------------------------------------------------------

_BIN = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Divide": "Div", "Power": "Pow",
        "MatrixMultiply": "MatMul"}


def tensor_binop(it, op, a, b):
    onnx = _BIN.get(op)
    if onnx is None:
        if op == "FloorDivide":
            q = tensor_binop(it, "Divide", a, b)
            return FUNCS["floor"](Ctx(it, _fname(it, "floor"), it.site_loc(), it.site_loc()), [q], {})
        raise Stop(f"operator {op} on tensors")
    c = Ctx(it, _fname(it, onnx.lower()), it.site_loc(), it.site_loc())
    return c.emit(onnx, [_operand(it, c, a), _operand(it, c, b)])


def _operand(it, c, v):
    if isinstance(v, (Tensor, Param)):
        return v
    if isinstance(v, (int, float)) or isinstance(v, sp.Basic):
        return c.scalar(v)
    return as_tensor(it, v)


def tensor_unary(it, op, x):
    c = Ctx(it, _fname(it, op.lower()), it.site_loc(), it.site_loc())
    return c.emit(op, [x])


def tensor_compare(it, op, a, b):
    return Unknown("comparison of tensor values (data-dependent)")


for _n, _op in (("add add_", "Add"), ("sub sub_ subtract", "Subtract"), ("mul mul_ multiply", "Multiply"),
                ("div div_ divide true_divide", "Divide"), ("matmul mm bmm", "MatrixMultiply"), ("pow", "Power")):
    for _m in _n.split():
        FUNCS[_m] = (lambda o: lambda c, a, k: tensor_binop(
            c.it, o, a[0], (a[1] if len(a) > 1 else k.get("other")) if "alpha" not in k else
            tensor_binop(c.it, "Multiply", a[1], k["alpha"])))(_op)


@fn("cat concat concatenate", "tensors dim=0 out=None")
def _cat(c, a):
    ts = [as_tensor(c.it, t) for t in c.it.iterate(a["tensors"])]
    return c.emit("Concat", ts, {"axis": norm(a["dim"])})


@fn("stack", "tensors dim=0 out=None")
def _stack(c, a):
    ts = [as_tensor(c.it, t) for t in c.it.iterate(a["tensors"])]
    d = norm(a["dim"])
    ax = c.ints([d], "axes")
    us = [c.emit("Unsqueeze", [t, ax], suffix=f"Unsqueeze{i}") for i, t in enumerate(ts)]
    return c.emit("Concat", us, {"axis": d})


def flatten(c, x, start=0, end=-1):
    r = _rank(x)
    start, end = norm(start) % max(r, 1), norm(end) % max(r, 1)
    if end == r - 1 and r >= 2 and start == 1:
        return c.emit("Flatten", [x], {"axis": start})
    target = [*x.shape[:start], -1, *x.shape[end + 1:]]
    return reshape(c, x, target)


fn("flatten", "input start_dim=0 end_dim=-1")(lambda c, a: flatten(c, a["input"], a["start_dim"], a["end_dim"]))


def reshape(c, x, target):
    """Target entries as torch.onnx.export would leave them readable: a dim equal to the
    input's at the same index becomes 0 (copy), the one remaining symbolic entry -1."""
    target = [num(t) for t in target]
    if x.shape is not None and sum(1 for t in target if t == -1) == 1:
        i = next(i for i, t in enumerate(target) if t == -1)
        rest = sp.Mul(*[t for j, t in enumerate(target) if j != i])
        if rest != 0:
            target[i] = fdiv(sp.Mul(*x.shape), rest)  # exact (cancelled) for symbolic sizes too
    vals, sym = [], []
    for i, t in enumerate(target):
        if x.shape is not None and i < len(x.shape) and not t.is_number and sp.expand(t - x.shape[i]) == 0:
            vals.append(0)
        elif t.is_number:
            vals.append(t)
        else:
            vals.append(t)
            sym.append(i)
    if len(sym) == 1 and -1 not in vals:
        vals[sym[0]] = -1
    if x.shape is None and -1 not in vals and len(sym) > 1:
        vals[sym[0]] = -1
    return c.emit("Reshape", [x, c.ints(vals, "shape")])


def _view(c, a, k):
    x = a[0]
    target = _shape_args(c.it, a[1:] or [k.get("shape") or k.get("size")])
    return reshape(c, x, target)


FUNCS["view"] = _view
FUNCS["reshape"] = lambda c, a, k: reshape(c, a[0], _shape_args(c.it, a[1:] or [k.get("shape")]))


def _view_as(c, a, k):
    return reshape(c, a[0], list(a[1].shape))


FUNCS["view_as"] = _view_as
FUNCS["reshape_as"] = _view_as


def _permute(c, a, k):
    perm = _shape_args(c.it, a[1:] or [k.get("dims")])
    r = _rank(a[0])
    return c.emit("Transpose", [a[0]], {"perm": [p % r for p in ints(perm)]})


FUNCS["permute"] = _permute


@fn("transpose swapaxes", "input dim0 dim1")
def _transpose(c, a):
    r = _rank(a["input"])
    perm = list(range(r))
    i, j = norm(a["dim0"]) % r, norm(a["dim1"]) % r
    perm[i], perm[j] = perm[j], perm[i]
    return c.emit("Transpose", [a["input"]], {"perm": perm})


FUNCS["t"] = lambda c, a, k: c.emit("Transpose", [a[0]], {"perm": [1, 0]})


@fn("squeeze", "input dim=None")
def _squeeze(c, a):
    x = a["input"]
    r = _rank(x)
    if a["dim"] is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    else:
        dims = a["dim"] if isinstance(a["dim"], (list, tuple)) else [a["dim"]]
        axes = [norm(d) % r for d in dims]
        axes = [i for i in axes if x.shape[i] == 1 or not x.shape[i].is_number]
    if not axes:
        return x
    return c.emit("Squeeze", [x, c.ints(axes, "axes")])


@fn("unsqueeze", "input dim")
def _unsqueeze(c, a):
    x = a["input"]
    d = norm(a["dim"])
    if d < 0:
        d += _rank(x) + 1
    return c.emit("Unsqueeze", [x, c.ints([d], "axes")])


def _reduce_fn(op):
    def f(c, a, k):
        x = a[0]
        dim = a[1] if len(a) > 1 else k.get("dim", k.get("axis"))
        keep = a[2] if len(a) > 2 else k.get("keepdim", False)
        ins = [x]
        if dim is not None:
            dims = dim if isinstance(dim, (list, tuple)) else [dim]
            ins.append(c.ints([norm(d) for d in dims], "axes"))
        return c.emit(op, ins, {"keepdims": int(bool(keep))})

    return f


FUNCS["mean"] = _reduce_fn("ReduceMean")
FUNCS["sum"] = _reduce_fn("ReduceSum")
FUNCS["amax"] = _reduce_fn("ReduceMax")
FUNCS["amin"] = _reduce_fn("ReduceMin")


def _max(c, a, k):
    if len(a) > 1 and isinstance(a[1], (Tensor, Param)):
        return c.emit("Max", [a[0], a[1]])
    if len(a) > 1 or "dim" in k:
        dim = norm(a[1] if len(a) > 1 else k["dim"])
        keep = a[2] if len(a) > 2 else k.get("keepdim", False)
        v = c.emit("ReduceMax", [a[0], c.ints([dim], "axes")], {"keepdims": int(bool(keep))})
        i = c.emit("ArgMax", [a[0]], {"axis": dim, "keepdims": int(bool(keep))}, suffix="ArgMax")
        return (v, i)
    return c.emit("ReduceMax", [a[0]], {"keepdims": 0})


FUNCS["max"] = _max


def _chunk(c, a, k):
    x = a[0]
    n = c.it.concrete_int(a[1] if len(a) > 1 else k["chunks"], "chunks")
    dim = norm(a[2] if len(a) > 2 else k.get("dim", 0))
    outs = c.emit("Split", [x], {"axis": dim, "num_outputs": n}, n_out=n)
    return tuple(outs) if n > 1 else (outs,)


FUNCS["chunk"] = _chunk


def _split(c, a, k):
    x = a[0]
    s = a[1] if len(a) > 1 else k.get("split_size_or_sections", k.get("split_size"))
    dim = norm(a[2] if len(a) > 2 else k.get("dim", 0))
    r = _rank(x)
    d = x.shape[dim % r]
    if isinstance(s, (list, tuple)):
        sizes = [norm(v) for v in s]
    else:
        s = norm(s)
        if not d.is_number:
            raise Stop("split by a size along an axis of symbolic length")
        full, rest = divmod(int(d), s)
        sizes = [s] * full + ([rest] if rest else [])
    outs = c.emit("Split", [x, c.ints(sizes, "split")], {"axis": dim}, n_out=len(sizes))
    return tuple(outs) if len(sizes) > 1 else (outs,)


FUNCS["split"] = _split


def _expand(c, a, k):
    x = a[0]
    target = _shape_args(c.it, a[1:])
    vals = [1 if norm(t) == -1 else t for t in target]
    return c.emit("Expand", [x, c.ints(vals, "shape")])


FUNCS["expand"] = _expand
FUNCS["expand_as"] = lambda c, a, k: c.emit("Expand", [a[0], c.ints(list(a[1].shape), "shape")])
FUNCS["repeat"] = lambda c, a, k: c.emit("Tile", [a[0], c.ints(_shape_args(c.it, a[1:]), "repeats")])


def _narrow(c, a, k):
    x, dim, start, length = a[0], norm(a[1]), a[2], a[3]
    return c.emit("Slice", [x, c.ints([start], "starts"), c.ints([num(start) + num(length)], "ends"),
                            c.ints([dim], "axes")])


FUNCS["narrow"] = _narrow


# tensor attributes ---------------------------------------------------------------


_NON_TENSOR = {"size", "dim", "ndimension", "numel", "nelement"}


def tensor_attr(it, x, name):
    if isinstance(x, Param):
        if name in ("data", "weight"):
            return x
        if name in ("shape",):
            return tuple(norm(d) for d in x.shape)
        if name == "size":
            return Builtin("size", lambda it_, a, k, s: _size(x.shape, a))
        if name in ("numel", "nelement"):
            return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*x.shape)))
        if name in ("dim", "ndimension"):
            return Builtin(name, lambda it_, a, k, s: len(x.shape))
        if name == "ndim":
            return len(x.shape)
        if name.endswith("_") or name in ("fill", "uniform", "normal", "copy"):
            return Builtin(name, lambda it_, a, k, s: x)
        if name in ("requires_grad",):
            return True
        if it.phase == "forward":
            t = it.builder.materialize(x)
            return tensor_attr(it, t, name)
        return Unknown(f"parameter .{name}")
    if name == "shape":
        if x.shape is None:
            return Unknown("shape of a tensor of unknown rank")
        return tuple(norm(d) for d in x.shape)
    if name == "ndim":
        return _rank(x)
    if name in ("data", "T") and name == "data":
        return x
    if name == "dtype":
        return x.dtype
    if name == "device":
        return None
    if name == "is_cuda":
        return False
    if name == "requires_grad":
        return False
    if name == "size":
        return Builtin("size", lambda it_, a, k, s: _size(x.shape, a) if x.shape is not None else
                       Unknown("size of a tensor of unknown rank"))
    if name in ("dim", "ndimension"):
        return Builtin(name, lambda it_, a, k, s: _rank(x))
    if name in ("numel", "nelement"):
        return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*x.shape)))
    h = FUNCS.get(name)
    if h is None:
        h = FUNCS.get(name.rstrip("_"))
    if h is None:
        return Builtin(name, lambda it_, a, k, s: unknown_node(it_, f"tensor.{name}", [x, *a], k,
                                                               _fname(it_, name), it_.site_loc(), it_.site_loc()))
    return Builtin(name, lambda it_, a, k, s: call_func(it_, name, h, [x, *a], dict(k), s))


def _size(shape, a):
    if a:
        return norm(shape[norm(a[0])])
    return tuple(norm(d) for d in shape)


def tensor_select(it, x, i):
    c = Ctx(it, _fname(it, "select"), it.site_loc(), it.site_loc())
    return c.emit("Gather", [x, c.b.const([i], f"{c.name}/index", INT64, shape=())], {"axis": 0})


def tensor_index(it, x, elems, frame):
    keys = []
    for el in elems:
        s = el.slice
        import libcst as cst
        if isinstance(s, cst.Index):
            keys.append(it.eval(s.value, frame))
        else:
            keys.append(slice(None if s.lower is None else it.eval(s.lower, frame),
                              None if s.upper is None else it.eval(s.upper, frame),
                              None if s.step is None else it.eval(s.step, frame)))
    r = _rank(x)
    c = Ctx(it, _fname(it, "slice"), it.site_loc(), it.site_loc())
    # expand the ellipsis
    if any(k is Ellipsis for k in keys):
        i = keys.index(Ellipsis)
        n_real = sum(1 for k in keys if k is not None and k is not Ellipsis)
        keys = keys[:i] + [slice(None)] * (r - n_real) + keys[i + 1:]
    starts, ends, axes, steps, gathers, unsq = [], [], [], [], [], []
    ax = 0
    out_ax = 0
    for k in keys:
        if k is None:
            unsq.append(out_ax)
            out_ax += 1
            continue
        if isinstance(k, slice):
            if not (k.start is None and k.stop is None and k.step is None):
                starts.append(norm(k.start) if k.start is not None else 0)
                ends.append(norm(k.stop) if k.stop is not None else 2 ** 62)
                axes.append(ax)
                steps.append(norm(k.step) if k.step is not None else 1)
            ax += 1
            out_ax += 1
            continue
        if isinstance(k, (Tensor, Param)):
            raise Stop("indexing a tensor with a tensor (data-dependent)")
        gathers.append((ax, norm(k)))
        ax += 1
    y = x
    if axes:
        y = c.emit("Slice", [y, c.ints(starts, "starts"), c.ints(ends, "ends"), c.ints(axes, "axes"),
                             c.ints(steps, "steps")])
    for k, (a, i) in enumerate(reversed(gathers)):
        y = c.emit("Gather", [y, c.b.const([i], f"{c.name}/index", INT64, shape=())], {"axis": a},
                   suffix=f"Gather{k}" if (k or axes) else "")
    if unsq:
        y = c.emit("Unsqueeze", [y, c.ints(unsq, "axes")], suffix="Unsqueeze")
    return y


# python objects --------------------------------------------------------------------


def python_attr(it, obj, name):
    if isinstance(obj, list):
        if name == "append":
            return Builtin(name, lambda it_, a, k, s: obj.append(a[0]))
        if name == "extend":
            return Builtin(name, lambda it_, a, k, s: obj.extend(it_.iterate(a[0])))
        if name == "insert":
            return Builtin(name, lambda it_, a, k, s: obj.insert(it_.concrete_int(a[0]), a[1]))
        if name == "pop":
            return Builtin(name, lambda it_, a, k, s: obj.pop(*[it_.concrete_int(x) for x in a]))
        if name == "index":
            return Builtin(name, lambda it_, a, k, s: next(i for i, v in enumerate(obj) if it_._eq(v, a[0])))
        if name == "count":
            return Builtin(name, lambda it_, a, k, s: sum(1 for v in obj if it_._eq(v, a[0])))
        if name == "copy":
            return Builtin(name, lambda it_, a, k, s: list(obj))
        if name == "reverse":
            return Builtin(name, lambda it_, a, k, s: obj.reverse())
    if isinstance(obj, dict):
        if name in ("items", "keys", "values"):
            return Builtin(name, lambda it_, a, k, s: list(getattr(obj, name)()))
        if name == "get":
            return Builtin(name, lambda it_, a, k, s: obj.get(_norm_key(a[0]), a[1] if len(a) > 1 else None))
        if name == "pop":
            return Builtin(name, lambda it_, a, k, s: obj.pop(_norm_key(a[0]), *a[1:]))
        if name == "update":
            return Builtin(name, lambda it_, a, k, s: (obj.update(a[0] if a else {}), obj.update(k)) and None)
        if name == "copy":
            return Builtin(name, lambda it_, a, k, s: dict(obj))
        if name == "setdefault":
            return Builtin(name, lambda it_, a, k, s: obj.setdefault(_norm_key(a[0]), a[1] if len(a) > 1 else None))
    if isinstance(obj, str):
        if name == "format":
            return Builtin(name, lambda it_, a, k, s: obj.format(*[norm(x) for x in a],
                                                                 **{kk: norm(v) for kk, v in k.items()}))
        if hasattr(str, name):
            return Builtin(name, lambda it_, a, k, s: getattr(obj, name)(*a, **k))
    if isinstance(obj, (int, float)) and name in ("is_integer", "bit_length"):
        return Builtin(name, lambda it_, a, k, s: getattr(obj, name)())
    if isinstance(obj, tuple) and name in ("index", "count"):
        return Builtin(name, lambda it_, a, k, s: getattr(obj, name)(a[0]))
    if isinstance(obj, (UserFunction, Builtin, BoundMethod, Partial)):
        if name in ("func",) and isinstance(obj, Partial):
            return obj.func
    raise Stop(f"{type(obj).__name__} has no attribute {name!r} cnnsym can follow")


_CTOR_SAME = {"float", "double", "half", "bfloat16", "long", "int", "bool", "clone", "detach", "contiguous", "to",
              "type", "cuda", "cpu", "abs", "exp", "log", "sqrt", "neg", "sigmoid", "tanh", "sin", "cos", "clamp",
              "clamp_min", "clamp_max", "mul", "add", "sub", "div", "pow"}


def ctor_attr(it, x, name):
    """Shape-only methods of a tensor made in ``__init__`` (torch.tensor([...]).view(1, 3, 1, 1))."""
    shape = [norm(d) for d in x.shape]

    def concrete(seq):
        return [it.concrete_int(d, "size") for d in seq]

    def args_shape(a):
        return list(a[0]) if len(a) == 1 and isinstance(a[0], (list, tuple)) else list(a)

    def view(it_, a, k, s):
        tgt = concrete(args_shape(a))
        if -1 in tgt:
            total = 1
            for d in concrete(shape):
                total *= d
            known = 1
            for d in tgt:
                known *= d if d != -1 else 1
            tgt[tgt.index(-1)] = total // known
        return TensorCtor(tgt, x.dtype, x.value)

    def dim_index(d, n):
        d = it.concrete_int(d, "dim")
        return d + n if d < 0 else d

    def unsqueeze(it_, a, k, s):
        d = dim_index(a[0] if a else k["dim"], len(shape) + 1)
        return TensorCtor(shape[:d] + [1] + shape[d:], x.dtype, x.value)

    def squeeze(it_, a, k, s):
        if not a and "dim" not in k:
            return TensorCtor([d for d in shape if d != 1], x.dtype, x.value)
        d = dim_index(a[0] if a else k["dim"], len(shape))
        return TensorCtor(shape[:d] + shape[d + 1:] if shape[d] == 1 else shape, x.dtype, x.value)

    def expand(it_, a, k, s):
        tgt = args_shape(a)
        lead = len(tgt) - len(shape)
        return TensorCtor([norm(t) if norm(t) != -1 else shape[i - lead] for i, t in enumerate(tgt)], x.dtype, x.value)

    def repeat(it_, a, k, s):
        reps = args_shape(a)
        full = [1] * (len(reps) - len(shape)) + shape
        return TensorCtor([norm(d * r) for d, r in zip(full, reps)], x.dtype, x.value)

    def transpose(it_, a, k, s):
        i, j = dim_index(a[0], len(shape)), dim_index(a[1], len(shape))
        out = list(shape)
        out[i], out[j] = out[j], out[i]
        return TensorCtor(out, x.dtype, x.value)

    def permute(it_, a, k, s):
        return TensorCtor([shape[dim_index(d, len(shape))] for d in args_shape(a)], x.dtype, x.value)

    def flatten(it_, a, k, s):
        st = dim_index(a[0] if a else k.get("start_dim", 0), len(shape)) if shape else 0
        en = dim_index(a[1] if len(a) > 1 else k.get("end_dim", -1), len(shape)) if shape else 0
        return TensorCtor(shape[:st] + [norm(sp.Mul(*shape[st:en + 1]))] + shape[en + 1:], x.dtype, x.value)

    fns = {"view": view, "reshape": view, "unsqueeze": unsqueeze, "squeeze": squeeze, "expand": expand,
           "repeat": repeat, "transpose": transpose, "permute": permute, "flatten": flatten}
    if name in fns:
        return Builtin(name, fns[name])
    if name == "shape":
        return tuple(shape)
    if name == "size":
        return Builtin(name, lambda it_, a, k, s: _size(shape, a))
    if name in ("numel", "nelement"):
        return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*shape)))
    if name in ("dim", "ndimension"):
        return Builtin(name, lambda it_, a, k, s: len(shape))
    if name == "ndim":
        return len(shape)
    if name == "t":
        return Builtin(name, lambda it_, a, k, s: TensorCtor(shape[::-1], x.dtype, x.value))
    if name == "T":
        return TensorCtor(shape[::-1], x.dtype, x.value)
    if name in _CTOR_SAME or name.endswith("_"):
        return Builtin(name, lambda it_, a, k, s: x if name.endswith("_") else TensorCtor(shape, x.dtype, x.value))
    raise Stop(f"tensor made in __init__ has no attribute {name!r} cnnsym can follow")


def ctor_binop(it, op, a, b):
    """Arithmetic on tensors made in ``__init__`` (init_values * torch.ones(dim)): the broadcast shape."""
    shapes = [list(v.shape) for v in (a, b) if isinstance(v, TensorCtor)]
    for v in (a, b):
        if not isinstance(v, (TensorCtor, int, float, bool, sp.Basic)):
            raise Stop(f"{op} of {type(v).__name__} and a tensor made in __init__")
    n = max(len(sh) for sh in shapes)
    out = []
    for i in range(n):
        dims = {norm(sh[i - n + len(sh)]) for sh in shapes if i - n + len(sh) >= 0} - {1}
        if len(dims) > 1:
            raise Stop("shapes that do not broadcast")
        out.append(dims.pop() if dims else 1)
    src = a if isinstance(a, TensorCtor) else b
    return TensorCtor(out, src.dtype, a.value if isinstance(a, TensorCtor) and a.value == "param" else None)


def _norm_key(k):
    return norm(k)


def argparse_attr(it, p: ArgParser, name):
    if name == "add_argument":
        def add(it_, a, k, s):
            flags = [x for x in a if isinstance(x, str)]
            dest = k.get("dest")
            if dest is None:
                longs = [f for f in flags if f.startswith("--")]
                dest = (longs[0] if longs else flags[0]).lstrip("-").replace("-", "_")
            default = k.get("default")
            if k.get("action") == "store_true" and default is None:
                default = False
            if k.get("action") == "store_false" and default is None:
                default = True
            p.defaults[dest] = default

        return Builtin(name, add)
    if name in ("parse_args", "parse_known_args"):
        def parse(it_, a, k, s):
            ns = NS(p.defaults)
            return ns if name == "parse_args" else (ns, [])

        return Builtin(name, parse)
    if name == "set_defaults":
        return Builtin(name, lambda it_, a, k, s: p.defaults.update(k))
    return Builtin(name, lambda it_, a, k, s: p)
