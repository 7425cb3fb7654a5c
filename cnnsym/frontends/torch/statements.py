"""The interpreter's statements: ``if``, ``for``/``while`` loops, ``with``, ``try``,
assignments (tuple unpacking, ``x[i] = ...``, ``self.conv = ...``), imports (sibling files
of the project are read; torch and other packages are known by name), ``def`` and
``class``. A mixin of :class:`~.interpreter.Interp`."""
from __future__ import annotations

import os

import libcst as cst

from .registry import OPS
from .scope import Frame, FileScope
from .values import (MAX_LOOP, Break, Continue, Module, Namespace, Return, Stop, Tensor, Unknown, UserClass,
                     UserFunction)


class Statements:
    # imports ----------------------------------------------------------------
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
            self.diag(f"not followed ({why}); the rest is analysed")
            line = frame.scope.line(stmt)
            for target in _assigned_targets(stmt):
                try:
                    self.assign(target, Unknown(why, line), frame)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body):
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
            else:
                v = self.binop(op, cur, rhs, s)
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
                OPS.container_setitem(self, obj, key, v)
            elif isinstance(obj, Tensor):
                return  # x[..] = y: in-place write, shape unchanged
            else:
                raise Stop("item assignment is not followed")
        elif t is cst.StarredElement:
            self.assign(target.value, v, frame)
        else:
            raise Stop(f"cannot assign to {t.__name__}")



def _dotted(n) -> str:
    if isinstance(n, cst.Name):
        return n.value
    if isinstance(n, cst.Attribute):
        return _dotted(n.value) + "." + n.attr.value
    if isinstance(n, cst.Call):
        return _dotted(n.func)
    return ""


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
    out = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for s in stmt.body:
            if isinstance(s, cst.Assign):
                out.extend(t.target for t in s.targets)
            elif isinstance(s, (cst.AnnAssign, cst.AugAssign)):
                out.append(s.target)
    return out



_KNOWN_PACKAGES = {"torch", "torchvision", "numpy", "np", "math", "functools", "collections", "typing", "argparse",
                   "os", "sys", "re", "copy", "itertools", "warnings", "logging", "timm", "einops", "dataclasses",
                   "abc", "enum", "__future__", "types", "operator", "random", "json", "time", "pathlib", "yaml",
                   "scipy", "PIL", "tqdm", "torchaudio", "lightning", "pytorch_lightning", "transformers",
                   "torchsummary", "thop", "fvcore", "onnx", "onnxruntime"}


def _is_known_package(name):
    return name.split(".")[0] in _KNOWN_PACKAGES

