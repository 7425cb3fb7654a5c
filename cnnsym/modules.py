"""The module tree of a Report (:class:`~cnnsym.report.ModuleInfo`), from the module path
every node carries (``Node.module``).

- Source models: the paths are exactly torch's ``named_modules()`` (the frontend records
  every one, with its class and construction site, and the order of first calls); a
  module forward never calls still appears, with ``calls == 0`` and no shape.
- ONNX exports: the exporter's scopes (:mod:`cnnsym.frontends._scopes`); every dotted
  prefix of a path is a module too (``layer1`` of ``layer1.0.conv1``), as in torch.
- An ONNX file without scopes: one module per node (``kind == "node"``) under the root.

Order: a pre-order walk of the tree, children by first call (the first node executed in
their subtree; for source models, the call's start), so each parent comes before its
children and siblings come in the order forward reaches them.

A module's output is the first tensor its first call returned: the frontend's record for
source models; for ONNX, the first tensor made inside the module and read outside it (or
a graph output), activations preferred over shape arithmetic. Parameters: an initializer
named ``<path>.<name>`` belongs to module ``path`` (torch's naming); any other to the module
of the node it is counted at. Costs are those of every node inside the subtree.
"""
from __future__ import annotations

import os

from collections import defaultdict

import sympy as sp

from .graph import FLOAT_TYPES
from .report import LazyMap, ModuleInfo

_ZERO = sp.Integer(0)


_TERMS: dict = {}  # expression -> [(monomial, coefficient)], kept across the module trees of a process


def _terms(e):
    hit = _TERMS.get(e)
    if hit is None:
        if len(_TERMS) >= 100_000:
            _TERMS.clear()
        hit = _TERMS[e] = [(m, int(c) if c.is_Integer else c)
                           for c, m in (t.as_coeff_Mul() for t in sp.Add.make_args(e))]
    return hit


def _sum(exprs):
    """sp.Add of ``exprs``, with like terms collected in a dict first (Python integer
    coefficients): a parent's sum adds its children's sums, and sympy's Add would flatten
    and re-collect every term of the subtree at each level."""
    const, rest = 0, []
    for e in exprs:
        if isinstance(e, int):
            const += e
        elif e.is_Integer:
            const += int(e)
        else:
            rest.append(e)
    if not rest:
        return sp.Integer(const)
    if len(rest) == 1:
        return sp.Add(rest[0], const)
    acc = {}
    for e in rest:
        for m, c in _terms(e):
            acc[m] = acc.get(m, 0) + c
    return sp.Add(*[c * m for m, c in acc.items() if c != 0], const)


def _parent(path):
    return path.rsplit(".", 1)[0] if "." in path else ""


def build(graph, report) -> dict:
    """{path: ModuleInfo} in first-call order (pre-order, children by first call)."""
    results = report.nodes
    if graph.module_types or any(r.node.module is not None for r in results):
        return _tree(graph, report)
    return _per_node(report)


class LazyTree(LazyMap):
    """``Report.modules`` built on first read: the tree :func:`build` makes from the same
    graph and report, for a caller that rarely reads it (lint: one rule, on some models).
    A read-only mapping like the dict it stands for (:class:`cnnsym.report.LazyMap`: equal
    to it, same order, same repr, copies and merges as it, pickles as the plain dict); it
    holds the graph until then."""

    __slots__ = ()

    def __init__(self, graph, report):
        super().__init__(lambda: build(graph, report))


