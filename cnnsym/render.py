"""Renderers: a :class:`~cnnsym.report.Report` as a table (rich), JSON, Markdown or CSV.

Renderers read the Report and nothing else; they never re-derive a shape. Every
expression is printed with :func:`cnnsym.symbolic.to_str`, so it parses back with
``sympy.sympify``. The JSON layout is documented in ``docs/json.md``.
"""
from __future__ import annotations

import csv
import functools
import io
import json

import sympy as sp

from .report import SCHEMA_VERSION
from .symbolic import to_str as _to_str

# the same shapes and costs recur across a network: print each expression once
to_str = functools.lru_cache(maxsize=200_000)(_to_str)

TOTAL_KEYS = ("params.trainable", "params.buffers", "params.constants", "params.total",
              "macs", "flops", "activation_bytes", "peak_activation_bytes")
TOTAL_LABELS = {
    "params.trainable": "params (trainable)",
    "params.buffers": "params (buffers)",
    "params.constants": "params (constants)",
    "params.total": "params (total)",
    "macs": "MACs",
    "flops": "FLOPs",
    "activation_bytes": "activation memory",
    "peak_activation_bytes": "peak live activations",
}
BYTE_KEYS = {"activation_bytes", "peak_activation_bytes"}


STATUS_MARK = {"unaccounted": " *", "unresolved": " ?", "error": " !"}
STATUS_TEXT = {"unaccounted": "unsupported op, not counted (see Unaccounted)",
               "unresolved": "shape unknown (downstream of an unsupported op)",
               "error": "the op rejects its inputs (see Errors)"}


# --------------------------------------------------------------------------- helpers
def rel_str(rel) -> str:
    """A constraint as a string that sympify parses, without evaluating it."""
    if isinstance(rel, sp.Equality):
        return f"Eq({to_str(rel.lhs)}, {to_str(rel.rhs)})"
    if isinstance(rel, sp.core.relational.Relational):
        return f"{to_str(rel.lhs)} {rel.rel_op} {to_str(rel.rhs)}"
    return to_str(rel)


def convention_doc(report) -> dict:
    """What the counting convention named in ``report.convention`` means."""
    from .ops import TERMS

    p = _preset(report)
    extra = {} if p is None else {"preset": {"tool": p.tool, "unit": p.unit, "summary": p.summary,
                                             "bugs": {b: d.description for b, d in p.bugs.items()}}}
    return {
        **extra,
        "name": report.convention,
        "macs": "multiply-accumulates of Conv, ConvTranspose (input side), Gemm and MatMul",
        "flops": "2*macs + the sum of the named terms",
        "terms": dict(TERMS),
        "params": "trainable (weights, biases, norm scale/shift), buffers (running mean/var), "
                  "constants (other initializers and Constant nodes); each initializer counted once",
        "bytes": "elements x dtype size of each node output; peak = largest sum of live tensors "
                 "over the topological order (a tensor lives from its producer to its last reader)",
    }


def _preset(report):
    """The counting preset named by ``report.convention`` (None for cnnsym's own)."""
    if report.convention == "cnnsym":
        return None
    from .conventions import get

    try:
        return get(report.convention)
    except KeyError:
        return None


def convention_line(report) -> str:
    p = _preset(report)
    if p is not None:
        return (f"convention {p.name} ({p.unit}, as {p.tool}): {p.summary}; the cnnsym totals "
                f"(MACs, FLOPs, terms) are shown as well")
    return (f"convention {report.convention}: MACs = multiply-accumulates of Conv/ConvTranspose "
            f"(input side)/Gemm/MatMul; FLOPs = 2*MACs + named terms; params counted once per "
            f"initializer; bytes = elements x dtype size")


