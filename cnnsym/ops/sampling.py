"""Ops that read their input at computed positions: GridSample, AffineGrid, RoiAlign,
DeformConv. Where the positions are data (a grid, boxes, offsets), an output unit's
receptive field is not derived (None), never guessed from a nominal window.

https://onnx.ai/onnx/operators/onnx__GridSample.html, onnx__AffineGrid.html,
onnx__RoiAlign.html, onnx__DeformConv.html
"""
from __future__ import annotations

import sympy as sp

from ..symbolic import as_expr, product
from . import UNKNOWN_OPERAND, Case, Inference, Op, numel, register
from ._spatial import windowed
from .einsum import agree


def _mode(op, default):
    m = op.attrs.get("mode") or default
    return m.decode() if isinstance(m, bytes) else str(m)


TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "cubic": 4, "bicubic": 4}


@register
class GridSample(Op):
    """Y[n, c, o...] = X[n, c] interpolated at grid[n, o..., :] (r spatial axes).

    X (N, C, D1..Dr), grid (N, O1..Or, r) -> Y (N, C, O1..Or); the grid's batch equals
    X's and its last dim is r. term resize = numel(Y) x taps^r (nearest 1, (bi)linear 2,
    (bi)cubic 4 per axis). The sampled positions are data: no receptive field.
    """

    op_type = "GridSample"
    reads_values = False
    attributes = {"align_corners": 0, "mode": None, "padding_mode": "zeros"}
    examples = [
        Case(("N,C,H,W", "N,P,Q,2"), "N,C,P,Q", terms={"resize": "4*N*C*P*Q"}),
        Case(("N,C,H,W", "N,P,Q,2"), "N,C,P,Q", mode="bicubic", opset=16, terms={"resize": "16*N*C*P*Q"}),
        Case(("N,C,D,H,W", "N,P,Q,R,3"), "N,C,P,Q,R", mode="nearest", opset=20, terms={"resize": "N*C*P*Q*R"}),
        Case(("N,C,H,W", "N,P,Q,3"), raises="last dim"),
    ]

    def infer(self, inputs):
        x, grid = inputs[0], inputs[1]
        self.need_rank(x, 3)
        r = len(x.shape) - 2
        if grid.shape is None or len(grid.shape) != r + 2:
            self.fail(f"grid must have rank {r + 2} for an input of rank {r + 2}")
        if grid.shape[-1].is_number and grid.shape[-1] != r:
            self.fail(f"grid's last dim is {grid.shape[-1]}, must be {r}")
        cons = agree(self, x.shape[0], grid.shape[0], "grid's batch must equal the input's")
        cons += agree(self, grid.shape[-1], sp.Integer(r), "grid's last dim must be the number of spatial axes")
        mode = _mode(self, "bilinear" if self.opset < 20 else "linear")
        if mode not in TAPS:
            self.fail(f"unknown mode {mode!r}")
        y = (x.shape[0], x.shape[1], *grid.shape[1:-1])
        return Inference([x.__class__(y, x.dtype)], terms={"resize": TAPS[mode] ** r * numel(y)},
                         constraints=cons)


@register
class AffineGrid(Op):
    """grid[n, o..., :] = theta[n] @ (normalised o..., 1): theta (N, 2, 3) with size
    (N, C, H, W) gives (N, H, W, 2); theta (N, 3, 4) with size (N, C, D, H, W) gives
    (N, D, H, W, 3). ``size`` must be known. macs = N x prod(spatial) x r x (r + 1)."""

    op_type = "AffineGrid"
    attributes = {"align_corners": 0}
    examples = [
        Case(("N,2,3", "4"), "N,H,W,2", values={1: ("N", 3, "H", "W")}, dtypes={1: 7}, macs="6*N*H*W"),
        Case(("N,3,4", "5"), "N,D,H,W,3", values={1: ("N", 1, "D", "H", "W")}, dtypes={1: 7}, macs="12*N*D*H*W"),
        Case(("2,2,3", "4"), values={1: (3, 1, 4, 4)}, dtypes={1: 7}, raises="batch"),
    ]

    def infer(self, inputs):
        theta, size = inputs[0], inputs[1]
        if size is None or size.value is None:
            self.fail("size must be a known constant to derive shapes", kind="" if size is None else UNKNOWN_OPERAND)
        dims = [as_expr(v) for v in size.value]
        r = len(dims) - 2
        if r not in (2, 3):
            self.fail(f"size must have 4 or 5 elements, got {len(dims)}")
        if theta.shape is None or len(theta.shape) != 3:
            self.fail("theta must be 3-D (N, r, r + 1)")
        cons = agree(self, theta.shape[0], dims[0], "theta's batch must equal size[0]")
        cons += agree(self, theta.shape[1], sp.Integer(r), "theta must be (N, r, r + 1)")
        cons += agree(self, theta.shape[2], sp.Integer(r + 1), "theta must be (N, r, r + 1)")
        y = (dims[0], *dims[2:], sp.Integer(r))
        return Inference([theta.__class__(y, theta.dtype)], dims[0] * product(dims[2:]) * r * (r + 1),
                         constraints=cons)


