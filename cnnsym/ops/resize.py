"""Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9).

Output per axis, as onnxruntime computes it:

- ``sizes`` given: out = sizes (``axes`` from opset 18 name the axes it covers); an empty
  input axis cannot be resized to a non-empty one (onnxruntime refuses; a constraint). With
  ``keep_aspect_ratio_policy`` not_larger / not_smaller: s = min / max over those axes of
  sizes[i]/x[i], and out[i] = round(s * x[i]) (half up) on them, others unchanged.
- ``scales`` given: out = floor(x * scale). onnxruntime truncates the float32 product
  ``float(x) * scale``. cnnsym writes the scale as the simplest rational that rounds to the
  same float32 (0.333f -> 333/1000, 0.33333334f -> 1/3, 1.5f -> 3/2; the shortest decimal
  when that needs a denominator above 1000: 3.0001f -> 30001/10000), which gives the same
  floor as float32 arithmetic whenever x * scale is not within float32 rounding of an
  integer from below: for a scale p/q, every x < 2**23 / (p) at least; checked against
  onnxruntime for 0.5, 1.5, 2, 0.333, 1/3, 0.7 and 2.5 on sizes 1..4096 in the tests.

The spec (opsets 11-17) computes ``floor(x * (roi_end - roi_start) * scale)`` under
``tf_crop_and_resize``; onnxruntime ignores roi for the output shape, and cnnsym follows
onnxruntime. Upsample: onnxruntime refuses scales < 1.

Term ``resize`` = numel(Y) * taps, taps = 1 (nearest), 2^r (linear), 4^r (cubic), r = the
number of axes actually resized. Receptive field per resized axis: jump 1/scale (input
pixels per output step; x/out for sizes), span = taps per axis - 1 (0 nearest, 1 linear,
3 cubic; divided by the scale when antialiasing a downscale) and shift = the input
coordinate output 0 samples: (1/scale - 1)/2 for half_pixel, pytorch_half_pixel and
half_pixel_symmetric, 1/(2 scale) for tf_half_pixel_for_nn, 0 for asymmetric,
align_corners and tf_crop_and_resize.
https://onnx.ai/onnx/operators/onnx__Resize.html
"""
from __future__ import annotations

from fractions import Fraction

# numpy is imported by float32_scale only: a report without a float scale never needs it,
# and it costs 0.06-0.14 s of start-up (issue 12)
import sympy as sp

from ..errors import SIZE, Need
from ..graph import Value
from ..receptive import Window
from ..symbolic import as_expr, fdiv
from . import UNKNOWN_OPERAND, Case, Inference, Op, numel, register

