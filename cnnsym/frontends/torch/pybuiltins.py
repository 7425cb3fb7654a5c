"""Python's builtins (``range``, ``len``, ``int``, ``min``, ``zip``, ``isinstance``,
``super``, ...) and the methods of plain Python values (``list.append``, ``dict.get``,
``str.format``, ``argparse.ArgumentParser.add_argument``), as the interpreter follows
them. ``eval``/``exec``/``open`` and the like are refused: the file is read, never run."""
from __future__ import annotations

import sympy as sp

from . import consts
from .pystdlib import container_method, make_set
from .registry import BUILTINS, OPS
from .values import (MAX_LOOP, NS, ArgParser, BoundMethod, Builtin, Gen, Module, Obj, Partial, Stop, Super, Tensor,
                     TorchClass, Unknown, UserClass, UserFunction, dict_key, norm, num)

@BUILTINS.register("range")
def _range(it, a, k, s):
    for x in a:  # range(4.0) raises TypeError in Python 3 (WideResNet's n = (depth - 4) / 6)
        if isinstance(norm(x), float):
            raise Stop(f"range() of the float {norm(x)!r}: Python raises TypeError here (an int is needed)")
    vals = [it.concrete_int(x, "range bound") for x in a]
    r = range(*vals)
    if len(r) > MAX_LOOP * 100:
        raise Stop(f"range of {len(r)} elements is too long to follow")
    return list(r)


@BUILTINS.register("len")
def _len(it, a, k, s):
    v = a[0]
    if isinstance(v, Module):
        return len(OPS.container_iter(it, v))
    if isinstance(v, Tensor):
        if v.shape is None or not v.shape:
            raise Stop("len() of a tensor of unknown rank")
        return norm(v.shape[0])
    if isinstance(v, Gen):
        return len(v.items)
    if isinstance(v, Unknown):
        raise Stop(f"len() of an unknown value ({v.why})")
    if isinstance(v, consts.ConstTensor):
        return int(v.arr.shape[0]) if v.arr.ndim else _len0()
    return len(v)


def _len0():
    raise Stop("len() of a 0-d tensor")


def _num_conv(kind):
    def f(it, a, k, s):
        if not a:
            return kind()
        v = consts.to_int(a[0])
        if isinstance(v, str):
            return kind(v)
        if isinstance(v, Unknown):
            return v
        if isinstance(v, Tensor):
            return Unknown("tensor value")
        if isinstance(v, sp.Basic):
            if kind is int:
                # int() truncates toward zero; sizes and channel counts are positive
                return norm(sp.floor(v)) if not v.is_integer else norm(v)
            return v
        return kind(v)

    return f


BUILTINS.register("int")(_num_conv(int))
BUILTINS.register("float")(_num_conv(float))


@BUILTINS.register("bool")
def _bool(it, a, k, s):
    return it.truth(a[0]) if a else False


@BUILTINS.register("str")
def _str(it, a, k, s):
    return str(norm(a[0])) if a else ""


@BUILTINS.register("list")
def _listf(it, a, k, s):
    return list(it.iterate(a[0])) if a else []


@BUILTINS.register("tuple")
def _tuplef(it, a, k, s):
    return tuple(it.iterate(a[0])) if a else ()


@BUILTINS.register("set")
def _setf(it, a, k, s):
    return make_set(it, it.iterate(a[0]) if a else [])


@BUILTINS.register("dict")
def _dictf(it, a, k, s):
    out = {}
    if a:
        src = a[0]
        if isinstance(src, dict):
            out.update(src)
        else:
            for kv in it.iterate(src):
                kk, vv = it.iterate(kv)
                out[dict_key(kk)] = vv
    out.update(k)
    return out


def _minmax(f, sf):
    def fn(it, a, k, s):
        vals = list(it.iterate(a[0])) if len(a) == 1 else list(a)
        if "key" in k:
            raise Stop("min/max with key=")
        if any(isinstance(v, sp.Basic) for v in vals):
            return norm(sf(*OPS.settle_minmax([num(v) for v in vals], f is max)))  # .pybounds
        return f(vals)

    return fn


BUILTINS.register("min")(_minmax(min, sp.Min))
BUILTINS.register("max")(_minmax(max, sp.Max))


@BUILTINS.register("sum")
def _sum(it, a, k, s):
    total = a[1] if len(a) > 1 else 0
    for v in it.iterate(a[0]):
        total = it.binop("Add", total, v, s)
    return total


@BUILTINS.register("abs")
def _abs(it, a, k, s):
    v = a[0]
    return norm(sp.Abs(v)) if isinstance(v, sp.Basic) else abs(v)


@BUILTINS.register("round")
def _round(it, a, k, s):
    v = a[0]
    if isinstance(v, sp.Basic):
        return norm(sp.floor(v + sp.Rational(1, 2)))
    return round(v, *a[1:])


@BUILTINS.register("enumerate")
def _enumerate(it, a, k, s):
    start = a[1] if len(a) > 1 else k.get("start", 0)
    return [(i + start, v) for i, v in enumerate(it.iterate(a[0]))]


