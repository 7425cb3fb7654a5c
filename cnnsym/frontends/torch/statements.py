"""The interpreter's statements: ``if``, ``for``/``while`` loops, ``with``, ``try``,
assignments (tuple unpacking, ``x[i] = ...``, ``self.conv = ...``), imports (sibling files
of the project are read; torch and other packages are known by name), ``def`` and
``class``. A mixin of :class:`~.interpreter.Interp`."""
from __future__ import annotations

import os

from . import syntax as cst

from ...errors import InputError
from .consts import ConstTensor, set_item
from . import initloops
from .imports import find_source, submodule
from . import requires
from .registry import OPS
from .scope import Frame, FileScope
from .values import (MAX_LOOP, Break, Continue, Lazy, Module, Namespace, Return, Stop, Tensor, Unknown, UserClass,
                     UserFunction)


class Statements:
    # imports ----------------------------------------------------------------
    def resolve_import(self, fs: FileScope, module: str, level: int):
        """The file (or namespace-package directory) of an import, or None: what is modelled
        by name (torch, math, the standard library) or not found (see :mod:`.imports`)."""
        return find_source(fs.path, self.root, module, level)

    def lookup_global(self, fs: FileScope, name: str):
        """A module-level name of ``fs``: its globals (a lazy import resolved on first use),
        then what its lazy ``from .x import *`` lines bring; ``_MISSING`` when absent."""
        g = fs.globals
        if name in g:
            v = g[name]
            if isinstance(v, Lazy):
                v = g[name] = self.force(v)
            return v
        for p in list(fs.stars):
            try:
                src = self.load_file(p)
            except Stop:
                continue
            v = self.lookup_global(src, name)
            if v is not _MISSING and not name.startswith("_"):
                g[name] = v
                return v
        return _MISSING

    def force(self, v):
        """A lazy import made real: the module's file read, or the name looked up in it."""
        while isinstance(v, Lazy):
            try:
                src = self.load_file(v.path) if not os.path.isdir(v.path) else Namespace("<package>" + v.path)
            except InputError as e:
                return Unknown(f"{v.name or os.path.basename(v.path)} (its source cannot be read: {e.problem})")
            if v.name is None:
                return src
            v = self.import_name(src, v.name, src, "", 0) if isinstance(src, FileScope) else \
                self.import_name(src, v.name, None, "", 0)
        return v

    def import_module(self, fs, name, level):
        path = self.resolve_import(fs, name, level)
        if path is not None:
            if os.path.isdir(path):
                return Namespace("<package>" + path)
            try:
                return self.load_file(path)
            except InputError as e:
                return Unknown(f"{name or '.'} (its source cannot be read: {e.problem})")
        return Namespace(name or "<relative>")

    def import_name(self, src, name, fs, mod, level):
        if isinstance(src, FileScope):
            v = self.lookup_global(src, name)
            if v is not _MISSING:
                return v
            sub = submodule(src.path, name)
            if sub is not None:
                return self.import_module(src, name, 1) if not os.path.isdir(sub) else Namespace("<package>" + sub)
            return Unknown(f"{name} (not found in {os.path.basename(src.path)})")
        if isinstance(src, Namespace) and src.path.startswith("<package>"):
            base = src.path[len("<package>"):]
            sub = submodule(base, name)
            if sub is not None and not os.path.isdir(sub):
                return self.load_file(sub)
            return Namespace("<package>" + sub) if sub is not None else Unknown(name)
        if isinstance(src, Namespace):
            return self.getattr(src, name, None)
        return Unknown(name) if not isinstance(src, Unknown) else src

    def lazy_from_import(self, s, frame) -> bool:
        """``from .x import a`` at a package __init__'s top level binds ``a`` lazily: a
        package's __init__ imports much that one model never uses (torchvision.models
        imports every model family), so a name's file is read when the name is used."""
        fs = frame.scope
        if not (fs.path.endswith("__init__.py") and frame.locals is fs.globals and frame.func is None):
            return False
        mod = _dotted(s.module) if s.module is not None else ""
        level = len(s.relative)
        path = self.resolve_import(fs, mod, level)
        if path is None:
            return False
        if isinstance(s.names, cst.ImportStar):
            if not os.path.isdir(path):
                fs.stars.append(path)
            return True
        for alias in s.names:
            name = _dotted(alias.name)
            target = alias.asname.name.value if alias.asname is not None else name
            sub = submodule(path, name) if (os.path.isdir(path) or path.endswith("__init__.py")) else None
            if sub is not None:
                frame.locals[target] = Lazy(sub)
            elif os.path.isdir(path):
                frame.locals[target] = Unknown(f"{name} (not found in {os.path.basename(path)})")
            else:
                frame.locals[target] = Lazy(path, name)
        return True

    # statements -------------------------------------------------------------
    def exec_body(self, body, frame):
        if isinstance(body, cst.SimpleStatementSuite):  # `if not training: return x` on one line
            self.exec_stmt(body, frame)
            return
        stmts = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
        for s in stmts:
            self.exec_stmt(s, frame)

    def exec_stmt(self, stmt, frame):
        self.site_stack.append((frame.scope, stmt))
        try:
            self._exec_stmt(stmt, frame)
        except (Return, Break, Continue):
            raise
        except RecursionError:
            raise Stop("recursion too deep")
        except (Stop, TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as e:
            if not isinstance(e, Stop) and os.environ.get("CNNSYM_DEBUG") == "1":
                raise
            if frame.func is None and frame.locals is frame.scope.globals:
                raise
            why = str(e) if isinstance(e, Stop) else f"{type(e).__name__}: {e}"
            self.unfollowed(f"not followed ({why}); the rest is analysed")
            line = frame.scope.line(stmt)
            for target in _assigned_targets(stmt):
                try:
                    self.assign(target, Unknown(why, line), frame)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and any(
                    isinstance(s, cst.Return) for s in stmt.body):
                raise Return(Unknown(why, line))
        except Exception as e:  # Fatal, or a defect: remember the innermost statement for the error
            if getattr(e, "cnnsym_site", None) is None:
                try:
                    e.cnnsym_site = (frame.scope, stmt)
                except AttributeError:  # exceptions that refuse attributes
                    pass
            raise
        finally:
            self.site_stack.pop()

    def _exec_stmt(self, stmt, frame):
        t = type(stmt)
        if t is cst.SimpleStatementLine or t is cst.SimpleStatementSuite:
            for s in stmt.body:
                self.exec_small(s, frame)
        elif t is cst.If:
            node = stmt
            while True:
                if self.truth(self.eval(node.test, frame), node.test):
                    self.exec_body(node.body, frame)
                    return
                orelse = node.orelse
                if orelse is None:
                    return
                if isinstance(orelse, cst.If):
                    node = orelse
                    continue
                self.exec_body(orelse.body, frame)
                return
        elif t is cst.For:
            if self.building and self.phase == "init" and initloops.skippable(self, stmt, frame):
                return  # a weight-initialisation loop: changes nothing the analysis reads
            it = self.iterate(self.eval(stmt.iter, frame), stmt.iter)
            broke = False
            for k, v in enumerate(it):
                if k >= MAX_LOOP:
                    raise Stop(f"loop runs more than {MAX_LOOP} times")
                self.assign(stmt.target, v, frame)
                try:
                    self.exec_body(stmt.body, frame)
                except Break:
                    broke = True
                    break
                except Continue:
                    continue
            if not broke and stmt.orelse is not None:
                self.exec_body(stmt.orelse.body, frame)
        elif t is cst.While:
            k = 0
            while self.truth(self.eval(stmt.test, frame), stmt.test):
                k += 1
                if k > MAX_LOOP:
                    raise Stop(f"while loop runs more than {MAX_LOOP} times")
                try:
                    self.exec_body(stmt.body, frame)
                except Break:
                    break
                except Continue:
                    continue
            else:  # Python's while/else: the else block runs when no break ended the loop
                if stmt.orelse is not None:
                    self.exec_body(stmt.orelse.body, frame)
        elif t is cst.FunctionDef:
            self.define_function(stmt, frame)
        elif t is cst.ClassDef:
            self.define_class(stmt, frame)
        elif t is cst.With:
            for item in stmt.items:
                v = self.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, v, frame)
            self.exec_body(stmt.body, frame)
        elif t is cst.Try:
            try:
                self.exec_body(stmt.body, frame)
            except Stop:
                if not stmt.handlers:
                    raise
                self.exec_body(stmt.handlers[0].body, frame)
            else:
                if stmt.orelse is not None:
                    self.exec_body(stmt.orelse.body, frame)
            if stmt.finalbody is not None:
                self.exec_body(stmt.finalbody.body, frame)
        elif t in (cst.EmptyLine,):
            return
        else:
            raise Stop(f"{t.__name__} statements are not followed")

    def exec_small(self, s, frame):
        t = type(s)
        if t is cst.Assign:
            v = self.eval(s.value, frame)
            for target in s.targets:
                self.assign(target.target, v, frame)
        elif t is cst.Expr:
            self.eval(s.value, frame)
        elif t is cst.Return:
            raise Return(None if s.value is None else self.eval(s.value, frame))
        elif t is cst.AugAssign:
            cur = self.eval(s.target, frame)
            rhs = self.eval(s.value, frame)
            op = type(s.operator).__name__.replace("Assign", "")
            if isinstance(cur, list) and op == "Add":
                cur.extend(self.iterate(rhs, s.value))
                v = cur
            elif isinstance(cur, Module) and cur.kind in ("ModuleList", "Sequential") and op == "Add":
                v = self.call(OPS.module_method(self, cur, "extend"), [rhs], {}, s)  # __iadd__ extends in place
            else:
                v = self.binop(op, cur, rhs, s)
                requires.inplace_broadcast(self.builder, cur, rhs, v, op)  # a tensor written in place
            self.assign(s.target, v, frame)
        elif t is cst.AnnAssign:
            if s.value is not None:
                self.assign(s.target, self.eval(s.value, frame), frame)
        elif t is cst.Pass:
            return
        elif t is cst.Break:
            raise Break()
        elif t is cst.Continue:
            raise Continue()
        elif t is cst.Import:
            for alias in s.names:
                full = _dotted(alias.name)
                if alias.asname is not None:
                    self.assign(alias.asname.name, self.import_module(frame.scope, full, 0), frame)
                else:
                    top = full.split(".")[0]
                    frame.locals[top] = self.import_module(frame.scope, top, 0)
        elif t is cst.ImportFrom:
            if self.lazy_from_import(s, frame):
                return
            mod = _dotted(s.module) if s.module is not None else ""
            level = len(s.relative)
            src = self.import_module(frame.scope, mod, level)
            if isinstance(s.names, cst.ImportStar):
                if isinstance(src, FileScope):
                    for k, v in src.globals.items():
                        if not k.startswith("_"):
                            frame.locals[k] = v
                elif isinstance(src, Namespace) and src.path in ("torch.nn", "torch"):
                    frame.locals["__star_" + src.path] = src
                return
            for alias in s.names:
                name = _dotted(alias.name)
                target = alias.asname.name.value if alias.asname is not None else name
                frame.locals[target] = self.import_name(src, name, frame.scope, mod, level)
        elif t is cst.Raise:
            raise Stop("the code raises an exception here")
        elif t is cst.Global or t is cst.Nonlocal:
            if frame.func is not None:  # at module level `global x` changes nothing
                if frame.decl is None:
                    frame.decl = {}
                for item in s.names:
                    frame.decl[item.name.value] = "global" if t is cst.Global else "nonlocal"
        elif t is cst.Assert:
            return
        elif t is cst.Del:
            self.delete(s.target, frame)
        else:
            raise Stop(f"{t.__name__} is not followed")

    def define_function(self, node, frame, owner=None):
        kind = "function"
        for d in node.decorators:
            dn = _dotted(d.decorator) if isinstance(d.decorator, (cst.Name, cst.Attribute)) else ""
            if dn in ("staticmethod",):
                kind = "staticmethod"
            elif dn == "classmethod":
                kind = "classmethod"
            elif dn == "property":
                kind = "property"
        f = UserFunction(node, frame.scope, frame if frame.func is not None else None, owner, kind)
        self.mutable_defaults(f, node.params, frame)
        frame.locals[node.name.value] = f = self.decorate(node, f, frame)
        return f

    def mutable_defaults(self, f, params, frame):
        """A default that is a list, dict or set display of constants (``cache={}``) is made
        once, when the function is defined, as Python makes it: what one call puts in it the
        next call sees. (Other defaults give the same value made at each call.)"""
        for prm in (*params.posonly_params, *params.params, *params.kwonly_params):
            d = prm.default
            if d is None or not isinstance(d, (cst.Dict, cst.List, cst.Set)) or not _constant_display(d):
                continue
            try:
                v = self.eval(d, frame)
            except Stop:
                continue
            if f.defaults is None:
                f.defaults = {}
            f.defaults[prm.name.value] = v

    def decorate(self, node, obj, frame):
        """Decorators written in the project or a library read as source are applied (a
        registry decorator such as ``@register_model`` records the function and returns
        it); what the interpreter knows by name only (``@torch.jit.script``,
        ``@functools.wraps``, ``@staticmethod``) leaves the function as defined."""
        for d in reversed(node.decorators):
            if isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod", "property"):
                continue
            before = self.n_unfollowed
            try:
                fn = self.eval(d.decorator, frame)
            except Stop:
                continue
            if not isinstance(fn, UserFunction) or isinstance(fn.node, cst.Lambda):
                continue
            self.site_stack.append((frame.scope, d))
            try:
                got = self.call(fn, [obj], {}, d.decorator)
                lost = self.n_unfollowed > before
                if lost and got is not obj:
                    # a wrapper built from values that were not followed (inspect.signature):
                    # the function as defined is used, as before decorators were applied
                    self.diag(f"decorator {fn.name} not followed; the {node.name.value} defined is used")
                elif lost:
                    raise Stop("part of it was not followed")
                else:
                    obj = got
            except Stop as e:
                # what the decorator records (a registry entry) is missing: a model built
                # through this function is then partial
                self.__dict__.setdefault("undecorated", {})[node] = f"decorator {fn.name} of {node.name.value} " \
                    f"not followed ({e})"
                self.diag(f"decorator {fn.name} not followed ({e}); the {node.name.value} defined is used")
            finally:
                self.site_stack.pop()
        return obj

    def define_class(self, node, frame):
        bases = [self.eval(a.value, frame) for a in node.bases if not a.keyword]
        c = UserClass(node.name.value, node, frame.scope, bases)
        body = Frame(frame.scope, frame if frame.func is not None else None)
        body.locals = c.ns
        for s in node.body.body if isinstance(node.body, cst.IndentedBlock) else node.body.body:
            if isinstance(s, cst.FunctionDef):
                self.define_function(s, body, owner=c)
                continue
            try:
                self.exec_stmt(s, body)
            except Stop as e:
                self.site_stack.append((frame.scope, s))
                self.diag(f"class {c.name}: {e}")
                self.site_stack.pop()
        if any((isinstance(b, Namespace) and b.path.startswith("enum.")) or
               (isinstance(b, UserClass) and "__cnnsym_enum_members__" in b.ns) for b in bases):
            OPS.make_enum(self, c)  # class X(str, Enum): its members
        frame.locals[c.name] = c = self.decorate(node, c, frame)
        return c

    def delete(self, target, frame):
        """``del name``, ``del d[k]``, ``del self.fc``, ``del layers[-1]``: Python's semantics (a
        deleted child is no longer registered, a deleted key no longer iterated)."""
        t = type(target)
        if t is cst.Name:
            if frame.locals.pop(target.value, _MISSING) is _MISSING:
                raise Stop(f"name {target.value!r} is not defined")
        elif t in (cst.Tuple, cst.List):
            for e in target.elements:
                self.delete(e.value, frame)
        elif t is cst.Attribute:
            obj = self.eval(target.value, frame)
            name = target.attr.value
            if isinstance(obj, Module):
                OPS.module_delattr(self, obj, name)
            elif isinstance(obj, Unknown):
                return
            elif hasattr(obj, "attrs") and isinstance(obj.attrs, dict):
                obj.attrs.pop(name, None)
            else:
                raise Stop(f"del of attribute {name!r} on {type(obj).__name__} is not followed")
        elif t is cst.Subscript:
            obj = self.eval(target.value, frame)
            key = self.eval_slice(target.slice, frame)
            if isinstance(obj, list):
                del obj[key if isinstance(key, slice) else self.concrete_int(key)]
            elif isinstance(obj, dict):
                del obj[key]
            elif isinstance(obj, Module) and obj.kind in ("ModuleDict", "ModuleList", "Sequential"):
                OPS.container_delitem(self, obj, key)
            else:
                raise Stop(f"del of an item of {type(obj).__name__} is not followed")
        else:
            raise Stop(f"cannot delete {t.__name__}")

    def _assign_declared(self, name, v, frame):
        _declared_frame(name, frame)[name] = v

    def assign(self, target, v, frame):
        t = type(target)
        if t is cst.Name:
            if frame.decl is not None and target.value in frame.decl:
                self._assign_declared(target.value, v, frame)
                return
            frame.locals[target.value] = v
        elif t is cst.Attribute:
            obj = self.eval(target.value, frame)
            self.setattr(obj, target.attr.value, v, target)
        elif t in (cst.Tuple, cst.List):
            elems = target.elements
            star = [i for i, e in enumerate(elems) if isinstance(e, cst.StarredElement)]
            vals = list(self.iterate(v, target))
            if star:
                i = star[0]
                tail = len(elems) - i - 1
                if len(vals) < len(elems) - 1:
                    raise Stop("not enough values to unpack")
                for e, x in zip(elems[:i], vals[:i]):
                    self.assign(e.value, x, frame)
                self.assign(elems[i].value, vals[i:len(vals) - tail], frame)
                for e, x in zip(elems[i + 1:], vals[len(vals) - tail:]):
                    self.assign(e.value, x, frame)
                return
            if len(vals) != len(elems):
                raise Stop(f"cannot unpack {len(vals)} values into {len(elems)} names")
            for e, x in zip(elems, vals):
                self.assign(e.value, x, frame)
        elif t is cst.Subscript:
            obj = self.eval(target.value, frame)
            key = self.eval_slice(target.slice, frame)
            if isinstance(obj, (list, dict)):
                if isinstance(obj, list):
                    key = self.concrete_int(key)
                obj[key] = v
            elif isinstance(obj, Module) and obj.kind in ("ModuleDict", "ModuleList", "Sequential"):
                OPS.container_setitem(self, obj, key, v)
            elif isinstance(obj, Tensor):
                return  # x[..] = y: in-place write, shape unchanged
            elif isinstance(obj, ConstTensor):
                set_item(obj, key, v)  # a constant tensor's elements are known: written as numpy writes
            else:
                raise Stop("item assignment is not followed")
        elif t is cst.StarredElement:
            self.assign(target.value, v, frame)
        else:
            raise Stop(f"cannot assign to {t.__name__}")



