"""Differential fuzzing of cnnsym against onnxruntime: random CNN graphs (hypothesis
strategies) and the property that checks them. Shared by ``tests/test_fuzz.py`` (a short,
deterministic CI profile) and ``bench/fuzz.py`` (a long campaign).

The graphs have symbolic inputs ``(N, C, *spatial)`` with 1-3 spatial axes (dim_param
``L``; ``H, W``; ``D, H, W``; sometimes one shared symbol ``S`` or a fixed extent). The
channel count is kept static along the main path, so every graph is valid for *some*
spatial sizes by construction ("-ish": branches that must agree, Squeeze of a spatial axis,
MatMul against a fixed extent... are valid only on part of the domain, which is the point).

The property, at each binding of the symbols (sizes from 1 upward: small, odd, prime, the
smallest valid input cnnsym reports and its neighbours, the edges of each valid range):

- cnnsym says valid (no violated constraint) => onnxruntime runs and every node output has
  exactly the shape of cnnsym's formula evaluated there;
- cnnsym says invalid => onnxruntime fails (raises), or produces an empty tensor at the
  node whose constraint is violated (or upstream of it). The one tolerated disagreement is
  documented in ``cnnsym/ops/_spatial.py``: a floor-mode pool where the spec's output
  extent is 0 and onnxruntime's C++ ``trunc`` gives 1; cnnsym follows the spec and excludes
  those sizes. Every violated constraint must be explained by such a node (at it or
  downstream of it); anything else is a mismatch.

Attribute combinations onnxruntime refuses whatever the sizes (documented in the op
docstrings, or found by this fuzzer and listed in ``ORT_LIMITS``) are not generated: they
are not statements about sizes.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from cnnsym.analyze import analyze, evaluate
from cnnsym.domain import violated
from cnnsym.frontends.onnx import load

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
# largest spatial size drawn, by number of spatial axes (onnxruntime runs stay fast)
MAX_SIZE = {1: 300, 2: 90, 3: 24}
MAX_NUMEL = 3_000_000
POOLS_FLOOR_QUIRK = ("MaxPool", "AveragePool", "LpPool")

# Combinations onnxruntime (1.32) refuses at every size; the generator avoids them.
ORT_LIMITS = """
- Conv with auto_pad SAME_* and dilation > 1 (cnnsym/ops/_spatial.py)
- pools with pads >= kernel (cnnsym/ops/_spatial.py)
- ConvTranspose with explicit pads and any auto_pad, VALID included (onnx shape inference)
- Resize in cubic mode other than on the two inner axes of a 4-D tensor
- ConvTranspose with output_padding >= stride (cnnsym/ops/conv.py)
- Slice once a spatial extent may be static: onnxruntime aborts the process (std::clamp
  assertion) where onnx infers the sliced axis empty or negative
- pools in ceil mode once a spatial extent may be static: onnx shape inference lacks the
  last-window rule that onnxruntime's kernel applies; the next op is refused at load
- ConvTranspose SAME_* once a spatial extent may be static: onnx shape inference and
  onnxruntime's kernel disagree and the next op is refused at load
- ConvTranspose with output_shape once a spatial extent may be static: onnx shape
  inference then gives its output rank 2 and refuses the next op
- a dilated SAME_* pool once a spatial extent may be static: onnx shape inference uses the
  spec's ceil(x/s), onnxruntime's kernel (and cnnsym) not, and the next op is refused at load
- Split from opset 18 with neither split nor num_outputs: onnx shape inference refuses it
  where it can infer the dim (a question of what onnx infers, not of sizes)
