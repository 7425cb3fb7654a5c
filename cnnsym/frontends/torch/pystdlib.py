"""The parts of Python's standard library that model-building code uses for its plumbing,
followed with their real semantics: ``collections.defaultdict`` / ``deque``, sets,
``dataclasses`` (``field(default_factory=...)`` made per instance, ``replace``, ``asdict``,
``fields``), ``logging`` (loggers whose calls do nothing), ``os.environ`` (read as an empty
environment: the analysis does not depend on the shell it runs in), ``sys.modules`` (the
files read so far, by their dotted names) and ``dir()`` of a torch namespace (the names
the interpreter models there).

Each name is registered in ``STDLIB`` by its dotted path; :mod:`.namespaces` looks there
first."""
from __future__ import annotations

import itertools

from . import syntax as cst

from .imports import module_name
from .registry import BUILTINS, FUNCS, LAYERS, OPS, STDLIB
from .scope import SCOPE_NAME, FileScope
from .values import NS, Builtin, Namespace, Obj, Partial, Stop, UserClass, UserFunction


class DefaultDict(dict):
    """collections.defaultdict: ``factory`` is an interpreter callable (or None)."""

    factory = None


class Deque(list):
    """collections.deque: a list with appendleft/popleft/extendleft."""


class PySet(list):
    """A set, kept as a list of distinct values in insertion order (values may be sympy
    expressions or interpreter objects that are not hashable)."""

    is_set = True


class DCField:
    """dataclasses.field(...) as written in a class body: the default, or the factory that
    makes one per instance."""

    __slots__ = ("default", "factory", "init")

    def __init__(self, default, factory, init=True):
        self.default = default
        self.factory = factory
        self.init = init


_NO_DEFAULT = object()


def stdlib(it, path):
    """The value of a standard-library dotted name the interpreter follows, or None."""
    if path == "os.environ":
        return {}
    if path == "sys.modules":
        mods = {module_name(p): fs for p, fs in it.files.items()}
        if it.site_stack:  # sys.modules[__name__]: the module running this line (factories set with setattr)
            mods[SCOPE_NAME] = it.site_stack[-1][0]
        return mods
    v = STDLIB.get(path)
    if v is not None:
        return v
    if path.startswith("logging.") and path != "logging.getLogger":
        return Builtin(path, _log)  # logging.info(...), logger.warning(...), logging.basicConfig(...)
    return None


def _log(it, a, k, s):
    """A log call does nothing to the model; a warning logged while the model is built is
    shown with the analysis' warnings (a library saying it used a fallback, say)."""
    fn = getattr(getattr(s, "func", None), "attr", None)
    level = fn.value if fn is not None else ""
    if it.building and level in ("warning", "warn", "error", "critical", "exception") and a and isinstance(a[0], str):
        it.diag(f"the model's code logs a {level}: {a[0][:200]}")
    return None


def _reg(path):
    def deco(fn):
        STDLIB[path] = Builtin(path, fn)
        return fn
    return deco


@_reg("collections.defaultdict")
def _defaultdict(it, a, k, s):
    d = DefaultDict()
    d.factory = a[0] if a else None
    if len(a) > 1:
        d.update(BUILTINS["dict"].fn(it, [a[1]], {}, s))
    d.update(k)
    return d


@_reg("collections.deque")
def _deque(it, a, k, s):
    return Deque(it.iterate(a[0]) if a else [])


@_reg("logging.getLogger")
def _get_logger(it, a, k, s):
    return Namespace("logging.Logger")


STDLIB["logging.Logger"] = Namespace("logging.Logger")


@_reg("os.getenv")
def _getenv(it, a, k, s):
    return a[1] if len(a) > 1 else k.get("default")


@OPS.register()
def dict_missing(it, d, key):
    """d[key] for a key d does not hold: a defaultdict makes and stores the factory's value."""
    if isinstance(d, DefaultDict) and d.factory is not None:
        v = d[key] = it.call(d.factory, [], {}, None)
        return v
    raise Stop(f"key {key!r} not in dict")


@OPS.register()
def make_set(it, items):
    out = PySet()
    for x in items:
        if not any(it._eq(x, y) for y in out):
            out.append(x)
    return out


# dataclasses ---------------------------------------------------------------

_FIELDS: dict = {}


