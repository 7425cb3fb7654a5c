"""The tables the interpreter dispatches through, and the one way to fill them.

Every topic module (``modules_conv``, ``functional``, ``tensor_methods``, ...) registers
what it implements with a decorator at import time::

    @LAYERS.register("Conv1d Conv2d Conv3d", "in_channels out_channels kernel_size ...", "_ConvNd")
    class Conv: ...

    @FUNCS.register("softmax", "input dim=None _stacklevel=3 dtype=None")
    def _softmax(c, a): ...

    @OPS.register()
    def tensor_binop(it, op, a, b): ...

and :mod:`.loader` imports every topic module once. The interpreter imports only this
module (never a topic module), so the package has no import cycle.

Tables:

- ``LAYERS``: ``torch.nn`` layer kind -> :class:`LayerSpec` (signature, a class with
  ``init(m, a)`` and ``forward(c, m, x)`` or ``forward = None``, isinstance family).
- ``FUNCS``: ``torch.X`` / ``F.X`` / ``x.X`` name -> ``f(c, args, kwargs)`` (arguments bound
  to the signature first when one is registered).
- ``MODULE_METHODS``: ``nn.Module`` method name -> ``f(it, m, args, kwargs, node)``.
- ``TORCH_CTORS``: ``torch.zeros``-style constructors -> ``f(it, args, kwargs, node)``.
- ``BUILTINS``: Python builtin name -> :class:`~.values.Builtin`.
- ``EXPRESSIONS``: syntax (.syntax) expression type -> ``evaluate(interp, node, frame)``.
- ``STDLIB``: standard-library dotted names -> value (:mod:`.pystdlib`).
- ``OPS``: the operations the interpreter delegates to the torch semantics, by function
  name (``OPS.tensor_binop(it, ...)``).
"""
from __future__ import annotations

import ast
from collections import namedtuple

from .values import Builtin, Stop


class Registry(dict):
    """A name -> entry table filled by :meth:`register`.

    ``register(names, *meta)`` returns a decorator that stores the decorated object under
    each of ``names`` (a space-separated string, or a sequence of keys; None: the object's
    ``__name__``), transformed by the table's ``make(name, obj, *meta)`` when it has one.
    The decorator returns the object unchanged."""

    def __init__(self, what: str, make=None):
        super().__init__()
        self.what = what
        self.make = make

    def register(self, names=None, *meta, **kwmeta):
        def deco(obj):
            if names is None:
                keys = [obj.__name__]
            elif isinstance(names, str):
                keys = names.split()
            else:
                keys = list(names)
            for k in keys:
                self[k] = self.make(k, obj, *meta, **kwmeta) if self.make is not None else obj
            return obj

        return deco

    # entries are mirrored as instance attributes, so ``OPS.resolve`` is a plain attribute
    # read, not a failed lookup and a call of __getattr__ (~0.4 us; ~300,000 reads on a lint of
    # 50 files: issue 12). Names a dict or the registry itself defines are not mirrored.
    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if isinstance(key, str) and key not in _RESERVED:
            self.__dict__[key] = value

    def __delitem__(self, key):
        super().__delitem__(key)
        if isinstance(key, str) and key not in _RESERVED:
            self.__dict__.pop(key, None)

    def update(self, *args, **kw):
        for k, v in dict(*args, **kw).items():
            self[k] = v

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other):
        self.update(other)
        return self

    def clear(self):
        for k in list(self):
            del self[k]

    def popitem(self):
        k = next(reversed(self))
        return k, self.pop(k)

    def pop(self, key, *default):
        if key in self:
            v = self[key]
            del self[key]
            return v
        if default:
            return default[0]
        raise KeyError(key)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('what', 'registry')} has no entry {name!r}") from None


_RESERVED = frozenset(dir(Registry)) | {"what", "make"}


# ---------------------------------------------------------------------------
# signatures: "in_channels out_channels kernel_size stride=1 ..."

_REQUIRED = object()


def _sig(text):
    out = []
    for tok in text.split():
        if "=" in tok:
            n, d = tok.split("=", 1)
            out.append((n, ast.literal_eval(d)))
        else:
            out.append((tok, _REQUIRED))
    return out


def bind(sig, args, kwargs, what):
    out = {}
    args = list(args)
    kwargs = dict(kwargs)
    for i, (n, d) in enumerate(sig):
        if i < len(args):
            out[n] = args[i]
        elif n in kwargs:
            out[n] = kwargs.pop(n)
        elif d is _REQUIRED:
            raise Stop(f"{what}() missing argument {n!r}")
        else:
            out[n] = d
    if len(args) > len(sig):
        raise Stop(f"{what}() takes {len(sig)} arguments, {len(args)} given")
    for k in ("device", "dtype", "inplace"):
        kwargs.pop(k, None)
    if kwargs:
        raise Stop(f"{what}() got unexpected keyword arguments {', '.join(kwargs)}")
    return out


# ---------------------------------------------------------------------------
# the tables

LayerSpec = namedtuple("LayerSpec", "sig cls family")


def _make_layer(kind, cls, sig, family=None):
    return LayerSpec(_sig(sig), cls, family)


def _make_func(name, f, sig=None):
    if sig is None:
        return f
    parsed = _sig(sig)
    return lambda c, a, k: f(c, bind(parsed, a, k, name))


def _make_builtin(name, fn):
    return Builtin(name, fn) if callable(fn) else fn  # constants (Ellipsis) stay values


LAYERS = Registry("torch.nn layers", _make_layer)
FUNCS = Registry("tensor functions", _make_func)
MODULE_METHODS = Registry("nn.Module methods")
TORCH_CTORS = Registry("torch tensor constructors")
BUILTINS = Registry("Python builtins", _make_builtin)
EXPRESSIONS = Registry("expression evaluators")
OPS = Registry("torch semantics operations")
STDLIB = Registry("standard-library names (dotted path -> value)")
