"""A small abstract interpreter over syntax trees (.syntax): it evaluates a model file's module
level, ``__init__`` and ``forward`` without importing or executing anything. Integers are
Python ints or sympy expressions, tensors are :class:`~.values.Tensor` (a graph name and a
symbolic shape), layers are :class:`~.values.Module`. What it cannot follow becomes
:class:`~.values.Unknown` with the line, and in ``forward`` an unaccounted node; it never
raises on odd code.

:class:`Interp` is assembled from three mixins: :mod:`.statements`, :mod:`.expressions`
and :mod:`.semantics` (Python's object model). What is torch's (layers, functions, tensor
methods) it finds through the tables of :mod:`.registry`, which the topic modules fill."""
from __future__ import annotations

import os

from . import syntax as cst

from ...graph import SourceLoc
from ...symbolic import dim_symbol
from . import imports, modcache
from .expressions import Expressions
from .imports import MAX_FILES
from .scope import FileScope, Frame
from .semantics import Semantics
from .statements import Statements, assigned_names
from .values import Break, Continue, Fatal, Return, Stop, Unknown


class Interp(Statements, Expressions, Semantics):
    """The interpreter for one analysis: the files it read, the symbols it made, the
    builder forward writes into."""

    def __init__(self, root_path: str, builder, symbolic=()):
        self.root = os.path.dirname(os.path.abspath(root_path))
        self.files: dict = {}
        self.reads: set = set()  # every file it tried to read (files, and those that failed to parse)
        self.builder = builder
        self.symbolic = set(symbolic)
        self.symbol_defaults: dict = {}
        self.phase = "init"
        self.depth = 0
        self.owner_stack: list = []  # modules whose forward is running (names functional nodes)
        self.site_stack: list = []  # (scope, node) of the statement being run
        self.warned: set = set()
        self.call_locs: list = []  # SourceLoc of each user function/class call running now (loc_chain)
        self.active: dict = {}  # function node -> its calls running now (recursion bound)
        # building the model (its construction or forward, not a module's top level): what is
        # not followed then may drop modules or parameters, so the report is incomplete
        self.building = False
        self.free_symbols: dict = {}  # name -> why (script globals used as free symbols)
        self.not_followed: list = []
        self.forward_from = 0  # len(not_followed) when forward started
        self.n_unfollowed = 0  # calls of unfollowed(), repeats included

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

    def unfollowed(self, msg: str):
        """A warning about something not followed; while the model is being built or run
        it also makes the analysis partial (the totals are lower bounds)."""
        self.n_unfollowed += 1  # counted even when the text repeats (decorators compare before/after)
        scope, line = self.where()
        text = f"{os.path.basename(scope.path)}:{line}: {msg}" if scope else msg
        if self.building and text not in self.not_followed:
            self.not_followed.append(text)
        self.diag(msg)

    def find_free_globals(self, fs: FileScope):
        """The analysed file's module-level names that its top-level code assigns but that
        stay undetermined (set only in branches on a required argument, read from a data
        set): each becomes a free symbol named after it when the model uses it."""
        for name, line in module_assignments(fs.tree.body, fs):
            v = fs.globals.get(name, _ABSENT)
            if name in fs.broken:
                continue
            if v is _ABSENT:
                fs.free.setdefault(name, f"set at line {line} only on a path the static reading does not take")
            elif isinstance(v, Unknown):
                fs.free.setdefault(name, f"line {line}: {v.why}")

    def free_symbol(self, fs: FileScope, name: str):
        s = dim_symbol(name)
        if name not in self.free_symbols:
            self.free_symbols[name] = fs.free[name]
            self.diag(f"{name} is not determined statically ({fs.free[name]}): it is a free symbol "
                      f"(give it a value with --bind {name}=...)")
        return s

    def site_loc(self) -> SourceLoc | None:
        if not self.site_stack:
            return None
        scope, node = self.site_stack[-1]
        return scope.loc(node)

    # files ------------------------------------------------------------------
    def load_file(self, path: str, dotted: str = "") -> FileScope:
        path = os.path.abspath(path)
        fs = self.files.get(path)
        if fs is None and not self.files:
            fs = modcache.first_load(self, path, dotted)  # the same module level, run once per process
            if fs is None:
                # the root's load: the directories its imports look in are recorded, for a
                # template made from this interpreter (frontends/torch/modcache.py)
                with imports.recording_lookups(set()) as looked:
                    fs = self._read(path, dotted)
                self.looked = looked
        if fs is None:
            fs = self._read(path, dotted)
        return fs

    def _read(self, path, dotted):
        if len(self.files) >= MAX_FILES:
            raise Stop(f"{os.path.basename(path)} not read: the analysis already read {MAX_FILES} source files")
        self.reads.add(path)
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
            except (Stop, Fatal, Return, Break, Continue, RecursionError, ArithmeticError, TypeError, ValueError,
                    AttributeError, KeyError, IndexError) as e:
                # module-level code is a script's: what fails there leaves its names unknown
                self.site_stack.append((fs, stmt))
                if isinstance(e, (Stop, Fatal)):
                    self.diag(f"module level: {e}")
                self.site_stack.pop()
                for name in assigned_names(stmt):
                    if isinstance(e, (Fatal, RecursionError)):
                        fs.broken.add(name)  # code that fails in Python too: never a free symbol
                    fs.globals.setdefault(name, Unknown(f"{name} (module level, line {fs.line(stmt)})", fs.line(stmt)))

    @staticmethod
    def _is_container_mutation(expr):
        return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
                and expr.func.attr.value in ("append", "extend", "update", "insert", "add_argument", "set_defaults"))


_ABSENT = object()


def module_assignments(body, fs, out=None):
    """(name, line) for each name a module's top-level code assigns, in if/for/while/with/try
    bodies too (not inside functions or classes)."""
    out = [] if out is None else out
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for n in assigned_names(stmt):
                out.append((n, fs.line(stmt)))
        elif isinstance(stmt, (cst.If, cst.For, cst.While, cst.With, cst.Try)):
            blocks = [stmt.body]
            orelse = getattr(stmt, "orelse", None)
            while orelse is not None:
                blocks.append(orelse.body)
                orelse = getattr(orelse, "orelse", None) if isinstance(orelse, cst.If) else None
            if isinstance(stmt, cst.Try):
                blocks += [h.body for h in stmt.handlers]
                if stmt.finalbody is not None:
                    blocks.append(stmt.finalbody.body)
            for b in blocks:
                module_assignments(b.body if hasattr(b, "body") else b, fs, out)
    return out