def _constant_display(d) -> bool:
    """A list, dict or set display whose items are numbers, strings, None, True or False."""
    items = [x for e in d.elements for x in ((e.key, e.value) if isinstance(e, cst.DictElement) else (e.value,))] \
        if all(isinstance(e, (cst.Element, cst.DictElement)) for e in d.elements) else None
    return items is not None and all(
        isinstance(x, (cst.Integer, cst.Float, cst.SimpleString)) or
        (isinstance(x, cst.Name) and x.value in ("None", "True", "False")) for x in items)


def _dotted(n) -> str:
    if isinstance(n, cst.Name):
        return n.value
    if isinstance(n, cst.Attribute):
        return _dotted(n.value) + "." + n.attr.value
    if isinstance(n, cst.Call):
        return _dotted(n.func)
    return ""


def _declared_frame(name, frame):
    """Where a name declared ``global`` or ``nonlocal`` in ``frame`` lives."""
    if frame.decl[name] == "global":
        return frame.scope.globals
    f = frame.parent
    while f is not None and (f.func is not None or f.locals is not f.scope.globals):
        if name in f.locals:
            return f.locals
        f = f.parent
    raise Stop(f"no binding for nonlocal {name!r}")


def assigned_names(stmt):
    out = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for s in stmt.body:
            if isinstance(s, cst.Assign):
                for t in s.targets:
                    if isinstance(t.target, cst.Name):
                        out.append(t.target.value)
            elif isinstance(s, (cst.AnnAssign, cst.AugAssign)) and isinstance(s.target, cst.Name):
                out.append(s.target.value)
    elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        out.append(stmt.name.value)
    return out


