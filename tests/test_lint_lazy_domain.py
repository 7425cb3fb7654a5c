"""Lint's analyses leave the domain scans (smallest valid input, each symbol's valid range)
until they are read, where the bindings hold (issue 12: lint's rules read neither, and the
scans' compiled constraints were a sixth of its analysis); and lint's "does any input size
fit?" asks the default size by exact substitution before compiling a scan. Expected values
are hand arithmetic (in the comments) and the eager analysis, a different code path."""
from __future__ import annotations

import dataclasses
import pickle

import pytest
import sympy as sp

from cnnsym import domain
from cnnsym.analyze import analyze
from cnnsym.api import load
from cnnsym.lint.context import SCAN_LIMIT, LintContext
from cnnsym.lint.examples import onnx_model
from cnnsym.report import Constraint, LazyMap, Report

# a 7x7 conv, stride 2, no padding: out = floor((H - 7) / 2) + 1 >= 1  <=>  H >= 7, so the
# smallest valid input is 7 on both axes and each axis' valid range is ">= 7"; at the
# default size 224 it holds (out = 109), so the lazy analysis defers the scans
CONV7 = """
    m (float[N,3,H,W] x) => (float y) <float[8,3,7,7] w> {
      y = Conv<strides=[2,2]>(x, w)
    }"""


@pytest.fixture
def scans(monkeypatch):
    calls = []
    real = domain._scan
    monkeypatch.setattr(domain, "_scan", lambda *a: calls.append(1) or real(*a))
    return calls


def test_scans_run_on_first_read_and_give_the_hand_figures(scans):
    model = onnx_model(CONV7)
    lazy = analyze(load(model), lazy=True)
    assert scans == [] and isinstance(lazy.valid_ranges, LazyMap)
    assert lazy.bindings == {"N": 1, "H": 224, "W": 224}  # decided without the scans
    assert lazy.smallest_input == {"H": 7, "W": 7}
    assert {k: v["text"] for k, v in lazy.valid_ranges.items()} == {"H": ">= 7", "W": ">= 7"}
    assert len(scans) == 1  # both fields from one scan
    eager = analyze(load(model))
    assert eager.smallest_input == lazy.smallest_input and eager.valid_ranges == dict(lazy.valid_ranges)
    assert lazy == eager and eager == lazy
    assert lazy.to_json() == eager.to_json()


def test_lazy_report_pickles_and_replaces_as_a_report():
    lazy = analyze(load(onnx_model(CONV7)), lazy=True)
    back = pickle.loads(pickle.dumps(lazy))
    assert type(back) is Report and back.smallest_input == {"H": 7, "W": 7}
    assert dict(back.valid_ranges)["H"]["min"] == 7
    moved = dataclasses.replace(lazy, path="other.onnx")
    assert moved.path == "other.onnx" and moved.smallest_input == {"H": 7, "W": 7}


def test_violated_bindings_take_the_eager_path(scans):
    # bindings outside the domain (H = W = 5 < 7): the solver scans to say where it is valid
    model = onnx_model(CONV7)
    rep = analyze(load(model), {"H": 5, "W": 5}, strict_bindings=False, lazy=True)
    assert len(scans) == 1 and type(rep) is Report
    assert rep.smallest_input == {"H": 7, "W": 7}


def _ctx(spatial):
    return LintContext(Report("m.onnx", "onnx", {}, [], [], {}, [], {}, []), bindings=None, spatial=spatial)


H, W, D = sp.symbols("H W D", integer=True, positive=True)


@pytest.mark.parametrize("rel, syms, expect", [
    # holds at 224 (224 // 32 = 7): some size fits, found without a scan
    (sp.Eq(sp.floor(H / 32), 7), ["H"], False),
    # fails at 224, holds at 96..127 (floor(H / 32) = 3): the scan finds them
    (sp.Eq(sp.floor(H / 32), 3), ["H"], False),
    # only H = 2000 fits, past the scanned 1..SCAN_LIMIT (1024): violated
    (sp.Eq(H, 2000), ["H"], True),
    # two axes: 224 + 224 = 448 fits
    (sp.Eq(H + W, 448), ["H", "W"], False),
    # three axes: the grid is 1..126 per axis (round(2e6 ** (1/3)) = 126), so 224 is not
    # on it and H + W + D = 672 needs a size > 126 on some axis (3 * 126 = 378 < 672):
    # violated, as the scan alone says, although 224 on each axis fits
    (sp.Eq(H + W + D, 672), ["H", "W", "D"], True),
])
def test_any_size_fits_as_the_scan_says(rel, syms, expect, monkeypatch):
    assert SCAN_LIMIT == 1024
    c = Constraint(rel, "test", "n0")
    assert _ctx(syms).violated(c) is expect
    # the same answer with the shortcut off (the scan alone)
    monkeypatch.setattr(LintContext, "_holds_at_default", staticmethod(lambda *a, **k: False))
    assert _ctx(syms).violated(c) is expect
