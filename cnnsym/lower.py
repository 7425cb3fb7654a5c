"""Graph -> ONNX model, for executing what a non-ONNX frontend built (``cnnsym verify
net.py::Net``). Initializers get seeded random data of their declared shapes; symbolic
input dims become ``dim_param`` names. Only ``verify`` imports this (it needs onnx).

A size read from a tensor's shape in the source (``h, w = x.shape[-2:]`` then
``F.interpolate(x, size=(h, w))``, ``y.expand_as(x)``) is a constant whose elements are
expressions in the input's dims (``(N, 8, H, W)``). It becomes shape arithmetic in the
model, as an exporter would write it: ``Shape`` of the graph input, ``Gather`` of the axis
that defines each symbol, integer ``Add``/``Mul``/``Div``/``Mod``/``Max``/``Min`` for the
expression (``floor(a/q) = (a - a mod q)/q``, so the result is exact for negative ``a`` too),
``Concat`` of the elements. The model then runs at every size, as the source does."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .errors import InputError
from .graph import Initializer

COMPUTED_KEY = "cnnsym.computed_shape_elements"  # metadata: elements of constants made shape arithmetic
NP = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) or getattr(v, "is_Integer", False) is True


def _concrete(value) -> bool:
    return all(_is_int(v) or getattr(v, "is_number", True) for v in value)


def _tensor(name, init, rng):
    from onnx import numpy_helper

    dt = NP.get(init.dtype, np.float32)
    shape = tuple(int(d) for d in init.shape)
    if init.value is not None:
        arr = np.array([float(v) if np.issubdtype(dt, np.floating) else int(v) for v in init.value], dtype=dt).reshape(shape)
    elif np.issubdtype(dt, np.floating):
        arr = (rng.standard_normal(shape) * 0.05).astype(dt)
    else:
        arr = np.zeros(shape, dt)
    return numpy_helper.from_array(arr, name)


class _ShapeArithmetic:
    """Emits int64 nodes computing sympy expressions of the graph inputs' dims."""

    def __init__(self, graph):
        self.graph = graph
        self.nodes, self.inits = [], []
        self.where = {}  # symbol name -> (input name, axis)
        for gi in graph.inputs:
            for ax, d in enumerate(gi.shape):
                if isinstance(d, sp.Symbol):
                    self.where.setdefault(d.name, (gi.name, ax))
        self.cache = {}
        self.n = 0
        self.elements = 0

    def _name(self, what):
        self.n += 1
        return f"cnnsym_shape/{what}_{self.n}"

    def _node(self, op, inputs, **attrs):
        from onnx import helper

        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def const(self, v: int) -> str:
        from onnx import numpy_helper

        key = ("const", int(v))
        if key not in self.cache:
            name = self._name("const")
            self.inits.append(numpy_helper.from_array(np.array([int(v)], np.int64), name))
            self.cache[key] = name
        return self.cache[key]

    def expr(self, e) -> str:
        """Name of a 1-element int64 tensor holding integer expression ``e``."""
        e = sp.sympify(e)
        if e in self.cache:
            return self.cache[e]
        out = self._expr(e)
        self.cache[e] = out
        return out

    def _expr(self, e):
        if e.is_Integer:
            return self.const(int(e))
        if e.is_Symbol:
            if e.name not in self.where:
                raise InputError(self.graph.path, f"cannot run: size {e} is not a dim of any graph input (bind it with --bind)")
            src, ax = self.where[e.name]
            key = ("shape", src)
            if key not in self.cache:
                self.cache[key] = self._node("Shape", [src])
            return self._node("Gather", [self.cache[key], self.const(ax)], axis=0)
        if isinstance(e, (sp.floor, sp.ceiling)):
            num, den = _over_common_denominator(e.args[0])
            if isinstance(e, sp.ceiling):  # ceil(a/q) = -floor(-a/q)
                return self._node("Neg", [self._floordiv(self.expr(-num), den)])
            return self._floordiv(self.expr(num), den)
        if e.is_Add or e.is_Mul:
            num, den = _over_common_denominator(e)
            if den != 1:  # an exact quotient by construction of the source's arithmetic
                return self._floordiv(self.expr(num), den)
            op = "Add" if e.is_Add else "Mul"
            acc = self.expr(e.args[0])
            for a in e.args[1:]:
                acc = self._node(op, [acc, self.expr(a)])
            return acc
        if isinstance(e, (sp.Max, sp.Min)):
            return self._node("Max" if isinstance(e, sp.Max) else "Min", [self.expr(a) for a in e.args])
        if isinstance(e, sp.Mod):
            return self._node("Mod", [self.expr(e.args[0]), self.expr(e.args[1])], fmod=0)
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            acc = self.expr(e.base)
            for _ in range(int(e.exp) - 1):
                acc = self._node("Mul", [acc, self.expr(e.base)])
            return acc
        raise InputError(self.graph.path, f"cannot run: size {e} has no ONNX shape arithmetic here")

    def _floordiv(self, a: str, q: int) -> str:
        c = self.const(q)
        rem = self._node("Mod", [a, c], fmod=0)  # Python semantics: 0 <= rem < q
        return self._node("Div", [self._node("Sub", [a, rem]), c])

    def tensor(self, name, init):
        """Nodes writing initializer ``init`` (some elements symbolic) to tensor ``name``."""
        from onnx import TensorProto, helper

        self.elements += len(init.value)
        parts = [self.expr(v) for v in init.value]
        flat = parts[0] if len(parts) == 1 else self._node("Concat", parts, axis=0)
        shape = [int(d) for d in init.shape]
        if shape != [len(parts)]:
            from onnx import numpy_helper

            target = self._name("target")
            self.inits.append(numpy_helper.from_array(np.array(shape, np.int64), target))
            flat = self._node("Reshape", [flat, target])
        to = init.dtype if init.dtype in NP else TensorProto.INT64
        self.nodes.append(helper.make_node("Cast" if to != TensorProto.INT64 else "Identity", [flat], [name],
                                           name=self._name("out"), **({"to": to} if to != TensorProto.INT64 else {})))


