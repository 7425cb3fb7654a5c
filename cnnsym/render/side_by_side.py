"""Several models side by side (``cnnsym report a.onnx b.py::Net c.onnx``): one row per
model with params (trainable + buffers, as torch counts), MACs and peak memory at its bindings, its smallest valid input, then
per model the formulas and the valid range. Text (no line over the width), Markdown and
JSON. Not a registered format: it renders a list of Reports, not one.
"""
from __future__ import annotations

import json

from .common import _jsonable, bindings_text, human, is_int, partial_note, to_str
from .layout import cut_left, wrap

# params as torch counts them: trainable + buffers (other constants apart)
COLUMNS = (("params", "params", "count"), ("MACs", "macs", "count"),
           ("peak memory", "peak_activation_bytes", "bytes"))
_PARTS = {"params": ("params.trainable", "params.buffers")}


def _total(report, key):
    """(formula, value at the bindings or None) of a total."""
    keys = _PARTS.get(key, (key,))
    if any(k not in report.totals for k in keys):
        return None, None
    expr = sum((report.totals[k] for k in keys[1:]), report.totals[keys[0]])
    if report.bindings is None or not report.values or any(k not in report.values for k in keys):
        return expr, None
    vals = [_jsonable(report.values[k]) for k in keys]
    return expr, (sum(vals) if all(is_int(v) for v in vals) else (vals[0] if len(vals) == 1 else None))


def valid_text(report) -> str:
    """The valid sizes, per symbol, or that every size is valid."""
    if report.valid_ranges:
        return "; ".join(f"{s}: {d.get('text', '?')}" for s, d in report.valid_ranges.items())
    return "every size" if not report.constraints else "see the report's constraints"


def smallest_text(report) -> str:
    """``H=W=32``: the smallest valid size of every spatial symbol ("-" when none)."""
    spatial = [n for n in report.symbols if n in report.spatial_symbols]
    s = report.smallest_input
    if not s:
        s = {n: 1 for n in spatial} if not report.constraints else {}
    if not s:
        return "-"
    s = {k: s[k] for k in sorted(s, key=lambda k: spatial.index(k) if k in spatial else len(spatial))}
    vals = set(s.values())
    if len(vals) == 1:
        return "=".join(s) + f"={vals.pop()}"
    return ", ".join(f"{k}={v}" for k, v in s.items())


def model_rows(reports, labels=None) -> list:
    """One dict per report (``labels``: the names to show, default each report's path):
    model, bindings, complete, and per quantity its formula and
    value (int at the bindings or None), valid range and smallest input."""
    out = []
    for r, name in zip(reports, labels or [r.path for r in reports]):
        d = {"model": name, "bindings": None if r.bindings is None else {k: int(v) for k, v in r.bindings.items()},
             "complete": r.complete, "note": partial_note(r), "errors": list(r.errors),
             "valid": valid_text(r), "valid_ranges": {k: v.get("text") for k, v in r.valid_ranges.items()},
             "smallest_input": None if r.smallest_input is None else {k: int(v) for k, v in r.smallest_input.items()}}
        for label, key, kind in COLUMNS:
            e, v = _total(r, key)
            d[key] = {"formula": None if e is None else to_str(e), "value": v, "kind": kind}
        out.append(d)
    return out


def _cell(v, kind, complete=True) -> str:
    if v is None:
        return "?"
    # a partial analysis: every total is a lower bound
    return ("" if complete else ">= ") + (human(v, kind) if is_int(v) else str(v))


def models_text(reports, width: int = 80, labels=None) -> str:
    """The comparison as text: a table of the values, then each model's formulas."""
    width = max(40, int(width or 80))
    rows = model_rows(reports, labels)
    head = ["model"] + [c[0] for c in COLUMNS] + ["smallest input"]
    cells = [[_cell(d[k]["value"], kind, r.complete) for _, k, kind in COLUMNS] + [smallest_text(r)]
             for d, r in zip(rows, reports)]
    widths = [max(len(head[i + 1]), *(len(c[i]) for c in cells)) for i in range(len(head) - 1)]
    rest = sum(w + 2 for w in widths)
    while rest + 8 > width and len(widths) > 3:  # drop the smallest-input column before cutting names
        widths.pop()
        head.pop()
        rest = sum(w + 2 for w in widths)
    name_w = max(8, min(max(len(d["model"]) for d in rows), width - rest))
    L = [f"cnnsym report: {len(reports)} models, each at its own bindings", ""]

    def line(name, vals):
        parts = [cut_left(name, name_w).ljust(name_w)]
        parts += [v.rjust(widths[i]) if i < 3 else v.ljust(widths[i]) for i, v in enumerate(vals[:len(widths)])]
        return "  ".join(parts).rstrip()[:width]

    L.append(line("model", head[1:]))
    for d, c in zip(rows, cells):
        L.append(line(d["model"], c))
    for d, r in zip(rows, reports):
        L.append("")
        L += wrap(f"{d['model']} (at {bindings_text(r)})", width, cont_indent=2)
        for label, key, _ in COLUMNS:
            f = d[key]["formula"]
            if f is not None:
                extra = " (the live set that peaks at the bindings)" if key == "peak_activation_bytes" else ""
                L += wrap(f"{label} {'=' if r.complete else '>='} {f}{extra}", width, indent=2, cont_indent=6)
        L += wrap(f"valid: {d['valid']}; smallest input: {smallest_text(r)}", width, indent=2, cont_indent=4)
        for note in [d["note"]] + d["errors"]:
            if note:
                L += wrap(note, width, indent=2, cont_indent=4)
    return "\n".join(L) + "\n"


def _md(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def models_markdown(reports, labels=None) -> str:
    rows = model_rows(reports, labels)
    L = [f"### cnnsym report: {len(reports)} models", "",
         "| model | " + " | ".join(c[0] for c in COLUMNS) + " | valid sizes | smallest input | at |",
         "| --- |" + " ---: |" * len(COLUMNS) + " --- | --- | --- |"]
    for d, r in zip(rows, reports):
        vals = " | ".join(_cell(d[k]["value"], kind, r.complete) for _, k, kind in COLUMNS)
        L.append(f"| `{_md(d['model'])}`{'' if d['complete'] else ' (lower bound)'} | {vals} | {_md(d['valid'])} | "
                 f"{_md(smallest_text(r))} | {_md(bindings_text(r))} |")
    L += ["", "<details><summary>Formulas</summary>", ""]
    for d in rows:
        L.append(f"- `{_md(d['model'])}`")
        for label, key, _ in COLUMNS:
            if d[key]["formula"] is not None:
                L.append(f"  - {label}: {'' if d['complete'] else '>= '}`{_md(d[key]['formula'])}`")
    L += ["", "</details>"]
    return "\n".join(L) + "\n"


def models_json(reports, failed=(), labels=None) -> str:
    """``{"models": [...], "failed": [{"model", "error"}]}``."""
    return json.dumps({"models": model_rows(reports, labels), "failed": [{"model": m, "error": e} for m, e in failed]},
                      indent=2) + "\n"
