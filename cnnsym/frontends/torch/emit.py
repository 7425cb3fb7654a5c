"""What every torch operation's lowering needs: :class:`Ctx` emits the nodes of one call,
named and located as ``torch.onnx.export`` names them; argument normalisation (``tup``,
``ints``, ``div``); node names; :func:`as_tensor`, :func:`unknown_node` for what cannot be
followed; :func:`call_func` calls an entry of ``FUNCS``."""
from __future__ import annotations

import sympy as sp

from ...graph import FLOAT, INT64, Initializer
from ...symbolic import as_expr
from . import requires
from .builder import UNKNOWN_DOMAIN
from .values import Module, Param, Stop, Tensor, Unknown, norm


def tup(v, n, what="size"):
    if isinstance(v, (list, tuple)):
        v = [norm(x) for x in v]
        if len(v) == 1 and n > 1:
            v = v * n
        if len(v) != n:
            raise Stop(f"{what} {tuple(v)} must have {n} entries")
        return v
    return [norm(v)] * n


def div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if b == 0 or a % b:
            raise Stop(f"{a} is not divisible by groups={b}")
        return a // b
    return norm(as_expr(a) / as_expr(b))


def ints(vals):
    """Attribute lists must be concrete integers."""
    out = []
    for v in vals:
        v = norm(v)
        if not isinstance(v, int):
            raise Stop(f"{v} must be a known integer here (an attribute)")
        out.append(v)
    return out


def n_spatial(kind):
    for c in kind:
        if c.isdigit():
            return int(c)
    return 2


class Ctx:
    """What a layer's forward needs: emit nodes named and located for this call."""

    def __init__(self, it, name, loc, call_loc):
        self.it = it
        self.b = it.builder
        self.name = name
        self.loc = loc
        self.call_loc = call_loc

    def emit(self, op_type, inputs, attrs=None, suffix="", domain="", n_out=1):
        name = self.name if not suffix else f"{self.name}/{suffix}"
        inputs = [None if t is None else as_tensor(self.it, t) for t in inputs]
        outs = self.b.emit(op_type, inputs, attrs, name, domain, self.loc, self.call_loc, n_out)
        return outs[0] if n_out == 1 else outs

    def ints(self, values, what):
        return self.b.const(values, f"{self.name}/{what}", INT64)

    def floats(self, values, what):
        return self.b.const(values, f"{self.name}/{what}", FLOAT)

    def scalar(self, v, dtype=FLOAT):
        return self.b.const([v], f"{self.name}/const", dtype, shape=())

    def zeros_like_param(self, shape, what):
        name = self.b.unique(f"{self.name}/{what}")
        self.b.initializers[name] = Initializer(name, tuple(shape), FLOAT, data_missing=True, role="constant")
        return Tensor(name, tuple(as_expr(d) for d in shape), FLOAT)


def new_param(m, pname, shape, role="trainable", dtype=FLOAT):
    for d in shape:  # a size that is not an integer would corrupt every count after it
        if isinstance(d, bool) or not isinstance(d, (int, sp.Basic)):
            why = (d.why if isinstance(d, Unknown) else f"{d.unknown}() from a package cnnsym does not read"
                   if isinstance(d, Module) and d.unknown else f"{type(d).__name__} {norm(d)!r}")
            raise Stop(f"{m.type_name}.{pname} would have a size that is not a known integer ({why})")
    p = Param(m, pname, shape, dtype, role)
    (m.params if role == "trainable" else m.buffers)[pname] = p
    return p


def rank_of(x):
    if not isinstance(x, Tensor):  # e.g. what an upstream error left unknown: a reason, not an AttributeError
        raise Stop(f"expected a tensor, got {x.why if isinstance(x, Unknown) else type(x).__name__}")
    if x.shape is None:
        raise Stop("the rank of this tensor is unknown")
    return len(x.shape)


def shape_args(it, a):
    if len(a) == 1 and isinstance(a[0], (list, tuple)):
        a = a[0]
    return [norm(x) for x in a]


def size_of(shape, a):
    if a:
        return norm(shape[norm(a[0])])
    return tuple(norm(d) for d in shape)


def tensors_in(v):
    if isinstance(v, Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in tensors_in(x)]
    if isinstance(v, dict):
        return [t for x in v.values() for t in tensors_in(x)]
    return []


def unknown_node(it, what, args, kwargs, base, loc, call_loc):
    tensors = [as_tensor(it, t) for t in [*args, *kwargs.values()] if isinstance(t, (Tensor, Param))]
    it.diag(f"{what} is not something cnnsym can follow: unaccounted node {base!r}, shapes after it unknown")
    op = str(what).split(".")[-1].split("(")[0] or "Unknown"
    return it.builder.emit(op if op.isidentifier() else "Unknown", tensors, {}, base, UNKNOWN_DOMAIN, loc, call_loc)[0]


def as_tensor(it, v):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Param):
        return it.builder.materialize(v)
    if isinstance(v, Unknown):
        owner = it.owner_stack[-1][1] if it.owner_stack else ""
        _, line = it.where()
        base = f"{owner}.unknown@{line}" if owner else f"unknown@{line}"
        it.diag(f"{v.why}: not followed; unaccounted node {base!r}")
        return it.builder.emit("Unknown", [], {}, base, UNKNOWN_DOMAIN, it.site_loc(), it.site_loc())[0]
    if isinstance(v, (int, float)) or isinstance(v, sp.Basic):
        return it.builder.const([v], "const", FLOAT, shape=())
    raise Stop(f"expected a tensor, got {type(v).__name__}")


def build_loc(it, node):
    scope, _ = it.where()
    if node is not None and scope is not None:
        return scope.loc(node)
    return it.site_loc()


def call_site_loc(it, node):
    scope, _ = it.where()
    if node is not None and scope is not None:
        return scope.loc(node)
    return it.site_loc()


def node_name(it, fn):
    owner = it.owner_stack[-1][1] if it.owner_stack else ""
    _, line = it.where()
    base = f"{fn}@{line}"
    return f"{owner}.{base}" if owner else base


_INPLACE_BINARY = {"add_": "Add", "sub_": "Subtract", "mul_": "Multiply", "div_": "Divide"}


def call_func(it, name, h, a, k, s):
    if it.phase != "forward":
        if name in ("relu", "sigmoid", "tanh"):  # activations passed as callables are called in forward
            pass
        raise Stop(f"{name}() outside forward")
    inplace = bool(k.pop("inplace", False)) or name.endswith("_") and name not in ("view_",)
    c = Ctx(it, node_name(it, name.rstrip("_")), it.site_loc(), call_site_loc(it, s))
    out = h(c, list(a), dict(k))
    if inplace and a and isinstance(a[0], Tensor) and isinstance(out, Tensor):
        op = _INPLACE_BINARY.get(name)
        if op is not None and len(a) > 1 and isinstance(a[1], Tensor):
            requires.inplace_broadcast(it.builder, a[0], a[1], out, op)  # x.add_(y) must not grow x
        a[0].name, a[0].shape, a[0].dtype, a[0].value = out.name, out.shape, out.dtype, out.value
        return a[0]
    return out
