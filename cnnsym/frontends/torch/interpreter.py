"""A small abstract interpreter over libcst trees: it evaluates a model file's module
level, ``__init__`` and ``forward`` without importing or executing anything. Integers are
Python ints or sympy expressions, tensors are :class:`Tensor` (a graph name and a symbolic
shape), layers are :class:`Module`. What it cannot follow becomes :class:`Unknown` with the
line, and in ``forward`` an unaccounted node; it never raises on odd code."""
from __future__ import annotations

import math
import os
from collections import OrderedDict

import libcst as cst
import sympy as sp
from libcst.metadata import MetadataWrapper, PositionProvider

from ...errors import InputError
from ...graph import SourceLoc
from ...symbolic import as_expr, cdiv, dim_symbol, fdiv, imod
from .values import (ArgParser, BoundMethod, Builtin, Module, Namespace, NS, NTuple, Obj, Param, Partial,
                     Super, Tensor, TensorCtor, ntuple_make, TorchClass, Unknown, UserClass, UserFunction)

MAX_LOOP = 10_000
MAX_DEPTH = 200
SCOPE_NAME = "__cnnsym_static__"


class Stop(Exception):
    """Something the interpreter cannot follow (the message names it)."""


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


# ---------------------------------------------------------------------------
# files


class FileScope:
    """One parsed source file: its tree, positions and module-level names."""

    def __init__(self, interp, path: str, dotted: str):
        self.interp = interp
        self.path = path
        self.dotted = dotted
        self.globals: dict = {"__name__": SCOPE_NAME, "__file__": path}
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InputError(path, f"cannot read: {e.strerror.lower() if e.strerror else e}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text; expected a Python source file")
        try:
            tree = cst.parse_module(text)
        except cst.ParserSyntaxError as e:
            raise InputError(path, f"line {e.raw_line}: Python syntax error: {str(e.message).splitlines()[0]}")
        except Exception as e:  # noqa: BLE001 - the parser's own error types
            raise InputError(path, f"cannot parse: {type(e).__name__}")
        wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
        self.tree = wrapper.module
        self.positions = wrapper.resolve(PositionProvider)
        self.executed = False

    def loc(self, node) -> SourceLoc:
        pos = self.positions.get(node)
        if pos is None:
            return SourceLoc(self.path, 0, 0)
        return SourceLoc(self.path, pos.start.line, pos.start.column + 1)

    def line(self, node) -> int:
        pos = self.positions.get(node)
        return pos.start.line if pos is not None else 0


class Frame:
    __slots__ = ("locals", "parent", "scope", "func", "self_obj")

    def __init__(self, scope, parent=None, func=None, self_obj=None):
        self.locals: dict = {}
        self.parent = parent
        self.scope = scope
        self.func = func
        self.self_obj = self_obj


# ---------------------------------------------------------------------------


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


