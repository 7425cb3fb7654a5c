"""nn.Module instances: construction (a layer's signature bound, its ``init`` run),
attribute assignment (``self.conv = ...`` registers a child, ``nn.Parameter`` a
parameter), attribute lookup, calls (``forward`` of a user class or a layer's lowering,
an unaccounted node for an unknown layer), ``named_modules`` and ``isinstance``."""
from __future__ import annotations

import sympy as sp

from .emit import Ctx, as_tensor, build_loc, n_spatial, new_param, tensors_in, tup, unknown_node
from .registry import LAYERS, MODULE_METHODS, OPS, bind
from .values import (BoundMethod, Builtin, Module, Namespace, NTuple, Obj, Param, Partial, Stop, Tensor, TensorCtor,
                     TorchClass, Unknown, UserClass, UserFunction, literal_loc, norm)


@OPS.register()
def construct(it, kind, args, kwargs, node):
    if kind == "Parameter":
        v = args[0] if args else kwargs.get("data")
        if isinstance(v, (TensorCtor, Param)):
            return TensorCtor(v.shape, v.dtype, "param")
        raise Stop("nn.Parameter of an unknown tensor")
    if kind == "Module":
        return Module("Module", loc=it.site_loc())
    m = Module(kind, loc=build_loc(it, node))
    m.loc_chain = it.build_chain(m.loc)
    init_layer(it, kind, m, args, kwargs, node)
    return m


@OPS.register()
def init_layer(it, kind, m, args, kwargs, node):
    if kind == "Module":
        return None
    spec = LAYERS.get(kind)
    if spec is None:
        m.unknown = kind
        it.unfollowed(f"nn.{kind} is not a layer cnnsym knows: its parameters are not counted and its call is unaccounted")
        return None
    sig, cls = spec.sig, spec.cls
    m.kind = kind
    if sig and sig[0][0] == "*":
        a = {"*args": list(args), **kwargs}
    else:
        a = bind(sig, args, kwargs, kind)
    m.cfg = a
    m.arg_locs = {k: loc for k, loc in ((k, literal_loc(v)) for k, v in a.items()) if loc is not None}
    cls.init(m, a)
    return None


@OPS.register()
def module_setattr(it, m, name, v):
    if isinstance(v, Module):
        for d in (m.params, m.buffers, m.attrs):
            d.pop(name, None)
        m.modules[name] = v
    elif isinstance(v, TensorCtor):
        if v.value == "param":
            m.attrs.pop(name, None)
            new_param(m, name, v.shape, "trainable", v.dtype)
        elif name in m.buffers:
            new_param(m, name, v.shape, "buffer", v.dtype)
        else:
            m.attrs[name] = v
    elif isinstance(v, Param):
        m.attrs.pop(name, None)
        (m.buffers if v.role == "buffer" else m.params)[name] = v
    else:
        if v is None and name in m.modules:
            m.modules[name] = None
            return
        m.modules.pop(name, None) if name in m.modules else None
        m.attrs[name] = v


@OPS.register()
def module_delattr(it, m, name):
    """``del self.fc``: the child, parameter, buffer or attribute is gone (torch's
    Module.__delattr__), so it is neither counted nor iterated by ``children()``."""
    for d in (m.modules, m.params, m.buffers, m.attrs, m.cfg):
        if name in d:
            del d[name]
            return
    raise Stop(f"{m.type_name} has no attribute {name!r} to delete")


@OPS.register()
def module_method(it, m, name):
    def bound(fn):
        return Builtin(name, lambda it_, a, k, s: fn(it_, m, a, k, s))

    if name in MODULE_METHODS:
        return bound(MODULE_METHODS[name])
    if name == "forward":
        return Builtin("forward", lambda it_, a, k, s: layer_forward(it_, m, a, k, s))
    if m.kind in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        # torch stores these as tuples whatever was passed (m.kernel_size[0] in init code)
        if name in ("kernel_size", "stride", "padding", "dilation", "output_padding") and name in m.cfg \
                and not isinstance(m.cfg[name], str):
            return tuple(tup(m.cfg[name], n_spatial(m.kind)))
    if name in ("weight", "bias") and m.kind in LAYERS:
        return None  # not a parameter (bias=False, affine=False): torch gives None, not the flag
    if m.kind in LAYERS and name in getattr(LAYERS[m.kind].cls, "optional", ()):
        return None  # MultiheadAttention.in_proj_weight with kdim != embed_dim, bias_k without add_bias_kv
    if name in m.cfg:
        return m.cfg[name]
    if name == "groups" and "groups" in m.cfg:
        return m.cfg["groups"]
    if name == "training":
        return False
    if m.unknown:
        return Unknown(f"{m.unknown}.{name}")
    raise Stop(f"{m.type_name} has no attribute {name!r}")


