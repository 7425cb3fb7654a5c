"""The op library: one class per ONNX ``op_type``, registered by decorator.

An op sees shapes only. Its one pure method, :meth:`Op.infer`, maps the input
:class:`~cnnsym.graph.Value` s (sympy shapes, small known contents) to an
:class:`Inference`: output values, ``macs``, named cost ``terms``, how each output axis
relates to input axes for receptive fields (``rf``), and the constraints the op puts on its
inputs. Ops never import onnx, libcst or onnxruntime.

Cost terms (each a count of operations, added to ``2*macs`` to give ``flops``):

- ``bias``: one add per output element of a Conv/ConvTranspose/Gemm with a bias.
- ``norm``: per output element, 2 for BatchNormalization at inference (scale, shift), 5 for
  Instance/Layer/Group/MeanVariance normalization (mean, variance, subtract, divide, affine
  folded in), 4 for RMSNormalization, 3 for LpNormalization, size + 3 for LRN.
- ``activation``: per output element, 1 (Relu, Tanh, Sigmoid, ...), documented per op.
- ``pooling``: per output element, the window's size (comparisons or adds), 1 per input
  element for global pools.
- ``elementwise``: one per output element of Add, Sub, Mul, Div, Pow, Max, Min, ...
- ``resize``: per output element, 1 (nearest) or the interpolation taps (linear 2^r, cubic 4^r).
- ``softmax``: 3 per element (exp, sum, divide); 1 for Hardmax.
- ``reduce``: one per input element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import sympy as sp

from .. import plugins
from ..errors import ShapeError
from ..graph import Value
from ..symbolic import ZERO, Expr, as_expr, dims_product

TERMS = {
    "bias": "one add per output element of a layer with a bias",
    "norm": "BatchNormalization 2 per element; Instance/Layer/Group/MeanVariance normalization 5; "
            "RMSNormalization 4; LpNormalization 3; LRN size + 3",
    "activation": "per output element, weight documented per op (1 for most)",
    "pooling": "per output element, the window size; global pools one per input element",
    "elementwise": "one per output element of an arithmetic op",
    "resize": "per output element, 1 (nearest) or the interpolation taps",
    "softmax": "3 per element (exp, sum, divide); Hardmax 1",
    "reduce": "one per input element",
    "quantize": "QuantizeLinear/DequantizeLinear one per output element (scale, round, shift); "
                "DynamicQuantizeLinear 3 (min/max scan, then quantize)",
}
# TERMS is the one registry of cost terms: conventions, renderers and docs read it


@dataclass
class Inference:
    """What one node does. ``rf[i]`` is None (output i has no spatial meaning) or a tuple
    with one entry per output axis: None, or a tuple of ``(input_index, input_axis,
    Window|None)`` sources whose fields are joined."""

    outputs: list
    macs: Expr = ZERO
    terms: dict = field(default_factory=dict)
    rf: Optional[list] = None
    constraints: list = field(default_factory=list)  # (sympy relational, message)


class Case:
    """An op example, which is also its test.

    ``Case(inputs=("N,3,H,W", "64,3,3,3"), pads=(1, 1, 1, 1), out="N,64,H,W",
    macs="1728*N*H*W")``: inputs are comma-separated dims (None for an omitted optional
    input); ``values`` gives the known contents of inputs by index; every other keyword is
    an attribute. ``out`` is one shape string or a tuple of them; ``macs`` and ``terms``
    are expressions compared by equivalence; ``value`` the expected contents of output 0.
    ``attributes`` gives attributes whose names clash with these keywords (Constant's
    ``value``).
    """

    def __init__(self, inputs, out=None, *, macs=None, terms=None, values=None, value=None,
                 opset=17, dtypes=None, raises=None, attributes=None, **attrs):
        self.inputs = inputs
        self.out = out
        self.macs = macs
        self.terms = terms or {}
        self.values = values or {}
        self.value = value
        self.opset = opset
        self.dtypes = dtypes or {}
        self.raises = raises
        self.attrs = {**attrs, **(attributes or {})}

    def __repr__(self):
        return f"Case({self.inputs!r}, out={self.out!r}, attrs={self.attrs!r})"


# ShapeError kind of an op whose shape operand (Reshape's shape, Slice's starts, Resize's
# scales...) is a runtime value: the outputs are unknown (opaque), the graph is not invalid
UNKNOWN_OPERAND = "unknown_operand"


class Op:
    """Base class. Subclasses set ``op_type`` (the ONNX name), ``attributes`` (spec
    names and defaults), ``param_roles`` (input index -> "trainable" | "buffer") and
    ``examples``, and implement :meth:`infer`."""

    op_type: ClassVar[str] = ""
    domain: ClassVar[str] = ""
    attributes: ClassVar[dict] = {}
    param_roles: ClassVar[dict] = {}
    examples: ClassVar[list] = []
    origin: ClassVar[str] = "cnnsym"
    # whether infer() looks at its inputs' known contents (Value.value); ops that see
    # shapes only set False, so weights' small contents never split the inference cache
    reads_values: ClassVar[bool] = True

    def __init__(self, attrs: Optional[dict] = None, opset: int = 17, node=None):
        self.attrs = {**self.attributes, **(attrs or {})}
        self.opset = opset
        self.node = node

    def __getitem__(self, name):
        return self.attrs[name]

    def infer(self, inputs: list) -> Inference:  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------
    def fail(self, problem: str, *, kind: str = "", expected=None, got=None):
        raise ShapeError(self.node, f"{self.op_type}: {problem}", kind=kind, expected=expected, got=got)

    def input_or_attr(self, inputs, index: int, attr: str, default=None):
        """Opset-dependent operands that moved from attributes to inputs (axes, pads,
        split, scales...): the input's known contents if given, else the attribute."""
        if index < len(inputs) and inputs[index] is not None:
            v = inputs[index]
            if v.value is None:
                self.fail(f"input {index} ({attr}) must be a known constant to derive shapes", kind=UNKNOWN_OPERAND)
            return list(v.value)
        v = self.attrs.get(attr)
        return default if v is None else v

    def need_rank(self, v: Value, at_least: int, what: str = "input"):
        if v.shape is None or len(v.shape) < at_least:
            self.fail(f"needs {what} of rank >= {at_least}, got {fmt_shape(v.shape)}")


