"""Sliding-window arithmetic shared by Conv, ConvTranspose and the pools.

https://onnx.ai/onnx/operators/onnx__Conv.html, onnx__MaxPool.html: for an input extent
``x``, kernel ``k``, stride ``s``, dilation ``d``, pads ``pb``/``pe`` (ext = d(k-1)):

    floor mode: out = floor((x + pb + pe - ext - 1)/s) + 1
    ceil mode:  out = min(ceil((x + pb + pe - ext - 1)/s) + 1, floor((x + pb - 1)/s) + 1)
                (the last window must start inside the input or its begin padding)
    SAME_*:     out = ceil(x/s), total pad = max(0, (out - 1)s + ext + 1 - x),
                begin = floor(total/2) (SAME_UPPER) or ceil(total/2) (SAME_LOWER)
    VALID:      out = ceil((x - ext)/s)
"""
from __future__ import annotations

import sympy as sp

from ..receptive import Window
from ..symbolic import as_expr, cdiv, fdiv


def _auto_pad(ap) -> str:
    if isinstance(ap, bytes):
        ap = ap.decode()
    return ap or "NOTSET"


def window_out(op, x, k, s, d, pb, pe, auto_pad="NOTSET", ceil_mode=0):
    """Output extent and the begin pad actually used, for one spatial axis."""
    x, k, s, d = as_expr(x), as_expr(k), as_expr(s), as_expr(d)
    ext = d * (k - 1)
    ap = _auto_pad(auto_pad)
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        out = cdiv(x, s)
        total = sp.Max(0, (out - 1) * s + ext + 1 - x)
        if total.is_number:
            total = sp.Integer(total)
        begin = fdiv(total, 2) if ap == "SAME_UPPER" else cdiv(total, 2)
        return out, begin
    if ap == "VALID":
        return cdiv(x - ext, s), sp.Integer(0)
    if ap != "NOTSET":
        op.fail(f"unknown auto_pad {ap!r}")
    pb, pe = as_expr(pb), as_expr(pe)
    span = x + pb + pe - ext - 1
    if not ceil_mode:
        return fdiv(span, s) + 1, pb
    out = cdiv(span, s) + 1
    last_start_ok = fdiv(x + pb - 1, s) + 1
    if s == 1 or out == last_start_ok:
        return out, pb
    diff = sp.expand(last_start_ok - out)
    if diff.is_nonnegative:
        return out, pb
    return sp.Min(out, last_start_ok), pb


def spatial_attrs(op, nsp: int, kernel=None):
    """(kernel, strides, dilations, pads) tuples of length nsp from the op's attributes."""
    k = op.attrs.get("kernel_shape") or kernel
    if k is None:
        op.fail("kernel_shape is required")
    if len(k) != nsp:
        op.fail(f"kernel_shape {tuple(k)} has {len(k)} dims but the input has {nsp} spatial dims")
    strides = op.attrs.get("strides") or [1] * nsp
    dil = op.attrs.get("dilations") or [1] * nsp
    pads = op.attrs.get("pads") or [0] * (2 * nsp)
    if len(strides) != nsp or len(dil) != nsp or len(pads) != 2 * nsp:
        op.fail("strides, dilations and pads must match the number of spatial dims")
    if any(int(v) < 1 for v in strides) or any(int(v) < 1 for v in dil):
        op.fail("strides and dilations must be >= 1")
    if any(int(v) < 0 for v in pads):
        op.fail("pads must be >= 0")
    return [as_expr(v) for v in k], [as_expr(v) for v in strides], [as_expr(v) for v in dil], [as_expr(v) for v in pads]


def windowed(op, x_shape, kernel=None, ceil_mode=0):
    """Spatial output dims, windows for receptive fields, and >= 1 constraints."""
    nsp = len(x_shape) - 2
    k, s, d, pads = spatial_attrs(op, nsp, kernel)
    ap = op.attrs.get("auto_pad", "NOTSET")
    outs, windows, cons = [], [], []
    for j in range(nsp):
        o, pb = window_out(op, x_shape[2 + j], k[j], s[j], d[j], pads[j], pads[nsp + j], ap, ceil_mode)
        outs.append(o)
        windows.append(Window.of(k[j], s[j], pb, d[j]))
        if not o.is_number:
            cons.append((sp.Ge(o, 1), f"{op.op_type} output axis {2 + j} must be >= 1"))
        elif o < 1:
            op.fail(f"output axis {2 + j} would be {o} (< 1) for input {tuple(x_shape)}")
    return outs, windows, cons, k


def spatial_rf(windows, rank):
    return tuple(None if i < 2 else ((0, i, windows[i - 2]),) for i in range(rank))