@BUILTINS.register("zip")
def _zip(it, a, k, s):
    return [tuple(t) for t in zip(*[it.iterate(x) for x in a])]


@BUILTINS.register("reversed")
def _reversed(it, a, k, s):
    return list(reversed(it.iterate(a[0])))


@BUILTINS.register("sorted")
def _sorted(it, a, k, s):
    return sorted(it.iterate(a[0]), reverse=bool(k.get("reverse")))


@BUILTINS.register("any")
def _any(it, a, k, s):
    return any(it.truth(v) for v in it.iterate(a[0]))


@BUILTINS.register("all")
def _all(it, a, k, s):
    return all(it.truth(v) for v in it.iterate(a[0]))


@BUILTINS.register("map")
def _map(it, a, k, s):
    return [it.call(a[0], list(xs), {}, s) for xs in zip(*[it.iterate(x) for x in a[1:]])]


@BUILTINS.register("filter")
def _filter(it, a, k, s):
    return [x for x in it.iterate(a[1]) if it.truth(it.call(a[0], [x], {}, s) if a[0] is not None else x)]


@BUILTINS.register("divmod")
def _divmod(it, a, k, s):
    return (it.binop("FloorDivide", a[0], a[1], s), it.binop("Modulo", a[0], a[1], s))


@BUILTINS.register("pow")
def _pow(it, a, k, s):
    return it.binop("Power", a[0], a[1], s)


@BUILTINS.register("print")
def _print(it, a, k, s):
    return None


@BUILTINS.register("isinstance")
def _isinstance(it, a, k, s):
    return OPS.isinstance_(it, a[0], a[1])


@BUILTINS.register("issubclass")
def _issubclass(it, a, k, s):
    c, target = a[0], a[1]
    targets = target if isinstance(target, (list, tuple)) else [target]
    mro = c.mro() if isinstance(c, UserClass) else [c]
    return any(t in mro for t in targets)


@BUILTINS.register("hasattr")
def _hasattr(it, a, k, s):
    try:
        v = it.getattr(a[0], a[1], s)
    except Stop:
        return False
    if isinstance(v, Unknown):
        # the attribute exists but its value was not followed (a module-level line that
        # failed): Python would say True; taking the other branch is not following the code
        it.unfollowed(f"hasattr(..., {a[1]!r}) of a value not followed ({v.why}); taken as False")
        return False
    return True


@BUILTINS.register("getattr")
def _getattr(it, a, k, s):
    try:
        return it.getattr(a[0], a[1], s)
    except Stop:
        if len(a) > 2:
            return a[2]
        raise


@BUILTINS.register("setattr")
def _setattr(it, a, k, s):
    it.setattr(a[0], a[1], a[2], s)


@BUILTINS.register("super")
def _super(it, a, k, s):
    if a:
        return Super(a[0], a[1])
    # the innermost running method defines the class and self
    frame_func = it._current_func
    if frame_func is None or frame_func.owner is None:
        raise Stop("super() outside a method")
    return Super(frame_func.owner, it._current_self)


@BUILTINS.register("callable")
def _callable(it, a, k, s):
    v = a[0]
    if isinstance(v, Obj) and v.cls is not None:  # an instance whose class defines __call__
        return any(isinstance(c, UserClass) and "__call__" in c.ns for c in v.cls.mro())
    return isinstance(v, (UserFunction, Builtin, BoundMethod, UserClass, TorchClass, Module, Partial))


@BUILTINS.register("type")
def _type(it, a, k, s):
    v = a[0]
    if isinstance(v, (Module, Obj)) and v.cls is not None:
        return v.cls
    if isinstance(v, Module):
        return TorchClass(v.kind or "Module")
    v = norm(v)  # type(image_size) == list (EfficientNet's same-padding conv): the builtin itself
    if isinstance(v, sp.Basic) and v.is_integer:
        v = 0
    for t in (bool, int, float, str, list, tuple, dict):  # numbers may be int subclasses; sets are lists here
        if type(v) is t or (t in (bool, int, float) and isinstance(v, t)):
            return BUILTINS.get(t.__name__)
    return Unknown("type()")


@BUILTINS.register("iter")
def _iter(it, a, k, s):
    return Gen(list(it.iterate(a[0])))


@BUILTINS.register("next")
def _next(it, a, k, s):
    v = a[0]
    if isinstance(v, Gen):
        if not v.items:
            raise Stop("next() of an exhausted iterator")
        return v.items.pop(0)
    return it.iterate(v)[0]


@BUILTINS.register("repr")
def _repr(it, a, k, s):
    return repr(norm(a[0]))


@BUILTINS.register("slice")
def _slice(it, a, k, s):
    """slice(stop) / slice(start, stop[, step]): Python's slice object (x[:, keep] with
    keep = slice(2, None) indexes as x[:, 2:] does)."""
    if not 1 <= len(a) <= 3 or k:
        raise Stop("slice() takes 1 to 3 positional arguments")
    return slice(*[norm(v) for v in a]) if len(a) > 1 else slice(norm(a[0]))


