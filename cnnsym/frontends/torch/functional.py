"""torch.X and torch.nn.functional.X functions (also reached as tensor methods, ``x.relu()``):
activations, convolutions, pooling, ``F.interpolate`` (``Resize``), ``F.pad``, ``cat``,
``stack``, pixel and channel shuffles. Shape functions (``view``, ``permute``, ...) are in
:mod:`.tensor_methods`."""
from __future__ import annotations

from . import requires
from .emit import as_tensor, div, ints, rank_of, tup
from .modules_activation import clip, silu
from .modules_linear import linear
from .modules_pool import adaptive, pool
from .registry import FUNCS
from .values import Stop, norm, num


def _unary(op, attrs=None):
    return lambda c, a: c.emit(op, [as_tensor(c.it, a["input"])], attrs(a) if attrs else {})


for _names, _op in (("relu relu_", "Relu"), ("sigmoid sigmoid_", "Sigmoid"), ("tanh tanh_", "Tanh"),
                    ("hardswish", "HardSwish"), ("mish", "Mish"), ("exp", "Exp"), ("sqrt", "Sqrt"),
                    ("abs", "Abs"), ("neg", "Neg"), ("log", "Log"), ("selu", "Selu"), ("softsign", "Softsign"),
                    ("floor", "Floor"), ("ceil", "Ceil"), ("rsqrt", None), ("reciprocal", "Reciprocal"),
                    ("sign", "Sign"), ("erf", "Erf"), ("sin", "Sin"), ("cos", "Cos")):
    if _op:
        FUNCS.register(_names, "input inplace=False")(_unary(_op))

FUNCS.register("leaky_relu leaky_relu_", "input negative_slope=0.01 inplace=False")(
    _unary("LeakyRelu", lambda a: {"alpha": float(a["negative_slope"])}))
FUNCS.register("elu elu_", "input alpha=1.0 inplace=False")(_unary("Elu", lambda a: {"alpha": float(a["alpha"])}))
FUNCS.register("gelu", "input approximate='none'")(_unary("Gelu", lambda a: {"approximate": a["approximate"]}))
FUNCS.register("hardsigmoid", "input inplace=False")(_unary("HardSigmoid", lambda a: {"alpha": 1.0 / 6, "beta": 0.5}))
FUNCS.register("softplus", "input beta=1.0 threshold=20.0")(_unary("Softplus"))
FUNCS.register("silu", "input inplace=False")(lambda c, a: silu(c, as_tensor(c.it, a["input"])))
FUNCS.register("relu6", "input inplace=False")(lambda c, a: clip(c, a["input"], 0.0, 6.0))
FUNCS.register("hardtanh hardtanh_", "input min_val=-1.0 max_val=1.0 inplace=False")(
    lambda c, a: clip(c, a["input"], float(a["min_val"]), float(a["max_val"])))


@FUNCS.register("clamp clip clamp_", "input min=None max=None")
def _clamp(c, a):
    lo = c.scalar(float(a["min"])) if a["min"] is not None else None
    hi = c.scalar(float(a["max"])) if a["max"] is not None else None
    return c.emit("Clip", [a["input"], lo, hi])


@FUNCS.register("softmax", "input dim=None _stacklevel=3 dtype=None")
def _softmax(c, a):
    return c.emit("Softmax", [a["input"]], {"axis": norm(a["dim"]) if a["dim"] is not None else -1})


@FUNCS.register("einsum")
def _einsum(c, a, k):
    """torch.einsum(equation, *operands) or (equation, [operands]): ONNX Einsum (torch accepts
    spaces and upper-case letters in the equation, and so does the op)."""
    if not a or not isinstance(norm(a[0]), str):
        raise Stop("einsum without an equation string")
    ops = a[1] if len(a) == 2 and isinstance(a[1], (list, tuple)) else a[1:]
    return c.emit("Einsum", [as_tensor(c.it, x) for x in ops], {"equation": norm(a[0]).replace(" ", "")})


@FUNCS.register("log_softmax", "input dim=None _stacklevel=3 dtype=None")
def _log_softmax(c, a):
    return c.emit("LogSoftmax", [a["input"]], {"axis": norm(a["dim"]) if a["dim"] is not None else -1})


for _n in ("dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout contiguous clone "
           "detach float double half cpu cuda requires_grad_ type_as to type").split():
    FUNCS.register(_n)(lambda c, a, k: a[0])


def _conv_fn(transposed):
    sig = ("input weight bias=None stride=1 padding=0 output_padding=0 groups=1 dilation=1" if transposed else
           "input weight bias=None stride=1 padding=0 dilation=1 groups=1")

    def f(c, a):
        x, w = a["input"], a["weight"]
        n = rank_of(x) - 2
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
    FUNCS.register(_n, _s)(_f)

FUNCS.register("linear", "input weight bias=None")(lambda c, a: linear(c, a["input"], a["weight"], a["bias"]))


@FUNCS.register("max_pool1d max_pool2d max_pool3d",
                "input kernel_size stride=None padding=0 dilation=1 ceil_mode=False "
                "return_indices=False")
