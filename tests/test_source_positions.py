"""The source frontend's node positions (cnnsym.frontends.torch.syntax: Python's ast parser
read into libcst-shaped nodes, issue 12) against libcst's own PositionProvider, the
oracle lint's ``line:col`` always came from: for every node kind a position is reported
for (names, calls, attributes, subscripts, literals, operators, statements, definitions),
the same start lines and columns, over every source fixture and the installed torchvision's
models and transforms (when present). Nodes inside f-strings and import statements are
left out on both sides: Python's parser gives no position to a dotted import's parts."""
import collections
import glob
import os
from importlib.machinery import PathFinder

import pytest

from cnnsym.frontends.torch import syntax

cst = pytest.importorskip("libcst")
from libcst.metadata import MetadataWrapper, PositionProvider  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# what a position is reported for (statements run, calls that make layers, integer literals
# lint points at, definitions) and the expressions around them; not argument or parameter
# wrappers, whose start libcst puts at a star or an enclosing parenthesis
KINDS = ("Name", "Call", "Attribute", "Subscript", "Integer", "Float", "BinaryOperation", "UnaryOperation",
         "Comparison", "Lambda", "IfExp", "List", "Dict", "ListComp", "Assign", "AugAssign", "AnnAssign", "Expr",
         "Return", "Raise", "Assert", "FunctionDef", "ClassDef", "If", "For", "While", "With", "Try")
_SKIP = ("FormattedString", "Import", "ImportFrom", "Global", "Nonlocal", "ExceptHandler", "ConcatenatedString")


def _files():
    out = sorted(glob.glob(os.path.join(ROOT, "fixtures", "torch", "*.py")))
    spec = PathFinder.find_spec("torchvision")
    if spec is not None and spec.submodule_search_locations:
        tv = list(spec.submodule_search_locations)[0]
        out += sorted(glob.glob(os.path.join(tv, "models", "*.py")))[:12]
        out += sorted(glob.glob(os.path.join(tv, "transforms", "*.py")))[:4]
    return [p for p in out if not p.endswith("__init__.py")]  # torchvision's are imports only


def _oracle(text):
    tree = cst.parse_module(text)
    pos = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    got = collections.Counter()

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            k = type(node).__name__
            if k in _SKIP:
                return False
            if k in KINDS:
                p = pos[node].start
                got[(k, p.line, p.column)] += 1
            return True

    tree.visit(V())
    return got


def _mine(text):
    got = collections.Counter()

    def walk(node):
        k = type(node).__name__
        if k in _SKIP:
            return
        if k in KINDS:
            got[(k, node.line, node.column)] += 1
        for c in node.children():
            walk(c)

    walk(syntax.parse_module(text))
    return got


def _same(text):
    want, got = _oracle(text), _mine(text)
    missing, extra = want - got, got - want
    assert not missing and not extra, f"libcst only: {sorted(missing)[:8]}; ast only: {sorted(extra)[:8]}"
    return sum(want.values())


@pytest.mark.parametrize("path", _files(), ids=lambda p: os.path.relpath(p, os.path.dirname(os.path.dirname(p))))
def test_positions_match_libcst(path):
    with open(path, encoding="utf-8") as f:
        assert _same(f.read()) > 10


def test_positions_odd_layouts():
    # tabs, continuation lines, a decorator, comments, a string with newlines, semicolons,
    # a parenthesised tuple, elif/else-if, non-ASCII text before a node (columns count characters)
    text = ("import torch\nclass A(torch.nn.Module):\n\t@staticmethod\n\tdef f(x,\n\t      y): return (x +\n"
            "\t\ty) ; z = '''a\nb'''  # c\n\n\nx = [1,\n 2] + \\\n  3\nt = ( a, b)\n"
            "if a:\n    pass\nelif b:\n    pass\nelse:\n    if c:\n        pass\n"
            "s = 'héllo' + f(é=1, **k)[0]\n")
    assert _same(text) > 10
    assert _same(text.replace("\n", "\r\n")) > 10  # CRLF newlines


def test_syntax_error_is_reported_with_its_line():
    with pytest.raises(syntax.ParserSyntaxError) as e:
        syntax.parse_module("x = 1\ndef f(:\n")
    assert e.value.raw_line == 2  # the second line is the broken one


def test_source_of_gives_the_text_as_written():
    m = syntax.parse_module("y = foo( a,\n  b )  # call\n")
    call = m.body[0].body[0].value
    assert syntax.source_of(call) == "foo( a,\n  b )"
