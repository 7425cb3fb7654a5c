"""Sliding-window arithmetic shared by Conv, ConvTranspose and the pools.

https://onnx.ai/onnx/operators/onnx__Conv.html, onnx__MaxPool.html: for an input extent
``x``, kernel ``k``, stride ``s``, dilation ``d``, pads ``pb``/``pe`` (ext = d(k-1)):

    floor mode: out = floor((x + pb + pe - ext - 1)/s) + 1
    ceil mode:  out = min(ceil((x + pb + pe - ext - 1)/s) + 1, floor((x + pb - 1)/s) + 1)
                (the last window must start inside the input or its begin padding)
    SAME_*:     out = ceil(x/s), total pad = max(0, (out - 1)s + ext + 1 - x),
                begin = floor(total/2) (SAME_UPPER) or ceil(total/2) (SAME_LOWER)
    VALID:      pads 0, then as above (ceil_mode included): floor mode gives ceil((x - ext)/s)

Pools under SAME_* follow onnxruntime (checked against 1.32), not the spec: the total pad is
``(ceil(x/s) - 1)s + k - x`` with the *undilated* kernel and no clamp at 0, and the output
then comes from the floor/ceil formula with that pad. Without dilation this is exactly
``ceil(x/s)`` (the spec's value); with dilation d > 1 it is ``ceil(x/s) - ceil((d-1)(k-1)/s)``
in floor mode, where the spec says ``ceil(x/s)``. onnxruntime refuses a negative total pad in
MaxPool (kernel < stride on some sizes): a constraint excludes those sizes.

onnxruntime differences that cnnsym does not copy (it follows the spec and excludes the
sizes): pools in floor mode compute ``trunc(num/s) + 1`` in C++, so for ``-s < num < 0``
(the window starts inside the input but overruns input and padding) onnxruntime returns 1
where the spec's formula gives 0; Conv with SAME_* and dilation > 1 is refused by
onnxruntime outright (cnnsym gives the spec's ``ceil(x/s)``); pools refuse pads >= kernel.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ..errors import SIZE, Need
from ..receptive import Window
from ..symbolic import as_expr, cdiv, fdiv


def _auto_pad(ap) -> str:
    if isinstance(ap, bytes):
        ap = ap.decode()
    return ap or "NOTSET"


def window_out(op, x, k, s, d, pb, pe, auto_pad="NOTSET", ceil_mode=0, pool=False):
    """Output extent and the begin pad actually used, for one spatial axis. ``pool``:
    onnxruntime's pool arithmetic under SAME_* (see the module docstring)."""
    x, k, s, d = as_expr(x), as_expr(k), as_expr(s), as_expr(d)
    ext = d * (k - 1)
    ap = _auto_pad(auto_pad)
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        out = cdiv(x, s)
        if pool:
            total = (out - 1) * s + k - x
            begin = fdiv(total, 2) if ap == "SAME_UPPER" else cdiv(total, 2)
            if d == 1:
                return out, begin
            pb, pe = begin, total - begin
        else:
            total = sp.Max(0, (out - 1) * s + ext + 1 - x)
            if total.is_number:
                total = sp.Integer(total)
            begin = fdiv(total, 2) if ap == "SAME_UPPER" else cdiv(total, 2)
            return out, begin
    elif ap == "VALID":
        pb, pe = 0, 0
    elif ap != "NOTSET":
        op.fail(f"unknown auto_pad {ap!r}")
    pb, pe = as_expr(pb), as_expr(pe)
    span = x + pb + pe - ext - 1
    if not ceil_mode:
        return fdiv(span, s) + 1, pb
    out = cdiv(span, s) + 1
    if (pe + s - ext - 1).is_number and pe + s <= ext + 1:
        return out, pb  # (out - 1)s <= x + pb - 1: the last window always starts inside
    last_start_ok = fdiv(x + pb - 1, s) + 1
    if s == 1 or out == last_start_ok:
        return out, pb
    if _surely_le(out, last_start_ok):
        return out, pb
    if _surely_le(last_start_ok, out):
        return last_start_ok, pb
    return sp.Min(out, last_start_ok), pb


