"""Executed module levels shared across the analyses of one process (issue 12).

Every analysis of a source model starts the same way: a fresh interpreter reads the model's
file and runs its module level, which imports (and runs) its helpers: torchvision's
``_api``/``_utils``/``ops.misc``, a project's ``blocks.py``. ``cnnsym lint`` does that once
to list a file's models and once more for each model, so the same module levels ran again
and again. Here the first run is kept as a template: the interpreter's whole state right
after ``load_file(root)`` in a fresh analysis (every file it read, their names, the
warnings said so far); each later analysis of the same root starts from a private deep
copy of it, so what one model's construction changes (a module-level list it appends to, a
class attribute it sets) never reaches another. Only a fresh interpreter's first load is
served, so the state copied is exactly the state a fresh run would have built.

What is copied: the interpreter's values (lists, dicts, sets, the classes of
:mod:`.values`, file scopes, frames) object by object, keeping shared references shared.
What is not: what never changes (numbers, strings, sympy expressions, syntax nodes and a
file's positions, functions and classes, source locations) and the objects the frontend's
own modules define at their top level (registry entries, sentinels), whose identity the
interpreter relies on. A template is valid while none of the files it read changed (size
and modification time). Off by default: it saved only 2-3% of a lint run, and a template
made from a file named by an absolute path gave its locations to a later analysis of the
same file named relatively (tests/test_explain.py in suite order); ``CNNSYM_SHARE_MODULES=1``
turns it on."""
from __future__ import annotations

import os
import re
import sys
import types
from collections import OrderedDict, defaultdict

from . import syntax as cst
import sympy as sp

from ...graph import SourceLoc

MAX_TEMPLATES = 16

_TEMPLATES: "OrderedDict" = OrderedDict()  # (path, symbolic) -> (stamps, state)
_ATOMIC_TYPES = (type(None), bool, int, float, complex, str, bytes, range, type, types.FunctionType,
                 types.BuiltinFunctionType, types.MethodType, types.ModuleType, sp.Basic, cst.CSTNode,
                 SourceLoc, BaseException, frozenset)
_STATIC: set = set()  # ids of objects the cnnsym modules define at their top level
_STATIC_KEEP: list = []  # ... kept alive, so their ids stay theirs
_STATIC_FOR: set = set()  # the module names _STATIC was collected from


def enabled() -> bool:
    return os.environ.get("CNNSYM_SHARE_MODULES", "0") == "1"


_BUSY = []  # a template being made: its own first load runs as usual


def first_load(it, path, dotted=""):
    """The FileScope of ``path`` for a fresh interpreter ``it`` (nothing read yet, nothing
    built), its whole state set to a copy of the template's; None when not served (sharing
    off, ``it`` not fresh, or the template's run failed: the caller runs it as usual)."""
    if _BUSY or not enabled() or it.files or it.site_stack or it.builder.nodes or it.phase != "init" or it.building:
        return None
    key = (path, dotted, it.root, tuple(sorted(it.symbolic)))
    hit = _TEMPLATES.get(key)
    if hit is not None and not fresh(hit[0]):
        del _TEMPLATES[key]
        hit = None
    if hit is None:
        tmpl = _make(it, path, dotted)
        # a load that failed is not tried again: each analysis runs it (and says why)
        hit = (stamps(tmpl.files if tmpl is not None else [path]), tmpl)
        _TEMPLATES[key] = hit
        while len(_TEMPLATES) > MAX_TEMPLATES:
            _TEMPLATES.popitem(last=False)
    else:
        _TEMPLATES.move_to_end(key)
    tmpl = hit[1]
    if tmpl is None:
        return None  # its state holds something that cannot be copied: each analysis runs it
    _collect_static()
    memo = {id(tmpl): it, id(tmpl.builder): it.builder}
    try:
        built = {k: _copy(v, memo) for k, v in tmpl.builder.__dict__.items()}
        state = {k: _copy(v, memo) for k, v in tmpl.__dict__.items() if k != "builder"}
    except _Uncopyable:
        _TEMPLATES[key] = (hit[0], None)
        return None
    it.builder.__dict__.update(built)
    it.__dict__.update(state)
    return it.files[path]


def _make(it, path, dotted):
    """A fresh interpreter like ``it`` that has loaded ``path``, or None when that failed."""
    _BUSY.append(path)
    try:
        tmpl = type(it)(path, type(it.builder)(it.builder.path), it.symbolic)
        tmpl.root = it.root
        tmpl.load_file(path, dotted)
    except Exception:  # noqa: BLE001 - the caller's own run reports it as it always did
        return None
    finally:
        _BUSY.pop()
    return tmpl


