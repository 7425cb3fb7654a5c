"""The table: a Report on a terminal (rich, with colour) or as plain text, at a width.

Every line fits the width and none ends with a space. Node names are cut from the left
(their last components stay, so ``…layer1.0/conv1/Conv`` and ``…layer2.0/conv1/Conv``
stay apart); the op column is as wide as its names; formulas wrap at their operators and
keep their indent. Small constants and shape arithmetic (integer scalars and vectors) are
folded out of the node table unless ``show_all_nodes``.
"""
from __future__ import annotations

from collections import Counter

# rich is imported by render_table only: plain-text output (piped, -o, table_text) never needs it
# (start-up time, issue 12)

from .common import (MAX_LISTED, STATUS_MARK, STATUS_TEXT, _inputs_text, _symbols_text, _val_cell,
                     bindings_text, constraints_shown, convention_line, node_rows, partial_note,
                     rel_str, rf_parts, smallest_items, to_str, totals_rows)
from .layout import ELLIPSIS, column_floors, compact_name, cut_left, fold_word, unique_width, wrap
from .modtree import DEFAULT_DEPTH, module_rows, view_of
from .registry import RenderOptions, register_format
from .table_modules import module_table

DEFAULT_WIDTH = 80
WIDE_WIDTH = 160
GAP = 2
NUMERIC = ("params", "MACs", "mem", "RF", "jump")
FOLDED_HINT = "--all-nodes lists them"


def _fit(lines, width):
    """Last resort: a line still over the width ends in an ellipsis."""
    return [(t if len(t) <= width else t[:width - 1] + ELLIPSIS, s) for t, s in lines]


def _para(out, text, width, indent=0, cont=None, style=None):
    for line in wrap(text, width, indent, cont):
        out.append((line, style))


def _display_names(rows):
    """Names as shown: TorchScript's repeated scope components dropped, and a last component
    that only repeats the op column (``layer1.0/conv1/Conv``, op Conv) too, where the
    name stays distinct from every other shown."""
    names = [r["name"] for r in rows]
    compact = [compact_name(n) for n in names]
    if len(set(compact)) != len(set(names)):
        compact = names
    short = []
    for c, r in zip(compact, rows):
        head, _, last = c.rpartition("/")
        short.append(head if head and last == r["op"] else c)
    count = Counter(short)
    taken = set(compact)
    return [s if s == c or (count[s] == 1 and s not in taken) else c for s, c in zip(short, compact)]


def _node_table(report, rows, width, wide, out):
    seen_status = set()
    body = []
    for r, name in zip(rows, _display_names(rows)):
        mark = STATUS_MARK.get(r["status"], "")
        if mark:
            seen_status.add(r["status"])
        size, jump = rf_parts(r)
        cells = [name, r["op"] + mark, r["shape"]]
        if wide:
            cells.append(r["shape_formula"])
        cells += [_val_cell(r["params"], "count0"), _val_cell(r["macs"], "count0")]
        if wide:
            cells.append("" if r["macs_expr"] == 0 else to_str(r["macs_expr"]))
        cells += [_val_cell(r["bytes"], "bytes"), size, jump]
        body.append((cells, r["status"]))
    heads = ["node", "op", "output"] + (["shape formula"] if wide else []) + ["params", "MACs"] \
        + (["MACs formula"] if wide else []) + ["mem", "RF", "jump"]
    n = len(heads)
    natural = [max([len(h)] + [len(c[i]) for c, _ in body]) for i, h in enumerate(heads)]
    widths = list(natural)
    # the narrowest each column may get, in the order the columns give way
    floors = {0: unique_width([c[0] for c, _ in body], len("node"))}
    floors.update(column_floors(heads, natural, body, "op"))
    order = [i for i, h in enumerate(heads) if h.endswith("formula")] + [0, 1, 2] \
        + [i for i, h in enumerate(heads) if h in NUMERIC] + [-1]

    def total():
        return sum(widths) + GAP * (n - 1)

    for i in order:
        if total() <= width:
            break
        if i == -1:  # distinct names no longer fit: cut them further
            i, floors[0] = 0, len("node")
        widths[i] = max(floors[i], widths[i] - (total() - width))

    def emit(cells, style):
        parts = []
        for i, c in enumerate(cells):
            w = widths[i]
            if i == 0:
                parts.append([cut_left(c, w)])
            elif heads[i] == "op":
                parts.append(fold_word(c, w))
            else:
                parts.append(wrap(c, w, 0, 0) if c else [""])
        for k in range(max(len(p) for p in parts)):
            row = []
            for i, chunks in enumerate(parts):
                c = chunks[k] if k < len(chunks) else ""
                row.append(c.rjust(widths[i]) if heads[i] in NUMERIC else c.ljust(widths[i]))
            out.append(((" " * GAP).join(row).rstrip(), style))

    emit(heads, "bold")
    out.append(("\u2500" * min(width, total()), None))
    for cells, status in body:
        emit(cells, None if status == "ok" else ("red" if status == "error" else "yellow"))
    return seen_status