def named_modules(m, prefix="", seen=None):
    seen = set() if seen is None else seen
    if id(m) in seen:
        return []
    seen.add(id(m))
    out = [(prefix, m)]
    for k, c in m.modules.items():
        if c is None:
            continue
        out.extend(named_modules(c, f"{prefix}.{k}" if prefix else k, seen))
    return out


def _name_of_call(it, m):
    if m.qualname is not None:
        return m.qualname or (m.type_name.lower())
    owner = it.owner_stack[-1][1] if it.owner_stack else ""
    _, line = it.where()
    base = f"{m.type_name.lower()}@{line}"
    return f"{owner}.{base}" if owner else base


@OPS.register()
def call_module(it, m, args, kwargs, node):
    if it.phase != "forward":
        raise Stop(f"calling {m.type_name} outside forward")
    base = _name_of_call(it, m)
    m.calls += 1
    scope, _ = it.where()
    call_loc = scope.loc(node) if (node is not None and scope is not None) else (
        it.owner_stack[-1][2] if it.owner_stack else it.site_loc())
    it.owner_stack.append((m, base if m.qualname != "" else "", call_loc))
    it.builder.enter(m.qualname, call_loc)  # Node.module of what the call emits
    try:
        out = _dispatch(it, m, args, kwargs, node, base, call_loc)
    finally:
        it.owner_stack.pop()
        it.builder.leave()
    key = m.qualname if m.qualname is not None else base
    names = [t.name for t in tensors_in(out)]
    if names:
        it.builder.module_outputs.setdefault(key, []).append(names[0] if len(names) == 1 else names)
    return out


def _dispatch(it, m, args, kwargs, node, base, call_loc):
    fw = m.attrs.get("forward")
    if fw is not None:  # self.forward = self.forward_split_cat: the instance attribute is what torch calls
        return it.call(fw, list(args), kwargs, node)
    if m.cls is not None:
        for c in m.cls.mro():
            if isinstance(c, UserClass) and "forward" in c.ns:
                return it.call_function(c.ns["forward"], [m, *args], kwargs, node)
            if isinstance(c, TorchClass):
                break
    if m.kind in LAYERS and LAYERS[m.kind].cls.forward is not None:
        return layer_forward(it, m, args, kwargs, node, base=base, call_loc=call_loc)
    return unknown_node(it, m.unknown or m.type_name, args, kwargs, base, m.loc, call_loc)


@OPS.register()
def layer_forward(it, m, args, kwargs, node, kind=None, base=None, call_loc=None):
    kind = kind or m.kind
    spec = LAYERS.get(kind)
    if spec is None or spec.cls.forward is None:
        raise Stop(f"{kind} has no forward cnnsym can follow")
    if base is None:
        base = it.owner_stack[-1][1] if it.owner_stack else _name_of_call(it, m)
        call_loc = it.owner_stack[-1][2] if it.owner_stack else it.site_loc()
    first = getattr(spec.cls, "takes_args", None)
    if not args and first and first in kwargs:  # attn(query=x, key=x, value=x)
        kwargs = dict(kwargs)
        args = [kwargs.pop(first)]
    if not args:
        raise Stop(f"{kind} called without an input")
    x = as_tensor(it, args[0])
    c = Ctx(it, base, m.loc, call_loc)
    saved = m.kind
    m.kind = kind
    try:
        if x.shape is None and kind not in ("Sequential",):
            return _forward_unresolved(c, m, spec, x, args, kwargs)
        return _forward(c, m, spec, x, args, kwargs)
    finally:
        m.kind = saved


def _forward(c, m, spec, x, args, kwargs):
    if getattr(spec.cls, "takes_args", None):  # forward(query, key, value, ...)
        return spec.cls.forward(c, m, x, list(args[1:]), dict(kwargs))
    return spec.cls.forward(c, m, x)