@register
class RoiAlign(Op):
    """Y[k, c] = average (or max) of bilinear samples of X[batch_indices[k], c] over box
    rois[k], on an output_height x output_width grid.

    X (N, C, H, W), rois (R, 4), batch_indices (R) -> Y (R, C, output_height, output_width).
    R, the box count, is whatever the rois tensor holds (opaque when it comes from a
    data-dependent op such as NonMaxSuppression). term pooling = numel(Y) x 4 sr^2 (sr =
    sampling_ratio, 4 taps per bilinear sample); with sampling_ratio 0 the sample count is
    adaptive (ceil(box size / output size) per axis, data) and the term counts one sample
    per bin, a lower bound. Boxes are data: no receptive field.
    """

    op_type = "RoiAlign"
    reads_values = False
    attributes = {"coordinate_transformation_mode": "half_pixel", "mode": "avg", "output_height": 1,
                  "output_width": 1, "sampling_ratio": 0, "spatial_scale": 1.0}
    examples = [
        Case(("N,C,H,W", "R,4", "R"), "R,C,7,7", output_height=7, output_width=7, sampling_ratio=2,
             terms={"pooling": "784*R*C"}),
        Case(("N,C,H,W", "R,4", "R"), "R,C,1,1", terms={"pooling": "4*R*C"}),
        Case(("N,C,H,W", "R,5", "R"), raises="rois"),
    ]

    def infer(self, inputs):
        x, rois, bi = inputs[0], inputs[1], inputs[2]
        if x.shape is None or len(x.shape) != 4:
            self.fail("X must be 4-D (N, C, H, W)")
        if rois.shape is None or len(rois.shape) != 2 or bi.shape is None or len(bi.shape) != 1:
            self.fail("rois must be (R, 4) and batch_indices (R)")
        cons = agree(self, rois.shape[1], sp.Integer(4), "rois must be (R, 4)")
        cons += agree(self, bi.shape[0], rois.shape[0], "batch_indices must have one entry per box")
        y = (rois.shape[0], x.shape[1], as_expr(self["output_height"]), as_expr(self["output_width"]))
        sr = max(int(self["sampling_ratio"]), 1)
        return Inference([x.__class__(y, x.dtype)], terms={"pooling": 4 * sr * sr * numel(y)}, constraints=cons)


@register
class DeformConv(Op):
    """A Conv whose kernel taps move by learned offsets (and are scaled by an optional
    mask): Y (N, M, out...) with out as for Conv (``_spatial.windowed``).

    W (M, C/group, k...), offset (N, offset_group x r x prod(k), out...), mask (N,
    offset_group x prod(k), out...). macs = N x M x prod(out) x (C/group) x prod(k), as
    Conv; term resize = 2^r taps per sampled input value, N x C x prod(k) x prod(out)
    samples; bias term = numel(Y). Offsets are data: no receptive field.
    """

    op_type = "DeformConv"
    reads_values = False
    attributes = {"dilations": None, "group": 1, "kernel_shape": None, "offset_group": 1, "pads": None,
                  "strides": None}
    param_roles = {1: "trainable", 3: "trainable"}
    examples = [
        Case(("N,C,H,W", "M,C,3,3", "N,18,H-2,W-2"), "N,M,H-2,W-2", macs="9*N*M*C*(H-2)*(W-2)",
             terms={"resize": "36*N*C*(H-2)*(W-2)"}),
        Case(("N,4,H,W", "8,4,3,3", "N,36,H,W", "8", "N,18,H,W"), "N,8,H,W", pads=(1, 1, 1, 1), offset_group=2,
             macs="288*N*H*W", terms={"bias": "8*N*H*W", "resize": "144*N*H*W"}),
        Case(("N,C,H,W", "M,C,3,3", "N,9,H-2,W-2"), raises="offset"),
    ]

    def infer(self, inputs):
        x, w, off = inputs[0], inputs[1], inputs[2]
        self.need_rank(x, 3)
        if w.shape is None or len(w.shape) != len(x.shape):
            self.fail("W must have X's rank")
        if off is None or off.shape is None or len(off.shape) != len(x.shape):
            self.fail("offset must have X's rank")
        r = len(x.shape) - 2
        g, og = as_expr(self["group"]), as_expr(self["offset_group"])
        kernel = list(w.shape[2:])
        outs, _, cons, k = windowed(self, x.shape, kernel)
        cons = list(cons) + agree(self, w.shape[1] * g, x.shape[1], "input channels must equal W's C/group x group")
        cons += agree(self, off.shape[1], og * r * product(k), "offset channels must be offset_group x r x prod(kernel)")
        cons += agree(self, off.shape[0], x.shape[0], "offset's batch must equal the input's")
        for j, o in enumerate(outs):
            cons += agree(self, off.shape[2 + j], o, f"offset axis {2 + j} must equal the output's")
        mask = inputs[4] if len(inputs) > 4 else None
        if mask is not None and mask.shape is not None:
            cons += agree(self, mask.shape[1], og * product(k), "mask channels must be offset_group x prod(kernel)")
        y = (x.shape[0], w.shape[0], *outs)
        terms = {"resize": 2 ** r * x.shape[0] * x.shape[1] * product(k) * product(outs)}
        if len(inputs) > 3 and inputs[3] is not None:
            terms["bias"] = numel(y)
        macs = numel(y) * w.shape[1] * product(k)
        return Inference([x.__class__(y, x.dtype)], macs, terms, None, cons)