class Interp:
    """The interpreter for one analysis: the files it read, the symbols it made, the
    builder forward writes into."""

    def __init__(self, root_path: str, builder, symbolic=()):
        self.root = os.path.dirname(os.path.abspath(root_path))
        self.files: dict = {}
        self.builder = builder
        self.symbolic = set(symbolic)
        self.symbol_defaults: dict = {}
        self.phase = "init"
        self.depth = 0
        self.owner_stack: list = []  # modules whose forward is running (names functional nodes)
        self.site_stack: list = []  # (scope, node) of the statement being run
        self.warned: set = set()
        from . import layers  # noqa: F401 - registers torch models

        self.layers = layers

    # diagnostics ------------------------------------------------------------
    def where(self):
        if not self.site_stack:
            return None, 0
        scope, node = self.site_stack[-1]
        return scope, scope.line(node)

    def diag(self, msg: str):
        scope, line = self.where()
        text = f"{os.path.basename(scope.path)}:{line}: {msg}" if scope else msg
        if text not in self.warned:
            self.warned.add(text)
            self.builder.warn(text)

    def site_loc(self) -> SourceLoc | None:
        if not self.site_stack:
            return None
        scope, node = self.site_stack[-1]
        return scope.loc(node)

    # files ------------------------------------------------------------------
    def load_file(self, path: str, dotted: str = "") -> FileScope:
        path = os.path.abspath(path)
        fs = self.files.get(path)
        if fs is None:
            fs = FileScope(self, path, dotted)
            self.files[path] = fs
            self.exec_module(fs)
        return fs

    def exec_module(self, fs: FileScope):
        fs.executed = True
        frame = Frame(fs)
        frame.locals = fs.globals
        for stmt in fs.tree.body:
            if isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Expr) for s in stmt.body):
                # bare calls at module level (main(), train(...)) are not part of a model
                if not all(self._is_container_mutation(s.value) for s in stmt.body):
                    continue
            try:
                self.exec_stmt(stmt, frame)
            except (Stop, _Return, _Break, _Continue, RecursionError, ArithmeticError, TypeError, ValueError,
                    AttributeError, KeyError, IndexError) as e:
                self.site_stack.append((fs, stmt))
                if isinstance(e, Stop):
                    self.diag(f"module level: {e}")
                self.site_stack.pop()
                for name in _assigned_names(stmt):
                    fs.globals.setdefault(name, Unknown(f"{name} (module level, line {fs.line(stmt)})", fs.line(stmt)))

    @staticmethod
    def _is_container_mutation(expr):
        return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
                and expr.func.attr.value in ("append", "extend", "update", "insert", "add_argument", "set_defaults"))

    def resolve_import(self, fs: FileScope, module: str, level: int):
        """A sibling file of the project, or None (torch, third-party)."""
        base = os.path.dirname(fs.path)
        for _ in range(max(level - 1, 0)):
            base = os.path.dirname(base)
        parts = module.split(".") if module else []
        candidates = []
        if level:
            candidates.append(os.path.join(base, *parts))
        else:
            for root in (os.path.dirname(fs.path), self.root, os.path.dirname(self.root)):
                candidates.append(os.path.join(root, *parts))
                # "from models.blocks import X" inside models/: drop the package prefix
                if len(parts) > 1:
                    candidates.append(os.path.join(root, *parts[1:]))
        for c in candidates:
            if not parts and level:
                init = os.path.join(c, "__init__.py")
                if os.path.isfile(init):
                    return init
                return c if os.path.isdir(c) else None
            if os.path.isfile(c + ".py"):
                return c + ".py"
            if os.path.isfile(os.path.join(c, "__init__.py")):
                return os.path.join(c, "__init__.py")
        return None

    # statements -------------------------------------------------------------
    def exec_body(self, body, frame):
        stmts = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
        for s in stmts:
            self.exec_stmt(s, frame)

    def exec_stmt(self, stmt, frame):
        self.site_stack.append((frame.scope, stmt))
        try:
            self._exec_stmt(stmt, frame)
        except (_Return, _Break, _Continue):
            raise
        except RecursionError:
            raise Stop("recursion too deep")
        except (Stop, TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as e:
            if not isinstance(e, Stop) and os.environ.get("CNNSYM_DEBUG") == "1":
                raise
            if frame.func is None and frame.locals is frame.scope.globals:
                raise
            why = str(e) if isinstance(e, Stop) else f"{type(e).__name__}: {e}"
            self.diag(f"not followed ({why}); the rest is analysed")
            line = frame.scope.line(stmt)
            for target in _assigned_targets(stmt):
                try:
                    self.assign(target, Unknown(why, line), frame)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body):
                raise _Return(Unknown(why, line))
        finally:
            self.site_stack.pop()

    def _exec_stmt(self, stmt, frame):
        t = type(stmt)
        if t is cst.SimpleStatementLine:
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
            it = self.iterate(self.eval(stmt.iter, frame), stmt.iter)
            broke = False
            for k, v in enumerate(it):
                if k >= MAX_LOOP:
                    raise Stop(f"loop runs more than {MAX_LOOP} times")
                self.assign(stmt.target, v, frame)
                try:
                    self.exec_body(stmt.body, frame)
                except _Break:
                    broke = True
                    break
                except _Continue:
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
                except _Break:
                    break
                except _Continue:
                    continue
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
            raise _Return(None if s.value is None else self.eval(s.value, frame))
        elif t is cst.AugAssign:
            cur = self.eval(s.target, frame)
            rhs = self.eval(s.value, frame)
            op = type(s.operator).__name__.replace("Assign", "")
            if isinstance(cur, list) and op == "Add":
                cur.extend(self.iterate(rhs, s.value))
                v = cur
            else:
                v = self.binop(op, cur, rhs, s)
            self.assign(s.target, v, frame)
        elif t is cst.AnnAssign:
            if s.value is not None:
                self.assign(s.target, self.eval(s.value, frame), frame)
        elif t is cst.Pass:
            return
        elif t is cst.Break:
            raise _Break()
        elif t is cst.Continue:
            raise _Continue()
        elif t is cst.Import:
            for alias in s.names:
                full = _dotted(alias.name)
                if alias.asname is not None:
                    self.assign(alias.asname.name, self.import_module(frame.scope, full, 0), frame)
                else:
                    top = full.split(".")[0]
                    frame.locals[top] = self.import_module(frame.scope, top, 0)
        elif t is cst.ImportFrom:
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
        elif t in (cst.Assert, cst.Global, cst.Nonlocal):
            return
        elif t is cst.Del:
            return
        else:
            raise Stop(f"{t.__name__} is not followed")

    def import_module(self, fs, name, level):
        path = self.resolve_import(fs, name, level) if (level or not _is_known_package(name)) else None
        if path is not None:
            if os.path.isdir(path):
                return Namespace("<package>" + path)
            return self.load_file(path, name)
        return Namespace(name or "<relative>")

    def import_name(self, src, name, fs, mod, level):
        if isinstance(src, FileScope):
            if name in src.globals:
                return src.globals[name]
            sub = self.resolve_import(fs, f"{mod}.{name}" if mod else name, level)
            if sub is not None and not os.path.isdir(sub):
                return self.load_file(sub)
            return Unknown(f"{name} (not found in {os.path.basename(src.path)})")
        if isinstance(src, Namespace) and src.path.startswith("<package>"):
            base = src.path[len("<package>"):]
            p = os.path.join(base, name + ".py")
            if os.path.isfile(p):
                return self.load_file(p)
            return Unknown(name)
        if isinstance(src, Namespace):
            return self.getattr(src, name, None)
        return Unknown(name)

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
        frame.locals[node.name.value] = f
        return f

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
        frame.locals[c.name] = c
        return c

    def assign(self, target, v, frame):
        t = type(target)
        if t is cst.Name:
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
                self.layers.container_setitem(self, obj, key, v)
            elif isinstance(obj, Tensor):
                return  # x[..] = y: in-place write, shape unchanged
            else:
                raise Stop("item assignment is not followed")
        elif t is cst.StarredElement:
            self.assign(target.value, v, frame)
        else:
            raise Stop(f"cannot assign to {t.__name__}")

    # expressions ------------------------------------------------------------
    def eval(self, e, frame):
        t = type(e)
        m = _EVAL.get(t)
        if m is None:
            raise Stop(f"{t.__name__} expressions are not followed")
        return m(self, e, frame)

    def _name(self, e, frame):
        n = e.value
        f = frame
        while f is not None:
            if n in f.locals:
                return f.locals[n]
            f = f.parent
        g = frame.scope.globals
        if n in g:
            return g[n]
        b = BUILTINS.get(n)
        if b is not None:
            return b
        for star in ("__star_torch.nn", "__star_torch"):
            if star in g:
                v = self.getattr(g[star], n, e)
                if not isinstance(v, Namespace):
                    return v
        if n in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[n]
        if n in _EXC_NAMES:
            return Builtin(n, lambda *a, **k: Unknown(n))
        raise Stop(f"name {n!r} is not defined")

    def _attr(self, e, frame):
        return self.getattr(self.eval(e.value, frame), e.attr.value, e)

    def _int(self, e, frame):
        return e.evaluated_value

    def _string(self, e, frame):
        return e.evaluated_value

    def _concat(self, e, frame):
        a, b = self.eval(e.left, frame), self.eval(e.right, frame)
        return str(a) + str(b)

    def _fstring(self, e, frame):
        out = []
        for p in e.parts:
            if isinstance(p, cst.FormattedStringText):
                out.append(p.value)
            else:
                v = norm(self.eval(p.expression, frame))
                spec = ""
                if p.format_spec:
                    spec = "".join(x.value for x in p.format_spec if isinstance(x, cst.FormattedStringText))
                try:
                    out.append(format(v, spec))
                except (TypeError, ValueError):
                    out.append(str(v))
        return "".join(out)

    def _list(self, e, frame):
        out = []
        for el in e.elements:
            if isinstance(el, cst.StarredElement):
                out.extend(self.iterate(self.eval(el.value, frame), el))
            else:
                out.append(self.eval(el.value, frame))
        return out

    def _tuple(self, e, frame):
        return tuple(self._list(e, frame))

    def _set(self, e, frame):
        return self._list(e, frame)

    def _dict(self, e, frame):
        out = {}
        for el in e.elements:
            if isinstance(el, cst.StarredDictElement):
                out.update(self.eval(el.value, frame))
            else:
                out[_key(self.eval(el.key, frame))] = self.eval(el.value, frame)
        return out

    def _comp(self, e, frame, kind):
        inner = Frame(frame.scope, frame, frame.func, frame.self_obj)
        out = [] if kind != "dict" else {}

        def run(cf):
            for v in self.iterate(self.eval(cf.iter, inner), cf.iter):
                self.assign(cf.target, v, inner)
                if all(self.truth(self.eval(c.test, inner), c.test) for c in cf.ifs):
                    if cf.inner_for_in is not None:
                        run(cf.inner_for_in)
                    elif kind == "dict":
                        out[_key(self.eval(e.key, inner))] = self.eval(e.value, inner)
                    else:
                        out.append(self.eval(e.elt, inner))

        run(e.for_in)
        return tuple(out) if kind == "tuple" else out

    def _listcomp(self, e, frame):
        return self._comp(e, frame, "list")

    def _dictcomp(self, e, frame):
        return self._comp(e, frame, "dict")

    def _binop(self, e, frame):
        return self.binop(type(e.operator).__name__, self.eval(e.left, frame), self.eval(e.right, frame), e)

    def _unary(self, e, frame):
        v = self.eval(e.expression, frame)
        op = type(e.operator).__name__
        if op == "Not":
            return not self.truth(v, e)
        if isinstance(v, Tensor):
            if op == "Minus":
                return self.layers.tensor_unary(self, "Neg", v)
            return v
        if isinstance(v, Unknown):
            return v
        if op == "Minus":
            return norm(-num(v)) if isinstance(v, sp.Basic) else -v
        if op == "Plus":
            return v
        if op == "BitInvert":
            return ~v
        raise Stop(f"unary {op}")

    def _boolop(self, e, frame):
        left = self.eval(e.left, frame)
        if isinstance(e.operator, cst.And):
            return self.eval(e.right, frame) if self.truth(left, e.left) else left
        return left if self.truth(left, e.left) else self.eval(e.right, frame)

    def _compare(self, e, frame):
        left = self.eval(e.left, frame)
        for ct in e.comparisons:
            right = self.eval(ct.comparator, frame)
            r = self.compare(type(ct.operator).__name__, left, right, e)
            if not self.truth(r, e):
                return False
            left = right
        return True

    def _ifexp(self, e, frame):
        return self.eval(e.body, frame) if self.truth(self.eval(e.test, frame), e.test) else self.eval(e.orelse, frame)

    def _subscript(self, e, frame):
        obj = self.eval(e.value, frame)
        if isinstance(obj, Param) and self.phase == "forward":
            obj = self.builder.materialize(obj)
        if isinstance(obj, Tensor):
            return self.layers.tensor_index(self, obj, e.slice, frame)
        key = self.eval_slice(e.slice, frame)
        if isinstance(obj, Param):  # weight.data[0][0] in __init__ (initialisation code): a view
            return self._param_view(obj, key if isinstance(key, tuple) else (key,))
        return self.getitem(obj, key, e)

    def _param_view(self, p, keys):
        shape = list(p.shape)
        out, i = [], 0
        for k in keys:
            if k is None:
                out.append(1)
                continue
            if i >= len(shape):
                raise Stop("too many indices for a parameter")
            if isinstance(k, slice):
                if k == slice(None):
                    out.append(shape[i])
                else:
                    n = self.concrete_int(shape[i], "parameter size")
                    out.append(len(range(*slice(*(None if v is None else self.concrete_int(v, "index")
                                                 for v in (k.start, k.stop, k.step))).indices(n))))
            else:
                self.concrete_int(k, "index")
            i += 1
        return Param(p.owner, p.pname, out + shape[i:], p.dtype, p.role)

    def eval_slice(self, elems, frame):
        keys = []
        for el in elems:
            s = el.slice
            if isinstance(s, cst.Index):
                keys.append(self.eval(s.value, frame))
            else:
                lo = None if s.lower is None else self.eval(s.lower, frame)
                hi = None if s.upper is None else self.eval(s.upper, frame)
                st = None if s.step is None else self.eval(s.step, frame)
                keys.append(slice(_idx(lo), _idx(hi), _idx(st)))
        return keys[0] if len(keys) == 1 else tuple(keys)

    def _lambda(self, e, frame):
        return UserFunction(e, frame.scope, frame)

    def _call(self, e, frame):
        func = self.eval(e.func, frame)
        args, kwargs = [], {}
        for a in e.args:
            v = self.eval(a.value, frame)
            if a.star == "*":
                args.extend(self.iterate(v, a.value))
            elif a.star == "**":
                if not isinstance(v, dict):
                    raise Stop("**kwargs of an unknown mapping")
                kwargs.update(v)
            elif a.keyword is not None:
                kwargs[a.keyword.value] = v
            else:
                args.append(v)
        return self.call(func, args, kwargs, e)

    def _ellipsis(self, e, frame):
        return Ellipsis

    def _namedexpr(self, e, frame):
        v = self.eval(e.value, frame)
        self.assign(e.target, v, frame)
        return v

    def _float(self, e, frame):
        return e.evaluated_value

    # semantics ---------------------------------------------------------------
    def truth(self, v, node=None):
        if isinstance(v, (bool, int, float, str, list, tuple, dict)) or v is None:
            return bool(v)
        if isinstance(v, sp.Basic):
            if v is sp.true:
                return True
            if v is sp.false:
                return False
            if v.is_number:
                return bool(v != 0)
            r = v if isinstance(v, sp.logic.boolalg.Boolean) else sp.Ne(v, 0)
            d = self.at_defaults(r)
            if d is not None:
                self.diag(f"condition {v} depends on a symbol; followed at its default value ({bool(d)})")
                return bool(d)
            self.diag(f"condition {v} depends on the input size; assumed true")
            return True
        if isinstance(v, Tensor):
            self.diag("control flow depends on tensor values (data-dependent); assumed true")
            return True
        if isinstance(v, Unknown):
            self.diag(f"condition on an unknown value ({v.why}); assumed false")
            return False
        return True

    def at_defaults(self, e):
        """``e`` with hyperparameter symbols at their defaults and input symbols at 224 (a
        heuristic for shape-dependent branches); None if still symbolic."""
        sub = {}
        for s in e.free_symbols:
            if s.name in self.symbol_defaults:
                sub[s] = self.symbol_defaults[s.name]
        if not sub:
            return None
        v = e.xreplace(sub)
        if v in (sp.true, sp.false):
            return v is sp.true
        if getattr(v, "is_number", False):
            return v
        return None

    def concrete_int(self, v, what="value"):
        v = norm(v)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, sp.Basic):
            d = self.at_defaults(v)
            if d is not None and getattr(d, "is_number", False):
                self.diag(f"{what} {v} must be concrete here (structure); used its default {int(d)}")
                return int(d)
        raise Stop(f"{what} {v} is not a known integer")

    def binop(self, op, a, b, node):
        if isinstance(a, Tensor) or isinstance(b, Tensor) or isinstance(a, Param) or isinstance(b, Param):
            return self.layers.tensor_binop(self, op, a, b)
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        if isinstance(a, TensorCtor) or isinstance(b, TensorCtor):
            return self.layers.ctor_binop(self, op, a, b)
        if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
            x, y = num(a), num(b)
            if not isinstance(x, sp.Basic) or not isinstance(y, sp.Basic):
                raise Stop(f"{op} of a symbol and {type(a if not isinstance(a, sp.Basic) else b).__name__}")
            if op == "Add":
                r = x + y
            elif op == "Subtract":
                r = x - y
            elif op == "Multiply":
                r = x * y
            elif op == "Divide":
                r = x / y
            elif op == "FloorDivide":
                r = fdiv(x, y) if (x.is_integer and y.is_Integer and y > 0) else sp.floor(x / y)
            elif op == "Modulo":
                r = imod(x, y) if y.is_Integer and x.is_integer else sp.Mod(x, y)
            elif op == "Power":
                r = x ** y
            else:
                raise Stop(f"operator {op} on symbols")
            return norm(r)
        if op == "Power" and isinstance(b, int) and isinstance(a, int) and abs(b) > 4096:
            raise Stop("integer power too large")
        if op in ("Multiply", "LeftShift") and isinstance(a, (list, tuple, str, int)) and isinstance(b, (list, tuple, str, int)):
            n = b if isinstance(b, int) else a if isinstance(a, int) else 0
            seq = a if not isinstance(a, int) else b if not isinstance(b, int) else None
            if (seq is not None and n * len(seq) > MAX_LOOP * 100) or (op == "LeftShift" and n > 4096):
                raise Stop("value too large to follow")
        try:
            return _PYOPS[op](a, b)
        except KeyError:
            raise Stop(f"operator {op}")
        except ZeroDivisionError:
            raise Stop("division by zero")
        except TypeError:
            raise Stop(f"{op} of {type(a).__name__} and {type(b).__name__}")

    def compare(self, op, a, b, node):
        if op in ("Is", "IsNot"):
            same = (a is b) or (a is None and b is None) or (isinstance(a, (bool,)) and a == b)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                if a is None or b is None:
                    self.diag("`is None` on an unknown value: assumed not None")
                    same = False
            return same if op == "Is" else not same
        if op in ("In", "NotIn"):
            if isinstance(b, Unknown):
                return Unknown("in")
            if isinstance(b, Module):
                r = self.layers.container_contains(self, b, a)
            else:
                try:
                    r = _key(a) in b if isinstance(b, dict) else any(self._eq(a, x) for x in b)
                except TypeError:
                    raise Stop("`in` on a value that is not a container")
            return r if op == "In" else not r
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return self.layers.tensor_compare(self, op, a, b)
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return a if isinstance(a, Unknown) else b
        if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
            x, y = num(a), num(b)
            if not isinstance(x, sp.Basic) or not isinstance(y, sp.Basic):
                return op == "NotEqual"
            rel = {"Equal": sp.Eq, "NotEqual": sp.Ne, "LessThan": sp.Lt, "LessThanEqual": sp.Le,
                   "GreaterThan": sp.Gt, "GreaterThanEqual": sp.Ge}[op](x, y)
            return rel
        try:
            return {"Equal": lambda: a == b, "NotEqual": lambda: a != b, "LessThan": lambda: a < b,
                    "LessThanEqual": lambda: a <= b, "GreaterThan": lambda: a > b,
                    "GreaterThanEqual": lambda: a >= b}[op]()
        except TypeError:
            raise Stop(f"cannot compare {type(a).__name__} and {type(b).__name__}")

    def _eq(self, a, b):
        if isinstance(a, (sp.Basic,)) or isinstance(b, sp.Basic):
            return bool(sp.Eq(num(a), num(b)) is sp.true) if not isinstance(a, str) and not isinstance(b, str) else False
        if isinstance(a, (Module, TorchClass, UserClass, Tensor)) or isinstance(b, (Module, TorchClass, UserClass, Tensor)):
            return a is b or a == b
        try:
            return a == b
        except Exception:  # noqa: BLE001
            return False

    def iterate(self, v, node=None):
        if isinstance(v, (list, tuple)):
            return list(v)
        if isinstance(v, dict):
            return list(v.keys())
        if isinstance(v, str):
            return list(v)
        if isinstance(v, range):
            return list(v)
        if isinstance(v, Module):
            return self.layers.container_iter(self, v)
        if isinstance(v, Tensor):
            if v.shape and v.shape[0].is_Integer:
                return [self.layers.tensor_select(self, v, i) for i in range(int(v.shape[0]))]
            raise Stop("iterating over a tensor of unknown length")
        if isinstance(v, Unknown):
            raise Stop(f"iterating over an unknown value ({v.why})")
        if isinstance(v, _Gen):
            return v.items
        raise Stop(f"cannot iterate over {type(v).__name__}")

    def getitem(self, obj, key, node):
        if isinstance(obj, (list, tuple, str)):
            if isinstance(key, slice):
                return obj[key]
            return obj[self.concrete_int(key, "index")]
        if isinstance(obj, dict):
            k = _key(key)
            if k not in obj:
                raise Stop(f"key {k!r} not in dict")
            return obj[k]
        if isinstance(obj, Module):
            return self.layers.container_getitem(self, obj, key)
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, (TorchClass, Namespace)):
            return obj  # typing subscripts: Optional[int], List[...]
        raise Stop(f"cannot index {type(obj).__name__}")

    # attributes -------------------------------------------------------------
    def getattr(self, obj, name, node):
        if isinstance(obj, Module):
            return self.module_getattr(obj, name)
        if isinstance(obj, Tensor) or isinstance(obj, Param):
            return self.layers.tensor_attr(self, obj, name)
        if isinstance(obj, Namespace):
            return self.layers.resolve(self, obj.path + "." + name)
        if isinstance(obj, FileScope):
            if name in obj.globals:
                return obj.globals[name]
            sub = self.resolve_import(obj, name, 1)
            if sub is not None and not os.path.isdir(sub):
                return self.load_file(sub)
            raise Stop(f"{name!r} not found in {os.path.basename(obj.path)}")
        if isinstance(obj, UserClass):
            for c in obj.mro():
                if isinstance(c, UserClass) and name in c.ns:
                    v = c.ns[name]
                    if isinstance(v, UserFunction) and v.kind == "classmethod":
                        return BoundMethod(obj, v)
                    return v
            if name == "__name__":
                return obj.name
            raise Stop(f"class {obj.name} has no attribute {name!r}")
        if isinstance(obj, TensorCtor):
            return self.layers.ctor_attr(self, obj, name)
        if isinstance(obj, NTuple):
            if name in obj.fields:
                return obj.field(name)
            if name == "_fields":
                return tuple(obj.fields)
            if name == "_asdict":
                return Builtin(name, lambda it_, a, k, s: dict(zip(obj.fields, obj)))
            if name == "_replace":
                return Builtin(name, lambda it_, a, k, s: ntuple_make(
                    type(obj), [k.get(f, v) for f, v in zip(obj.fields, obj)]))
            raise Stop(f"namedtuple has no attribute {name!r}")
        if isinstance(obj, Obj):
            if name in obj.attrs:
                return obj.attrs[name]
            return self.class_attr(obj, obj.cls, name)
        if isinstance(obj, NS):
            if name in obj.attrs:
                return obj.attrs[name]
            raise Stop(f"namespace has no attribute {name!r}")
        if isinstance(obj, Super):
            return self.super_attr(obj, name)
        if isinstance(obj, TorchClass):
            if name == "__init__":
                return Builtin("__init__", lambda it, a, k, s: self.layers.init_layer(self, obj.name, a[0], a[1:], k, s))
            if name == "forward":
                return Builtin("forward", lambda it, a, k, s: self.layers.layer_forward(self, a[0], a[1:], k, s, kind=obj.name))
            if name == "__name__":
                return obj.name
            return Unknown(f"nn.{obj.name}.{name}")
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, ArgParser):
            return self.layers.argparse_attr(self, obj, name)
        if isinstance(obj, (UserFunction, Builtin)) and name == "__name__":
            return obj.name
        return self.layers.python_attr(self, obj, name)

    def class_attr(self, obj, cls, name):
        for c in cls.mro():
            if isinstance(c, UserClass) and name in c.ns:
                v = c.ns[name]
                if isinstance(v, UserFunction):
                    if v.kind == "staticmethod":
                        return v
                    if v.kind == "property":
                        return self.call_function(v, [obj], {}, None)
                    if v.kind == "classmethod":
                        return BoundMethod(cls, v)
                    return BoundMethod(obj, v)
                return v
        if name == "__class__":
            return cls
        raise Stop(f"{cls.name} object has no attribute {name!r}")

    def module_getattr(self, m: Module, name):
        if name in m.params:
            return m.params[name]
        if name in m.buffers:
            return m.buffers[name]
        if name in m.modules:
            return m.modules[name]
        if name in m.attrs:
            return m.attrs[name]
        if m.cls is not None:
            try:
                return self.class_attr(m, m.cls, name)
            except Stop:
                pass
        return self.layers.module_method(self, m, name)

    def super_attr(self, sup: Super, name):
        obj = sup.obj
        cls = obj.cls if isinstance(obj, (Module, Obj)) else obj
        mro = cls.mro() if isinstance(cls, UserClass) else []
        try:
            start = mro.index(sup.cls) + 1
        except ValueError:
            start = 0
        for c in mro[start:]:
            if isinstance(c, UserClass) and name in c.ns:
                v = c.ns[name]
                if isinstance(v, UserFunction) and v.kind == "function":
                    return BoundMethod(obj, v)
                return v
            if isinstance(c, TorchClass):
                if name == "__init__":
                    kind = c.name
                    return Builtin("__init__", lambda it, a, k, s: self.layers.init_layer(self, kind, obj, a, k, s))
                if name == "forward":
                    kind = c.name
                    return Builtin("forward", lambda it, a, k, s: self.layers.layer_forward(self, obj, a, k, s, kind=kind))
                return self.layers.module_method(self, obj, name) if isinstance(obj, Module) else Unknown(name)
        if name == "__init__":
            return Builtin("__init__", lambda it, a, k, s: None)
        raise Stop(f"super() has no attribute {name!r}")

    def setattr(self, obj, name, v, node):
        if isinstance(obj, Module):
            self.layers.module_setattr(self, obj, name, v)
        elif isinstance(obj, (Obj, NS)):
            obj.attrs[name] = v
        elif isinstance(obj, (Tensor, Param)):
            return  # x.data = ..., x.requires_grad = False
        elif isinstance(obj, Unknown):
            return
        else:
            raise Stop(f"cannot set attribute {name!r} on {type(obj).__name__}")

    # calls ------------------------------------------------------------------
    def call(self, f, args, kwargs, node):
        if isinstance(f, Builtin):
            return f.fn(self, args, kwargs, node)
        if isinstance(f, UserFunction):
            return self.call_function(f, args, kwargs, node)
        if isinstance(f, BoundMethod):
            if isinstance(f.func, UserFunction):
                return self.call_function(f.func, [f.obj, *args], kwargs, node)
            return self.call(f.func, [f.obj, *args], kwargs, node)
        if isinstance(f, UserClass):
            return self.instantiate(f, args, kwargs, node)
        if isinstance(f, TorchClass):
            return self.layers.construct(self, f.name, args, kwargs, node)
        if isinstance(f, Module):
            return self.layers.call_module(self, f, args, kwargs, node)
        if isinstance(f, Partial):
            return self.call(f.func, [*f.args, *args], {**f.kwargs, **kwargs}, node)
        if isinstance(f, Namespace):
            return self.layers.call_external(self, f.path, args, kwargs, node)
        if isinstance(f, Unknown):
            return self.layers.call_unknown(self, f.why, args, kwargs, node)
        if isinstance(f, ArgParser):
            raise Stop("calling a parser")
        raise Stop(f"calling a {type(f).__name__} value")

    def instantiate(self, cls: UserClass, args, kwargs, node):
        mro = cls.mro()
        torch_base = next((c for c in mro if isinstance(c, TorchClass)), None)
        scope = cls.scope
        loc = self.site_loc() or scope.loc(cls.node)
        if torch_base is not None:
            obj = Module(cls=cls, loc=loc)
        else:
            obj = Obj(cls)
        init = None
        for c in mro:
            if isinstance(c, UserClass) and "__init__" in c.ns:
                init = c.ns["__init__"]
                break
            if isinstance(c, TorchClass):
                break
        if init is not None:
            self.call_function(init, [obj, *args], kwargs, node)
        elif torch_base is not None and torch_base.name != "Module":
            self.layers.init_layer(self, torch_base.name, obj, args, kwargs, node)
        elif isinstance(obj, Obj):
            # dataclasses and NamedTuples: arguments fill the annotated fields in order
            fields = [s.target.value for c in reversed(mro) if isinstance(c, UserClass) and c.node is not None
                      for stmt in c.node.body.body if isinstance(stmt, cst.SimpleStatementLine)
                      for s in stmt.body if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name)]
            for n, v in zip(fields, args):
                obj.attrs[n] = v
            for n, v in kwargs.items():
                obj.attrs[n] = v
        return obj

    def call_function(self, f: UserFunction, args, kwargs, node):
        if self.depth > MAX_DEPTH:
            raise Stop("recursion too deep")
        frame = Frame(f.scope, f.closure, f)
        self.bind(f, frame, args, kwargs)
        if f.owner is not None and args:
            frame.self_obj = args[0]
        self.depth += 1
        try:
            if isinstance(f.node, cst.Lambda):
                return self.eval(f.node.body, frame)
            try:
                self.exec_body(f.node.body, frame)
            except _Return as r:
                return r.value
            return None
        finally:
            self.depth -= 1

    def bind(self, f, frame, args, kwargs):
        p = f.node.params
        positional = list(p.posonly_params) + list(p.params)
        loc = frame.locals
        args = list(args)
        kwargs = dict(kwargs)
        for i, prm in enumerate(positional):
            n = prm.name.value
            if i < len(args):
                loc[n] = args[i]
            elif n in kwargs:
                loc[n] = kwargs.pop(n)
            elif prm.default is not None:
                loc[n] = self.eval(prm.default, Frame(f.scope, f.closure))
            else:
                raise Stop(f"{f.name}() missing argument {n!r}")
        extra = args[len(positional):]
        if isinstance(p.star_arg, cst.Param):
            loc[p.star_arg.name.value] = tuple(extra)
        elif extra:
            raise Stop(f"{f.name}() takes {len(positional)} positional arguments, {len(args)} given")
        for prm in p.kwonly_params:
            n = prm.name.value
            if n in kwargs:
                loc[n] = kwargs.pop(n)
            elif prm.default is not None:
                loc[n] = self.eval(prm.default, Frame(f.scope, f.closure))
            else:
                raise Stop(f"{f.name}() missing keyword argument {n!r}")
        if p.star_kwarg is not None:
            loc[p.star_kwarg.name.value] = kwargs
        elif kwargs:
            raise Stop(f"{f.name}() got unexpected keyword arguments {', '.join(kwargs)}")
        if self.symbolic and self.phase == "init":
            for n in list(loc):
                if n in self.symbolic and isinstance(loc[n], int) and not isinstance(loc[n], bool):
                    self.symbol_defaults.setdefault(n, loc[n])
                    loc[n] = dim_symbol(n)


