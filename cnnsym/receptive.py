"""Receptive fields: what each unit of a feature map sees of the input.

Per spatial axis, a field is ``size`` (input pixels covered), ``stride`` (the jump in input
pixels between neighbouring units) and ``offset`` (input coordinate of the centre of unit
0's field). A layer acts through a :class:`Window` with ``span = d(k-1)`` (extent minus
one, in units of its input), ``jump = s`` and ``shift = d(k-1)/2 - p_begin`` (centre of its
first output, in input units):

    size'   = size + span*stride
    stride' = stride*jump
    offset' = offset + shift*stride

so L stacked k x k stride-1 layers give 1 + L(k-1). ConvTranspose has fractional jumps
(sympy Rationals). Branches join by the union of their fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import sympy as sp

from .symbolic import ONE, ZERO, Expr, as_expr


@dataclass(frozen=True)
class Window:
    """What a layer does to one spatial axis' field: ``span``, ``jump``, ``shift``. Sliding
    windows also say how the op derived them (``kernel``, ``stride``, ``dilation``, the pads
    actually applied at each end, ``auto_pad`` and ``ceil_mode`` as given); those are
    descriptive and take no part in equality."""

    span: Expr = ZERO
    jump: Expr = ONE
    shift: Expr = ZERO
    kernel: Optional[Expr] = field(default=None, compare=False)
    stride: Optional[Expr] = field(default=None, compare=False)
    dilation: Optional[Expr] = field(default=None, compare=False)
    pads: Optional[tuple] = field(default=None, compare=False)  # (begin, end) as applied
    auto_pad: str = field(default="NOTSET", compare=False)
    ceil_mode: int = field(default=0, compare=False)

    @classmethod
    def of(cls, kernel, stride=1, pad_begin=0, dilation=1, pad_end=None, auto_pad="NOTSET",
           ceil_mode=0) -> "Window":
        ext = as_expr(dilation) * (as_expr(kernel) - 1)
        return cls(ext, as_expr(stride), ext / 2 - as_expr(pad_begin), as_expr(kernel), as_expr(stride),
                   as_expr(dilation), (as_expr(pad_begin), None if pad_end is None else as_expr(pad_end)),
                   auto_pad, int(ceil_mode or 0))


IDENTITY = Window()


@dataclass(frozen=True)
class RF:
    size: Expr = ONE
    stride: Expr = ONE
    offset: Expr = ZERO

    def through(self, w: Window | None) -> "RF":
        if w is None or w == IDENTITY:
            return self
        return RF(self.size + w.span * self.stride, self.stride * w.jump, self.offset + w.shift * self.stride)


def join(fields: list) -> tuple:
    """Union of fields reaching one output axis; returns (RF, misaligned?)."""
    fields = [f for f in fields if f is not None]
    if not fields:
        return None, False
    first = fields[0]
    if all(f == first for f in fields[1:]):
        return first, False
    if any(f.stride == 0 for f in fields):
        # a field every unit shares (jump 0: a global pool broadcast back over the map)
        # absorbs the others: the union at unit 0, for every unit; exact within the image
        # when the shared field covers what the other branches see (a global pool's does)
        lo = min(f.offset - (f.size - 1) / 2 for f in fields) if all(f.size.is_number and f.offset.is_number for f in fields) \
            else sp.Min(*(f.offset - (f.size - 1) / 2 for f in fields))
        hi = max(f.offset + (f.size - 1) / 2 for f in fields) if all(f.size.is_number and f.offset.is_number for f in fields) \
            else sp.Max(*(f.offset + (f.size - 1) / 2 for f in fields))
        return RF(hi - lo + 1, ZERO, (lo + hi) / 2), False
    los = [f.offset - (f.size - 1) / 2 for f in fields]
    his = [f.offset + (f.size - 1) / 2 for f in fields]
    strides = {f.stride for f in fields}
    if all(v.is_number for v in (*los, *his, *strides)):  # the usual case: no sympy Min/Max
        lo, hi = min(los), max(his)
        stride = max(strides)
    else:
        lo, hi = sp.Min(*los), sp.Max(*his)
        stride = first.stride if len(strides) == 1 else sp.Max(*strides)
    offsets = {f.offset for f in fields}
    misaligned = len(strides) > 1 or len(offsets) > 1
    return RF(hi - lo + 1, stride, (lo + hi) / 2), misaligned
