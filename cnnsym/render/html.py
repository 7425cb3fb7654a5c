"""HTML: one self-contained page (or a notebook fragment) that opens offline.

The page holds the totals, cost against input size drawn from the formulas over the
valid domain, the module tree (collapsible, searchable, with bars of MACs and params),
the largest modules, the live-memory timeline over the execution order with its peak,
receptive-field growth with depth against the input size, the valid domain, the totals
under every counting convention, and the problems. Charts are inline SVG drawn in Python
(:mod:`cnnsym.render._svg`: no script, nothing to download); a few lines of script only
filter the tree and fold it open or shut. No URL is ever fetched.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from html import escape

import sympy as sp

from ..conventions import compare_rows
from ..domain import violated
from .common import (_inputs_text, _jsonable, _shape_str, _spatial, _symbols_text, bindings_text,
                     convention_line, human, incomplete_nodes, is_int, partial_note, rel_str, to_str,
                     totals_rows)
from . import _svg
from .registry import RenderOptions, register_format

CURVE_POINTS = 40  # sizes sampled for the cost curves (fewer on big graphs)
MAX_TREE_ROWS = 2000  # modules listed in the tree; the rest are counted
MAX_BARS = 16
_IDS = itertools.count(1)


@register_format("html", "one self-contained page: tree, cost curves, memory timeline (opens offline)",
                 suffix=".html")
def render_html(report, options: RenderOptions | None = None) -> str:
    """The report as a standalone page; ``options.fragment``: a ``<div>`` for a notebook."""
    fragment = bool(getattr(options, "fragment", False))
    uid = f"cnnsym-{next(_IDS)}" if fragment else "cnnsym-report"
    body = _body(report, uid)
    if fragment:
        return f'<div class="cnnsym" id="{uid}">\n<style>{_css(f"#{uid}")}</style>\n{body}\n{_script(uid)}</div>\n'
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>cnnsym report: {escape(report.path)}</title>\n<style>{_css(f'#{uid}')}</style>\n</head>\n"
            f'<body>\n<div class="cnnsym" id="{uid}">\n{body}\n</div>\n{_script(uid)}</body></html>\n')


# --------------------------------------------------------------------------- page
def _body(report, uid) -> str:
    ev = _ev(report)
    tree = module_tree(report)
    L = [f"<h1>cnnsym report: <code>{escape(report.path)}</code></h1>", '<ul class="meta">']
    L.append("<li>inputs: " + "; ".join(f"<code>{escape(s)}</code>" for s in _inputs_text(report)) + "</li>")
    L.append(f"<li>symbols: {escape(_symbols_text(report))}</li>")
    L.append(f"<li>evaluated at: <code>{escape(bindings_text(report))}</code></li>")
    L += [f"<li>{escape(n)}</li>" for n in report.binding_notes]
    L.append(f"<li>{escape(convention_line(report))}</li></ul>")
    if partial_note(report):
        L.append(f'<p class="warn">{escape(partial_note(report))}</p>')
    L.append('<nav>' + " \u00b7 ".join(f'<a href="#{uid}-{k}">{t}</a>' for k, t in _SECTIONS) + "</nav>")
    L += _section(uid, "totals", _totals(report))
    L += _section(uid, "curves", _curves(report))
    L += _section(uid, "modules", _tree_html(report, tree, ev))
    L += _section(uid, "largest", _largest(report, tree))
    L += _section(uid, "memory", _memory(report))
    L += _section(uid, "rf", _rf(report))
    L += _section(uid, "domain", _domain(report))
    L += _section(uid, "conventions", _conventions(report))
    L += _section(uid, "problems", _problems(report))
    L.append(f'<p class="foot">made by <code>cnnsym report {escape(report.path)} --format html</code>; '
             "every number is a formula of the input's sizes evaluated here, nothing was run.</p>")
    return "\n".join(L)


_SECTIONS = (("totals", "Totals"), ("curves", "Cost vs input size"), ("modules", "Modules"),
             ("largest", "Largest modules"), ("memory", "Live memory"), ("rf", "Receptive field"),
             ("domain", "Valid inputs"), ("conventions", "Conventions"), ("problems", "Problems"))


def _section(uid, key, inner) -> list:
    title = dict(_SECTIONS)[key]
    return [f'<section id="{uid}-{key}" data-section="{key}"><h2>{title}</h2>', inner, "</section>"]


def _ev(report):
    """Value of an expression at the report's bindings (None when there are none)."""
    if report.bindings is None:
        return lambda e: None
    return lambda e: None if e is None else _jsonable(report.evaluate(e))