def stamps(files):
    """(path, size, modification time) of each file: what :func:`fresh` checks."""
    out = []
    for p in files:
        try:
            st = os.stat(p)
            out.append((p, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((p, None, None))
    return tuple(out)


def fresh(stamps):
    """Whether every file of :func:`stamps` is unchanged."""
    for p, size, mtime in stamps:
        try:
            st = os.stat(p)
        except OSError:
            return False
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            return False
    return True


def _collect_static():
    """Objects defined at the top level of the loaded cnnsym modules (and one level into
    their containers and classes): shared, never copied."""
    names = {n for n in sys.modules if n == "cnnsym" or n.startswith("cnnsym.")}
    if names <= _STATIC_FOR:
        return
    for n in names - _STATIC_FOR:
        mod = sys.modules.get(n)
        if mod is None:
            continue
        for v in list(vars(mod).values()):
            _mark(v, 2)
    _STATIC_FOR.update(names)


def _mark(v, depth):
    if isinstance(v, _ATOMIC_TYPES) and not isinstance(v, type):
        return
    if id(v) in _STATIC:
        return
    _STATIC.add(id(v))
    _STATIC_KEEP.append(v)
    if depth <= 0:
        return
    if isinstance(v, dict):
        for x in list(v.values()):
            _mark(x, depth - 1)
    elif isinstance(v, (list, tuple, set)):
        for x in list(v):
            _mark(x, depth - 1)
    elif isinstance(v, type) and v.__module__.startswith("cnnsym"):
        for x in list(vars(v).values()):
            _mark(x, depth - 1)


_SLOTS: dict = {}


def _slot_names(cls):
    hit = _SLOTS.get(cls)
    if hit is None:
        out = []
        for c in cls.__mro__:
            s = c.__dict__.get("__slots__", ())
            out.extend((s,) if isinstance(s, str) else s)
        hit = _SLOTS[cls] = tuple(s for s in out if s not in ("__dict__", "__weakref__"))
    return hit


_ATOMIC_EXACT = {type(None), bool, int, float, str, bytes}
_C_IMMUTABLE = (type(re.compile("")), type(Ellipsis), type(NotImplemented), slice)


class _Uncopyable(Exception):
    pass


def _copy(v, memo):
    """A deep copy of an interpreter value (see the module docstring)."""
    t = type(v)
    if t in _ATOMIC_EXACT or isinstance(v, _ATOMIC_TYPES):
        return v
    i = id(v)
    hit = memo.get(i)
    if hit is not None:
        return hit
    if i in _STATIC:
        return v
    if t is list:
        out = []
        memo[i] = out
        out.extend(_copy(x, memo) for x in v)
        return out
    if t is dict:
        out = {}
        memo[i] = out
        for k, x in v.items():
            out[_copy(k, memo)] = _copy(x, memo)
        return out
    if t is tuple:
        out = tuple(_copy(x, memo) for x in v)
        return memo.setdefault(i, out)
    if t is set:
        out = set()
        memo[i] = out
        out.update(_copy(x, memo) for x in v)
        return out
    if isinstance(v, tuple):  # a namedtuple-like subclass
        out = t.__new__(t, [_copy(x, memo) for x in v])
        memo[i] = out
        _copy_attrs(v, out, memo)
        return out
    if isinstance(v, dict):
        out = t.__new__(t)
        if isinstance(v, defaultdict):
            out.default_factory = v.default_factory
        memo[i] = out
        for k, x in v.items():
            dict.__setitem__(out, _copy(k, memo), _copy(x, memo))
        _copy_attrs(v, out, memo)
        return out
    if isinstance(v, (list, set)):
        out = t.__new__(t)
        memo[i] = out
        (list.extend if isinstance(v, list) else set.update)(out, [_copy(x, memo) for x in v])
        _copy_attrs(v, out, memo)
        return out
    if t.__module__ == "numpy" or t.__module__.startswith("numpy."):
        out = v.copy() if hasattr(v, "copy") else v
        memo[i] = out
        return out
    if not hasattr(v, "__dict__") and not _slot_names(t):
        if t is object or isinstance(v, _C_IMMUTABLE):
            return v
        raise _Uncopyable(t.__name__)  # a generator, an iterator: its state cannot be copied
    out = object.__new__(t)
    memo[i] = out
    _copy_attrs(v, out, memo)
    return out


def _copy_attrs(v, out, memo):
    d = getattr(v, "__dict__", None)
    if d:
        for k, x in d.items():
            object.__setattr__(out, k, _copy(x, memo))
    for s in _slot_names(type(v)):
        try:
            x = object.__getattribute__(v, s)
        except AttributeError:
            continue
        object.__setattr__(out, s, _copy(x, memo))
