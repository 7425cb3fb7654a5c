"""CSV: one row per node, values and formulas. The last column, ``model_complete``, is
``false`` on every row when the analysis is partial (source not followed, nodes not
counted): a sum of a column is then a lower bound of the model's total."""
from __future__ import annotations

import csv
import io

from .common import _Eval, _jsonable, node_rows, to_str
from .registry import RenderOptions, register_format


CSV_FIELDS = ["name", "op", "domain", "status", "inputs", "outputs", "shape", "shape_formula",
              "params_trainable", "params_buffers", "params_constants", "params",
              "macs", "macs_formula", "flops", "flops_formula", "output_bytes", "output_bytes_formula",
              "rf_size", "rf_stride", "rf_offset", "terms", "message", "bindings", "convention", "model_complete"]


@register_format("csv", "one row per node, values and formulas", suffix=".csv")
def render_csv(report, options: RenderOptions | None = None) -> str:
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
            row["message"], bind, report.convention, "true" if report.complete else "false",
        ])
    return buf.getvalue()
