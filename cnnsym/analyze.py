"""Graph -> Report: run every op in topological order, compose receptive fields, count
parameters once per initializer, track live activations, collect constraints."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from types import SimpleNamespace

import sympy as sp

from . import domain as dom
from . import modules as _modules
from .errors import InputError, ShapeError, BindingError
from .graph import FLOAT_TYPES, Graph, Subgraph, Value, nbytes, precision, req_dim
from .graph import apply_inputs, toposort  # noqa: F401 (public here too)
from .ops import UNKNOWN_OPERAND, lookup, numel
# the inference cache lives with the ops (the torch frontend uses it too); re-exported here
from .ops import _CACHE, _freeze, infer_node  # noqa: F401
from .receptive import RF, DeferredRF, join
from .report import (Constraint, DeferredDomainReport, InitializerInfo, LazyMap, NodeResult, Problem, Report, TensorInfo,  # noqa: F401
                     evaluate, peak_tensors)
from .parse import parse_dims  # noqa: F401 (public here too)
from .symbolic import MAX_EXPR_SIZE, as_expr, dim_symbol, expr_size

_ROLE_RANK = {"constant": 0, "buffer": 1, "trainable": 2}


# pure functions of (hashable, immutable) sympy values, kept across the analyses of a process:
# lint analyses many models of one file, and the same fields, shapes and sums recur (issue 12)
_MEMO_LIMIT = 100_000
_THROUGH: dict = {}  # (RF, Window) -> RF
_JOIN: dict = {}  # tuple of fields -> (RF, misaligned)
_BYTES: dict = {}  # (shape, dtype) -> bytes
_TERMS: dict = {}  # expression -> [(monomial, coefficient)] (fast_sum)


def _memo(table, key, fn, *args):
    hit = table.get(key)
    if hit is None:
        if len(table) >= _MEMO_LIMIT:
            table.clear()
        hit = table[key] = fn(*args)
    return hit


def _through(rf, window):
    if window is None:
        return rf
    return _memo(_THROUGH, (rf, window), rf.through, window)


def _join(fields):
    fields = [f for f in fields if f is not None]
    if len(fields) == 1:  # what join gives for one field, without its scans
        return fields[0], False
    if not fields:
        return None, False
    return _memo(_JOIN, tuple(fields), join, fields)


def _tensor_bytes(shape, dtype):
    return _memo(_BYTES, (tuple(shape), dtype), lambda: nbytes(numel(shape), dtype))


def _compose_rf(spec, in_rfs):
    if spec is None:
        return None, False
    out, misaligned = [], False
    for axis_sources in spec:
        if not axis_sources:
            out.append(None)
            continue
        fields = []
        for idx, ax, window in axis_sources:
            rfs = in_rfs[idx] if idx < len(in_rfs) else None
            if rfs is None or ax >= len(rfs) or rfs[ax] is None:
                continue
            fields.append(_through(rfs[ax], window))
        f, mis = _join(fields)
        misaligned |= mis
        out.append(f)
    if all(f is None for f in out):
        return None, misaligned
    return tuple(out), misaligned


def _inferred(pre, node, opset, ins, cls):
    """The frontend's inference of ``node`` (made while it built the graph) when the node
    and its inputs are exactly what it was inferred from, else None: infer_node's own cache
    would return that result, after hashing every attribute and dim (issue 12)."""
    hit = pre.get(node.name) if pre is not None else None
    if hit is None:
        return None
    was, attrs, op, vals, res = hit
    if was is not node or attrs is not node.attrs or op != opset or len(vals) != len(ins):
        return None
    reads = cls.reads_values
    for a, b in zip(vals, ins):
        if a is None or b is None:
            if a is not b:
                return None
        elif a.dtype != b.dtype or (a.shape is not b.shape and a.shape != b.shape) or (reads and a.value is not b.value):
            return None
    return res


def _misaligned(node_name) -> str:
    return f"receptive fields of the branches joined at {node_name!r} are misaligned (different offsets or strides)"


def analyze(graph: Graph, bindings: dict | None = None, *, strict_bindings: bool = True,
            lazy_modules: bool = False, lazy: bool = False) -> Report:
    """The Report of ``graph`` at ``bindings``. ``lazy_modules``: ``Report.modules`` is built on
    its first read (:class:`cnnsym.modules.LazyTree`, the same tree), not now: lint reads it
    for one rule on few models, and the tree is about a third of the analysis.

    ``lazy`` (lint, issue 12; implies ``lazy_modules``): the parts that lint's rules read for
    few models are computed on their first read, with the same code and values as now:
    receptive fields (each tensor's ``rf`` is a :class:`cnnsym.receptive.LazyRF`, None where
    the field is None) and the warnings, which include those of joining misaligned fields
    (:class:`cnnsym.report.LazyList`), and ``totals`` and ``values``
    (:class:`cnnsym.report.LazyMap`). Nothing is left out: a read gets what the eager
    analysis stores."""
    lazy_modules = lazy_modules or lazy
    order = toposort(graph)
    symbols, spatial, batchlike = {}, set(), set()
    tensors: dict = {}
    env: dict = {}
    for gi in graph.inputs:
        rank = len(gi.shape)
        rf = tuple(RF() if ax >= 2 and rank >= 3 else None for ax in range(rank)) if rank >= 3 else None
        for ax, d in enumerate(gi.shape):
            for s in d.free_symbols:
                symbols.setdefault(s.name, (gi.name, ax))
                (spatial if ax >= 2 and rank >= 3 else batchlike if ax == 0 else set()).add(s.name)
        env[gi.name] = Value(gi.shape, gi.dtype)
        tensors[gi.name] = TensorInfo(gi.name, gi.shape, gi.dtype, _tensor_bytes(gi.shape, gi.dtype), rf)
    for name in graph.symbol_defaults:  # source hyperparameters made symbolic (--symbolic)
        symbols.setdefault(name, (None, None))
    for name in getattr(graph, "free_symbols", ()):  # source script globals not determined statically
        symbols.setdefault(name, (None, None))
    for name, init in graph.initializers.items():
        env[name] = Value(tuple(as_expr(d) for d in init.shape), init.dtype, init.value)
    rfs = {gi.name: tensors[gi.name].rf for gi in graph.inputs}
    deferred = DeferredRF(rfs, _compose_rf, _misaligned) if lazy else None

    results, constraints, warnings, errors, problems = [], [], list(graph.warnings), [], []
    seen_cons = set()
    counted = {}  # initializer -> (role, NodeResult)
    # DequantizeLinear (Cast) output -> (quantized element type or None, initializer or None):
    # its consumer's MACs run at that precision and the initializer is the consumer's parameter
    dequantized = {}
    # tensors computed from initializers and Constant nodes only (folded weights): not
    # activations (TensorInfo.constant)
    const = set(graph.initializers)
    unaccounted = defaultdict(list)
    unresolved_reported = False
    pre = getattr(graph, "inferred", None) or None  # the source frontend's inference while it built the graph
    for node in order:
        res = NodeResult(node)
        results.append(res)
        cls = lookup(node.op_type, node.domain)
        if cls is not None and cls.reads_values:
            for i in node.inputs:
                init = graph.initializers.get(i) if i else None
                if init is not None and init.pending is not None:
                    init.value, init.pending = init.pending(), None
                    env[i] = Value(env[i].shape, init.dtype, init.value)
        ins = [env.get(i) if i else None for i in node.inputs]
        opset = graph.opsets.get(node.domain or "", graph.opset)
        inference = None
        if cls is None or any(isinstance(v, Subgraph) for v in node.attrs.values()):
            res.status = "unaccounted"
            res.message = f"{node.domain + '::' if node.domain else ''}{node.op_type} is not supported: outputs {'declared' if any(o in graph.declared for o in node.outputs) else 'unknown'}, cost not counted"
            unaccounted[(node.op_type, node.domain)].append(node.name)
        elif any(i and v is not None and v.shape is None for i, v in zip(node.inputs, ins)):
            res.status = "unresolved"
            res.message = "an input's shape is unknown (downstream of an unsupported op)"
            if not unresolved_reported:
                warnings.append(f"nodes downstream of unsupported ops have unknown shapes, first: {node.name!r}")
                unresolved_reported = True
        else:
            try:
                inference = _inferred(pre, node, opset, ins, cls) or infer_node(cls, node, opset, ins)
            except ShapeError as e:
                if e.kind == UNKNOWN_OPERAND:  # a runtime shape operand: unknown, not invalid
                    res.status = "unresolved"
                    res.message = f"{e.problem}: it is a runtime value, outputs are opaque"
                    if not unresolved_reported:
                        warnings.append(f"shape operands computed at run time leave some shapes opaque, first: {node.name!r}")
                        unresolved_reported = True
                else:
                    res.status = "error"
                    res.message = e.problem
                    errors.append(f"{node.describe()}: {e.problem}")
                    problems.append(Problem(node.name, node.op_type, e.problem, e.kind, e.expected, e.got))
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, AttributeError) as e:
                res.status = "error"
                res.message = f"{node.op_type}: cannot derive shapes ({type(e).__name__}: {e})"
                errors.append(f"{node.describe()}: {res.message}")
                problems.append(Problem(node.name, node.op_type, res.message))
        # parameters: every initializer counted once, in its strongest role
        for idx, i in [*enumerate(node.inputs), *((None, h) for h in graph.held.get(node.name, ()))]:
            init = graph.initializers.get(i) if i else None
            quantized = False
            if init is None and i in dequantized and dequantized[i][1] is not None:
                quantized = dequantized[i][0] is not None  # DequantizeLinear, not Cast
                i = dequantized[i][1]
                init = graph.initializers[i]
            if init is None:
                continue
            role = init.role or (cls.param_roles.get(idx, "constant") if cls is not None else "constant")
            if role == "trainable" and init.dtype not in FLOAT_TYPES and not (
                    quantized or getattr(cls, "integer_params", False)):
                role = "constant"
            prev = counted.get(i)
            if prev is None or _ROLE_RANK[role] > _ROLE_RANK[prev[0]]:
                if prev is not None:
                    _add_param(prev[1], prev[0], -init.numel)
                _add_param(res, role, init.numel)
                counted[i] = (role, res)
        if node.op_type == "Constant" and node.attrs.get("value") is not None and hasattr(node.attrs["value"], "numel"):
            res.constants += node.attrs["value"].numel
        if inference is None:
            for o in node.outputs:
                if not o:
                    continue
                decl = graph.declared.get(o)
                shape, declared = None, False
                if decl is not None and decl[0] is not None and res.status == "unaccounted":
                    shape = tuple(as_expr(d) if isinstance(d, int) else dim_symbol(f"{_safe(node.name)}_{o_i}")
                                  for o_i, d in enumerate(decl[0]))
                    declared = True
                elif decl is not None and decl[0] is not None and res.status == "unresolved" and res.message.endswith("opaque"):
                    # the rank the file declares, every dim an opaque size of this node
                    shape = tuple(dim_symbol(f"{_safe(node.name)}_{_safe(o)}_{ax}") for ax in range(len(decl[0])))
                dtype = decl[1] if decl else 1
                env[o] = Value(shape, dtype)
                tensors[o] = TensorInfo(o, shape, dtype, None if shape is None else _tensor_bytes(shape, dtype),
                                        None, node.name, declared)
                rfs[o] = None
                if deferred is not None:
                    deferred.none(o)
            continue
        _guard_size(graph, node, inference)
        res.macs = inference.macs
        is_const = _constant_node(node, const)
        if res.macs != 0:
            operands = [k for k in getattr(cls, "mac_operands", (0, 1)) if k < len(ins) and ins[k] is not None]
            res.precision = precision([dequantized[node.inputs[k]][0] if dequantized.get(node.inputs[k], (None,))[0]
                                       else ins[k].dtype for k in operands])
            res.weight_dtype = _weight_dtype(graph, node, operands, dequantized)
        if (getattr(cls, "dequantizes", False) or node.op_type == "Cast") and node.outputs and node.outputs[0]:
            # a Cast weight (bfloat16 stored, float used) is its consumer's parameter too, but
            # the product runs at the cast type
            dequantized[node.outputs[0]] = (ins[0].dtype if node.op_type != "Cast" else None,
                                            node.inputs[0] if node.inputs[0] in graph.initializers else None)
        _, terms, res.windows = _derived(inference)
        res.terms = dict(terms)
        for need in inference.constraints:
            rel, msg = need[0], need[1]
            if rel is sp.true or rel in seen_cons:
                continue
            seen_cons.add(rel)
            if not dom.always_true(rel):
                constraints.append(Constraint(rel, msg, node.name, getattr(need, "kind", ""), getattr(need, "axis", None)))
        in_rfs = [rfs.get(i) if i else None for i in node.inputs] if deferred is None else deferred.node(node)
        for k, o in enumerate(node.outputs):
            if not o:
                continue
            if k >= len(inference.outputs):
                warnings.append(f"{node.name!r}: output {o!r} is not produced by {node.op_type} with these attributes")
                env[o] = Value(None)
                tensors[o] = TensorInfo(o, None, 1, None, None, node.name)
                rfs[o] = None
                if deferred is not None:
                    deferred.none(o)
                continue
            v = inference.outputs[k]
            env[o] = v
            spec = inference.rf[k] if inference.rf and k < len(inference.rf) else None
            if deferred is None:
                rf, mis = _compose_rf(spec, in_rfs)
                if mis:
                    warnings.append(_misaligned(node.name))
            else:
                rf = deferred.output(o, spec, in_rfs, len(warnings))
            rfs[o] = rf
            tensors[o] = TensorInfo(o, v.shape, v.dtype, _tensor_bytes(v.shape, v.dtype), rf, node.name,
                                    constant=is_const)
            if is_const:
                const.add(o)

    _cross_check(graph, tensors, warnings)
    _requirements(graph, tensors, results, constraints, seen_cons, errors, problems, warnings)
    unacc = [{"op": op, "domain": d or "ai.onnx", "count": len(names), "nodes": names}
             for (op, d), names in unaccounted.items()]
    for u in unacc:
        warnings.append(f"{u['count']} x {u['domain']}::{u['op']} not supported: listed as unaccounted, not counted as zero")
    # parameter bytes in each initializer's own element type (int4 packed two to a byte)
    pbytes = {n: nbytes(graph.initializers[n].numel, graph.initializers[n].dtype) for n in counted}
    steps = len(order)
    tensors = _with_live_intervals(graph, order, tensors)
    inits = {n: InitializerInfo(n, tuple(graph.initializers[n].shape), graph.initializers[n].dtype,
                                graph.initializers[n].numel, role, res.node.name) for n, (role, res) in counted.items()}
    # the domain solver fills bindings, ranges and the smallest input into a draft; the
    # Report is made once, frozen, from the draft
    draft = SimpleNamespace(path=graph.path, symbols=symbols, spatial_symbols=spatial, constraints=constraints,
                            symbol_defaults=dict(graph.symbol_defaults), valid_ranges={}, smallest_input=None,
                            bindings={}, binding_notes=[], errors=errors, tensors=tensors, steps=steps)
    dom.solve(draft, graph, bindings or {}, strict=strict_bindings, lazy=lazy)
    scan = draft.smallest_input if isinstance(draft.smallest_input, dom.Deferred) else None
    if scan is not None:  # lazy: the domain scans run when either field is first read
        draft.valid_ranges = LazyMap(lambda: scan()[1])
    tail = (results, counted, pbytes, SimpleNamespace(tensors=tensors, steps=steps),
            None if draft.bindings is None else dict(draft.bindings))
    if lazy:
        cell = []

        def made():
            if not cell:
                cell.append(_totals(*tail))
            return cell[0]

        totals, values = LazyMap(lambda: made()[0]), LazyMap(lambda: made()[1])
        warnings = deferred.warnings(warnings)
    else:
        totals, values = _totals(*tail)
    report = (Report if scan is None else DeferredDomainReport)(graph.path, graph.kind, symbols, [g.name for g in graph.inputs], list(graph.outputs),
                    tensors, results, totals, constraints, valid_ranges=draft.valid_ranges,
                    smallest_input=draft.smallest_input, bindings=draft.bindings, binding_notes=draft.binding_notes,
                    values=values, unaccounted=unacc, warnings=warnings, errors=errors, problems=problems,
                    spatial_symbols=spatial, symbol_defaults=dict(graph.symbol_defaults), opset=graph.opset,
                    initializers=inits, steps=steps, not_followed=list(getattr(graph, "not_followed", ())))
    # the module tree (cnnsym/modules.py)
    more = {} if scan is None else {"smallest_input": scan}  # (replace would read the field: the scan)
    return replace(report, modules=_modules.LazyTree(graph, report) if lazy_modules else _modules.build(graph, report),
                   **more)


def _totals(results, counted, pbytes, live, bindings):
    """(totals, values): the totals' formulas, and their values at ``bindings`` (None: no
    valid binding, no values) with the peak of live activations there (``live``: the
    tensors with their live intervals, and the number of steps)."""
    totals = {
        "params.trainable": fast_sum(r.trainable for r in results),
        "params.buffers": fast_sum(r.buffers for r in results),
        "params.constants": fast_sum(r.constants for r in results),
        "macs": fast_sum(r.macs for r in results),
    }
    totals["params.total"] = totals["params.trainable"] + totals["params.buffers"] + totals["params.constants"]
    totals["params.trainable_bytes"] = fast_sum(b for n, b in pbytes.items() if counted[n][0] == "trainable")
    totals["params.bytes"] = fast_sum([*pbytes.values(), *(
        nbytes(r.node.attrs["value"].numel, r.node.attrs["value"].dtype) for r in results
        if r.node.op_type == "Constant" and hasattr(r.node.attrs.get("value"), "numel"))])
    # MACs by operand precision (macs_int8, macs_fp32, ...): they sum to macs
    precisions = sorted({r.precision or "unknown" for r in results if r.macs != 0})
    for p in precisions:  # one precision: its sum is the same sum as macs (zeros add nothing)
        totals[f"macs_{p}"] = totals["macs"] if len(precisions) == 1 else fast_sum(
            r.macs for r in results if r.macs != 0 and (r.precision or "unknown") == p)
    term_names = sorted({k for r in results for k in r.terms})
    for t in term_names:
        totals[f"terms.{t}"] = fast_sum(r.terms.get(t, 0) for r in results)
    totals["flops"] = 2 * totals["macs"] + sp.Add(*[totals[f"terms.{t}"] for t in term_names])
    totals["activation_bytes"] = fast_sum(t.bytes for t in live.tensors.values()
                                          if t.bytes is not None and t.producer is not None and not t.constant)
    values = {}
    if bindings is not None:
        totals["peak_activation_bytes"] = fast_sum(t.bytes for t in peak_tensors(live, bindings)
                                                   if t.bytes is not None)
        values = {k: evaluate(v, bindings) for k, v in totals.items()}
    return totals, values


def _requirements(graph, tensors, results, constraints, seen_cons, errors, problems, warnings):
    """A frontend's own size rules (``Graph.requires``), on the shapes derived here: a
    constraint like an op's, a problem where it fails at every size. Skipped where a tensor
    it names has no known shape (that node is already unresolved or in error); a warning
    where the graph no longer has that tensor (a rewrite dropped it)."""
    by_name = {r.node.name: r for r in results}
    for req in getattr(graph, "requires", ()):
        sub = {}
        for i, t in enumerate(req.tensors):
            info = tensors.get(t)
            if info is None:
                warnings.append(f"a size rule of {req.node!r} is not checked: tensor {t!r} is no longer in the "
                                f"graph ({req.reason})")
            if info is None or info.shape is None:
                sub = None
                break
            sub.update({req_dim(i, ax): d for ax, d in enumerate(info.shape)})
        if sub is None:
            continue
        rel = req.rel.xreplace(sub) if sub else req.rel
        if any(s.name.startswith("_req") for s in getattr(rel, "free_symbols", ())):
            continue  # names an axis the tensor does not have: the rule does not apply
        res = by_name.get(req.node)
        if rel is sp.false or rel is False:
            errors.append(f"node {req.node!r}: {req.reason}")
            problems.append(Problem(req.node, res.node.op_type if res else "", req.reason, req.kind))
            if res is not None and res.status == "ok":
                res.status, res.message = "error", req.reason
            continue
        if rel is sp.true or rel is True or rel in seen_cons:
            continue
        seen_cons.add(rel)
        if not dom.always_true(rel):
            constraints.append(Constraint(rel, req.reason, req.node, req.kind))


_NOT_CONSTANT = ("Random", "Bernoulli", "Multinomial")


def _constant_node(node, const) -> bool:
    """Outputs computed from initializers and Constant nodes only."""
    if node.op_type == "Constant":
        return True
    ins = [i for i in node.inputs if i]
    return bool(ins) and all(i in const for i in ins) and not node.op_type.startswith(_NOT_CONSTANT)


def _weight_dtype(graph, node, operands, dequantized):
    """Element type of the weight initializer a MAC op reads (behind a DequantizeLinear or
    Cast: the stored type), or None."""
    for k in reversed(operands):
        name = node.inputs[k]
        if name in dequantized and dequantized[name][1] is not None:
            name = dequantized[name][1]
        init = graph.initializers.get(name)
        if init is not None:
            return init.dtype
    return None


def _windows(inference) -> tuple:
    """Output 0's sliding windows over its spatial axes, as the op derived them (from its
    receptive-field spec: the window applied to input 0 on each axis)."""
    spec = inference.rf[0] if inference.rf else None
    if not spec:
        return ()
    out = []
    for axis_sources in spec[2:] if len(spec) > 2 else ():
        w = next((win for idx, _, win in (axis_sources or ()) if idx == 0 and win is not None), None)
        out.append(w)
    return tuple(out) if any(w is not None for w in out) else ()


def _with_live_intervals(graph, order, tensors) -> dict:
    """Each tensor's (first, last) execution step: graph inputs from -1, node outputs from
    their producer's step, to the step of their last reader; graph outputs and tensors no
    node reads stay to the end (``len(order)``)."""
    end = len(order)
    first = {g.name: -1 for g in graph.inputs}
    last = {}
    for step, node in enumerate(order):
        for i in node.inputs:
            if i in tensors:
                last[i] = step
        for o in node.outputs:
            if o in tensors:
                first.setdefault(o, step)
    for o in graph.outputs:
        last[o] = end
    # TensorInfo's constructor with every field (dataclasses.replace: the same value, slower)
    return {name: TensorInfo(t.name, t.shape, t.dtype, t.bytes, t.rf, t.producer, t.declared,
                             (first[name], last.get(name, end)), t.constant) if name in first else t
            for name, t in tensors.items()}


_DERIVED: dict = {}  # id(inference) -> (inference, its non-zero terms, its windows)


def _derived(inference):
    """What a node's result takes from its inference (the cost terms that are not zero, the
    sliding windows), worked out once per inference the ops' cache hands out (most nodes of
    a network repeat another's); the entry holds the inference, so its id stays its own."""
    hit = _DERIVED.get(id(inference))
    if hit is None or hit[0] is not inference:
        if len(_DERIVED) >= _MEMO_LIMIT:
            _DERIVED.clear()
        hit = _DERIVED[id(inference)] = (inference, tuple((k, v) for k, v in inference.terms.items() if v != 0),
                                         _windows(inference))
    return hit


