"""Canonical floor forms are exact: checked against Python integer arithmetic (an
independent oracle) on many values, including negative and odd ones."""
import math

import sympy as sp
from hypothesis import given, settings, strategies as st

from cnnsym.symbolic import cdiv, dim_symbol, fdiv, readable, to_str

H = dim_symbol("H")


def value(e, h):
    return int(e.xreplace({H: sp.Integer(h)}))


def chain(h, layers):
    """Reference: the same stack of layers in plain integers."""
    for k, s, p in layers:
        h = (h + 2 * p - (k - 1) - 1) // s + 1
    return h


RESNET_STEM_TO_LAYER4 = [(7, 2, 3), (3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 2, 1)]


def test_resnet_stride32_is_one_ceiling():
    h = H
    for k, s, p in RESNET_STEM_TO_LAYER4:
        h = fdiv(h + 2 * p - (k - 1) - 1, s) + 1
    # printed as a person writes it, and parses back
    assert to_str(h) == "ceiling(H/32)"
    assert sp.sympify(to_str(h), locals={"H": H}).has(sp.ceiling)
    for x in list(range(1, 200)) + [223, 224, 225, 1023]:
        assert value(h, x) == chain(x, RESNET_STEM_TO_LAYER4) == math.ceil(x / 32)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=6),
       st.integers(1, 500))
def test_nested_floors_collapse_exactly(layers, x):
    h = H
    for k, s, p in layers:
        h = fdiv(h + 2 * p - (k - 1) - 1, s) + 1
    assert len(h.atoms(sp.floor)) <= 1  # never nested
    assert value(h, x) == chain(x, layers)


@settings(max_examples=300, deadline=None)
@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(1, 9), st.integers(-300, 300))
def test_fdiv_cdiv_match_integer_division(a, b, n, x):
    e = a * H + b
    assert value(fdiv(e, n), x) == (a * x + b) // n
    assert value(cdiv(e, n), x) == -((-(a * x + b)) // n)
    assert value(readable(fdiv(e, n)), x) == (a * x + b) // n


def test_fdiv_of_constants_and_unit_divisor():
    assert fdiv(7, 2) == 3 and fdiv(-7, 2) == -4
    assert fdiv(H, 1) == H
    assert fdiv(4 * H + 3, 4) == H