def _max_pool(c, a):
    x = a["input"]
    return pool(c, x, "MaxPool", rank_of(x) - 2, a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                a["ceil_mode"])


@FUNCS.register("avg_pool1d avg_pool2d avg_pool3d", "input kernel_size stride=None padding=0 ceil_mode=False "
                "count_include_pad=True divisor_override=None")
def _avg_pool(c, a):
    x = a["input"]
    return pool(c, x, "AveragePool", rank_of(x) - 2, a["kernel_size"], a["stride"], a["padding"], 1, a["ceil_mode"],
                a["count_include_pad"])


FUNCS.register("adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d", "input output_size")(
    lambda c, a: adaptive(c, a["input"], a["output_size"], "avg"))
FUNCS.register("adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d", "input output_size return_indices=False")(
    lambda c, a: adaptive(c, a["input"], a["output_size"], "max"))


def interpolate(c, x, size, scale, mode, align_corners):
    r = rank_of(x)
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


FUNCS.register("interpolate upsample", "input size=None scale_factor=None mode='nearest' align_corners=None "
               "recompute_scale_factor=None antialias=False")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], a["mode"], a["align_corners"]))
FUNCS.register("upsample_nearest", "input size=None scale_factor=None")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], "nearest", None))
FUNCS.register("upsample_bilinear", "input size=None scale_factor=None")(
    lambda c, a: interpolate(c, a["input"], a["size"], a["scale_factor"], "bilinear", True))
FUNCS.register("pixel_shuffle", "input upscale_factor")(
    lambda c, a: c.emit("DepthToSpace", [a["input"]], {"blocksize": ints([a["upscale_factor"]])[0], "mode": "CRD"}))
FUNCS.register("pixel_unshuffle", "input downscale_factor")(
    lambda c, a: c.emit("SpaceToDepth", [a["input"]], {"blocksize": ints([a["downscale_factor"]])[0]}))
FUNCS.register("channel_shuffle", "input groups")(lambda c, a: channel_shuffle(c, a["input"], a["groups"]))


def pad(c, x, p, mode="constant", value=0.0):
    r = rank_of(x)
    p = [norm(v) for v in p]
    begins, ends = [0] * r, [0] * r
    for i in range(len(p) // 2):  # torch: last axis first, (begin, end) pairs
        ax = r - 1 - i
        begins[ax], ends[ax] = p[2 * i], p[2 * i + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    ins = [x, c.ints(begins + ends, "pads")]
    if onnx_mode == "constant" and value:
        ins.append(c.scalar(float(value)))
    y = c.emit("Pad", ins, {"mode": onnx_mode})
    if mode == "circular":
        requires.circular_pad(c, y, x, begins, ends)
    return y


FUNCS.register("pad", "input pad mode='constant' value=None")(
    lambda c, a: pad(c, a["input"], list(a["pad"]), a["mode"], a["value"] or 0.0))


@FUNCS.register("normalize", "input p=2.0 dim=1 eps=1e-12 out=None")
def _normalize(c, a):
    return c.emit("LpNormalization", [a["input"]], {"axis": norm(a["dim"]), "p": int(a["p"])})



@FUNCS.register("cat concat concatenate", "tensors dim=0 out=None")
def _cat(c, a):
    ts = [as_tensor(c.it, t) for t in c.it.iterate(a["tensors"])]
    return c.emit("Concat", ts, {"axis": norm(a["dim"])})


@FUNCS.register("stack", "tensors dim=0 out=None")
def _stack(c, a):
    ts = [as_tensor(c.it, t) for t in c.it.iterate(a["tensors"])]
    d = norm(a["dim"])
    ax = c.ints([d], "axes")
    us = [c.emit("Unsqueeze", [t, ax], suffix=f"Unsqueeze{i}") for i, t in enumerate(ts)]
    return c.emit("Concat", us, {"axis": d})


def channel_shuffle(c, x, g):
    n, ch, h, w = x.shape
    y = c.emit("Reshape", [x, c.ints([0, g, div(ch, g), -1, 0] if False else [0, g, -1, 0, 0], "shape")], suffix="Reshape")
    y = c.emit("Transpose", [y], {"perm": [0, 2, 1, 3, 4]}, suffix="Transpose")
    return c.emit("Reshape", [y, c.ints([0, -1, 0, 0], "shape2")])


@FUNCS.register("layer_norm", "input normalized_shape weight=None bias=None eps=1e-05")
def _layer_norm(c, a):
    """F.layer_norm (LayerNorm2d in ConvNeXt calls it with the module's own parameters)."""
    shape = a["normalized_shape"]
    shape = list(shape) if isinstance(shape, (list, tuple)) else [shape]
    ins = [as_tensor(c.it, a["input"])]
    if a["weight"] is not None:
        ins.append(a["weight"])
        if a["bias"] is not None:
            ins.append(a["bias"])
    else:
        ins.append(c.zeros_like_param(shape, "scale"))
    return c.emit("LayerNormalization", ins, {"axis": -len(shape), "epsilon": float(a["eps"])})
