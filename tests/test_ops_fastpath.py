"""The fast products by a number (cnnsym.symbolic.scale/rscale/dims_product, issue 12) build
the very object sympy's own evaluated Mul builds. Oracle: sympy itself (``e * c``,
``c * e``, ``sp.Mul(*shape)``), compared by srepr, ==, hash and type on generated shapes
and on the edge cases where sympy rewrites (distribution over a lone Add, coefficients that
cancel to 1, 0, powers, Floats, numeric powers, non-commutative symbols, evaluate(False))."""
from __future__ import annotations

import itertools
import random

import pytest
import sympy as sp

from cnnsym.ops import numel
from cnnsym.symbolic import _scaled, cdiv, dim_symbol, dims_product, fdiv, rscale, scale

N, C, H, W = (dim_symbol(s) for s in "NCHW")
x = sp.Symbol("x")  # no assumptions
nc = sp.Symbol("A", commutative=False)


def same(got, want):
    assert type(got) is type(want), (got, want)
    assert got == want, (got, want)
    assert sp.srepr(got) == sp.srepr(want), (sp.srepr(got), sp.srepr(want))
    assert hash(got) == hash(want)


DIMS = [
    sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Integer(64), sp.Integer(7),
    N, C, H, W, x,
    fdiv(H + 1, 2), fdiv(W + 1, 2), cdiv(H, 32), fdiv(H - 3, 4) + 1, fdiv(fdiv(H + 1, 2) + 1, 2),
    H - 2, W + 4, 2 * H, H / 2, sp.Max(H, W), sp.Min(H, 7), sp.ceiling(H / 3),
    H**2, fdiv(H + 1, 2) ** 2, 1 / H, (H - 2) ** 2, N * H, 3 * N * W,
]


def test_dims_product_is_sympys_mul_on_generated_shapes():
    rng = random.Random(12)
    shapes = [()] + [(d,) for d in DIMS]
    shapes += list(itertools.product(DIMS[:12], repeat=2))
    for _ in range(3000):
        shapes.append(tuple(rng.choice(DIMS) for _ in range(rng.randint(2, 6))))
    for shape in shapes:
        want = sp.Mul(*shape) if shape else sp.Integer(1)
        same(numel(shape), want)
        if shape:
            same(dims_product(list(shape)), want)


def test_scale_is_sympys_product_by_a_number():
    rng = random.Random(7)
    numbers = [sp.Integer(2), sp.Integer(9), sp.Integer(-1), sp.Integer(-5), sp.Rational(1, 2),
               sp.Rational(-3, 4), sp.Integer(1), sp.Integer(0), 3, 1, 0, -2]
    exprs = [numel(tuple(rng.choice(DIMS) for _ in range(rng.randint(1, 5)))) for _ in range(600)]
    exprs += list(DIMS) + [2 * (H + 1), sp.Mul(2, H + 1, evaluate=False), -(H + W), 2 * N * (H - 2),
                          sp.Rational(1, 2) * H * W, N * H * W / 3]
    for e in exprs:
        for c in numbers:
            same(scale(e, c), e * c)
            same(rscale(c, e), c * e)
            # the Conv macs chain: numel(y) * w_cin * product(k), one number at a time
            for c2 in (sp.Integer(9), sp.Rational(1, 2), sp.Integer(2)):
                same(scale(scale(e, c), c2), e * c * c2)


@pytest.mark.parametrize("e, c, want", [
    # hand arithmetic: sympy's documented rewrites the fast path must not get wrong
    (H + 1, 2, "2*H + 2"),                       # a rational times a lone Add distributes
    (2 * H, sp.Rational(1, 2), "H"),              # coefficients cancel to 1: the bare factor
    (2 * H * W, sp.Rational(1, 2), "H*W"),        # ... or the bare product
    (4 * N * (H - 2), sp.Rational(1, 4), "N*(H - 2)"),
    (sp.Mul(2, H + 1, evaluate=False), 3, "6*(H + 1)"),  # an unevaluated 2*(H + 1): sympy's
    # "2-arg hack" keeps the Mul (mul.py flatten), it does not distribute
    (N * H * H, 3, "3*H**2*N"),                   # powers stay combined
    (-(N * H), -1, "H*N"),
    (N * H, 0, "0"),
    (N * H, 1, "H*N"),
])
def test_edge_cases(e, c, want):
    same(scale(e, c), e * c)
    assert str(scale(e, c)) == want


def test_fallbacks_are_sympys_own():
    # Float coefficients, numeric powers, non-commutative symbols: sympy computes them
    for e, c in [(N * H, 2.5), (N * H, sp.Float(2)), (sp.sqrt(2) * H, 2), (nc * H, 2), (2 * nc, 3),
                 (sp.oo * H, 2), (N * H, x), (sp.Integer(3), 4), (sp.exp(H) * N, 2)]:
        assert _scaled(e, c) is None or (_scaled(e, c) == e * c)
        same(scale(e, c), e * c)
    for shape in [(2.5, H), (sp.Float(2), H, W), (nc, 2), (sp.sqrt(2), H, 2), (0, H), (-1, H, W), (2, 3)]:
        same(dims_product(shape), sp.Mul(*shape))
    with sp.evaluate(False):
        assert _scaled(N * H, 2) is None