_GUARDED: dict = {}  # id(inference) -> inference: results the ops' cache hands out again, already sized


def _guard_size(graph, node, inference):
    """Refuse expressions that grow without bound (e.g. shape arithmetic squaring a dim
    over and over): a clear error instead of a hang. An inference the ops' cache returned
    before and that passed is not sized again (the entry holds it, so its id stays its own)."""
    if _GUARDED.get(id(inference)) is inference:
        return
    exprs = [inference.macs, *inference.terms.values()]
    for v in inference.outputs:
        exprs.extend(v.shape or ())
        exprs.extend(v.value or ())
    for e in exprs:
        n = expr_size(as_expr(e))
        if n > MAX_EXPR_SIZE:
            raise InputError(graph.path, f"node {node.name!r} ({node.op_type}): its shape expressions grow too large "
                                         f"({n} terms > {MAX_EXPR_SIZE}); the graph's shape arithmetic does not stay bounded")
    if len(_GUARDED) >= _MEMO_LIMIT:
        _GUARDED.clear()
    _GUARDED[id(inference)] = inference


def fast_sum(exprs):
    """Sum of many expressions in one pass: like terms are collected in a dict first (with
    Python integer coefficients), so sympy's Add sees each distinct monomial once and a
    10,000-node total costs little."""
    acc, const, parts = {}, 0, {}
    for e in exprs:
        if isinstance(e, int):
            const += e
            continue
        if e.is_Integer:
            const += int(e)
            continue
        terms = parts.get(e)
        if terms is None:
            terms = parts[e] = _memo(_TERMS, e, _terms_of, e)
        for m, c in terms:
            acc[m] = acc.get(m, 0) + c
    return sp.Add(*[m if c == 1 else c * m for m, c in acc.items() if c != 0], const)  # 1 * m is m