class _Gen:
    def __init__(self, items):
        self.items = items


def _genexp(self, e, frame):
    return _Gen(self._comp(e, frame, "list"))


_EVAL = {
    cst.Name: Interp._name,
    cst.Attribute: Interp._attr,
    cst.Integer: Interp._int,
    cst.Float: Interp._float,
    cst.SimpleString: Interp._string,
    cst.ConcatenatedString: Interp._concat,
    cst.FormattedString: Interp._fstring,
    cst.List: Interp._list,
    cst.Tuple: Interp._tuple,
    cst.Set: Interp._set,
    cst.Dict: Interp._dict,
    cst.ListComp: Interp._listcomp,
    cst.SetComp: Interp._listcomp,
    cst.GeneratorExp: _genexp,
    cst.DictComp: Interp._dictcomp,
    cst.BinaryOperation: Interp._binop,
    cst.UnaryOperation: Interp._unary,
    cst.BooleanOperation: Interp._boolop,
    cst.Comparison: Interp._compare,
    cst.IfExp: Interp._ifexp,
    cst.Subscript: Interp._subscript,
    cst.Lambda: Interp._lambda,
    cst.Call: Interp._call,
    cst.Ellipsis: Interp._ellipsis,
    cst.NamedExpr: Interp._namedexpr,
}

