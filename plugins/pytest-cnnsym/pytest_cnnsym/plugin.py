"""The pytest plugin: a ``cnnsym_report`` fixture and a ``cnnsym_budget`` marker.

``@pytest.mark.cnnsym_budget(MODEL, input=..., bind=..., for_all=..., max_params=..., ...)``
checks the budgets after the test body passes; over budget, the test fails with one line
per exceeded budget (actual, budget, how much over, the formula), no traceback.
``cnnsym_report(MODEL, input=None, bind=None)`` returns cnnsym's Report (cached per
session): ``.values`` holds the totals at the bindings, ``.totals`` their formulas.
"""
from __future__ import annotations

import os

import pytest

from cnnsym.config import BUDGETS as _REGISTRY  # noqa: E402  (light: no sympy)

BUDGETS = tuple(k.replace("-", "_") for k in _REGISTRY)  # the one registry of budgets
OTHER = ("input", "bind", "for_all")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "cnnsym_budget(model, *, input=None, bind=None, for_all=None, max_params=None, max_macs=None, ...): "
        "fail the test when the cnnsym budgets of MODEL (path.onnx or path.py::Class) are exceeded")


class _Cache:
    def __init__(self):
        self.store = {}

    def get(self, root, model, input=None, bind=None):
        key = (root, model, input, bind)
        if key not in self.store:
            self.store[key] = _analyse(root, model, input, bind)
        return self.store[key]


def _resolve(root, model):
    path, sep, call = str(model).partition("::")
    if not os.path.isabs(path):
        path = os.path.join(root, path)
    return path + sep + call


def _analyse(root, model, input=None, bind=None):
    import cnnsym

    # the library API: the same pipeline (and plugin loading) as `cnnsym report`
    return None, cnnsym.analyze(_resolve(root, model), input=input or None, bind=bind or None)


_CACHE = _Cache()


@pytest.fixture
def cnnsym_report(request):
    """``cnnsym_report(model=None, input=None, bind=None)`` -> cnnsym Report. Without a
    model, the one named by the test's ``cnnsym_budget`` marker."""
    root = str(request.config.rootpath)
    marker = request.node.get_closest_marker("cnnsym_budget")

    def get(model=None, input=None, bind=None):
        if model is None:
            if marker is None or not marker.args:
                raise pytest.UsageError("cnnsym_report(): name a model, or mark the test with cnnsym_budget(MODEL, ...)")
            model = marker.args[0]
            input = input or marker.kwargs.get("input")
            bind = bind or marker.kwargs.get("bind")
        return _CACHE.get(root, model, input, bind)[1]

    return get


def _check(item, marker):
    from cnnsym.budget import check_at, check_range, human, parse_amount, parse_for_all
    from cnnsym.config import BUDGET_KEYS
    from cnnsym.errors import CnnsymError
    from cnnsym.symbolic import to_str

    if not marker.args:
        pytest.fail("cnnsym_budget: give the model as the first argument, e.g. "
                    "@pytest.mark.cnnsym_budget('models/net.py::Net', max_params='25M')", pytrace=False)
    model = marker.args[0]
    kw = dict(marker.kwargs)
    unknown = [k for k in kw if k not in BUDGETS + OTHER]
    if unknown:
        pytest.fail(f"cnnsym_budget: unknown keyword {', '.join(unknown)} (budgets: {', '.join(BUDGETS)}; "
                    f"also {', '.join(OTHER)})", pytrace=False)
    budgets, given = {}, {}
    for k in BUDGETS:
        if kw.get(k) is not None:
            key = k.replace("_", "-")
            try:
                budgets[key] = parse_amount(kw[k], BUDGET_KEYS[key])
            except ValueError as e:
                pytest.fail(f"cnnsym_budget: {k}={kw[k]!r}: {e}", pytrace=False)
            given[key] = f"{k}={kw[k]}"
    if not budgets:
        pytest.fail("cnnsym_budget: no budget given (max_params=..., max_macs=..., ...)", pytrace=False)
    try:
        graph, rep = _CACHE.get(str(item.config.rootpath), model, kw.get("input"), kw.get("bind"))
        if rep.errors:
            pytest.fail(f"cnnsym: {model} is invalid: {rep.errors[0]}", pytrace=False)
        if kw.get("for_all"):
            results = check_range(rep, budgets, parse_for_all(kw["for_all"]), rep.bindings)
            where = f"over {kw['for_all']}"
        else:
            results = check_at(rep, budgets, rep.bindings)
            where = "at " + (", ".join(f"{k}={v}" for k, v in rep.bindings.items()) or "static dims")
    except CnnsymError as e:
        pytest.fail(f"cnnsym: {model}: {e}", pytrace=False)
    except ValueError as e:
        pytest.fail(f"cnnsym_budget: {e}", pytrace=False)
    bad = [r for r in results if not r.ok]
    if not bad:
        return
    lines = [f"cnnsym budget exceeded: {model} {where}"]
    for r in bad:
        if r.actual is None:
            lines.append(f"  {r.label}: unknown ({r.note or 'not computable'}), budget {given[r.key]}")
            continue
        over = (r.actual - r.budget) / r.budget * 100 if r.budget else float("inf")
        layer = f" in layer {r.layer!r}" if r.layer else ""
        at = f" at {r.where}" if kw.get("for_all") and r.where else ""
        lines.append(f"  {r.label}{layer}: {human(r.actual, r.kind)} ({r.actual:,}) > {given[r.key]} "
                     f"({human(r.budget, r.kind)}), over by {over:.1f}%{at}")
        if r.formula is not None:
            lines.append(f"    formula: {to_str(r.formula)}")
        if r.proof:
            lines.append(f"    worst case: {r.proof}")
    pytest.fail("\n".join(lines), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    res = yield
    marker = item.get_closest_marker("cnnsym_budget")
    if marker is not None:
        _check(item, marker)
    return res