def dataclass_fields(classes):
    """The dataclass fields of a class (its mro, bases first): [(name, defining class)]."""
    key = tuple(id(c) for c in classes)
    hit = _FIELDS.get(key)
    if hit is not None and all(hc is c for hc, c in zip(hit[1], classes)):
        return hit[0]
    fields, where = [], {}
    for c in reversed(classes):
        if not isinstance(c, UserClass) or c.node is None:
            continue
        for stmt in c.node.body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for s in stmt.body:
                    if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name):
                        ann = cst.source_of(s.annotation.annotation)
                        if "ClassVar" in ann:
                            continue
                        n = s.target.value
                        if n not in where:
                            fields.append(n)
                        where[n] = c
    out = [(n, where[n]) for n in fields]
    _FIELDS[key] = (out, list(classes))
    return out


def field_default(it, cls, name):
    """A field's default for a new instance: the class-level value, a factory's new value,
    or _NO_DEFAULT."""
    if name not in cls.ns:
        return _NO_DEFAULT
    v = cls.ns[name]
    if isinstance(v, DCField):
        if v.factory is not None:
            return it.call(v.factory, [], {}, None)
        return v.default
    return v


@OPS.register()
def dataclass_init(it, obj, classes, args, kwargs):
    """The generated __init__ of a dataclass (or a class without one): arguments fill the
    annotated fields in order (bases first), the rest take their defaults (a
    ``default_factory`` called per instance), then ``__post_init__``."""
    fields = dataclass_fields(classes)
    if len(args) > len(fields):
        raise Stop(f"{obj.cls.name}() takes {len(fields)} fields, {len(args)} given")
    kwargs = dict(kwargs)
    for i, (n, c) in enumerate(fields):
        if i < len(args):
            v = args[i]
        elif n in kwargs:
            v = kwargs.pop(n)
        else:
            v = field_default(it, c, n)
            if v is _NO_DEFAULT:
                if fields and isinstance(obj, Obj):
                    raise Stop(f"{obj.cls.name}() missing argument {n!r}")
                continue
        if isinstance(obj, Obj):
            obj.attrs[n] = v
        else:
            it.setattr(obj, n, v, None)
    if kwargs and fields:
        raise Stop(f"{obj.cls.name}() got unexpected keyword arguments {', '.join(kwargs)}")
    post = next((c.ns["__post_init__"] for c in obj.cls.mro() if isinstance(c, UserClass)
                 and "__post_init__" in c.ns), None)
    if isinstance(post, UserFunction):
        it.call_function(post, [obj], {}, None)


def _is_dataclass_obj(v):
    return isinstance(v, Obj) and isinstance(v.cls, UserClass) and v.cls.node is not None


@_reg("dataclasses.field")
def _field(it, a, k, s):
    return DCField(k.get("default"), k.get("default_factory"), k.get("init", True))


@_reg("dataclasses.replace")
def _replace(it, a, k, s):
    obj = a[0]
    if not _is_dataclass_obj(obj):
        raise Stop("dataclasses.replace() of a value that is not a dataclass instance")
    fields = [n for n, _ in dataclass_fields(obj.cls.mro())]
    new = Obj(obj.cls)
    values = {n: obj.attrs[n] for n in fields if n in obj.attrs}
    for n in k:
        if n not in fields:
            raise Stop(f"dataclasses.replace(): {obj.cls.name} has no field {n!r}")
    values.update(k)
    dataclass_init(it, new, obj.cls.mro(), [], values)
    return new


def _asdict_value(it, v):
    if _is_dataclass_obj(v):
        return {n: _asdict_value(it, v.attrs.get(n)) for n, _ in dataclass_fields(v.cls.mro())}
    if isinstance(v, (list, tuple)) and type(v) in (list, tuple):
        return type(v)(_asdict_value(it, x) for x in v)
    if isinstance(v, dict) and type(v) is dict:
        return {kk: _asdict_value(it, x) for kk, x in v.items()}
    return v


@_reg("dataclasses.asdict")
def _asdict(it, a, k, s):
    if not _is_dataclass_obj(a[0]):
        raise Stop("dataclasses.asdict() of a value that is not a dataclass instance")
    return _asdict_value(it, a[0])


@_reg("dataclasses.fields")
def _fields(it, a, k, s):
    v = a[0]
    cls = v.cls if isinstance(v, Obj) else v
    if not isinstance(cls, UserClass):
        raise Stop("dataclasses.fields() of a value that is not a dataclass")
    return tuple(NS({"name": n}) for n, _ in dataclass_fields(cls.mro()))


@_reg("dataclasses.is_dataclass")
def _is_dataclass(it, a, k, s):
    return _is_dataclass_obj(a[0]) or (isinstance(a[0], UserClass) and a[0].node is not None)


# builtins -------------------------------------------------------------------

_TORCH_NS_NAMES = {
    "torch.nn.functional": lambda: sorted(FUNCS),
    "torch.nn": lambda: sorted(LAYERS),
}


