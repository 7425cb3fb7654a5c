"""The module view of the table (the default): the module tree to a depth, one row per
module with its full path indented by depth (so ``layer1.0`` and ``layer2.0`` never read
the same), its class, the output shape of its first call, params as torch counts them
(torch's ``parameters()``: buffers and constants apart), MACs of everything inside, % of the model's MACs,
the output's memory and receptive field. ``--sort macs --top K`` lists the hot spots.
"""
from __future__ import annotations

from .common import _val_cell, rf_parts, to_str
from .layout import column_floors, cut_left, fold_word, unique_width, wrap

GAP = 2
INDENT = 2
NUMERIC = ("params", "MACs", "%", "mem", "RF", "jump")


def _share(v):
    if v is None:
        return ""
    return f"{v:.1f}" if v >= 0.05 or v == 0 else "<0.1"


def module_table(rows, width, wide, out, *, flat=False) -> set:
    """Append the module rows (``modtree.module_rows``) to ``out`` as (text, style) lines of
    at most ``width``; the set of marks used (for the legend)."""
    marks = set()
    body = []
    for r in rows:
        size, jump = rf_parts(r)
        ind = 0 if flat else INDENT * (r["depth"] - 1)
        mark = ""
        if not r["complete"]:
            mark = " *"
            marks.add("*")
        shape = r["shape"] if r["calls"] else "(not called)"
        if r["calls"] > 1:
            shape = f"{shape} x{r['calls']}" if shape else f"x{r['calls']}"
            marks.add("x")
        cells = [(ind, r["path"]), (r["type"] or "") + mark, shape]
        if wide:
            cells.append(r["shape_formula"])
        cells += [_val_cell(r["params"], "count0"), _val_cell(r["macs"], "count0"), _share(r["share"])]
        if wide:
            cells.append("" if r["macs_expr"] == 0 else to_str(r["macs_expr"]))
        cells += [_val_cell(r["bytes"], "bytes"), size, jump]
        body.append((cells, "yellow" if mark else None))
    heads = ["module", "type", "output"] + (["shape formula"] if wide else []) + ["params", "MACs", "%"] \
        + (["MACs formula"] if wide else []) + ["mem", "RF", "jump"]
    n = len(heads)

    def cell_len(i, c):
        return c[0] + len(c[1]) if i == 0 else len(c)

    natural = [max([len(h)] + [cell_len(i, c[i]) for c, _ in body]) for i, h in enumerate(heads)]
    widths = list(natural)
    paths = [c[0][1] for c, _ in body]
    uw = unique_width(paths, 4)
    floors = {0: max([len("module")] + [c[0][0] + min(len(c[0][1]), uw) for c, _ in body])}
    floors.update(column_floors(heads, natural, body, "type"))
    # what gives way first: formulas, then the gap between columns, then shapes and
    # numbers, then the type column (folded between CamelCase words), then names (cut from
    # the left, to their distinct width, then further)
    order = [i for i, h in enumerate(heads) if h.endswith("formula")] + ["gap", 2] \
        + [i for i, h in enumerate(heads) if h in NUMERIC] + [1, 0, -1]
    gap = [GAP]

    def total():
        return sum(widths) + gap[0] * (n - 1)

    for i in order:
        if total() <= width:
            break
        if i == "gap":
            gap[0] = 1
            continue
        if i == -1:  # still too wide: names cut further, indents kept
            i, floors[0] = 0, max([len("module")] + [c[0][0] + 4 for c, _ in body])
        widths[i] = max(floors[i], widths[i] - (total() - width))

    def emit(cells, style):
        parts = []
        for i, c in enumerate(cells):
            w = widths[i]
            if i == 0:
                ind, name = c if isinstance(c, tuple) else (0, c)
                ind = min(ind, max(0, w - 4))
                parts.append([" " * ind + cut_left(name, w - ind)])
            elif heads[i] == "type":
                parts.append(fold_word(c, w) if c else [""])
            else:
                parts.append(wrap(c, w, 0, 0) if c else [""])
        for k in range(max(len(p) for p in parts)):
            row = []
            for i, chunks in enumerate(parts):
                c = chunks[k] if k < len(chunks) else ""
                row.append(c.rjust(widths[i]) if heads[i] in NUMERIC else c.ljust(widths[i]))
            out.append(((" " * gap[0]).join(row).rstrip(), style))

    emit(heads, "bold")
    out.append(("\u2500" * min(width, total()), None))
    for cells, style in body:
        emit(cells, style)
    return marks
