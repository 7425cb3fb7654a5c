"""What the static interpreter computes with: plain Python values (ints, strings, lists,
dicts), sympy expressions for symbolic integers, and the classes below for tensors,
modules, functions and the parts of torch it models."""
from __future__ import annotations

from typing import Any, Optional

import sympy as sp

from ...graph import FLOAT
from ...symbolic import as_expr

MAX_LOOP = 10_000
MAX_DEPTH = 200
MAX_RECURSION = 32  # calls of one function running at once: deeper is unbounded recursion (an error)


class Stop(Exception):
    """Something the interpreter cannot follow (the message names it)."""


class Fatal(Exception):
    """Something that ends the analysis (code whose calls never end): reported as a one-line
    error naming the file, line and statement, never followed past."""


class Return(Exception):
    """``return`` unwinding a function body."""

    def __init__(self, value):
        self.value = value


class Break(Exception):
    pass


class Continue(Exception):
    pass


def is_int(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, sp.Basic) and v.is_integer is True)


def norm(v):
    """sympy numbers back to Python numbers, so strings, indices and dict keys work."""
    if isinstance(v, sp.Basic):
        if v.is_Integer:
            return int(v)
        if v.is_Float:
            return float(v)
        if v is sp.true:
            return True
        if v is sp.false:
            return False
    return v


def num(v):
    return as_expr(v) if isinstance(v, (int, float, bool)) else v


def dict_key(k):
    """A value as a dict key: sympy numbers as Python numbers, lists as tuples."""
    k = norm(k)
    if isinstance(k, list):
        return tuple(k)
    return k


class LitInt(int):
    """An integer literal read while building the model, with ``loc`` (SourceLoc) where it
    was written: passed through parameters unchanged it keeps it; arithmetic gives a plain
    int (the value is computed, no longer written anywhere). Named ``int`` in messages."""

    def __new__(cls, v, loc=None, site=None):
        obj = super().__new__(cls, v)
        obj._loc = loc
        obj._site = site  # (file, node): the SourceLoc is resolved when first asked for
        return obj

    @property
    def loc(self):
        if self._loc is None and self._site is not None:
            self._loc = self._site[0].loc(self._site[1])
        return self._loc

    def __reduce__(self):
        return (int, (int(self),))


LitInt.__name__ = LitInt.__qualname__ = "int"


def literal_loc(v):
    """SourceLoc of the integer literal ``v`` was written as (first one of a tuple/list), or None."""
    if isinstance(v, LitInt):
        return v.loc
    if isinstance(v, (tuple, list)):
        for x in v:
            if isinstance(x, LitInt):
                return x.loc
    return None


class Unknown:
    """A value the interpreter could not follow; ``why`` names what (and ``line`` where)."""

    __slots__ = ("why", "line")

    def __init__(self, why: str, line: Optional[int] = None):
        self.why = why
        self.line = line

    def __repr__(self):
        return f"<unknown: {self.why}>"


class Tensor:
    """A graph tensor: its name in the Graph and its symbolic shape (None: unknown rank).
    ``value``: known contents of a small int tensor (shape arithmetic)."""

    __slots__ = ("name", "shape", "dtype", "value")

    def __init__(self, name, shape, dtype=FLOAT, value=None):
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.value = value

    def __repr__(self):
        return f"<tensor {self.name} {self.shape}>"


class Param:
    """A parameter or buffer of a module: an initializer named ``<qualname>.<pname>`` once
    the module tree is named. ``role``: trainable | buffer."""

    __slots__ = ("owner", "pname", "shape", "dtype", "role", "value")

    def __init__(self, owner, pname, shape, dtype=FLOAT, role="trainable", value=None):
        self.owner = owner
        self.pname = pname
        self.shape = tuple(shape)
        self.dtype = dtype
        self.role = role
        self.value = value

    def __repr__(self):
        return f"<param {self.pname} {self.shape}>"