def test_the_fast_path_is_taken_for_layer_shapes():
    # else the tests above would pass through the fallback alone
    y = (N, sp.Integer(64), fdiv(H + 1, 2), fdiv(W + 1, 2))
    assert _scaled(sp.Mul(N, fdiv(H + 1, 2), fdiv(W + 1, 2)), sp.Integer(64)) is not None
    assert _scaled(numel(y), sp.Integer(3)) is not None
    assert _scaled(N * (H - 2) * (W - 2), 9) is not None
    assert _scaled(H, 2) is not None
    assert str(scale(scale(numel(y), sp.Integer(3)), sp.Integer(9))) == \
        "1728*N*floor(H/2 + 1/2)*floor(W/2 + 1/2)"  # 64 * 3 * 9 = 1728


def _freeze_before(x):
    # the inference-cache key as cnnsym built it before issue 12's fast path (reference)
    if isinstance(x, list):
        return tuple(_freeze_before(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze_before(v)) for k, v in x.items()))
    if hasattr(x, "__dataclass_fields__"):
        return (type(x).__name__, tuple(_freeze_before(getattr(x, f)) for f in x.__dataclass_fields__))
    return x


def test_inference_cache_keys_are_unchanged():
    from collections import OrderedDict
    from dataclasses import dataclass

    from cnnsym.ops import _freeze

    @dataclass
    class T:
        a: list
        b: int = 1

    values = [1, 2.5, "SAME_UPPER", b"NOTSET", None, True, (1, 2), [1, 1, 1, 1], [[1, 2], [3]], {"z": [1], "a": 2},
              OrderedDict(b=[1], a=(2,)), T([1, 2]), [T([3])], N, sp.Integer(3), {"t": T([1])}]
    attrs = [{}, {"pads": [1, 1, 1, 1], "strides": [2, 2], "auto_pad": b"NOTSET", "group": 1},
             {"kernel_shape": (3, 3), "value": T([1]), "axes": None, "mode": "linear", "f": 0.5}]
    for v in values + attrs:
        got, want = _freeze(v), _freeze_before(v)
        assert got == want and type(got) is type(want) and hash(got) == hash(want), (v, got, want)
    for bad in ([{1: 2, "a": 3}], {1: 2, "a": 3}):  # unorderable keys: both refuse (no cache)
        with pytest.raises(TypeError):
            _freeze_before(bad)
        with pytest.raises(TypeError):
            _freeze(bad)
    with pytest.raises(TypeError):  # an unhashable value stays unhashable: not remembered
        hash(_freeze([[1], {"s": [set()]}]))


def test_nbytes_is_sympys_product():
    from cnnsym.graph import DTYPE_BITS, nbytes, req_dim

    rng = random.Random(3)
    ns = [7, 0, sp.Integer(5)] + [numel(tuple(rng.choice(DIMS) for _ in range(rng.randint(1, 5)))) for _ in range(200)]
    for n in ns:
        for dt in (1, 7, 9, 10, 15, 8, 999):  # 4, 8, 1, 2, 16 bytes; string and unknown: 0
            bits = DTYPE_BITS.get(dt, 0)
            want = n * (bits // 8)
            got = nbytes(n, dt)
            if isinstance(want, int):
                assert got == want and type(got) is int
            else:
                same(got, want)
    assert req_dim(1, 2) is req_dim(1, 2) and req_dim(1, 2) == sp.Symbol("_req1_2", integer=True, nonnegative=True)


def test_eq_is_sympys_eq():
    from cnnsym.symbolic import as_expr, eq

    inf = sp.Symbol("i", infinite=True)
    atoms = [sp.Integer(0), sp.Integer(3), sp.Integer(64), sp.Integer(-2), N, C, H, x, nc, inf,
             fdiv(H + 1, 2), H - 2, 2 * C, sp.Rational(1, 2), sp.Float(3.0), sp.nan, sp.oo]
    for a in atoms:
        for b in atoms:
            got, want = eq(a, b), sp.Eq(a, b)
            assert got is want or (type(got) is type(want) and sp.srepr(got) == sp.srepr(want)), (a, b, got, want)
    with sp.evaluate(False):
        for a, b in ((N, N), (sp.Integer(3), sp.Integer(3)), (sp.Integer(3), sp.Integer(4))):
            assert sp.srepr(eq(a, b)) == sp.srepr(sp.Eq(a, b))
    for v in (0, 1, -1, 7, 4096, -4097, 2**70, True, False):  # as_expr's small-integer table
        same(as_expr(v), sp.Integer(int(v)))
