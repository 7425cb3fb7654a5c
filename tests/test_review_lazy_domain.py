"""Review of analyze(lazy=True)'s deferred domain scans (DeferredDomainReport) and of lint's
'does any size fit?' shortcut (LintContext._holds_at_default).

Oracles: the eager analysis (lazy=False, a different code path: the scans run inside
analyze), the scan alone (the shortcut switched off), and hand arithmetic in comments."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
import sympy as sp

from cnnsym.analyze import analyze
from cnnsym.api import load
from cnnsym.lint.context import LintContext
from cnnsym.lint.examples import onnx_model
from cnnsym.report import Constraint, DeferredDomainReport, Report

# a 7x7 conv, stride 2, no padding: out = floor((H - 7) / 2) + 1 >= 1  <=>  H >= 7: the
# smallest valid input is H = W = 7, and each axis' valid range is ">= 7"; 224 is valid, so
# the lazy analysis defers the scans
CONV7 = """
    m (float[N,3,H,W] x) => (float y) <float[8,3,7,7] w> {
      y = Conv<strides=[2,2]>(x, w)
    }"""

H, W = sp.symbols("H W", integer=True, positive=True)


def _pair(bindings=None):
    model = onnx_model(CONV7)
    eager = analyze(load(model), bindings, strict_bindings=False)
    lazy = analyze(load(model), bindings, strict_bindings=False, lazy=True)
    return eager, lazy


def test_the_deferred_scan_sees_the_constraints_as_they_were_at_analysis():
    """The eager Report's smallest input and ranges are fixed when analyze returns; the lazy
    one's must be too, whatever happens to the report's lists before the first read (a
    rule or plugin that appends to report.constraints, as the analysis' own code does while
    it builds them). Before the fix the deferred scan read the live list."""
    eager, lazy = _pair()
    assert type(lazy) is DeferredDomainReport
    extra = Constraint(sp.Ge(H, 100), "planted after the analysis", "n0")
    eager.constraints.append(extra)
    lazy.constraints.append(extra)
    # eager: scanned before the append, H >= 7 (hand arithmetic above)
    assert eager.smallest_input == {"H": 7, "W": 7}
    assert lazy.smallest_input == eager.smallest_input  # not {"H": 100, "W": 100}
    assert dict(lazy.valid_ranges) == eager.valid_ranges
    assert lazy.valid_ranges["H"]["text"] == ">= 7"


@pytest.mark.parametrize("bindings", [None, {"H": 64, "W": 64}, {"N": 2}, {"H": 7, "W": 300}])
def test_every_read_equals_the_eager_report(bindings):
    eager, lazy = _pair(bindings)
    assert type(lazy) is DeferredDomainReport  # bindings that hold: the lazy path
    assert lazy == eager and eager == lazy and not (lazy != eager) and not (eager != lazy)
    assert lazy.bindings == eager.bindings and lazy.binding_notes == eager.binding_notes
    assert lazy.to_json() == eager.to_json()
    assert lazy.render("table") == eager.render("table") and lazy.to_markdown() == eager.to_markdown()
    assert repr(lazy) == repr(eager)
    for other in (copy.copy(lazy), copy.deepcopy(lazy), pickle.loads(pickle.dumps(lazy, protocol=2)),
                  pickle.loads(pickle.dumps(lazy))):
        assert type(other) is Report and other == eager
    d_lazy, d_eager = dataclasses.asdict(lazy), dataclasses.asdict(eager)
    assert d_lazy["smallest_input"] == d_eager["smallest_input"] and d_lazy["valid_ranges"] == d_eager["valid_ranges"]
    assert dataclasses.replace(lazy, path="x") == dataclasses.replace(eager, path="x")
    with pytest.raises(TypeError):  # neither hashes (dict fields), as before
        hash(lazy)
    with pytest.raises(TypeError):
        hash(eager)


def test_violated_user_bindings_keep_the_eager_path():
    # H = W = 5 < 7: violated; the user chose them, so they stay, with the error (not strict)
    eager, lazy = _pair({"H": 5, "W": 5})
    assert type(lazy) is Report and lazy == eager
    assert lazy.bindings is None and lazy.errors == eager.errors and lazy.smallest_input == {"H": 7, "W": 7}


def _ctx(spatial):
    return LintContext(Report("m.onnx", "onnx", {}, [], [], {}, [], {}, []), bindings=None, spatial=spatial)


@pytest.mark.parametrize("rel, syms", [
    (sp.Eq(sp.floor((H - 7) / 2) + 1, 109), ["H"]),  # (224 - 7) // 2 + 1 = 109: holds at 224
    (sp.Eq(sp.Mod(H * W, 7), 0), ["H", "W"]),  # 224 = 32 * 7
    (sp.Eq(sp.Min(H, 2 * W) - sp.Max(W - 100, 3), 100), ["H", "W"]),  # 224 - 124 = 100
    (sp.Eq(sp.ceiling(H / 3) * W, 75 * 224), ["H", "W"]),  # ceil(224 / 3) = 75
    (sp.Ge(H / W, 1), ["H", "W"]),  # 224 / 224 = 1
    (sp.Eq(sp.floor(H / W) + sp.Mod(W, H), 1), ["H", "W"]),
    (sp.Lt(H, 224), ["H"]),  # fails at 224, holds at 1..223: the scan's answer
    (sp.Eq(H * W, 224 * 224 + 1), ["H", "W"]),  # 50177 = 7 * 43 * 167: 167 * 301 fits on 1..1024
])
def test_the_default_size_shortcut_gives_the_scans_answer(rel, syms, monkeypatch):
    c = Constraint(rel, "test", "n0")
    with_shortcut = _ctx(syms).violated(c)
    monkeypatch.setattr(LintContext, "_holds_at_default", staticmethod(lambda *a, **k: False))
    assert with_shortcut is _ctx(syms).violated(c)
