"""PyTorch model source -> Graph, read statically (Python's ast parser, no import): nothing in the file is
imported or executed.

``load_source("models/net.py::Net")`` evaluates the class's ``__init__`` (default or given
arguments) and ``forward`` with a small abstract interpreter (:mod:`.interpreter`) and
emits the nodes ``torch.onnx.export`` would: the same Graph the ONNX frontend builds,
``kind = "torch"``, nodes named as ``named_modules()`` names them and
located at the layer's construction (``loc``) and its call in ``forward`` (``call_loc``).

Parameters are counted as torch counts them: every parameter of a module that ``forward``
calls is an initializer with role ``trainable``, every buffer (running mean and variance,
BatchNorm's ``num_batches_tracked``) one with role ``buffer``; ``num_batches_tracked`` is
read by no ONNX op, so it is ``Graph.held`` by the BatchNormalization node.

Where things live:

- the interpreter: :mod:`.interpreter` (files, module level) with :mod:`.statements`
  (``if``, ``for``, assignments, imports, ``def``/``class``), :mod:`.expressions` and
  :mod:`.semantics` (Python's object model); :mod:`.pybuiltins` (``range``, ``len``, list
  and dict methods); :mod:`.scope` (files and frames); :mod:`.values` (what it computes with).
- torch, by topic: :mod:`.modules_conv`, :mod:`.modules_linear`, :mod:`.modules_norm`,
  :mod:`.modules_activation`, :mod:`.modules_pool`, :mod:`.modules_shape` (nn layers),
  :mod:`.containers` (Sequential, ModuleList, ModuleDict), :mod:`.modules` (nn.Module
  construction, attributes, calls), :mod:`.functional` (torch.X / F.X), :mod:`.tensor_methods`
  (``x.view``, operators, indexing), :mod:`.tensor_ctors` (torch.zeros in ``__init__``),
  :mod:`.namespaces` (what ``torch.nn.X``, ``math.X``, ``functools.X`` resolve to).
- glue: :mod:`.registry` (the tables and their one decorator), :mod:`.loader` (imports every
  topic module once), :mod:`.emit` (naming and emitting a call's nodes), :mod:`.builder`
  (the Graph being built).
"""
from __future__ import annotations

import contextlib
import os

from . import syntax as cst
import sympy as sp

from ..._stack import run_deep
from ...errors import InputError
from ...graph import FLOAT, INT64, GraphInput
from ...symbolic import as_expr, dim_symbol
from . import imports, modcache
from . import loader  # noqa: F401 - fills the registry: layers, functions, tensor methods, builtins
from .builder import Builder
from .emit import as_tensor, tensors_in
from .imports import module_name
from .interpreter import Interp
from .modules import call_module, named_modules
from .scope import Frame
from .values import Fatal, Module, Stop, Tensor, TorchClass, Unknown, UserClass, UserFunction

__all__ = ["load_source", "list_models", "split_spec"]

SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def split_spec(spec: str):
    """'path.py::Name(args)' -> ('path.py', 'Name(args)'); no '::' -> (spec, None)."""
    spec = str(spec)
    if "::" in spec:
        path, target = spec.split("::", 1)
        return path, target.strip() or None
    return spec, None


def _check_path(path):
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, not a Python file")


def load_source(spec: str, *, symbolic=(), inputs=None) -> "Graph":  # noqa: F821
    """``inputs``: {forward argument name, or None for the first: dims (ints, names)}, the
    shapes forward is followed on (else: rank and channels from the first layer)."""
    path, target = split_spec(spec)
    _check_path(path)
    symbolic = [s.strip() for s in (symbolic or ()) if s and s.strip()]
    it = None if symbolic else _take_listed(path)
    if it is None:
        it = Interp(path, Builder(path), symbolic)
    builder = it.builder
    try:
        with _one_line_errors(it, path):
            # the interpreter recurses deeply: in one frame-stack chunk (cnnsym/_stack.py)
            return run_deep(_load, it, builder, path, target, symbolic, inputs or {})
    finally:
        imports.note_reads(it.reads)  # what the result depends on (the lint cache)
        modcache.release(it)  # module levels shared with other analyses: checked unchanged