def _node_section(report, width, wide, show_all_nodes, sort, top, out):
    rows = node_rows(report)
    shown = rows if show_all_nodes else [r for r in rows if not r["folded"]]
    folded = len(rows) - len(shown)
    count = f"{len(rows)} nodes" if not folded else f"{len(shown)} of {len(rows)} nodes"
    if sort == "macs":
        shown = sorted(shown, key=lambda r: -(r["macs"] if isinstance(r["macs"], int) else 0))[:top]
        count = f"top {len(shown)} of {len(rows)} nodes by MACs"
    how = "values at the bindings above" if report.bindings is not None else "formulas: no valid binding"
    _para(out, f"Layers ({count}, {how})", width, 0, 2, "bold")
    seen_status = _node_table(report, shown, width, wide, out)
    if folded:
        _para(out, f"{folded} small constant and shape-arithmetic node{'s' if folded != 1 else ''} "
                   f"folded ({FOLDED_HINT})", width, 0, 2, "dim")
    legend = [f"{STATUS_MARK[k].strip()} {STATUS_TEXT[k]}" for k in STATUS_MARK if k in seen_status]
    _para(out, "mem: bytes of the node's outputs. RF: receptive field size, jump: distance between "
               "neighbouring units, in input pixels; one value when all spatial axes agree."
               + (" " + "; ".join(legend) + "." if legend else "")
               + ("" if wide else " --wide adds the formulas."), width, 0, 0, "dim")
    out.append(("", None))


def _module_section(report, width, wide, depth, sort, top, out):
    depth = DEFAULT_DEPTH if depth is None else depth
    rows = module_rows(report, depth, sort=sort, top=top)
    total = len(report.modules) - 1
    deeper = sum(1 for m in report.modules.values() if m.depth > depth)
    how = "values at the bindings above" if report.bindings is not None else "formulas: no valid binding"
    if sort == "macs":
        count = f"top {len(rows)} by MACs of the {total} modules, depth <= {depth}"
    else:
        count = f"{total} modules" + (f", {len(rows)} to depth {depth}" if deeper else "")
    _para(out, f"Modules ({count}, {how})", width, 0, 2, "bold")
    marks = module_table(rows, width, wide, out, flat=sort == "macs")
    notes = []
    if deeper:
        notes.append(f"deeper modules are summed into their row (--depth {depth + 1} and more lists them)")
    notes.append("params: trainable, as torch counts parameters() (buffers and constants apart); MACs and %: "
                 "everything called inside; mem: bytes of the first call's output; RF: receptive "
                 "field size, jump: distance between neighbouring units, in input pixels")
    if "*" in marks:
        notes.append("* not every node inside was counted (lower bounds)")
    if "x" in marks:
        notes.append("xK: called K times (output of the first call; costs of all)")
    _para(out, "; ".join(notes) + ". --nodes lists every node" + ("" if wide else ", --wide adds the formulas")
          + ".", width, 0, 0, "dim")
    out.append(("", None))