def _jsonable(v):
    """An evaluated value for JSON: int, float, or an expression string."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, sp.Integer):
        return int(v)
    if isinstance(v, sp.Float):
        return float(v)
    if isinstance(v, sp.Basic):
        return to_str(v)
    try:
        import numpy as np

        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return float(v)
    except ImportError:  # pragma: no cover
        pass
    return str(v)


def _json_default(o):
    return _jsonable(o)


class _Eval:
    """Evaluates expressions at the report's bindings (None when there are none)."""

    def __init__(self, report):
        self.report = report
        self.b = report.bindings
        self.memo = {}

    def __call__(self, expr):
        if self.b is None or expr is None:
            return None
        if isinstance(expr, int):
            return expr
        try:
            return self.memo[expr]
        except KeyError:
            v = self.memo[expr] = self.report.evaluate(expr, self.b)
            return v
        except TypeError:  # unhashable
            return self.report.evaluate(expr, self.b)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def human(v, kind: str = "count") -> str:
    """1820000000 -> '1.82G' (counts, SI) or 65536 -> '64.0KiB' (bytes, binary).
    Non-integer values (free symbols left, rationals) print as expressions."""
    if v is None:
        return "?"
    if not is_int(v):
        return to_str(v) if isinstance(v, sp.Basic) else str(v)
    if kind == "bytes":
        n = float(v)
        for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(n) < 1024 or unit == "TiB":
                return f"{v}B" if unit == "B" else f"{_sig3(n)}{unit}"
            n /= 1024
    n = float(v)
    if abs(n) < 1000:
        return str(v)
    for unit in ("K", "M", "G", "T", "P"):
        n /= 1000
        if abs(n) < 1000 or unit == "P":
            return f"{_sig3(n)}{unit}"
    return str(v)  # pragma: no cover


