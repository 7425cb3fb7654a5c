"""Tensors made in ``__init__``: torch.zeros/ones/randn/tensor/arange/... as shapes
(:class:`~.values.TensorCtor`) waiting to become a Parameter or a buffer, their
shape-only methods (``.view(1, 3, 1, 1)``) and arithmetic (broadcast shapes). In
``forward`` a constant-size torch.zeros(...) is a constant initializer."""
from __future__ import annotations

import sympy as sp

from . import consts
from .emit import Ctx, node_name, shape_args, size_of
from .registry import OPS, TORCH_CTORS
from .values import Builtin, Param, Stop, Tensor, TensorCtor, norm


def _ctor(kind):
    def fn(it, a, k, s):
        shape = shape_args(it, [x for x in a])
        if it.phase == "forward":
            if all(isinstance(d, int) for d in shape):
                c = Ctx(it, node_name(it, kind), it.site_loc(), it.site_loc())
                return c.zeros_like_param(shape, "tensor")
            raise Stop(f"torch.{kind} with a size that depends on the input")
        v = TensorCtor(shape)
        return v

    return fn


def _tensor_lit(it, a, k, s):
    data = a[0] if a else None

    def shape_of(v):
        if isinstance(v, (list, tuple)):
            return [len(v)] + (shape_of(v[0]) if v else [])
        return []

    return TensorCtor(shape_of(data))


def _like(it, a, k, s):
    v = a[0]
    if isinstance(v, (Param, TensorCtor)):
        return TensorCtor(v.shape, v.dtype)
    if isinstance(v, Tensor):
        return v
    raise Stop("*_like of an unknown tensor")


def _arange(it, a, k, s):
    vals = [it.concrete_int(x) for x in a if not isinstance(x, float)]
    return TensorCtor([len(range(*vals))])


for _n in ("zeros", "ones", "randn", "rand", "empty", "FloatTensor"):
    TORCH_CTORS.register(_n)(_ctor(_n))
TORCH_CTORS.register("tensor Tensor")(_tensor_lit)
TORCH_CTORS.register("zeros_like ones_like randn_like")(_like)
TORCH_CTORS.register("arange")(_arange)
TORCH_CTORS.register("eye")(lambda it, a, k, s: TensorCtor([a[0], a[1] if len(a) > 1 else a[0]]))
TORCH_CTORS.register("linspace")(lambda it, a, k, s: TensorCtor([a[2]]))
TORCH_CTORS.register("full")(lambda it, a, k, s: TensorCtor(shape_args(it, [a[0]])))


_CTOR_SAME = {"float", "double", "half", "bfloat16", "long", "int", "bool", "clone", "detach", "contiguous", "to",
              "type", "cuda", "cpu", "abs", "exp", "log", "sqrt", "neg", "sigmoid", "tanh", "sin", "cos", "clamp",
              "clamp_min", "clamp_max", "mul", "add", "sub", "div", "pow"}


