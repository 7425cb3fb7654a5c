"""The cheap paths in front of the ops' shape proofs (issue 12), each checked against plain
Python integer arithmetic at many sizes, never against cnnsym's own formulas:

- cnnsym/ops/_witness.py evaluates a size exactly at a few points; a statement false there
  is refuted without a proof search. Its values must be the integers themselves, and a
  refutation must name a statement that really is false at some size (so that every answer
  it short-cuts is the "not proved" the search would have given).
- cnnsym/ops/_bounds.py's residue cases in plain arithmetic (``_linear_case``): the interval
  must contain the expression's value at every size of the residue class.
- cnnsym/ops/_spatial.py remembers one spatial axis across layers that differ only in their
  channels: every such conv must give the spec's integer formula at every size.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import sympy as sp

from cnnsym.graph import FLOAT, Value
from cnnsym.ops import load_builtin_ops, lookup
from cnnsym.ops._bounds import _linear_case, _residue_cases, bounds, equal, nonneg, positive, zero
from cnnsym.ops._witness import POINTS, refutes_nonneg, refutes_positive, refutes_zero, values
from cnnsym.symbolic import dim_symbol, fdiv, imod

H, W, D = dim_symbol("H"), dim_symbol("W"), dim_symbol("D")
SIZES = range(1, 161)


def _cases():
    """(sympy expression, the same size in Python integer arithmetic) pairs: Swin's patch
    embedding and window padding, nested halvings, a view's element count."""
    F, C = sp.floor, sp.ceiling
    h = F(H / 4)
    return [
        (h, lambda H, W: H // 4),
        (imod(7 - imod(h, 7), 7), lambda H, W: (7 - (H // 4) % 7) % 7),
        (2 * F(H / 4) - 2 * F(H / 8 + F(H / 8 + F(H / 8) / 2) / 2),
         lambda H, W: 2 * (H // 4) - 2 * _fl(Q(H, 8) + Q(_fl(Q(H, 8) + Q(H // 8, 2)), 2))),
        (C(H / 32) * C(W / 32) - 7, lambda H, W: -(-H // 32) * -(-W // 32) - 7),
        (sp.Max(H - 6, 1, evaluate=False) - W, lambda H, W: max(H - 6, 1) - W),
        (sp.Min(H, H + sp.Mod(-H, 7), evaluate=False) - H, lambda H, W: min(H, H + (-H) % 7) - H),
        ((H - F(H / 2)) ** 2 * (W - F(3 * W / 4)) - 3, lambda H, W: (H - H // 2) ** 2 * (W - 3 * W // 4) - 3),
        (H * W - 49 * F(H / 7) * F(W / 7), lambda H, W: H * W - 49 * (H // 7) * (W // 7)),
        (fdiv(H + 31, 32) - 1, lambda H, W: (H + 31) // 32 - 1),
    ]


Q = Fraction  # exact rationals: Python's float would round


def _fl(x):
    return math.floor(x)


def _truth(fn):
    return [fn(a, b) for a, b in itertools.product(range(1, 41), range(1, 41))]


def test_values_are_the_integers_at_each_point():
    # the evaluator's points give each dim a positive integer; recompute each case there
    from cnnsym.ops._witness import _symbol_values
    for e, fn in _cases():
        hs, ws = _symbol_values("H", 1), _symbol_values("W", 1)
        got = values(e)
        assert len(got) == POINTS
        for k in range(POINTS):
            assert got[k] == fn(hs[k], ws[k]), (e, k)


def test_a_refutation_names_a_false_statement_and_keeps_the_old_answer():
    for e, fn in _cases():
        ints = _truth(fn)
        if refutes_nonneg(e):
            assert min(ints) < 0, e  # a real counterexample exists
            assert not bool(bounds(e)[0] >= 0)  # the proof search says "not proved" too
        if refutes_positive(e):
            assert min(ints) <= 0, e
        if refutes_zero(e):
            assert any(v != 0 for v in ints), e
        # the public answers stay sound: a proof holds at every size
        if nonneg(e):
            assert min(ints) >= 0, e
        if positive(e):
            assert min(ints) > 0, e
        if zero(e):
            assert set(ints) == {0}, e


def test_public_answers_equal_the_proof_search_alone():
    # nonneg/zero with the witness in front answer what the search alone answers
    exprs = [e for e, _ in _cases()] + [e + 7 for e, _ in _cases()] + [-e for e, _ in _cases()]
    for e in exprs:
        e = sp.expand(e)
        if e.is_number:
            continue
        assert nonneg(e) == bool(bounds(e)[0] >= 0), e


def test_equal_refuted_when_sizes_differ():
    # H - 7*floor(H/7) (H mod 7) is 0 at H = 7 and 1 at H = 1: never proved equal to 0
    assert not equal(H - 7 * sp.floor(H / 7), 0)
    assert values(H - 7 * sp.floor(H / 7))[0] == 1  # all dims 1: 1 - 0


def test_other_symbols_are_never_evaluated():
    x = sp.Symbol("x")  # no assumptions: any real, no admissible integer point
    assert all(v is None for v in values(x - 1))
    assert not refutes_nonneg(x - 1)


def test_residue_cases_in_plain_arithmetic_contain_every_size():
    F = sp.floor
    for e in (2 * F(H / 4) - 2 * F(H / 8 + F(H / 8 + F(H / 8) / 2) / 2),
              3 * F(H / 4) - F(3 * H / 4) + F(W / 2),
              2 * H - 2 * F(H / 2 + F(H / 2 + F(3 * H / 4) / 2) / 2),
              F(H / 4) + F(W / 2) - F((H + 2 * W) / 4)):
        cases = _residue_cases(e)
        assert cases
        answered = 0
        for rule, kenv in cases:
            iv = _linear_case(e, rule, kenv)
            if iv is None:
                continue
            answered += 1
            lo, hi = iv
            ks = {k: range(kenv[k][0], kenv[k][0] + 12) for k in kenv}
            for pick in itertools.product(*ks.values()):
                sub = dict(zip(ks, pick))
                hv = int(rule[H].subs(sub)) if H in rule else 5
                wv = int(rule[W].subs(sub)) if W in rule else 5
                v = int(e.subs({H: hv, W: wv}))  # exact integer evaluation of the size itself
                assert lo <= v <= hi, (e, rule, sub, v, iv)
        assert answered == len(cases)


def test_conv_axes_shared_across_channel_counts_follow_the_spec():
    load_builtin_ops()
    conv = lookup("Conv")
    from types import SimpleNamespace
    for (k, s, p, d), cin, cout in itertools.product([(3, 2, 1, 1), (5, 1, 2, 1), (3, 1, 2, 2)], (8, 16), (4, 32)):
        node = SimpleNamespace(attrs={"kernel_shape": [k, k], "strides": [s, s], "pads": [p, p, p, p],
                                      "dilations": [d, d]}, outputs=["y"], name="c", op_type="Conv")
        op = conv(node.attrs, 17, node)
        res = op.infer([Value(tuple(map(sp.sympify, (1, cin, H, W))), FLOAT),
                        Value(tuple(map(sp.sympify, (cout, cin, k, k))), FLOAT)])
        out = res.outputs[0].shape
        assert out[1] == cout
        for size in range(1, 80):
            want = (size + 2 * p - d * (k - 1) - 1) // s + 1  # onnx Conv spec, floor mode
            if want >= 1:
                assert int(out[2].subs(H, size)) == want
                assert int(out[3].subs(W, size)) == want