def _sig3(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _shape_str(dims) -> str:
    """Evaluated shapes as 1x64x56x56, formulas as (N, 64, ceiling(H/4), ceiling(W/4))."""
    if dims is None:
        return "?"
    if len(dims) == 0:
        return "scalar"
    parts = [to_str(d) if isinstance(d, sp.Basic) else str(d) for d in dims]
    if all(p.isdigit() for p in parts):
        return "x".join(parts)
    return "(" + ", ".join(parts) + ")"


def _spatial(rf):
    """(axes, fields) of a TensorInfo.rf tuple: the axes with a receptive field."""
    if not rf:
        return [], []
    axes = [i for i, f in enumerate(rf) if f is not None]
    return axes, [rf[i] for i in axes]


def _collapse(items) -> str:
    """Per-axis strings joined with 'x', or one value when all axes agree."""
    if not items:
        return ""
    return items[0] if all(i == items[0] for i in items) else "x".join(items)


# --------------------------------------------------------------------------- rows
def node_rows(report) -> list:
    """One dict per node with formulas and evaluated values, shared by the renderers."""
    ev = _Eval(report)
    rows = []
    for r in report.nodes:
        n = r.node
        outs = [o for o in n.outputs if o]
        tinfos = [report.tensors.get(o) for o in outs]
        shapes_f, shapes_v = [], []
        for t in tinfos:
            if t is None or t.shape is None:
                shapes_f.append("?")
                shapes_v.append("?")
                continue
            shapes_f.append(_shape_str(t.shape))
            shapes_v.append(_shape_str([ev(d) for d in t.shape]) if ev.b is not None else _shape_str(t.shape))
        known = bool(tinfos) and all(t is not None and t.bytes is not None for t in tinfos)
        bytes_expr = sp.Add(*[t.bytes for t in tinfos]) if known else None
        bytes_v = None if bytes_expr is None else (ev(bytes_expr) if ev.b is not None else bytes_expr)
        rf_t = next((t for t in tinfos if t is not None and t.rf), None)
        _, fields = _spatial(rf_t.rf if rf_t else None)
        rf_size = [f.size for f in fields]
        rf_stride = [f.stride for f in fields]
        rf_offset = [f.offset for f in fields]
        params = r.params
        rows.append({
            "name": n.name,
            "op": n.op_type,
            "domain": n.domain or "ai.onnx",
            "status": r.status,
            "inputs": list(n.inputs),
            "outputs": outs,
            "shape_formula": "; ".join(shapes_f),
            "shape": "; ".join(shapes_v),
            "params_expr": params,
            "params": ev(params) if ev.b is not None else params,
            "trainable": r.trainable, "buffers": r.buffers, "constants": r.constants,
            "macs_expr": r.macs,
            "macs": ev(r.macs) if ev.b is not None else r.macs,
            "flops_expr": r.flops,
            "flops": ev(r.flops) if ev.b is not None else r.flops,
            "terms": dict(r.terms),
            "bytes_expr": bytes_expr,
            "bytes": bytes_v,
            "rf_size": rf_size, "rf_stride": rf_stride, "rf_offset": rf_offset,
            "rf_size_v": [ev(x) for x in rf_size] if ev.b is not None else rf_size,
            "rf_stride_v": [ev(x) for x in rf_stride] if ev.b is not None else rf_stride,
            "message": r.message,
        })
    return rows


def _rf_cell(row) -> str:
    if not row["rf_size"]:
        return ""
    size = _collapse([human(v) if is_int(v) else to_str(v) for v in row["rf_size_v"]])
    stride = _collapse([str(v) if is_int(v) else to_str(v) for v in row["rf_stride_v"]])
    return f"{size}/{stride}"


def _val_cell(v, kind="count") -> str:
    if v is None:
        return "?"
    if is_int(v):
        return "" if v == 0 and kind == "count0" else human(v, "bytes" if kind == "bytes" else "count")
    return to_str(v) if isinstance(v, sp.Basic) else str(v)


def totals_rows(report) -> list:
    """(key, label, formula string, exact value or None, human value string)."""
    out = []
    keys = [k for k in TOTAL_KEYS if k in report.totals]
    terms = sorted(k for k in report.totals if k.startswith("terms."))
    conv = ["convention.total"] if "convention.total" in report.totals else []
    for k in keys[:6] + terms + keys[6:] + conv:
        expr = report.totals[k]
        v = report.values.get(k) if report.values else None
        v = _jsonable(v) if v is not None else None
        label = TOTAL_LABELS.get(k, k.replace("terms.", "term: "))
        if k == "convention.total":
            p = _preset(report)
            label = f"{report.convention}: {p.unit if p else 'total'}"
        hv = "" if v is None else (human(v, "bytes" if k in BYTE_KEYS else "count") if is_int(v) else str(v))
        out.append((k, label, to_str(expr), v, hv))
    return out


def incomplete_nodes(report) -> int:
    """How many nodes were not fully counted (unaccounted, unresolved or in error)."""
    return sum(1 for r in report.nodes if r.status != "ok")


def partial_note(report) -> str:
    n = incomplete_nodes(report)
    if not n:
        return ""
    return (f"partial: {n} node{'s' if n != 1 else ''} not counted (unsupported ops, their "
            f"downstream or errors); totals are lower bounds")


def opaque_symbols(report) -> list:
    """Symbols in tensor shapes that are not input dims: fresh sizes of unsupported ops'
    outputs or data-dependent sizes (NonZero)."""
    dims = {d for t in report.tensors.values() if t.shape is not None for d in t.shape}
    out = {s.name for d in dims if isinstance(d, sp.Basic) for s in d.free_symbols}
    return sorted(out - set(report.symbols))


def bindings_text(report) -> str:
    if report.bindings is None:
        return "none (no valid binding: values not evaluated)"
    if not report.bindings:
        return "none needed (all dims static)"
    return ", ".join(f"{k}={v}" for k, v in report.bindings.items())


def _symbols_text(report) -> str:
    return ", ".join(f"{s} ({inp}[{ax}])" if inp is not None else
                     f"{s} (hyperparameter, default {report.symbol_defaults.get(s)})"
                     for s, (inp, ax) in report.symbols.items()) or "none (all dims static)"


def _inputs_text(report) -> list:
    out = []
    for name in report.inputs:
        t = report.tensors.get(name)
        out.append(f"{name}: {_shape_str(t.shape) if t else '?'}")
    return out


# --------------------------------------------------------------------------- JSON
def to_json_dict(report) -> dict:
    """The documented JSON form (docs/json.md), schema_version 1."""
    from . import __version__
    from .graph import DTYPE_NAMES

    ev = _Eval(report)
    tensors = {}
    for name, t in report.tensors.items():
        d = {
            "shape": None if t.shape is None else [to_str(x) for x in t.shape],
            "dtype": DTYPE_NAMES.get(t.dtype, str(t.dtype)),
            "bytes": None if t.bytes is None else to_str(t.bytes),
            "producer": t.producer,
            "declared": bool(t.declared),
        }
        axes, fields = _spatial(t.rf)
        if fields:
            d["receptive_field"] = {
                "axes": axes,
                "size": [to_str(f.size) for f in fields],
                "stride": [to_str(f.stride) for f in fields],
                "offset": [to_str(f.offset) for f in fields],
            }
        else:
            d["receptive_field"] = None
        if ev.b is not None:
            vals = {"shape": None if t.shape is None else [_jsonable(ev(x)) for x in t.shape],
                    "bytes": None if t.bytes is None else _jsonable(ev(t.bytes))}
            if fields:
                vals["receptive_field"] = {k: [_jsonable(ev(getattr(f, k))) for f in fields]
                                           for k in ("size", "stride", "offset")}
            d["values"] = vals
        else:
            d["values"] = None
        tensors[name] = d

    for r in report.nodes:  # an output the op did not describe is still listed, as unknown
        for o in r.node.outputs:
            if o and o not in tensors:
                tensors[o] = {"shape": None, "dtype": None, "bytes": None, "producer": r.node.name,
                              "declared": False, "receptive_field": None, "values": None}

    nodes = []
    for r in report.nodes:
        n = r.node
        d = {
            "name": n.name,
            "op": n.op_type,
            "domain": n.domain or "ai.onnx",
            "inputs": list(n.inputs),
            "outputs": list(n.outputs),
            "status": r.status,
            "params": {"trainable": to_str(r.trainable), "buffers": to_str(r.buffers),
                       "constants": to_str(r.constants)},
            "macs": to_str(r.macs),
            "flops": to_str(r.flops),
            "terms": {k: to_str(v) for k, v in r.terms.items()},
            "message": r.message,
        }
        if ev.b is not None:
            d["values"] = {
                "params": {"trainable": _jsonable(ev(r.trainable)), "buffers": _jsonable(ev(r.buffers)),
                           "constants": _jsonable(ev(r.constants))},
                "macs": _jsonable(ev(r.macs)),
                "flops": _jsonable(ev(r.flops)),
                "terms": {k: _jsonable(ev(v)) for k, v in r.terms.items()},
            }
        else:
            d["values"] = None
        nodes.append(d)

    def grouped(get):
        tot = report.totals
        return {
            "params": {k: get(f"params.{k}") for k in ("trainable", "buffers", "constants", "total")},
            "macs": get("macs"),
            "flops": get("flops"),
            "activation_bytes": get("activation_bytes"),
            "peak_activation_bytes": get("peak_activation_bytes"),
            "terms": {k[len("terms."):]: get(k) for k in tot if k.startswith("terms.")},
            **({"convention_total": get("convention.total")} if "convention.total" in tot else {}),
        }

    totals = grouped(lambda k: to_str(report.totals[k]) if k in report.totals else None)
    values = (grouped(lambda k: _jsonable(report.values.get(k)) if k in report.values else None)
              if report.bindings is not None and report.values else None)
    return {
        "schema_version": SCHEMA_VERSION,
        "cnnsym_version": __version__,
        "model": report.path,
        "kind": report.kind,
        "opset": report.opset,
        "convention": report.convention,
        "convention_doc": convention_doc(report),
        "symbols": {s: ({"input": inp, "axis": ax} if inp is not None else
                        {"input": None, "axis": None, "hyperparameter": True, "default": report.symbol_defaults.get(s)})
                    for s, (inp, ax) in report.symbols.items()},
        "opaque_symbols": opaque_symbols(report),
        "complete": incomplete_nodes(report) == 0,
        "inputs": list(report.inputs),
        "outputs": list(report.outputs),
        "bindings": None if report.bindings is None else {k: int(v) for k, v in report.bindings.items()},
        "binding_notes": list(report.binding_notes),
        "tensors": tensors,
        "nodes": nodes,
        "totals": totals,
        "values": values,
        "constraints": [{"expr": rel_str(c.rel), "message": c.message, "node": c.node} for c in report.constraints],
        "valid_ranges": {k: {kk: _jsonable(vv) if not isinstance(vv, dict) else {a: _jsonable(b) for a, b in vv.items()}
                             for kk, vv in v.items()} for k, v in report.valid_ranges.items()},
        "smallest_input": None if report.smallest_input is None else {k: int(v) for k, v in report.smallest_input.items()},
        "unaccounted": [{"op": u["op"], "domain": u["domain"], "count": u["count"], "nodes": list(u.get("nodes", []))}
                        for u in report.unaccounted],
        "warnings": list(report.warnings),
        "errors": list(report.errors),
    }


PRETTY_NODES = 2000


def render_json(report) -> str:
    """Indented for models up to PRETTY_NODES nodes, compact (and fast) above."""
    indent = 2 if len(report.nodes) <= PRETTY_NODES else None
    return json.dumps(to_json_dict(report), indent=indent, default=_json_default) + "\n"


# --------------------------------------------------------------------------- CSV
CSV_FIELDS = ["name", "op", "domain", "status", "inputs", "outputs", "shape", "shape_formula",
              "params_trainable", "params_buffers", "params_constants", "params",
              "macs", "macs_formula", "flops", "flops_formula", "output_bytes", "output_bytes_formula",
              "rf_size", "rf_stride", "rf_offset", "terms", "message", "bindings", "convention"]


def render_csv(report) -> str:
    """One row per node: evaluated values (at the bindings, when there are some) and formulas."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    ev = _Eval(report)

    def v(x):
        if x is None:
            return ""
        if ev.b is None:
            return to_str(x)
        return str(_jsonable(ev(x)))

    bind = ("" if report.bindings is None
            else " ".join(f"{k}={v}" for k, v in report.bindings.items()) or "static")
    for row in node_rows(report):
        w.writerow([
            row["name"], row["op"], row["domain"], row["status"],
            " ".join(row["inputs"]), " ".join(row["outputs"]),
            row["shape"], row["shape_formula"],
            v(row["trainable"]), v(row["buffers"]), v(row["constants"]), v(row["params_expr"]),
            v(row["macs_expr"]), to_str(row["macs_expr"]), v(row["flops_expr"]), to_str(row["flops_expr"]),
            v(row["bytes_expr"]), "" if row["bytes_expr"] is None else to_str(row["bytes_expr"]),
            "x".join(to_str(x) for x in row["rf_size"]), "x".join(to_str(x) for x in row["rf_stride"]),
            "x".join(to_str(x) for x in row["rf_offset"]),
            "; ".join(f"{k}={to_str(e)}" for k, e in row["terms"].items()),
            row["message"], bind, report.convention,
        ])
    return buf.getvalue()


# --------------------------------------------------------------------------- Markdown
def _md(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(s) -> str:
    s = str(s)
    return f"`{_md(s)}`" if s else ""


def _md_table(header, rows) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(rows_i) + " |" for rows_i in rows]
    return out


def render_markdown(report) -> str:
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
    L.append(f"### Layers ({len(rows)} nodes)")
    L.append("")
    L += _md_table(["node", "op", "output shape", "shape formula", "params", "MACs", "memory", "RF size/stride", "status"],
                   [[_code(r["name"]), _md(r["op"]), _md(r["shape"]), _code(r["shape_formula"]),
                     _md(_val_cell(r["params"], "count0")), _md(_val_cell(r["macs"], "count0")),
                     _md(_val_cell(r["bytes"], "bytes")), _md(_rf_cell(r)),
                     _md(r["status"] + (f": {r['message']}" if r["message"] else ""))] for r in rows])
    L.append("")
    L += _md_domain(report)
    L += _md_issues(report)
    return "\n".join(L).rstrip() + "\n"


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
        L.append("- smallest valid input: " + ", ".join(f"`{k}={v}`" for k, v in report.smallest_input.items()))
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


# --------------------------------------------------------------------------- table (rich)
def render_table(report, console, wide: bool = False) -> None:
    """Print the report on a rich console: readable at 80 columns, formulas with ``wide``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

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
        from rich.padding import Padding

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


MAX_LISTED = 20


def shorten(name: str, width: int) -> str:
    """Shorten in the middle, keeping the start and the (most telling) end."""
    if len(name) <= width:
        return name
    head = max(1, (width - 3) // 3)
    tail = width - 3 - head
    return name[:head] + "..." + name[len(name) - tail:]


def constraints_shown(report, limit: int):
    """Constraints to list: equalities and other non-trivial ones first."""
    cons = list(report.constraints)
    key = lambda c: 0 if isinstance(c.rel, sp.Equality) else 1
    cons.sort(key=key)
    return cons[:limit], max(0, len(cons) - limit)


def render_table_text(report, wide: bool = False, width: int | None = None) -> str:
    """The table as plain text (no colour)."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width or (160 if wide else 80), color_system=None,
                      highlight=False, soft_wrap=False, emoji=False, markup=False)
    render_table(report, console, wide)
    return buf.getvalue()


# --------------------------------------------------------------------------- ops
def op_rows() -> list:
    """Every registered op: domain, op_type, origin, summary (first docstring line), attributes."""
    from .ops import REGISTRY, load_builtin_ops

    load_builtin_ops()
    out = []
    for (domain, op_type), cls in sorted(REGISTRY.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        import inspect

        doc = inspect.cleandoc(cls.__doc__ or "") if cls.__doc__ else ""
        paras = [" ".join(l.strip() for l in p.splitlines() if l.strip() and not l.strip().startswith("http"))
                 for p in doc.split("\n\n")]
        paras = [p for p in paras if p]
        summary = paras[0] if paras else ""
        formula = " ".join(paras[1:])
        link = next((l.strip() for l in doc.splitlines() if l.strip().startswith("http")), "")
        out.append({
            "domain": domain or "ai.onnx",
            "op_type": op_type,
            "origin": getattr(cls, "origin", "cnnsym"),
            "summary": summary,
            "formula": formula,
            "spec": link,
            "attributes": {k: _jsonable(v) if not isinstance(v, (list, tuple)) else list(v)
                           for k, v in (cls.attributes or {}).items()},
            "param_roles": {str(k): v for k, v in (cls.param_roles or {}).items()},
            "examples": len(getattr(cls, "examples", []) or []),
        })
    return out


def _attrs_text(attrs: dict) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in attrs.items())


def render_ops(fmt: str, console=None) -> str | None:
    from .ops import TERMS

    rows = op_rows()
    if fmt == "json":
        return json.dumps({"schema_version": SCHEMA_VERSION, "terms": dict(TERMS), "ops": rows},
                          indent=2, default=_json_default) + "\n"
    if fmt == "markdown":
        L = [f"## cnnsym ops ({len(rows)})", ""]
        L += _md_table(["domain", "op", "origin", "summary", "formula", "attributes"],
                       [[_md(r["domain"]), _code(r["op_type"]), _md(r["origin"]), _md(r["summary"]),
                         _md(r["formula"]), _md(_attrs_text(r["attributes"]))] for r in rows])
        L += ["", "### Cost terms", ""] + [f"- `{k}`: {_md(v)}" for k, v in TERMS.items()]
        return "\n".join(L) + "\n"
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"cnnsym ops: {len(rows)} registered (domain::op where the domain is not ai.onnx)",
                       style="bold"))
    tbl = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
    tbl.add_column("op (origin)", overflow="fold", max_width=30)
    tbl.add_column("summary; attributes with their defaults", overflow="fold")
    for r in rows:
        name = Text(r["op_type"] if r["domain"] == "ai.onnx" else f"{r['domain']}::{r['op_type']}")
        if r["origin"] != "cnnsym":
            name.append(f"\n({r['origin']})", style="dim")
        desc = Text(r["summary"])
        if r["attributes"]:
            desc.append("\n" + _attrs_text(r["attributes"]), style="dim")
        tbl.add_row(name, desc)
    console.print(tbl)
    console.print()
    console.print(Text("Cost terms (flops = 2*macs + terms):", style="bold"))
    for k, v in TERMS.items():
        console.print(Text(f"  {k}: {v}"))
    return None


# ---------------------------------------------------------------- verify

def render_verify_json(res) -> str:
    import json

    return json.dumps({
        "schema_version": 1,
        "model": res.path,
        "device": res.device,
        "ok": res.ok,
        "verdict": res.verdict(),
        "bindings": res.bindings,
        "notes": res.notes,
        "checks": [{"what": c.what, "where": c.where, "binding": c.binding, "expected": c.expected,
                    "got": c.got, "ok": c.ok} for c in res.checks],
    }, indent=1) + "\n"


def render_verify_table(res, show_all=False) -> str:
    from collections import Counter

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
    return "\n".join(lines) + "\n"


def _clip(s, n):
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"
