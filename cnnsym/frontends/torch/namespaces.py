"""What a dotted name outside the file resolves to: ``torch.nn.X`` (a layer class),
``torch.X`` / ``F.X`` (a function of ``FUNCS`` or a constructor), ``math.X``,
``functools.partial``, ``collections.namedtuple``, dataclasses, argparse, typing; and calls
of names from packages cnnsym does not read (an unknown layer, or an unaccounted node in
``forward``)."""
from __future__ import annotations

import math

import sympy as sp

from . import consts
from .emit import build_loc, call_func, call_site_loc, node_name, unknown_node
from .pystdlib import stdlib
from .registry import BUILTINS, FUNCS, LAYERS, OPS, TORCH_CTORS
from .values import (NS, ArgParser, Builtin, Module, Namespace, Param, Partial, Stop, Tensor, TensorCtor, TorchClass,
                     Unknown, norm, ntuple_class, num)


# what a dotted path outside the file means is the same in every analysis (slotted values
# nothing mutates), except the two names whose value is the analysis' own state: resolved
# once per process, as Python binds a module's attribute once. A 50-file lint resolves
# ~130,000 paths (`isinstance(m, nn.Conv2d)` in weight-init loops over every module), 185
# distinct (issue 12)
_RESOLVED: dict = {}
_STATEFUL = {"os.environ", "sys.modules"}


@OPS.register()
def resolve(it, path):
    hit = _RESOLVED.get(path)
    if hit is not None:
        return hit
    v = _resolve_path(it, path)
    if path not in _STATEFUL and isinstance(v, (Builtin, Namespace, TorchClass)):
        if len(_RESOLVED) >= 50_000:
            _RESOLVED.clear()
        _RESOLVED[path] = v
    return v


def _resolve_path(it, path):
    v = _resolve(it, path)
    parts = path.split(".")
    if len(parts) == 2 and parts[0] == "torch" and parts[1] in consts.NAMES and isinstance(v, (Builtin, Namespace)):
        return _const_first(path, parts[1], v)
    if parts[0] == "numpy" and len(parts) >= 2:
        return _numpy(path, parts[-1])
    return v


_ELEMENTWISE = {"abs", "exp", "log", "log2", "log10", "sqrt", "floor", "ceil", "round", "neg", "negative", "sin", "cos",
                "tanh", "sign", "trunc", "square", "rsqrt", "sigmoid", "log1p", "expm1"}


def _const_first(path, name, fallback):
    """torch.<name>: evaluated on constant tensors outside forward (torch.arange(depth) *
    w_a, torch.log, .tolist()); anything else goes to what torch.<name> means for tensors."""
    def fn(it, a, k, s):
        if it.phase != "forward" or any(consts.is_const(x) for x in a):
            r = consts.call(name, a, k)
            if r is not NotImplemented:
                return r
        if it.phase != "forward" and name in _ELEMENTWISE and len(a) == 1 and isinstance(a[0], TensorCtor):
            # torch.log(10 * torch.ones(heads, 1, 1)) in __init__ (swin_v2's logit_scale): an
            # elementwise function of a tensor known by its shape is a tensor of that shape
            return TensorCtor(a[0].shape, a[0].dtype)
        return it.call(fallback, a, k, s)
    return Builtin(path, fn)


_NP_CONSTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "newaxis": None}


def _numpy(path, name):
    """numpy.<name> on known numbers (np.linspace, np.prod, np.cumsum, np.array, ...)."""
    if name in _NP_CONSTS:
        return _NP_CONSTS[name]

    def fn(it, a, k, s):
        if name in ("int64", "int32", "float32", "float64", "int_", "float_") and len(a) == 1:
            x = consts.to_int(a[0])
            return int(x) if name.startswith("int") else float(x)
        r = consts.call(name, a, k, torch_dtypes=False)
        if r is NotImplemented:
            raise Stop(f"numpy.{name} of values that are not known numbers")
        return r
    return Builtin(path, fn)


