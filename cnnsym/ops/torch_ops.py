"""Torch-only layers with no ONNX op of their own, in the ``cnnsym.torch`` domain.

They are registered exactly as a third-party plugin registers its ops (``register`` with a
``domain``); the PyTorch-source frontend emits them, an ONNX file never contains them.
"""
from __future__ import annotations

from ..graph import Value
from ..receptive import Window
from ..symbolic import as_expr, cdiv
from . import Case, Inference, Op, numel, register
from ._spatial import spatial_rf

DOMAIN = "cnnsym.torch"


class _Adaptive(Op):
    domain = DOMAIN
    attributes = {"output_size": None}

    def infer(self, inputs):
        x = inputs[0]
        self.need_rank(x, 3)
        nsp = len(x.shape) - 2
        size = self.attrs.get("output_size")
        if size is None:
            self.fail("output_size is required")
        size = list(size)
        if len(size) == 1 and nsp > 1:
            size = size * nsp
        if len(size) != nsp:
            self.fail(f"output_size {tuple(size)} has {len(size)} dims but the input has {nsp} spatial dims")
        outs, windows, cons = [], [], []
        for d, o in zip(x.shape[2:], size):
            # torch: output_size None keeps the axis; a window of unit i covers
            # [floor(i*x/o), ceil((i+1)*x/o)), at most ceil(x/o) + 1 wide
            o = d if o is None else as_expr(o)
            if o.is_number and o < 1:
                self.fail(f"output_size {o} must be >= 1")
            outs.append(o)
            k = cdiv(d, o) if o.is_Integer else d / o
            windows.append(Window(k - 1, d / o, (k - 1) / 2))
        y = (*x.shape[:2], *outs)
        return Inference([Value(y, x.dtype)], terms={"pooling": numel(x.shape)},
                         rf=[spatial_rf(windows, len(y))], constraints=cons)


@register
class AdaptiveAveragePool(_Adaptive):
    """torch.nn.AdaptiveAvgPool{1,2,3}d: Y[n, c, i...] = mean of X over
    [floor(i*x/o), ceil((i+1)*x/o)) per spatial axis.

    out = output_size (None keeps the input's extent); term pooling = numel(X) (every input
    element is summed once when x is a multiple of o; windows overlap by at most one element
    otherwise). Receptive field per axis: kernel ceil(x/o), stride x/o (exact when o divides x).
    https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
    """

    op_type = "AdaptiveAveragePool"
    examples = [
        Case(("N,C,H,W",), "N,C,7,7", output_size=(7, 7), terms={"pooling": "N*C*H*W"}),
        Case(("N,C,H,W",), "N,C,H,3", output_size=(None, 3)),
        Case(("N,C,L",), "N,C,4", output_size=(4,)),
        Case(("N,C,D,H,W",), "N,C,2,2,2", output_size=(2,)),
        Case(("N,C,H,W",), raises="output_size", output_size=(2, 2, 2)),
    ]


@register
class AdaptiveMaxPool(_Adaptive):
    """torch.nn.AdaptiveMaxPool{1,2,3}d: Y[n, c, i...] = max of X over
    [floor(i*x/o), ceil((i+1)*x/o)) per spatial axis.

    Shapes and terms as :class:`AdaptiveAveragePool`.
    https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool2d.html
    """

    op_type = "AdaptiveMaxPool"
    examples = [
        Case(("N,C,H,W",), "N,C,6,6", output_size=(6, 6), terms={"pooling": "N*C*H*W"}),
    ]