_PYOPS = {
    "Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b,
    "Divide": lambda a, b: a / b, "FloorDivide": lambda a, b: a // b, "Modulo": lambda a, b: a % b,
    "Power": lambda a, b: a ** b, "BitOr": lambda a, b: a | b, "BitAnd": lambda a, b: a & b,
    "BitXor": lambda a, b: a ^ b, "LeftShift": lambda a, b: a << b, "RightShift": lambda a, b: a >> b,
}

_EXC_NAMES = {"ValueError", "TypeError", "NotImplementedError", "RuntimeError", "KeyError", "AssertionError",
              "Exception", "IndexError", "AttributeError", "ImportError", "Warning", "UserWarning"}

_KNOWN_PACKAGES = {"torch", "torchvision", "numpy", "np", "math", "functools", "collections", "typing", "argparse",
                   "os", "sys", "re", "copy", "itertools", "warnings", "logging", "timm", "einops", "dataclasses",
                   "abc", "enum", "__future__", "types", "operator", "random", "json", "time", "pathlib", "yaml",
                   "scipy", "PIL", "tqdm", "torchaudio", "lightning", "pytorch_lightning", "transformers",
                   "torchsummary", "thop", "fvcore", "onnx", "onnxruntime"}


def _is_known_package(name):
    return name.split(".")[0] in _KNOWN_PACKAGES