def _load(it, builder, path, target, symbolic, given):
    fs = it.load_file(path)
    it.find_free_globals(fs)
    if target is None:
        models = _models(it, fs)
        if len(models) != 1:
            listing = ", ".join(models) if models else "none found"
            raise InputError(path, f"name the model as {path}::NAME (models in this file: {listing})")
        target = models[0]
    root = _construct(it, fs, path, target)
    if symbolic:
        missing = [s for s in symbolic if s not in it.symbol_defaults]
        if missing:
            raise InputError(path, f"--symbolic: {', '.join(missing)} is not an integer argument of {target} "
                                   "or of what it builds")
    built = _named_modules(root)  # (walked once before forward and once after: issue 12)
    for name, m in built:
        m.qualname = name
        builder.module_types[name] = (m.type_name, m.loc)
    inputs, args = _inputs(it, fs, root, path, given, built)
    it.phase = "forward"
    it.forward_from = len(it.not_followed)  # what forward does not follow, for _outputs' message
    try:
        out = call_module(it, root, args, {}, None)
    except Stop as e:
        scope, line = it.where()
        raise InputError(path, f"line {line}: forward cannot be followed: {e}")
    except RecursionError:
        raise InputError(path, "forward recurses too deeply to follow")
    outputs = _outputs(it, out, path)
    after = _named_modules(root)  # forward may add modules
    _unused_params(it, root, after)
    g = builder.graph(inputs, outputs)
    _provenance(g, root, after)
    g.symbol_defaults = dict(it.symbol_defaults)
    g.not_followed = list(it.not_followed)
    _say_sources(it, g, path)
    g.free_symbols = dict(it.free_symbols)
    if not g.nodes:
        raise InputError(path, f"{target}: forward produces no operations")
    return g


def _provenance(g, root, named):
    """Node.loc_chain and Node.arg_locs of the nodes a layer emits (its construction site is
    the node's loc): the calls that built the layer and where its literal arguments were
    written, so a finding can point at the line a user edits (issue 13 item 5)."""
    mods = dict(named)
    for n in g.nodes:
        m = mods.get(n.module)
        if m is not None and m.loc is not None and n.loc == m.loc:
            n.loc_chain = tuple(m.loc_chain) or (m.loc,)
            n.arg_locs = dict(m.arg_locs)


def _say_sources(it, g, path):
    """One warning naming the modules read outside the analysed file's directory (an
    installed library, a package above the file), so a reader knows what was followed."""
    here = os.path.dirname(os.path.abspath(path)) + os.sep
    outside = [p for p in it.files if not p.startswith(here)]
    if outside:
        names = sorted(module_name(p) for p in outside)
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        g.warnings.append(f"source read statically beyond this directory: {shown}")


def _construct(it, fs, path, target):
    frame = Frame(fs)
    frame.locals = fs.globals
    try:
        expr = cst.parse_expression(target)
    except Exception:  # noqa: BLE001 - the parser's errors
        raise InputError(path, f"cannot read the model spec {target!r}: expected NAME or NAME(args)")
    if not isinstance(expr, (cst.Name, cst.Call, cst.Attribute)):
        raise InputError(path, f"the model spec {target!r} must be a name or a call")
    name = expr.func if isinstance(expr, cst.Call) else expr
    try:
        obj = it.eval(name, frame)
    except Stop:
        models = _models(it, fs)
        raise InputError(path, f"no model named {_src(name)!r} (models in this file: {', '.join(models) or 'none'})")
    it.site_stack.append((fs, _def_node(obj) or fs.tree))
    it.building = True
    try:
        if isinstance(expr, cst.Call):
            root = it.eval(expr, frame)
        else:
            root = it.call(obj, [], {}, None)
    except Stop as e:
        scope, line = it.where()
        where = f"line {line}: " if line else ""
        hint = " (give arguments as NAME(args))" if "missing argument" in str(e) else ""
        raise InputError(path, f"{where}{target} cannot be built: {e}{hint}")
    except RecursionError:
        raise InputError(path, f"{target}: construction recurses too deeply to follow")
    finally:
        it.site_stack.pop()
    if not isinstance(root, Module):
        raise InputError(path, f"{target} does not make an nn.Module (got {type(root).__name__})")
    if root.unknown:
        raise InputError(path, f"{target} is a layer from a package cnnsym does not read ({root.unknown})")
    return root


def _src(node):
    return cst.source_of(node)


def _def_node(obj):
    return getattr(obj, "node", None) if isinstance(obj, (UserClass, UserFunction)) else None


def _named_modules(root):
    return named_modules(root)


_CHANNELS = {"Conv": "in_channels", "ConvTranspose": "in_channels", "BatchNorm": "num_features",
             "InstanceNorm": "num_features", "GroupNorm": "num_channels", "Linear": "in_features"}


def _first_leaf(named):
    for _, m in named:
        if m.kind is None or m.kind in ("Sequential", "ModuleList", "ModuleDict", "Module"):
            if m.unknown:
                return m
            continue
        return m
    return None