def _assigned_targets(stmt):
    """What a statement that was not followed may have assigned: its targets, and for a
    compound statement (a loop, an if, a with, a try) every name bound anywhere in its
    body, so a value the skipped code would have replaced (``x = layer(x)`` in a loop over
    something unknown) is unknown afterwards, never silently the value from before."""
    out = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for s in stmt.body:
            if isinstance(s, cst.Assign):
                for t in s.targets:  # B, C, H, W = x.shape: each name unknown, not left undefined
                    out.extend(_flat_targets(t.target))
            elif isinstance(s, (cst.AnnAssign, cst.AugAssign)):
                out.append(s.target)
    elif isinstance(stmt, (cst.For, cst.While, cst.If, cst.With, cst.Try)):
        names: dict = {}
        stmt.visit(_NameBindings(names))
        out.extend(cst.Name(n) for n in names)
    return out


def _flat_targets(t):
    if isinstance(t, (cst.Tuple, cst.List)):
        return [x for e in t.elements for x in _flat_targets(e.value)]
    if isinstance(t, cst.StarredElement):
        return _flat_targets(t.value)
    return [t]


class _NameBindings(cst.CSTVisitor):
    """Names bound by assignments, loop targets and ``with ... as`` in a block (not inside
    nested functions or classes, which have their own scope)."""

    def __init__(self, names: dict):
        self.names = names

    def _add(self, t):
        if isinstance(t, cst.Name):
            self.names[t.value] = True
        elif isinstance(t, (cst.Tuple, cst.List)):
            for e in t.elements:
                self._add(e.value)
        elif isinstance(t, cst.StarredElement):
            self._add(t.value)

    def visit_FunctionDef(self, node):
        return False

    def visit_ClassDef(self, node):
        return False

    def visit_Lambda(self, node):
        return False

    def visit_Assign(self, node):
        for t in node.targets:
            self._add(t.target)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self._add(node.target)

    def visit_AugAssign(self, node):
        self._add(node.target)

    def visit_For(self, node):
        self._add(node.target)

    def visit_WithItem(self, node):
        if node.asname is not None:
            self._add(node.asname.name)




_MISSING = object()