def _dotted(n) -> str:
    if isinstance(n, cst.Name):
        return n.value
    if isinstance(n, cst.Attribute):
        return _dotted(n.value) + "." + n.attr.value
    if isinstance(n, cst.Call):
        return _dotted(n.func)
    return ""


def _assigned_names(stmt):
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
    out = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for s in stmt.body:
            if isinstance(s, cst.Assign):
                out.extend(t.target for t in s.targets)
            elif isinstance(s, (cst.AnnAssign, cst.AugAssign)):
                out.append(s.target)
    return out


def _key(k):
    k = norm(k)
    if isinstance(k, list):
        return tuple(k)
    return k


def _idx(v):
    v = norm(v)
    return v


# ---------------------------------------------------------------------------
# Python builtins


def _b(name):
    def deco(fn):
        BUILTINS[name] = Builtin(name, fn)
        return fn

    return deco


BUILTINS: dict = {}


@_b("range")
def _range(it, a, k, s):
    vals = [it.concrete_int(x, "range bound") for x in a]
    r = range(*vals)
    if len(r) > MAX_LOOP * 100:
        raise Stop(f"range of {len(r)} elements is too long to follow")
    return list(r)


@_b("len")
def _len(it, a, k, s):
    v = a[0]
    if isinstance(v, Module):
        return len(it.layers.container_iter(it, v))
    if isinstance(v, Tensor):
        if v.shape is None or not v.shape:
            raise Stop("len() of a tensor of unknown rank")
        return norm(v.shape[0])
    if isinstance(v, _Gen):
        return len(v.items)
    if isinstance(v, Unknown):
        raise Stop(f"len() of an unknown value ({v.why})")
    return len(v)


