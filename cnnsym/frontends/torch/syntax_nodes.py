"""The frontend's syntax nodes (see :mod:`.syntax`): libcst's class and field names, each
node with its position and its file's text."""
from __future__ import annotations

import ast
import os
import re
from _thread import RLock

__all__ = ["CSTNode", "CSTVisitor", "ParserSyntaxError", "source_of"]


class ParserSyntaxError(SyntaxError):
    """A file Python's parser refuses: ``raw_line`` and ``message`` as libcst's error had."""

    def __init__(self, e: SyntaxError):
        super().__init__(e.msg)
        self.message = e.msg or "invalid syntax"
        self.raw_line = e.lineno or 0
        self.raw_column = e.offset or 0


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_ODD_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")  # str.splitlines' others


class _Source:
    """A parsed text's lines (for character columns and source segments)."""

    __slots__ = ("text", "_lines", "ascii")

    def __init__(self, text: str):
        self.text = text
        self._lines = None
        self.ascii = text.isascii()

    def lines(self):
        """The lines as Python's tokenizer counts them (``\\n``, ``\\r\\n``, ``\\r``): not
        str.splitlines, which also ends a line at a form feed, ``\\x1c``-``\\x1e``, ``\\x85`` or
        U+2028/2029 (in a comment or a string) and shifted every later line's columns,
        ``elif``, def names and source text."""
        if self._lines is None:
            t = self.text
            odd = any(c in t for c in _ODD_BREAKS)  # rare: splitlines (C, 2x faster) is right without them
            self._lines = _LINE.findall(t) if odd else t.splitlines(keepends=True)
        return self._lines

    def column(self, line: int, byte_col: int) -> int:
        if self.ascii or line <= 0:
            return byte_col
        lines = self.lines()
        if line > len(lines):
            return byte_col
        return len(lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def byte_at(self, line: int, col: int) -> bytes:
        lines = self.lines()
        return lines[line - 1].encode("utf-8")[col:col + 1] if 0 < line <= len(lines) else b""

    def segment(self, pos) -> str:
        line, col, end_line, end_col = pos
        lines = self.lines()
        if line <= 0 or end_line > len(lines):
            return ""
        if line == end_line:
            return lines[line - 1].encode("utf-8")[col:end_col].decode("utf-8", "replace")
        first = lines[line - 1].encode("utf-8")[col:].decode("utf-8", "replace")
        last = lines[end_line - 1].encode("utf-8")[:end_col].decode("utf-8", "replace")
        return "".join([first, *lines[line:end_line - 1], last])


_NOPOS = (0, 0, 0, 0)


class CSTNode:
    """A node: its fields (``_fields``), where it is (``_pos``: line, byte column, end line,
    end byte column, as :mod:`ast` gives them) and its file's text (``_src``)."""

    __slots__ = ("_pos", "_src")
    _fields: tuple = ()

    def __init__(self, *args, **kw):
        for f, a in zip(self._fields, args):
            setattr(self, f, a)
        for f in self._fields[len(args):]:
            setattr(self, f, kw.pop(f, None))
        if kw:
            raise TypeError(f"{type(self).__name__}: unexpected fields {sorted(kw)}")
        self._pos = _NOPOS
        self._src = None

    def children(self):
        for f in self._fields:
            v = getattr(self, f)
            if isinstance(v, CSTNode):
                yield v
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, CSTNode):
                        yield x

    def visit(self, visitor) -> None:
        """libcst's ``node.visit(visitor)`` for a read-only visitor: ``visit_<Class>(node)``
        before the children; a False return skips them."""
        m = getattr(visitor, "visit_" + type(self).__name__, None)
        if m is not None and m(self) is False:
            return
        for c in self.children():
            c.visit(visitor)

    @property
    def line(self) -> int:
        return self._pos[0]

    @property
    def column(self) -> int:
        """0-based character column of the node's start."""
        return self._src.column(self._pos[0], self._pos[1]) if self._src is not None else self._pos[1]

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"


class CSTVisitor:
    """Base of read-only visitors (see :meth:`CSTNode.visit`)."""


def source_of(node) -> str:
    """The node's source text as written (libcst's ``Module([]).code_for_node``, for
    messages: the first line is what they show)."""
    if node._src is None or node._pos == _NOPOS:
        return ""
    return node._src.segment(node._pos)


