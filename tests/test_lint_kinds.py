"""Which lint rule owns a problem is decided by a typed kind the ops set (ShapeError(kind=)
-> Problem.kind, errors.Need(kind=) -> Constraint.kind), never by the wording of a message
(issue 14): every rule example, linted again with every Problem and Constraint message
reworded, gives the same rules on the same nodes."""
import dataclasses
from pathlib import Path

import pytest

import cnnsym.lint.engine as engine
from cnnsym.config import Config
from cnnsym.errors import SIZE
from cnnsym.lint import all_rules
from cnnsym.lint.examples import write_example

RULESET = all_rules()
BUILTIN = {c: r for c, r in RULESET.items() if r.origin == "cnnsym"}


def cases():
    for code, r in BUILTIN.items():
        for i, ex in enumerate(r.invalid):
            for kind in ("onnx", "torch"):
                if getattr(ex, kind):
                    yield pytest.param(code, i, kind, id=f"{code}-invalid{i}-{kind}")


def _reworded(report):
    cons = [dataclasses.replace(c, message=f"requirement {k} (reworded)") for k, c in enumerate(report.constraints)]
    probs = [dataclasses.replace(p, message=f"problem {k} (reworded)") for k, p in enumerate(report.problems)]
    return dataclasses.replace(report, constraints=cons, problems=probs)


def _lint(ex, kind, tmp_path):
    ex2 = type(ex)(**{**ex.__dict__, ("torch" if kind == "onnx" else "onnx"): None})
    (path,) = [p for _, p in write_example(ex2, str(tmp_path))]
    cfg = Config(root=str(tmp_path))
    if ex.options:
        cfg.budgets = dict(ex.options.get("budgets", {}))
    opts = engine.Options(dict(BUILTIN), [ex.input] if ex.input else None, cfg, cache=False)
    res = engine.lint_paths([path], opts)
    assert not res.errors, res.errors
    return sorted((f.code, f.node) for f in res.findings)


@pytest.mark.parametrize("code,i,kind", list(cases()))
def test_rewording_messages_changes_no_lint_result(code, i, kind, tmp_path, monkeypatch):
    ex = BUILTIN[code].invalid[i]
    before = _lint(ex, kind, tmp_path / "a")
    assert any(c == code for c, _ in before)
    real = engine.api.analyze_loaded
    monkeypatch.setattr(engine.api, "analyze_loaded", lambda *a, **k: _reworded(real(*a, **k)))
    after = _lint(ex, kind, tmp_path / "b")
    assert after == before


def test_window_constraints_are_typed():
    import cnnsym

    rep = cnnsym.analyze(str(Path(__file__).resolve().parent.parent / "fixtures" / "torch" / "lenet.py") + "::Net")
    sizes = [c for c in rep.constraints if c.kind == SIZE]
    assert sizes and all(c.axis in (2, 3) for c in sizes)
