"""Conv and ConvTranspose, 1-3 spatial dims."""
from __future__ import annotations

import sympy as sp

from ..errors import SIZE, Need
from ..receptive import Window
from ..symbolic import as_expr, fdiv, product, scale
from ..symbolic import eq as _eq
from . import Case, Inference, Op, numel, register
from ._spatial import _auto_pad, spatial_attrs, spatial_rf, windowed


def _group_check(op, cin, w_cin, cout, g):
    cons = []
    need = w_cin * g
    eq = _eq(cin, need)  # sp.Eq, fast for integers and a symbol against itself
    if eq is sp.false:
        op.fail(f"input has {cin} channels but the weight expects {need} (weight {w_cin} x group {g})",
                kind="channels", expected=need, got=cin)
    if eq is not sp.true:
        cons.append((eq, f"{op.op_type} input channels must equal {need}"))
    if cout.is_Integer and cout % g != 0:
        op.fail(f"output channels {cout} not divisible by group {g}")
    return cons


@register
class Conv(Op):
    """Y[n, m, o...] = sum over c, k of X * W (+ B).

    out = floor((x + pb + pe - d(k-1) - 1)/s) + 1 per spatial axis (auto_pad: see
    ``_spatial``); macs = N * M * prod(out) * (C/group) * prod(k); bias term = numel(Y).
    https://onnx.ai/onnx/operators/onnx__Conv.html
    """
    reads_values = False

    op_type = "Conv"
    attributes = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
                  "pads": None, "strides": None}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,3,H,W", "64,3,3,3"), "N,64,H,W", pads=(1, 1, 1, 1), macs="1728*N*H*W"),
        Case(("N,8,H,W", "16,8,5,5", "16"), "N,16,H,W", pads=(2, 2, 2, 2),
             macs="3200*N*H*W", terms={"bias": "16*N*H*W"}),
        Case(("N,3,H,W", "64,3,7,7"), "N,64,ceiling(H/2),ceiling(W/2)", strides=(2, 2), pads=(3, 3, 3, 3)),
        Case(("N,32,H,W", "32,1,3,3"), "N,32,ceiling(H/2),ceiling(W/2)", group=32, strides=(2, 2),
             auto_pad="SAME_UPPER", macs="288*N*ceiling(H/2)*ceiling(W/2)"),
        Case(("N,4,L", "8,4,3"), "N,8,L-4", dilations=(2,), macs="96*N*(L-4)"),
        Case(("N,2,D,H,W", "4,2,3,3,3"), "N,4,D-2,H-2,W-2", auto_pad="VALID"),
        Case(("1,3,8,8", "4,5,3,3"), raises="channels"),
    ]

    def infer(self, inputs):
        x, w = inputs[0], inputs[1]
        self.need_rank(x, 3)
        if w.shape is None or len(w.shape) != len(x.shape):
            self.fail(f"weight rank {len(w.shape) if w.shape else '?'} must equal input rank {len(x.shape)}")
        g = as_expr(self["group"])
        n, cin = x.shape[0], x.shape[1]
        cout, w_cin, kernel = w.shape[0], w.shape[1], list(w.shape[2:])
        cons = _group_check(self, cin, w_cin, cout, g)
        outs, windows, wcons, k = windowed(self, x.shape, kernel)
        y = (n, cout, *outs)
        terms = {}
        if len(inputs) > 2 and inputs[2] is not None:
            terms["bias"] = numel(y)
        macs = scale(scale(numel(y), w_cin), product(k))  # numel(y) * w_cin * prod(k), fast (issue 12)
        return Inference([x.__class__(y, x.dtype)], macs, terms, [spatial_rf(windows, len(y))], cons + wcons)


