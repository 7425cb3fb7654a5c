"""Measured receptive fields (the ``receptive_field`` checks of ``cnnsym verify``).

A linearised copy of the graph (see :func:`linearize`) is cut at the probed tensors (all of
them outputs of one model, so one InferenceSession serves every probe); its response at a
unit is non-zero exactly when a masked input reaches the unit's field. Per probe and
spatial axis three searches run: the first input row the probed unit sees (prefix masks,
rows 0..m), the last (suffix masks, rows m..end) and the first row of a unit further on
(the jump). Masks ride the batch axis: each onnxruntime run carries the masks of every
pending search (a k-ary search, G points per search and round), so a field is measured in
about log_(G+1)(extent) runs instead of 4 log2(extent). An all-zero mask rides along in the
first run: if it responds, the graph mixes batch entries and the masks run one at a time.

Fields larger than the image, or reaching into padding, are clipped by the image: the
measurement is compared with the formula's field clipped to rows 0..extent-1 (said in the
check) when the sizes are static; with free sizes the measured axis is made large enough
for the field to fit.
"""
from __future__ import annotations

import math

import numpy as np

from dataclasses import dataclass

from ..domain import violated
from . import proto as pb

NP_TYPES = pb.NP_TYPES
LINEAR_IDENTITY = {"Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Erf",
                   "Gelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "Dropout", "ThresholdedRelu",
                   "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
                   "LpNormalization", "LRN", "MeanVarianceNormalization", "Shrink", "Abs", "Neg"}
# two activations combined: the union of their supports is what a field is (a gate x*g
# depends on every pixel g sees); Add keeps the union, Mul/Min keep the intersection and
# Sub/Div can cancel
UNION = {"Mul": "Add", "Div": "Add", "Sub": "Add", "Min": "Max"}
UPSAMPLING = ("Resize", "Upsample", "ConvTranspose", "DepthToSpace")
MASKS = "cnnsym_masks"


@dataclass
class Check:
    what: str
    where: str
    expected: str
    got: str
    ok: bool
    binding: str = ""


# integer ops -> (float op, the inputs it reads); QLinearConcat reads inputs 2, 5, 8, ...
QUANT_FLOAT = {"QLinearConv": ("Conv", (0, 3, 8)), "ConvInteger": ("Conv", (0, 1)), "QLinearMatMul": ("MatMul", (0, 3)),
               "MatMulInteger": ("MatMul", (0, 1)), "QGemm": ("Gemm", (0, 3, 6)), "QLinearAdd": ("Add", (0, 3)),
               "QLinearMul": ("Mul", (0, 3)), "QLinearGlobalAveragePool": ("GlobalAveragePool", (0,)),
               "QLinearAveragePool": ("AveragePool", (0,)), "QLinearSigmoid": ("Sigmoid", (0,)),
               "QLinearLeakyRelu": ("LeakyRelu", (0,)), "QLinearConcat": ("Concat", None)}


def _strip_qdq(g):
    """A quantized graph as its float graph: QuantizeLinear/DequantizeLinear between
    activations become Identity (quantization would round a field's faint edge to 0), a
    dequantized initializer becomes a float initializer of its shape, and QOperator ops
    their float op on the same operands (integer weights are replaced below like any other)."""
    inits = {t.name: t for t in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type in QUANT_FLOAT and n.domain in ("", "ai.onnx", "com.microsoft"):
            attrs = [a for a in n.attribute if a.name != "channels_last"]
            if not any(a.name == "channels_last" and a.i for a in n.attribute):
                op, idx = QUANT_FLOAT[n.op_type]
                ins = [n.input[i] if i < len(n.input) else "" for i in (idx or range(2, len(n.input), 3))]
                while ins and not ins[-1]:
                    ins.pop()
                nodes.append(pb.node(op, ins, [n.output[0]], n.name, attrs))
                continue
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.domain in ("", "ai.onnx", "com.microsoft"):
            src = inits.get(n.input[0])
            if n.op_type == "DequantizeLinear" and src is not None:
                g.initializer.append(pb.zeros(n.output[0], src.dims, 1))
                continue
            nodes.append(pb.node("Identity", [n.input[0]], [n.output[0]], n.name))
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)


