"""docs/rules.md, generated from the rules: code, name, severity, docstring (What / Why /
Example / Fix) and the rule's own valid / invalid examples."""
from __future__ import annotations

import inspect
import textwrap

HEADER = """# cnnsym lint rules

Generated from the rules themselves (`cnnsym rules --format markdown > docs/rules.md`);
`tests/test_lint_rules.py` checks that this file is up to date and that every rule fires on
its invalid examples and stays silent on its valid ones.

Severities: **CNS0xx** information (what cnnsym could not analyse), **CNS1xx** errors (the
model cannot run as written), **CNS2xx** warnings, **CNS3xx** budgets (errors). Suppress one
finding with `# noqa: CNS101` or `# cnnsym: ignore[CNS101]` on the layer's line (its
definition or its call in `forward`); select and ignore codes in `[tool.cnnsym]`.

| code | name | severity | default | summary |
|---|---|---|---|---|
"""


def _sections(doc: str):
    """Docstring -> (summary, [(heading, text)]) for What/Why/Example/Fix paragraphs."""
    doc = inspect.cleandoc(doc or "")
    paras = [p.strip() for p in doc.split("\n\n") if p.strip()]
    summary = paras[0] if paras else ""
    out = []
    for p in paras[1:]:
        head, sep, rest = p.partition(":")
        if sep and head in ("What", "Why", "Example", "Fix"):
            out.append((head, " ".join(rest.split())))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + " " + " ".join(p.split()))
    return summary, out


def _example_md(ex, kind):
    parts = []
    size = f"input `{ex.input}`" if ex.input else "no configured input size"
    extra = f"; options `{ex.options}`" if ex.options else ""
    note = f" — {ex.note}" if ex.note else ""
    parts.append(f"*{kind}*, {size}{extra}{note}:")
    parts.append("")
    if ex.torch:
        parts += ["```python", textwrap.dedent(ex.torch).strip(), "```", ""]
    if ex.onnx:
        parts += ["```", textwrap.dedent(ex.onnx).strip(), "```", ""]
    return parts


def rules_markdown(rules: dict) -> str:
    L = [HEADER.rstrip("\n")]
    for code, r in rules.items():
        L.append(f"| [{code}](#{code.lower()}) | `{r.name}` | {r.severity} | {'on' if r.default else 'off'} | "
                 f"{r.summary().replace('|', '/')} |")
    L.append("")
    for code, r in rules.items():
        summary, secs = _sections(r.__doc__)
        L += [f"## {code}", "", f"`{r.name}` · {r.severity} · {'on' if r.default else 'off'} by default"
              + (" · needs an input size" if r.needs_input else "")
              + (f" · from {r.origin}" if r.origin != "cnnsym" else ""), "", summary, ""]
        for head, text in secs:
            L += [f"**{head}.** {text}", ""]
        for ex in r.invalid:
            L += _example_md(ex, "Fires on")
        for ex in r.valid:
            L += _example_md(ex, "Silent on")
    return "\n".join(L).rstrip() + "\n"