@register
class ConvTranspose(Op):
    """Y[n, m, o...] scattered from X * W, W of shape (C, M/group, k...).

    full = s(x - 1) + output_padding + d(k-1) + 1; out = full - pb - pe, or ``output_shape``
    (total pad max(0, full - out), SAME_UPPER putting the smaller half first, NOTSET and
    SAME_LOWER the larger). auto_pad SAME_* without output_shape: the spec says out = x*s;
    onnxruntime (1.32, the reference here) pads ``max(0, full - x*s)``, so out = x*s when
    ``output_padding + d(k-1) + 1 >= s`` and the unpadded ``full`` otherwise (e.g. k=1, s=3
    gives 3x - 2, not 3x): out = min(x*s, full), written so for a symbolic kernel. VALID
    keeps the explicit pads (onnxruntime). output_padding must
    be < max(stride, dilation) (the spec); onnxruntime refuses output_padding >= stride at
    every size, which cnnsym does not copy; it also refuses an empty input axis with a
    non-zero output_padding or with output_shape (a constraint). With output_shape,
    onnxruntime also refuses inputs with ``full - output_padding + s - 1 < out`` (a
    constraint here; the spec would zero-extend).
    macs are counted on the input side, N * C * prod(x) * (M/group) * prod(k): each input
    element is multiplied into each kernel tap once (the output side over-counts by s^2).
    https://onnx.ai/onnx/operators/onnx__ConvTranspose.html
    """
    reads_values = False

    op_type = "ConvTranspose"
    attributes = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
                  "output_padding": None, "output_shape": None, "pads": None, "strides": None}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,16,H,W", "16,8,4,4"), "N,8,2*H,2*W", strides=(2, 2), pads=(1, 1, 1, 1), macs="2048*N*H*W"),
        Case(("N,4,H,W", "4,2,3,3", "4"), "N,4,2*H,2*W", group=2, strides=(2, 2), pads=(1, 1, 1, 1),
             output_padding=(1, 1), macs="72*N*H*W", terms={"bias": "16*N*H*W"}),
        Case(("N,1,L", "1,1,3"), "N,1,3*L", strides=(3,), auto_pad="SAME_UPPER"),
        Case(("N,1,L", "1,1,3"), "N,1,10", strides=(2,), output_shape=(10,)),
    ]

    def infer(self, inputs):
        x, w = inputs[0], inputs[1]
        self.need_rank(x, 3)
        if w.shape is None or len(w.shape) != len(x.shape):
            self.fail("weight rank must equal input rank")
        nsp = len(x.shape) - 2
        g = as_expr(self["group"])
        cin = x.shape[1]
        cons = []
        eq = sp.Eq(cin, w.shape[0])
        if eq is sp.false:
            self.fail(f"input has {cin} channels but the weight expects {w.shape[0]}",
                      kind="channels", expected=w.shape[0], got=cin)
        if eq is not sp.true:
            cons.append((eq, f"ConvTranspose input channels must equal {w.shape[0]}"))
        cout = w.shape[1] * g
        k, s, d, pads = spatial_attrs(self, nsp, list(w.shape[2:]))
        opad = [as_expr(v) for v in (self["output_padding"] or [0] * nsp)]
        oshape = self["output_shape"]
        if oshape is not None and len(oshape) == nsp + 2:
            oshape = oshape[2:]
        ap = _auto_pad(self["auto_pad"])
        outs, windows = [], []
        for j in range(nsp):
            xj = x.shape[2 + j]
            ext = d[j] * (k[j] - 1)
            if opad[j] >= sp.Max(s[j], d[j]):
                self.fail(f"output_padding {opad[j]} must be less than max(stride, dilation) = {sp.Max(s[j], d[j])}")
            full = s[j] * (xj - 1) + opad[j] + ext + 1
            if opad[j] != 0 or oshape is not None:  # onnxruntime refuses an empty input axis
                # with output_padding or output_shape
                rel = sp.Ge(xj, 1)
                if rel is sp.false:
                    self.fail(f"input axis {2 + j} is empty (output_padding {opad[j]}, output_shape {oshape})")
                if rel is not sp.true:
                    cons.append((rel, f"ConvTranspose input axis {2 + j} must not be empty (output_padding or output_shape)"))
            if oshape is not None or ap in ("SAME_UPPER", "SAME_LOWER"):
                if oshape is not None:
                    out = as_expr(oshape[j])
                    total = sp.Max(0, full - out)
                    # onnxruntime refuses an input too small to produce output_shape
                    # (output_padding does not count: s(x - 1) + d(k - 1) + s >= out)
                    rel = sp.Ge(full - opad[j] + s[j] - 1, out)
                    if rel is sp.false:
                        self.fail(f"input axis {2 + j} ({xj}) is too small for output_shape {out}")
                    if rel is not sp.true:
                        cons.append((rel, f"ConvTranspose input axis {2 + j} too small for output_shape {out}"))
                else:
                    over = sp.Ge(opad[j] + ext + 1, s[j])
                    if over is sp.true:  # full >= x*s: pad down to x*s
                        out, total = xj * s[j], opad[j] + ext + 1 - s[j]
                    elif over is sp.false:  # onnxruntime clamps the total pad at 0: the
                        # full size, below x*s
                        out, total = full, sp.Integer(0)
                    else:  # a symbolic kernel: both cases at once (full - x*s is the pad)
                        out, total = sp.Min(xj * s[j], full), sp.Max(0, opad[j] + ext + 1 - s[j])
                half = _half(total)
                pb = half if ap == "SAME_UPPER" else total - half
            else:
                pb, pe = pads[j], pads[nsp + j]
                out = full - pb - pe
            outs.append(out)
            windows.append(Window(ext / s[j], sp.Integer(1) / s[j], (pb - ext / sp.Integer(2)) / s[j]))
            if out.is_number and out < 1:
                self.fail(f"output axis {2 + j} would be {out}")
            if not out.is_number:
                cons.append(Need(sp.Ge(out, 1), f"ConvTranspose output axis {2 + j} must be >= 1", kind=SIZE,
                                 axis=2 + j))
        y = (x.shape[0], cout, *outs)
        terms = {"bias": numel(y)} if len(inputs) > 2 and inputs[2] is not None else {}
        macs = scale(scale(numel(x.shape), w.shape[1]), product(k))  # numel(x) * (M/group) * prod(k)
        return Inference([x.__class__(y, x.dtype)], macs, terms, [spatial_rf(windows, len(y))], cons)


def _half(total):
    return fdiv(total, 2)