def _inputs(it, fs, root, path, given, named):
    """One GraphInput per required tensor argument of forward: the dims ``given`` for it
    (--input, by name or None for the first), else (N, C, H, W) with C the first layer's
    in_channels when known, the rank from that layer."""
    forward = None
    if root.cls is not None:
        for c in root.cls.mro():
            if isinstance(c, UserClass) and "forward" in c.ns:
                forward = c.ns["forward"]
                break
            if isinstance(c, TorchClass):
                break
    names = ["input"]
    if forward is not None and not isinstance(forward.node, cst.Lambda):
        p = forward.node.params
        names = [q.name.value for q in list(p.posonly_params) + list(p.params)][1:]
        required = [q.name.value for q in list(p.posonly_params) + list(p.params)][1:]
        required = [n for n, q in zip(names, (list(p.posonly_params) + list(p.params))[1:]) if q.default is None]
        names = required or names[:1]
        if not names:
            raise InputError(path, "forward takes no input")
    leaf = _first_leaf(named)
    rank, channels, dtype = 4, None, FLOAT
    if leaf is not None and leaf.kind:
        k = leaf.kind
        family = k.rstrip("123d").replace("Lazy", "")
        if k[-2:-1].isdigit():
            rank = int(k[-2]) + 2
        if k.startswith("Linear"):
            rank = 2
        elif k.startswith("BatchNorm1d") or k.startswith("InstanceNorm1d"):
            rank = 3
        elif k == "Embedding":
            rank, dtype = 2, INT64
        attr = _CHANNELS.get(family)
        if attr and attr in leaf.cfg:
            channels = leaf.cfg[attr]
    inputs, args = [], []
    for i, n in enumerate(names):
        suffix = "" if i == 0 else str(i)
        if rank == 2:
            axes = ["N", "L" if dtype == INT64 else "C"]
        else:
            axes = ["N", "C", *SPATIAL.get(rank - 2, tuple(f"d{j}" for j in range(rank - 2)))]
        shape, axis_names, defaulted = [], [], set()
        dims = (given or {}).get(n, (given or {}).get(None) if i == 0 else None)
        if dims:  # what the user gives: forward is followed on that rank and those sizes
            shape = [as_expr(d) if isinstance(d, int) else dim_symbol(d) for d in dims]
            axis_names = [None if isinstance(d, int) else d for d in dims]
            axes = ()
        for ax, a in enumerate(axes):
            if ax == 1 and i == 0 and channels is not None and (isinstance(channels, int) or
                                                                 isinstance(channels, sp.Basic)):
                shape.append(as_expr(channels))
                axis_names.append(None if as_expr(channels).is_number else str(channels))
                continue
            shape.append(dim_symbol(a + suffix))
            axis_names.append(a + suffix)
            defaulted.add(ax)
        gi = GraphInput(n, tuple(shape), dtype, tuple(axis_names), frozenset(defaulted))
        inputs.append(gi)
        it.builder.taken.add(n)
        args.append(Tensor(n, gi.shape, dtype))
    return inputs, args


def _outputs(it, out, path):
    if isinstance(out, Unknown):
        out = as_tensor(it, out)
    ts = tensors_in(out)
    if not ts:
        # say what it returned and the first thing forward did not follow: usually why
        # (a detection model iterating over its input as a list of images)
        what = type(out).__name__ if out is not None else "None"
        if isinstance(out, (list, tuple, dict)) and not out:
            what = f"an empty {what}"
        first = [t.removesuffix("; the rest is analysed") for t in it.not_followed[it.forward_from:][:1]]
        raise InputError(path, f"forward returns no tensor (it returns {what})" +
                         (f"; first not followed in forward: {first[0]}" if first else ""))
    names = []
    for t in ts:
        if t.name not in names:
            names.append(t.name)
    return names


def _unused_params(it, root, named):
    """Parameters of modules forward never calls still count in torch's parameters():
    they are held by the last node, with a warning."""
    b = it.builder
    missing, owners = [], []
    seen = set()
    for name, m in named:
        for p in [*m.params.values(), *m.buffers.values()]:
            if id(p) in seen:
                continue
            seen.add(id(p))
            if b.param_name(p) not in b.initializers:
                missing.append(p)
                if name not in owners:
                    owners.append(name)
        if m.unknown and m.calls == 0:
            pass
    if missing and b.nodes:
        last = b.nodes[-1].name
        for p in missing:
            b.hold(last, p)
        shown = ", ".join(repr(o or "<root>") for o in owners[:5]) + (" ..." if len(owners) > 5 else "")
        b.warn(f"parameters of modules forward does not use ({shown}) are counted with the last node "
               f"{last!r}, as torch's parameters() counts them")


def list_models(path) -> list:
    """Every nn.Module class and every factory function (a function returning a model) in
    the file, in file order."""
    path = str(path)
    _check_path(path)
    it = Interp(path, Builder(path))
    handed = False
    try:
        with _one_line_errors(it, path):
            found = run_deep(lambda: _models(it, it.load_file(path)))
        if _HANDOVER:
            _drop_listed()
            # several models follow: the listing's interpreter (module level run, nothing
            # built) becomes the file's template, each load served from it; else handed over
            # to the one load
            if not (len(found) >= 2 and modcache.adopt(it, path)):
                _LISTED[(path, os.path.abspath(path))] = (modcache.stamps(sorted(it.reads)), it)
            handed = True
    finally:
        imports.note_reads(it.reads)
        if not handed:
            modcache.release(it)
    return found