def fmt_shape(shape) -> str:
    if shape is None:
        return "unknown rank"
    return "(" + ", ".join(str(d) for d in shape) + ")"


REGISTRY: dict = {}


def _norm_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def register(cls=None, *, origin: str = "cnnsym"):
    """Class decorator adding an op to the registry; a duplicate (domain, op_type) is an
    error, so a plugin cannot silently replace a built-in."""

    def deco(c):
        key = (_norm_domain(c.domain), c.op_type)
        if key in REGISTRY and REGISTRY[key] is not c:
            raise ValueError(f"op {c.domain or 'ai.onnx'}::{c.op_type} is already registered by {REGISTRY[key].origin}")
        if origin != "cnnsym" or "origin" not in c.__dict__:
            c.origin = origin
        REGISTRY[key] = c
        return c

    return deco(cls) if cls is not None else deco


def lookup(op_type: str, domain: str = "") -> Optional[type]:
    if not _LOADED:  # (38,000 lookups per 50-file lint: the call and the domain check inlined)
        load_builtin_ops()
    return REGISTRY.get(("" if domain in ("", "ai.onnx") else domain, op_type))


_LOADED = False


def load_builtin_ops():
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib
    import pkgutil

    for m in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{m.name}")
    plugins.load_plugins()


plugins.track("ops", REGISTRY, lambda k: f"{k[0] or 'ai.onnx'}::{k[1]}", load_builtin_ops)


def numel(shape) -> Expr:
    """``sp.Mul(*shape)``, the same object, built fast (``symbolic.dims_product``)."""
    return dims_product(shape) if shape else sp.Integer(1)


def same_rf(rank: int, source: int = 0, offset: int = 0):
    """Output axis i takes the field of input ``source`` axis i - offset (alignment)."""
    return tuple(((source, i - offset, None),) if i - offset >= 0 else None for i in range(rank))


def attr_ints(v, n: int, default: int) -> tuple:
    return tuple(as_expr(x) for x in v) if v else tuple(as_expr(default) for _ in range(n))


# --------------------------------------------------------------------------- inference cache
# the same layer (attributes, input shapes) recurs across a network: infer it once
_AS_IS = frozenset({int, str, float, bool, bytes, tuple, type(None)})  # _freeze(x) is x


def _freeze(x):
    t = type(x)
    if t in _AS_IS:  # the common attribute values, without the checks below (issue 12)
        return x
    if t is dict:  # keys are distinct: sorting the items compares keys only, as below
        return tuple((k, v if type(v) in _AS_IS else _freeze(v)) for k, v in sorted(x.items()))
    if t is list:
        return tuple(v if type(v) in _AS_IS else _freeze(v) for v in x)
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if hasattr(x, "__dataclass_fields__"):
        return (type(x).__name__, tuple(_freeze(getattr(x, f)) for f in x.__dataclass_fields__))
    return x


_CACHE: dict = {}
_MISS = object()


def infer_node(cls, node, opset, inputs):
    try:
        reads = cls.reads_values
        # which outputs the node has matters too (Split into len(outputs) parts, MaxPool's
        # Indices choosing onnxruntime's kernel)
        key = (cls, opset, _freeze(node.attrs), tuple(bool(o) for o in node.outputs),
               tuple(None if v is None else (v.shape, v.dtype, v.value if reads else None) for v in inputs))
        # one lookup: a tuple's hash is not remembered, and hashing the key walks every dim
        # (sympy's Integer.__hash__ is Python code): hash + in + [] hashed it three times
        res = _CACHE.get(key, _MISS)
    except TypeError:  # an unhashable attribute or value: not remembered
        key, res = None, _MISS
    if res is not _MISS:
        return res
    op = cls(node.attrs, opset, node)
    res = op.infer(inputs)
    if key is not None:
        if len(_CACHE) > 200_000:
            _CACHE.clear()
        _CACHE[key] = res
    return res
