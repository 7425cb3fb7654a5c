"""Executed module levels shared across the analyses of one process (issue 12).

Every analysis of a source model starts the same way: a fresh interpreter reads the model's
file and runs its module level, which imports (and runs) its helpers: torchvision's
``_api``/``_utils``/``ops.misc``, a project's ``blocks.py``. ``cnnsym lint`` does that once
to list a file's models and once more for each model, so the same module levels ran again
and again: a third of the module-level work of a lint of torchvision's detection files.

Here such a run is kept as a template: an interpreter that has run ``load_file(root)``
and nothing else. Lint adopts its listing's interpreter when two or more models of the file
follow (the listing only reads); elsewhere the template is made at the second fresh
analysis of a root (a one-off analysis pays no snapshot). A later fresh analysis of the
same root starts from it: the
interpreter's own records (the files it read, the warnings said so far) are copied, the
objects the module levels made (file scopes and their names, functions, classes, lists,
dicts) are *shared*, not copied. Sharing is exact only while no analysis changes them, and
nothing is assumed about that: when the template is made, every object reachable from it
is recorded with a shallow snapshot of its state (a list's items, a dict's keys and
values, an object's attributes, by identity); when an analysis served from the template
ends, the snapshots are compared. An analysis that changed none of them saw the module
levels exactly as a fresh run leaves them, and so did every analysis before it. One that
changed something (a constructor appending to a module-level list, setting a class
attribute) still saw them as a fresh run leaves them, since the changes were its own; the
template is then dropped and the next analysis runs the module levels again. So every
analysis starts from the state a fresh run would have built, whatever ran before it.

A template is served to one analysis at a time (a second one at the same time runs its own
module levels), only to a fresh interpreter's first load, while none of the files it read
and none of the directories its imports looked in changed (size and modification time: a
``blocks.py`` created where an import found nothing is found, as a fresh process would).
Not shared: module levels that made tensors (the
template's graph builder is not empty), or hold a value whose state cannot be snapshotted
(a generator). ``CNNSYM_SHARE_MODULES=0`` turns sharing off."""
from __future__ import annotations

import copy
import os
import re
import sys
import threading
import types
from collections import OrderedDict
from operator import attrgetter, is_

from . import imports
from . import syntax as cst
import sympy as sp

from ...graph import SourceLoc
from .values import UserClass

MAX_TEMPLATES = 16

_TEMPLATES: "OrderedDict" = OrderedDict()  # key -> _Template, or None (not shareable: run as usual)
_ASKED: dict = {}  # key -> fresh analyses of it that found no template
_LOCK = threading.Lock()
# what never changes once made (a syntax node's lazily converted body is the same for every
# reader); a function made at run time is not among them: its closure cells are read
_ATOMIC_TYPES = (type(None), bool, int, float, complex, str, bytes, range, type, types.BuiltinFunctionType,
                 types.ModuleType, sp.Basic, cst.CSTNode, SourceLoc, BaseException, type(re.compile("")),
                 type(Ellipsis), type(NotImplemented), slice)
_STATIC: set = set()  # ids of objects the cnnsym modules define at their top level
_STATIC_KEEP: list = []  # ... kept alive, so their ids stay theirs
_STATIC_FOR: set = set()  # the module names _STATIC was collected from


def enabled() -> bool:
    return os.environ.get("CNNSYM_SHARE_MODULES", "1") != "0"


_BUSY = []  # a template being made: its own first load runs as usual


class _Template:
    __slots__ = ("stamps", "it", "watch", "in_use")

    def __init__(self, stamps, it, watch):
        self.stamps = stamps
        self.it = it
        self.watch = watch
        self.in_use = False