def linearize(model, probes):
    """The graph up to ``probes``, linearised with positive weights (see docs/verify.md);
    the input's batch axis is free (``cnnsym_masks``) so masks can ride it."""
    m = pb.copy(model)
    g = m.graph
    _strip_qdq(g)
    producers = {o: n for n in g.node for o in n.output}
    need, stack = set(), list(probes)
    while stack:
        t = stack.pop()
        n = producers.get(t)
        if n is None or id(n) in need:
            continue
        need.add(id(n))
        stack.extend(i for i in n.input if i)
    keep = [n for n in g.node if id(n) in need]
    inits = {t.name for t in g.initializer}
    live = {i.name for i in g.input if i.name not in inits}
    for n in keep:
        if any(i in live for i in n.input):
            live.update(o for o in n.output if o)
    weights = {}
    new_nodes = []
    for n in keep:
        if n.op_type in LINEAR_IDENTITY:
            # Sign, not Identity: it keeps the support (which is all a field is) and resets the
            # magnitude to 1, so chains of 1/fan_in averages cannot underflow float32 to 0
            new_nodes.append(pb.node("Sign", [n.input[0]], [n.output[0]], n.name))
            continue
        if n.op_type in UNION and sum(i in live for i in n.input) >= 2:
            new_nodes.append(pb.node(UNION[n.op_type], list(n.input), list(n.output), n.name))
            continue
        if n.op_type == "MaxPool":
            dil = [a for a in n.attribute if a.name == "dilations"]
            # AveragePool takes dilations only from opset 19: dropped where all 1
            drop = {"storage_order"} | ({"dilations"} if all(d == 1 for a in dil for d in a.ints) else set())
            new_nodes.append(pb.node("AveragePool", [n.input[0]], [n.output[0]], n.name,
                                     [a for a in n.attribute if a.name not in drop]))
            continue
        if n.op_type == "GlobalMaxPool":
            new_nodes.append(pb.node("GlobalAveragePool", [n.input[0]], [n.output[0]], n.name))
            continue
        if n.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            for idx, i in enumerate(n.input):
                if idx >= 1 and i:
                    weights[i] = (n.op_type, idx)
        new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)
    # biases added outside the layer (Linear on 3-D+ inputs exports as MatMul then Add): a
    # float vector used only by Add/Sub is set to 0 too, or every unit would respond
    uses = {}
    for n in new_nodes:
        for i in n.input:
            uses.setdefault(i, set()).add(n.op_type)
    out_inits = []
    for t in g.initializer:
        if t.name not in weights and t.data_type in pb.FLOAT_TYPES and math.prod(t.dims) > 1 \
                and uses.get(t.name) and uses[t.name] <= {"Add", "Sub"}:
            out_inits.append(pb.zeros(t.name, t.dims, t.data_type))
            continue
        if t.name in weights:
            op, idx = weights[t.name]
            shape = tuple(t.dims)
            if idx == 2 and op != "MatMul":
                arr = np.zeros(shape, np.float32)
            else:
                fan_in = max(1, math.prod(shape[1:]) if op in ("Conv",) else (shape[0] if op == "ConvTranspose" else 1))
                arr = np.full(shape, 1.0 / fan_in, np.float32)
            out_inits.append(pb.tensor(t.name, arr))
        else:
            out_inits.append(t)
    del g.initializer[:]
    g.initializer.extend(out_inits)
    for gi in g.input:
        if gi.name not in inits and gi.type.tensor_type.shape.dim:
            d0 = gi.type.tensor_type.shape.dim[0]
            d0.Clear()
            d0.dim_param = MASKS
    del g.output[:]
    for p in probes:
        g.output.append(pb.value_info(p))
    del g.value_info[:]
    return m


