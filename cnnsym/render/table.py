"""The table: a Report on a terminal (rich, with colour) or as plain text."""
from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .common import (MAX_LISTED, STATUS_MARK, STATUS_TEXT, _inputs_text, _rf_cell, _symbols_text,
                     _val_cell, bindings_text, constraints_shown, convention_line, node_rows,
                     partial_note, rel_str, shorten, to_str, totals_rows)
from .registry import RenderOptions, register_format


def render_table(report, console, wide: bool = False) -> None:
    """Print the report on a rich console: readable at 80 columns, formulas with ``wide``."""
    T = Text
    rows = node_rows(report)
    console.print(T(f"cnnsym report: {report.path}", style="bold"))
    for s in _inputs_text(report):
        console.print(T(f"  input {s}"))
    console.print(T(f"  symbols: {_symbols_text(report)}"))
    console.print(T(f"  evaluated at: {bindings_text(report)}"))
    for note in report.binding_notes:
        console.print(T(f"    {note}", style="dim"))
    console.print(T(convention_line(report), style="dim"))
    console.print()

    if report.bindings is not None:
        console.print(T(f"Layers ({len(rows)} nodes, values at the bindings above)", style="bold"))
    else:
        console.print(T(f"Layers ({len(rows)} nodes, formulas: no valid binding)", style="bold"))
    seen_status = set()
    body = []
    for r in rows:
        mark = STATUS_MARK.get(r["status"], "")
        if mark:
            seen_status.add(r["status"])
        cells = [r["name"], r["op"] + mark, r["shape"]]
        if wide:
            cells.append(r["shape_formula"])
        cells += [_val_cell(r["params"], "count0"), _val_cell(r["macs"], "count0")]
        if wide:
            cells.append("" if r["macs_expr"] == 0 else to_str(r["macs_expr"]))
        cells += [_val_cell(r["bytes"], "bytes"), _rf_cell(r)]
        body.append((cells, r["status"]))
    heads = ["node", "op", "output"] + (["shape formula"] if wide else []) + ["params", "MACs"] \
        + (["MACs formula"] if wide else []) + ["mem", "RF"]
    right = {h for h in heads if h in ("params", "MACs", "mem", "RF")}
    widths = [max([len(h), 5 if h == "RF" else 0] + [len(c[0][i]) for c in body]) for i, h in enumerate(heads)]
    if not wide:
        # one line per node at the console's width: long op names and shapes fold to their
        # cap, long node names are shortened in the middle
        caps = {1: 12, 2: 16} if report.bindings is not None else {1: 10, 2: 14, 3: 7, 4: 10, 5: 9, 6: 5}
        widths = [min(w, caps.get(i, w)) for i, w in enumerate(widths)]
        widths[0] = max(12, min(widths[0], console.width - sum(widths[1:]) - 2 * (len(heads) - 1)))
    else:
        widths = [min(w, 60) if heads[i].endswith("formula") else w for i, w in enumerate(widths)]
    text = Text()

    def line(cells, style=None):
        # a cell wider than its column folds onto continuation lines
        parts = []
        for i, c in enumerate(cells):
            w = widths[i]
            chunks = [c[k:k + w] for k in range(0, len(c), w)] or [""]
            parts.append(chunks)
        height = max(len(p) for p in parts)
        for k in range(height):
            row = []
            for i, chunks in enumerate(parts):
                c = chunks[k] if k < len(chunks) else ""
                row.append(c.rjust(widths[i]) if heads[i] in right else c.ljust(widths[i]))
            text.append("  ".join(row).rstrip() + "\n", style=style)

    line(heads, "bold")
    text.append("\u2500" * min(console.width, sum(widths) + 2 * (len(heads) - 1)) + "\n")
    for cells, status in body:
        if not wide:
            cells[0] = shorten(cells[0], widths[0])
        line(cells, None if status == "ok" else ("red" if status == "error" else "yellow"))
    console.print(text, no_wrap=True, overflow="ignore", crop=False, end="")
    legend = [f"{STATUS_MARK[k].strip()} {STATUS_TEXT[k]}" for k in STATUS_MARK if k in seen_status]
    console.print(T("mem: bytes of the node's outputs. RF: receptive field size/stride (jump), in input "
                    "pixels, one value when all spatial axes agree." + (" " + "; ".join(legend) + "." if legend else "")
                    + ("" if wide else " --wide adds the formulas."),
                    style="dim"))
    console.print()

    console.print(T(f"Totals (convention {report.convention}): value at the bindings, exact, formula",
                    style="bold"))
    if wide:
        tt = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
        tt.add_column("quantity", no_wrap=True)
        tt.add_column("formula", overflow="fold")
        tt.add_column("value", justify="right", no_wrap=True)
        tt.add_column("exact", justify="right", no_wrap=True)
        for _, label, f, v, hv in totals_rows(report):
            tt.add_row(T(label), T(f), T(hv), T("" if v is None else str(v)))
        console.print(tt)
    else:
        trows = totals_rows(report)
        ew = max([len(f"({v})") for _, _, _, v, _ in trows if v is not None] or [0])
        for _, label, f, v, hv in trows:
            exact = "" if v is None or str(v) == hv else f"({v})"
            head = f"  {label:<22} {hv:>8}  {exact:<{ew}}" if v is not None else f"  {label:<22}"
            if v is None or f != str(v):
                if len(head) + 3 + len(f) <= console.width:
                    console.print(T(f"{head} = {f}"))
                    continue
                console.print(T(head.rstrip()))
                console.print(Padding(T(f"= {f}", style="cyan"), (0, 0, 0, 6)))
            else:
                console.print(T(head.rstrip()))
    if partial_note(report):
        console.print(T(partial_note(report), style="yellow"))
    console.print()

    console.print(T("Valid inputs", style="bold"))
    if not report.constraints:
        console.print(T("  no constraints: every positive size is valid"))
    else:
        shown, more = constraints_shown(report, 8)
        for c in shown:
            console.print(T(f"  {c.message} [{c.node}]: {rel_str(c.rel)}"))
        if more:
            console.print(T(f"  ... and {more} more (sizes that must stay >= 1; all in --format json)", style="dim"))
        for s, vr in report.valid_ranges.items():
            others = vr.get("others") or {}
            extra = f" (with {', '.join(f'{k}={v}' for k, v in others.items())})" if others else ""
            console.print(T(f"  {s}: {vr.get('text', '')}{extra}"))
        if report.smallest_input:
            console.print(T("  smallest valid input: " + ", ".join(f"{k}={v}" for k, v in report.smallest_input.items())))
    if report.unaccounted:
        console.print()
        console.print(T("Unaccounted ops (listed, not counted as zero)", style="bold yellow"))
        ut = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
        ut.add_column("op", overflow="fold")
        ut.add_column("domain", overflow="fold")
        ut.add_column("count", justify="right")
        ut.add_column("nodes", overflow="fold")
        for u in report.unaccounted:
            nodes = u.get("nodes", [])
            ut.add_row(T(u["op"]), T(u["domain"]), T(str(u["count"])),
                       T(", ".join(nodes[:3]) + (" ..." if len(nodes) > 3 else "")))
        console.print(ut)
    for title, items, style in (("Warnings", report.warnings, "bold yellow"),
                                ("Errors (the graph is invalid)", report.errors, "bold red")):
        if not items:
            continue
        console.print()
        console.print(T(title, style=style))
        for x in items[:MAX_LISTED]:
            console.print(T(f"  - {x}"))
        if len(items) > MAX_LISTED:
            console.print(T(f"  ... and {len(items) - MAX_LISTED} more (all in --format json)", style="dim"))


def render_table_text(report, wide: bool = False, width: int | None = None) -> str:
    """The table as plain text (no colour)."""
    buf = io.StringIO()
    console = Console(file=buf, width=width or (160 if wide else 80), color_system=None,
                      highlight=False, soft_wrap=False, emoji=False, markup=False)
    render_table(report, console, wide)
    return buf.getvalue()


def print_table(report, console, options: RenderOptions | None = None) -> None:
    """The report on a rich console (colour on a terminal), at the console's width."""
    render_table(report, console, bool(options and options.wide))


@register_format("table", "a table for the terminal (--wide adds the formulas)", console=print_table)
def table_text(report, options: RenderOptions | None = None) -> str:
    """The table as plain text at ``options.width`` (default 80, 160 with ``options.wide``)."""
    o = options or RenderOptions()
    return render_table_text(report, o.wide, o.width)