def first_load(it, path, dotted=""):
    """The FileScope of ``path`` for a fresh interpreter ``it`` (nothing read yet, nothing
    built), its records copied from the template's and the module levels shared; None when
    not served (sharing off, ``it`` not fresh, the template in use or not shareable: the
    caller runs the module level as usual). A served ``it`` must be given to :func:`release`
    when its analysis ends."""
    if _BUSY or not enabled() or it.files or it.site_stack or it.builder.nodes or it.phase != "init" or it.building:
        return None
    key = (path, dotted, it.root, tuple(sorted(it.symbolic)))
    with _LOCK:
        t = _TEMPLATES.get(key, False)
        if t and not fresh(t.stamps):
            t = False
        if t is False:
            _TEMPLATES.pop(key, None)
            # a template costs a snapshot: made at the second fresh analysis of a root, when
            # sharing may pay (lint makes one from its listing instead, see adopt)
            n = _ASKED[key] = _ASKED.get(key, 0) + 1
            if len(_ASKED) > 4 * MAX_TEMPLATES:
                _ASKED.clear()
            if n < 2:
                return None
            t = None
            made = True
        else:
            made = False
            _TEMPLATES.move_to_end(key)
            if t is None or t.in_use:
                return None  # not shareable, or serving another analysis now
            t.in_use = True
    if made:
        t = _make(it, path, dotted)
        with _LOCK:
            _TEMPLATES[key] = t
            while len(_TEMPLATES) > MAX_TEMPLATES:
                _TEMPLATES.popitem(last=False)
            if t is None:
                return None
            t.in_use = True
    it.__dict__.update({k: _one_level(v) for k, v in t.it.__dict__.items() if k != "builder"})
    it.builder.__dict__.update({k: _one_level(v) for k, v in t.it.builder.__dict__.items() if k != "path"})
    it.shared_from = (key, t)
    return it.files[path]


def adopt(it, path) -> bool:
    """Make the fresh interpreter ``it``, which has loaded ``path`` and only read it since
    (lint's listing of a file's models), the template of ``path``: the analyses of the
    file's models that follow are served from it. False when not made (sharing off, ``it``
    served from a template itself, or its state not shareable)."""
    if not enabled() or "shared_from" in it.__dict__ or it.symbolic or it.building or it.phase != "init":
        return False
    path = os.path.abspath(path)
    key = (path, "", it.root, ())
    fs = it.files.get(path)
    if fs is None:
        return False
    with _LOCK:
        if key in _TEMPLATES:
            return False
    t = _template(it, fs, getattr(it, "looked", None))
    if t is None:
        return False
    with _LOCK:
        _TEMPLATES[key] = t
        while len(_TEMPLATES) > MAX_TEMPLATES:
            _TEMPLATES.popitem(last=False)
    return True


def release(it):
    """The analysis of ``it`` ended: when it changed what the template shares, the template
    is dropped (the next analysis runs the module levels again)."""
    held = it.__dict__.pop("shared_from", None)
    if held is None:
        return
    key, t = held
    try:
        same = _unchanged(t.watch)
    except Exception:  # noqa: BLE001 - not known unchanged: dropped (the analysis' own result stands)
        same = False
    with _LOCK:
        t.in_use = False
        if not same and _TEMPLATES.get(key) is t:
            del _TEMPLATES[key]


def _one_level(v):
    t = type(v)
    if t is list or t is dict or t is set:
        return t(v)
    if isinstance(v, (list, dict, set)):
        return copy.copy(v)
    return v


def _make(it, path, dotted):
    """A template: a fresh interpreter like ``it`` that has loaded ``path``, and the
    snapshots of what it holds; None when that failed or cannot be shared."""
    _BUSY.append(path)
    try:
        tmpl = type(it)(path, type(it.builder)(it.builder.path), it.symbolic)
        tmpl.root = it.root
        fs = tmpl.load_file(path, dotted)
    except Exception:  # noqa: BLE001 - the caller's own run reports it as it always did
        return None
    finally:
        _BUSY.pop()
    return _template(tmpl, fs, getattr(tmpl, "looked", None))


