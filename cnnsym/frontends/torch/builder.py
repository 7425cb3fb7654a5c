"""Emits Graph nodes as the interpreter walks ``forward``, inferring each output's shape
with the same ops the analysis uses (so ``x.size(2)`` and ``x.view(x.size(0), -1)`` see
the real symbolic dims)."""
from __future__ import annotations

import sympy as sp

from ...graph import FLOAT, INT64, Graph, Initializer, Node, Value
from ...ops import infer_node, lookup
from ...errors import InputError
from ...symbolic import as_expr, expr_size
from .values import Param, Tensor

OPSET = 21
UNKNOWN_DOMAIN = "torch.unknown"

# Shape arithmetic that grows block after block at symbolic sizes (torchvision's Swin: pad to
# a window multiple, slice back, add the shortcut; every block nests the last one's Max/Min)
# costs minutes of sympy before analyze's own guard (MAX_EXPR_SIZE) fires; a frontend shape
# this large has never been a real CNN's closed form, so the model is refused early, with
# the cure named (concrete sizes keep every expression small)
SYMBOLIC_SHAPE_LIMIT = 1_500


class Builder:
    def __init__(self, path: str):
        self.path = path
        self.nodes: list = []
        self.initializers: dict = {}
        self.taken: set = set()
        self.held: dict = {}
        self.inferred: dict = {}  # node name -> (node, its attrs, opset, input Values, Inference)
        self.module_outputs: dict = {}
        self.module_stack: list = []  # paths of the named modules being called, innermost last
        self.module_calls: dict = {}  # path -> first call's SourceLoc, in first-call order
        self.module_types: dict = {}  # named_modules() path -> (type name, SourceLoc)
        self.warnings: list = []
        self.opsets = {"": OPSET, "cnnsym.torch": 1}
        self.requires: list = []  # torch's own size rules (graph.Requirement), see requires.py

    # names -------------------------------------------------------------------
    def unique(self, base: str) -> str:
        base = base or "node"
        if base not in self.taken:
            self.taken.add(base)
            return base
        k = 2
        while f"{base}#{k}" in self.taken:
            k += 1
        name = f"{base}#{k}"
        self.taken.add(name)
        return name

    def warn(self, msg: str):
        if msg not in self.warnings:
            self.warnings.append(msg)

    # tensors -----------------------------------------------------------------
    def param_name(self, p: Param) -> str:
        q = p.owner.qualname if p.owner is not None else None
        return f"{q}.{p.pname}" if q else p.pname

    def materialize(self, p: Param) -> Tensor:
        name = self.param_name(p)
        init = self.initializers.get(name)
        if init is None:
            if name in self.taken:
                name = self.unique(name)
            self.taken.add(name)
            shape = tuple(int(d) if isinstance(d, int) or (isinstance(d, sp.Basic) and d.is_Integer) else as_expr(d)
                          for d in p.shape)
            init = Initializer(name, shape, p.dtype, value=p.value, data_missing=True)
            init.role = p.role
            self.initializers[name] = init
        return Tensor(name, tuple(as_expr(d) for d in p.shape), p.dtype, p.value)

    def const(self, values, base: str, dtype=INT64, shape=None) -> Tensor:
        vals = tuple(as_expr(v) for v in values)
        shape = (len(vals),) if shape is None else tuple(shape)
        name = self.unique(base)
        self.initializers[name] = Initializer(name, shape, dtype, value=vals)
        return Tensor(name, tuple(sp.Integer(d) for d in shape), dtype, vals)

    def hold(self, node_name: str, p: Param):
        t = self.materialize(p)
        self.held.setdefault(node_name, []).append(t.name)

    # modules -----------------------------------------------------------------
    def enter(self, path, call_loc=None):
        """A call of a module starts: a named one (``path`` not None) is recorded at its
        first call; an unnamed one (built inside forward) keeps its caller's path."""
        if path is not None:
            self.module_calls.setdefault(path, call_loc)
        self.module_stack.append(path if path is not None else
                                 (self.module_stack[-1] if self.module_stack else ""))

    def leave(self):
        self.module_stack.pop()

    # nodes -------------------------------------------------------------------
    def emit(self, op_type, inputs, attrs=None, name="", domain="", loc=None, call_loc=None, n_out=1):
        name = self.unique(name or op_type)
        ins = []
        for t in inputs:
            if t is None:
                ins.append(None)
            elif isinstance(t, Param):
                ins.append(self.materialize(t))
            else:
                ins.append(t)
        outs = [name] if n_out == 1 else [self.unique(f"{name}:{k}") for k in range(n_out)]
        node = Node(op_type, name, ["" if t is None else t.name for t in ins], outs, dict(attrs or {}), domain,
                    len(self.nodes), loc, call_loc, self.module_stack[-1] if self.module_stack else "")
        self.nodes.append(node)
        values = self._infer(node, ins, n_out)
        return [Tensor(o, v.shape if v is not None else None, v.dtype if v is not None else FLOAT,
                       v.value if v is not None else None) for o, v in zip(outs, values)]

    def _infer(self, node, ins, n_out):
        none = [None] * n_out
        cls = lookup(node.op_type, node.domain)
        if cls is None or any(t is not None and t.shape is None for t in ins):
            return none
        vals = [None if t is None else Value(t.shape, t.dtype, t.value) for t in ins]
        opset = self.opsets.get(node.domain, OPSET)
        try:
            res = infer_node(cls, node, opset, vals)
        except Exception:  # noqa: BLE001 - the analysis reports the problem on this node
            return none
        self.inferred[node.name] = (node, node.attrs, opset, vals, res)
        out = list(res.outputs[:n_out])
        for v in out:
            n = max((_size(d) for d in (v.shape or ())), default=0) if v is not None else 0
            if n > SYMBOLIC_SHAPE_LIMIT:
                raise InputError(self.path, f"node {node.name!r} ({node.op_type}): its shape at symbolic input sizes "
                                            f"grows past {SYMBOLIC_SHAPE_LIMIT} terms ({n}); give concrete sizes (--input)")
        return out + [None] * (n_out - len(out))

    def graph(self, inputs, outputs) -> Graph:
        g = Graph(self.path, inputs, outputs, self.nodes, self.initializers, dict(self.opsets),
                  warnings=list(self.warnings), producer="cnnsym.frontends.torch", kind="torch")
        g.held = self.held
        g.inferred = self.inferred  # what each node was inferred from and to (analyze reuses it)
        g.module_outputs = self.module_outputs
        g.module_types = self.module_types
        g.module_calls = dict(self.module_calls)
        g.requires = list(self.requires)
        return g


_SIZES: dict = {}  # dim -> expr_size: every emitted output's dims are guarded, most recur (issue 12)


def _size(d) -> int:
    n = _SIZES.get(d)
    if n is None:
        if len(_SIZES) >= 100_000:
            _SIZES.clear()
        n = _SIZES[d] = expr_size(as_expr(d))
    return n
