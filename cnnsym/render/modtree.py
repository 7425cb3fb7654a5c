"""The module tree of a Report (``Report.modules``) for the renderers: the JSON ``modules``
section (docs/json.md) and the rows of the module view of the table and Markdown.

Module rows follow the tree in first-call order, cut at a depth: a module deeper than
``depth`` is folded into its ancestor at that depth, whose numbers already include it.
Params are counted as torch counts ``parameters()``: the trainable ones of the subtree
(BatchNorm: 2C), buffers (running mean/var) and constants (Clip bounds, Pad widths, shape
constants) apart.
"""
from __future__ import annotations

from .common import _Eval, _jsonable, _shape_str, _spatial, is_int, is_shape_arithmetic, to_str

DEFAULT_DEPTH = 2  # resnet18 and resnet50: stem layers, layerN and their blocks fit a screen


def has_tree(report) -> bool:
    """The model names its modules (source, or an export with scopes), not one per node."""
    return any(m.kind == "module" and m.depth > 0 for m in report.modules.values())


def view_of(report, view=None) -> str:
    """``"modules"`` or ``"nodes"``: the view asked for, else the module tree when the model
    has one (a file without exporter scopes is shown node by node)."""
    if view in ("modules", "nodes"):
        return view
    return "modules" if has_tree(report) else "nodes"


def _s(e):
    return None if e is None else to_str(e)


def modules_json(report) -> list:
    """The ``modules`` section: one object per module, first-call order."""
    ev = _Eval(report)
    out = []
    for m in report.modules.values():
        axes, fields = _spatial(m.rf)
        d = {
            "path": m.path,
            "name": m.name,
            "type": m.type,
            "kind": m.kind,
            "parent": m.parent,
            "children": list(m.children),
            "depth": m.depth,
            "calls": m.calls,
            "nodes": list(m.nodes),
            "outputs": list(m.outputs),
            "shape": None if m.shape is None else [to_str(x) for x in m.shape],
            "bytes": _s(m.bytes),
            "receptive_field": {"axes": axes, "size": [to_str(f.size) for f in fields],
                                "stride": [to_str(f.stride) for f in fields],
                                "offset": [to_str(f.offset) for f in fields]} if fields else None,
            "params": {"trainable": to_str(m.trainable), "buffers": to_str(m.buffers),
                       "constants": to_str(m.constants)},
            "own_params": {"trainable": to_str(m.own_trainable), "buffers": to_str(m.own_buffers),
                           "constants": to_str(m.own_constants)},
            "macs": to_str(m.macs),
            "flops": to_str(m.flops),
            "complete": m.complete,
            "loc": m.loc,
            "call_loc": m.call_loc,
        }
        if ev.b is not None:
            d["values"] = {
                "shape": None if m.shape is None else [_jsonable(ev(x)) for x in m.shape],
                "bytes": None if m.bytes is None else _jsonable(ev(m.bytes)),
                "params": {"trainable": _jsonable(ev(m.trainable)), "buffers": _jsonable(ev(m.buffers)),
                           "constants": _jsonable(ev(m.constants))},
                "macs": _jsonable(ev(m.macs)),
                "flops": _jsonable(ev(m.flops)),
            }
            if fields:
                d["values"]["receptive_field"] = {k: [_jsonable(ev(getattr(f, k))) for f in fields]
                                                  for k in ("size", "stride", "offset")}
        else:
            d["values"] = None
        out.append(d)
    return out


def module_rows(report, depth=DEFAULT_DEPTH, *, sort=None, top=None) -> list:
    """Row dicts of the module view: modules down to ``depth`` (the root is depth 0 and is
    not listed: its numbers are the totals), in tree order; with ``sort="macs"`` the
    ``top`` modules with the most MACs among those rows (hot spots), biggest first."""
    ev = _Eval(report)
    total = report.values.get("macs") if report.bindings is not None else None
    results = {r.node.name: r for r in report.nodes}
    rows = []
    for m in report.modules.values():
        if m.depth == 0 or (depth is not None and m.depth > depth):
            continue
        folded = depth is not None and m.depth == depth and bool(m.children)
        params = m.trainable  # torch's parameters(): buffers and constants apart
        macs_v = ev(m.macs) if ev.b is not None else m.macs
        share = None
        if is_int(macs_v) and is_int(total) and total > 0:
            share = 100.0 * macs_v / total
        axes, fields = _spatial(m.rf)
        rows.append({
            "path": m.path,
            "name": m.name,
            "depth": m.depth,
            "type": m.type or op_type(report, m, results),
            "leaf": not m.children or (depth is not None and m.depth >= depth),
            "folded": folded,  # deeper modules summed into this row
            "calls": m.calls,
            "complete": m.complete,
            "shape_formula": "" if m.shape is None else _shape_str(m.shape),
            "shape": ("" if m.shape is None else
                      _shape_str([ev(d) for d in m.shape]) if ev.b is not None else _shape_str(m.shape)),
            "params_expr": params,
            "params": ev(params) if ev.b is not None else params,
            "trainable": ev(m.trainable) if ev.b is not None else m.trainable,
            "buffers": ev(m.buffers) if ev.b is not None else m.buffers,
            "constants": ev(m.constants) if ev.b is not None else m.constants,
            "macs_expr": m.macs,
            "macs": macs_v,
            "share": share,
            "flops": ev(m.flops) if ev.b is not None else m.flops,
            "bytes_expr": m.bytes,
            "bytes": None if m.bytes is None else (ev(m.bytes) if ev.b is not None else m.bytes),
            "rf_size": [f.size for f in fields], "rf_stride": [f.stride for f in fields],
            "rf_size_v": [ev(f.size) if ev.b is not None else f.size for f in fields],
            "rf_stride_v": [ev(f.stride) if ev.b is not None else f.stride for f in fields],
        })
    if sort == "macs":  # hot spots: the modules shown without their children
        rows = [r for r in rows if r["leaf"]]
        rows.sort(key=lambda r: -(r["macs"] if is_int(r["macs"]) else 0))
        if top is not None:
            rows = rows[:top]
    return rows


def op_type(report, m, results) -> str:
    """A module the file does not name the class of: its op when every node inside that is
    not shape arithmetic is the same op (``Conv``, ``Relu``), else ''."""
    ops = set()
    for n in m.nodes:
        r = results.get(n)
        if r is not None and not is_shape_arithmetic(report, r):
            ops.add(r.node.op_type)
            if len(ops) > 1:
                return ""
    return ops.pop() if ops else ""