def _kind(name, fields=(), base=CSTNode):
    ns = {"__slots__": tuple(fields), "_fields": tuple(fields)}
    if fields:  # a plain __init__ per class: nodes are made by the hundred thousand (issue 12)
        code = (f"def __init__(self, {', '.join(f + '=None' for f in fields)}):\n"
                + "".join(f"    self.{f} = {f}\n" for f in fields)
                + "    self._pos = _NOPOS\n    self._src = None\n")
        scope = {"_NOPOS": _NOPOS}
        exec(code, scope)  # noqa: S102 - field names are this module's own constants
        ns["__init__"] = scope["__init__"]
    return type(name, (base,), ns)


class _Literal(CSTNode):
    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value=None):
        self.value = value
        self._pos = _NOPOS
        self._src = None

    @property
    def evaluated_value(self):
        return self.value


_NODES = {
    # expressions
    "Name": ("value",), "Attribute": ("value", "attr"), "Call": ("func", "args"),
    "Arg": ("value", "keyword", "star"), "BinaryOperation": ("left", "operator", "right"),
    "BooleanOperation": ("left", "operator", "right"), "UnaryOperation": ("operator", "expression"),
    "Comparison": ("left", "comparisons"), "ComparisonTarget": ("operator", "comparator"),
    "Subscript": ("value", "slice"), "SubscriptElement": ("slice",), "Index": ("value", "star"),
    "Slice": ("lower", "upper", "step"), "Tuple": ("elements",), "List": ("elements",), "Set": ("elements",),
    "Element": ("value",), "StarredElement": ("value",), "Dict": ("elements",), "DictElement": ("key", "value"),
    "StarredDictElement": ("value",), "ListComp": ("elt", "for_in"), "SetComp": ("elt", "for_in"),
    "GeneratorExp": ("elt", "for_in"), "DictComp": ("key", "value", "for_in"),
    "CompFor": ("target", "iter", "ifs", "inner_for_in", "asynchronous"), "CompIf": ("test",),
    "IfExp": ("test", "body", "orelse"), "Lambda": ("params", "body"), "NamedExpr": ("target", "value"),
    "Yield": ("value",), "From": ("item",), "Await": ("expression",), "Ellipsis": (),
    "FormattedString": ("parts",), "FormattedStringText": ("value",),
    "FormattedStringExpression": ("expression", "conversion", "format_spec"),
    "ConcatenatedString": ("left", "right"),
    "Parameters": ("params", "star_arg", "kwonly_params", "star_kwarg", "posonly_params"),
    "Param": ("name", "annotation", "default", "star"), "ParamStar": (), "Annotation": ("annotation",),
    # statements
    "Module": ("body",), "SimpleStatementLine": ("body",), "SimpleStatementSuite": ("body",),
    "IndentedBlock": ("body",), "EmptyLine": (), "Expr": ("value",), "Assign": ("targets", "value"),
    "AssignTarget": ("target",), "AnnAssign": ("target", "annotation", "value"),
    "AugAssign": ("target", "operator", "value"), "Return": ("value",), "Raise": ("exc", "cause"),
    "Assert": ("test", "msg"), "Del": ("target",), "Pass": (), "Break": (), "Continue": (),
    "Import": ("names",), "ImportFrom": ("module", "names", "relative"), "ImportAlias": ("name", "asname"),
    "ImportStar": (), "AsName": ("name",), "Dot": (), "Global": ("names",), "Nonlocal": ("names",),
    "NameItem": ("name",), "If": ("test", "body", "orelse"), "Else": ("body",),
    "For": ("target", "iter", "body", "orelse", "asynchronous"), "While": ("test", "body", "orelse"),
    "With": ("items", "body", "asynchronous"), "WithItem": ("item", "asname"),
    "Try": ("body", "handlers", "orelse", "finalbody"), "TryStar": ("body", "handlers", "orelse", "finalbody"),
    "ExceptHandler": ("body", "type", "name"), "Finally": ("body",),
    "FunctionDef": ("name", "params", "body", "decorators", "returns", "asynchronous"),
    "ClassDef": ("name", "body", "bases", "keywords", "decorators"), "Decorator": ("decorator",),
    "Match": ("subject", "cases"),
}
_OPERATORS = (
    "Add Subtract Multiply Divide FloorDivide Modulo Power MatrixMultiply LeftShift RightShift BitOr BitAnd BitXor "
    "AddAssign SubtractAssign MultiplyAssign DivideAssign FloorDivideAssign ModuloAssign PowerAssign "
    "MatrixMultiplyAssign LeftShiftAssign RightShiftAssign BitOrAssign BitAndAssign BitXorAssign "
    "And Or Not Minus Plus BitInvert "
    "Equal NotEqual LessThan LessThanEqual GreaterThan GreaterThanEqual Is IsNot In NotIn").split()