def probes(report, limit=3):
    """Tensors whose field has an input-independent size: the deepest ones first."""
    cands = []
    resized = set()  # downstream of upsampling: the field's position varies per unit
    for r in report.nodes:
        src = report.tensors.get(r.node.inputs[0]) if r.node.inputs else None
        spread = src is not None and src.shape is not None and all(d == 1 for d in src.shape[2:])
        if (r.node.op_type in UPSAMPLING and not spread) or any(i in resized for i in r.node.inputs if i):
            resized.update(o for o in r.node.outputs if o)
        for o in r.node.outputs:
            t = report.tensors.get(o)
            if t is None or t.rf is None or o in resized:
                continue
            fields = list(t.rf[2:])  # measured on axes 2.. (NCHW); skip channels-last tensors
            if not fields or any(f is None for f in fields) or any(f is not None for f in t.rf[:2]):
                continue
            if any(not f.size.is_number or not f.stride.is_number for f in fields):
                continue
            cands.append(o)
    if not cands:
        return []
    picks = [cands[-1]]
    step = max(1, len(cands) // limit)
    for i in range(len(cands) - 1 - step, -1, -step):
        if len(picks) >= limit:
            break
        picks.append(cands[i])
    return picks


def field_binding(report, base, spatial, ax, size):
    """A valid binding with the measured axis >= size (the next valid size: some models only
    take multiples of 4 or 32) and the other spatial axes as small as valid (masks cover
    whole rows, so a narrow input measures the same rows, much faster)."""
    if not spatial:
        return dict(base)
    small = report.smallest_input or {}
    for extent in range(size, size + 512):
        for other in (None, 1, 2, 4, 8, 16, 32, 64, 128, extent):
            b = dict(base)
            for j, sym in enumerate(spatial):
                b[sym] = extent if j == ax else (small.get(sym, 1) if other is None else other)
            if not violated(report, b):
                return b
    return None


class Search:
    """One k-ary search: the first row of ``unit`` (prefix masks) or its last (suffix)."""

    def __init__(self, probe, ax, unit, kind, extent, expect=None):
        self.probe, self.ax, self.unit, self.kind = probe, ax, unit, kind
        self.lo, self.hi = 0, extent - 1  # the answer lies in lo..hi
        self.expect = expect
        self.dead = False

    def proof_points(self):
        """The two masks that pin the expected answer (responses are monotone in the mask):
        first = a iff rows 0..a respond and rows 0..a-1 do not; last = b iff rows b..end
        respond and rows b+1..end do not."""
        a = self.expect
        if a is None:
            return []
        pts = [a - 1, a] if self.kind == "first" else [a, a + 1]
        return [p for p in pts if self.lo <= p <= self.hi]

    @property
    def done(self):
        return self.dead or self.lo >= self.hi

    def points(self, g):
        """Mask parameters to test: prefix 0..m tests 'first <= m'; suffix m..end tests 'last >= m'."""
        width = self.hi - self.lo
        n = min(g, width)
        if self.kind == "first":
            return [self.lo + (width * (i + 1)) // (n + 1) for i in range(n)]
        return [self.lo + 1 + (width * (i + 1)) // (n + 1) for i in range(n)]

    def update(self, m, responds):
        if self.kind == "first":
            if responds:
                self.hi = min(self.hi, m)
            else:
                self.lo = max(self.lo, m + 1)
        else:
            if responds:
                self.lo = max(self.lo, m)
            else:
                self.hi = min(self.hi, m - 1)


def make_masks(in_shape, masks, dtype):
    """The batch of masks [(kind, axis, m)]: prefix rows 0..m ("first") or suffix rows m..end
    ("last") of spatial axis ``axis`` set to 1 ("zero": nothing)."""
    shape = [len(masks)] + list(in_shape[1:])
    x = np.zeros(shape, dtype)
    for b, (kind, ax, m) in enumerate(masks):
        idx = [b, slice(None)] + [slice(None)] * (len(in_shape) - 2)
        if kind == "zero":
            continue
        idx[2 + ax] = slice(0, m + 1) if kind == "first" else slice(m, None)
        x[tuple(idx)] = 1
    return x