def _tree(graph, report):
    results = report.nodes
    types = graph.module_types
    # first call: the call's start (source) or the first node executed in the module's own
    # body (ONNX); a module never called itself (a ModuleList) takes its first child's
    base: dict = {"": -1}
    for k, p in enumerate(graph.module_calls):
        base.setdefault(p, k)
    offset = len(base)
    node_mod = {}
    for step, r in enumerate(results):
        p = r.node.module or ""
        node_mod[r.node.name] = p
        base.setdefault(p, offset + step)
    paths = set(base) | set(types)
    for p in list(paths):  # every prefix of a path is a module (torch's attribute chains)
        while p:
            p = _parent(p)
            paths.add(p)
    big = offset + len(results) + 1
    children = defaultdict(list)
    for p in paths:
        if p:
            children[_parent(p)].append(p)
    rank = dict(base)
    for p in sorted(paths, key=lambda q: -q.count(".") if q else 1):  # deepest first
        if p:
            par = _parent(p)
            r0 = rank.get(p, big)
            if r0 < rank.get(par, big):
                rank[par] = r0
    named_order = {p: k for k, p in enumerate(types)}
    for kids in children.values():
        kids.sort(key=lambda c: (rank.get(c, big), named_order.get(c, big), c))
    order, stack = [], [""]
    while stack:
        p = stack.pop()
        order.append(p)
        stack.extend(reversed(children.get(p, ())))

    # what each module holds itself, and the nodes of each module's own body
    own = defaultdict(lambda: {"trainable": [], "buffer": [], "constant": []})
    for name, info in report.initializers.items():
        owner = name.rsplit(".", 1)[0] if "." in name else None
        if owner not in paths:
            owner = node_mod.get(info.node, "")
        own[owner][info.role if info.role in ("trainable", "buffer") else "constant"].append(info.numel)
    body = defaultdict(list)
    for r in results:
        body[node_mod[r.node.name]].append(r)
        if r.node.op_type == "Constant" and hasattr(r.node.attrs.get("value"), "numel"):
            own[node_mod[r.node.name]]["constant"].append(r.node.attrs["value"].numel)

    outputs = _source_outputs(graph) if graph.kind == "torch" else {}
    if graph.kind != "torch" or any(o and o[0] not in report.tensors for o in outputs.values()):
        # ONNX; or a source graph rewritten after the frontend (--fold-bn renames a folded
        # convolution's output): the tensor that leaves the module
        found = _onnx_outputs(report, node_mod, order)
        outputs = {p: o for p, o in outputs.items() if o and o[0] in report.tensors}
        for p, o in found.items():
            outputs.setdefault(p, o)
    subtree_nodes = {}
    out = {}
    for p in reversed(order):  # children before parents: subtree sums reuse the children's
        kids = children.get(p, ())
        mine = body.get(p, [])
        nodes = sorted([*mine, *(r for c in kids for r in subtree_nodes[c])], key=lambda r: r.node.index) \
            if kids else list(mine)
        subtree_nodes[p] = nodes
        o = own.get(p)
        own_t, own_b, own_c = (_sum(o["trainable"]), _sum(o["buffer"]), _sum(o["constant"])) if o else (_ZERO,) * 3
        kid_infos = [out[c] for c in kids]
        outs = outputs.get(p, ())
        t = report.tensors.get(outs[0]) if outs else None
        typ, loc = types.get(p, ("", None))
        out[p] = ModuleInfo(
            path=p, type=typ, parent=None if p == "" else _parent(p), children=tuple(kids),
            depth=0 if p == "" else p.count(".") + 1,
            nodes=tuple(r.node.name for r in nodes),
            calls=_calls(graph, p, nodes),
            outputs=tuple(outs), shape=t.shape if t is not None else None,
            bytes=t.bytes if t is not None else None, rf=t.rf if t is not None else None,
            trainable=_sum([own_t, *(k.trainable for k in kid_infos)]),
            buffers=_sum([own_b, *(k.buffers for k in kid_infos)]),
            constants=_sum([own_c, *(k.constants for k in kid_infos)]),
            own_trainable=own_t, own_buffers=own_b, own_constants=own_c,
            macs=_sum([*(r.macs for r in mine), *(k.macs for k in kid_infos)]),
            flops=_sum([*(r.flops for r in mine), *(k.flops for k in kid_infos)]),
            complete=all(r.status == "ok" for r in mine) and all(k.complete for k in kid_infos),
            loc=_shown(loc),
            call_loc=_call_loc(graph, p),
        )
    return {p: out[p] for p in order}


def _calls(graph, path, nodes):
    if graph.kind == "torch":
        return len(graph.module_outputs.get(path, ())) or (1 if path in graph.module_calls else 0)
    return 1 if nodes else 0


def _call_loc(graph, path):
    return _shown(graph.module_calls.get(path))


_REL: dict = {}  # (path, working directory) -> relative path