def _over_common_denominator(e):
    """(integer expression, q) with e = expression / q."""
    e = sp.expand(e)
    q = 1
    for t in sp.Add.make_args(e):
        c, _ = t.as_coeff_Mul()
        if c.is_Rational:
            q = q * int(c.q) // math.gcd(q, int(c.q))
    return sp.expand(e * q), q


def to_model(graph, opset: int = 17):
    from onnx import helper

    rng = np.random.default_rng(0)
    for name, init in graph.initializers.items():
        if any(not _is_int(d) for d in init.shape):
            raise InputError(graph.path, f"initializer {name!r} has symbolic dims {init.shape}: bind hyperparameters to run it")
    arith = _ShapeArithmetic(graph)
    nodes = []
    for n in graph.nodes:
        attrs = {}
        for k, v in n.attrs.items():
            if v is None:
                continue
            attrs[k] = v
            if isinstance(v, Initializer):
                if v.value is not None and not _concrete(v.value) and n.op_type == "Constant" and k == "value":
                    attrs = None  # a Constant of shape arithmetic: computed instead
                    arith.tensor(n.outputs[0], v)
                    break
                attrs[k] = _tensor(k, v, rng)
        if attrs is None:
            continue
        nodes.append(helper.make_node(n.op_type, [i for i in n.inputs], list(n.outputs), name=n.name,
                                      domain=n.domain or None, **attrs))
    inputs = []
    for gi in graph.inputs:
        dims = [int(d) if _is_int(d) else str(d) for d in gi.shape]
        inputs.append(helper.make_tensor_value_info(gi.name, gi.dtype, dims))
    outputs = [helper.ValueInfoProto(name=o) for o in graph.outputs]
    inits = []
    for name, init in graph.initializers.items():
        if init.value is not None and not _concrete(init.value):
            arith.tensor(name, init)
        else:
            inits.append(_tensor(name, init, rng))
    g = helper.make_graph(arith.nodes + nodes, "cnnsym_lowered", inputs, outputs, inits + arith.inits)
    domains = {n.domain for n in graph.nodes if n.domain}
    ops = [helper.make_opsetid("", max(opset, graph.opsets.get("", opset)))] + [helper.make_opsetid(d, 1) for d in sorted(domains)]
    model = helper.make_model(g, opset_imports=ops, ir_version=8)
    if arith.elements:
        helper.set_model_props(model, {COMPUTED_KEY: str(arith.elements)})
    return model


def to_onnx_file(graph) -> str:
    """Deprecated: ``verify`` lowers source models in memory (pass the model spec as its path).
    Kept for callers that still want a file; the caller owns (and must delete) its folder."""
    import os
    import tempfile

    import onnx

    d = tempfile.mkdtemp(prefix="cnnsym_")
    p = os.path.join(d, "lowered.onnx")
    onnx.save(to_model(graph), p)
    return p