_g = globals()
for _n, _f in _NODES.items():
    _g[_n] = _kind(_n, _f)
for _n in ("Integer", "Float", "Imaginary", "SimpleString"):
    _g[_n] = type(_n, (_Literal,), {"__slots__": ()})
for _n in _OPERATORS:
    _g[_n] = _kind(_n)
__all__ += list(_NODES) + ["Integer", "Float", "Imaginary", "SimpleString"] + _OPERATORS
del _g, _n, _f


_CONVERTING = RLock()  # FunctionDef bodies read on first use: one conversion at a time


def _new_lock():  # a child forked while another thread converted must not wait for it
    global _CONVERTING
    _CONVERTING = RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock)


class FunctionDef(CSTNode):
    """A ``def``; its body is read into nodes on first use (issue 12): most functions of an
    imported library file (torchvision's transforms, ops) are never called, and reading
    their bodies was ~half of the conversion. The body read later is the one read now
    would be (the converter keeps no state but the file's text)."""

    __slots__ = ("name", "params", "_body", "decorators", "returns", "asynchronous", "_lazy")
    _fields = ("name", "params", "body", "decorators", "returns", "asynchronous")

    def __init__(self, name=None, params=None, body=None, decorators=None, returns=None, asynchronous=None):
        self.name = name
        self.params = params
        self._body = body
        self.decorators = decorators
        self.returns = returns
        self.asynchronous = asynchronous
        self._lazy = None
        self._pos = _NOPOS
        self._src = None

    @property
    def body(self):
        if self._lazy is not None:
            # under a lock, and the pending body dropped only once converted: a thread reading
            # meanwhile waits for the whole body (it read None), and a conversion that fails
            # (RecursionError) fails again on the next read instead of leaving the def empty
            with _CONVERTING:
                lazy = self._lazy
                if lazy is not None:
                    self._body = lazy[0](lazy[1])
                    self._lazy = None
        return self._body

    @body.setter
    def body(self, value):
        self._body = value
        self._lazy = None

_BINOP = {ast.Add: "Add", ast.Sub: "Subtract", ast.Mult: "Multiply", ast.Div: "Divide", ast.FloorDiv: "FloorDivide",
          ast.Mod: "Modulo", ast.Pow: "Power", ast.MatMult: "MatrixMultiply", ast.LShift: "LeftShift",
          ast.RShift: "RightShift", ast.BitOr: "BitOr", ast.BitAnd: "BitAnd", ast.BitXor: "BitXor"}
_CMPOP = {ast.Eq: "Equal", ast.NotEq: "NotEqual", ast.Lt: "LessThan", ast.LtE: "LessThanEqual",
          ast.Gt: "GreaterThan", ast.GtE: "GreaterThanEqual", ast.Is: "Is", ast.IsNot: "IsNot", ast.In: "In",
          ast.NotIn: "NotIn"}
_UNOP = {ast.UAdd: "Plus", ast.USub: "Minus", ast.Not: "Not", ast.Invert: "BitInvert"}
_OP = {k: globals()[v]() for k, v in _BINOP.items()}
_AUGOP = {k: globals()[v + "Assign"]() for k, v in _BINOP.items()}
_CMP = {k: globals()[v]() for k, v in _CMPOP.items()}
_UN = {k: globals()[v]() for k, v in _UNOP.items()}
_AND, _OR = globals()["And"](), globals()["Or"]()
_CONVERSION = {-1: None, 115: "s", 114: "r", 97: "a"}