def _shown(loc):
    """``path:line:col`` with the path relative to the working directory when it lies under it
    (as the user named the model), so reports read the same on every checkout."""
    if loc is None:
        return None
    text = str(loc)
    path = getattr(loc, "path", None)
    if path and os.path.isabs(path):
        key = (path, os.getcwd())
        rel = _REL.get(key)
        if rel is None:  # relpath costs two abspath and a join: once per file, not per module
            if len(_REL) >= 4096:
                _REL.clear()
            rel = _REL[key] = os.path.relpath(path)
        if not rel.startswith(".."):
            text = f"{rel}:{loc.line}:{loc.col}"
    return text


def _source_outputs(graph):
    out = {}
    for path, rets in graph.module_outputs.items():
        if rets:
            first = rets[0]
            out[path] = tuple(first) if isinstance(first, (list, tuple)) else (first,)
    return out


def _onnx_outputs(report, node_mod, order):
    """The first tensor each module makes and something outside it reads (activations before
    shape arithmetic), its subtree taken as the module's first call."""
    producer_mod = {}
    for r in report.nodes:
        for o in r.node.outputs:
            if o:
                producer_mod[o] = node_mod[r.node.name]
    escapes = defaultdict(list)  # module path -> [(step, tensor)] of tensors leaving it

    def inside(p, q):  # is module q inside module p (or p itself)?
        return p == "" or q == p or q.startswith(p + ".")

    def mark(t, reader_mod, step):
        q = producer_mod.get(t)
        if q is None:
            return
        while True:
            if reader_mod is not None and inside(q, reader_mod):
                break
            escapes[q].append((step, t))
            if q == "":
                break
            q = _parent(q)

    for r in report.nodes:
        rm = node_mod[r.node.name]
        for i in r.node.inputs:
            if i:
                mark(i, rm, r.node.index)
    for o in report.outputs:
        mark(o, None, -1)
    out = {}
    for p, items in escapes.items():
        steps = {}
        for step, t in items:
            steps.setdefault(t, step)
        ranked = sorted(steps, key=lambda t: (not _activation(report.tensors.get(t)),
                                              report.tensors[t].live[0] if report.tensors.get(t) is not None
                                              and report.tensors[t].live else 0))
        out[p] = (ranked[0],)
    return out


def _activation(t):
    return t is not None and t.dtype in FLOAT_TYPES and t.shape is not None and len(t.shape) >= 1


def _per_node(report):
    """No scopes in the file: the root and one module per node, in execution order."""
    kids, seen, out = [], set(), {}
    for r in report.nodes:
        path = r.node.name
        k = 2
        while path in seen or path == "":
            path = f"{r.node.name}#{k}"
            k += 1
        seen.add(path)
        kids.append((path, r))
    for path, r in kids:
        t = report.tensors.get(r.node.outputs[0]) if r.node.outputs and r.node.outputs[0] else None
        out[path] = ModuleInfo(
            path=path, type=r.node.op_type, parent="", children=(), depth=1, nodes=(r.node.name,), calls=1,
            outputs=tuple(o for o in r.node.outputs if o), shape=t.shape if t else None,
            bytes=t.bytes if t else None, rf=t.rf if t else None,
            trainable=r.trainable, buffers=r.buffers, constants=r.constants,
            own_trainable=r.trainable, own_buffers=r.buffers, own_constants=r.constants,
            macs=r.macs, flops=r.flops, complete=r.status == "ok", kind="node")
    rs = report.nodes
    root_out = tuple(report.outputs)
    t = report.tensors.get(root_out[0]) if root_out else None
    root = ModuleInfo(
        path="", type="", parent=None, children=tuple(p for p, _ in kids), depth=0,
        nodes=tuple(r.node.name for r in rs), calls=1, outputs=root_out,
        shape=t.shape if t else None, bytes=t.bytes if t else None, rf=t.rf if t else None,
        trainable=_sum(r.trainable for r in rs), buffers=_sum(r.buffers for r in rs),
        constants=_sum(r.constants for r in rs), macs=_sum(r.macs for r in rs),
        flops=_sum(r.flops for r in rs), complete=all(r.status == "ok" for r in rs))
    return {"": root, **out}