"""


# --------------------------------------------------------------------------- builder
class Builder:
    def __init__(self, opset):
        self.opset = opset
        self.nodes, self.inits = [], []
        self.k = 0
        # a spatial extent may be static from here on (global pool, Resize to sizes,
        # ConvTranspose output_shape, Squeeze/Unsqueeze, a fixed input axis): onnx's shape inference then
        # computes it at load, and where it disagrees with onnxruntime's kernel (and cnnsym)
        # the graph is refused whatever the sizes; see ORT_LIMITS
        self.static = False

    def fresh(self, p):
        self.k += 1
        return f"{p}{self.k}"

    def const(self, arr, dtype=np.int64, p="c"):
        name = self.fresh(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    def weight(self, *shape):
        name = self.fresh("w")
        rng = np.random.default_rng(len(self.inits))
        self.inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1, name))
        return name

    def node(self, op, inputs, n_out=1, **attrs):
        outs = [self.fresh("t") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=f"n{len(self.nodes)}_{op}", **attrs))
        return outs if n_out > 1 else outs[0]

    # opset-dependent operand placement
    def axes_op(self, op, x, axes):
        if self.opset >= 13:
            return self.node(op, [x, self.const(axes)])
        return self.node(op, [x], axes=list(axes))


@dataclass
class Tensor:
    name: str
    c: int  # static channels (axis 1)
    nsp: int  # number of spatial axes after the channel axis


@dataclass
class Case:
    model: onnx.ModelProto
    symbols: list  # spatial symbol names
    nsp: int
    ops: list = field(default_factory=list)

    def text(self):
        return onnx.printer.to_text(self.model)


SCALES = (0.25, 1 / 3, 0.333, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0)
MODES = ("nearest", "linear", "cubic")
CTMS = ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn",
        "half_pixel_symmetric")


# --------------------------------------------------------------------------- blocks
def _divisors(c):
    return [g for g in range(1, c + 1) if c % g == 0]


def conv(draw, b: Builder, t: Tensor) -> Tensor:
    n = t.nsp
    ap = draw(st.sampled_from(("NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")))
    k = [draw(st.integers(1, 5)) for _ in range(n)]
    s = [draw(st.sampled_from((1, 1, 2, 3))) for _ in range(n)]
    # onnxruntime refuses SAME_* with dilation > 1 (cnnsym/ops/_spatial.py)
    d = [1 if ap.startswith("SAME") else draw(st.sampled_from((1, 1, 1, 2, 3))) for _ in range(n)]
    pads = [draw(st.integers(0, 3)) for _ in range(2 * n)] if ap == "NOTSET" else None
    g = draw(st.sampled_from([1, t.c] + _divisors(t.c)))
    cout = g * draw(st.integers(1, 2 if g > 2 else 4))
    w = b.weight(cout, t.c // g, *k)
    ins = [t.name, w] + ([b.weight(cout)] if draw(st.booleans()) else [])
    y = b.node("Conv", ins, kernel_shape=k if draw(st.booleans()) else None, strides=s,
               dilations=d if any(v != 1 for v in d) or draw(st.booleans()) else None, pads=pads,
               group=g if g != 1 else None, auto_pad=None if ap == "NOTSET" and draw(st.booleans()) else ap)
    return Tensor(y, cout, n)


def conv_transpose(draw, b: Builder, t: Tensor) -> Tensor:
    n = t.nsp
    # (on a static extent onnx shape inference and onnxruntime's kernel disagree on SAME_*:
    # the next op is refused at load)
    ap = draw(st.sampled_from(("NOTSET", "VALID") if b.static else ("NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")))
    k = [draw(st.integers(1, 4)) for _ in range(n)]
    s = [draw(st.sampled_from((1, 2, 2, 3))) for _ in range(n)]
    d = [draw(st.sampled_from((1, 1, 1, 2))) for _ in range(n)]
    # onnxruntime refuses output_padding >= stride at every size (the spec allows < max(s, d))
    opad = [draw(st.integers(0, si - 1)) for si in s]
    # onnxruntime refuses explicit pads next to any auto_pad (VALID included)
    pads = [draw(st.integers(0, 2)) for _ in range(2 * n)] if ap == "NOTSET" and draw(st.booleans()) else None
    # (onnx shape inference gives ConvTranspose with output_shape rank 2 when an input
    # spatial extent is static, and the next op is refused: not a question of sizes)
    oshape = [draw(st.integers(1, 24)) for _ in range(n)] \
        if ap != "VALID" and not b.static and draw(st.integers(0, 4)) == 0 else None
    if oshape is not None:
        pads = None
        b.static = True
    g = draw(st.sampled_from([1] + _divisors(t.c)))
    m = draw(st.integers(1, 3))
    w = b.weight(t.c, m, *k)
    ins = [t.name, w] + ([b.weight(m * g)] if draw(st.booleans()) else [])
    y = b.node("ConvTranspose", ins, kernel_shape=k if draw(st.booleans()) else None, strides=s,
               dilations=d if any(v != 1 for v in d) else None, pads=pads,
               output_padding=opad if any(opad) else None, output_shape=oshape,
               group=g if g != 1 else None, auto_pad=None if ap == "NOTSET" else ap)
    return Tensor(y, m * g, n)


def pool(draw, b: Builder, t: Tensor) -> Tensor:
    n = t.nsp
    op = draw(st.sampled_from(("MaxPool", "MaxPool", "AveragePool", "AveragePool", "LpPool")))
    ap = draw(st.sampled_from(("NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")))
    k = [draw(st.integers(1, 4)) for _ in range(n)]
    s = [draw(st.sampled_from((1, 2, 2, 3))) for _ in range(n)]
    dil_ok = op == "MaxPool" or (op == "AveragePool" and b.opset >= 19) or (op == "LpPool" and b.opset >= 18)
    # a dilated SAME_* pool on a static extent: onnx shape inference (the spec's ceil(x/s))
    # and onnxruntime's kernel (undilated pad, cnnsym/ops/_spatial.py) disagree, and the
    # next op is refused at load
    if b.static and ap.startswith("SAME"):
        dil_ok = False
    d = [draw(st.sampled_from((1, 1, 2, 3))) if dil_ok else 1 for _ in range(n)]
    # onnxruntime refuses pads >= kernel (cnnsym/ops/_spatial.py)
    pads = [draw(st.integers(0, k[j % n] - 1)) for j in range(2 * n)] if ap == "NOTSET" else None
    ceil_ok = op != "LpPool" or b.opset >= 18
    attrs = dict(kernel_shape=k, strides=s, pads=pads, dilations=d if any(v != 1 for v in d) else None,
                 auto_pad=None if ap == "NOTSET" else ap,
                 # (ceil mode on a static extent: onnx shape inference lacks the rule that the
                 # last window starts inside the input, onnxruntime's kernel and cnnsym apply it,
                 # and the next op is refused at load)
                 ceil_mode=draw(st.sampled_from((0, 1))) if ceil_ok and not b.static else None)
    if op == "AveragePool":
        attrs["count_include_pad"] = draw(st.sampled_from((0, 1)))
    if op == "LpPool":
        attrs["p"] = draw(st.sampled_from((1, 2)))
    if op == "MaxPool" and draw(st.integers(0, 3)) == 0:
        y, _idx = b.node(op, [t.name], n_out=2, **attrs)
    else:
        y = b.node(op, [t.name], **attrs)
    return Tensor(y, t.c, n)


def global_pool(draw, b, t):
    b.static = True
    op = draw(st.sampled_from(("GlobalAveragePool", "GlobalMaxPool")))
    return Tensor(b.node(op, [t.name]), t.c, t.nsp)


def _resize_node(draw, b, t, scales=None, sizes=None, axes=None, mode="nearest", **attrs):
    if b.opset < 11:
        raise AssertionError("opset >= 11 only")
    names = [t.name]
    if b.opset < 13:
        names.append(b.const([], np.float32))
        names.append(b.const(scales if scales is not None else [], np.float32))
    else:
        names.append("")
        names.append(b.const(scales, np.float32) if scales is not None else "")
    if sizes is not None:
        names.append(sizes)
    while names[-1] == "":
        names.pop()
    return b.node("Resize", names, mode=mode, axes=axes, **attrs)


def resize(draw, b: Builder, t: Tensor) -> Tensor:
    n, r = t.nsp, t.nsp + 2
    # onnxruntime: cubic only for 2-D, or 4-D with the two outer scales 1
    mode = draw(st.sampled_from(MODES if n == 2 else MODES[:2]))
    attrs = dict(coordinate_transformation_mode=draw(st.sampled_from(CTMS[:5] + ((CTMS[5],) if b.opset >= 19 else ()))))
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")))
    if mode != "nearest" and b.opset >= 18 and draw(st.integers(0, 3)) == 0:
        attrs["antialias"] = 1
    use_axes = b.opset >= 18 and draw(st.booleans())
    kind = draw(st.sampled_from(("scales", "scales", "sizes", "shape_sizes")))
    if kind == "scales":
        sc = [float(draw(st.sampled_from(SCALES))) for _ in range(n)]
        if use_axes:
            y = _resize_node(draw, b, t, scales=sc, axes=list(range(2, r)), mode=mode, **attrs)
        else:
            y = _resize_node(draw, b, t, scales=[1.0, 1.0] + sc, mode=mode, **attrs)
        return Tensor(y, t.c, n)
    if kind == "sizes":
        b.static = True
        sz = [draw(st.integers(1, 12)) for _ in range(n)]
        if use_axes:
            pol = draw(st.sampled_from(("stretch", "not_larger", "not_smaller")))
            y = _resize_node(draw, b, t, sizes=b.const(sz), axes=list(range(2, r)), mode=mode,
                             keep_aspect_ratio_policy=pol, **attrs)
            return Tensor(y, t.c, n)
        # N and C from the tensor's own shape (exporter style), spatial sizes fixed
        head = b.node("Shape", [t.name], start=0, end=2) if b.opset >= 15 else \
            b.node("Slice", [b.node("Shape", [t.name]), b.const([0]), b.const([2])])
        sizes = b.node("Concat", [head, b.const(sz)], axis=0)
        return Tensor(_resize_node(draw, b, t, sizes=sizes, mode=mode, **attrs), t.c, n)
    # shape arithmetic: spatial sizes = Shape(x)[2:] (* or / or +) k
    sh = b.node("Shape", [t.name])
    head = b.node("Slice", [sh, b.const([0]), b.const([2])])
    tail = b.node("Slice", [sh, b.const([2]), b.const([INT64_MAX])])
    op = draw(st.sampled_from(("Mul", "Div", "Add", "Sub")))
    kval = draw(st.integers(1, 3))
    tail = b.node(op, [tail, b.const([kval] * n)])
    sizes = b.node("Concat", [head, tail], axis=0)
    return Tensor(_resize_node(draw, b, t, sizes=sizes, mode=mode, **attrs), t.c, n)


def pad(draw, b: Builder, t: Tensor) -> Tensor:
    n, r = t.nsp, t.nsp + 2
    modes = ["constant", "constant", "reflect", "edge"] + (["wrap"] if b.opset >= 19 else [])
    mode = draw(st.sampled_from(modes))
    lo = -2 if mode == "constant" else 0
    sp_pads = [draw(st.integers(lo, 3)) for _ in range(2 * n)]
    cpad = [draw(st.integers(0, 1)) for _ in range(2)] if mode == "constant" and draw(st.integers(0, 3)) == 0 else [0, 0]
    c = t.c + sum(cpad)
    if b.opset >= 18 and draw(st.booleans()) and not any(cpad):
        axes = list(range(2, r))
        if draw(st.booleans()):
            axes = [a - r for a in axes]
        y = b.node("Pad", [t.name, b.const(sp_pads), "", b.const(axes)], mode=mode)
        return Tensor(y, c, n)
    pads = [0, cpad[0]] + sp_pads[:n] + [0, cpad[1]] + sp_pads[n:]
    ins = [t.name, b.const(pads)]
    if mode == "constant" and draw(st.booleans()):
        ins.append(b.const(np.array(0.5, np.float32), np.float32))
    return Tensor(b.node("Pad", ins, mode=mode), c, n)


_IDX = st.one_of(st.integers(-6, 6), st.sampled_from((INT64_MAX, INT64_MIN, 2**31, -(2**31))))


def slice_(draw, b: Builder, t: Tensor) -> Tensor:
    n, r = t.nsp, t.nsp + 2
    if b.static:  # onnxruntime aborts on Slice of an axis onnx infers empty or negative
        return t
    axes = draw(st.lists(st.integers(2, r - 1), min_size=1, max_size=n, unique=True))
    starts, ends, steps = [], [], []
    for _ in axes:
        step = draw(st.sampled_from((1, 1, 1, 2, 3, -1, -2)))
        steps.append(step)
        starts.append(draw(_IDX))
        ends.append(draw(_IDX))
    if draw(st.booleans()):
        axes_in = [a - r if draw(st.booleans()) else a for a in axes]
    else:
        axes_in = axes
    ins = [t.name, b.const(starts), b.const(ends), b.const(axes_in)]
    if any(s != 1 for s in steps) or draw(st.booleans()):
        ins.append(b.const(steps))
    return Tensor(b.node("Slice", ins), t.c, n)


def split(draw, b: Builder, t: Tensor) -> Tensor:
    n, r = t.nsp, t.nsp + 2
    if t.c >= 2 and draw(st.booleans()):  # channel split with sizes, keep one part or concat back
        cut = draw(st.integers(1, t.c - 1))
        sizes = [cut, t.c - cut]
        if b.opset >= 13:
            a, c = b.node("Split", [t.name, b.const(sizes)], n_out=2, axis=1)
        else:
            a, c = b.node("Split", [t.name], n_out=2, axis=1, split=sizes)
        if draw(st.booleans()):
            return Tensor(b.node("Concat", [c, a], axis=1), t.c, n)
        return Tensor(a, cut, n)
    axis = draw(st.integers(2, r - 1))
    k = draw(st.integers(1, 3))
    if b.opset >= 18:  # (without num_outputs onnxruntime refuses where onnx infers the dim)
        outs = b.node("Split", [t.name], n_out=k, axis=axis, num_outputs=k)
    else:
        outs = b.node("Split", [t.name], n_out=k, axis=axis - (r if draw(st.booleans()) else 0))
    outs = outs if isinstance(outs, list) else [outs]
    pick = draw(st.integers(0, len(outs) - 1))
    if len(outs) > 1 and draw(st.booleans()):
        return Tensor(b.node("Concat", outs[::-1], axis=axis), t.c, n)
    return Tensor(outs[pick], t.c, n)


def squeeze_unsqueeze(draw, b: Builder, t: Tensor) -> Tensor:
    n, r = t.nsp, t.nsp + 2
    if draw(st.booleans()):  # Unsqueeze a new axis, then Squeeze it (round trip)
        a = draw(st.integers(-(r + 1), r))
        u = b.axes_op("Unsqueeze", t.name, [a])
        return Tensor(b.axes_op("Squeeze", u, [a]), t.c, n)
    # Squeeze a spatial axis (valid only where it is 1), then Unsqueeze it back; onnx's
    # shape inference now knows that axis is 1
    b.static = True
    a = draw(st.integers(2, r - 1))
    s = b.axes_op("Squeeze", t.name, [a])
    return Tensor(b.axes_op("Unsqueeze", s, [a]), t.c, n)


def reshape_roundtrip(draw, b: Builder, t: Tensor) -> Tensor:
    """Shape arithmetic: Reshape to (N, -1) or (N, C, -1) from Shape/Gather/Concat, and
    back to the saved shape."""
    sh = b.node("Shape", [t.name])
    nn = b.node("Gather", [sh, b.const([0])], axis=0)
    if draw(st.booleans()):
        cc = b.node("Gather", [sh, b.const(1)], axis=0)
        cc = b.axes_op("Unsqueeze", cc, [0])
        tgt = b.node("Concat", [nn, cc, b.const([-1])], axis=0)
    else:
        tgt = b.node("Concat", [nn, b.const([-1])], axis=0)
    flat = b.node("Reshape", [t.name, tgt])
    if draw(st.booleans()):
        flat = b.node("Relu", [flat])
    return Tensor(b.node("Reshape", [flat, sh]), t.c, t.nsp)


def channel_matmul(draw, b: Builder, t: Tensor) -> Tensor:
    """Transpose to channels-last, MatMul with a (C, C') weight, transpose back."""
    r = t.nsp + 2
    to_last = [0] + list(range(2, r)) + [1]
    back = [0, r - 1] + list(range(1, r - 1))
    x = b.node("Transpose", [t.name], perm=to_last)
    c2 = draw(st.integers(1, 6))
    y = b.node("MatMul", [x, b.weight(t.c, c2)])
    return Tensor(b.node("Transpose", [y], perm=back), c2, t.nsp)


def self_matmul(draw, b: Builder, t: Tensor) -> Tensor:
    """x @ x^T over the last two axes: (.., H, W) x (.., W, H) -> (.., H, H)."""
    r = t.nsp + 2
    if t.nsp == 1:
        return t
    perm = list(range(r - 2)) + [r - 1, r - 2]
    xt = b.node("Transpose", [t.name], perm=perm)
    return Tensor(b.node("MatMul", [t.name, xt]), t.c, t.nsp)


def activation(draw, b, t):
    op = draw(st.sampled_from(("Relu", "Sigmoid", "BatchNormalization")))
    if op == "BatchNormalization":
        c = t.c
        ins = [t.name, b.const(np.ones(c), np.float32), b.const(np.zeros(c), np.float32),
               b.const(np.zeros(c), np.float32), b.const(np.ones(c), np.float32)]
        return Tensor(b.node(op, ins), t.c, t.nsp)
    return Tensor(b.node(op, [t.name]), t.c, t.nsp)


SIMPLE = [conv, conv, conv, conv_transpose, pool, pool, pool, resize, resize, pad, slice_, split,
          squeeze_unsqueeze, reshape_roundtrip, channel_matmul, activation, global_pool, self_matmul]


def branch(draw, b: Builder, t: Tensor) -> Tensor:
    """Two chains from ``t`` joined by Concat (channels, or a spatial axis) or Add."""
    chains = []
    for _ in range(2):
        u = t
        for _ in range(draw(st.integers(0, 2))):
            u = draw(st.sampled_from(SIMPLE[:-2]))(draw, b, u)  # no global pool / self matmul
        chains.append(u)
    a, c = chains
    how = draw(st.sampled_from(("concat", "concat", "add", "concat_spatial")))
    if how == "concat":
        return Tensor(b.node("Concat", [a.name, c.name], axis=draw(st.sampled_from((1, -(a.nsp + 1))))), a.c + c.c, a.nsp)
    if a.c != c.c:  # equalise channels with a 1x1 conv
        c = Tensor(b.node("Conv", [c.name, b.weight(a.c, c.c, *[1] * c.nsp)]), a.c, c.nsp)
    if how == "add":
        return Tensor(b.node(draw(st.sampled_from(("Add", "Mul", "Max"))), [a.name, c.name]), a.c, a.nsp)
    axis = draw(st.integers(2, a.nsp + 1))
    return Tensor(b.node("Concat", [a.name, c.name], axis=axis), a.c, a.nsp)


# --------------------------------------------------------------------------- tails
def tail(draw, b: Builder, t: Tensor) -> str:
    """Layout-changing ops at the end of the graph."""
    r = t.nsp + 2
    kind = draw(st.sampled_from(("none", "flatten", "gemm", "reshape", "transpose", "shape_reshape", "matmul_fixed")))
    if kind == "none":
        return t.name
    if kind == "flatten":
        return b.node("Flatten", [t.name], axis=draw(st.integers(-r, r)))
    if kind == "gemm":
        g = b.node("GlobalAveragePool", [t.name]) if draw(st.booleans()) else t.name
        f = b.node("Flatten", [g])
        m = draw(st.integers(1, 5))
        if g == t.name:  # K = C * prod(spatial): valid only where the spatial product is 1..
            k = t.c * draw(st.sampled_from((1, 1, 2, 4)))
        else:
            k = t.c
        tb = draw(st.booleans())
        w = b.weight(m, k) if tb else b.weight(k, m)
        ins = [f, w] + ([b.weight(m)] if draw(st.booleans()) else [])
        return b.node("Gemm", ins, transB=1 if tb else None)
    if kind == "reshape":
        tgt = draw(st.sampled_from(([0, 0, -1], [0, -1], [-1, 2], [0, -1, 2], [0, t.c, -1], [-1])))
        return b.node("Reshape", [t.name, b.const(tgt)])
    if kind == "transpose":
        perm = draw(st.permutations(list(range(r))))
        return b.node("Transpose", [t.name], perm=list(perm))
    if kind == "shape_reshape":  # (N, C * H, W...) from Shape/Gather/Mul/Concat
        sh = b.node("Shape", [t.name])
        nn = b.node("Gather", [sh, b.const([0])], axis=0)
        c_h = b.node("Mul", [b.node("Gather", [sh, b.const([1])], axis=0), b.node("Gather", [sh, b.const([2])], axis=0)])
        rest = b.node("Slice", [sh, b.const([3]), b.const([r])])
        return b.node("Reshape", [t.name, b.node("Concat", [nn, c_h, rest], axis=0)])
    # MatMul with a (k, m) weight on the last axis: valid where that extent is k
    k = draw(st.integers(1, 6))
    return b.node("MatMul", [t.name, b.weight(k, draw(st.integers(1, 4)))])


# --------------------------------------------------------------------------- graphs
@st.composite
def graphs(draw, max_blocks=5):
    opset = draw(st.sampled_from((11, 13, 17, 18, 19, 19)))
    nsp = draw(st.sampled_from((1, 2, 2, 2, 3)))
    b = Builder(opset)
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[nsp]
    layout = draw(st.sampled_from(("distinct", "distinct", "distinct", "shared", "fixed")))
    dims = list(names)
    if layout == "shared":
        dims = ["S"] * nsp
    elif layout == "fixed" and nsp > 1:
        j = draw(st.integers(0, nsp - 1))
        dims[j] = draw(st.integers(1, 12))
        b.static = True
    c = draw(st.integers(1, 6))
    t = Tensor("x", c, nsp)
    ops = []
    for _ in range(draw(st.integers(1, max_blocks))):
        blk = draw(st.sampled_from(SIMPLE + [branch, branch]))
        ops.append(blk.__name__)
        t = blk(draw, b, t)
    out = tail(draw, b, t)
    if not b.nodes:
        out = b.node("Relu", [out])
    g = helper.make_graph(b.nodes, "fuzz", [helper.make_tensor_value_info("x", T.FLOAT, ["N", c, *dims])],
                          [helper.ValueInfoProto(name=out)], b.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    syms = sorted({d for d in dims if isinstance(d, str)})
    return Case(model, syms, nsp, ops)


# --------------------------------------------------------------------------- oracle side
def expose_all(model):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for nd in m.graph.node:
        for o in nd.output:
            if o and o not in have:
                m.graph.output.append(helper.ValueInfoProto(name=o))
                have.add(o)
    return m


class Runner:
    """One onnxruntime session per graph (graph optimisations off, every output exposed)."""

    def __init__(self, model):
        import onnxruntime as ort

        self.model = model
        self.error = None
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.log_severity_level = 4
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        try:
            self.sess = ort.InferenceSession(expose_all(model).SerializeToString(), so,
                                             providers=["CPUExecutionProvider"])
            self.names = [o.name for o in self.sess.get_outputs()]
        except Exception as e:  # noqa: BLE001 - the refusal is the data point
            self.sess, self.error = None, e

    def run(self, dims, seed=0):
        if self.sess is None:
            return self.error
        shape = []
        for d in self.model.graph.input[0].type.tensor_type.shape.dim:
            shape.append(d.dim_value if d.HasField("dim_value") else dims[d.dim_param])
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        try:
            return dict(zip(self.names, self.sess.run(self.names, {"x": x})))
        except Exception as e:  # noqa: BLE001
            return e


def analyze_case(model):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.onnx")
        onnx.save(model, p)
        return analyze(load(p), {}, strict_bindings=False)


class Mismatch(AssertionError):
    def __init__(self, msg, model=None, dims=None):
        super().__init__(msg)
        self.model, self.dims = model, dims


@dataclass
class Stats:
    graphs: int = 0
    sizes: int = 0
    valid: int = 0
    invalid: int = 0
    quirk: int = 0
    skipped: int = 0
    ort_refused_graph: int = 0


STATS = Stats()


def _consumers(model):
    """node name -> set of node names downstream of it (data or shape dependence)."""
    producer = {}
    for nd in model.graph.node:
        for o in nd.output:
            producer[o] = nd.name
    down = {nd.name: set() for nd in model.graph.node}
    # nodes are in topological order: propagate upstream sets forward
    up = {}
    for nd in model.graph.node:
        u = set()
        for i in nd.input:
            p = producer.get(i)
            if p is not None:
                u |= up[p] | {p}
        up[nd.name] = u
        for p in u:
            down[p].add(nd.name)
    return down, producer


def _size_strategy(symbols, nsp, report):
    hi = MAX_SIZE[nsp]
    size = st.one_of(st.integers(1, 8), st.sampled_from(PRIMES), st.integers(1, hi))
    hints = []
    if report.smallest_input:
        s0 = max(report.smallest_input.values())
        for s in (s0 - 1, s0, s0 + 1, s0 + 2, 2 * s0 + 1):
            if 1 <= s <= 4 * hi:
                hints.append({n: s for n in symbols})
    for n, rng in report.valid_ranges.items():
        if n not in symbols and n != "N":
            continue
        others = {k: v for k, v in rng.get("others", {}).items() if k in symbols or k == "N"}
        for v in (rng.get("min"), rng.get("max")):
            if v is None:
                continue
            for s in (v - 1, v, v + 1):
                if 1 <= s <= 4 * hi:
                    hints.append({**others, n: s})
    binding = st.fixed_dictionaries({"N": st.integers(1, 3), **{n: size for n in symbols}})
    if hints:
        hinted = st.tuples(st.sampled_from(hints), st.integers(1, 3)).map(
            lambda hv: {"N": hv[1], **{n: 1 for n in symbols}, **hv[0]} if "N" not in hv[0]
            else {**{n: 1 for n in symbols}, **hv[0]})
        binding = st.one_of(binding, hinted)
    return binding


def _too_big(report, dims):
    for t in report.tensors.values():
        if t.shape is None:
            continue
        try:
            n = 1
            for d in t.shape:
                v = evaluate(d, dims)
                n *= max(int(v), 1)
            if n > MAX_NUMEL:
                return True
        except (TypeError, ValueError):
            continue
    return False


def check_binding(case, report, runner, dims, down, producer, node_ops):
    """Raise Mismatch when cnnsym and onnxruntime disagree at ``dims``."""
    err_nodes = [r.node.name for r in report.nodes if r.status != "ok"]
    bad = violated(report, dims)
    bad_nodes = {c.node for c in bad} | set(err_nodes)
    if _too_big(report, dims):  # (where cnnsym says invalid, its dims still bound the run)
        STATS.skipped += 1
        return
    STATS.sizes += 1
    outs = runner.run(dims)
    where = f"at {dims}"
    if isinstance(outs, Exception):
        if not bad_nodes:
            raise Mismatch(f"cnnsym says valid {where} but onnxruntime fails: {str(outs)[:400]}", case.model, dims)
        STATS.invalid += 1
        return

    def expected(name):
        t = report.tensors.get(name)
        if t is None or t.shape is None:
            return None
        try:
            return [evaluate(d, dims) for d in t.shape]
        except Exception:  # noqa: BLE001
            return None

    if not bad_nodes:
        STATS.valid += 1
        for name, arr in outs.items():
            got = expected(name)
            if got is None:
                raise Mismatch(f"{name}: cnnsym has no shape", case.model, dims)
            if list(arr.shape) != got:
                t = report.tensors[name]
                raise Mismatch(f"{where}: {name} ({producer.get(name)}): onnxruntime {list(arr.shape)} vs cnnsym {got} = "
                               f"{[str(d) for d in t.shape]}", case.model, dims)
        return
    # cnnsym invalid, onnxruntime ran: every violated constraint must be explained by an
    # empty tensor at (or upstream of) its node, or by the documented floor-mode pool quirk
    explained, quirk = set(), False
    inputs_of = {nd.name: list(nd.input) for nd in case.model.graph.node}
    for nd in case.model.graph.node:
        outs_nd = [o for o in nd.output if o in outs]
        if any(0 in outs[o].shape for o in outs_nd):
            explained.add(nd.name)
            continue
        if nd.op_type in POOLS_FLOOR_QUIRK:
            attrs = {a.name: helper.get_attribute_value(a) for a in nd.attribute}
            if not attrs.get("ceil_mode", 0) and outs_nd:
                y = outs_nd[0]
                xin = inputs_of[nd.name][0]
                x_ort = list(outs[xin].shape) if xin in outs else None
                x_sym = expected(xin)
                if xin == "x" or x_ort == x_sym:
                    got = expected(y)
                    if got is None and nd.name in err_nodes:  # refused outright: recompute at the
                        got = _pool_at(nd, x_ort or x_sym, case.model)  # concrete input
                    ort_y = list(outs[y].shape)
                    if got is not None and len(got) == len(ort_y) and got[:2] == ort_y[:2] and \
                            any(g == 0 and o == 1 for g, o in zip(got[2:], ort_y[2:])) and \
                            all(g == o or (g == 0 and o == 1) for g, o in zip(got[2:], ort_y[2:])):
                        # onnxruntime's trunc() vs the spec's floor(): documented in
                        # cnnsym/ops/_spatial.py; cnnsym excludes these sizes
                        explained.add(nd.name)
                        quirk = True
    reach = set(explained)
    for e in explained:
        reach |= down.get(e, set())
    unexplained = [n for n in bad_nodes if n not in reach]
    if unexplained:
        msgs = [f"{c.message} ({c.node}: {c.rel})" for c in bad if c.node in unexplained]
        msgs += [f"{r.node.name}: {r.message}" for r in report.nodes if r.node.name in unexplained and r.status != "ok"]
        raise Mismatch(f"cnnsym says invalid {where} but onnxruntime runs: {'; '.join(msgs)[:600]}", case.model, dims)
    # nodes not downstream of the degenerate part must still agree
    for name, arr in outs.items():
        p = producer.get(name)
        if p in reach:
            continue
        got = expected(name)
        if got is not None and list(arr.shape) != got:
            raise Mismatch(f"{where}: {name} ({p}): onnxruntime {list(arr.shape)} vs cnnsym {got}", case.model, dims)
    STATS.invalid += 1
    STATS.quirk += quirk


def _pool_at(nd, x_dims, model):
    """cnnsym's output dims for pool node ``nd`` at a concrete input (None if refused for
    another reason than a zero extent)."""
    if x_dims is None:
        return None
    from cnnsym.ops import lookup
    from cnnsym.symbolic import as_expr
    from cnnsym.ops._spatial import window_out
    attrs = {a.name: helper.get_attribute_value(a) for a in nd.attribute}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    opset = model.opset_import[0].version
    op = lookup(nd.op_type)(attrs, opset, None)
    n = len(x_dims) - 2
    k = attrs["kernel_shape"]
    out = list(x_dims[:2])
    for j in range(n):
        o, _ = window_out(op, as_expr(x_dims[2 + j]), k[j], (attrs.get("strides") or [1] * n)[j],
                          (attrs.get("dilations") or [1] * n)[j], (attrs.get("pads") or [0] * 2 * n)[j],
                          (attrs.get("pads") or [0] * 2 * n)[n + j], attrs.get("auto_pad", "NOTSET"), 0, pool=True)
        out.append(int(o))
    return out


def check_case(data, case, n_sizes=8):
    """The property for one graph; sizes are drawn from ``data`` (hypothesis)."""
    STATS.graphs += 1
    try:
        report = analyze_case(case.model)
    except Exception as e:  # noqa: BLE001 - a crash is a finding
        raise Mismatch(f"cnnsym failed on the graph: {type(e).__name__}: {e}", case.model) from e
    runner = Runner(case.model)
    if runner.sess is None:
        STATS.ort_refused_graph += 1
    down, producer = _consumers(case.model)
    node_ops = {nd.name: nd.op_type for nd in case.model.graph.node}
    bindings = data.draw(st.lists(_size_strategy(case.symbols, case.nsp, report), min_size=1, max_size=n_sizes),
                         label="bindings")
    for dims in bindings:
        check_binding(case, report, runner, dims, down, producer, node_ops)


def minimal_text(model, dims=None):
    head = f"# cnnsym/onnxruntime mismatch at {dims}\n" if dims else ""
    return head + onnx.printer.to_text(model)