def _forward_unresolved(c, m, spec, x, args, kwargs):
    """The layer's input has an unknown shape (it comes from something cnnsym cannot
    follow): the layer's own lowering, whose nodes the analysis marks unresolved (downstream
    of an unsupported op) while counting their parameters. A lowering that needs the rank
    is undone and replaced by one node of the op it lowers to, holding the parameters and
    buffers, so the layer is never reported as an unsupported op of its own."""
    b = c.b
    n_nodes, n_inits, n_reqs = len(b.nodes), len(b.initializers), len(b.requires)
    try:
        return _forward(c, m, spec, x, args, kwargs)
    except (Stop, TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError):
        for node in b.nodes[n_nodes:]:
            b.taken.discard(node.name)
            b.taken.difference_update(node.outputs)
            b.held.pop(node.name, None)
        del b.nodes[n_nodes:]
        for name in list(b.initializers)[n_inits:]:
            b.taken.discard(name)
            del b.initializers[name]
        del b.requires[n_reqs:]
    return c.emit(_OP_OF.get(m.kind, m.kind), [x, *m.params.values(), *m.buffers.values()])


# what a layer lowers to, for one whose lowering needs its input's rank (see _forward_unresolved)
_OP_OF = {"Flatten": "Flatten", "Unflatten": "Reshape", "ChannelShuffle": "Reshape", "LazyLinear": "Gemm",
          "Upsample": "Resize", "UpsamplingNearest2d": "Resize", "UpsamplingBilinear2d": "Resize",
          **{f"{p}Pad{n}d": "Pad" for p in ("Zero", "Constant", "Reflection", "Replication", "Circular")
             for n in (1, 2, 3)}}


@OPS.register()
def isinstance_(it, v, target):
    targets = list(target) if isinstance(target, (list, tuple)) else [target]
    for t in targets:
        if isinstance(t, TorchClass):
            if t.name == "Module" and isinstance(v, Module):
                return True
            if isinstance(v, Module):
                if v.kind == t.name or (v.kind in LAYERS and LAYERS[v.kind].family == t.name):
                    return True
                if v.cls is not None and t in v.cls.mro():
                    return True
            if t.name == "Parameter" and isinstance(v, Param):
                return True
            if t.name == "Tensor" and isinstance(v, (Tensor, Param)):
                return True
        elif isinstance(t, UserClass):
            if isinstance(v, (Module, Obj)) and v.cls is not None and t in v.cls.mro():
                return True
        elif isinstance(t, Builtin):
            if isinstance(v, NTuple) and type(v).type_name == t.name:
                return True
            if (t.name == "functools.partial" and isinstance(v, Partial)) or \
                    (t.name == "type" and isinstance(v, (UserClass, TorchClass))):
                return True
            py = {"int": int, "float": float, "str": str, "list": list, "tuple": tuple, "dict": dict,
                  "bool": bool}.get(t.name)
            if py is int and isinstance(v, sp.Basic) and v.is_integer:
                return True
            if py is not None and isinstance(norm(v), py):
                return True
        elif isinstance(t, Namespace):
            if t.path.endswith("Tensor") and isinstance(v, (Tensor, Param)):
                return True
            if t.path in ("types.FunctionType", "types.LambdaType", "types.BuiltinFunctionType") and \
                    isinstance(v, (UserFunction, Builtin)):
                return True
            # typing / collections.abc: isinstance(cfgs, Sequence) guards in torchvision builders
            abc = t.path.rsplit(".", 1)[-1]
            if abc == "Callable" and (isinstance(v, (UserFunction, Builtin, BoundMethod, Partial, UserClass,
                                                     TorchClass, Module)) or
                                      (isinstance(v, Obj) and v.cls is not None and any(
                                          isinstance(c, UserClass) and "__call__" in c.ns for c in v.cls.mro()))):
                return True
            if isinstance(v, (list, tuple)) and (abc in ("Sequence", "MutableSequence") and
                                                 (abc == "Sequence" or isinstance(v, list))):
                return True
            if (abc == "List" and isinstance(v, list)) or (abc == "Tuple" and isinstance(v, tuple)):
                return True
            if abc in ("Mapping", "MutableMapping", "Dict") and isinstance(v, dict):
                return True
            if abc in ("Iterable", "Collection", "Container", "Sized") and isinstance(v, (list, tuple, dict, str)):
                return True
    return False