def _num_conv(kind):
    def f(it, a, k, s):
        if not a:
            return kind()
        v = a[0]
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


BUILTINS["int"] = Builtin("int", _num_conv(int))
BUILTINS["float"] = Builtin("float", _num_conv(float))


@_b("bool")
def _bool(it, a, k, s):
    return it.truth(a[0]) if a else False


@_b("str")
def _str(it, a, k, s):
    return str(norm(a[0])) if a else ""


@_b("list")
def _listf(it, a, k, s):
    return list(it.iterate(a[0])) if a else []


@_b("tuple")
def _tuplef(it, a, k, s):
    return tuple(it.iterate(a[0])) if a else ()


@_b("set")
def _setf(it, a, k, s):
    out = []
    for x in (it.iterate(a[0]) if a else []):
        if not any(it._eq(x, y) for y in out):
            out.append(x)
    return out


@_b("dict")
def _dictf(it, a, k, s):
    out = {}
    if a:
        src = a[0]
        if isinstance(src, dict):
            out.update(src)
        else:
            for kv in it.iterate(src):
                kk, vv = it.iterate(kv)
                out[_key(kk)] = vv
    out.update(k)
    return out


def _minmax(f, sf):
    def fn(it, a, k, s):
        vals = list(it.iterate(a[0])) if len(a) == 1 else list(a)
        if "key" in k:
            raise Stop("min/max with key=")
        if any(isinstance(v, sp.Basic) for v in vals):
            return norm(sf(*[num(v) for v in vals]))
        return f(vals)

    return fn


