"""The source frontend's node positions (cnnsym.frontends.torch.imports._Positions, issue 12:
a leaner codegen state) against libcst's own PositionProvider, the oracle: the same start
line and column for every node of every source fixture and of the installed torchvision's
models and transforms (when present)."""
import glob
import os
from importlib.machinery import PathFinder

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from cnnsym.frontends.torch.imports import _Positions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _files():
    out = sorted(glob.glob(os.path.join(ROOT, "fixtures", "torch", "*.py")))
    spec = PathFinder.find_spec("torchvision")
    if spec is not None and spec.submodule_search_locations:
        tv = list(spec.submodule_search_locations)[0]
        out += sorted(glob.glob(os.path.join(tv, "models", "*.py")))[:12]
        out += sorted(glob.glob(os.path.join(tv, "transforms", "*.py")))[:4]
    return out


class _All(cst.CSTVisitor):
    def __init__(self):
        self.nodes = []

    def on_visit(self, node):
        self.nodes.append(node)
        return True


def _same(text):
    tree = cst.parse_module(text)
    oracle = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    mine = _Positions(tree)
    v = _All()
    tree.visit(v)
    assert v.nodes
    for node in v.nodes:
        want = oracle.get(node)
        got = mine.get(node)
        if want is None:
            assert got is None, type(node).__name__
            continue
        assert (got.start.line, got.start.column) == (want.start.line, want.start.column), \
            f"{type(node).__name__}: {cst.Module([]).code_for_node(node)[:60]!r}"
    return len(v.nodes)


@pytest.mark.parametrize("path", _files(), ids=lambda p: os.path.relpath(p, os.path.dirname(os.path.dirname(p))))
def test_positions_match_libcst(path):
    with open(path, encoding="utf-8") as f:
        assert _same(f.read()) > 10


def test_positions_odd_layouts():
    # tabs, continuation lines, a decorator, comments, a string with newlines, semicolons
    text = ("import torch\nclass A(torch.nn.Module):\n\t@staticmethod\n\tdef f(x,\n\t      y): return (x +\n"
            "\t\ty) ; z = '''a\nb'''  # c\n\n\nx = [1,\n 2] + \\\n  3\n")
    assert _same(text) > 10
    assert _same(text.replace("\n", "\r\n")) > 10  # CRLF newlines
    assert _Positions(cst.parse_module("x = 1\n")).get(cst.Name("zz")) is None