def _template(tmpl, fs, looked):
    """``tmpl`` (a fresh interpreter that has loaded the file ``fs`` and nothing else) as a
    template; None when it cannot be shared. ``looked``: the directories its imports
    looked in (None: not recorded, not shareable)."""
    if looked is None:
        return None
    try:
        # what every analysis computes first from the root's module level (the load's first
        # step), computed once here so that no analysis changes the shared scope by it
        tmpl.find_free_globals(fs)
    except Exception:  # noqa: BLE001 - each analysis meets it and reports it
        return None
    b = tmpl.builder
    if b.nodes or b.initializers or b.held or b.requires or b.module_calls or b.module_types or b.module_outputs:
        return None  # module levels that made tensors: their records are the builder's own
    try:
        watch = _snapshot(tmpl)
    except Exception:  # noqa: BLE001 - _Unverifiable, or anything unforeseen: not shared
        return None
    # the files read (those that failed to parse too: fixed, they read otherwise), and the
    # directories their imports looked in (a file created there later may be what an import
    # finds then)
    return _Template(stamps(sorted(tmpl.reads) + sorted({_existing(d) for d in looked} - {None})), tmpl, watch)


def _existing(d):
    """``d``, or where it is missing the nearest directory above it that exists: making
    what is missing (``src/pkg/`` for ``src/pkg/blocks.py``) changes that one."""
    while not os.path.isdir(d):
        up = os.path.dirname(d)
        if up == d:
            return None
        d = up
    return d


def stamps(files):
    """:func:`.imports.file_stamp` of each file (None for each part when it is missing):
    what :func:`fresh` checks."""
    return tuple(_stat(p) for p in files)


def _stat(p):
    try:
        return imports.file_stamp(p)
    except OSError:
        return (p, None, None, None, None)


def fresh(stamps):
    """Whether every file of :func:`stamps` is unchanged."""
    for was in stamps:
        now = _stat(was[0])
        if now[1] is None or was != now:
            return False
    return True


# ----------------------------------------------------------------------------- snapshots
class _Unverifiable(Exception):
    pass


def _collect_static():
    """Objects defined at the top level of the loaded cnnsym modules (and one level into
    their containers and classes): the frontend's own tables, never snapshotted."""
    names = {n for n in list(sys.modules) if n == "cnnsym" or n.startswith("cnnsym.")}  # (threads import)
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


