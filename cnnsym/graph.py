"""The one representation both frontends produce: ONNX op semantics, sympy shapes."""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import field, replace
from functools import lru_cache
from typing import Any, Optional

import sympy as sp

from .errors import InputError
from .symbolic import Expr, as_expr, dim_symbol, scale
from ._dataclass import dataclass

# ONNX TensorProto element types -> bits per element (strings and unknowns count 0);
# sub-byte types (int4, uint4, float4 two to a byte, int2/uint2 four) are packed, so a
# tensor takes ceil(numel * bits / 8) bytes: see nbytes()
DTYPE_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
              14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8,
              25: 2, 26: 2}
# whole bytes per element (sub-byte types: 1, an upper bound; use nbytes() for exact sizes)
DTYPE_BYTES = {t: max(1, b // 8) for t, b in DTYPE_BITS.items()}
DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
               7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
               13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
               17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
               21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2"}
FLOAT = 1
INT64 = 7
BOOL = 9
FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20, 23, 24})
# the precision a multiply-accumulate runs at, named by operand type (the wider operand wins)
PRECISION = {1: "fp32", 10: "fp16", 16: "bf16", 11: "fp64", 17: "fp8", 18: "fp8", 19: "fp8", 20: "fp8",
             24: "fp8", 23: "fp4", 2: "int8", 3: "int8", 4: "int16", 5: "int16", 21: "int4", 22: "int4",
             25: "int2", 26: "int2", 6: "int32", 12: "int32", 7: "int64", 13: "int64", 9: "bool"}


