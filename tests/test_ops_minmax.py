"""Max, Min and broadcasts settled by proof (cnnsym/ops/_bounds.py), issue 12: Swin pads a map
to a multiple of its window, slices it back and adds the shortcut; DLA adds a max-pooled
branch (floor) to a strided conv (ceiling). Written naively each block nested the last
one's Max/Min, and the source frontend refused the models at symbolic sizes.

Oracles are independent of cnnsym's formulas: plain Python integer arithmetic evaluated at
every size 1..300 (the identity or bound that a proof claims must hold at each), numpy's
own broadcasting rule (``np.broadcast_shapes``) and hand arithmetic in the comments."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from cnnsym.graph import FLOAT, INT64, Value
from cnnsym.ops._bounds import at_least, bounds, differ, equal, nonneg, positive
from cnnsym.ops import load_builtin_ops, lookup
from cnnsym.ops.indexing import Slice
from cnnsym.symbolic import as_expr, dim_symbol, fdiv, imod

H, W = dim_symbol("H"), dim_symbol("W")
h = fdiv(H, 4)  # Swin's patch embedding: floor(H/4)
SIZES = range(1, 301)


def _at(e, **v):
    return int(e.subs({dim_symbol(k): x for k, x in v.items()}))


def _pad_to(x, k):
    """torchvision's Swin: pad = (k - x % k) % k, written with cnnsym's own mod."""
    return imod(k - imod(x, k), k)


# ---------------------------------------------------------------------------------------
# the proofs, each checked against the integers it speaks of

def test_pad_to_a_window_multiple_is_between_0_and_k_minus_1():
    pad = _pad_to(h, 7)
    # at H = 4 (h = 1): (7 - 1 % 7) % 7 = 6; at H = 28 (h = 7): (7 - 0) % 7 = 0
    assert _at(pad, H=4) == 6 and _at(pad, H=28) == 0
    assert nonneg(pad)
    lo, hi = bounds(pad)
    assert lo >= 0 and hi <= 6
    for s in SIZES:
        assert 0 <= _at(pad, H=s) <= 6


def test_min_of_a_dim_and_the_dim_plus_its_pad_is_the_dim():
    # Min(H, H + Mod(-H, 7)) = H: Mod(-H, 7) is in [0, 6]
    assert equal(sp.Min(H, H + sp.Mod(-H, 7), evaluate=False), H)
    padded = sp.expand(h + _pad_to(h, 7))
    assert nonneg(padded - h) and not nonneg(h - padded - 1)
    for s in SIZES:
        assert min(_at(h, H=s), _at(padded, H=s)) == _at(h, H=s)


def test_ceiling_of_a_multiple_is_not_below_the_value():
    # 7*ceiling(h/7) >= h
    e = 7 * sp.ceiling(h / 7) - h
    assert nonneg(e)
    for s in SIZES:
        assert _at(e, H=s) >= 0


def test_floors_compare_by_residue():
    # floor(H/4) >= floor(H/8) (H = 8k + r: 2k + floor(r/4) >= k), and
    # floor((H+3)/4) >= floor((H+1)/4) (integer-valued, and their difference is >= -1/4)
    for big, small in ((fdiv(H, 4), fdiv(H, 8)), (fdiv(H + 3, 4), fdiv(H + 1, 4))):
        assert at_least(big, small)
        assert not at_least(small, big)  # not true at H = 4 (1 vs 0) and H = 2 (1 vs 0)
        for s in SIZES:
            assert _at(big, H=s) >= _at(small, H=s)


def test_nested_halvings_stay_positive():
    """Swin's patch merging halves a map padded to even three times: ceil(ceil(ceil(h/2)/2)/2)
    is written as h - floor(...) with floors nested three deep; it is >= 1 for every H >= 4
    (h >= 1), and at H = 224 (h = 56) it is 7."""
    x = h
    for _ in range(3):
        x = sp.expand(x - fdiv(x, 2))  # ceil(x/2) as x - floor(x/2)
    assert _at(x, H=224) == 7
    assert nonneg(x) and at_least(x, 0)
    y = x.subs(H, 4 * H)  # H >= 4 in the form the model sees: h >= 1
    assert positive(y)
    for s in SIZES:
        assert _at(x, H=s) >= (1 if s >= 4 else 0)


def test_hermite_identity_is_proved_equal():
    # floor(H/4) + floor(H/4 + 1/2) = floor(H/2) (Hermite's identity with x = H/4)
    a, b = fdiv(H, 2), fdiv(H, 4) + fdiv(H + 2, 4)
    assert a != b  # written differently
    assert equal(a, b) and not differ(a, b)
    for s in SIZES:
        assert _at(a, H=s) == _at(b, H=s)


def test_what_is_not_true_is_never_claimed():
    cases = [
        fdiv(H, 4) - fdiv(H, 3),          # 1 - 1 = 0 at H = 4, but -1 at H = 3
        _pad_to(h, 7) - 1,                # 0 - 1 at H = 28
        fdiv(H + 1, 4) - 1,               # 0 - 1 at H = 1
        H - 2 * fdiv(H, 2) - 1 + fdiv(W, 5),
    ]
    for e in cases:
        vals = [_at(e, H=s, W=w) for s in range(1, 90) for w in (1, 4, 5, 11)]
        assert min(vals) < 0, e  # the oracle: each is negative somewhere (see the comments)
        assert not nonneg(e) and not positive(e)
    assert differ(H, 3 * H) and differ(2 * H + 1, 2 * H)  # L vs 3L never equal; nor n vs n+1
    assert not differ(fdiv(H, 4), fdiv(H, 8))  # equal at H = 1 (0 = 0)


def test_bounds_hold_at_every_size():
    exprs = [_pad_to(h, 7), sp.expand(h + _pad_to(h, 7)), fdiv(H, 4) - fdiv(H, 8),
             fdiv(H + 3, 4) - fdiv(H + 1, 4), imod(H, 2) + imod(W, 3),
             sp.Max(fdiv(H, 2), 3) - sp.Min(H, 5), H * fdiv(W, 2) - fdiv(H * W, 2)]
    for e in exprs:
        lo, hi = bounds(e)
        for s in range(1, 120):
            for w in (1, 2, 3, 7, 64):
                v = _at(e, H=s, W=w)
                assert lo <= v <= hi, (e, s, w, v, lo, hi)


# ---------------------------------------------------------------------------------------
# the ops that use them

def _ints(*xs):
    return Value((len(xs),), INT64, tuple(as_expr(x) for x in xs))


def _slice(shape, start, end, axis):
    return Slice({}, 13).infer([Value(shape, FLOAT), _ints(start), _ints(end), _ints(axis)])


def test_slicing_the_padded_map_back_gives_the_dim_itself():
    """x[:, :h] of the map padded to a multiple of 7 (Swin): h, no Min/Max; at H = 4 the
    padded map has 7 rows and the slice keeps 1."""
    padded = sp.expand(h + _pad_to(h, 7))
    res = _slice((1, padded, W), 0, h, 1)
    assert res.outputs[0].shape[1] == h
    assert not res.constraints
    # and the whole map ([0:INT64_MAX]) is the padded dim itself, not Max(0, padded)
    res = _slice((1, padded, W), 0, 2**63 - 1, 1)
    assert res.outputs[0].shape[1] == padded


def test_a_slice_that_may_clamp_still_says_so():
    # x[:, :5] of an H-row map: Min(5, H), honest: H may be 3
    res = _slice((1, H), 0, 5, 1)
    assert res.outputs[0].shape[1] == sp.Min(5, H)


def _add(a, b):
    load_builtin_ops()
    cls = lookup("Add")
    return cls({}, 14).infer([Value(a, FLOAT), Value(b, FLOAT)])


def test_provably_equal_dims_broadcast_without_a_constraint():
    a, b = fdiv(H, 2), fdiv(H, 4) + fdiv(H + 2, 4)
    res = _add((1, a), (1, b))
    assert res.outputs[0].shape == (1, a)  # the shorter of the two
    assert not res.constraints
    assert res.rf[0][1] == ((0, 1, None), (1, 1, None))  # both map through


def test_floor_against_ceiling_keeps_its_requirement_and_agrees_with_numpy():
    """DLA: a max-pooled branch floor((H+1)/4) added to a strided conv's floor((H+3)/4).
    They differ where (H+1) % 4 is 1..3 and neither may be 1; the constraint stays and the
    result is what numpy's broadcasting gives wherever it gives anything."""
    a, b = fdiv(H + 1, 4), fdiv(H + 3, 4)
    res = _add((a,), (b,))
    (out,) = res.outputs[0].shape
    assert not out.has(sp.Max)  # b >= a is proved: max(a, b) = b
    assert res.constraints, "a broadcast requirement must not be dropped"
    rels = [c[0] for c in res.constraints]
    for s in SIZES:
        x, y = _at(a, H=s), _at(b, H=s)
        holds = all(bool(r.subs(H, s)) for r in rels)
        try:
            want = np.broadcast_shapes((x,), (y,))[0]
        except ValueError:
            assert not holds, s
            continue
        assert holds, s
        assert _at(out, H=s) == want, (s, x, y)


def test_a_provable_one_broadcasts_like_a_one():
    one = imod(H, 2) + imod(H + 1, 2)  # one of H, H + 1 is odd: 1 for every H
    res = _add((W, one), (W, H))
    assert res.outputs[0].shape == (W, H)
    assert not res.constraints


@pytest.mark.parametrize("k", [2, 7])
def test_residual_blocks_do_not_grow_the_shape(k):
    """Four Swin-like blocks (pad to k, slice back, add the shortcut) leave h unchanged."""
    x = h
    for _ in range(4):
        padded = sp.expand(x + _pad_to(x, k))
        sliced = _slice((1, padded), 0, x, 1).outputs[0].shape[1]
        x = _add((1, x), (1, sliced)).outputs[0].shape[1]
    assert x == h
