"""Ops that undo a sliding window or a crop: MaxUnpool, Col2Im, CenterCropPad.

https://onnx.ai/onnx/operators/onnx__MaxUnpool.html, onnx__Col2Im.html,
onnx__CenterCropPad.html
"""
from __future__ import annotations

import sympy as sp

from ..errors import SIZE, Need
from ..receptive import Window
from ..symbolic import as_expr, fdiv, product
from . import UNKNOWN_OPERAND, Case, Inference, Op, numel, register
from ._spatial import spatial_attrs, spatial_rf
from .einsum import agree


def _known(op, inputs, index, what):
    v = inputs[index] if index < len(inputs) else None
    if v is None:
        return None
    if v.value is None:
        op.fail(f"{what} must be a known constant to derive shapes", kind=UNKNOWN_OPERAND)
    return [as_expr(e) for e in v.value]


@register
class MaxUnpool(Op):
    """Y = zeros with X's values scattered to the positions in I (MaxPool's indices).

    out = (x - 1)s - pb - pe + k per spatial axis, or the ``output_shape`` input when given
    (known contents). No arithmetic: no cost terms. Receptive field: the pool's inverse, a
    ConvTranspose-like window (span (k - 1)/s, jump 1/s, shift (pb - (k - 1)/2)/s).
    """

    op_type = "MaxUnpool"
    attributes = {"kernel_shape": None, "pads": None, "strides": None}
    examples = [
        Case(("N,C,H,W", "N,C,H,W"), "N,C,2*H,2*W", kernel_shape=(2, 2), strides=(2, 2)),
        Case(("N,C,H,W", "N,C,H,W"), "N,C,2*H-1,2*W-1", kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)),
        Case(("1,1,2,2", "1,1,2,2", "4"), "1,1,5,5", kernel_shape=(2, 2), strides=(2, 2),
             values={2: (1, 1, 5, 5)}),
    ]

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        nsp = len(x.shape) - 2
        k, s, _, pads = spatial_attrs(self, nsp)
        given = _known(self, inputs, 2, "output_shape")
        outs, windows, cons = [], [], []
        for j in range(nsp):
            pb, pe = pads[j], pads[nsp + j]
            default = (x.shape[2 + j] - 1) * s[j] - pb - pe + k[j]
            out = default
            if given is not None:
                if len(given) != len(x.shape):
                    self.fail(f"output_shape {given} must have {len(x.shape)} entries")
                out = given[2 + j]
                rel = sp.Ge(out, default)
                if rel is sp.false:
                    self.fail(f"output_shape {given} is smaller than the unpooled size on axis {2 + j}")
                if rel is not sp.true:
                    cons.append((rel, f"MaxUnpool output_shape must hold the unpooled size on axis {2 + j}"))
            outs.append(sp.expand(out))
            windows.append(Window((k[j] - 1) / s[j], sp.Integer(1) / s[j], (pb - (k[j] - 1) / sp.Integer(2)) / s[j]))
            if not outs[-1].is_number:
                cons.append(Need(sp.Ge(outs[-1], 1), f"MaxUnpool output axis {2 + j} must be >= 1", kind=SIZE,
                                 axis=2 + j))
        y = (x.shape[0], x.shape[1], *outs)
        return Inference([x.__class__(y, x.dtype)], rf=[spatial_rf(windows, len(y))], constraints=cons)


@register
class Col2Im(Op):
    """Rearranges column blocks into an image, summing overlaps (torch's ``fold``).

    input (N, C x prod(block_shape), L), image_shape and block_shape (known) -> Y (N, C,
    image_shape...). L must equal prod over axes of floor((x + pb + pe - d(k - 1) - 1)/s) + 1
    (x = image_shape, k = block_shape). term elementwise = numel(input) (one add each).
    """

    op_type = "Col2Im"
    attributes = {"dilations": None, "pads": None, "strides": None}
    examples = [
        # the spec's example: 5 columns of 5 (1 x 5 blocks) fold into a 5 x 5 image
        Case(("N,5,5", "2", "2"), "N,1,5,5", values={1: (5, 5), 2: (1, 5)}, terms={"elementwise": "25*N"}),
        Case(("N,18,9", "2", "2"), "N,2,5,5", values={1: (5, 5), 2: (3, 3)}, strides=(2, 2), pads=(1, 1, 1, 1)),
        Case(("N,18,10", "2", "2"), values={1: (5, 5), 2: (3, 3)}, strides=(2, 2), pads=(1, 1, 1, 1), raises="blocks"),
    ]

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None or len(x.shape) != 3:
            self.fail("input must be 3-D (N, C x prod(block_shape), L)")
        image = _known(self, inputs, 1, "image_shape")
        block = _known(self, inputs, 2, "block_shape")
        if image is None or block is None or len(image) != len(block):
            self.fail("image_shape and block_shape must be given, of equal length")
        nsp = len(image)
        _, s, d, pads = spatial_attrs(self, nsp, block)
        blocks = [fdiv(image[j] + pads[j] + pads[nsp + j] - d[j] * (block[j] - 1) - 1, s[j]) + 1 for j in range(nsp)]
        cons = agree(self, x.shape[2], product(blocks), "L must be the number of blocks")
        kb = product(block)
        c = fdiv(x.shape[1], kb)
        cons += agree(self, c * kb, x.shape[1], "input channels must be a multiple of prod(block_shape)")
        y = (x.shape[0], c, *image)
        return Inference([x.__class__(y, x.dtype)], terms={"elementwise": numel(x.shape)}, constraints=cons)


@register
class CenterCropPad(Op):
    """Crops or pads (with zeros) each axis in ``axes`` (default all) to ``shape``
    (known), centred: Y dims on those axes = shape; others unchanged. Cropping starts at
    floor((x - t)/2), padding puts floor((t - x)/2) first. No arithmetic: no cost terms.
    Receptive field: shifted by the crop start (or minus the begin pad) where the sign of
    x - t is known.
    """

    op_type = "CenterCropPad"
    attributes = {"axes": None}
    examples = [
        Case(("N,C,H,W", "2"), "N,C,224,224", values={1: (224, 224)}, axes=(2, 3)),
        Case(("20,10,3", "3"), "10,7,3", values={1: (10, 7, 3)}),
        Case(("N,C,H,W", "3"), raises="entries", values={1: (1, 2, 3)}, axes=(2, 3)),
    ]

    def infer(self, inputs):
        x = inputs[0]
        if x.shape is None:
            self.fail("input rank unknown")
        r = len(x.shape)
        target = _known(self, inputs, 1, "shape")
        axes = self["axes"]
        axes = list(range(r)) if axes is None else [int(a) + r if int(a) < 0 else int(a) for a in axes]
        if target is None or len(target) != len(axes):
            self.fail(f"shape must have one entry per axis ({len(axes)} entries)")
        out = list(x.shape)
        rf = [((0, i, None),) for i in range(r)]
        for a, t in zip(axes, target):
            diff = sp.expand(x.shape[a] - t)
            out[a] = t
            if diff.is_nonnegative:
                rf[a] = ((0, a, Window(sp.Integer(0), sp.Integer(1), fdiv(diff, 2))),)
            elif diff.is_negative:
                rf[a] = ((0, a, Window(sp.Integer(0), sp.Integer(1), -fdiv(-diff, 2))),)
            else:
                rf[a] = None
        return Inference([x.__class__(tuple(out), x.dtype)], rf=[tuple(rf)])