# The interpreter of the last listing: a fresh one that has run the file's module level (and
# what it imports) and nothing else, since _models only reads it. `cnnsym lint` lists a
# file's models and then loads each, and every load starts by running that same module
# level on a fresh interpreter; the next load of the same file starts from this one instead
# (issue 12: a module level ran once more per file than there are models). Only inside
# `listing_handover()` (lint's list-then-load of one file: nothing is left for a later call,
# which could follow an import that failed then and resolves now), handed over once (dict.pop,
# even across threads), to a load of the same path as written and in the same directory, with
# the listing's settings (no --symbolic), while every file it read is unchanged (size, mtime).
_LISTED: dict = {}  # (path as given, absolute path) -> (stamps of the files read, Interp)
_HANDOVER: list = []


@contextlib.contextmanager
def listing_handover():
    """Within the block, a listing's interpreter serves the next load of the same file."""
    _HANDOVER.append(True)
    try:
        yield
    finally:
        _HANDOVER.pop()
        if not _HANDOVER:
            _drop_listed()


def _drop_listed():
    while _LISTED:
        try:
            _, (_, it) = _LISTED.popitem()
        except KeyError:  # another thread took it
            break
        modcache.release(it)


def _take_listed(path):
    hit = _LISTED.pop((path, os.path.abspath(path)), None) if _LISTED else None
    if hit is not None and modcache.fresh(hit[0]):
        return hit[1]
    if hit is not None:
        modcache.release(hit[1])
    return None


@contextlib.contextmanager
def _one_line_errors(it, path):
    """Whatever stops the interpreter becomes one line naming the file, the line and the
    statement (CNNSYM_DEBUG=1 keeps the traceback of an unexpected error)."""
    try:
        yield
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - a defect must still read as one line
        if os.environ.get("CNNSYM_DEBUG") == "1" and not isinstance(e, Fatal):
            raise
        raise InputError(path, _failure(it, path, e)) from None


def _failure(it, path, e) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    what = text if isinstance(e, Fatal) else f"cannot be followed ({type(e).__name__}: {text})"
    site = getattr(e, "cnnsym_site", None)
    if site is None:
        return f"{'forward' if it.phase == 'forward' else 'building the model'}: {what}"
    scope, node = site
    code = (_src(node).strip().splitlines() or [""])[0]
    code = code if len(code) <= 60 else code[:57] + "..."
    where = f"line {scope.line(node)}"
    if os.path.abspath(scope.path) != os.path.abspath(path):
        where = f"{os.path.basename(scope.path)} {where}"
    return f"{where}: `{code}`: {what}"


def _models(it, fs):
    classes, funcs = [], []
    for stmt in fs.tree.body:
        if isinstance(stmt, cst.ClassDef):
            v = fs.globals.get(stmt.name.value)
            if isinstance(v, UserClass) and any(isinstance(c, TorchClass) for c in v.mro()):
                classes.append(stmt.name.value)
        elif isinstance(stmt, cst.FunctionDef):
            funcs.append(stmt)
    factories = []
    known = set(classes)
    # a factory returns a call of a model class or of another factory (fixpoint)
    changed = True
    names = {f.name.value: f for f in funcs}
    while changed:
        changed = False
        for n, f in names.items():
            if n in factories:
                continue
            if _returns_model(f, known, fs):
                factories.append(n)
                known.add(n)
                changed = True
    order = [s.name.value for s in fs.tree.body if isinstance(s, (cst.ClassDef, cst.FunctionDef))]
    return [n for n in order if n in classes or (n in factories and not n.startswith("_"))]


def _returns_model(f, known, fs):
    found = []

    class V(cst.CSTVisitor):
        def visit_Return(self, node):
            v = node.value
            if isinstance(v, cst.Call):
                callee = v.func
                nm = callee.value if isinstance(callee, cst.Name) else (
                    callee.attr.value if isinstance(callee, cst.Attribute) else "")
                g = fs.globals.get(nm) if isinstance(callee, cst.Name) else None
                if nm in known or (isinstance(g, UserClass) and any(isinstance(c, TorchClass) for c in g.mro())):
                    found.append(nm)
                elif isinstance(callee, cst.Attribute) and nm in ("Sequential",):
                    found.append(nm)
            elif isinstance(v, cst.Name):
                found.append("?") if v.value in ("model", "net") else None

        def visit_FunctionDef(self, node):
            return node is f

    f.visit(V())
    return bool(found)