def _terms_of(e):
    return [(m, int(c) if c.is_Integer else c) for c, m in (t.as_coeff_Mul() for t in sp.Add.make_args(e))]


def _safe(name):
    import re
    return re.sub(r"\W", "_", name)


def _add_param(res, role, n):
    if role == "trainable":
        res.trainable += n
    elif role == "buffer":
        res.buffers += n
    else:
        res.constants += n


def _cross_check(graph, tensors, warnings):
    """Shapes the exporter declared are a cross-check only: disagreements are reported."""
    bad = 0
    for name, (dims, _) in graph.declared.items():
        t = tensors.get(name)
        if t is None or t.shape is None or dims is None or t.declared:
            continue
        if len(dims) != len(t.shape):
            bad += 1
            if bad <= 5:
                warnings.append(f"{name!r}: the file declares rank {len(dims)}, derived {len(t.shape)}")
            continue
        for d, e in zip(dims, t.shape):
            if isinstance(d, int) and e.is_number and int(e) != d:
                bad += 1
                if bad <= 5:
                    warnings.append(f"{name!r}: the file declares shape {dims}, derived {tuple(t.shape)}")
                break
    if bad > 5:
        warnings.append(f"... {bad} declared shapes disagree with the derived ones in all")



from cnnsym._public import make_callable  # noqa: E402  (the module is also the function cnnsym.analyze)
make_callable(__name__)