BUILTINS["min"] = Builtin("min", _minmax(min, sp.Min))
BUILTINS["max"] = Builtin("max", _minmax(max, sp.Max))


@_b("sum")
def _sum(it, a, k, s):
    total = a[1] if len(a) > 1 else 0
    for v in it.iterate(a[0]):
        total = it.binop("Add", total, v, s)
    return total


@_b("abs")
def _abs(it, a, k, s):
    v = a[0]
    return norm(sp.Abs(v)) if isinstance(v, sp.Basic) else abs(v)


@_b("round")
def _round(it, a, k, s):
    v = a[0]
    if isinstance(v, sp.Basic):
        return norm(sp.floor(v + sp.Rational(1, 2)))
    return round(v, *a[1:])


@_b("enumerate")
def _enumerate(it, a, k, s):
    start = a[1] if len(a) > 1 else k.get("start", 0)
    return [(i + start, v) for i, v in enumerate(it.iterate(a[0]))]


@_b("zip")
def _zip(it, a, k, s):
    return [tuple(t) for t in zip(*[it.iterate(x) for x in a])]


@_b("reversed")
def _reversed(it, a, k, s):
    return list(reversed(it.iterate(a[0])))


@_b("sorted")
def _sorted(it, a, k, s):
    return sorted(it.iterate(a[0]), reverse=bool(k.get("reverse")))


