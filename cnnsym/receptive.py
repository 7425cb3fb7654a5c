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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import sympy as sp

from .report import LazyList
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


class LazyRF(Sequence):
    """A tensor's receptive field (its per-axis tuple of :class:`RF` or None) composed on
    first read (``analyze(lazy=True)``: lint reads fields for few rules and models).
    ``resolve()`` composes every field of the report once and returns them by step; this
    is entry ``step``, which has ``rank`` axes. It is never made for a tensor whose field
    is None (that stays None), so ``rf is None`` and ``not rf`` read as for the tuple; it
    equals, hashes, prints and pickles as the tuple."""

    __slots__ = ("_resolve", "_step", "_rank")

    def __init__(self, resolve, step, rank):
        self._resolve, self._step, self._rank = resolve, step, rank

    def _value(self) -> tuple:
        return self._resolve()[self._step]

    def __getitem__(self, i):
        return self._value()[i]

    def __iter__(self):
        return iter(self._value())

    def __len__(self):
        return self._rank

    def __bool__(self):
        return self._rank > 0

    def __eq__(self, other):
        return self._value() == (other._value() if isinstance(other, LazyRF) else other)

    def __hash__(self):
        return hash(self._value())

    def __repr__(self):
        return repr(self._value())

    def __reduce__(self):
        return tuple, (self._value(),)


class DeferredRF:
    """Receptive fields composed on first read (``analyze(lazy=True)``). The analysis records
    each output's field spec in order and gets a :class:`LazyRF` per tensor; the first read
    composes them all with ``compose`` (the analysis' own composition of one output), and
    notes each misaligned join (``misaligned(node name)``) where the eager analysis puts it
    in the warnings. Which fields are None is known now without sympy (an axis has a field
    when one of its sources has one), so a tensor with no field gets None, as eagerly."""

    def __init__(self, rfs, compose, misaligned):
        self.compose, self.misaligned = compose, misaligned
        self.first = dict(rfs)
        self.has = {n: None if f is None else tuple(a is not None for a in f) for n, f in rfs.items()}
        self.steps = []  # (tensor, spec or None, (node number, input names) or None, node name, warnings so far)
        self.node_name, self.ins, self.done, self.count, self.warn = None, None, None, 0, []

    def node(self, node):
        """Start a node's outputs; returns what the output calls take (its inputs' presence)."""
        self.count += 1
        self.node_name, self.ins = node.name, (self.count, tuple(node.inputs))
        return [self.has.get(i) if i else None for i in node.inputs]

    def none(self, o):
        self.steps.append((o, None, None, None, 0))
        self.has[o] = None

    def output(self, o, spec, in_has, at):
        present = _present(spec, in_has)
        self.has[o] = present
        self.steps.append((o, spec, self.ins, self.node_name, at))
        return None if present is None else LazyRF(self.resolve, len(self.steps) - 1, len(present))

    def resolve(self) -> list:
        if self.done is None:
            rfs, out, warn = dict(self.first), [], []
            in_rfs, last = None, None
            for o, spec, ins, name, at in self.steps:
                if spec is None:
                    rf = None
                else:
                    if ins[0] != last:  # one node's outputs read its inputs' fields as they were before it
                        in_rfs, last = [rfs.get(i) if i else None for i in ins[1]], ins[0]
                    rf, mis = self.compose(spec, in_rfs)
                    if mis:
                        warn.append((at, self.misaligned(name)))
                rfs[o] = rf
                out.append(rf)
            self.done, self.warn = out, warn
            self.first = self.has = None
        return self.done

    def warnings(self, base) -> LazyList:
        """``base`` (the analysis' warnings without the misaligned joins) as a list that, on
        first read, composes the fields and has each such warning where eagerly it is."""

        def make():
            self.resolve()
            out, k = [], 0
            for at, text in self.warn:
                out.extend(base[k:at])
                out.append(text)
                k = at
            out.extend(base[k:])
            return out

        return LazyList(make)


def _present(spec, in_has):
    """Which axes of an output get a field (the composition without composing), or None."""
    if spec is None:
        return None
    out = []
    for axis_sources in spec:
        got = False
        for idx, ax, _ in axis_sources or ():
            h = in_has[idx] if idx < len(in_has) else None
            if h is not None and ax < len(h) and h[ax]:
                got = True
                break
        out.append(got)
    return tuple(out) if any(out) else None
