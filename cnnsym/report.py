"""The Report: everything downstream (renderers, lint, budgets, verify) reads this.

A Report is a frozen value made once by the analysis (:func:`cnnsym.analyze`); nothing
changes it afterwards (a convention total is a new Report, see
:func:`cnnsym.conventions.apply_to_report`). It holds what every consumer needs, so none
of them re-walks the Graph:

- ``tensors``: each graph input and node output (:class:`TensorInfo`: shape formulas,
  dtype, bytes, receptive field, producer, and ``live``, the interval of execution steps
  over which the tensor is held);
- ``nodes``: one :class:`NodeResult` per node in execution order (status, parameters by
  role, MACs and named cost terms, and ``windows``, the sliding windows the op derived:
  kernel, stride, pads, dilation per spatial axis);
- ``initializers``: each weight or constant with its role (trainable, buffer, constant)
  and the node that owns it;
- ``modules``: the module tree (:class:`ModuleInfo`, first-call order), as the model's
  author names it: output shape of each module's first call, own and subtree parameters,
  MACs/FLOPs of everything called inside;
- ``totals`` (formulas), ``values`` (at ``bindings``), ``constraints``, ``valid_ranges``,
  ``smallest_input``, ``warnings``, ``errors``, ``problems``, ``unaccounted``.

``report.at(H=320, W=256)`` evaluates every total elsewhere; ``report.to_json()``,
``to_markdown()``, ``to_html()`` and the notebook display render it through the
registered formats (:mod:`cnnsym.render`).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import field
from functools import cached_property, lru_cache
from typing import Optional

import sympy as sp

from .symbolic import as_expr
from ._dataclass import dataclass

SCHEMA_VERSION = 2  # 2: the modules section and nodes[i].module (docs/json.md)
CONVENTION = "cnnsym"


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: Optional[tuple]  # sympy dims, None if unknown
    dtype: int
    bytes: Optional[sp.Expr]
    rf: Optional[tuple] = None  # per axis: RF or None
    producer: Optional[str] = None
    declared: bool = False  # shape taken from the file (unknown op), not derived
    # (first, last) execution step at which the tensor is held: graph inputs from -1, a
    # node's outputs from its step, to the step of its last reader (graph outputs and
    # tensors nobody reads: to the end, ``Report.steps``)
    live: Optional[tuple] = None
    # computed from initializers and Constant nodes only (a dequantized or cast weight, a
    # folded constant): part of the model, not an activation, so not in activation bytes
    constant: bool = False


@dataclass(frozen=True)
class InitializerInfo:
    """A weight or constant: counted once, in the strongest role any reader gives it."""

    name: str
    shape: tuple
    dtype: int
    numel: int
    role: str  # trainable | buffer | constant
    node: str  # the node it is counted at


@dataclass(frozen=True)
class ModuleInfo:
    """One module of the model, as its author names it (built by :mod:`cnnsym.modules`).

    Source models: exactly torch's ``named_modules()`` (containers, ``nn.Identity``, an
    empty ``nn.Sequential()`` included), ``""`` being the model itself. ONNX files: the
    exporter's scopes (dynamo ``pkg.torch.onnx.name_scopes`` metadata, TorchScript
    ``/layer1/layer1.0/conv1/Conv`` node names); a file without scopes gets one module per
    node (``kind == "node"``) under the root.

    Modules come in first-call order (a parent before its children). ``nodes`` and every
    cost are those of everything called inside the module (its subtree); ``own_*`` are the
    parameters the module holds itself (torch's ``parameters(recurse=False)``), the plain
    ``trainable``/``buffers``/``constants`` those of its subtree. ``calls == 0``: never
    called by ``forward`` (then ``outputs`` is empty and ``shape`` None).
    """

    path: str  # "layer2.0.downsample.0"; "" is the root (the model itself)
    type: str  # class name ("Conv2d", "Sequential", "BasicBlock"); "" when the file does not say
    parent: Optional[str]  # None for the root
    children: tuple  # child paths, first-call order
    depth: int  # 0 for the root, 1 for its children, ...
    nodes: tuple  # names of the nodes called inside it (subtree), execution order
    calls: int = 0  # times forward called it (ONNX: 1 when it has nodes)
    outputs: tuple = ()  # tensor names (keys of Report.tensors) its first call returned
    shape: Optional[tuple] = None  # shape (formulas) of outputs[0]; None when unknown
    bytes: Optional[sp.Expr] = None  # bytes of outputs[0]
    rf: Optional[tuple] = None  # receptive field of outputs[0] (per axis, or None)
    trainable: sp.Expr = sp.Integer(0)  # subtree
    buffers: sp.Expr = sp.Integer(0)
    constants: sp.Expr = sp.Integer(0)
    own_trainable: sp.Expr = sp.Integer(0)  # held by this module itself
    own_buffers: sp.Expr = sp.Integer(0)
    own_constants: sp.Expr = sp.Integer(0)
    macs: sp.Expr = sp.Integer(0)  # subtree
    flops: sp.Expr = sp.Integer(0)  # subtree: 2·macs + every other cost term
    complete: bool = True  # every node inside was counted (else the costs are lower bounds)
    loc: Optional[str] = None  # construction site "file:line:col" (source models)
    call_loc: Optional[str] = None  # first call site in forward (source models)
    kind: str = "module"  # module | node (an ONNX file without scopes: one per node)

    @property
    def name(self) -> str:
        """The last component of the path (the root: its type; a per-node module: the
        node's whole name)."""
        if self.kind == "node":
            return self.path
        return self.path.rsplit(".", 1)[-1] if self.path else (self.type or "model")

    @property
    def params(self):
        """trainable + buffers (torch's ``numel`` over ``parameters()`` and ``buffers()``);
        constants apart."""
        return self.trainable + self.buffers


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
    # the op's sliding windows over output 0's spatial axes (receptive.Window: kernel,
    # stride, pads, dilation, auto_pad, ceil_mode as the op derived them), () when none
    windows: tuple = ()
    # the operand precision its MACs run at (graph.precision: "fp32", "int8", ...), "" when
    # it has no MACs; the element type of its weight as stored (ONNX dtype: a QDQ conv's
    # int8 weight behind its DequantizeLinear), None when it reads no weight initializer
    precision: str = ""
    weight_dtype: Optional[int] = None

    @cached_property
    def flops(self):  # read only once the analysis is complete
        return _flops(self.macs, tuple(self.terms.values()))

    @property
    def params(self):
        return self.trainable + self.buffers + self.constants


@dataclass(frozen=True)
class Constraint:
    rel: object  # sympy relational
    message: str
    node: str
    kind: str = ""  # what it is about (cnnsym.errors.SIZE, ...): lint routes on this, not the message
    axis: object = None  # the axis it concerns, when one


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    # source frontend: code that builds modules/parameters (or forward) it did not follow,
    # 'file:line: why' each: the totals are then lower bounds
    not_followed: list = field(default_factory=list)
    opset: int = 0
    initializers: dict = field(default_factory=dict)  # name -> InitializerInfo
    steps: int = 0  # nodes in execution order (the end of every live interval)
    modules: dict = field(default_factory=dict)  # path -> ModuleInfo, first-call order

    def evaluate(self, expr, bindings=None):
        """An expression's integer value at ``bindings`` (default: the report's)."""
        return evaluate(expr, self.bindings if bindings is None else bindings)

    def at(self, **bindings) -> dict:
        """Every total evaluated at ``bindings`` (other symbols at the report's bindings),
        e.g. ``report.at(H=320, W=256)["macs"]``. The peak of live activations is
        re-derived at those sizes (which tensors peak together may change)."""
        unknown = [k for k in bindings if k not in self.symbols]
        if unknown:
            raise KeyError(f"{', '.join(unknown)}: not a symbol of this model (symbols: {', '.join(self.symbols) or 'none'})")
        b = {**(self.bindings or {}), **bindings}
        out = {k: evaluate(v, b) for k, v in self.totals.items() if k != "peak_activation_bytes"}
        if "peak_activation_bytes" in self.totals:
            out["peak_activation_bytes"] = evaluate(peak_formula(self, b), b)
        return out

    @property
    def complete(self) -> bool:
        """True when every node was counted (no unsupported op, nothing downstream of one,
        no op in error): only then are the totals exact rather than lower bounds."""
        return not self.not_followed and all(r.status == "ok" for r in self.nodes)

    # ---------------------------------------------------------------- rendering
    def render(self, fmt: str = "table", **options) -> str:
        """This report as text in a registered format (``cnnsym.render.FORMATS``)."""
        render = importlib.import_module("cnnsym.render")  # the layer above registers formats
        return render.render(self, fmt, render.RenderOptions(**options) if options else None)

    def to_json(self) -> str:
        return self.render("json")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_html(self) -> str:
        """A self-contained HTML page: the registered ``html`` format when there is one,
        else the text table in a ``<pre>`` block (no script, no network request)."""
        render = importlib.import_module("cnnsym.render")
        if "html" in render.FORMATS:
            return self.render("html")
        return ("<!doctype html><html><head><meta charset='utf-8'><title>cnnsym report</title></head><body>"
                + self._repr_html_() + "</body></html>\n")

    def _repr_html_(self) -> str:  # Jupyter: a fragment (a styled <div>, no <html> wrapper)
        render = importlib.import_module("cnnsym.render")
        if "html" in render.FORMATS:
            return self.render("html", fragment=True)
        from html import escape  # here, not at the top: every command imports this module (start-up)

        return f"<pre>{escape(self.render('table', width=120))}</pre>"

    def __repr__(self) -> str:
        macs = self.totals.get("macs")
        return (f"<Report {self.path!r}: {len(self.nodes)} nodes, symbols {', '.join(self.symbols) or 'none'}, "
                f"macs {macs}{'' if self.complete else ' (incomplete)'}>")



class DeferredDomainReport(Report):
    """A Report whose ``smallest_input`` (and ``valid_ranges``, a :class:`LazyMap`) come from
    the domain scans when first read (``analyze(lazy=True)`` where the bindings hold: lint's
    rules read neither, and the scans were a sixth of its analysis; issue 12). Reads, equality
    with a Report of the same fields, ``dataclasses.replace`` and pickling (as a plain Report)
    behave as the eager Report's: the field holds the scan until then."""

    @property
    def smallest_input(self):
        v = self.__dict__["_smallest_input"]
        if callable(v):  # the scan (cnnsym.domain.Deferred): (smallest_input, valid_ranges)
            v = self.__dict__["_smallest_input"] = v()[0]
        return v

    @smallest_input.setter
    def smallest_input(self, v):  # the dataclass' __init__ sets it (object.__setattr__)
        self.__dict__["_smallest_input"] = v

    def _fields(self) -> dict:
        return {f: getattr(self, f) for f in Report.__dataclass_fields__}

    def __eq__(self, other):
        if isinstance(other, Report):
            return self._fields() == {f: getattr(other, f) for f in Report.__dataclass_fields__}
        return NotImplemented

    __hash__ = Report.__hash__

    def __reduce__(self):
        return _plain_report, (self._fields(),)


def _plain_report(fields: dict) -> Report:
    return Report(**fields)

class LazyMap(Mapping):
    """A Report's mapping computed on its first read (``analyze(lazy=True)``: lint reads the
    totals of few models): ``make()`` gives the dict the eager analysis stores, and this is
    a read-only mapping equal to it (same order, same repr; pickles as the dict)."""

    __slots__ = ("_make", "_d")

    def __init__(self, make):
        self._make, self._d = make, None

    def _built(self) -> dict:
        if self._d is None:
            self._d, self._make = self._make(), None
        return self._d

    def __getitem__(self, key):
        return self._built()[key]

    def __iter__(self):
        return iter(self._built())

    def __len__(self):
        return len(self._built())

    def __contains__(self, key):
        return key in self._built()

    def get(self, key, default=None):
        return self._built().get(key, default)

    def keys(self):
        return self._built().keys()

    def values(self):
        return self._built().values()

    def items(self):
        return self._built().items()

    def __eq__(self, other):
        return self._built() == (other._built() if isinstance(other, LazyMap) else other)

    __hash__ = None

    def __repr__(self):
        return repr(self._built())

    def __reduce__(self):
        return dict, (self._built(),)

    def copy(self) -> dict:
        return dict(self._built())

    def __or__(self, other):
        return self._built() | (other._built() if isinstance(other, LazyMap) else other)

    def __ror__(self, other):
        return other | self._built()


class LazyList(Sequence):
    """A Report's list computed on its first read (``analyze(lazy=True)``: the warnings, some
    of which come from composing receptive fields): equal to the list the eager analysis
    stores, same repr, pickles as the list; ``append``/``extend`` act on that list."""

    __slots__ = ("_make", "_l")

    def __init__(self, make):
        self._make, self._l = make, None

    def _built(self) -> list:
        if self._l is None:
            self._l, self._make = self._make(), None
        return self._l

    def __getitem__(self, i):
        return self._built()[i]

    def __iter__(self):
        return iter(self._built())

    def __len__(self):
        return len(self._built())

    def __contains__(self, x):
        return x in self._built()

    def __eq__(self, other):
        return self._built() == (other._built() if isinstance(other, LazyList) else other)

    __hash__ = None

    def __repr__(self):
        return repr(self._built())

    def __reduce__(self):
        return list, (self._built(),)

    def __add__(self, other):
        return self._built() + list(other)

    def __radd__(self, other):
        return list(other) + self._built()

    def copy(self) -> list:
        return list(self._built())

    def append(self, x):
        self._built().append(x)

    def extend(self, xs):
        self._built().extend(xs)


def peak_formula(report, bindings) -> sp.Expr:
    """The bytes of the live set at the execution step that peaks at ``bindings`` (from the
    tensors' live intervals): a formula, exact at those sizes and a lower bound elsewhere."""
    return sp.Add(*[t.bytes for t in peak_tensors(report, bindings) if t.bytes is not None])


def peak_tensors(report, bindings) -> list:
    """The tensors live together at the first execution step whose live bytes, at
    ``bindings``, are the largest (graph inputs alone before the first step); tensors
    computed from weights only (``TensorInfo.constant``) are not activations."""
    steps = report.steps
    starts, ends = {}, {}
    base, base_set = 0, []
    memo = {}  # bytes expression -> its value at bindings (a tensor's is read at its start and its end)

    def _val(expr, b):
        v = memo.get(expr)
        if v is None:
            v = memo[expr] = _value(expr, b)
        return v

    for t in report.tensors.values():
        if t.live is None or t.constant:
            continue
        lo, hi = t.live
        if lo < 0:
            base_set.append(t)
            base += _val(t.bytes, bindings)
            lo = 0
        elif t.bytes is None:
            continue
        if hi < steps:
            ends.setdefault(hi, []).append(t)
        starts.setdefault(lo, []).append(t)
    # the live set before the first step holds the graph inputs only
    cur = 0
    best, best_step = base, -1
    for step in range(steps):
        for t in starts.get(step, ()):
            cur += _val(t.bytes, bindings)
        if cur > best:
            best, best_step = cur, step
        for t in ends.get(step, ()):
            cur -= _val(t.bytes, bindings)
    if best_step < 0:
        return base_set
    return [t for t in report.tensors.values() if t.live is not None and not t.constant
            and t.live[0] <= best_step <= t.live[1] and (t.bytes is not None or t.live[0] < 0)]


def _value(expr, b):
    if expr is None:
        return 0
    v = evaluate(expr, b)
    return v if isinstance(v, (int, float)) or getattr(v, "is_number", False) else 0


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
