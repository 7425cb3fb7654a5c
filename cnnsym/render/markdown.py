"""Markdown: a report ready to paste into an issue or a pull request."""
from __future__ import annotations

from .common import (_code, is_int, _inputs_text, _md, _md_table, _rf_cell, _symbols_text, _val_cell,
                     bindings_text, constraints_shown, convention_line, node_rows, partial_note,
                     rel_str, smallest_items, totals_rows)
from .modtree import DEFAULT_DEPTH, module_rows, view_of
from .registry import RenderOptions, register_format


@register_format("markdown", "for an issue or a pull request", suffix=".md")
def render_markdown(report, options: RenderOptions | None = None) -> str:
    rows = node_rows(report)
    L = [f"## cnnsym report: `{_md(report.path)}`", ""]
    L.append(f"- inputs: " + "; ".join(_code(s) for s in _inputs_text(report)))
    L.append(f"- symbols: {_md(_symbols_text(report))}")
    L.append(f"- evaluated at: {_code(bindings_text(report))}")
    for note in report.binding_notes:
        L.append(f"  - {_md(note)}")
    L.append(f"- {_md(convention_line(report))}")
    L.append("")
    L.append("### Totals")
    L.append("")
    if partial_note(report):
        L += [f"**{_md(partial_note(report))}**", ""]
    L += _md_table(["quantity", "formula", "value", "exact"],
                   [[_md(label), _code(f), _md(hv), _md("" if v is None else v)] for _, label, f, v, hv in totals_rows(report)])
    L.append("")
    shown = rows if options is not None and options.show_all_nodes else [r for r in rows if not r["folded"]]
    folded = len(rows) - len(shown)
    if view_of(report, options.view if options is not None else None) == "modules":
        L += _md_modules(report, options)
    L += _md_hot(report, shown)
    summary = f"All {len(shown)} nodes" + (f" ({folded} small constant and shape-arithmetic nodes folded)"
                                           if folded else "")
    L += ["<details>", f"<summary>{_md(summary)}</summary>", ""]
    L += _md_table(["node", "op", "output shape", "shape formula", "params", "MACs", "memory", "RF", "status"],
                   [[_code(r["name"]), _md(r["op"]), _md(r["shape"]), _code(r["shape_formula"]),
                     _md(_val_cell(r["params"], "count0")), _md(_val_cell(r["macs"], "count0")),
                     _md(_val_cell(r["bytes"], "bytes")), _md(_rf_cell(r)),
                     _md(r["status"] + (f": {r['message']}" if r["message"] else ""))] for r in shown])
    L += ["", "</details>", ""]
    L += _md_domain(report)
    L += _md_issues(report)
    return "\n".join(L).rstrip() + "\n"


HOT = 10
_MOD_HEAD = ["module", "type", "output shape", "params", "MACs", "% MACs", "memory", "RF"]


def _mod_cells(r, indent=True):
    pad = "\u00a0\u00a0" * (r["depth"] - 1) if indent else ""  # no-break spaces: Markdown keeps them
    share = "" if r["share"] is None else f"{r['share']:.1f}"
    shape = r["shape"] if r["calls"] else "(not called)"
    return [pad + _code(r["path"]), _md(r["type"] + ("" if r["complete"] else " *")), _md(shape),
            _md(_val_cell(r["params"], "count0")), _md(_val_cell(r["macs"], "count0")), share,
            _md(_val_cell(r["bytes"], "bytes")), _md(_rf_cell(r))]


def _md_modules(report, options) -> list:
    """The top-level modules, then the tree to ``--depth`` in ``<details>``."""
    depth = DEFAULT_DEPTH if options is None or options.depth is None else options.depth
    top = module_rows(report, 1)
    L = ["### Modules", ""]
    L += _md_table(_MOD_HEAD, [_mod_cells(r, False) for r in top])
    L.append("")
    if depth > 1 and any(m.depth > 1 for m in report.modules.values()):
        tree = module_rows(report, depth)
        L += ["<details>", f"<summary>{_md(f'Module tree to depth {depth} ({len(tree)} of {len(report.modules) - 1} modules)')}</summary>", ""]
        L += _md_table(_MOD_HEAD, [_mod_cells(r) for r in tree])
        L += ["", "</details>", ""]
    L += ["params: trainable, as torch counts `parameters()` (buffers and constants apart); MACs: "
          "everything called inside the module; memory: its first call's output.", ""]
    return L


def _md_hot(report, rows) -> list:
    """The nodes with the most MACs (at the bindings), with their share of the total."""
    total = report.values.get("macs") if report.bindings is not None and report.values else None
    hot = [r for r in rows if is_int(r["macs"]) and r["macs"] > 0]
    if not hot:
        return []
    hot.sort(key=lambda r: -r["macs"])
    L = [f"### Top {min(HOT, len(hot))} nodes by MACs (of {len(rows)})", ""]
    L += _md_table(["node", "op", "output shape", "params", "MACs", "% MACs"],
                   [[_code(r["name"]), _md(r["op"]), _md(r["shape"]), _md(_val_cell(r["params"], "count0")),
                     _md(_val_cell(r["macs"], "count0")),
                     f"{100 * r['macs'] / int(total):.1f}" if is_int(total) and total else ""]
                    for r in hot[:HOT]])
    return L + [""]


def _md_domain(report) -> list:
    L = ["### Valid inputs", ""]
    if not report.constraints:
        L += ["No constraints: every positive size is valid.", ""]
        return L
    shown, more = constraints_shown(report, 30)
    L += _md_table(["constraint", "why", "node"],
                   [[_code(rel_str(c.rel)), _md(c.message), _code(c.node)] for c in shown])
    if more:
        L.append(f"| ... | {more} more (sizes that must stay >= 1; all in the JSON) | |")
    L.append("")
    if report.valid_ranges:
        for s, vr in report.valid_ranges.items():
            others = vr.get("others") or {}
            extra = f" (with {', '.join(f'{k}={v}' for k, v in others.items())})" if others else ""
            L.append(f"- `{_md(s)}`: {_md(vr.get('text', ''))}{_md(extra)}")
    if report.smallest_input:
        L.append("- smallest valid input: " + ", ".join(f"`{k}={v}`" for k, v in smallest_items(report)))
    L.append("")
    return L


def _md_issues(report) -> list:
    L = []
    if report.unaccounted:
        L += ["### Unaccounted ops (not counted, not zero)", ""]
        L += _md_table(["op", "domain", "count", "nodes"],
                       [[_md(u["op"]), _md(u["domain"]), str(u["count"]), _md(", ".join(u.get("nodes", [])[:5]))]
                        for u in report.unaccounted])
        L.append("")
    if report.warnings:
        L += ["### Warnings", ""] + [f"- {_md(w)}" for w in report.warnings] + [""]
    if report.errors:
        L += ["### Errors", ""] + [f"- {_md(e)}" for e in report.errors] + [""]
    return L
