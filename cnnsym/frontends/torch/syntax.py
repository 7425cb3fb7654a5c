"""The frontend's syntax trees: Python's own parser (:mod:`ast`, in C) read into light
nodes shaped as libcst's are (the same class and field names: ``Call.args`` of ``Arg``
with ``keyword`` and ``star``, ``Attribute.attr`` a ``Name``, bodies in ``IndentedBlock``,
operators as instances of ``Add``, ``LessThan``, ...), which is what the interpreter reads.

Why not libcst itself (issue 12): the frontend never writes code back, so a concrete
syntax tree's whitespace and tokens are pure cost. libcst's import is ~0.1 s of every
source command, its parse ~15x :func:`ast.parse`'s, and node positions needed a second
codegen pass of each file; here every node carries its position from the parser.

Positions follow libcst's PositionProvider (what lint's ``line:col`` always printed): a
node starts where its own syntax starts (inside any parentheses; a ``def`` at ``def``,
not at its decorators); columns count characters, not bytes. tests/test_source_positions.py
checks them against libcst's PositionProvider on real files.

Python semantics that the two trees write differently and the interpreter never told
apart: ``x[a, b]`` and ``x[(a, b)]`` are both two subscript elements; ``a and b and c``
nests left to right; implicitly concatenated strings are one string (escapes processed,
as Python does, in f-strings' text too); ``elif`` is an ``If`` in ``orelse``; statements
joined by ``;`` are one line each. The last one is told apart: a statement that is not
followed makes only its own targets unknown, no longer the other statements' on its line
(``a = unknown(); b = 3`` keeps b = 3; with libcst's tree b was unknown too). Lines are
Python's (``\\n``, ``\\r\\n``, ``\\r``; a form feed or U+2028 ends none) and a UTF-8 BOM is
dropped, as Python reads a file."""
from __future__ import annotations

import ast

from .syntax_convert import Converter
from .syntax_nodes import *  # noqa: F401,F403  (the node classes, by libcst's names)
from .syntax_nodes import ParserSyntaxError, _Source, source_of  # noqa: F401


def parse_module(text: str):
    """A Module of *text*; raises :class:`ParserSyntaxError` (a SyntaxError) on bad syntax."""
    return parse_module_and_ast(text)[0]


def parse_module_and_ast(text: str):
    """(the Module of *text*, Python's :mod:`ast` tree it was converted from)."""
    if text.startswith("\ufeff"):  # a UTF-8 BOM: Python reads such a file (libcst did); ast.parse of a str refuses it
        text = text[1:]
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        if e.lineno is None and "\0" in text:  # Python's "cannot contain null bytes" names no line
            e.lineno = text.count("\n", 0, text.index("\0")) + 1
        raise ParserSyntaxError(e) from None
    return Converter(_Source(text)).module(tree), tree


def parse_expression(text: str):
    """One expression of *text* (the model spec ``NAME(args)``)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ParserSyntaxError(e) from None
    return Converter(_Source(text.strip())).expr(tree.body)
