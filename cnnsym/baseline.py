"""A model against a baseline report (``cnnsym check --baseline``): the totals and each
layer compared at one set of sizes.

Where: at the check's ``--bind`` sizes when given, else at the baseline's own sizes. The
baseline's numbers are its values where its sizes are those, else its formulas (JSON
reports keep them) evaluated there, its symbols read by name, or by input and axis when
this model names them differently; this model's peak is re-derived at those sizes.

Two exports of one model must compare equal: layers are matched by module path (then op
and order; TorchScript scope names read as module paths), else by name; only trainable
parameters, buffers, MACs, FLOPs and activation bytes are gated; constants (shape operands
an exporter folds) and the shape arithmetic an exporter adds (Shape and the ops on its
result) are shown apart, never failing the check.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

import sympy as sp

from .errors import InputError
from .report import evaluate, peak_formula


def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


@dataclass
class Diff:
    metric: str
    old: object
    new: object
    kind: str = "count"
    gated: bool = True  # False: shown, never fails the check (constants)

    @property
    def growth(self):
        if self.old is None or self.new is None:
            return None
        if self.old == 0:
            return 0.0 if self.new == 0 else float("inf")
        return (self.new - self.old) / abs(self.old) * 100.0


@dataclass
class BaselineResult:
    bindings: dict
    totals: list  # Diff
    layers: list = field(default_factory=list)  # (name, status, [Diff]) status: changed | added | removed
    max_growth: float = 0.0
    note: str = ""

    @property
    def failed(self):
        return [d for d in self.totals if d.gated and d.growth is not None and d.growth > self.max_growth + 1e-9]


# (Report totals key, label, kind, gated): a gated total that grows past --max-growth fails
# the check; constants (shape operands, exporter-folded numbers) are shown apart, ungated:
# two exports of one model differ in them without the model changing.
BASE_TOTALS = [("params.trainable", "trainable params", "count", True), ("params.buffers", "buffers", "count", True),
               ("params.constants", "constants (info)", "count", False),
               ("macs", "MACs", "count", True), ("flops", "FLOPs", "count", True),
               ("activation_bytes", "activation bytes", "bytes", True),
               ("peak_activation_bytes", "peak activation bytes", "bytes", True)]


def load_baseline(path: str) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(path, f"--baseline: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise InputError(path, f"--baseline: not JSON ({e})") from None
    if not isinstance(doc, dict) or "nodes" not in doc or "values" not in doc:
        raise InputError(path, "--baseline: not a cnnsym report (make one with `cnnsym report MODEL --format json -o FILE`)")
    if doc.get("values") is None:
        raise InputError(path, "--baseline: the report has no values (it was made without a valid binding)")
    return doc


def compare(report, doc: dict, max_growth: float, bindings: dict | None = None) -> BaselineResult:
    """This report against a baseline report's JSON. Where: at ``bindings`` when given
    (the check's --bind), else at the baseline's own sizes. The baseline's numbers are its
    values where its sizes are those, else its formulas evaluated here (its symbols read by
    name, or by input and axis when this model names them differently). The peak of this
    model is re-derived at those sizes. Layers are matched by module path (then op and
    order), else by name; those without trainable parameters or MACs are not listed."""
    symmap = _symbol_map(report, doc)
    b_old = {symmap.get(k, k): v for k, v in (doc.get("bindings") or {}).items()}
    usable = {k: v for k, v in b_old.items() if k in report.symbols}
    note = ""
    unknown = sorted(k for k in b_old if k not in report.symbols)
    if unknown:
        note = f"baseline symbols {', '.join(unknown)} are not in this model"
    if bindings:
        at = {**(report.bindings or {}), **usable, **bindings}
    else:
        at = {**(report.bindings or {}), **usable}
    same = all(at.get(k) == v for k, v in usable.items()) and not unknown
    if not same:
        note = (note + "; " if note else "") + ("the baseline's numbers are its formulas evaluated at these sizes "
                                                 "(its peak formula is exact at its own sizes only)")
    vals, tots = doc.get("values") or {}, doc.get("totals") or {}
    locs = {name: sp.Symbol(name, integer=True, positive=True) for name in (doc.get("symbols") or [])}

    def old_total(key):
        path = key.split(".")
        v, f = vals, tots
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
            f = f.get(p) if isinstance(f, dict) else None
        if same:
            return v
        return _eval_text(f, locs, symmap, at)

    # shape arithmetic (Shape -> Gather/Div/Concat ... on the sizes, as dynamo exports a
    # flatten) is the exporter's, not the model's: its FLOPs and bytes are shown apart
    new_shape, new_sh_t = _shape_nodes([(r.node.name, r.node.op_type, r.node.inputs, r.node.outputs)
                                        for r in report.nodes], set(report.tensors))
    old_nodes = doc.get("nodes") or []
    old_t = doc.get("tensors") or {}
    old_shape, old_sh_t = _shape_nodes([(o.get("name"), o.get("op"), o.get("inputs") or [], o.get("outputs") or [])
                                        for o in old_nodes], set(old_t))

    def old_of(d, key, text):
        return (d.get("values") or {}).get(key) if same else _eval_text(text, locs, symmap, at)

    sh_old = {"flops": sum(old_of(o, "flops", o.get("flops")) or 0 for o in old_nodes if o.get("name") in old_shape),
              "activation_bytes": sum(old_of(old_t.get(t) or {}, "bytes", (old_t.get(t) or {}).get("bytes")) or 0
                                      for t in old_sh_t)}
    sh_new = {"flops": sum(_int_or_none(evaluate(r.flops, at)) or 0 for r in report.nodes if r.node.name in new_shape),
              "activation_bytes": sum(_int_or_none(evaluate(report.tensors[t].bytes, at)) or 0 for t in new_sh_t
                                      if report.tensors[t].bytes is not None)}
    model_tensors = {k: t for k, t in report.tensors.items() if k not in new_sh_t}
    totals = []
    for key, label, kind, gated in BASE_TOTALS:
        old = old_total(key)
        if key == "peak_activation_bytes":
            rep = dc_replace(report, tensors=model_tensors) if new_sh_t else report
            new = _int_or_none(evaluate(peak_formula(rep, at), at)) if "peak_activation_bytes" in report.totals else None
            if new_sh_t and not old_sh_t:
                label = "peak bytes ex. shape"
        else:
            e = report.totals.get(key)
            new = _int_or_none(evaluate(e, at)) if e is not None else None
            if key in sh_new and (sh_new[key] or sh_old[key]):
                label = {"flops": "FLOPs ex. shape ops", "activation_bytes": "act. bytes ex. shape"}[key]
                old = None if old is None else old - sh_old[key]
                new = None if new is None else new - sh_new[key]
        totals.append(Diff(label, old, new, kind, gated))
    for key, label, kind in (("flops", "shape-op FLOPs (info)", "count"),
                             ("activation_bytes", "shape-op bytes (info)", "bytes")):
        if sh_new[key] or sh_old[key]:
            totals.append(Diff(label, sh_old[key], sh_new[key], kind, False))
    if sh_new["flops"] or sh_old["flops"] or sh_new["activation_bytes"] or sh_old["activation_bytes"]:
        note = (note + "; " if note else "") + ("ex. shape: without the shape arithmetic an exporter adds (Shape and "
                                                 "the ops on its result), counted apart")
    note = (note + "; " if note else "") + "(info): shown, never fails the check"
    layers = _layer_diffs(report, doc, at, same, locs, symmap)
    return BaselineResult(at, totals, layers, max_growth, note)


def _shape_nodes(nodes, activations):
    """(node names, tensor names) of shape arithmetic: Shape/Size, and every node whose
    inputs are shape tensors or constants (initializers, Constant outputs), one at least a
    shape tensor. ``nodes``: [(name, op, inputs, outputs)] in execution order;
    ``activations``: the names of graph inputs and node outputs (the rest are initializers)."""
    shape_t, const_t, names = set(), set(), set()
    for name, op, ins, outs in nodes:
        ins = [i for i in ins if i]
        if op in ("Shape", "Size"):
            is_shape = True
        elif op == "Constant" or not ins:
            const_t.update(o for o in outs if o)
            continue
        else:
            is_shape = any(i in shape_t for i in ins) and all(
                i in shape_t or i in const_t or i not in activations for i in ins)
        if is_shape:
            names.add(name)
            shape_t.update(o for o in outs if o)
    return names, shape_t


def _eval_text(text, locs, symmap, at):
    """A formula from a JSON report (text) evaluated at ``at`` (this model's symbol names)."""
    if text is None:
        return None
    try:
        e = sp.sympify(str(text), locals=dict(locs))
    except (sp.SympifyError, SyntaxError, TypeError):
        return None
    sub = {sym: sp.Integer(at[symmap.get(sym.name, sym.name)]) for sym in e.free_symbols
           if symmap.get(sym.name, sym.name) in at}
    return _int_or_none(e.xreplace(sub))


def _symbol_map(report, doc) -> dict:
    """{baseline symbol -> this model's symbol} for the symbols at the same input and axis
    under another name (two exporters name dynamic axes differently)."""
    out = {}
    tensors = doc.get("tensors") or {}
    for k, name in enumerate(doc.get("inputs") or []):
        if k >= len(report.inputs):
            break
        old = (tensors.get(name) or {}).get("shape") or []
        t = report.tensors.get(report.inputs[k])
        new = list(t.shape) if t is not None and t.shape is not None else []
        for a, b in zip(old, new):
            if isinstance(a, str) and a.isidentifier() and getattr(b, "is_Symbol", False) and a != b.name:
                out.setdefault(a, b.name)
    return out


def _module_of(name, module):
    """A node's module path: the one the frontend recorded, else read from a TorchScript
    name ('/layer1/layer1.0/conv1/Conv' -> 'layer1.0.conv1'), else None."""
    if module is not None:
        return module
    m = re.fullmatch(r"/(.+)/[A-Za-z]+(?:_\d+)?", name or "")
    if not m:
        return None
    path = ""
    for seg in m.group(1).split("/"):  # scopes: 'layer1', 'layer1.0', 'conv1' -> layer1.0.conv1
        path = seg if not path or seg.startswith(path + ".") else f"{path}.{seg}"
    return path


def _keys(items):
    """[(key, item)]: (module path, op, k-th such node in it) where the module is known,
    else ('name', node name)."""
    seen, out = {}, []
    for name, op, module, item in items:
        mod = _module_of(name, module)
        if mod is None:
            out.append((("name", name), item))
            continue
        k = seen.get((mod, op), 0)
        seen[(mod, op)] = k + 1
        out.append(((mod, op, k), item))
    return out


def _layer_diffs(report, doc, at, same, locs, symmap):
    def old_vals(o):
        ov = o.get("values") or {}
        if same:
            return (ov.get("params") or {}).get("trainable"), ov.get("macs")
        return (_eval_text((o.get("params") or {}).get("trainable"), locs, symmap, at),
                _eval_text(o.get("macs"), locs, symmap, at))

    new = dict(_keys([(r.node.name, r.node.op_type, getattr(r.node, "module", None), r) for r in report.nodes]))
    old = dict(_keys([(o.get("name"), o.get("op"), o.get("module"), o) for o in doc.get("nodes") or []]))
    layers = []
    for key, r in new.items():
        nv = (_int_or_none(evaluate(r.trainable, at)), _int_or_none(evaluate(r.macs, at)))
        o = old.get(key)
        label = _label(key, r.node.name)
        if o is None:
            if any(nv):
                layers.append((label, "added", [Diff("params", None, nv[0]), Diff("macs", None, nv[1])]))
            continue
        ov = old_vals(o)
        diffs = [Diff("params", ov[0], nv[0]), Diff("macs", ov[1], nv[1])]
        if any(d.old != d.new for d in diffs):
            layers.append((label, "changed", diffs))
    for key, o in old.items():
        if key not in new:
            ov = old_vals(o)
            if any(ov):
                layers.append((_label(key, o.get("name")), "removed", [Diff("params", ov[0], None),
                                                                        Diff("macs", ov[1], None)]))
    return layers


def _label(key, name):
    if key[0] == "name":
        return name
    mod, op, k = key
    return f"{mod or '(model)'} {op}" + (f" #{k + 1}" if k else "")

