"""JSON: the documented form of a Report (``docs/json.md``)."""
from __future__ import annotations

import json

from .._version import __version__
from ..graph import DTYPE_NAMES
from ..report import SCHEMA_VERSION
from .common import (_Eval, _json_default, _jsonable, _spatial, convention_doc,
                     opaque_symbols, rel_str, smallest_items, to_str)
from .modtree import modules_json
from .registry import RenderOptions, register_format


def to_json_dict(report) -> dict:
    """The documented JSON form (docs/json.md), schema_version 2."""
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
            "module": n.module,
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
            "param_bytes": {"total": get("params.bytes"), "trainable": get("params.trainable_bytes")},
            "macs": get("macs"),
            "macs_by_precision": {k[len("macs_"):]: get(k) for k in tot if k.startswith("macs_")},
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
        "complete": report.complete,  # no node uncounted and (source) nothing not followed
        "not_followed": list(getattr(report, "not_followed", ()) or ()),
        "inputs": list(report.inputs),
        "outputs": list(report.outputs),
        "bindings": None if report.bindings is None else {k: int(v) for k, v in report.bindings.items()},
        "binding_notes": list(report.binding_notes),
        "tensors": tensors,
        "nodes": nodes,
        "modules": modules_json(report),
        "totals": totals,
        "values": values,
        "constraints": [{"expr": rel_str(c.rel), "message": c.message, "node": c.node} for c in report.constraints],
        "valid_ranges": {k: {kk: _jsonable(vv) if not isinstance(vv, dict) else {a: _jsonable(b) for a, b in vv.items()}
                             for kk, vv in v.items()} for k, v in report.valid_ranges.items()},
        "smallest_input": None if report.smallest_input is None else {k: int(v) for k, v in smallest_items(report)},
        "unaccounted": [{"op": u["op"], "domain": u["domain"], "count": u["count"], "nodes": list(u.get("nodes", []))}
                        for u in report.unaccounted],
        "warnings": list(report.warnings),
        "errors": list(report.errors),
    }


PRETTY_NODES = 2000


@register_format("json", "the documented JSON (docs/json.md)", suffix=".json")
def render_json(report, options: RenderOptions | None = None) -> str:
    """Indented for models up to PRETTY_NODES nodes, compact (and fast) above."""
    indent = 2 if len(report.nodes) <= PRETTY_NODES else None
    return json.dumps(to_json_dict(report), indent=indent, default=_json_default) + "\n"