def _resolve(it, path):
    v = stdlib(it, path)
    if v is not None:
        return v
    parts = path.split(".")
    head = parts[0]
    last = parts[-1]
    if head == "torch":
        if len(parts) == 2 and last in ("cuda", "backends", "distributed", "optim", "hub", "amp", "autograd"):
            return Namespace(path)
        if path in ("torch.nn.functional", "torch.nn.init", "torch.nn", "torch.nn.modules", "torch.utils",
                    "torch.jit", "torch.fx", "torch.Tensor"):
            return Namespace(path)
        if parts[:2] == ["torch", "nn"] and len(parts) > 2:
            if parts[2] == "functional":
                return _func(last, path)
            if parts[2] == "init":
                return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
            if last in LAYERS or last in ("Module", "Parameter") or last in FAMILY_NAMES:
                return TorchClass(last)
            if last[:1].isupper():
                return TorchClass(last)
            return Namespace(path)
        if path in ("torch._assert", "torch._assert_async"):
            return Builtin(path, _torch_assert)
        if len(parts) == 2:
            if last in TORCH_CTORS:
                return Builtin(path, TORCH_CTORS[last])
            if last in ("float32", "float", "float16", "int64", "long", "int32", "bool", "device", "Size"):
                return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
            if last in ("no_grad", "enable_grad", "inference_mode"):
                return Builtin(path, lambda it_, a, k, s: None)
            if last == "Tensor":
                return Namespace(path)
            return _func(last, path)
        if path in ("torch.cuda.is_available", "torch.backends.mps.is_available", "torch.backends.cudnn.is_available",
                    "torch.cuda.is_initialized", "torch.distributed.is_initialized", "torch.distributed.is_available"):
            return Builtin(path, lambda it_, a, k, s: False)  # analysed as one CPU process, eval mode
        if path in ("torch.cuda.device_count",):
            return Builtin(path, lambda it_, a, k, s: 0)
        if parts[1] == "_C" and last.startswith("_log_api_usage"):
            return Builtin(path, lambda it_, a, k, s: None)  # usage logging: no effect on the model
        if parts[1] == "jit" or parts[1] == "utils":
            return Builtin(path, lambda it_, a, k, s: a[0] if a else None)
        return Namespace(path)
    if head == "math":
        if last in ("pi", "e", "inf"):
            return getattr(math, last)
        return Builtin(path, math_fn(last))
    if path == "functools.partial":
        return Builtin(path, lambda it_, a, k, s: Partial(a[0], a[1:], k))
    if path == "functools.reduce":
        return Builtin(path, _reduce)
    if path in ("collections.namedtuple", "typing.NamedTuple"):
        return Builtin(path, lambda it_, a, k, s: ntuple_class(a[0] if a else k.get("typename"),
                                                                a[1] if len(a) > 1 else k.get("field_names", ()),
                                                                k.get("defaults", ())))
    if path == "dataclasses.field":
        return Builtin(path, _dc_field)
    if path == "dataclasses.dataclass":
        return Builtin(path, lambda it_, a, k, s: a[0] if a else Builtin(path, lambda i2, a2, k2, s2: a2[0]))
    if path in ("collections.OrderedDict", "typing.OrderedDict"):
        return BUILTINS["dict"]
    if path == "argparse.ArgumentParser":
        return Builtin(path, lambda it_, a, k, s: ArgParser())
    if path in ("argparse.Namespace", "types.SimpleNamespace"):
        return Builtin(path, lambda it_, a, k, s: NS(k))
    if path in ("typing.cast", "typing_extensions.cast"):
        return Builtin(path, lambda it_, a, k, s: a[1] if len(a) > 1 else k.get("val"))
    if path in ("typing.TypeVar", "typing.NewType", "typing.overload", "typing.final", "typing.runtime_checkable"):
        return Builtin(path, lambda it_, a, k, s: a[0] if path == "typing.overload" or path.endswith(
            ("final", "checkable")) else Namespace("typing.Any"))
    if head in ("typing", "typing_extensions"):
        return Namespace(path)
    if path == "copy.deepcopy" or path == "copy.copy":
        return Builtin(path, lambda it_, a, k, s: a[0])
    if path in ("warnings.warn", "logging.info", "logging.warning"):
        return Builtin(path, lambda it_, a, k, s: None)
    return Namespace(path)