@BUILTINS.register("dir")
def _dir(it, a, k, s):
    """dir(torch.nn.functional) / dir(torch.nn): the names the interpreter models there
    (feature checks such as ``'silu' in dir(F)``); dir() of a file: its globals."""
    if not a:
        raise Stop("dir() without an argument")
    v = a[0]
    if isinstance(v, Namespace) and v.path in _TORCH_NS_NAMES:
        return _TORCH_NS_NAMES[v.path]()
    if isinstance(v, FileScope):
        return sorted(v.globals)
    raise Stop(f"dir() of {type(v).__name__}")


# methods of the containers above ----------------------------------------------

def _set_add(it, obj, x):
    if not any(it._eq(x, y) for y in obj):
        obj.append(x)


def _set_discard(it, obj, x, missing_ok=True):
    for i, y in enumerate(obj):
        if it._eq(x, y):
            del obj[i]
            return
    if not missing_ok:
        raise Stop(f"set.remove({x!r}): not in the set")


def _set_binop(it, obj, others, op):
    others = [list(it.iterate(o)) for o in others]
    if op == "union":
        return make_set(it, [*obj, *[x for o in others for x in o]])
    if op == "intersection":
        return make_set(it, [x for x in obj if all(any(it._eq(x, y) for y in o) for o in others)])
    return make_set(it, [x for x in obj if not any(any(it._eq(x, y) for y in o) for o in others)])


@OPS.register()
def set_binop(it, op, a, b):
    """a - b, a | b, a & b, a ^ b of sets."""
    if not getattr(b, "is_set", False):
        raise Stop(f"set operator with a {type(b).__name__}")
    if op == "BitOr":
        return _set_binop(it, a, [b], "union")
    if op == "BitAnd":
        return _set_binop(it, a, [b], "intersection")
    if op == "Subtract":
        return _set_binop(it, a, [b], "difference")
    return make_set(it, [*_set_binop(it, a, [b], "difference"), *_set_binop(it, b, [a], "difference")])


def container_method(obj, name):
    """A method of a set, deque or defaultdict the interpreter follows, or an enum member's
    name/value; None (then the list/dict/str methods apply)."""
    if isinstance(obj, (EnumStr, EnumInt)):
        v = enum_attr(obj, name)
        if v is not None:
            return v
    if isinstance(obj, PySet):
        if name == "add":
            return Builtin(name, lambda it, a, k, s: _set_add(it, obj, a[0]))
        if name in ("discard", "remove"):
            return Builtin(name, lambda it, a, k, s: _set_discard(it, obj, a[0], name == "discard"))
        if name == "update":
            return Builtin(name, lambda it, a, k, s: [_set_add(it, obj, x) for o in a for x in it.iterate(o)] and None)
        if name in ("union", "intersection", "difference"):
            return Builtin(name, lambda it, a, k, s: _set_binop(it, obj, a, name))
        if name == "copy":
            return Builtin(name, lambda it, a, k, s: make_set(it, obj))
        if name == "issubset":
            return Builtin(name, lambda it, a, k, s: all(any(it._eq(x, y) for y in it.iterate(a[0])) for x in obj))
    if isinstance(obj, Deque):
        if name == "appendleft":
            return Builtin(name, lambda it, a, k, s: obj.insert(0, a[0]))
        if name == "popleft":
            return Builtin(name, lambda it, a, k, s: obj.pop(0) if obj else _empty("popleft"))
        if name == "extendleft":
            return Builtin(name, lambda it, a, k, s: [obj.insert(0, x) for x in it.iterate(a[0])] and None)
    if isinstance(obj, DefaultDict) and name == "default_factory":
        return obj.factory
    return None


def _empty(what):
    raise Stop(f"{what}() of an empty deque")


# itertools (finite iterators only: an endless one is refused) ----------------------

@_reg("itertools.repeat")
def _repeat(it, a, k, s):
    n = a[1] if len(a) > 1 else k.get("times")
    if n is None:
        raise Stop("itertools.repeat() without times (an endless iterator)")
    n = it.concrete_int(n, "repeat count")
    if n > 1_000_000:
        raise Stop("itertools.repeat() too long to follow")
    return [a[0]] * max(n, 0)


@_reg("itertools.chain")
def _chain(it, a, k, s):
    return [x for v in a for x in it.iterate(v)]


STDLIB["itertools.chain.from_iterable"] = Builtin(
    "itertools.chain.from_iterable", lambda it, a, k, s: [x for v in it.iterate(a[0]) for x in it.iterate(v)])


