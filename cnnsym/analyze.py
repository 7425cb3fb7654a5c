"""Graph -> Report: run every op in topological order, compose receptive fields, count
parameters once per initializer, track live activations, collect constraints."""
from __future__ import annotations

import heapq
from collections import defaultdict

import sympy as sp

from . import domain as dom
from .errors import InputError, ShapeError, BindingError
from .graph import FLOAT_TYPES, Graph, Value, nbytes, precision
from .ops import lookup, numel
from .receptive import RF, join
from .report import Constraint, NodeResult, Problem, Report, TensorInfo
from .symbolic import MAX_EXPR_SIZE, as_expr, dim_symbol, expr_size

_ROLE_RANK = {"constant": 0, "buffer": 1, "trainable": 2}


def parse_dims(text: str, where: str = "--input"):
    """'1x3xHxW' -> [1, 3, 'H', 'W'] (ints fix, names free/rename)."""
    out = []
    for tok in text.replace(",", "x").split("x"):
        tok = tok.strip()
        if not tok:
            raise InputError(None, f"{where}: empty dim in {text!r}")
        if tok.lstrip("-").isdigit():
            v = int(tok)
            if v < 1:
                raise InputError(None, f"{where}: dim {v} in {text!r} must be >= 1")
            out.append(v)
        elif tok.isidentifier():
            out.append(tok)
        else:
            raise InputError(None, f"{where}: {tok!r} in {text!r} is neither an integer nor a name")
    return out


def apply_inputs(graph: Graph, overrides: dict):
    """``overrides``: input name (or None for the first input) -> parsed dims."""
    for key, dims in (overrides or {}).items():
        if not graph.inputs:
            raise InputError(graph.path, "the model has no inputs to override")
        if key is None:
            gi = graph.inputs[0]
        else:
            match = [g for g in graph.inputs if g.name == key]
            if not match:
                names = ", ".join(g.name for g in graph.inputs)
                raise InputError(graph.path, f"--input: no graph input named {key!r} (inputs: {names})")
            gi = match[0]
        if len(dims) != len(gi.shape):
            raise InputError(graph.path, f"--input {gi.name}: {len(dims)} dims given but the input has rank {len(gi.shape)}")
        shape, names = [], []
        for d in dims:
            if isinstance(d, int):
                shape.append(sp.Integer(d))
                names.append(None)
            else:
                shape.append(dim_symbol(d))
                names.append(d)
        subst = {o: n for o, n in zip(gi.shape, shape) if isinstance(o, sp.Symbol) and o != n}
        gi.shape, gi.axis_names, gi.defaulted = tuple(shape), tuple(names), frozenset()
        if subst:
            _substitute_values(graph, subst)


def _substitute_values(graph: Graph, subst: dict):
    """Known tensor contents written in terms of an input's dims (the source frontend's
    reshape targets and resize sizes) follow that input when --input renames or fixes it."""
    for init in graph.initializers.values():
        if init.value and any(isinstance(v, sp.Basic) and v.free_symbols for v in init.value):
            init.value = tuple(as_expr(v).xreplace(subst) for v in init.value)


def toposort(graph: Graph):
    """Kahn's algorithm, stable in file order; cycles and undefined tensors are errors."""
    producer = {}
    for n in graph.nodes:
        for o in n.outputs:
            if o:
                producer[o] = n.index
    available = set(graph.initializers) | {g.name for g in graph.inputs}
    indeg = [0] * len(graph.nodes)
    users = defaultdict(list)
    for n in graph.nodes:
        deps = set()
        for i in n.inputs:
            if not i:
                continue
            if i in producer:
                deps.add(producer[i])
            elif i not in available:
                raise InputError(graph.path, f"node {n.name!r} ({n.op_type}) reads {i!r}, which no node, input or initializer defines")
        if n.index in deps:
            raise InputError(graph.path, f"node {n.name!r} ({n.op_type}) reads its own output: the graph has a cycle")
        indeg[n.index] = len(deps)
        for d in deps:
            users[d].append(n.index)
    heap = [n.index for n in graph.nodes if indeg[n.index] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        i = heapq.heappop(heap)
        order.append(graph.nodes[i])
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, u)
    if len(order) != len(graph.nodes):
        stuck = [n.name for n in graph.nodes if indeg[n.index] > 0][:3]
        raise InputError(graph.path, f"the graph has a cycle (through {', '.join(repr(s) for s in stuck)})")
    for o in graph.outputs:
        if o not in producer and o not in available:
            raise InputError(graph.path, f"graph output {o!r} is not produced by any node")
    return order


def _freeze(x):
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if hasattr(x, "__dataclass_fields__"):
        return (type(x).__name__, tuple(_freeze(getattr(x, f)) for f in x.__dataclass_fields__))
    return x


_CACHE: dict = {}