def _floor_parts(e):
    """``e`` = floor(u) + c (c a number) -> (u, c), else None."""
    fl = [t for t in sp.Add.make_args(e) if isinstance(t, sp.floor)]
    rest = sp.expand(e - sp.Add(*fl))
    if len(fl) > 1 or not rest.is_number:
        return None
    return (fl[0].args[0] if fl else sp.Integer(0)), rest


def _surely_le(a, b) -> bool:
    """a <= b for every value of the symbols (sufficient test: floor monotonicity)."""
    d = sp.expand(b - a)
    if d.is_nonnegative:
        return True
    pa, pb_ = _floor_parts(a), _floor_parts(b)
    if pa is None or pb_ is None:
        return False
    if pa[1].is_integer and pb_[1].is_integer:  # floor(u) + c = floor(u + c)
        du = sp.expand(pb_[0] + pb_[1] - pa[0] - pa[1])
        return bool(du.is_number and du >= 0)
    du = sp.expand(pb_[0] - pa[0])
    return bool(du.is_number and du >= 0 and pb_[1] >= pa[1])


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


_MODES = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def windowed(op, x_shape, kernel=None, ceil_mode=0, pool=False):
    """Spatial output dims, windows for receptive fields, and >= 1 constraints (fresh lists
    for the caller to extend). Remembered per (op type, spatial extents, spatial
    attributes): a network's convs at one resolution differ only in their channels, which
    this does not read."""
    a = op.attrs
    try:
        key = (op.op_type, len(x_shape), tuple(x_shape[2:]), _frozen(kernel), _frozen(a.get("kernel_shape")),
               _frozen(a.get("strides")), _frozen(a.get("dilations")), _frozen(a.get("pads")),
               a.get("auto_pad", "NOTSET"), ceil_mode, pool)
        hit = _WINDOWED.get(key)
    except TypeError:  # an attribute that is no plain value: not remembered
        key = hit = None
    if hit is None:
        hit = _windowed(op, x_shape, kernel, ceil_mode, pool)  # raises where the layer is invalid
        if key is not None:
            if len(_WINDOWED) > 65536:
                _WINDOWED.clear()
            _WINDOWED[key] = hit
    outs, windows, cons, k = hit
    return list(outs), list(windows), list(cons), list(k)


_WINDOWED: dict = {}


def _frozen(v):
    return None if v is None else tuple(v)


def _windowed(op, x_shape, kernel, ceil_mode, pool):
    nsp = len(x_shape) - 2
    k, s, d, pads = spatial_attrs(op, nsp, kernel)
    mode = _auto_pad(op.attrs.get("auto_pad", "NOTSET"))
    if mode not in _MODES:
        op.fail(f"unknown auto_pad {mode!r}")
    outs, windows, cons = [], [], []
    for j in range(nsp):
        o, w, ge = _axis(x_shape[2 + j], k[j], s[j], d[j], pads[j], pads[nsp + j], mode, ceil_mode, pool)
        outs.append(o)
        windows.append(w)
        if ge is not None:
            cons.append(Need(ge, f"{op.op_type} output axis {2 + j} must be >= 1", kind=SIZE, axis=2 + j))
        elif o < 1:
            op.fail(f"output axis {2 + j} would be {o} (< 1) for input {tuple(x_shape)}", kind=SIZE,
                    expected=1, got=o)
    return tuple(outs), tuple(windows), tuple(cons), tuple(k)


@lru_cache(maxsize=65536)
def _axis(x, k, s, d, pb, pe, mode, ceil_mode, pool):
    """One spatial axis: (output extent, receptive-field window, the relation ``out >= 1``
    or None when the extent is a number). A pure function of the axis' own extent and
    attributes, remembered: layers that differ only in their channel counts (every block
    of a network at one resolution) share it."""
    o, b = window_out(None, x, k, s, d, pb, pe, mode, ceil_mode, pool)
    end = 0 if mode == "VALID" else (pe if mode == "NOTSET" else None)  # SAME_*: derived
    return o, Window.of(k, s, b, d, end, mode, ceil_mode), (None if o.is_number else sp.Ge(o, 1))


def spatial_rf(windows, rank):
    return tuple(None if i < 2 else ((0, i, windows[i - 2]),) for i in range(rank))