def table_lines(report, width: int = DEFAULT_WIDTH, *, wide: bool = False,
                show_all_nodes: bool = False, view=None, depth=None, sort=None, top=None) -> list:
    """The table as (text, rich style or None) lines, none longer than ``width``."""
    width = max(20, int(width))
    out = []
    _para(out, f"cnnsym report: {report.path}", width, 0, 2, "bold")
    for s in _inputs_text(report):
        _para(out, f"  input {s}", width, 2, 4)
    _para(out, f"  symbols: {_symbols_text(report)}", width, 2, 4)
    _para(out, f"  evaluated at: {bindings_text(report)}", width, 2, 4)
    for note in report.binding_notes:
        _para(out, f"    {note}", width, 4, 6, "dim")
    _para(out, convention_line(report), width, 0, 2, "dim")
    out.append(("", None))

    if view_of(report, view) == "modules":
        _module_section(report, width, wide, depth, sort, top, out)
    else:
        _node_section(report, width, wide, show_all_nodes, sort, top, out)

    _para(out, f"Totals (convention {report.convention}): value at the bindings, exact, formula",
          width, 0, 2, "bold")
    trows = totals_rows(report)
    ew = max([len(f"({v})") for _, _, _, v, _ in trows if v is not None] or [0])
    for _, label, f, v, hv in trows:
        exact = "" if v is None or str(v) == hv else f"({v})"
        head = (f"  {label:<22} {hv:>8}  {exact:<{ew}}" if v is not None else f"  {label:<22}").rstrip()
        if v is None or f != str(v):
            if len(head) + 3 + len(f) <= width:
                out.append((f"{head} = {f}", None))
                continue
            _para(out, head, width, 2, 4)
            _para(out, f"= {f}", width, 6, 8, "cyan")
        else:
            _para(out, head, width, 2, 4)
    if partial_note(report):
        _para(out, partial_note(report), width, 0, 2, "yellow")
    out.append(("", None))

    out.append(("Valid inputs", "bold"))
    if not report.constraints:
        _para(out, "  no constraints: every positive size is valid", width, 2, 4)
    else:
        shown_c, more = constraints_shown(report, 8)
        for c in shown_c:
            _para(out, f"  {c.message} [{c.node}]: {rel_str(c.rel)}", width, 2, 4)
        if more:
            _para(out, f"  ... and {more} more (sizes that must stay >= 1; all in --format json)",
                  width, 2, 4, "dim")
        for s, vr in report.valid_ranges.items():
            others = vr.get("others") or {}
            extra = f" (with {', '.join(f'{k}={v}' for k, v in others.items())})" if others else ""
            _para(out, f"  {s}: {vr.get('text', '')}{extra}", width, 2, 4)
        if report.smallest_input:
            _para(out, "  smallest valid input: "
                  + ", ".join(f"{k}={v}" for k, v in smallest_items(report)), width, 2, 4)
    if report.unaccounted:
        out.append(("", None))
        _para(out, "Unaccounted ops (listed, not counted as zero)", width, 0, 2, "bold yellow")
        for u in report.unaccounted:
            nodes = u.get("nodes", [])
            listed = ", ".join(nodes[:3]) + (" ..." if len(nodes) > 3 else "")
            _para(out, f"  {u['op']} ({u['domain']}) x{u['count']}: {listed}", width, 2, 4)
    for title, items, style in (("Warnings", report.warnings, "bold yellow"),
                                ("Errors (the graph is invalid)", report.errors, "bold red")):
        if not items:
            continue
        out.append(("", None))
        _para(out, title, width, 0, 2, style)
        for x in items[:MAX_LISTED]:
            _para(out, f"  - {x}", width, 2, 4)
        if len(items) > MAX_LISTED:
            _para(out, f"  ... and {len(items) - MAX_LISTED} more (all in --format json)", width, 2, 4, "dim")
    return _fit(out, width)


def _view_kw(o):
    return {"view": o.view, "depth": o.depth, "sort": o.sort, "top": o.top}


def render_table_text(report, wide: bool = False, width: int | None = None,
                      show_all_nodes: bool = False, **view) -> str:
    """The table as plain text (no colour) at ``width`` (default 80, 160 with ``wide``);
    ``view``: ``view``, ``depth``, ``sort``, ``top`` as in :class:`RenderOptions`."""
    w = width or (WIDE_WIDTH if wide else DEFAULT_WIDTH)
    return "".join(t + "\n" for t, _ in table_lines(report, w, wide=wide, show_all_nodes=show_all_nodes, **view))


def render_table(report, console, wide: bool = False, show_all_nodes: bool = False, **view) -> None:
    """Print the report on a rich console at the console's width, with colour."""
    from rich.text import Text  # styled output only (start-up time, issue 12)

    for t, style in table_lines(report, console.width, wide=wide, show_all_nodes=show_all_nodes, **view):
        console.print(Text(t, style=style or ""), no_wrap=True, overflow="ignore", crop=False)


def print_table(report, console, options: RenderOptions | None = None) -> None:
    """The report on a rich console (colour on a terminal), at the console's width."""
    o = options or RenderOptions()
    render_table(report, console, o.wide, o.show_all_nodes, **_view_kw(o))


@register_format("table", "a table for the terminal: the module tree (--nodes: every node; --wide adds "
                          "the formulas)", console=print_table)
def table_text(report, options: RenderOptions | None = None) -> str:
    """The table as plain text at ``options.width`` (default 80, 160 with ``options.wide``)."""
    o = options or RenderOptions()
    return render_table_text(report, o.wide, o.width, o.show_all_nodes, **_view_kw(o))
