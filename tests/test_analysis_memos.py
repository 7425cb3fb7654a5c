"""The analysis' per-process memos answer as the computation they stand for: a constraint's
verdict is per bindings (asked again at other sizes, it is worked out again), and a
constraint compiled without its docstring still tests exactly (hand arithmetic below)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import sympy as sp

from cnnsym import domain
from cnnsym.report import Constraint

H = sp.Symbol("H", positive=True, integer=True)


def _report(*rels):
    return SimpleNamespace(constraints=[Constraint(r, f"c{k}", f"n{k}") for k, r in enumerate(rels)])


def test_violated_is_asked_per_binding():
    even = sp.Eq(2 * sp.floor(H / 2), H)  # holds at even H only
    big = sp.Ge(H - 7, 0)  # H >= 7
    rep = _report(even, big)
    for _ in range(2):  # the second round is answered from the memo
        assert [c.message for c in domain.violated(rep, {"H": 4})] == ["c1"]  # 4 even, 4 < 7
        assert [c.message for c in domain.violated(rep, {"H": 5})] == ["c0", "c1"]  # odd, 5 < 7
        assert [c.message for c in domain.violated(rep, {"H": 8})] == []  # even, 8 >= 7
        assert [c.message for c in domain.violated(rep, {"H": 9})] == ["c0"]


def test_compiled_constraint_tests_exactly():
    # (H - 1) // 3 * 3 + 1 == H holds where H = 1 mod 3
    rel = sp.Eq(3 * sp.floor((H - 1) / 3) + 1, H)
    syms, ok = domain._lambdified(_report(rel))
    assert [s.name for s in syms] == ["H"]
    got = ok(H=np.arange(1, 13))
    assert list(np.flatnonzero(got) + 1) == [1, 4, 7, 10]
    kind, names, f = domain._compiled(rel, np)
    assert kind == "eq" and names == ("H",)
