"""Lint rules: one class per rule, registered by decorator, reading the Report only.

A rule has a stable ``code`` (``CNS101``), a ``name`` (``linear-in-features``), a
severity (CNS0xx information, CNS1xx errors: the model cannot run as written, CNS2xx
warnings, CNS3xx budgets: errors), a docstring with **What / Why / Example / Fix**, and
``valid`` / ``invalid`` examples that are its tests and its documentation
(``docs/rules.md`` is generated from them). :meth:`Rule.check` gets a
:class:`~cnnsym.lint.context.LintContext` and yields :class:`Finding` s.

A plugin adds a rule exactly as the built-ins do::

    from cnnsym.lint import Rule, rule

    @rule
    class NoHugeKernels(Rule):
        '''What: ... Why: ... Example: ... Fix: ...'''
        code, name = "XYZ201", "huge-kernel"
        def check(self, ctx):
            for r in ctx.nodes("Conv"):
                ...
                yield ctx.finding(self, r, "kernel larger than 11")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .. import plugins

SEVERITIES = ("error", "warning", "info")


@dataclass
class Example:
    """A rule example, which is also its test: a small model as PyTorch source (``torch``,
    a model.py text whose root model is analysed) and/or as ONNX text format (``onnx``,
    parsed with ``onnx.parser``; initializers are declared in the graph's ``<...>`` list
    without values and filled with zeros), linted at ``input`` (dims, e.g. "1x3x32x32",
    or None: no configured size) with ``options`` (as [tool.cnnsym.models] gives them).
    ``expect``: a substring every finding's message holds."""

    torch: Optional[str] = None
    onnx: Optional[str] = None
    input: Optional[str] = None
    expect: Optional[str] = None
    note: str = ""
    options: Optional[dict] = None  # lint options, e.g. {"budgets": {"max-params": "1k"}}


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    message: str
    path: str
    line: int = 1
    col: int = 1
    node: str = ""  # node name, "" for the model as a whole
    model: str = ""  # the model spec (path or path::Name)
    alt_lines: tuple = ()  # other lines whose noqa comment applies (the layer's call site)
    fix: str = ""
    # other places that explain the finding, each a Related: the constructor calls a layer
    # was built through (outermost first), the layer's own construction, the producer's
    # argument; the finding itself is where the value to edit was written
    related: tuple = ()

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "severity": self.severity, "message": self.message,
                "path": self.path, "line": self.line, "col": self.col, "node": self.node, "model": self.model,
                "fix": self.fix, "related": [r.to_dict() for r in self.related]}

    @classmethod
    def from_dict(cls, d: dict) -> "Finding":
        return cls(d["code"], d["name"], d["severity"], d["message"], d["path"], d.get("line", 1), d.get("col", 1),
                   d.get("node", ""), d.get("model", ""), tuple(d.get("alt_lines", ())), d.get("fix", ""),
                   tuple(Related.from_dict(r) for r in d.get("related", ())))


@dataclass(frozen=True)
class Related:
    """A related location of a finding (text: an indented ``path:line:col: note: ...``
    line; SARIF: a ``relatedLocations`` entry)."""

    path: str
    line: int
    col: int
    message: str

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "col": self.col, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict) -> "Related":
        return cls(d["path"], d.get("line", 1), d.get("col", 1), d.get("message", ""))


class Rule:
    """Base class; see the module docstring."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[str] = ""  # default from the code: CNS0 info, CNS1 error, CNS2 warning, CNS3 error
    default: ClassVar[bool] = True  # on unless deselected; False: only when selected by code
    needs_input: ClassVar[bool] = False  # only meaningful at a configured input size
    fix: ClassVar[str] = ""  # one line: how to fix (also in the docstring's Fix section)
    valid: ClassVar[list] = []
    invalid: ClassVar[list] = []
    origin: ClassVar[str] = "cnnsym"
    # True: the rule may be given the Report lint makes lazily (totals, values, warnings and
    # receptive fields computed on first read, as Mapping/Sequence stand-ins equal to the
    # dicts and lists: docs/lint.md). cnnsym's own rules are; a plugin's rule gets the
    # Report as cnnsym.analyze returns it unless it says so
    lazy_report: ClassVar[bool] = False

    def check(self, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""


RULES: dict = {}


def _default_severity(code: str) -> str:
    if code.startswith("CNS0"):
        return "info"
    if code.startswith("CNS2"):
        return "warning"
    return "error"


def rule(cls=None, *, origin: str | None = None):
    """Class decorator adding a rule; a duplicate code is an error (a plugin cannot
    silently replace a built-in rule)."""

    def deco(c):
        import re

        if not re.fullmatch(r"[A-Z]+[0-9]+", c.code or ""):
            raise ValueError(f"rule {c.__name__}: code {c.code!r} must be letters then digits, e.g. CNS101")
        if not c.name:
            raise ValueError(f"rule {c.code}: needs a name")
        prev = RULES.get(c.code)
        if prev is not None and prev is not c:
            raise ValueError(f"rule {c.code} is already registered by {prev.origin} ({prev.__name__})")
        if not c.severity:
            c.severity = _default_severity(c.code)
        if c.severity not in SEVERITIES:
            raise ValueError(f"rule {c.code}: severity {c.severity!r} is not one of {', '.join(SEVERITIES)}")
        if origin is not None:
            c.origin = origin
        RULES[c.code] = c
        return c

    return deco(cls) if cls is not None else deco


_BUILTIN = False


def load_builtin_rules():
    global _BUILTIN
    if _BUILTIN:
        return
    _BUILTIN = True
    from . import rules_budget, rules_errors, rules_info, rules_warnings  # noqa: F401


plugins.track("rules", RULES, str, load_builtin_rules)


def all_rules() -> dict:
    """Every rule: built-ins, then plugins (entry points and config)."""
    from ..ops import load_builtin_ops  # not at the top: a warm `cnnsym lint` reads Finding and no op (issue 12)

    load_builtin_rules()
    load_builtin_ops()
    plugins.load_plugins()
    return dict(sorted(RULES.items()))


def selected(rules: dict, select=None, extend_select=(), ignore=()) -> dict:
    """Rules chosen by code prefixes: ``select`` (default: every rule with default=True),
    plus ``extend_select``, minus ``ignore``; the longest matching prefix wins, as in ruff."""

    def best(code, prefixes, exact=False):
        return max((len(p) for p in prefixes if (p == code if exact else code.startswith(p))), default=-1)

    out = {}
    for code, r in rules.items():
        # a rule that is off by default is selected by its full code only
        sel = best(code, select, not r.default) if select is not None else (0 if r.default else -1)
        ext = best(code, extend_select or (), not r.default)
        ign = best(code, ignore or ())
        on = max(sel, ext)
        if on >= 0 and on > ign:
            out[code] = r
    return out


from cnnsym._public import make_callable  # noqa: E402  (the package is also the function cnnsym.lint)
make_callable(__name__)