def _dc_field(it, a, k, s):
    """dataclasses.field(default=..., default_factory=...): the default, made once."""
    if "default" in k:
        return k["default"]
    if "default_factory" in k:
        return it.call(k["default_factory"], [], {}, s)
    return None


FAMILY_NAMES = {"_ConvNd", "_BatchNorm", "_InstanceNorm", "_MaxPoolNd", "_AvgPoolNd", "_AdaptiveAvgPoolNd",
                "_AdaptiveMaxPoolNd"}


def _reduce(it, a, k, s):
    items = list(it.iterate(a[1]))
    acc = a[2] if len(a) > 2 else items.pop(0)
    for x in items:
        acc = it.call(a[0], [acc, x], {}, s)
    return acc


def _torch_assert(it, a, k, s):
    """torch._assert(condition, message): nothing when the condition holds; torch raises
    AssertionError when it is false. A condition not known statically (a symbolic size, a
    tensor's values) is not checked, as a Python ``assert`` is not."""
    cond = a[0] if a else k.get("condition")
    if not isinstance(cond, (Tensor, Param)) and it.known_truth(cond) is False:
        msg = a[1] if len(a) > 1 else k.get("message", "")
        raise Stop(f"torch._assert fails: {norm(msg)} (torch raises AssertionError)")
    return None


def _func(name, path):
    h = FUNCS.get(name)
    if h is None:
        return Namespace(path)
    return Builtin(path, lambda it, a, k, s: call_func(it, name, h, a, k, s))


@OPS.register()
def call_external(it, path, args, kwargs, node):
    if it.phase == "forward":
        if any(isinstance(v, (Tensor, Param)) for v in [*args, *kwargs.values()]):
            return unknown_node(it, path, args, kwargs, node_name(it, path.split(".")[-1]), it.site_loc(),
                                call_site_loc(it, node))
        return Unknown(path)
    m = Module(loc=build_loc(it, node), unknown=path.split(".")[-1])
    if path.startswith("torch"):
        it.unfollowed(f"{path} is not followed: treated as an unknown layer (parameters not counted)")
    else:
        it.unfollowed(f"{path} comes from a package cnnsym does not read: an unknown layer "
                "(parameters not counted, its call unaccounted)")
    return m


@OPS.register()
def call_unknown(it, why, args, kwargs, node):
    if it.phase == "forward" and any(isinstance(v, (Tensor, Param)) for v in [*args, *kwargs.values()]):
        return unknown_node(it, why, args, kwargs, node_name(it, "unknown"), it.site_loc(), call_site_loc(it, node))
    if it.phase != "forward":
        it.unfollowed(f"{why}: not followed; treated as an unknown layer")
        return Module(loc=build_loc(it, node), unknown=str(why).split(" ")[0].split(".")[-1])
    return Unknown(why)


def math_fn(name):
    def fn(it, a, k, s):
        if name == "prod" and len(a) == 1:  # math.prod(iterable, *, start=1): the product of the items
            acc = k.get("start", 1)
            for x in it.iterate(a[0]):
                acc = it.binop("Multiply", acc, x, s)
            return acc
        vals = [num(x) for x in a]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a):
            return getattr(math, name)(*a)
        if name == "ceil":
            x = vals[0]
            return norm(sp.ceiling(x))
        if name == "floor":
            return norm(sp.floor(vals[0]))
        if name == "sqrt":
            return norm(sp.sqrt(vals[0]))
        if name == "log":
            return norm(sp.log(*vals))
        if name == "log2":
            return norm(sp.log(vals[0], 2))
        if name == "pow":
            return norm(vals[0] ** vals[1])
        if name == "gcd":
            return norm(sp.gcd(vals[0], vals[1]))
        raise Stop(f"math.{name} of a symbol")

    return fn
