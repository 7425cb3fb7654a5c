"""A ``def``'s body is read into nodes on first use (issue 12): what a later read gives is
what reading it at parse time gave. The reference is the same file read with every body
forced at once, compared node by node (types, fields, positions, literal values), on real
model files of several styles."""
from __future__ import annotations

import ast
import os

import pytest

from cnnsym.frontends.torch import syntax
from cnnsym.frontends.torch.syntax_convert import Converter
from cnnsym.frontends.torch.syntax_nodes import CSTNode, FunctionDef, _Source

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = [os.path.join(HERE, "..", "fixtures", "torch", f) for f in
         ("resnet.py", "public_idioms.py", "public_styles.py", "unet_parts.py", "odd.py")]


def _dump(node, out):
    out.append((type(node).__name__, node._pos))
    for f in node._fields:
        v = getattr(node, f)
        for x in (v if isinstance(v, list) else [v]):
            if isinstance(x, CSTNode):
                _dump(x, out)
            else:
                out.append(repr(x))
    if hasattr(node, "value") and not isinstance(node.value, CSTNode):
        out.append(repr(node.value))
    return out


def _eager(text):
    tree = Converter(_Source(text)).module(ast.parse(text))

    def force(n):
        if isinstance(n, FunctionDef):
            n.body  # noqa: B018 - read now, before anything else is read
        for c in n.children():
            force(c)
    force(tree)
    return tree


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_lazy_bodies_read_as_eager_ones(path):
    text = open(path, encoding="utf-8").read()
    lazy = syntax.parse_module(text)
    defs = [s for s in lazy.body if isinstance(s, FunctionDef)]
    assert all(d._lazy is not None for d in defs)  # not read yet
    assert _dump(lazy, []) == _dump(_eager(text), [])


def test_a_body_set_by_hand_is_kept():
    d = syntax.parse_module("def f():\n    return 1\n").body[0]
    d.body = None
    assert d.body is None and d._lazy is None
