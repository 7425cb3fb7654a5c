"""`cnnsym verify`: a verification result as a table or JSON."""
from __future__ import annotations

import json
from collections import Counter

from .layout import wrap
from .registry import RenderOptions, register_format


def render_verify_json(res, options: RenderOptions | None = None) -> str:
    return json.dumps({
        "schema_version": 1,
        "model": res.path,
        "device": res.device,
        "ok": res.ok,
        "exit_code": res.exit_code,
        "errors": list(getattr(res, "errors", ())),
        "verdict": res.verdict(),
        "bindings": res.bindings,
        "notes": res.notes,
        "checks": [{"what": c.what, "where": c.where, "binding": c.binding, "expected": c.expected,
                    "got": c.got, "ok": c.ok} for c in res.checks],
    }, indent=1) + "\n"


def render_verify_table(res, show_all=False, width=None) -> str:
    """Mismatches (every check with ``show_all``), the tally per kind and the verdict; prose
    lines wrapped at ``width`` (default 80), the mismatch table kept whole."""
    width = width or 80
    lines = [f"cnnsym verify: {res.path} on {res.device}"]
    lines.append("bindings: " + "; ".join(",".join(f"{k}={v}" for k, v in b.items()) or "static" for b in res.bindings))
    for n in res.notes:
        lines.append(f"note: {n}")
    rows = [c for c in res.checks if show_all or not c.ok]
    if rows:
        heads = ("what", "where", "binding", "expected", "got", "")
        data = [(c.what, _clip(c.where, 40), c.binding, _clip(c.expected, 40), _clip(c.got, 40), "ok" if c.ok else "MISMATCH")
                for c in rows]
        widths = [max(len(h), *(len(r[i]) for r in data)) for i, h in enumerate(heads)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
        for r in data:
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    total, bad = Counter(c.what for c in res.checks), Counter(c.what for c in res.checks if not c.ok)
    lines.append("checks: " + ", ".join(f"{k} {total[k] - bad[k]}/{total[k]}" for k in sorted(total)))
    for c in res.checks:
        if c.what == "receptive_field" and c.ok and not show_all:
            lines.append(f"  receptive field {c.where}: {c.got} at {c.binding or 'the static sizes'}")
    lines.append(res.verdict())
    out = []
    for line in lines:
        if line.startswith(("what  ", "receptive_field  ", "shape  ", "params  ", "run  ")) or len(line) <= width:
            out.append(line)
            continue
        lead = len(line) - len(line.lstrip(" "))
        out.extend(wrap(line.strip(), width, indent=lead, cont_indent=lead + 4))
    return "\n".join(out) + "\n"


def _clip(s, n):
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


@register_format("table", "the mismatches, a tally per kind and the verdict", subject="verify")
def verify_table(res, options: RenderOptions | None = None) -> str:
    return render_verify_table(res, bool(options and options.show_all_checks), options.width if options else None)


register_format("json", "every check", subject="verify", suffix=".json")(render_verify_json)
