"""Tensor arithmetic beyond the operators: norms (``x.norm(p=2, dim=..., keepdim=True)``: ConvNeXt-V2's global
response norm) and fused
multiply-adds (``torch.addcmul``, ``torch.addcdiv``), emitted as the ONNX ops torch's
exporter uses for them (ReduceL1/ReduceL2, Mul/Div then Add)."""
from __future__ import annotations

from .registry import FUNCS, OPS
from .values import Stop, norm


def _norm_op(p):
    p = norm(p)
    if p in (2, 2.0, "fro", None):
        return "ReduceL2"
    if p in (1, 1.0):
        return "ReduceL1"
    raise Stop(f"a norm with p={p!r} is not followed")


def _emit_norm(c, x, p, dim, keep):
    op = _norm_op(p)
    ins = [x]
    if dim is not None:
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        ins.append(c.ints([norm(d) for d in dims], "axes"))
    return c.emit(op, ins, {"keepdims": int(bool(norm(keep)))})


@FUNCS.register("norm", "input p='fro' dim=None keepdim=False dtype=None")
def _norm(c, a):
    """torch.norm / x.norm: p=2 (or 'fro') -> ReduceL2, p=1 -> ReduceL1 over ``dim`` (all
    axes when None)."""
    return _emit_norm(c, a["input"], a["p"], a["dim"], a["keepdim"])


def _fused(op):
    def f(c, a):
        prod = OPS.tensor_binop(c.it, op, a["tensor1"], a["tensor2"])
        v = norm(a["value"])
        if v != 1:
            prod = OPS.tensor_binop(c.it, "Multiply", prod, v)
        return OPS.tensor_binop(c.it, "Add", a["input"], prod)
    return f


FUNCS.register("addcmul", "input tensor1 tensor2 value=1")(_fused("Multiply"))
FUNCS.register("addcdiv", "input tensor1 tensor2 value=1")(_fused("Divide"))