def nbytes(n, dtype: int):
    """Bytes of ``n`` elements of ``dtype`` (n an int or a sympy expression): packed
    sub-byte types round up to whole bytes."""
    bits = DTYPE_BITS.get(dtype, 0)
    if bits % 8 == 0:
        return scale(n, bits // 8)  # n * (bits // 8), the same object, fast (issue 12)
    if isinstance(n, int):
        return -(-n * bits // 8)
    return sp.ceiling(n * sp.Rational(bits, 8))


def precision(dtypes) -> str:
    """Name of the precision of a product of operands of these element types: the widest
    operand's (a float operand wins a tie: int8 x fp8 weights dequantized to float compute
    in float), e.g. uint8 x int8 -> ``int8``, int8 x float32 -> ``fp32``."""
    known = [t for t in dtypes if t in PRECISION]
    if not known:
        return "unknown"
    best = max(known, key=lambda t: (DTYPE_BITS.get(t, 0), t in FLOAT_TYPES))
    return PRECISION[best]


@dataclass(frozen=True)
class Value:
    """What is known statically about one tensor.

    ``shape``: sympy dims, or None when even the rank is unknown.
    ``value``: the elements (flat, row-major, sympy) of a small tensor whose contents
    are known: shape arithmetic, constant attributes-as-inputs.
    """

    shape: Optional[tuple] = None
    dtype: int = FLOAT
    value: Optional[tuple] = None

    @property
    def rank(self) -> Optional[int]:
        return None if self.shape is None else len(self.shape)


@dataclass
class SourceLoc:
    path: str
    line: int
    col: int

    def __str__(self):
        return f"{self.path}:{self.line}:{self.col}"


@dataclass
class Node:
    op_type: str
    name: str
    inputs: list  # tensor names, "" for an omitted optional input
    outputs: list
    attrs: dict = field(default_factory=dict)
    domain: str = ""
    index: int = 0
    loc: Optional[SourceLoc] = None  # construction site (source frontend)
    call_loc: Optional[SourceLoc] = None  # call site in forward (source frontend)
    # module path it was called in ("layer2.0.downsample.0", "" the model itself); None
    # when the file does not say (an ONNX file without exporter scopes)
    module: Optional[str] = None
    # source frontend, nodes a layer emits: the source locations of the calls that built
    # that layer, outermost first, ending at the layer's own construction (== loc), e.g.
    # (net.py:38 `ResidualBlock(32, 128)`, net.py:9 `nn.Conv2d(in_channels, ...)`);
    # () when unknown (ONNX, functional calls in forward)
    loc_chain: tuple = ()
    # source frontend: the layer's constructor argument (torch's parameter name:
    # "in_channels", "kernel_size", ...) -> SourceLoc of the integer literal that value was
    # written as, wherever in the call chain (passed through parameters unchanged); only
    # arguments whose value is such a literal (computed values have no entry)
    arg_locs: dict = field(default_factory=dict)

    def describe(self) -> str:
        return f"node {self.name!r} ({self.op_type})"


REQUIREMENT = "requirement"  # Constraint.kind of a frontend's requirement (lint: CNS100, its reason as stated)


@lru_cache(maxsize=4096)  # the same symbol each time (sympy's own Symbol cache, kept)
def req_dim(i: int, ax: int):
    """Placeholder for axis ``ax`` of the ``i``-th tensor a :class:`Requirement` names: the
    analysis replaces it by that tensor's dim as it derives it (after --input)."""
    return sp.Symbol(f"_req{i}_{ax}", integer=True, nonnegative=True)


@dataclass(frozen=True)
class Requirement:
    """A size rule a frontend states that is not a consequence of any op's shape function:
    what the framework's own kernel refuses although the exported graph would run (torch's
    GroupNorm needs more than one value per group, circular padding at most the size, ...).

    ``rel``: a sympy relational over the model's symbols and over :func:`req_dim`
    placeholders of the tensors named in ``tensors`` (their shapes as the analysis derives
    them); ``reason``: what must hold, worded as a condition ("circular padding 2 needs
    size >= 2 along axis 3"); ``node``: the node it belongs to (findings, explain);
    ``loc``: the source line. The analysis adds it to the report's constraints (the
    valid-size domain, check, verify and lint's CNS1xx see it), or to its problems when it
    fails at every size."""

    rel: Any
    reason: str
    node: str = ""
    tensors: tuple = ()
    loc: Optional["SourceLoc"] = None
    kind: str = REQUIREMENT


@dataclass
class Initializer:
    name: str
    shape: tuple  # ints
    dtype: int
    value: Optional[tuple] = None  # elements, only for small tensors
    external: bool = False  # data lives in an external file
    data_missing: bool = False  # external file absent / no data at all
    # small float contents are decoded only when an op that reads contents consumes them
    pending: Optional[object] = field(default=None, repr=False, compare=False)
    role: Optional[str] = None  # trainable | buffer | constant: overrides the reading op's role (source frontend)

    @property
    def numel(self):
        """An int; a sympy expression when a dim is symbolic (source hyperparameters)."""
        n = 1
        for d in self.shape:
            n = n * (int(d) if isinstance(d, int) or getattr(d, "is_Integer", False) else d)
        return n


@dataclass
class GraphInput:
    name: str
    shape: tuple  # sympy dims
    dtype: int
    axis_names: tuple = ()  # the symbol name (if any) of each axis
    defaulted: frozenset = frozenset()  # axes whose symbol got a default name


@dataclass
class Graph:
    path: str
    inputs: list  # GraphInput
    outputs: list  # names
    nodes: list  # Node, in file order
    initializers: dict  # name -> Initializer
    opsets: dict = field(default_factory=dict)  # domain -> version
    declared: dict = field(default_factory=dict)  # name -> (shape tuple of int/str/None, dtype)
    output_dtypes: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    producer: str = ""
    kind: str = "onnx"
    # source frontend: initializers a node's module holds without the op reading them
    # (BatchNorm's num_batches_tracked), counted with that node: node name -> [initializer]
    held: dict = field(default_factory=dict)
    # source frontend: module qualname -> the tensor names its call(s) returned
    module_outputs: dict = field(default_factory=dict)
    # module path -> (type name, construction SourceLoc or None): source frontend, every
    # named_modules() path in that order; dynamo exports, the class_hierarchy metadata
    module_types: dict = field(default_factory=dict)
    # source frontend: module path -> its first call's site in forward (SourceLoc or None),
    # in first-call order (at call start)
    module_calls: dict = field(default_factory=dict)
    # source frontend: --symbolic hyperparameters -> their default values
    symbol_defaults: dict = field(default_factory=dict)
    # source frontend: what building the model's modules/parameters or its forward did not
    # follow, one 'file:line: why' each; any makes the totals lower bounds (Report.complete False)
    not_followed: list = field(default_factory=list)
    # source frontend: script globals not determined statically (a required argument, a value
    # from a data set), used as free symbols named after them: name -> why
    free_symbols: dict = field(default_factory=dict)
    # size rules a frontend states beyond its ops' shape functions (Requirement), e.g. a
    # torch kernel's own checks: the analysis turns them into constraints
    requires: list = field(default_factory=list)

    @property
    def opset(self) -> int:
        return self.opsets.get("", self.opsets.get("ai.onnx", 21))


class Subgraph:
    """Attribute value standing for a control-flow body (If/Loop/Scan): not analysed, so
    the node is unaccounted. Frontends put it in ``Node.attrs``; the analysis tests for it."""


# --------------------------------------------------------------------------- inputs, order
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
    graph.requires = [replace(r, rel=r.rel.xreplace(subst)) if r.rel.free_symbols & set(subst) else r
                      for r in getattr(graph, "requires", ())]


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
