"""The Report: everything downstream (renderers, lint, budgets, verify) reads this."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Optional

import sympy as sp

SCHEMA_VERSION = 1
CONVENTION = "cnnsym"


@dataclass
class TensorInfo:
    name: str
    shape: Optional[tuple]  # sympy dims, None if unknown
    dtype: int
    bytes: Optional[sp.Expr]
    rf: Optional[tuple] = None  # per axis: RF or None
    producer: Optional[str] = None
    declared: bool = False  # shape taken from the file (unknown op), not derived


@lru_cache(maxsize=65536)
def _flops(macs, terms):
    return 2 * macs + sp.Add(*terms)


@dataclass
class NodeResult:
    node: object  # graph.Node
    status: str = "ok"  # ok | unaccounted | unresolved | error
    trainable: sp.Expr = sp.Integer(0)
    buffers: sp.Expr = sp.Integer(0)
    constants: sp.Expr = sp.Integer(0)
    macs: sp.Expr = sp.Integer(0)
    terms: dict = field(default_factory=dict)
    message: str = ""

    @cached_property
    def flops(self):  # read only once the analysis is complete
        return _flops(self.macs, tuple(self.terms.values()))

    @property
    def params(self):
        return self.trainable + self.buffers + self.constants


@dataclass
class Constraint:
    rel: object  # sympy relational
    message: str
    node: str


@dataclass
class Problem:
    """A node whose op could not produce a shape (it raised ShapeError), structured for lint
    rules: ``kind`` is what disagrees ("channels", "features", "broadcast", "elements",
    "shape", "size" or "" when the op did not say), ``expected`` what the op needs and
    ``got`` what reached it (sympy or int, None when not given)."""

    node: str
    op_type: str
    message: str
    kind: str = ""
    expected: object = None
    got: object = None


@dataclass
class Report:
    path: str
    kind: str
    symbols: dict  # name -> (input name, axis)
    inputs: list
    outputs: list
    tensors: dict  # name -> TensorInfo (graph inputs and every node output)
    nodes: list  # NodeResult, topological order
    totals: dict  # name -> expr
    constraints: list  # Constraint
    valid_ranges: dict = field(default_factory=dict)  # symbol -> description dict
    smallest_input: Optional[dict] = None
    bindings: dict = field(default_factory=dict)  # symbol name -> int
    binding_notes: list = field(default_factory=list)
    values: dict = field(default_factory=dict)  # totals evaluated at bindings
    unaccounted: list = field(default_factory=list)  # {op, domain, count, nodes}
    warnings: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # Problem, one per node in error
    convention: str = CONVENTION
    spatial_symbols: set = field(default_factory=set)
    symbol_defaults: dict = field(default_factory=dict)  # hyperparameter -> default value
    opset: int = 0

    def evaluate(self, expr, bindings=None):
        """An expression's integer value at ``bindings`` (default: the report's)."""
        from .analyze import evaluate
        return evaluate(expr, self.bindings if bindings is None else bindings)
