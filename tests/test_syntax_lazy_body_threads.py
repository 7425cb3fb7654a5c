"""A def's body read lazily (syntax_nodes.FunctionDef, issue 12) must read the same for
every thread: parsed trees are shared by all analyses of a process (imports.parse's cache),
and a library caller may analyse from several threads. Before the fix, the first reader
cleared the pending body before converting it, so a second thread reading meanwhile got
``body`` None (a forward with its statements missing: an incomplete report, or
``AttributeError: 'NoneType' object has no attribute 'visit'``). Oracle: the statement
count Python's own ``ast`` gives for the same def."""
from __future__ import annotations

import ast
import sys
import threading

from cnnsym.frontends.torch import syntax

_N = 1500  # statements in the def: converting them takes far longer than a thread switch


def _text():
    return "def helper(x):\n" + "".join(f"    a{i} = {i} + 1\n" for i in range(_N)) + "    return x\n"


def test_body_read_by_two_threads_at_once():
    text = _text()
    want = len(ast.parse(text).body[0].body)  # Python's own count: _N assignments and the return
    assert want == _N + 1
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(5):
            fd = syntax.parse_module(text).body[0]
            seen, ids = [], []
            start = threading.Barrier(3)

            def read():
                start.wait()
                b = fd.body
                seen.append(None if b is None else len(b.body))
                ids.append(id(b))

            threads = [threading.Thread(target=read) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert seen == [want] * 3
            assert len(set(ids)) == 1  # one tree: every reader gets the same nodes
    finally:
        sys.setswitchinterval(old)


def test_a_body_that_fails_to_convert_fails_again():
    """A conversion that raises (RecursionError on a deeply nested expression) leaves the
    body pending: the next read fails the same way, never an empty def (before the fix
    the second read gave None, and the def ran as if it had no statements: a later
    analysis in the same process read a different model)."""
    text = "def helper(x):\n    return " + " + ".join(["x"] * 300) + "\n"
    want = len(ast.parse(text).body[0].body)  # Python's own count: the return
    fd = syntax.parse_module(text).body[0]
    depth = len(__import__("inspect").stack(0))
    old = sys.getrecursionlimit()
    for _ in range(2):
        sys.setrecursionlimit(depth + 100)  # room for the test, not for a 300-deep expression
        try:
            try:
                fd.body
            except RecursionError:
                pass
            else:
                raise AssertionError("expected the conversion to recurse too deeply")
        finally:
            sys.setrecursionlimit(old)
    assert len(fd.body.body) == want
