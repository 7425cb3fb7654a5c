"""Helpers shared by the renderers: evaluated rows of a Report, number formatting,
totals, convention text and Markdown escaping.

Renderers read the Report and nothing else; they never re-derive a shape. Every
expression is printed with :func:`cnnsym.symbolic.to_str`, so it parses back with
``sympy.sympify``.
"""
from __future__ import annotations

import functools

import sympy as sp

from ..conventions import get as _get_convention
from ..ops import TERMS
from ..symbolic import to_str as _to_str
from .layout import cut_left

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
    try:
        return _get_convention(report.convention)
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
# ONNX dtypes of data that is not an activation when it is a scalar or a short vector:
# integers and booleans (shape arithmetic)
_INDEX_DTYPES = {2, 3, 4, 5, 6, 7, 9, 12, 13}
SMALL_CONSTANT = 64  # elements: a Constant node up to this size is a scalar or a shape, not a layer


def _static_numel(shape):
    n = 1
    for d in shape:
        if not is_int(d) and not isinstance(d, sp.Integer):
            return None
        n *= int(d)
    return n


def is_shape_arithmetic(report, result) -> bool:
    """A node folded out of the default table: a small Constant (scalars, scales, shapes) or
    a node whose outputs are integer scalars or vectors (Shape, Gather/Unsqueeze/Concat on
    shapes), or computed from weights only (a QDQ weight's DequantizeLinear). Nodes not
    fully counted and nodes with MACs are never folded."""
    n = result.node
    if result.status != "ok" or result.macs != 0:
        return False
    outs = [report.tensors.get(o) for o in n.outputs if o]
    if not outs or any(t is None or t.shape is None for t in outs):
        return False
    if n.op_type == "Constant":
        return all((_static_numel(t.shape) or SMALL_CONSTANT + 1) <= SMALL_CONSTANT for t in outs)
    if all(t.constant for t in outs):
        return True  # a weight's DequantizeLinear or Cast: its reader's row shows its dtype
    return all(t.dtype in _INDEX_DTYPES and len(t.shape) <= 1 for t in outs)


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
            "folded": is_shape_arithmetic(report, r),
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


def rf_parts(row) -> tuple:
    """(size, jump) strings of a row's receptive field, one value when all axes agree."""
    if not row["rf_size"]:
        return "", ""
    size = _collapse([human(v) if is_int(v) else to_str(v) for v in row["rf_size_v"]])
    jump = _collapse([str(v) if is_int(v) else to_str(v) for v in row["rf_stride_v"]])
    return size, jump


def _rf_cell(row) -> str:
    """``size 35/3, jump 1/3``: unambiguous when either is a fraction."""
    size, jump = rf_parts(row)
    return f"size {size}, jump {jump}" if size else ""


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
        if hv and not report.complete:
            hv = ">= " + hv  # a partial analysis: every total is a lower bound
        out.append((k, label, to_str(expr), v, hv))
    return out


def incomplete_nodes(report) -> int:
    """How many nodes were not fully counted (unaccounted, unresolved or in error)."""
    return sum(1 for r in report.nodes if r.status != "ok")


def partial_note(report) -> str:
    n = incomplete_nodes(report)
    nf = list(getattr(report, "not_followed", ()) or ())
    if nf and not n:
        more = f" (and {len(nf) - 1} more, in the warnings)" if len(nf) > 1 else ""
        return f"partial: the source was not fully followed ({nf[0]}{more}); totals are lower bounds"
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


def smallest_items(report) -> list:
    """``report.smallest_input`` as (symbol, size) pairs in the order of ``report.symbols``
    (the solver's dict order may follow set iteration, which varies between runs)."""
    order = {s: k for k, s in enumerate(report.symbols)}
    return sorted((report.smallest_input or {}).items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


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



MAX_LISTED = 20


def shorten(name: str, width: int) -> str:
    """``name`` in ``width`` characters, cut from the left keeping its last components."""
    return cut_left(name, width)


def constraints_shown(report, limit: int):
    """Constraints to list: equalities and other non-trivial ones first."""
    cons = list(report.constraints)
    key = lambda c: 0 if isinstance(c.rel, sp.Equality) else 1
    cons.sort(key=key)
    return cons[:limit], max(0, len(cons) - limit)


# --------------------------------------------------------------------------- Markdown escaping
def _md(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(s) -> str:
    s = str(s)
    return f"`{_md(s)}`" if s else ""


def _md_table(header, rows) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(rows_i) + " |" for rows_i in rows]
    return out