_TAPS = {"nearest": 1, "linear": 2, "cubic": 4}
_HALF = ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric")


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The rational with the smallest denominator strictly inside (lo, hi), 0 <= lo < hi."""
    n = lo.numerator // lo.denominator
    if n + 1 < hi:
        return Fraction(n + 1)
    lo_f, hi_f = lo - n, hi - n  # 0 <= lo_f < hi_f <= 1
    if lo_f == 0:
        k = 1
        while Fraction(1, k) >= hi_f:
            k += 1
        return n + Fraction(1, k)
    return n + 1 / _simplest_between(1 / hi_f, 1 / lo_f)


def float32_scale(v) -> sp.Expr:
    """A float32 scale as the simplest rational that rounds to it (see module doc);
    anything that is not a non-integer float32 value is returned unchanged."""
    import numpy as np  # only for a float32 scale: imported on use (start-up time, issue 12)
    v = as_expr(v)
    if not v.is_Rational or v.is_Integer or v <= 0:
        return v
    q = Fraction(int(v.p), int(v.q))
    f = np.float32(float(q))
    if Fraction(float(f)) != q:
        return v  # not a float32 value (an exact rational from elsewhere): keep it
    lo = (Fraction(float(np.nextafter(f, np.float32(0)))) + q) / 2
    hi = (Fraction(float(np.nextafter(f, np.float32(np.inf)))) + q) / 2
    r = _simplest_between(lo, hi)
    if r.denominator > 1000:  # no small fraction: the shortest decimal reads better
        dec = Fraction(np.format_float_positional(f, unique=True, trim="-"))
        r = dec if lo < dec < hi else r
    return sp.Rational(r.numerator, r.denominator)


def _known(op, v, what):
    """Contents of an optional input, or None when absent or empty."""
    if v is None or (v.shape is not None and len(v.shape) == 1 and v.shape[0] == 0):
        return None
    if v.value is None:
        op.fail(f"{what} must be a known constant to derive shapes", kind=UNKNOWN_OPERAND)
    return list(v.value)


class _ResizeBase(Op):
    def _mode(self):
        m = self.attrs.get("mode") or "nearest"
        m = m.decode() if isinstance(m, bytes) else m
        if m not in _TAPS:
            self.fail(f"unknown mode {m!r}")
        return m

    def _result(self, x, outs, scales, coord="asymmetric", antialias=0):
        mode = self._mode()
        taps = _TAPS[mode]
        r = 0
        rf = []
        cons = []
        for i, (d, o) in enumerate(zip(x.shape, outs)):
            resized = sp.expand(o - d) != 0
            r += bool(resized)
            if o.is_number and o < 1:
                self.fail(f"output axis {i} would be {o} for input {tuple(x.shape)}")
            if not o.is_number:
                cons.append(Need(sp.Ge(o, 1), f"{self.op_type} output axis {i} must be >= 1", kind=SIZE, axis=i))
            if resized and scales is None:  # sizes: onnxruntime cannot resize an empty axis
                rel = sp.Ge(d, 1)
                if rel is sp.false:
                    self.fail(f"input axis {i} is empty ({d}) but sizes asks for {o}")
                if rel is not sp.true:
                    cons.append((rel, f"{self.op_type} input axis {i} must not be empty (resized to {o})"))
            if not resized or i < 2 or len(x.shape) < 3:
                rf.append(((0, i, None),))
                continue
            if d == 1:  # one unit resized to many: every output unit has its field (jump 0)
                rf.append(((0, i, Window(sp.Integer(0), sp.Integer(0), sp.Integer(0))),))
                continue
            scale = scales[i] if scales is not None else o / d
            jump = 1 / scale
            span = sp.Integer(taps - 1)
            if antialias and mode != "nearest" and scale.is_number and scale < 1:
                span = taps / scale - 1
            shift = (jump - 1) / 2 if coord in _HALF else jump / 2 if coord == "tf_half_pixel_for_nn" else sp.Integer(0)
            rf.append(((0, i, Window(span, jump, shift)),))
        y = tuple(outs)
        per = taps ** r if mode != "nearest" else 1
        return Inference([Value(y, x.dtype)], terms={"resize": per * numel(y)}, rf=[tuple(rf)], constraints=cons)

    def _scaled(self, x, scales):
        if len(scales) != len(x.shape):
            self.fail(f"{len(scales)} scales for an input of rank {len(x.shape)}")
        scales = [float32_scale(s) for s in scales]
        for s in scales:
            if not (s.is_number and s > 0):
                self.fail(f"scales must be positive numbers, got {s}")
        return [fdiv(d * s.p, s.q) if s.is_Rational else sp.floor(d * s) for d, s in zip(x.shape, scales)], scales


@register
class Resize(_ResizeBase):
    """Resize X by ``scales`` (out = floor(x * scale)) or to ``sizes``; see the module
    docstring for rounding, keep_aspect_ratio_policy, axes and receptive fields.
    https://onnx.ai/onnx/operators/onnx__Resize.html
    """

    op_type = "Resize"
    attributes = {"antialias": 0, "axes": None, "coordinate_transformation_mode": "half_pixel",
                  "cubic_coeff_a": -0.75, "exclude_outside": 0, "extrapolation_value": 0.0,
                  "keep_aspect_ratio_policy": "stretch", "mode": "nearest", "nearest_mode": "round_prefer_floor"}
    examples = [
        Case(("N,C,H,W", None, "4"), "N,C,2*H,2*W", values={2: (1, 1, 2, 2)}, opset=13,
             terms={"resize": "4*N*C*H*W"}),
        Case(("N,C,H,W", "0", "4"), "N,C,floor(H/2),floor(3*W/2)", values={1: (), 2: (1, 1, 0.5, 1.5)},
             mode="linear", opset=11, terms={"resize": "4*N*C*floor(H/2)*floor(3*W/2)"}),
        Case(("1,3,H,W", None, None, "4"), "1,3,32,48", values={3: (1, 3, 32, 48)}, opset=13),
        Case(("N,C,H,W", None, None, "2"), "N,C,64,64", values={3: (64, 64)}, axes=(2, 3), opset=18),
        Case(("N,C,H,W", None, "2"), "N,C,floor(H/3),W", values={2: (0.3333333432674408, 1)}, axes=(2, 3),
             opset=19),
        Case(("1,3,100,200", None, None, "2"), "1,3,50,100", values={3: (50, 300)}, axes=(2, 3),
             keep_aspect_ratio_policy="not_larger", opset=18),
        Case(("N,C,H,W", "4"), "N,C,2*H,2*W", values={1: (1, 1, 2, 2)}, opset=10),
        Case(("N,C,H,W", None, "3"), values={2: (1, 2, 2)}, opset=13, raises="rank"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        r = len(x.shape)
        if self.opset < 11:
            scales, sizes, coord = _known(self, inputs[1] if len(inputs) > 1 else None, "scales"), None, "asymmetric"
        else:
            get = lambda i: inputs[i] if len(inputs) > i else None  # noqa: E731
            scales = _known(self, get(2), "scales")
            sizes = _known(self, get(3), "sizes")
            coord = self["coordinate_transformation_mode"] or "half_pixel"
        axes = [int(a) % r for a in self["axes"]] if self.opset >= 18 and self["axes"] else list(range(r))
        if sizes is not None:
            if len(sizes) != len(axes):
                self.fail(f"{len(sizes)} sizes for {len(axes)} axes")
            outs = list(x.shape)
            policy = self["keep_aspect_ratio_policy"] if self.opset >= 18 else "stretch"
            if policy == "stretch":
                for a, s in zip(axes, sizes):
                    outs[a] = as_expr(s)
            else:
                ratios = [as_expr(s) / x.shape[a] for a, s in zip(axes, sizes)]
                scale = sp.Min(*ratios) if policy == "not_larger" else sp.Max(*ratios)
                for a in axes:
                    outs[a] = sp.floor(x.shape[a] * scale + sp.Rational(1, 2))
            return self._result(x, outs, None, coord, self["antialias"])
        if scales is None:
            self.fail("needs scales or sizes")
        if self.opset >= 18 and self["axes"]:
            if len(scales) != len(axes):
                self.fail(f"{len(scales)} scales for {len(axes)} axes")
            full = [sp.Integer(1)] * r
            for a, s in zip(axes, scales):
                full[a] = s
            scales = full
        outs, sc = self._scaled(x, scales)
        return self._result(x, outs, sc, coord, self["antialias"])


@register
class Upsample(_ResizeBase):
    """Upsample X: out = floor(x * scale); scales an attribute (opset 7) or the second input
    (opset 9); deprecated by Resize in opset 10. onnxruntime refuses scales < 1.
    Term and receptive field as for Resize (coordinates asymmetric).
    https://onnx.ai/onnx/operators/onnx__Upsample.html
    """

    op_type = "Upsample"
    attributes = {"mode": "nearest", "scales": None}
    examples = [
        Case(("N,C,H,W",), "N,C,2*H,3*W", scales=(1.0, 1.0, 2.0, 3.0), opset=7),
        Case(("N,C,H,W", "4"), "N,C,floor(3*H/2),2*W", values={1: (1, 1, 1.5, 2)}, mode="linear", opset=9),
        Case(("N,C,H,W",), scales=(1.0, 1.0, 0.5, 0.5), opset=7, raises=">= 1"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 1)
        scales = _known(self, inputs[1], "scales") if len(inputs) > 1 and inputs[1] is not None else self["scales"]
        if scales is None:
            self.fail("needs scales")
        if any(as_expr(s) < 1 for s in scales):
            self.fail(f"scales must be >= 1 (onnxruntime), got {list(scales)}")
        outs, sc = self._scaled(x, scales)
        return self._result(x, outs, sc, "asymmetric")