class TensorCtor:
    """A tensor made in ``__init__`` (torch.zeros(...), torch.randn(...)): shape only,
    waiting to become a Parameter or a buffer."""

    __slots__ = ("shape", "dtype", "value")

    def __init__(self, shape, dtype=FLOAT, value=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.value = value


class UserFunction:
    __slots__ = ("node", "scope", "closure", "owner", "name", "kind", "defaults")

    def __init__(self, node, scope, closure=None, owner=None, kind="function"):
        self.node = node
        self.scope = scope  # FileScope
        self.closure = closure  # enclosing Frame or None
        self.owner = owner  # UserClass whose body defined it (for super())
        self.name = getattr(getattr(node, "name", None), "value", "<lambda>")
        self.kind = kind  # function | staticmethod | classmethod | property
        # parameter -> its default made when the function was defined, as Python makes it
        # (one object for every call: `def f(x, cache={})`); other defaults are evaluated
        # at each call that needs them
        self.defaults = None

    def __repr__(self):
        return f"<function {self.name}>"


class UserClass:
    __slots__ = ("name", "node", "scope", "bases", "ns", "_mro")

    def __init__(self, name, node, scope, bases):
        self.name = name
        self.node = node
        self.scope = scope
        self.bases = bases
        self.ns: dict = {}
        self._mro = None

    def mro(self):
        if self._mro is None:
            self._mro = _c3(self)
        return self._mro

    def __repr__(self):
        return f"<class {self.name}>"


def _bases(c):
    if isinstance(c, UserClass):
        return [b for b in c.bases if isinstance(b, (UserClass, TorchClass))]
    if isinstance(c, TorchClass) and c.name != "Module":
        return [TorchClass("Module")]
    return []


def _c3(c):
    seqs = [[c]] + [list(_mro_of(b)) for b in _bases(c)] + [list(_bases(c))]
    out = []
    while True:
        seqs = [s for s in seqs if s]
        if not seqs:
            return out
        for s in seqs:
            head = s[0]
            if not any(head in t[1:] for t in seqs):
                break
        else:  # inconsistent hierarchy: depth-first fallback
            for s in seqs:
                for x in s:
                    if x not in out:
                        out.append(x)
            return out
        out.append(head)
        for s in seqs:
            if s and s[0] == head:
                del s[0]


def _mro_of(c):
    if isinstance(c, UserClass):
        return c.mro()
    return [c] + _mro_of(TorchClass("Module")) if isinstance(c, TorchClass) and c.name != "Module" else [c]


class TorchClass:
    """A torch.nn class (a layer kind, a container, or Module itself)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, TorchClass) and other.name == self.name

    def __hash__(self):
        return hash(("TorchClass", self.name))

    def __repr__(self):
        return f"<torch.nn.{self.name}>"


class Namespace:
    """A module path the interpreter knows by name only (torch, torch.nn, math,
    a third-party package); attribute access extends the path."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    def __repr__(self):
        return f"<namespace {self.path}>"


class Lazy:
    """A name a package's __init__ imports, read when first used: the module file
    (``name`` None) or a name in it."""

    __slots__ = ("path", "name")

    def __init__(self, path, name=None):
        self.path = path
        self.name = name


class Builtin:
    """A callable implemented by the interpreter: ``fn(interp, args, kwargs, site)``."""

    __slots__ = ("name", "fn")

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def __repr__(self):
        return f"<builtin {self.name}>"


class BoundMethod:
    __slots__ = ("obj", "func")

    def __init__(self, obj, func):
        self.obj = obj
        self.func = func


class Partial:
    __slots__ = ("func", "args", "kwargs")

    def __init__(self, func, args, kwargs):
        self.func = func
        self.args = list(args)
        self.kwargs = dict(kwargs)


class Super:
    __slots__ = ("cls", "obj")

    def __init__(self, cls, obj):
        self.cls = cls
        self.obj = obj


class Obj:
    """An instance of a user class that is not an nn.Module (config objects, helpers)."""

    def __init__(self, cls):
        self.cls = cls
        self.attrs: dict = {}


class Module:
    """An nn.Module instance: a built-in layer (``kind``), a user class (``cls``), or a
    user class derived from a built-in layer or container (both)."""

    def __init__(self, kind=None, cls=None, loc=None, unknown=None):
        self.kind: Optional[str] = kind
        self.cls: Optional[UserClass] = cls
        self.cfg: dict = {}
        self.attrs: dict = {"training": False}
        self.modules: dict = {}
        self.params: dict = {}
        self.buffers: dict = {}
        self.held: list = []  # buffers torch keeps that the ONNX op does not read
        self.loc = loc
        self.qualname: Optional[str] = None
        self.calls = 0
        self.unknown: Optional[str] = unknown  # name of an unknown (third-party) layer
        self.loc_chain: tuple = ()  # SourceLocs of the calls that built it, outermost first (ends at loc)
        self.arg_locs: dict = {}  # constructor argument -> SourceLoc of the literal it was written as

    @property
    def type_name(self) -> str:
        if self.cls is not None:
            return self.cls.name
        return self.kind or self.unknown or "Module"

    def __repr__(self):
        return f"<module {self.type_name} {self.qualname}>"


class NTuple(tuple):
    """An instance of a collections.namedtuple class: a tuple whose fields are attributes."""

    fields: tuple = ()
    type_name = "namedtuple"

    def field(self, name):
        return self[self.fields.index(name)]


def ntuple_make(cls, values):
    t = cls(values)
    return t


def ntuple_class(name, fields, defaults=()):
    """collections.namedtuple(name, fields, defaults=...): a Builtin building NTuple instances."""
    if isinstance(fields, str):
        fields = fields.replace(",", " ").split()
    fields = tuple(f if isinstance(f, str) else f[0] for f in fields)  # typing.NamedTuple("X", [("a", int)])
    cls = type(str(name), (NTuple,), {"fields": fields, "type_name": str(name)})
    defaults = tuple(defaults or ())

    def make(it, a, k, s):
        vals = list(a) + [None] * (len(fields) - len(a))
        dflt = dict(zip(fields[len(fields) - len(defaults):], defaults))
        for i, f in enumerate(fields):
            if i >= len(a):
                if f in k:
                    vals[i] = k[f]
                elif f in dflt:
                    vals[i] = dflt[f]
                else:
                    raise TypeError(f"{name}() missing argument {f!r}")
        return ntuple_make(cls, vals)

    b = Builtin(str(name), make)
    return b


class Gen:
    """A generator expression or iter(...): its items, consumed by next()."""

    def __init__(self, items):
        self.items = items


class ArgParser:
    """argparse.ArgumentParser: only the defaults matter."""

    def __init__(self):
        self.defaults: dict = {}


class NS:
    """argparse.Namespace / SimpleNamespace: attributes only."""

    def __init__(self, attrs=None):
        self.attrs = dict(attrs or {})


Any_ = Any