def infer_node(cls, node, opset, inputs):
    key = None
    try:
        reads = cls.reads_values
        # which outputs the node has matters too (Split into len(outputs) parts, MaxPool's
        # Indices choosing onnxruntime's kernel)
        key = (cls, opset, _freeze(node.attrs), tuple(bool(o) for o in node.outputs),
               tuple(None if v is None else (v.shape, v.dtype, v.value if reads else None) for v in inputs))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    op = cls(node.attrs, opset, node)
    res = op.infer(inputs)
    if key is not None:
        if len(_CACHE) > 200_000:
            _CACHE.clear()
        _CACHE[key] = res
    return res


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
            fields.append(rfs[ax].through(window))
        f, mis = join(fields)
        misaligned |= mis
        out.append(f)
    if all(f is None for f in out):
        return None, misaligned
    return tuple(out), misaligned


def analyze(graph: Graph, bindings: dict | None = None, *, strict_bindings: bool = True) -> Report:
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
        tensors[gi.name] = TensorInfo(gi.name, gi.shape, gi.dtype, nbytes(numel(gi.shape), gi.dtype), rf)
    for name in graph.symbol_defaults:  # source hyperparameters made symbolic (--symbolic)
        symbols.setdefault(name, (None, None))
    for name, init in graph.initializers.items():
        env[name] = Value(tuple(as_expr(d) for d in init.shape), init.dtype, init.value)
    rfs = {gi.name: tensors[gi.name].rf for gi in graph.inputs}

    results, constraints, warnings, errors, problems = [], [], list(graph.warnings), [], []
    seen_cons = set()
    counted = {}  # initializer -> (role, NodeResult)
    # DequantizeLinear output -> (quantized element type, quantized initializer or None): its
    # consumer's MACs run at that precision and the initializer is the consumer's parameter
    dequantized = {}
    unaccounted = defaultdict(list)
    unresolved_reported = False
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
        if cls is None or any(isinstance(v, object) and type(v).__name__ == "_Subgraph" for v in node.attrs.values()):
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
                inference = infer_node(cls, node, opset, ins)
            except ShapeError as e:
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
            quantized = init is None and i in dequantized and dequantized[i][1] is not None
            if quantized:
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
                dtype = decl[1] if decl else 1
                env[o] = Value(shape, dtype)
                tensors[o] = TensorInfo(o, shape, dtype, None if shape is None else nbytes(numel(shape), dtype),
                                        None, node.name, declared)
                rfs[o] = None
            continue
        _guard_size(graph, node, inference)
        res.macs = inference.macs
        if res.macs != 0:
            operands = [k for k in getattr(cls, "mac_operands", (0, 1)) if k < len(ins) and ins[k] is not None]
            res.precision = precision([dequantized[node.inputs[k]][0] if node.inputs[k] in dequantized
                                       else ins[k].dtype for k in operands])
        if getattr(cls, "dequantizes", False) and node.outputs and node.outputs[0]:
            dequantized[node.outputs[0]] = (ins[0].dtype, node.inputs[0] if node.inputs[0] in graph.initializers else None)
        res.terms = {k: v for k, v in inference.terms.items() if v != 0}
        for rel, msg in inference.constraints:
            if rel is sp.true or rel in seen_cons:
                continue
            seen_cons.add(rel)
            if not dom.always_true(rel):
                constraints.append(Constraint(rel, msg, node.name))
        in_rfs = [rfs.get(i) if i else None for i in node.inputs]
        for k, o in enumerate(node.outputs):
            if not o:
                continue
            if k >= len(inference.outputs):
                warnings.append(f"{node.name!r}: output {o!r} is not produced by {node.op_type} with these attributes")
                env[o] = Value(None)
                tensors[o] = TensorInfo(o, None, 1, None, None, node.name)
                rfs[o] = None
                continue
            v = inference.outputs[k]
            env[o] = v
            spec = inference.rf[k] if inference.rf and k < len(inference.rf) else None
            rf, mis = _compose_rf(spec, in_rfs)
            if mis:
                warnings.append(f"receptive fields of the branches joined at {node.name!r} are misaligned (different offsets or strides)")
            rfs[o] = rf
            tensors[o] = TensorInfo(o, v.shape, v.dtype, nbytes(numel(v.shape), v.dtype), rf, node.name)

    _cross_check(graph, tensors, warnings)
    unacc = [{"op": op, "domain": d or "ai.onnx", "count": len(names), "nodes": names}
             for (op, d), names in unaccounted.items()]
    for u in unacc:
        warnings.append(f"{u['count']} x {u['domain']}::{u['op']} not supported: listed as unaccounted, not counted as zero")
    totals = {
        "params.trainable": fast_sum(r.trainable for r in results),
        "params.buffers": fast_sum(r.buffers for r in results),
        "params.constants": fast_sum(r.constants for r in results),
        "macs": fast_sum(r.macs for r in results),
    }
    totals["params.total"] = totals["params.trainable"] + totals["params.buffers"] + totals["params.constants"]
    # parameter bytes in each initializer's own element type (int4 packed two to a byte)
    pbytes = {n: nbytes(graph.initializers[n].numel, graph.initializers[n].dtype) for n in counted}
    totals["params.trainable_bytes"] = fast_sum(b for n, b in pbytes.items() if counted[n][0] == "trainable")
    totals["params.bytes"] = fast_sum([*pbytes.values(), *(
        nbytes(r.node.attrs["value"].numel, r.node.attrs["value"].dtype) for r in results
        if r.node.op_type == "Constant" and hasattr(r.node.attrs.get("value"), "numel"))])
    # MACs by operand precision (macs_int8, macs_fp32, ...): they sum to macs
    for p in sorted({getattr(r, "precision", "unknown") for r in results if r.macs != 0}):
        totals[f"macs_{p}"] = fast_sum(r.macs for r in results if r.macs != 0 and getattr(r, "precision", "unknown") == p)
    term_names = sorted({k for r in results for k in r.terms})
    for t in term_names:
        totals[f"terms.{t}"] = fast_sum(r.terms.get(t, 0) for r in results)
    totals["flops"] = 2 * totals["macs"] + sp.Add(*[totals[f"terms.{t}"] for t in term_names])
    totals["activation_bytes"] = fast_sum(t.bytes for t in tensors.values() if t.bytes is not None and t.producer is not None)
    report = Report(graph.path, graph.kind, symbols, [g.name for g in graph.inputs], list(graph.outputs),
                    tensors, results, totals, constraints, warnings=warnings, errors=errors,
                    unaccounted=unacc, opset=graph.opset, problems=problems)
    report.spatial_symbols = spatial
    report.symbol_defaults = dict(graph.symbol_defaults)
    dom.solve(report, graph, bindings or {}, strict=strict_bindings)
    if report.bindings is not None:
        report.totals["peak_activation_bytes"] = _peak(graph, order, tensors, report)
        report.values = {k: evaluate(v, report.bindings) for k, v in report.totals.items()}
    return report


