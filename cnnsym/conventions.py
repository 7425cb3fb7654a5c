"""Counting conventions: how other tools count, rebuilt from cnnsym's named cost terms.

A Report keeps ``macs`` and named ``terms`` per node (see :data:`cnnsym.ops.TERMS`); a
*convention* is a choice of which of these count and with what weight, per op type. Presets
are plain data (:data:`PRESETS`): for each op kind, a dict ``quantity -> weight``. The
quantities of one node are

- ``macs``: cnnsym's multiply-accumulates (ConvTranspose on the input side);
- the cost terms ``bias``, ``norm``, ``activation``, ``pooling``, ``elementwise``,
  ``resize``, ``softmax``, ``reduce`` (cnnsym's own per-element weights);
- ``out`` / ``in``: elements of output 0 / input 0;
- ``batch_params``: the node's trainable parameters times its batch (output dim 0)
  (torchinfo counts "other" layers by parameter count per sample);
- ``macs_output_side``: a ConvTranspose's MACs counted over the *output*
  (numel(Y) * Cin/group * prod(k)), what tools that treat it as a Conv count (s^2 too many);
- ``macs_out_cout``: numel(Y) * Cout/group * prod(k) (onnx-tool's ConvTranspose formula).

A preset counts what a tool counts *as the tool intends*. Where a tool is simply wrong
(ConvTranspose on the output side, a layer counted twice, a layer silently skipped) the
preset does not copy it: the deviation is a documented :class:`Bug` with its own rules, and
:func:`evaluate` reports its exact amount separately (``result.bugs``), so
``result.total + sum(result.bugs.values())`` is what the tool itself prints.

Nothing here changes a Report's terms: conventions only re-weight them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .ops import TERMS
from .symbolic import to_str

TERM_NAMES = tuple(TERMS)  # the cost-term registry of cnnsym.ops, in its order
QUANTITIES = ("macs", *TERM_NAMES, "out", "in", "batch_params", "macs_output_side", "macs_out_cout")
QUANTITY_TEXT = {
    "macs": "MACs", "bias": "bias", "norm": "norm", "activation": "act", "pooling": "pool",
    "elementwise": "elementwise", "resize": "resize", "softmax": "softmax", "reduce": "reduce", "quantize": "quantize",
    "out": "out", "in": "in", "batch_params": "N*params", "macs_output_side": "MACs(output side)",
    "macs_out_cout": "numel(Y)*Cout/g*k",
}

CONVS = ("Conv", "ConvTranspose")
LINEAR = ("Gemm", "MatMul")
MMS = CONVS + LINEAR
NORMS_5 = ("InstanceNormalization", "LayerNormalization", "GroupNormalization", "MeanVarianceNormalization")
POOLS = ("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
BINARY = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod")
RESIZES = ("Resize", "Upsample")


@dataclass
class Bug:
    """A documented deviation of a tool from its own convention. ``rules`` as in a preset
    (op kind -> {quantity: weight}); its amount is what the tool adds (or, negative, drops)
    beyond the preset."""

    description: str
    rules: dict = field(default_factory=dict)
    applies: str = ""  # when it applies (e.g. only to nn.Module layers)
    kinds: tuple = ()  # op kinds whose preset count the tool repeats (scale +1) or drops (scale -1)
    scale: int = 0
    on: str = "all"  # "modules": only layers that are nn.Modules; "functions": only function calls


@dataclass
class Preset:
    name: str
    tool: str  # the tool and version the rules were read from
    unit: str  # what the tool calls its number
    summary: str
    default: dict  # rules for op kinds not in ``ops``
    ops: dict = field(default_factory=dict)  # op kind -> {quantity: weight}
    global_mean_is_pool: bool = False  # ReduceMean over all spatial axes, keepdims=1 -> GlobalAveragePool
    rank0_is_zero: bool = False  # outputs of rank 0 count nothing (onnx-tool: volume([]) == 0)
    bugs: dict = field(default_factory=dict)  # name -> Bug
    notes: list = field(default_factory=list)
    aliases: tuple = ()
    source_side: str = "torch"  # "torch": the tool runs on the PyTorch module; "onnx": on the ONNX graph

    def rule(self, kind: str) -> dict:
        if kind in self.ops:
            return self.ops[kind]
        base = kind.split(":")[0]
        if base in self.ops:
            return self.ops[base]
        return self.default


def _ops(*groups) -> dict:
    out = {}
    for names, rule in groups:
        for n in ((names,) if isinstance(names, str) else names):
            out[n] = dict(rule)
    return out


ALL_TERMS = {t: 1 for t in TERM_NAMES}

PRESETS: dict = {}


def _add(p: Preset):
    PRESETS[p.name] = p
    return p


_add(Preset(
    "cnnsym", "cnnsym", "FLOPs",
    "2 x MACs (Conv, ConvTranspose on the input side, Gemm, MatMul) + every named term at cnnsym's "
    "documented per-element weights (bias, norm, activation, pooling, elementwise, resize, softmax, reduce)",
    default={"macs": 2, **ALL_TERMS}, source_side="onnx"))

_add(Preset(
    "torchvision", "torchvision 0.28 model table", "GFLOPS (= MACs)",
    "multiply-accumulates of convolutions (ConvTranspose on the input side) and matmuls only: no bias, "
    "no other layer; what torchvision's model table calls GFLOPS (torch FlopCounterMode / 2)",
    default={}, ops=_ops((MMS, {"macs": 1})), source_side="onnx"))

_add(Preset(
    "fvcore", "fvcore 0.1.5.post20221221 FlopCountAnalysis", "flops (one per MAC)",
    "one per MAC of conv/linear/matmul (no bias); BatchNorm 2 per element (eval, affine), Group/Layer/"
    "InstanceNorm 5, adaptive_avg_pool2d 1 per input element, upsample nearest 1 / bilinear 4 per output; "
    "everything else (ReLU, Add, MaxPool, AvgPool, mean, Softmax, ...) is not counted",
    default={},
    ops=_ops((MMS, {"macs": 1}),
             ("BatchNormalization", {"norm": 1}),
             (("InstanceNormalization", "LayerNormalization", "GroupNormalization"), {"norm": 1}),
             ("GlobalAveragePool", {"in": 1}),
             ("Resize:nearest", {"out": 1}), ("Upsample:nearest", {"out": 1}),
             ("Resize:linear", {"out": 4}), ("Upsample:linear", {"out": 4})),
    global_mean_is_pool=True,
    notes=["aten ops it does not know are listed by fvcore as unsupported and count 0 (aten::add, "
           "aten::max_pool2d, aten::mean, aten::avg_pool2d, aten::hardtanh, ...)",
           "Resize linear counts 4 per output as for bilinear 2-D (fvcore has no trilinear rule)"]))

_PTFLOPS_ACT = ("Relu", "LeakyRelu", "Elu", "PRelu", "Gelu", "Clip")
_add(Preset(
    "ptflops_pytorch", "ptflops 0.7.5, backend='pytorch'", "MACs",
    "module hooks: conv/linear MACs + bias adds (ConvTranspose on the input side), BatchNorm 2 per element "
    "(affine), ReLU/ReLU6/ELU/LeakyReLU/PReLU/GELU 1 per element, every pooling 1 per INPUT element, "
    "Upsample 1 per output, Softmax 1 per element; residual adds and Sigmoid/Tanh/Hardswish are not counted",
    default={},
    ops=_ops((CONVS + ("Gemm",), {"macs": 1, "bias": 1}), ("MatMul", {"macs": 1}),
             ("BatchNormalization", {"norm": 1}), ("GroupNormalization", {"in": 2}),
             (("LayerNormalization", "InstanceNormalization"), {"in": 1}),
             (_PTFLOPS_ACT, {"out": 1}),
             (POOLS, {"in": 1}), (RESIZES, {"out": 1}), ("Softmax", {"in": 1})),
    global_mean_is_pool=True, aliases=("ptflops",),
    bugs={"double_count": Bug(
        "nn.ReLU, nn.ELU, nn.PReLU, nn.GELU and every nn pooling module are counted twice: once by the "
        "module hook and again by the patched torch.nn.functional call inside the module's forward",
        kinds=("Relu", "Elu", "PRelu", "Gelu") + POOLS, scale=1, on="modules",
        applies="only to layers that are nn.Module instances (a direct F.relu / F.adaptive_avg_pool2d "
                "call is counted once)")},
    notes=["LayerNorm counts 1 per element (ptflops tests module.affine, which LayerNorm lacks); "
           "InstanceNorm 1 (torch's default affine=False), GroupNorm 2",
           "ReLU6 is counted by its module hook once (its forward calls F.hardtanh, not patched)",
           "x + y is not counted; torch.add(x, y) would be (1 per element)"]))

_add(Preset(
    "ptflops_aten", "ptflops 0.7.5, backend='aten'", "MACs",
    "aten dispatch: aten.convolution (ConvTranspose on the input side) and aten.mm/matmul/addmm/bmm MACs, "
    "plus the bias adds of convolution and addmm; nothing else",
    default={}, ops=_ops((CONVS + ("Gemm",), {"macs": 1, "bias": 1}), ("MatMul", {"macs": 1}))))

_add(Preset(
    "thop", "thop 0.1.1.post2209072238 profile()", "MACs",
    "module hooks: conv = numel(Y) * Cin/g * prod(k) and linear = in_features * numel(Y), no bias; "
    "BatchNorm 4 per element (2, doubled when affine), LayerNorm 4, InstanceNorm 2; ReLU, ReLU6, "
    "LeakyReLU and MaxPool 0, PReLU 1; AvgPool 1 per output, AdaptiveAvgPool (kernel + 1) per output; "
    "Upsample nearest 1 / bilinear 11 / bicubic 259 per output; Softmax ~3 per element; functional ops 0",
    default={},
    ops=_ops((MMS[:3], {"macs": 1}), ("MatMul", {}),
             ("BatchNormalization", {"norm": 2}), ("LayerNormalization", {"in": 4}),
             ("InstanceNormalization", {"in": 2}),
             ("PRelu", {"in": 1}),
             ("AveragePool", {"out": 1}), ("GlobalAveragePool", {"in": 1, "out": 1}),
             ("Resize:nearest", {"out": 1}), ("Upsample:nearest", {"out": 1}),
             ("Resize:linear", {"out": 11}), ("Upsample:linear", {"out": 11}),
             ("Resize:cubic", {"out": 259}), ("Upsample:cubic", {"out": 259}),
             ("Softmax", {"softmax": 1})),
    global_mean_is_pool=True,
    bugs={"convtranspose_output_side": Bug(
        "ConvTranspose counted like a Conv, over the output: numel(Y) * Cin/g * prod(k), s^2 times the "
        "input-side MACs", {"ConvTranspose": {"macs_output_side": 1, "macs": -1}}),
          "functional_skipped": Bug(
        "layers called as functions (F.adaptive_avg_pool2d, torch.matmul, ...) have no module hook: "
        "silently counted as 0", kinds=("GlobalAveragePool", "AveragePool", "Softmax", "Resize", "Upsample"),
        scale=-1, on="functions",
        applies="only to layers written as function calls in the torch source")},
    notes=["Softmax: thop counts (3 * n - 1) per row of n; the preset counts 3 per element",
           "GroupNorm, Sigmoid, Tanh, Hardswish, MatMul (no module) are not counted"]))

_add(Preset(
    "torchinfo", "torchinfo 1.8.0 summary()", "mult-adds",
    "leaf modules by parameter count: conv = (weight + bias elements) * N * prod(output spatial) "
    "(= MACs + bias), linear = N * (weights + bias), BatchNorm/LayerNorm/GroupNorm/InstanceNorm/PReLU = "
    "N * their parameter count; parameter-free layers (ReLU, pooling, Add, ...) 0",
    default={},
    ops=_ops((("Conv", "ConvTranspose", "Gemm"), {"macs": 1, "bias": 1}), ("MatMul", {}),
             (("BatchNormalization",) + NORMS_5 + ("PRelu",), {"batch_params": 1})),
    bugs={"convtranspose_output_side": Bug(
        "ConvTranspose weight elements are multiplied by the OUTPUT spatial size, s^2 times the input-side "
        "MACs", {"ConvTranspose": {"macs_output_side": 1, "macs": -1}})},
    notes=["Linear on a 3-D input counts N * params, not N * L * params (torchinfo multiplies by dim 0 only)"]))

_ONNX_TOOL_UNARY = {"Relu": 1, "Clip": 2, "LeakyRelu": 2, "PRelu": 2, "Sigmoid": 32, "Tanh": 76, "Exp": 32,
                    "Log": 43, "Sqrt": 24, "Softplus": 76, "Sin": 39, "Cos": 39, "Elu": 35, "Gelu": 34,
                    "HardSigmoid": 4, "HardSwish": 5, "Reciprocal": 4, "Neg": 1, "Abs": 1, "Sign": 1,
                    "Atan": 64, "Ceil": 1, "Floor": 1, "Round": 1, "Not": 1}
_add(Preset(
    "onnx-tool", "onnx-tool 1.0.1 model_profile (on the ONNX graph as exported)", "MACs",
    "Conv/ConvTranspose/Gemm/MatMul MACs + bias adds; per-element costs by op: Relu 1, Clip 2, LeakyRelu/"
    "PRelu 2, Sigmoid 32, Tanh 76 (TANH_MACS 38 x ratio 2), Add/Sub/Mul 1, Div 4; MaxPool/AveragePool the "
    "kernel size per output; GlobalAveragePool 1 per input + 4 per output; ReduceMean 1 per input; "
    "BatchNormalization 31 per element; Softmax 36; Resize nearest 0, linear 4, cubic 8 per output; "
    "rank-0 outputs count 0",
    default={},
    ops=_ops((CONVS + ("Gemm",), {"macs": 1, "bias": 1}), ("MatMul", {"macs": 1}),
             *[(k, {"out": v}) for k, v in _ONNX_TOOL_UNARY.items()],
             (("Add", "Sub", "Mul", "Max", "Min", "Sum", "Mod"), {"elementwise": 1}),
             ("Div", {"elementwise": 4}), ("Pow", {"elementwise": 32}),
             (("MaxPool", "AveragePool"), {"pooling": 1}),
             ("GlobalAveragePool", {"in": 1, "out": 4}),
             (("ReduceMean", "ReduceSum"), {"in": 1}),
             ("BatchNormalization", {"out": 31}), ("InstanceNormalization", {"out": 14}),
             ("LayerNormalization", {"in": 7}), ("LpNormalization", {"out": 33}),
             ("LRN", {"norm": 1, "out": 34}), ("Softmax", {"out": 36}),
             (("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"), {"out": 1}),
             ("Resize:linear", {"out": 4}), ("Resize:cubic", {"out": 8}),
             ("Upsample:linear", {"out": 4}), ("Upsample:cubic", {"out": 8})),
    rank0_is_zero=True, source_side="onnx",
    bugs={"convtranspose_out_cout": Bug(
        "ConvTranspose counted as numel(Y) * Cout/g * prod(k) (the weight's dim 1 times the output), not "
        "the input-side numel(X) * Cout/g * prod(k)", {"ConvTranspose": {"macs_out_cout": 1, "macs": -1}}),
          "pool3d_kernel": Bug(
        "MaxPool/AveragePool multiply only the first two kernel dims: 3-D pools are under-counted",
        {})},
    notes=["Runs on the ONNX graph: BatchNorm folded by the exporter costs nothing, its conv bias 1 per element",
           "LayerNormalization: 7 per element + 29 per normalised row (the row part is not modelled)",
           "Ops onnx-tool has no profile for (Erf, GlobalMaxPool, shape ops, ...) count 0"]))

_add(Preset(
    "calflops", "calflops 0.3 / DeepSpeed flops profiler (patched torch.nn.functional)", "FLOPs",
    "2 x MAC of conv/linear/matmul; conv bias 1 per output (linear bias not counted); F.relu/elu/"
    "leaky_relu/prelu/gelu/silu 1 per element (ReLU6 = F.hardtanh, Sigmoid, Tanh not counted); every "
    "pooling 1 per input element; batch_norm 2 per element, layer/group/instance_norm 5; softmax 1; "
    "interpolate 1 per output; x + y not counted",
    default={},
    ops=_ops((CONVS, {"macs": 2, "bias": 1}), (LINEAR, {"macs": 2}),
             (("Relu", "LeakyRelu", "Elu", "PRelu", "Gelu"), {"out": 1}),
             (POOLS, {"in": 1}),
             ("BatchNormalization", {"norm": 1}), (NORMS_5, {"in": 5}),
             ("Softmax", {"in": 1}), (RESIZES, {"out": 1})),
    global_mean_is_pool=True, aliases=("deepspeed",),
    bugs={"interpolate_size": Bug(
        "F.interpolate with size= counts prod(size) (no batch or channels); with scale_factor= the input "
        "elements (the scaling is computed and discarded)", {})},
    notes=["not checked against a recorded run (none in ground_truth.json): rules read from the source",
           "ConvTranspose bias is counted over the size a forward Conv would produce (a bug in the tool)"]))

ALIASES = {a: p.name for p in PRESETS.values() for a in p.aliases}
ALIASES.update({"onnx_tool": "onnx-tool", "default": "cnnsym"})


def names() -> list:
    return list(PRESETS)


def get(name: str) -> Preset:
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        raise KeyError(f"unknown convention {name!r} (known: {', '.join(choices())})")
    return PRESETS[key]


def choices() -> list:
    return sorted(set(PRESETS) | set(ALIASES))


# --------------------------------------------------------------------------- evaluation
def _numel(shape):
    import sympy as sp

    return sp.Mul(*shape) if shape else sp.Integer(1)


def _shape(report, name):
    t = report.tensors.get(name) if name else None
    return None if t is None else t.shape


def _int_attr(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def is_global_mean(res, report) -> bool:
    """A ReduceMean that is a global average pool: keepdims=1 over exactly the spatial axes
    (what the dynamo exporter writes for adaptive_avg_pool2d(x, 1); x.mean([2, 3]) keeps no dims)."""
    node = res.node
    if node.op_type != "ReduceMean":
        return False
    x = _shape(report, node.inputs[0] if node.inputs else None)
    if x is None or len(x) < 3:
        return False
    if _int_attr(node.attrs.get("keepdims", 1)) != 1:
        return False
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        return False  # axes as an input: not resolved here
    if axes is None:
        return False
    r = len(x)
    return sorted(int(a) % r for a in axes) == list(range(2, r))


def node_kind(res, report, preset: Preset) -> str:
    op = res.node.op_type
    if op in RESIZES:
        mode = res.node.attrs.get("mode", "nearest")
        if isinstance(mode, bytes):
            mode = mode.decode()
        mode = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(str(mode), str(mode))
        return f"{op}:{mode}"
    if preset.global_mean_is_pool and is_global_mean(res, report):
        return "GlobalAveragePool"
    return op


def node_quantities(res, report) -> Optional[dict]:
    """Every quantity a rule may weight, for one node (None if its shapes are unknown)."""
    import sympy as sp

    if res.status != "ok":
        return None
    node = res.node
    q = {"macs": res.macs}
    for t in TERM_NAMES:
        q[t] = res.terms.get(t, sp.Integer(0))
    y = _shape(report, node.outputs[0] if node.outputs else None)
    x = _shape(report, node.inputs[0] if node.inputs else None)
    q["out"] = _numel(y) if y is not None else sp.Integer(0)
    q["in"] = _numel(x) if x is not None else sp.Integer(0)
    q["batch_params"] = (y[0] * res.trainable) if y else sp.Integer(0)
    if node.op_type == "ConvTranspose" and x is not None and y is not None and len(x) == len(y) >= 3:
        q["macs_output_side"] = sp.expand(res.macs * _numel(y[2:]) / _numel(x[2:]))
        q["macs_out_cout"] = sp.expand(res.macs * _numel(y) / _numel(x))
    else:
        q["macs_output_side"] = res.macs
        q["macs_out_cout"] = res.macs
    q["_rank0"] = y is not None and len(y) == 0
    return q


def _apply(rule: dict, q: dict):
    import sympy as sp

    return sp.Add(*[w * q[k] for k, w in rule.items() if w])


@dataclass
class ConventionResult:
    preset: Preset
    total: object  # sympy expression
    by_quantity: dict  # quantity -> expression
    by_kind: dict  # op kind -> expression (what the preset counts for that kind)
    skipped: dict  # op kind -> cnnsym FLOPs (2*macs + terms) of nodes the preset counts as 0
    bugs: dict  # bug name -> expression (the tool's deviation from the preset)
    uncounted: list  # nodes cnnsym could not count (unaccounted / unresolved / error)
    extra_by_kind: dict = field(default_factory=dict)  # op kind -> what it counts besides macs and bias

    def tool_total(self):
        """What the tool itself prints: the preset plus its documented bugs."""
        import sympy as sp

        return self.total + sp.Add(*self.bugs.values())


def evaluate(report, name: str, *, functional_kinds=()) -> ConventionResult:
    """``report``'s costs under preset ``name``: total and breakdowns as sympy expressions.
    ``functional_kinds``: op kinds that were function calls (F.adaptive_avg_pool2d, ...), not
    nn.Modules, in the torch source: bugs of module hooks apply to the others only. Without
    it every layer is taken to be a module."""
    import sympy as sp

    p = get(name)
    total, by_q, by_kind, skipped, extra = [], {}, {}, {}, {}
    bugs = {b: [] for b in p.bugs}
    uncounted = []
    functional_kinds = set(functional_kinds)
    for res in report.nodes:
        q = node_quantities(res, report)
        if q is None:
            uncounted.append(res.node.name)
            continue
        kind = node_kind(res, report, p)
        rule = p.rule(kind)
        if p.rank0_is_zero and q["_rank0"]:
            rule = {}
        val = _apply(rule, q)
        own = 2 * q["macs"] + sp.Add(*[q[t] for t in TERM_NAMES])
        if val != 0:
            total.append(val)
            by_kind.setdefault(kind, []).append(val)
            for k, w in rule.items():
                if w and q[k] != 0:
                    by_q.setdefault(k, []).append(w * q[k])
                    if k not in ("macs", "bias"):
                        extra.setdefault(kind, []).append(w * q[k])
        elif own != 0:
            skipped.setdefault(kind, []).append(own)
        for bname, bug in p.bugs.items():
            fn = kind in functional_kinds or kind.split(":")[0] in functional_kinds
            if (bug.on == "modules" and fn) or (bug.on == "functions" and not fn):
                continue
            if bug.kinds and (kind in bug.kinds or kind.split(":")[0] in bug.kinds):
                bugs[bname].append(bug.scale * val)
            brule = bug.rules.get(kind, bug.rules.get(kind.split(":")[0]))
            if brule:
                bugs[bname].append(_apply(brule, q))
    S = lambda xs: sp.Add(*xs)  # noqa: E731
    return ConventionResult(p, S(total), {k: S(v) for k, v in by_q.items()},
                            {k: S(v) for k, v in by_kind.items()}, {k: S(v) for k, v in skipped.items()},
                            {k: S(v) for k, v in bugs.items() if v and S(v) != 0}, uncounted,
                            {k: S(v) for k, v in extra.items()})


def folded_batchnorm_adjustment(name: str, elements, params=0, batch=1):
    """What preset ``name`` would count differently had the exporter not folded BatchNorm
    into the preceding convolution: + the BN layers (``elements`` output elements,
    ``params`` scale+shift parameters per sample, at ``batch``) - the conv bias adds the folding
    created (one per BN element). Torch-side tools see the unfolded model."""
    import sympy as sp

    p = get(name)
    E = sp.sympify(elements)
    q = {k: sp.Integer(0) for k in QUANTITIES}
    q.update({"norm": 2 * E, "out": E, "in": E, "batch_params": sp.sympify(batch) * sp.sympify(params)})
    bn = _apply(p.rule("BatchNormalization"), q)
    conv_bias = p.rule("Conv").get("bias", 0) * E
    return bn - conv_bias


def apply_to_report(report, name: str):
    """A new Report: ``report`` named with convention ``name``, its total
    ("convention.total") added to the totals and values. The given Report is unchanged
    (Reports are frozen values); its own terms are never rewritten."""
    from dataclasses import replace

    p = get(name)
    if p.name == "cnnsym":
        return replace(report, convention=p.name)
    res = evaluate(report, p.name)
    totals = {**report.totals, "convention.total": res.total}
    values = report.values
    if report.bindings is not None and report.values is not None:
        values = {**report.values, "convention.total": report.evaluate(res.total)}
    return replace(report, convention=p.name, totals=totals, values=values)


# --------------------------------------------------------------------------- comparison
def compare_rows(report, formulas: bool = True) -> list:
    """``report``'s total under every preset, as ``cnnsym compare`` and the HTML page show
    it: one dict per preset with convention, tool, unit, value (int at the report's
    bindings, or None), formula (simplified; None without ``formulas``), explanation (the
    terms it counts or skips), bugs ({name: {value, what, applies}}) and uncounted_nodes."""
    import sympy as sp

    ev = (lambda e: report.evaluate(e)) if report.bindings is not None else (lambda e: None)
    rows = []
    for p in PRESETS.values():
        r = evaluate(report, p.name)
        parts = []
        macs_w = p.rule("Conv").get("macs", 0) or p.rule("Gemm").get("macs", 0)
        m = r.by_quantity.get("macs")
        if m is not None:
            parts.append(f"MACs {_human(ev(m))}" if macs_w in (0, 1) else f"{macs_w} x MACs ({_human(ev(m))})")
        if "bias" in r.by_quantity:
            parts.append(f"bias {_human(ev(r.by_quantity['bias']))}")
        for kind, e in sorted(r.extra_by_kind.items(), key=lambda kv: -(_float(ev(kv[1])))):
            parts.append(f"{kind} {_human(ev(e))}")
        text = " + ".join(parts) if parts else "nothing"
        if r.skipped:
            sk = sorted(r.skipped.items(), key=lambda kv: -(_float(ev(kv[1]))))
            text += "; skips " + ", ".join(f"{k} ({_human(ev(e))})" for k, e in sk)
        if p.name != "cnnsym" and "bias" not in r.by_quantity and any(
                "bias" in (res.terms or {}) for res in report.nodes):
            text += "; no bias adds"
        bugs = {b: ev(e) for b, e in r.bugs.items()}
        rows.append({"convention": p.name, "tool": p.tool, "unit": p.unit, "value": _int(ev(r.total)),
                     "formula": (to_str(sp.simplify(r.total)) if r.total != 0 else "0") if formulas else None,
                     "explanation": text,
                     "bugs": {b: {"value": _int(v), "what": p.bugs[b].description, "applies": p.bugs[b].applies}
                              for b, v in bugs.items()},
                     "uncounted_nodes": len(r.uncounted)})
    return rows


def _human(v) -> str:
    """1820000000 -> '1.82G' (SI, three significant digits), as the renderers print counts."""
    if v is None:
        return "?"
    if not (isinstance(v, int) and not isinstance(v, bool)):
        return to_str(v) if hasattr(v, "free_symbols") else str(v)
    n = float(v)
    if abs(n) < 1000:
        return str(v)
    for unit in ("K", "M", "G", "T", "P"):
        n /= 1000
        if abs(n) < 1000 or unit == "P":
            break
    return f"{n:.0f}{unit}" if abs(n) >= 100 else (f"{n:.1f}{unit}" if abs(n) >= 10 else f"{n:.2f}{unit}")


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def _int(v):
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- text
def rule_text(rule: dict) -> str:
    if not rule:
        return "0"
    parts = []
    for k, w in rule.items():
        if not w:
            continue
        name = QUANTITY_TEXT.get(k, k)
        parts.append(name if w == 1 else (f"-{name}" if w == -1 else f"{w}*{name}"))
    s = " + ".join(parts).replace("+ -", "- ")
    return s or "0"


DOC_KINDS = ["Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "InstanceNormalization",
             "LayerNormalization", "GroupNormalization", "LRN", "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid",
             "Tanh", "HardSwish", "Gelu", "Elu", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
             "ReduceMean", "Add", "Mul", "Div", "Resize:nearest", "Resize:linear", "Resize:cubic", "Softmax"]


def markdown_table() -> str:
    """docs/conventions.md: for each op, what each convention counts."""
    L = ["# Counting conventions", "",
         "Generated by `cnnsym conventions --format markdown` from `cnnsym/conventions.py`; do not edit.", "",
         "Every convention is rebuilt from cnnsym's per-node quantities: `MACs` (Conv, ConvTranspose on the "
         "input side, Gemm, MatMul), the named cost terms, and a few element counts:", ""]
    for t in TERM_NAMES:
        L.append(f"- `{t}`: {TERMS.get(t, '')}")
    L += ["- `out` / `in`: elements of the node's output 0 / input 0",
          "- `N*params`: the node's trainable parameters times the batch",
          "- `MACs(output side)`: a ConvTranspose counted over its output, numel(Y) * Cin/g * prod(k) (s^2 too many)",
          "", "Two caveats for tools that run on the PyTorch module: the ONNX exporters fold BatchNorm into the "
          "preceding conv (see `folded_batchnorm_adjustment`), and a ReduceMean with keepdims=1 over every "
          "spatial axis is taken to be an adaptive average pool (what the dynamo exporter writes for it).", "",
          "## Presets", ""]
    L += ["| convention | tool | unit | counts |", "| --- | --- | --- | --- |"]
    for p in PRESETS.values():
        al = f" (alias {', '.join(p.aliases)})" if p.aliases else ""
        L.append(f"| `{p.name}`{al} | {p.tool} | {p.unit} | {p.summary} |")
    L += ["", "## Per op", "", "A cell gives the count of one node; `0`: not counted.", ""]
    L.append("| op | " + " | ".join(f"`{n}`" for n in PRESETS) + " |")
    L.append("| --- |" + " --- |" * len(PRESETS))
    for kind in DOC_KINDS:
        cells = [rule_text(p.rule(kind)) for p in PRESETS.values()]
        L.append(f"| {kind} | " + " | ".join(cells) + " |")
    L.append("| other ops | " + " | ".join(rule_text(p.default) for p in PRESETS.values()) + " |")
    L += ["", "## Documented tool bugs (not copied into the presets)", ""]
    for p in PRESETS.values():
        for bname, b in p.bugs.items():
            extra = f" Applies {b.applies}." if b.applies else ""
            L.append(f"- `{p.name}` / `{bname}`: {b.description}.{extra}")
    L += ["", "## Notes", ""]
    for p in PRESETS.values():
        for n in p.notes:
            L.append(f"- `{p.name}`: {n}")
    return "\n".join(L) + "\n"