def _num_cell(v, kind="count", formula=None) -> str:
    text = "?" if v is None else (human(v, kind) if is_int(v) else escape(str(v)))
    tip = f' title="{escape(str(v) if is_int(v) else "")}{" = " + escape(formula) if formula else ""}"' \
        if (is_int(v) or formula) else ""
    return f'<td class="num"{tip}>{text}</td>'


# --------------------------------------------------------------------------- totals
def _totals(report) -> str:
    L = ['<table class="totals"><thead><tr><th>quantity</th><th>value</th><th>exact</th><th>formula</th></tr>'
         "</thead><tbody>"]
    for _, label, f, v, hv in totals_rows(report):
        L.append(f"<tr><td>{escape(label)}</td><td class=\"num\">{escape(hv)}</td>"
                 f"<td class=\"num\">{'' if v is None else escape(str(v))}</td><td><code>{escape(f)}</code></td></tr>")
    L.append("</tbody></table>")
    return "\n".join(L)


# --------------------------------------------------------------------------- curves
def curve_sizes(report) -> tuple:
    """(spatial symbols, sizes): the sizes S (every spatial symbol = S, the others at the
    report's bindings) at which the cost curves are drawn, all in the valid domain."""
    spatial = [s for s in report.symbols if s in report.spatial_symbols]
    if not spatial or report.bindings is None:
        return spatial, []
    at = report.bindings.get(spatial[0], 224)
    lo = 1
    hi = max(2 * at, 512)
    for s in spatial:
        rng = report.valid_ranges.get(s) or {}
        lo = max(lo, rng.get("min") or 1)
        if rng.get("max"):
            hi = min(hi, rng["max"])
    if report.smallest_input:
        lo = max(lo, min(report.smallest_input.get(s, lo) for s in spatial))
    n = CURVE_POINTS if len(report.nodes) <= 1000 else CURVE_POINTS // 3
    step = max(1, (hi - lo) // n)
    cand = sorted(set(range(lo, hi + 1, step)) | {at, hi})
    steps = {(report.valid_ranges.get(s) or {}).get("step") for s in spatial} - {None}
    if steps:  # sizes of the form k*step (+ r): walk that lattice instead
        st = max(steps)
        cand = sorted(set(range(lo, hi + 1, max(st, (hi - lo) // n // st * st or st))) | {at})
    ok = [S for S in cand if S >= 1 and not violated(report, {**report.bindings, **{s: S for s in spatial}})]
    return spatial, ok


def cost_curves(report) -> dict:
    """{"sizes", "macs", "peak", "activation", "output"}: values at each size of
    :func:`curve_sizes` (``report.at``), the output's elements summed over the outputs."""
    spatial, sizes = curve_sizes(report)
    out = {"symbols": spatial, "sizes": [], "macs": [], "peak": [], "activation": [], "output": []}
    outs = [report.tensors.get(o) for o in report.outputs]
    numel = sp.Add(*[sp.Mul(*t.shape) for t in outs if t is not None and t.shape is not None])
    for S in sizes:
        b = {s: S for s in spatial}
        try:
            vals = report.at(**b)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        full = {**report.bindings, **b}
        row = (vals.get("macs"), vals.get("peak_activation_bytes"), vals.get("activation_bytes"),
               report.evaluate(numel, full))
        if not all(is_int(_jsonable(v)) for v in row):
            continue
        out["sizes"].append(S)
        for k, v in zip(("macs", "peak", "activation", "output"), row):
            out[k].append(int(v))
    return out


def _curves(report) -> str:
    spatial, _ = curve_sizes(report)
    if not spatial:
        return "<p>The input has no spatial size to vary (static or no spatial axes).</p>"
    if report.bindings is None:
        return "<p>No valid binding: the model is invalid at every size tried, nothing to draw.</p>"
    c = cost_curves(report)
    if len(c["sizes"]) < 2:
        return "<p>Too few valid sizes to draw a curve.</p>"
    eq = "=".join(spatial)
    xl = f"{eq} (other symbols at the bindings)"
    at = report.bindings.get(spatial[0])
    pts = lambda k: list(zip(c["sizes"], c[k]))  # noqa: E731
    v = [(at, f"{spatial[0]}={at}")] if at is not None else []
    macs = _svg.line_chart("macs", f"MACs against {eq}", [("MACs", pts("macs"), None)], xlabel=xl, ylabel="MACs",
                           vlines=v)
    mem = _svg.line_chart("memory", f"Activation memory against {eq}",
                          [("peak live", pts("peak"), None), ("all activations", pts("activation"), None)],
                          xlabel=xl, ylabel="bytes", ykind="bytes", vlines=v)
    outc = _svg.line_chart("output", f"Output elements against {eq}", [("output elements", pts("output"), None)],
                           xlabel=xl, ylabel="elements of the outputs", vlines=v)
    note = (f"<p class=\"note\">{len(c['sizes'])} valid sizes from {c['sizes'][0]} to {c['sizes'][-1]}, each "
            "total evaluated exactly from its formula (the peak re-derived at each size).</p>")
    return note + f'<div class="charts">{macs}{mem}{outc}</div>'


# --------------------------------------------------------------------------- module tree
def module_tree(report) -> list:
    """The modules as dicts (path, name, type, depth, children, shape formula/value, params,
    macs, flops, complete), parents first: ``Report.modules`` when the analysis made them,
    else a tree from the node names (``/a/a.0/conv/Op`` or ``a.b.c``)."""
    ev = _ev(report)
    mods = getattr(report, "modules", None)
    if mods:
        out = []
        for m in (mods.values() if isinstance(mods, Mapping) else mods):  # a dict or a LazyTree
            shape = getattr(m, "shape", None)
            params = getattr(m, "params", sp.Integer(0))
            out.append({"path": m.path, "name": getattr(m, "name", m.path) or "model", "type": getattr(m, "type", ""),
                        "depth": getattr(m, "depth", m.path.count(".") + 1 if m.path else 0),
                        "children": list(getattr(m, "children", ())),
                        "shape": _shape_value(shape, ev), "shape_formula": "?" if shape is None else _shape_str(shape),
                        "params": ev(params), "params_formula": to_str(params),
                        "macs": ev(getattr(m, "macs", 0)), "macs_formula": to_str(getattr(m, "macs", 0)),
                        "complete": getattr(m, "complete", True), "calls": getattr(m, "calls", 1)})
        return out
    return _tree_from_names(report, ev)


def _shape_value(shape, ev):
    if shape is None:
        return "?"
    vals = [ev(d) for d in shape]
    return _shape_str(shape if any(v is None for v in vals) else vals)


def _node_path(name: str) -> list:
    """The module path of a node name, from the root down: ``/layer1/layer1.0/conv1/Conv``
    (TorchScript: the last component is the op) -> layer1, layer1.0, layer1.0.conv1;
    ``block1.conv1`` -> block1, block1.conv1 (the node is a module of its own)."""
    if "/" in name:
        comps, full = [], ""
        parts = [c for c in name.split("/") if c]
        for c in parts[:-1] if len(parts) > 1 else parts:
            full = c if full and c.startswith(full + ".") else (f"{full}.{c}" if full else c)
            comps.append(full)
        return comps
    parts = name.split(".")
    return [".".join(parts[:i + 1]) for i in range(len(parts))]


def _tree_from_names(report, ev) -> list:
    nodes = {"": {"path": "", "name": "model", "type": "", "depth": 0, "children": [], "_nodes": [], "_own": []}}
    for r in report.nodes:
        comps = _node_path(r.node.name) or [r.node.name]
        parent = ""
        for depth, p in enumerate(comps, 1):
            if p not in nodes:
                nodes[p] = {"path": p, "name": p[len(parent) + 1:] if parent and p.startswith(parent + ".") else p,
                            "type": "", "depth": depth, "children": [], "_nodes": [], "_own": []}
                nodes[parent]["children"].append(p)
            nodes[p]["_nodes"].append(r)
            parent = p
        nodes[""]["_nodes"].append(r)
        nodes[comps[-1]]["_own"].append(r.node.op_type)
    out = []
    for p, d in nodes.items():
        rs, own = d.pop("_nodes"), d.pop("_own")
        last = rs[-1] if rs else None
        t = report.tensors.get(last.node.outputs[0]) if last is not None and last.node.outputs else None
        params = sp.Add(*[r.trainable + r.buffers for r in rs])
        macs = sp.Add(*[r.macs for r in rs])
        d.update({"shape": _shape_value(t.shape if t else None, ev),
                  "shape_formula": "?" if t is None or t.shape is None else _shape_str(t.shape),
                  "params": ev(params), "params_formula": to_str(params), "macs": ev(macs),
                  "macs_formula": to_str(macs), "complete": all(r.status == "ok" for r in rs), "calls": 1,
                  "type": ", ".join(dict.fromkeys(own)) if own and not d["children"] else
                  (f"{len(rs)} nodes" if p else "")})
        out.append(d)
    return out


def _tree_html(report, tree, ev) -> str:
    by = {m["path"]: m for m in tree}
    root = by.get("")
    if root is None:
        return "<p>No modules.</p>"
    tot_macs = root["macs"] if is_int(root["macs"]) and root["macs"] else None
    tot_params = root["params"] if is_int(root["params"]) and root["params"] else None
    L = ['<div class="tools"><input type="search" class="search" placeholder="filter modules (name, path or type)" '
         'aria-label="filter modules"> <button type="button" data-act="open">expand all</button> '
         '<button type="button" data-act="close">collapse all</button> <span class="count"></span></div>',
         '<div class="tree" role="tree"><div class="row head"><span class="n">module</span><span class="t">type</span>'
         '<span class="s">output shape</span><span class="v">params</span><span class="v">MACs</span>'
         '<span class="b">share: MACs, params</span></div>']
    shown = 0

    def bar(v, tot, cls):
        if tot is None or not is_int(v):
            return f'<i class="{cls}" style="width:0"></i>'
        return f'<i class="{cls}" style="width:{max(0.0, 100.0 * v / tot):.1f}%"></i>'

    def row(m):
        macs_pct = f" ({100.0 * m['macs'] / tot_macs:.1f}%)" if tot_macs and is_int(m["macs"]) else ""
        lower = "" if m["complete"] else ' <span class="warn" title="some nodes inside were not counted">lower bound</span>'
        return (f'<span class="n" style="padding-left:{0.9 * m["depth"]:.1f}em" title="{escape(m["path"] or "the model")}">'
                f'{escape(m["name"])}</span><span class="t">{escape(m["type"] or "")}</span>'
                f'<span class="s" title="{escape(m["shape_formula"])}">{escape(m["shape"])}</span>'
                f'<span class="v" title="{escape(m["params_formula"])}">{_human(m["params"])}</span>'
                f'<span class="v" title="{escape(m["macs_formula"])}">{_human(m["macs"])}{macs_pct}{lower}</span>'
                f'<span class="b">{bar(m["macs"], tot_macs, "bm")}{bar(m["params"], tot_params, "bp")}</span>')

    def emit(m):
        nonlocal shown
        shown += 1
        if shown > MAX_TREE_ROWS:
            return
        key = escape(f"{m['path']} {m['type']}".lower())
        kids = [by[c] for c in m["children"] if c in by]
        if kids:
            op = " open" if m["depth"] < 2 else ""
            L.append(f'<details class="mod" data-key="{key}"{op}><summary class="row">{row(m)}</summary>')
            for k in kids:
                emit(k)
            L.append("</details>")
        else:
            L.append(f'<div class="mod row leaf" data-key="{key}">{row(m)}</div>')

    emit(root)
    L.append("</div>")
    if shown > MAX_TREE_ROWS:
        L.append(f"<p class=\"note\">{shown - MAX_TREE_ROWS} more modules not listed (see "
                 "<code>--format json</code>).</p>")
    return "\n".join(L)


def _human(v, kind="count") -> str:
    if v is None:
        return "?"
    return escape(human(v, kind) if is_int(v) else str(v))


def _largest(report, tree) -> str:
    """Bars of MACs and params of the first level of the tree with several modules."""
    by = {m["path"]: m for m in tree}
    level = by.get("", {}).get("children", [])
    while len(level) == 1 and by[level[0]]["children"]:
        level = by[level[0]]["children"]
    mods = [by[p] for p in level if p in by]
    if not mods:
        return "<p>No modules.</p>"
    charts = []
    for key, kind, color in (("macs", "count", _svg.PALETTE[0]), ("params", "count", _svg.PALETTE[1])):
        items = [(m["path"], m[key], f"{m['path']} ({m['type']}): {m[key]} {key}") for m in mods if is_int(m[key])]
        items = sorted(items, key=lambda i: -i[1])[:MAX_BARS]
        label = "MACs" if key == "macs" else "params"
        if any(v for _, v, _ in items):
            charts.append(_svg.bar_chart(f"top-{key}", f"{label} by module ({len(items)} of {len(mods)})", items,
                                         kind=kind, color=color))
    return f'<div class="charts">{"".join(charts)}</div>' if charts else "<p>Nothing to compare at the bindings.</p>"


# --------------------------------------------------------------------------- memory, RF
def live_timeline(report) -> list:
    """[(step, live bytes)] at the bindings, step -1 holding the graph inputs only; a
    tensor counts from its producer's step to its last reader's (``TensorInfo.live``)."""
    if report.bindings is None or not report.steps:
        return []
    delta = [0] * (report.steps + 2)
    for t in report.tensors.values():
        if t.live is None or t.bytes is None:
            continue
        v = report.evaluate(t.bytes)
        if not is_int(_jsonable(v)):
            continue
        lo, hi = max(-1, t.live[0]), min(report.steps - 1, t.live[1])
        delta[lo + 1] += int(v)
        delta[hi + 2] -= int(v)
    out, cur = [], 0
    for i in range(report.steps + 1):
        cur += delta[i]
        out.append((i - 1, cur))
    return out


def _memory(report) -> str:
    tl = live_timeline(report)
    if not tl:
        return "<p>No values at the bindings.</p>"
    step, peak = max(tl, key=lambda p: p[1])
    name = "the inputs" if step < 0 else report.nodes[step].node.name
    tips = [f"step {s} ({'inputs' if s < 0 else report.nodes[s].node.name}): {human(v, 'bytes')}" for s, v in tl]
    chart = _svg.line_chart("timeline", "Live activation bytes over the execution order",
                            [("live bytes", tl, tips)], xlabel="execution step", ylabel="live bytes",
                            ykind="bytes", step=True, marks=[(step, peak, f"peak {human(peak, 'bytes')} at {name}")],
                            dots=len(tl) <= 80)
    return (f'<p>Peak: <b>{human(peak, "bytes")}</b> ({peak} bytes) live at step {step}, <code>{escape(name)}</code>. '
            f'A tensor is held from the step that makes it to its last reader.</p><div class="charts">{chart}</div>')


def rf_growth(report) -> list:
    """[(depth, size at the bindings, node name)]: the receptive field on the first
    spatial axis of each node's output, in execution order (depth = nodes so far with a
    field)."""
    if report.bindings is None:
        return []
    out = []
    for r in report.nodes:
        t = report.tensors.get(r.node.outputs[0]) if r.node.outputs else None
        _, fields = _spatial(t.rf if t is not None else None)
        if not fields:
            continue
        v = _jsonable(report.evaluate(fields[0].size))
        if isinstance(v, (int, float)):
            out.append((len(out) + 1, v, r.node.name))
    return out


def _rf(report) -> str:
    g = rf_growth(report)
    if not g:
        return "<p>No receptive field to draw.</p>"
    spatial = [s for s in report.symbols if s in report.spatial_symbols]
    size = report.bindings.get(spatial[0]) if spatial else None
    h = [(size, f"input {spatial[0]}={size}")] if size else []
    chart = _svg.line_chart("rf", "Receptive field size against depth",
                            [("RF size", [(d, v) for d, v, _ in g], [f"{n}: {v} px" for _, v, n in g])],
                            xlabel="depth (nodes with a spatial field, execution order)",
                            ylabel="receptive field (input pixels)", hlines=h)
    last = g[-1]
    return (f"<p>The last field, at <code>{escape(last[2])}</code>, spans {last[1]} input pixels"
            + (f" of the {size} of the input" if size else "") + f".</p><div class=\"charts\">{chart}</div>")


# --------------------------------------------------------------------------- domain, conventions, problems
def _domain(report) -> str:
    L = []
    if not report.constraints:
        L.append("<p>No constraints: every positive size is valid.</p>")
    if report.valid_ranges:
        L.append('<table><thead><tr><th>symbol</th><th>valid values</th><th>with</th></tr></thead><tbody>')
        for s, d in report.valid_ranges.items():
            others = ", ".join(f"{k}={v}" for k, v in (d.get("others") or {}).items())
            L.append(f"<tr><td><code>{escape(s)}</code></td><td>{escape(d.get('text', ''))}</td>"
                     f"<td>{escape(others)}</td></tr>")
        L.append("</tbody></table>")
    if report.smallest_input:
        L.append("<p>Smallest valid input: <code>" + escape(", ".join(f"{k}={v}" for k, v in report.smallest_input.items()))
                 + "</code></p>")
    if report.constraints:
        L.append(f'<details><summary>{len(report.constraints)} constraint(s)</summary><ul class="cons">')
        L += [f"<li><code>{escape(rel_str(c.rel))}</code>: {escape(c.message)} (<code>{escape(c.node)}</code>)</li>"
              for c in report.constraints[:200]]
        L.append("</ul></details>")
    return "\n".join(L)


def _conventions(report) -> str:
    if report.bindings is None:
        return "<p>No values at the bindings.</p>"
    rows = compare_rows(report, formulas=False)
    L = ['<table class="conv"><thead><tr><th>convention</th><th>tool</th><th>unit</th><th>total</th><th>exact</th>'
         "<th>what it counts</th></tr></thead><tbody>"]
    for r in rows:
        L.append(f"<tr><td><code>{escape(r['convention'])}</code></td><td>{escape(r['tool'])}</td>"
                 f"<td>{escape(r['unit'])}</td><td class=\"num\">{_human(r['value'])}</td>"
                 f"<td class=\"num\">{'?' if r['value'] is None else r['value']}</td><td>{escape(r['explanation'])}</td></tr>")
    L.append("</tbody></table>")
    bugs = [(r["convention"], b, d) for r in rows for b, d in r["bugs"].items() if d["value"]]
    if bugs:
        L.append("<p>Known tool bugs here (not in the totals above):</p><ul>")
        L += [f"<li><code>{escape(c)}</code> {escape(b)}: {_human(d['value'])}: {escape(d['what'])}</li>"
              for c, b, d in bugs]
        L.append("</ul>")
    return "\n".join(L)


def _problems(report) -> str:
    L = []
    if report.unaccounted:
        L.append("<p class=\"warn\">Not counted (unsupported ops): " + escape(", ".join(
            f"{u['op']} x{u['count']}" for u in report.unaccounted)) + "</p>")
    L += [f'<p class="err">error: {escape(e)}</p>' for e in report.errors]
    L += [f'<p class="warn">warning: {escape(w)}</p>' for w in report.warnings[:100]]
    if not L:
        n = incomplete_nodes(report)
        L.append("<p>None: every node was counted.</p>" if not n else f"<p>{n} node(s) not counted.</p>")
    return "\n".join(L)


# --------------------------------------------------------------------------- style, script
def _css(scope: str) -> str:
    s = scope
    return f"""
{s}{{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1200px;margin:0 auto;padding:8px 16px}}
{s} h1{{font-size:20px;margin:8px 0}} {s} h2{{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #ddd}}
{s} code{{font:12px/1.3 ui-monospace,Menlo,Consolas,monospace}} {s} .meta{{margin:4px 0;padding-left:18px}}
{s} nav a{{color:#2a5db0;text-decoration:none}} {s} .warn{{color:#a15c00}} {s} .err{{color:#b00020}}
{s} .note,{s} .foot{{color:#666;font-size:12px}}
{s} table{{border-collapse:collapse;margin:4px 0}} {s} th,{s} td{{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}}
{s} td.num{{text-align:right;white-space:nowrap}} {s} .totals td code{{word-break:break-all}}
{s} .charts{{display:flex;flex-wrap:wrap;gap:12px}} {s} svg.chart{{max-width:100%;height:auto;background:#fff;border:1px solid #eee}}
{s} .tree{{border:1px solid #eee}} {s} .row{{display:grid;grid-template-columns:minmax(180px,2.2fr) minmax(90px,1fr) minmax(110px,1.2fr) 70px 120px 170px;gap:6px;padding:1px 4px;align-items:center}}
{s} .row.head{{font-weight:600;background:#f6f6f6}} {s} .row span{{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
{s} .row .v{{text-align:right}} {s} summary.row{{cursor:pointer;list-style:none}} {s} summary.row::-webkit-details-marker{{display:none}}
{s} summary.row .n::before{{content:"\\25b8 ";color:#888}} {s} details[open]>summary.row .n::before{{content:"\\25be ";}}
{s} .leaf .n::before{{content:"\\00a0\\00a0 "}} {s} .row:hover{{background:#f3f7ff}} {s} .mod.hit>.row,{s} .mod.hit.row{{background:#fff4c2}}
{s} .b i{{display:block;height:5px;margin:1px 0;background:#4e79a7}} {s} .b i.bp{{background:#f28e2b}}
{s} .tools{{margin:4px 0}} {s} .tools input{{width:280px;padding:3px 6px}}
"""


def _script(uid: str) -> str:
    """Filter and fold the tree (``page.html#filter=layer2`` opens filtered); no other
    script, no request."""
    return ("<script>(function(){var root=document.getElementById(" + repr(uid).replace("'", '"') + ");"
            "if(!root)return;var q=root.querySelector('input.search'),mods=root.querySelectorAll('.mod'),"
            "count=root.querySelector('.tools .count');"
            "function up(m){for(var e=m;e&&e!==root;e=e.parentElement){if(e.classList&&e.classList.contains('mod')){"
            "e.style.display='';if(e.tagName==='DETAILS'&&e!==m)e.open=true;}}}"
            "function filter(){var s=q.value.trim().toLowerCase(),n=0,i;"
            "for(i=0;i<mods.length;i++){mods[i].classList.remove('hit');mods[i].style.display=s?'none':'';}"
            "if(!s){count.textContent='';return;}"
            "for(i=0;i<mods.length;i++){var m=mods[i];if(m.getAttribute('data-key').indexOf(s)>=0){n++;"
            "m.classList.add('hit');up(m);var d=m.querySelectorAll('.mod');for(var j=0;j<d.length;j++)d[j].style.display='';}}"
            "count.textContent=n+' match'+(n===1?'':'es');}"
            "q.addEventListener('input',filter);"
            "var h=/^#filter=(.*)$/.exec(location.hash||'');if(h){q.value=decodeURIComponent(h[1]);filter();}"
            "root.querySelectorAll('.tools button').forEach(function(b){b.addEventListener('click',function(){"
            "var o=b.getAttribute('data-act')==='open';root.querySelectorAll('details.mod').forEach(function(d){d.open=o;});});});"
            "})();</script>\n")
