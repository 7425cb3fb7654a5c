"""The one representation both frontends produce: ONNX op semantics, sympy shapes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .symbolic import Expr

# ONNX TensorProto element types -> bytes per element (strings and unknowns count 0)
DTYPE_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8,
               14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 21: 1, 22: 1, 23: 1}
DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
               7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
               13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"}
FLOAT = 1
INT64 = 7
BOOL = 9
FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20})


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

    def describe(self) -> str:
        return f"node {self.name!r} ({self.op_type})"


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
    # source frontend: --symbolic hyperparameters -> their default values
    symbol_defaults: dict = field(default_factory=dict)

    @property
    def opset(self) -> int:
        return self.opsets.get("", self.opsets.get("ai.onnx", 21))