def _snapshot(tmpl):
    """What :func:`_unchanged` compares: every object reachable from the template's
    interpreter (and its builder) that can change, each with its state now. Class mros
    (computed on first use) are computed first, so that reading them changes nothing."""
    _collect_static()
    seen = {id(tmpl), id(tmpl.builder)}
    seen.update(_STATIC)
    todo = [v for k, v in tmpl.__dict__.items() if k != "builder"] + list(tmpl.builder.__dict__.values())
    seqs, dicts, sets, objs, cellobjs = [], [], [], [], []
    keep = []
    kinds = _KINDS
    pop, push, extend = todo.pop, todo.append, todo.extend
    while todo:
        v = pop()
        t = type(v)
        k = kinds.get(t)
        if k is None:
            k = kinds[t] = _kind(t)
        if k == 0:  # never changes
            continue
        i = id(v)
        if i in seen:
            continue
        seen.add(i)
        keep.append(v)
        if k == 1:  # list, tuple
            seqs.append(v)
            extend([x for x in v if kinds.get(type(x)) != 0])
            continue
        if k == 2:  # dict
            dicts.append(v)
            if set(map(type, v)) != _STR:  # keys that are not all strings
                extend(v.keys())
            extend([x for x in v.values() if kinds.get(type(x)) != 0])
            continue
        if k == 3:  # set
            sets.append(v)
            extend(v)
            continue
        if k == 5:
            raise _Unverifiable(t.__name__)  # a generator, an iterator, an array: state not readable
        if k == 6:  # a frozenset: its items (hashable objects may change)
            extend(v)
            continue
        if k == 7:  # a function made at run time: its defaults, and its closure cells (they can change)
            cells = v.__closure__ or ()
            if cells:
                cellobjs.append(v)
                extend(c.cell_contents for c in cells if _filled(c))
            extend(v.__defaults__ or ())
            extend((v.__kwdefaults__ or {}).values())
            continue
        if k == 8:  # a bound method
            push(v.__self__)
            push(v.__func__)
            continue
        # an object (k == 4), or a subclass of a container: its items and its attributes
        if isinstance(v, (list, tuple)):
            seqs.append(v)
            extend(v)
        elif isinstance(v, dict):
            dicts.append(v)
            extend(v.keys())
            extend(v.values())
        elif isinstance(v, (set, frozenset)):
            sets.append(v)
            extend(v)
        if t is UserClass:
            try:
                v.mro()
            except Exception:  # noqa: BLE001 - a class whose mro fails does so in every analysis
                pass
        d = getattr(v, "__dict__", None)
        if d is not None:
            objs.append((v, None))
            extend([x for x in d.values() if kinds.get(type(x)) != 0])
        slots = _slot_names(t)
        if slots:
            objs.append((v, attrgetter(*slots) if len(slots) > 1 else _one_slot(slots[0])))
            for s in slots:
                try:
                    x = object.__getattribute__(v, s)
                except AttributeError:
                    continue
                if kinds.get(type(x)) != 0:
                    push(x)
    objs.extend((f, _cells) for f in cellobjs)
    return (keep, seqs, dicts, sets, objs, _states(seqs, dicts, sets, objs))


def _filled(cell):
    try:
        cell.cell_contents
    except ValueError:  # an empty cell
        return False
    return True


def _cells(f):
    return tuple(c.cell_contents if _filled(c) else _MISSING for c in f.__closure__)


_KINDS: dict = {str: 0, int: 0, bool: 0, float: 0, type(None): 0}
_STR = {str}


def _kind(t):
    """0: never changes; 1: list or tuple; 2: dict; 3: set; 4: an object (attributes, maybe
    items); 5: state not readable; 6: a frozenset; 7: a function; 8: a bound method."""
    if t is frozenset:
        return 6
    if t is types.FunctionType:
        return 7
    if t is types.MethodType:
        return 8
    if t in (list, tuple):
        return 1
    if t is dict:
        return 2
    if t is set:
        return 3
    if issubclass(t, _ATOMIC_TYPES):
        return 0
    if issubclass(t, (list, tuple, dict, set)) or _slot_names(t) or hasattr(t, "__dictoffset__") and t.__dictoffset__:
        return 4
    if t is object:
        return 0
    return 5


def _one_slot(name):
    get = attrgetter(name)
    return lambda o: (get(o),)


_MISSING = object()


def _states(seqs, dicts, sets, objs):
    out = [tuple(s) for s in seqs]
    out += [tuple(d) for d in dicts]
    out += [tuple(d.values()) for d in dicts]
    out += [frozenset(s) for s in sets]
    for o, get in objs:
        if get is None:
            d = o.__dict__
            out.append(tuple(d))
            out.append(tuple(d.values()))
        else:
            try:
                out.append(get(o))
            except AttributeError:  # a slot not set
                out.append(tuple(getattr(o, s, _MISSING) for s in _slot_names(type(o))))
    return out


def _unchanged(watch) -> bool:
    """Whether every object the template shares is as it was when the template was made
    (items and attributes compared by identity first, as tuples compare them)."""
    _, seqs, dicts, sets, objs, before = watch
    now = _states(seqs, dicts, sets, objs)
    if len(now) != len(before):
        return False
    for a, b in zip(now, before):
        if type(a) is frozenset:
            if a != b:
                return False
        elif len(a) != len(b) or not all(map(is_, a, b)):
            return False
    return True
