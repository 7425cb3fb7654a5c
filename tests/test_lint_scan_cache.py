"""LintContext.scan remembers its results per model by the relations scanned, not by the
ids of the Constraint objects passed: CNS203 builds a temporary Constraint for each layer,
and once it is freed the next one may take its id. Keyed by id, a later layer was answered
with an earlier layer's sizes ("none is discarded for H = 2k + 1" for inception's Mixed_7a,
which is Conv2d_1a's answer; seen in 1 of ~60 lint runs). The oracle is arithmetic."""
from __future__ import annotations

import os

import sympy as sp

import cnnsym
from cnnsym.lint.context import LintContext
from cnnsym.report import Constraint

HERE = os.path.dirname(os.path.abspath(__file__))
H = sp.Symbol("H", positive=True, integer=True)


def _ctx():
    rep = cnnsym.analyze(os.path.join(HERE, "..", "fixtures", "seed_conv.onnx"))
    return LintContext(rep, bindings={"N": 1, "H": 8, "W": 8}, spatial=["H", "W"])


def _scan(ctx, rel, fixed=None):
    # a temporary Constraint, as CNS203 makes one: freed when the call returns
    return [bool(v) for v in ctx.scan([Constraint(rel, "", "")], ["H"], limit=12, fixed=fixed)]


def test_a_later_relation_gets_its_own_scan():
    ctx = _ctx()
    for _ in range(20):  # many temporaries: an id is reused within a few calls
        odd = _scan(ctx, sp.Eq(sp.Mod(H, 2), 1))
        third = _scan(ctx, sp.Eq(sp.Mod(H, 3), 0))
        assert odd == [h % 2 == 1 for h in range(1, 13)]
        assert third == [h % 3 == 0 for h in range(1, 13)]


def test_fixed_sizes_are_part_of_the_question():
    ctx = _ctx()
    W = sp.Symbol("W", positive=True, integer=True)
    rel = sp.Ge(H, W)  # H >= W: with W fixed at 4, then at 9
    got4 = [bool(v) for v in ctx.scan([Constraint(rel, "", "")], ["H"], limit=12, fixed={"W": 4})]
    got9 = [bool(v) for v in ctx.scan([Constraint(rel, "", "")], ["H"], limit=12, fixed={"W": 9})]
    assert got4 == [h >= 4 for h in range(1, 13)]
    assert got9 == [h >= 9 for h in range(1, 13)]
