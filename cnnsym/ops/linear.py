"""Gemm and MatMul."""
from __future__ import annotations

import sympy as sp

from ..symbolic import ONE, scale
from ..symbolic import eq as _eq
from . import Case, Inference, Op, numel, register
from ._broadcast import broadcast


def _inner(op, a, b, what):
    eq = _eq(a, b)  # sp.Eq, fast for integers and a symbol against itself
    if eq is sp.false:
        op.fail(f"inner dimensions differ: {a} vs {b} ({what})", kind="features", expected=b, got=a)
    return [] if eq is sp.true else [(eq, f"{op.op_type} inner dimensions must agree: {a} = {b}")]


@register
class Gemm(Op):
    """Y = alpha * A' B' + beta * C, A' (M, K), B' (K, N) after optional transposes.

    macs = M * K * N; bias term = M * N when C is given.
    https://onnx.ai/onnx/operators/onnx__Gemm.html
    """
    reads_values = False

    op_type = "Gemm"
    attributes = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,400", "120,400", "120"), "N,120", transB=1, macs="48000*N", terms={"bias": "120*N"}),
        Case(("K,N", "K,10"), "N,10", transA=1, macs="10*N*K"),
        Case(("N,44944", "120,400"), transB=1, raises="inner"),
    ]

    def infer(self, inputs):
        a, b = inputs[0], inputs[1]
        for v, nm in ((a, "A"), (b, "B")):
            if v.shape is None or len(v.shape) != 2:
                self.fail(f"{nm} must be 2-D, got {v.shape}")
        m, k = a.shape[::-1] if self["transA"] else a.shape
        k2, n = b.shape[::-1] if self["transB"] else b.shape
        cons = _inner(self, k, k2, "A's columns vs B's rows")
        terms = {}
        if len(inputs) > 2 and inputs[2] is not None and self["beta"] != 0:
            terms["bias"] = m * n
        return Inference([a.__class__((m, n), a.dtype)], scale(scale(m, k), n), terms, None, cons)


@register
class MatMul(Op):
    """numpy.matmul: batch dims broadcast, (.., M, K) x (.., K, N) -> (.., M, N); 1-D
    operands are promoted and the added axis removed. macs = prod(batch) * M * K * N.
    https://onnx.ai/onnx/operators/onnx__MatMul.html
    """
    reads_values = False

    op_type = "MatMul"
    param_roles = {0: "trainable", 1: "trainable"}
    examples = [
        Case(("N,S,64", "64,128"), "N,S,128", macs="8192*N*S"),
        Case(("B,1,M,K", "H,K,N"), "B,H,M,N", macs="B*H*M*K*N"),
        Case(("K", "K,N"), "N", macs="K*N"),
        Case(("M,K", "K"), "M", macs="M*K"),
    ]

    def infer(self, inputs):
        a, b = inputs[0].shape, inputs[1].shape
        if a is None or b is None or not a or not b:
            self.fail("operands must have rank >= 1")
        a2 = (ONE, *a) if len(a) == 1 else a
        b2 = (*b, ONE) if len(b) == 1 else b
        cons = _inner(self, a2[-1], b2[-2], "A's last axis vs B's second-to-last")
        batch, bcons, _ = broadcast(self, [a2[:-2], b2[:-2]])
        out = list(batch) + [a2[-2], b2[-1]]
        if len(a) == 1:
            out.pop(-2)
        if len(b) == 1:
            out.pop(-1)
        macs = scale(scale(scale(numel(batch), a2[-2]), a2[-1]), b2[-1])  # the product, left to right
        # channels-last Linear (x @ W over the last axis): every axis of A but the last
        # keeps its receptive field, as a 1x1 conv would
        rf = None
        if len(a) >= 2 and len(b) == 2 and len(out) == len(a):
            rf = [tuple(((0, i, None),) if i < len(out) - 1 else None for i in range(len(out)))]
        return Inference([inputs[0].__class__(tuple(out), inputs[0].dtype)], macs, {}, rf, cons + bcons)
