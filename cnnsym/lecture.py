"""The lecture's views of a whole model, read from its Report (issue 11 items 2-4):

- **operators**: each convolution as the sparse linear operator it is, per sample: the dense
  matrix ``(C_out H_out W_out) x (C_in H W)``, its nonzeros (``outputs x C_in/g x k_h x k_w``,
  fewer at zero-padded borders, counted exactly by a closed form per axis), density,
  parameter-sharing factor (nonzeros / weights), all as formulas in the input size; and where
  translation equivariance holds (stride 1) or striding breaks it to multiples of the jump;
- **split**: the feature extractor and the classifier, cut at the flatten or global pool
  before the fully connected head, with the parameters, MACs, FLOPs and activation memory of
  each part ("VGG-11's classifier holds 93% of its parameters and under 2% of its MACs");
- **batchnorms**: per BatchNorm its trainable (2C) and buffer (2C, + the counter a PyTorch
  module holds) counts, its FLOPs in training (batch statistics) and at inference, and
  whether exporters fold it into the conv before it (and why not, when they keep it).

Nonzeros along one axis (extent H, kernel k, stride S, dilation d, begin pad P_b, H_out
outputs): output ``o`` reads input ``o*S - P_b + j*d`` with tap ``j``; the pairs (o, j) whose
input lies in ``0..H-1`` are, with ``c_j = P_b - j*d + min(0, P_e - d*(k-1-j))``,

    T = sum_{j=0..k-1} max(0, floor((H - 1 + c_j)/S) + 1 - max(0, ceil((P_b - j*d)/S)))

(tap j's first output is the first whose input is past the begin padding, its last the
last output or the last before the end padding, whichever comes first); the axes are independent, so nonzeros = C_out x C_in/g x T_h x T_w. Distinct
taps of one output never reach the same input, so each pair is one matrix entry."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import sympy as sp

from .fold import is_constant, verdict
from .symbolic import to_str

__all__ = ["Operator", "Part", "Split", "BatchNorm", "Lecture", "operators", "split", "batchnorms",
           "taps_inside", "operator_of", "lecture", "TRAIN_FLOPS_PER_ELEMENT", "TRAIN_FLOPS_PER_CHANNEL"]

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# a BatchNorm's forward pass in training, per element: the mean's sum (1); x - mean (1),
# its square (1) and the variance's sum (1); times 1/sqrt(var + eps) (1); gamma, beta (2)
TRAIN_FLOPS_PER_ELEMENT = 7
# per channel: mean and variance divided by the count (2), + eps (1), sqrt (1), reciprocal
# (1), the running mean and variance updated as (1 - m) r + m x (2 x 2)
TRAIN_FLOPS_PER_CHANNEL = 9
HEAD_OPS = ("Gemm", "MatMul")
BOUNDARY_OPS = ("Flatten", "Reshape", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean",
                "ReduceMax", "Squeeze")
SPATIAL_OPS = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "DeformConv")


def _val(report, e):
    if e is None or report.bindings is None:
        return None
    v = report.evaluate(e)
    if isinstance(v, sp.Basic) and not v.is_number:
        return None
    return int(v) if v == int(v) else float(v)


def _text(e) -> str:
    return to_str(sp.sympify(e))


def _shape(report, name):
    t = report.tensors.get(name) if name else None
    return None if t is None or t.shape is None else tuple(t.shape)


def _pct(a, b):
    return None if a is None or not b else 100.0 * a / b


# --------------------------------------------------------------------------- operators
def taps_inside(X, k, s, d, pb, pe):
    """(output position, kernel tap) pairs along one axis whose input index lies inside
    ``0..X-1``: the closed form of the module doc, exact for every valid extent X (sympy).

    Tap j is read by outputs o from ``lo_j = max(0, ceil((P_b - j d)/S))`` to
    ``hi_j = floor((X - 1 + P_b - j d + min(0, P_e - d(k-1-j)))/S)`` (the last output, or the
    last whose input is inside, whichever comes first); ``max(0, ...)`` is kept only where the
    count can reach zero at a valid X (one with an output: X >= d(k-1) + 1 - P_b - P_e)."""
    X, s, d, pb, pe = (sp.sympify(v) for v in (X, s, d, pb, pe))
    k = int(k)
    x_min = sp.Max(1, d * (k - 1) + 1 - pb - pe)
    total = sp.Integer(0)
    for j in range(k):
        lo = sp.Max(0, sp.ceiling((pb - j * d) / s))
        term = sp.floor((X - 1 + pb - j * d + sp.Min(0, pe - d * (k - 1 - j))) / s) + 1 - lo
        low = term.subs(X, x_min) if x_min.is_number else None
        total += term if low is not None and low.is_number and low >= 0 else sp.Max(0, term)
    return total


@dataclass(frozen=True)
class Operator:
    node: str
    shape: str  # C_out, C_in/g, k... as text
    rows: object  # sympy: C_out x prod(outputs)
    cols: object  # C_in x prod(input extents)
    weights: object  # C_out x C_in/g x prod(k)
    nonzeros_unpadded: object  # rows x C_in/g x prod(k): every tap counted
    nonzeros: object  # exact: the taps on padding left out
    taps: tuple  # per axis: the closed form T, in the model's input symbols
    local: tuple  # per axis: (T in the layer's own input extent, that extent's symbol, its formula)
    strides: tuple
    jump: tuple  # the output's jump in input pixels, per axis (None unknown)
    values: dict = field(default_factory=dict)  # at the report's bindings

    @property
    def entries(self):
        return self.rows * self.cols

    def equivariance(self) -> str:
        if all(s == 1 for s in self.strides):
            own = "stride 1: translation equivariant (an input shift by t shifts the output by t, away from the borders)"
        else:
            own = (f"stride {'x'.join(map(str, self.strides))}: equivariant only to shifts by multiples of the stride; "
                   "others change the output, not just move it")
        J = [j for j in self.jump if j is not None]
        if J and any(j != 1 for j in J):
            own += (f"; from the model's input, shifts by multiples of the jump {'x'.join(_text(j) for j in J)} "
                    "(the product of the strides so far)")
        return own

    def to_dict(self) -> dict:
        return {"node": self.node, "shape": self.shape, "rows": _text(self.rows), "cols": _text(self.cols),
                "entries": _text(self.entries), "weights": _text(self.weights),
                "nonzeros_unpadded": _text(self.nonzeros_unpadded), "nonzeros": _text(self.nonzeros),
                "taps": [_text(t) for t in self.taps],
                "taps_local": [{"extent": str(X), "is": _text(e), "taps": _text(T)} for T, X, e in self.local],
                "strides": list(self.strides),
                "jump": [None if j is None else _text(j) for j in self.jump],
                "equivariance": self.equivariance(), "values": dict(self.values)}


def operators(report) -> tuple:
    """Every Conv node of ``report`` as a linear operator (:class:`Operator`)."""
    return tuple(o for o in (operator_of(report, r) for r in report.nodes if r.node.op_type == "Conv")
                 if o is not None)


def operator_of(report, r):
    """The :class:`Operator` of Conv NodeResult ``r`` (None when its shapes are unknown)."""
    node = r.node
    if node.op_type != "Conv" or len(node.inputs) < 2:
        return None
    x, y = _shape(report, node.inputs[0]), _shape(report, node.outputs[0])
    init = report.initializers.get(node.inputs[1])
    w = tuple(init.shape) if init is not None else _shape(report, node.inputs[1])
    if x is None or y is None or w is None or len(y) < 3 or len(r.windows) != len(y) - 2:
        return None
    if any(win.kernel is None for win in r.windows):
        return None
    C_out, C_in_g = w[0], w[1]
    ks = [win.kernel for win in r.windows]
    names = AXES.get(len(ks), tuple(f"x{i}" for i in range(len(ks))))
    local = []
    for i, win in enumerate(r.windows):
        X = sp.Symbol(f"{names[i]}_in", integer=True, positive=True)
        pads = win.pads if win.pads else (0, 0)
        T = taps_inside(X, win.kernel, win.stride, win.dilation if win.dilation is not None else 1, pads[0],
                        pads[0] if pads[1] is None else pads[1])
        local.append((T, X, x[2 + i]))
    taps = tuple(T.xreplace({X: e}) for T, X, e in local)
    rows, cols = sp.Mul(C_out, *y[2:]), sp.Mul(x[1], *x[2:])
    rf = [f for f in (report.tensors[node.outputs[0]].rf or ()) if f is not None][-len(ks):]
    jump = tuple(f.stride for f in rf) if len(rf) == len(ks) else (None,) * len(ks)
    strides = tuple(int(win.stride) if sp.sympify(win.stride).is_Integer else win.stride for win in r.windows)
    op = Operator(node.name, "x".join(_text(d) for d in w), rows, cols, sp.Mul(C_out, C_in_g, *ks),
                  rows * C_in_g * sp.Mul(*ks), sp.Mul(C_out, C_in_g, *taps), taps, tuple(local), strides, jump)
    vals = {k: _val(report, getattr(op, k)) for k in ("rows", "cols", "entries", "weights", "nonzeros_unpadded",
                                                       "nonzeros")}
    vals["taps"] = [_val(report, t) for t in taps]
    if vals["nonzeros"] is not None and vals["entries"]:
        vals["density"] = vals["nonzeros"] / vals["entries"]
        vals["sharing"] = vals["nonzeros"] / vals["weights"] if vals["weights"] else None
    return Operator(**{**op.__dict__, "values": vals})


# --------------------------------------------------------------------------- split
@dataclass(frozen=True)
class Part:
    name: str  # "feature extractor" | "classifier"
    first: str
    last: str
    nodes: int
    params: object
    macs: object
    flops: object
    activation_bytes: object
    values: dict = field(default_factory=dict)
    shares: dict = field(default_factory=dict)  # percent of the model's total

    def to_dict(self) -> dict:
        return {"name": self.name, "first": self.first, "last": self.last, "nodes": self.nodes,
                **{k: _text(getattr(self, k)) for k in ("params", "macs", "flops", "activation_bytes")},
                "values": dict(self.values), "shares": dict(self.shares)}


@dataclass(frozen=True)
class Split:
    boundary: str  # the node that ends the feature extractor ("" when there is no head)
    reason: str
    parts: tuple = ()

    def to_dict(self) -> dict:
        return {"boundary": self.boundary, "reason": self.reason, "parts": [p.to_dict() for p in self.parts]}


def _part(report, name, rs, totals):
    keys = {"params": sp.Add(*[r.params for r in rs]), "macs": sp.Add(*[r.macs for r in rs]),
            "flops": sp.Add(*[r.flops for r in rs]),
            "activation_bytes": sp.Add(*[report.tensors[o].bytes for r in rs for o in r.node.outputs
                                         if o in report.tensors and report.tensors[o].bytes is not None])}
    vals = {k: _val(report, e) for k, e in keys.items()}
    shares = {k: _pct(vals[k], totals.get(k)) for k in keys}
    return Part(name, rs[0].node.name, rs[-1].node.name, len(rs), *keys.values(), vals, shares)


def split(report) -> Split:
    """The feature extractor / classifier cut: after the last convolution, the first
    flatten or global pool that a fully connected layer (Gemm, MatMul) follows."""
    nodes = list(report.nodes)
    last_conv = max((i for i, r in enumerate(nodes) if r.node.op_type in SPATIAL_OPS), default=None)
    if last_conv is None:
        return Split("", "no convolution: there is no feature extractor to split off")
    cut = next((i for i in range(last_conv + 1, len(nodes)) if nodes[i].node.op_type in BOUNDARY_OPS), None)
    head = [r for r in nodes[(cut if cut is not None else last_conv) + 1:] if r.node.op_type in HEAD_OPS]
    if cut is None or not head:
        tail = ", ".join(dict.fromkeys(r.node.op_type for r in nodes[last_conv + 1:]))
        after = f"is followed by {tail} only" if tail else "ends the model"
        return Split("", f"no fully connected head: the last convolution ({nodes[last_conv].node.name}) {after} "
                         "(a fully convolutional model, or a conv classifier)")
    totals = {"params": report.values.get("params.total"), "macs": report.values.get("macs"),
              "flops": report.values.get("flops"), "activation_bytes": report.values.get("activation_bytes")}
    b = nodes[cut].node
    parts = (_part(report, "feature extractor", nodes[:cut + 1], totals),
             _part(report, "classifier", nodes[cut + 1:], totals))
    return Split(b.name, f"{b.op_type} {b.name} ends the feature extractor; {len(head)} fully connected "
                         f"layer(s) follow", parts)


# --------------------------------------------------------------------------- batchnorms
@dataclass(frozen=True)
class BatchNorm:
    node: str
    channels: object
    trainable: object  # 2C
    buffers: object  # 2C (+ 1: a PyTorch module's num_batches_tracked)
    elements: object  # numel of its output
    train_flops: object  # TRAIN_FLOPS_PER_ELEMENT x elements + TRAIN_FLOPS_PER_CHANNEL x C
    inference_flops: object  # the norm term: 2 per element (scale and shift)
    folded: bool  # exporters fold it into the conv before it
    reason: str
    folded_flops: object = 0  # what folding leaves: a bias add per element when the conv had none
    values: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"node": self.node, **{k: _text(getattr(self, k)) for k in
                ("channels", "trainable", "buffers", "elements", "train_flops", "inference_flops", "folded_flops")},
                "folded": self.folded, "reason": self.reason, "values": dict(self.values)}


def batchnorms(report) -> tuple:
    readers = {}
    for r in report.nodes:
        for i in r.node.inputs:
            if i:
                readers[i] = readers.get(i, 0) + 1
    by_name = {r.node.name: r.node for r in report.nodes}
    producers = {o: r.node for r in report.nodes for o in r.node.outputs if o}
    outs = set(report.outputs)
    rows = []
    for r in report.nodes:
        bn = r.node
        if bn.op_type != "BatchNormalization" or not bn.inputs:
            continue
        x = bn.inputs[0]
        t = report.tensors.get(x)
        prod = by_name.get(t.producer) if t is not None and t.producer else None
        const = len(bn.inputs) >= 5 and all(is_constant(s, report.initializers, producers) for s in bn.inputs[1:5])
        ok, why = verdict(bn, prod, readers.get(x, 0), x in outs, const)
        y = _shape(report, bn.outputs[0])
        C = y[1] if y is not None and len(y) > 1 else None
        n = sp.Mul(*y) if y is not None else None
        train = None if n is None else TRAIN_FLOPS_PER_ELEMENT * n + TRAIN_FLOPS_PER_CHANNEL * C
        gains_bias = ok and (len(prod.inputs) < 3 or not prod.inputs[2])
        rows.append(BatchNorm(bn.name, C, r.trainable, r.buffers, n, train, r.terms.get("norm", 0), ok, why,
                              n if gains_bias and n is not None else 0))
    return tuple(BatchNorm(**{**b.__dict__, "values": {k: _val(report, getattr(b, k)) for k in (
        "channels", "trainable", "buffers", "elements", "train_flops", "inference_flops", "folded_flops")}})
        for b in rows)


# --------------------------------------------------------------------------- the whole view
VIEWS = ("operator", "split", "batchnorm")


@dataclass(frozen=True)
class Lecture:
    model: str
    bindings: dict
    operators: tuple = ()
    split: Split = None
    batchnorms: tuple = ()
    folded_totals: dict = None  # the --fold-bn Report's values, when it was made
    views: tuple = VIEWS

    def to_dict(self) -> dict:
        d = {"model": self.model, "bindings": dict(self.bindings or {})}
        if "operator" in self.views:
            d["operators"] = [o.to_dict() for o in self.operators]
        if "split" in self.views:
            d["split"] = self.split.to_dict() if self.split else None
        if "batchnorm" in self.views:
            d["batchnorms"] = [b.to_dict() for b in self.batchnorms]
            d["folded_totals"] = self.folded_totals
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=str) + "\n"

    def to_text(self) -> str:
        L = [f"{self.model}" + (" at " + ", ".join(f"{k}={v}" for k, v in self.bindings.items()) if self.bindings else "")]
        if "operator" in self.views:
            L += _operator_text(self.operators)
        if "split" in self.views and self.split is not None:
            L += _split_text(self.split)
        if "batchnorm" in self.views:
            L += _bn_text(self.batchnorms, self.folded_totals)
        return "\n".join(L) + "\n"


def lecture(report, *, folded=None, views=VIEWS) -> Lecture:
    """The three views of ``report`` (a Report); ``folded``: the same model's Report with
    ``fold_bn=True``, whose totals the BatchNorm view shows."""
    keep = ("params.total", "params.trainable", "params.buffers", "macs", "flops", "activation_bytes")
    return Lecture(str(report.path), dict(report.bindings or {}),
                   operators(report) if "operator" in views else (),
                   split(report) if "split" in views else None,
                   batchnorms(report) if "batchnorm" in views else (),
                   {k: folded.values.get(k) for k in keep} if folded is not None else None, tuple(views))


# --------------------------------------------------------------------------- text
def _n(v, digits=None) -> str:
    if v is None:
        return "?"
    if isinstance(v, float) and digits is not None:
        return f"{v:.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _operator_text(ops) -> list:
    L = ["", "Convolution as a linear operator (one sample: output = M x input, both flattened)"]
    if not ops:
        return L + ["  no Conv layer"]
    for o in ops:
        v = o.values
        ax = AXES.get(len(o.taps), tuple(f"x{i}" for i in range(len(o.taps))))
        outs = " ".join(f"{a}_out" for a in ax)
        L += ["", f"  {o.node} (weight {o.shape})",
              f"    dense matrix  (C_out {outs}) x (C_in {' '.join(ax)}) = ({_text(o.rows)}) x ({_text(o.cols)})"
              f" = {_n(v.get('rows'))} x {_n(v.get('cols'))}",
              f"    nonzeros      outputs x C_in/g x {' x '.join('k_' + a.lower() for a in ax)} = "
              f"{_text(o.nonzeros_unpadded)} = {_n(v.get('nonzeros_unpadded'))} if no tap read padding;",
              f"                  exactly C_out x C_in/g x {' x '.join('T_' + a for a in ax)} = {_n(v.get('nonzeros'))}"]
        for a, t, (T, X, e) in zip(ax, o.taps, o.local):
            same = sp.sympify(e).is_number or sp.sympify(e) == sp.Symbol(a, integer=True, positive=True)
            L.append(f"                  T_{a} = {_text(t)}" if same or not sp.sympify(e).free_symbols else
                     f"                  T_{a} = {_text(T)}, with {X} = {_text(e)} (this layer's input extent)")
        if v.get("density") is not None:
            L.append(f"    density       nonzeros / entries = {v['density']:.4%}")
        if v.get("sharing") is not None:
            L.append(f"    sharing       nonzeros / weights = {v['sharing']:.1f} (uses of each weight per sample)")
        L.append(f"    {o.equivariance()}")
    return L


def _split_text(sp_) -> list:
    L = ["", "Feature extractor and classifier"]
    if not sp_.parts:
        return L + [f"  {sp_.reason}"]
    L.append(f"  {sp_.reason}")
    L.append(f"  {'part':<18} {'nodes':>5}  {'params':>22}  {'MACs':>24}  {'activation bytes':>22}")
    for p in sp_.parts:
        cells = [f"{_n(p.values.get(k))} ({_n(p.shares.get(k), 1)}%)" for k in ("params", "macs", "activation_bytes")]
        L.append(f"  {p.name:<18} {p.nodes:>5}  {cells[0]:>22}  {cells[1]:>24}  {cells[2]:>22}")
    head = sp_.parts[1]
    if head.shares.get("params") is not None and head.shares.get("macs") is not None:
        L.append(f"  the classifier holds {head.shares['params']:.1f}% of the parameters and "
                 f"{head.shares['macs']:.2f}% of the MACs")
    for p in sp_.parts:
        L.append(f"  {p.name} MACs = {_text(p.macs)}")
    return L


def _bn_text(bns, folded_totals) -> list:
    L = ["", "Batch normalisation, train and test"]
    if not bns:
        return L + ["  no BatchNormalization"]
    for b in bns:
        v = b.values
        L += [f"  {b.node}: C = {_n(v.get('channels'))}; trainable 2C = {_n(v.get('trainable'))}; "
              f"buffers {'2C + 1 (the counter)' if v.get('buffers') == 2 * (v.get('channels') or 0) + 1 else '2C'}"
              f" = {_n(v.get('buffers'))}",
              f"    training FLOPs  {TRAIN_FLOPS_PER_ELEMENT} x elements + {TRAIN_FLOPS_PER_CHANNEL} x C = "
              f"{_n(v.get('train_flops'))} (batch mean and variance, normalise, scale and shift)",
              f"    inference FLOPs 2 x elements = {_n(v.get('inference_flops'))}"
              + (f"; folded: {_n(v.get('folded_flops'))}" + (" (the conv gains a bias add)" if v.get("folded_flops")
                                                              else "") if b.folded else ""),
              f"    {'folded' if b.folded else 'kept'}: {b.reason}"]
    n = sum(b.folded for b in bns)
    L.append(f"  exporters fold {n} of {len(bns)}")
    if folded_totals:
        L.append("  after folding (--fold-bn): " + ", ".join(f"{k} {_n(v)}" for k, v in folded_totals.items()))
    return L