@OPS.register()
def ctor_attr(it, x, name):
    """Shape-only methods of a tensor made in ``__init__`` (torch.tensor([...]).view(1, 3, 1, 1))."""
    if isinstance(x, consts.ConstTensor):
        m = consts.method(x, name)
        if m is not None:
            return m
    shape = [norm(d) for d in x.shape]

    def concrete(seq):
        return [it.concrete_int(d, "size") for d in seq]

    def args_shape(a):
        return list(a[0]) if len(a) == 1 and isinstance(a[0], (list, tuple)) else list(a)

    def view(it_, a, k, s):
        tgt = concrete(args_shape(a))
        if -1 in tgt:
            total = 1
            for d in concrete(shape):
                total *= d
            known = 1
            for d in tgt:
                known *= d if d != -1 else 1
            tgt[tgt.index(-1)] = total // known
        return TensorCtor(tgt, x.dtype, x.value)

    def dim_index(d, n):
        d = it.concrete_int(d, "dim")
        return d + n if d < 0 else d

    def unsqueeze(it_, a, k, s):
        d = dim_index(a[0] if a else k["dim"], len(shape) + 1)
        return TensorCtor(shape[:d] + [1] + shape[d:], x.dtype, x.value)

    def squeeze(it_, a, k, s):
        if not a and "dim" not in k:
            return TensorCtor([d for d in shape if d != 1], x.dtype, x.value)
        d = dim_index(a[0] if a else k["dim"], len(shape))
        return TensorCtor(shape[:d] + shape[d + 1:] if shape[d] == 1 else shape, x.dtype, x.value)

    def expand(it_, a, k, s):
        tgt = args_shape(a)
        lead = len(tgt) - len(shape)
        return TensorCtor([norm(t) if norm(t) != -1 else shape[i - lead] for i, t in enumerate(tgt)], x.dtype, x.value)

    def repeat(it_, a, k, s):
        reps = args_shape(a)
        full = [1] * (len(reps) - len(shape)) + shape
        return TensorCtor([norm(d * r) for d, r in zip(full, reps)], x.dtype, x.value)

    def transpose(it_, a, k, s):
        i, j = dim_index(a[0], len(shape)), dim_index(a[1], len(shape))
        out = list(shape)
        out[i], out[j] = out[j], out[i]
        return TensorCtor(out, x.dtype, x.value)

    def permute(it_, a, k, s):
        return TensorCtor([shape[dim_index(d, len(shape))] for d in args_shape(a)], x.dtype, x.value)

    def flatten(it_, a, k, s):
        st = dim_index(a[0] if a else k.get("start_dim", 0), len(shape)) if shape else 0
        en = dim_index(a[1] if len(a) > 1 else k.get("end_dim", -1), len(shape)) if shape else 0
        return TensorCtor(shape[:st] + [norm(sp.Mul(*shape[st:en + 1]))] + shape[en + 1:], x.dtype, x.value)

    fns = {"view": view, "reshape": view, "unsqueeze": unsqueeze, "squeeze": squeeze, "expand": expand,
           "repeat": repeat, "transpose": transpose, "permute": permute, "flatten": flatten}
    if name in fns:
        return Builtin(name, fns[name])
    if name == "shape":
        return tuple(shape)
    if name == "size":
        return Builtin(name, lambda it_, a, k, s: size_of(shape, a))
    if name in ("numel", "nelement"):
        return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*shape)))
    if name in ("dim", "ndimension"):
        return Builtin(name, lambda it_, a, k, s: len(shape))
    if name == "ndim":
        return len(shape)
    if name == "t":
        return Builtin(name, lambda it_, a, k, s: TensorCtor(shape[::-1], x.dtype, x.value))
    if name == "T":
        return TensorCtor(shape[::-1], x.dtype, x.value)
    if name in _CTOR_SAME or name.endswith("_"):
        return Builtin(name, lambda it_, a, k, s: x if name.endswith("_") else TensorCtor(shape, x.dtype, x.value))
    raise Stop(f"tensor made in __init__ has no attribute {name!r} cnnsym can follow")


@OPS.register()
def ctor_binop(it, op, a, b):
    """Arithmetic on tensors made in ``__init__`` (init_values * torch.ones(dim)): the broadcast shape."""
    r = consts.binop(op, a, b)
    if r is not NotImplemented:
        return r
    shapes = [list(v.shape) for v in (a, b) if isinstance(v, TensorCtor)]
    for v in (a, b):
        if not isinstance(v, (TensorCtor, int, float, bool, sp.Basic)):
            raise Stop(f"{op} of {type(v).__name__} and a tensor made in __init__")
    n = max(len(sh) for sh in shapes)
    out = []
    for i in range(n):
        dims = {norm(sh[i - n + len(sh)]) for sh in shapes if i - n + len(sh) >= 0} - {1}
        if len(dims) > 1:
            raise Stop("shapes that do not broadcast")
        out.append(dims.pop() if dims else 1)
    src = a if isinstance(a, TensorCtor) else b
    return TensorCtor(out, src.dtype, a.value if isinstance(a, TensorCtor) and a.value == "param" else None)