@_reg("itertools.product")
def _product(it, a, k, s):
    pools = [list(it.iterate(v)) for v in a] * it.concrete_int(k.get("repeat", 1), "repeat")
    total = 1
    for p in pools:
        total *= len(p)
    if total > 1_000_000:
        raise Stop("itertools.product() too long to follow")
    return [tuple(t) for t in itertools.product(*pools)]


@_reg("itertools.accumulate")
def _accumulate(it, a, k, s):
    items = list(it.iterate(a[0]))
    fn = a[1] if len(a) > 1 else k.get("func")
    out = []
    acc = k["initial"] if k.get("initial") is not None else None
    if acc is not None:
        out.append(acc)
    for x in items:
        if acc is None and not out:
            acc = x
        else:
            acc = it.binop("Add", acc, x, s) if fn is None else it.call(fn, [acc, x], {}, s)
        out.append(acc)
    return out


@_reg("itertools.islice")
def _islice(it, a, k, s):
    items = list(it.iterate(a[0]))
    idx = [None if v is None else it.concrete_int(v, "islice index") for v in a[1:]]
    return items[slice(*idx)]


@_reg("itertools.zip_longest")
def _zip_longest(it, a, k, s):
    return [tuple(t) for t in itertools.zip_longest(*[list(it.iterate(v)) for v in a], fillvalue=k.get("fillvalue"))]


@_reg("functools.partial")
def _partial(it, a, k, s):
    """functools.partial: a partial of a partial is flattened, as CPython's partial.__new__
    does (``.func`` is then the innermost callable, ``.keywords`` the merged keywords)."""
    if not a:
        raise Stop("functools.partial() without a function")
    func, args, kwargs = a[0], list(a[1:]), dict(k)
    if isinstance(func, Partial):
        args = [*func.args, *args]
        kwargs = {**func.kwargs, **kwargs}
        func = func.func
    return Partial(func, args, kwargs)


# enum ---------------------------------------------------------------------------

class EnumStr(str):
    """A member of a ``str``-mixin Enum (``class Format(str, Enum)``): equal to its value as
    a string, with ``.name`` / ``.value`` and its class."""

    __slots__ = ("name", "cls")


class EnumInt(int):
    """A member of an IntEnum / int-mixin Enum."""


_ENUM_KEY = "__cnnsym_enum_members__"


def is_enum_base(b) -> bool:
    return isinstance(b, Namespace) and b.path in ("enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag",
                                                   "enum.IntFlag")


@OPS.register()
def make_enum(it, cls):
    """The class body's plain assignments become the members, each one object (``is``
    compares them), in definition order."""
    mixin = None
    for b in cls.bases:
        if b is BUILTINS.get("str") or (isinstance(b, Namespace) and b.path == "enum.StrEnum"):
            mixin = "str"
        elif b is BUILTINS.get("int") or (isinstance(b, Namespace) and b.path in ("enum.IntEnum", "enum.IntFlag")):
            mixin = "int"
    members = {}
    for name, v in list(cls.ns.items()):
        if name.startswith("_") or isinstance(v, (UserFunction, Builtin, UserClass)):
            continue
        if isinstance(v, tuple) and len(v) == 1:
            v = v[0]
        if mixin == "str" and isinstance(v, str):
            m = EnumStr(v)
        elif mixin == "int" and isinstance(v, int):
            m = EnumInt(v)
        else:
            m = Obj(cls)
            m.attrs["value"] = v
            m.attrs["name"] = name
        if not isinstance(m, Obj):
            m.name = name
            m.cls = cls
        cls.ns[name] = members[name] = m
    cls.ns[_ENUM_KEY] = members


def enum_members(cls):
    return cls.ns.get(_ENUM_KEY) if isinstance(cls, UserClass) else None


@OPS.register()
def enum_lookup(it, cls, args):
    """``Format('NCHW')`` / ``Format(Format.NCHW)``: the member with that value."""
    members = cls.ns[_ENUM_KEY]
    if len(args) != 1:
        raise Stop(f"{cls.name}() takes one value")
    v = args[0]
    for m in members.values():
        if m is v:
            return m
    for m in members.values():
        mv = m.attrs["value"] if isinstance(m, Obj) else (str(m) if isinstance(m, str) else int(m))
        if it._eq(mv, v):
            return m
    raise Stop(f"{v!r} is not a valid {cls.name}")


def enum_attr(obj, name):
    if isinstance(obj, (EnumStr, EnumInt)):
        if name == "name":
            return obj.name
        if name == "value":
            return str(obj) if isinstance(obj, str) else int(obj)
        if name == "__class__":
            return obj.cls
    return None