def _guard_size(graph, node, inference):
    """Refuse expressions that grow without bound (e.g. shape arithmetic squaring a dim
    over and over): a clear error instead of a hang."""
    exprs = [inference.macs, *inference.terms.values()]
    for v in inference.outputs:
        exprs.extend(v.shape or ())
        exprs.extend(v.value or ())
    for e in exprs:
        n = expr_size(as_expr(e))
        if n > MAX_EXPR_SIZE:
            raise InputError(graph.path, f"node {node.name!r} ({node.op_type}): its shape expressions grow too large "
                                         f"({n} terms > {MAX_EXPR_SIZE}); the graph's shape arithmetic does not stay bounded")


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
            terms = parts[e] = [(m, int(c) if c.is_Integer else c)
                                for c, m in (t.as_coeff_Mul() for t in sp.Add.make_args(e))]
        for m, c in terms:
            acc[m] = acc.get(m, 0) + c
    return sp.Add(*[c * m for m, c in acc.items() if c != 0], const)


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


_EVAL_CACHE: dict = {}


def evaluate(expr, bindings: dict):
    """Exact integer (or rational) value of ``expr`` at ``bindings`` (names -> ints)."""
    expr = as_expr(expr)
    if expr.is_number:
        return _num(expr)
    key = (expr, tuple(sorted(bindings.items())))
    hit = _EVAL_CACHE.get(key)
    if hit is not None:
        return hit
    sub = {s: sp.Integer(bindings[s.name]) for s in expr.free_symbols if s.name in bindings}
    v = expr.xreplace(sub)
    out = _num(v) if v.is_number else v
    if len(_EVAL_CACHE) > 500_000:
        _EVAL_CACHE.clear()
    _EVAL_CACHE[key] = out
    return out


def _num(v):
    v = sp.nsimplify(v) if v.is_Float else v
    if v.is_Integer:
        return int(v)
    if v.is_Rational:
        return v
    try:
        return int(v) if v == int(v) else float(v)
    except TypeError:
        return v


def _peak(graph, order, tensors, report):
    """Peak of live activation bytes over the topological order: a tensor is live from the
    node that makes it (graph inputs from the start) to its last reader (graph outputs to
    the end). The step that peaks at the bindings gives the formula."""
    last_use = {}
    for step, node in enumerate(order):
        for i in node.inputs:
            if i in tensors:
                last_use[i] = step
    end = len(order)
    for o in graph.outputs:
        last_use[o] = end
    live = {g.name for g in graph.inputs}
    b = report.bindings
    cur = sum(_val(tensors[g].bytes, b) for g in live)
    best, best_set = cur, set(live)
    dying_at = defaultdict(list)
    for name, step in last_use.items():
        dying_at[step].append(name)
    for step, node in enumerate(order):
        for o in node.outputs:
            if o in tensors and tensors[o].bytes is not None:
                live.add(o)
                cur += _val(tensors[o].bytes, b)
        if cur > best:
            best, best_set = cur, set(live)
        for name in dying_at.get(step, ()):
            if name in live:
                live.discard(name)
                cur -= _val(tensors[name].bytes, b)
    return fast_sum(tensors[n].bytes for n in best_set if tensors[n].bytes is not None)


def _val(expr, b):
    if expr is None:
        return 0
    v = evaluate(expr, b)
    return v if isinstance(v, (int, float)) or getattr(v, "is_number", False) else 0
