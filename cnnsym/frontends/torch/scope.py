"""Where code runs: a parsed source file (:class:`FileScope`) and a function's local
names (:class:`Frame`)."""
from __future__ import annotations

from . import syntax as cst

from ...errors import InputError
from ...graph import SourceLoc
from .imports import parse

SCOPE_NAME = "__cnnsym_static__"


class FileScope:
    """One parsed source file: its tree (nodes carry their positions) and module-level names."""

    def __init__(self, interp, path: str, dotted: str):
        self.interp = interp
        self.path = path
        self.dotted = dotted
        self.globals: dict = {"__name__": SCOPE_NAME, "__file__": path}
        try:
            self.tree = parse(path)  # cached across analyses
        except OSError as e:
            raise InputError(path, f"cannot read: {e.strerror.lower() if e.strerror else e}")
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text; expected a Python source file")
        except cst.ParserSyntaxError as e:
            raise InputError(path, f"line {e.raw_line}: Python syntax error: {str(e.message).splitlines()[0]}")
        except Exception as e:  # noqa: BLE001 - the parser's own error types
            raise InputError(path, f"cannot parse: {type(e).__name__}")
        self.executed = False
        self.free: dict = {}  # script globals not determined statically -> why (become free symbols)
        self.broken: set = set()  # module-level names whose code cannot run (unbounded recursion)
        self.stars: list = []  # files of a package __init__'s `from .x import *`, read when a name is missing

    def loc(self, node) -> SourceLoc:
        line = node.line if node is not None else 0
        if not line:
            return SourceLoc(self.path, 0, 0)
        return SourceLoc(self.path, line, node.column + 1)

    @staticmethod
    def line(node) -> int:
        return node.line if node is not None else 0


class Frame:
    __slots__ = ("locals", "parent", "scope", "func", "self_obj", "yields", "decl")

    def __init__(self, scope, parent=None, func=None, self_obj=None):
        self.yields = None  # a generator function's frame: the values yielded so far (.pygen)
        self.decl = None  # names declared `global` / `nonlocal` here -> which
        self.locals: dict = {}
        self.parent = parent
        self.scope = scope
        self.func = func
        self.self_obj = self_obj