@BUILTINS.register("object")
def _object(it, a, k, s):
    return Obj(UserClass("object", None, None, []))


BUILTINS.register("staticmethod classmethod property")(lambda it, a, k, s: a[0])


def _refuse(name):
    def fn(it, a, k, s):
        raise Stop(f"{name}() is not followed: the file is read, never executed")

    return fn


for _n in ("eval", "exec", "compile", "__import__", "open", "globals", "locals", "vars", "input"):
    BUILTINS.register(_n)(_refuse(_n))

# constants: registered as values (None: NotImplemented is not followed)
BUILTINS.register("NotImplemented")(None)
BUILTINS.register("Ellipsis")(Ellipsis)



# ---------------------------------------------------------------------------
# methods of Python values


@OPS.register()
def python_attr(it, obj, name):
    m = container_method(obj, name)
    if m is not None:
        return m
    if isinstance(obj, list):
        if name == "append":
            return Builtin(name, lambda it_, a, k, s: obj.append(a[0]))
        if name == "extend":
            return Builtin(name, lambda it_, a, k, s: obj.extend(it_.iterate(a[0])))
        if name == "insert":
            return Builtin(name, lambda it_, a, k, s: obj.insert(it_.concrete_int(a[0]), a[1]))
        if name == "pop":
            return Builtin(name, lambda it_, a, k, s: obj.pop(*[it_.concrete_int(x) for x in a]))
        if name == "index":
            return Builtin(name, lambda it_, a, k, s: next(i for i, v in enumerate(obj) if it_._eq(v, a[0])))
        if name == "count":
            return Builtin(name, lambda it_, a, k, s: sum(1 for v in obj if it_._eq(v, a[0])))
        if name == "copy":
            return Builtin(name, lambda it_, a, k, s: list(obj))
        if name == "reverse":
            return Builtin(name, lambda it_, a, k, s: obj.reverse())
    if isinstance(obj, dict):
        if name in ("items", "keys", "values"):
            return Builtin(name, lambda it_, a, k, s: list(getattr(obj, name)()))
        if name == "get":
            return Builtin(name, lambda it_, a, k, s: obj.get(_norm_key(a[0]), a[1] if len(a) > 1 else None))
        if name == "pop":
            return Builtin(name, lambda it_, a, k, s: obj.pop(_norm_key(a[0]), *a[1:]))
        if name == "update":
            return Builtin(name, lambda it_, a, k, s: (obj.update(a[0] if a else {}), obj.update(k)) and None)
        if name == "copy":
            return Builtin(name, lambda it_, a, k, s: dict(obj))
        if name == "setdefault":
            return Builtin(name, lambda it_, a, k, s: obj.setdefault(_norm_key(a[0]), a[1] if len(a) > 1 else None))
    if isinstance(obj, str):
        return OPS.str_method(it, obj, name)
    if isinstance(obj, (int, float)) and name in ("is_integer", "bit_length"):
        return Builtin(name, lambda it_, a, k, s: getattr(obj, name)())
    if isinstance(obj, tuple) and name in ("index", "count"):
        return Builtin(name, lambda it_, a, k, s: getattr(obj, name)(a[0]))
    if isinstance(obj, (UserFunction, Builtin, BoundMethod, Partial)):
        if name in ("func",) and isinstance(obj, Partial):
            return obj.func
        if name == "args" and isinstance(obj, Partial):
            return tuple(obj.args)
        if name == "keywords" and isinstance(obj, Partial):
            return dict(obj.kwargs)
    raise Stop(f"{type(obj).__name__} has no attribute {name!r} cnnsym can follow")


def _norm_key(k):
    return norm(k)


@OPS.register()
def argparse_attr(it, p: ArgParser, name):
    if name == "add_argument":
        def add(it_, a, k, s):
            flags = [x for x in a if isinstance(x, str)]
            dest = k.get("dest")
            if dest is None:
                longs = [f for f in flags if f.startswith("--")]
                dest = (longs[0] if longs else flags[0]).lstrip("-").replace("-", "_")
            default = k.get("default")
            if k.get("action") == "store_true" and default is None:
                default = False
            if k.get("action") == "store_false" and default is None:
                default = True
            typ = k.get("type")
            if isinstance(default, str) and typ is not None:
                default = it_.call(typ, [default], {}, s)  # argparse applies type= to a string default
            positional = bool(flags) and not flags[0].startswith("-")
            if default is None and (k.get("required") or (positional and k.get("nargs") not in ("?", "*"))):
                # no value without the command line: whatever depends on it is not determined
                default = Unknown(f"{dest} (a required command-line argument)")
            p.defaults[dest] = default

        return Builtin(name, add)
    if name in ("parse_args", "parse_known_args"):
        def parse(it_, a, k, s):
            ns = NS(p.defaults)
            return ns if name == "parse_args" else (ns, [])

        return Builtin(name, parse)
    if name == "set_defaults":
        return Builtin(name, lambda it_, a, k, s: p.defaults.update(k))
    return Builtin(name, lambda it_, a, k, s: p)
