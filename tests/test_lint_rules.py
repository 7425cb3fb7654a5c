"""Every lint rule fires on its invalid examples and stays silent on its valid ones, as
ONNX graphs (always) and as PyTorch source (when the source frontend is importable);
every rule documents What / Why / Example / Fix; docs/rules.md is generated from them."""
import inspect
import textwrap
from pathlib import Path

import pytest

from cnnsym.config import Config
from cnnsym.lint import RULES, all_rules
from cnnsym.lint.engine import Options, lint_paths
from cnnsym.lint.examples import write_example

ROOT = Path(__file__).resolve().parent.parent


def _torch_frontend():
    try:
        from cnnsym.frontends.torch import load_source  # noqa: F401
    except Exception:  # noqa: BLE001 - absent or broken: the ONNX forms still run
        return False
    return True


TORCH = _torch_frontend()
RULESET = all_rules()
BUILTIN = {c: r for c, r in RULESET.items() if r.origin == "cnnsym"}


def cases():
    for code, r in BUILTIN.items():
        for which in ("invalid", "valid"):
            for i, ex in enumerate(getattr(r, which)):
                for kind in ("onnx", "torch"):
                    if getattr(ex, kind):
                        yield pytest.param(code, which, i, kind, id=f"{code}-{which}{i}-{kind}")


def lint_example(code, ex, kind, tmp_path):
    ex2 = type(ex)(**{**ex.__dict__, ("torch" if kind == "onnx" else "onnx"): None})
    paths = write_example(ex2, str(tmp_path))
    assert len(paths) == 1
    cfg = Config(root=str(tmp_path))
    if ex.options:
        cfg.budgets = dict(ex.options.get("budgets", {}))
    opts = Options({code: RULESET[code]}, [ex.input] if ex.input else None, cfg, cache=False)
    return lint_paths([paths[0][1]], opts)


@pytest.mark.parametrize("code,which,i,kind", list(cases()))
def test_rule_example(code, which, i, kind, tmp_path):
    if kind == "torch" and not TORCH:
        pytest.skip("the PyTorch-source frontend (cnnsym.frontends.torch) is not available")
    ex = getattr(RULESET[code], which)[i]
    res = lint_example(code, ex, kind, tmp_path)
    assert not res.errors, res.errors
    mine = [f for f in res.findings if f.code == code]
    if which == "invalid":
        assert mine, f"{code} did not fire on its invalid example {i} ({kind})"
        if ex.expect:
            for f in mine:
                assert ex.expect in f.message, (ex.expect, f.message)
        for f in mine:
            assert f.severity == RULESET[code].severity
            assert f.line >= 1 and f.col >= 1
            if kind == "torch" and f.node:
                assert f.line > 1, "a source finding points at the layer's line"
    else:
        assert not mine, f"{code} fired on its valid example {i} ({kind}): {[f.message for f in mine]}"


@pytest.mark.parametrize("code", list(BUILTIN))
def test_rule_documented(code):
    r = RULESET[code]
    doc = inspect.cleandoc(r.__doc__ or "")
    for head in ("What:", "Why:", "Example:", "Fix:"):
        assert f"\n{head}" in "\n" + doc, f"{code} docstring lacks {head}"
    assert r.invalid and r.valid, f"{code} needs valid and invalid examples"
    assert r.name and r.name == r.name.lower() and " " not in r.name


def test_codes_and_severities():
    for code, r in BUILTIN.items():
        assert code.startswith("CNS") and len(code) == 6
        want = {"0": "info", "1": "error", "2": "warning", "3": "error"}[code[3]]
        assert r.severity == want, code
    for code in ("CNS101", "CNS102", "CNS103", "CNS104", "CNS105", "CNS201", "CNS202", "CNS203", "CNS204", "CNS205"):
        assert code in BUILTIN
    assert not BUILTIN["CNS205"].default


def test_docs_up_to_date():
    from cnnsym.lint.docs import rules_markdown

    want = rules_markdown(BUILTIN)
    have = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert have == want, "docs/rules.md is stale: regenerate with `cnnsym rules --format markdown > docs/rules.md` " \
                         "(with no plugins installed: CNNSYM_NO_PLUGINS=1)"


def test_duplicate_rule_code_rejected():
    from cnnsym.lint import Rule, rule

    with pytest.raises(ValueError, match="already registered"):
        @rule
        class Again(Rule):
            code, name = "CNS101", "again"


def test_selection():
    from cnnsym.lint import selected

    assert "CNS205" not in selected(RULESET)
    assert "CNS205" in selected(RULESET, extend_select=["CNS205"])
    assert "CNS205" not in selected(RULESET, select=["CNS2"])  # off by default: full code only
    s = selected(RULESET, select=["CNS1"], ignore=["CNS102"])
    assert "CNS101" in s and "CNS102" not in s and "CNS201" not in s
    assert "CNS102" in selected(RULESET, ignore=["CNS1"], extend_select=["CNS102"])