@_b("any")
def _any(it, a, k, s):
    return any(it.truth(v) for v in it.iterate(a[0]))


@_b("all")
def _all(it, a, k, s):
    return all(it.truth(v) for v in it.iterate(a[0]))


@_b("map")
def _map(it, a, k, s):
    return [it.call(a[0], list(xs), {}, s) for xs in zip(*[it.iterate(x) for x in a[1:]])]


@_b("filter")
def _filter(it, a, k, s):
    return [x for x in it.iterate(a[1]) if it.truth(it.call(a[0], [x], {}, s) if a[0] is not None else x)]


@_b("divmod")
def _divmod(it, a, k, s):
    return (it.binop("FloorDivide", a[0], a[1], s), it.binop("Modulo", a[0], a[1], s))


@_b("pow")
def _pow(it, a, k, s):
    return it.binop("Power", a[0], a[1], s)


@_b("print")
def _print(it, a, k, s):
    return None


@_b("isinstance")
def _isinstance(it, a, k, s):
    return it.layers.isinstance_(it, a[0], a[1])


@_b("issubclass")
def _issubclass(it, a, k, s):
    c, target = a[0], a[1]
    targets = target if isinstance(target, (list, tuple)) else [target]
    mro = c.mro() if isinstance(c, UserClass) else [c]
    return any(t in mro for t in targets)


@_b("hasattr")
def _hasattr(it, a, k, s):
    try:
        v = it.getattr(a[0], a[1], s)
    except Stop:
        return False
    return not isinstance(v, Unknown)


@_b("getattr")
def _getattr(it, a, k, s):
    try:
        return it.getattr(a[0], a[1], s)
    except Stop:
        if len(a) > 2:
            return a[2]
        raise


@_b("setattr")
def _setattr(it, a, k, s):
    it.setattr(a[0], a[1], a[2], s)


@_b("super")
def _super(it, a, k, s):
    if a:
        return Super(a[0], a[1])
    scope, _ = it.where()
    # the innermost running method defines the class and self
    frame_func = it._current_func
    if frame_func is None or frame_func.owner is None:
        raise Stop("super() outside a method")
    return Super(frame_func.owner, it._current_self)


@_b("callable")
def _callable(it, a, k, s):
    return isinstance(a[0], (UserFunction, Builtin, BoundMethod, UserClass, TorchClass, Module, Partial))


@_b("type")
def _type(it, a, k, s):
    v = a[0]
    if isinstance(v, (Module, Obj)) and v.cls is not None:
        return v.cls
    if isinstance(v, Module):
        return TorchClass(v.kind or "Module")
    return Unknown("type()")


@_b("iter")
def _iter(it, a, k, s):
    return _Gen(list(it.iterate(a[0])))


@_b("next")
def _next(it, a, k, s):
    v = a[0]
    if isinstance(v, _Gen):
        if not v.items:
            raise Stop("next() of an exhausted iterator")
        return v.items.pop(0)
    return it.iterate(v)[0]


@_b("repr")
def _repr(it, a, k, s):
    return repr(norm(a[0]))


@_b("object")
def _object(it, a, k, s):
    return Obj(UserClass("object", None, None, []))


for _n in ("staticmethod", "classmethod", "property"):
    BUILTINS[_n] = Builtin(_n, lambda it, a, k, s: a[0])

def _refuse(name):
    def fn(it, a, k, s):
        raise Stop(f"{name}() is not followed: the file is read, never executed")

    return fn


for _n in ("eval", "exec", "compile", "__import__", "open", "globals", "locals", "vars", "input"):
    BUILTINS[_n] = Builtin(_n, _refuse(_n))

BUILTINS["NotImplemented"] = None
BUILTINS["Ellipsis"] = Ellipsis


# the current method (for zero-argument super()): set by call_function through a wrapper
def _wrap_call_function():
    orig = Interp.call_function

    def call_function(self, f, args, kwargs, node):
        prev = (self._current_func, self._current_self)
        self._current_func = f
        self._current_self = args[0] if args else None
        try:
            return orig(self, f, args, kwargs, node)
        finally:
            self._current_func, self._current_self = prev

    Interp.call_function = call_function
    Interp._current_func = None
    Interp._current_self = None


_wrap_call_function()


def math_fn(name):
    def fn(it, a, k, s):
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


__all__ = ["Interp", "Stop", "FileScope", "Frame", "norm", "num", "is_int", "BUILTINS", "cdiv", "OrderedDict"]
