"""A layer's numbers derived step by step, the way the lecture derives its worked example
(16 kernels of 8x5x5 on 8x32x32, padding 2):

    params  C_out x (C_in/g x k_h x k_w + 1) = 16 x (8 x 5 x 5 + 1) = 16 x 201 = 3,216
    H_out   floor((H + P_b + P_e - d(k-1) - 1)/S) + 1 = floor((32 + 4 - 4 - 1)/1) + 1 = 32

and so on for output values, bytes, MACs per output and in total, FLOPs under a counting
convention, and the receptive field composed from the layer's input field.

Everything is read from the Report; each step's value is the Report's own, and a step whose
hand arithmetic disagrees with it says so."""
from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, fields

import re

import sympy as sp

from . import api, conventions, lecture
from .errors import InputError
from .ops import lookup
from .receptive import RF, Window
from .symbolic import to_str

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
               10: "float16", 11: "float64", 16: "bfloat16"}
POOLS = ("MaxPool", "AveragePool", "LpPool")
GLOBAL_POOLS = ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
LINEAR = ("Gemm", "MatMul")


@dataclass(frozen=True)
class Step:
    label: str
    formula: str  # in words and symbols
    substituted: tuple = ()  # the arithmetic with values substituted, one string per stage
    value: object = None  # int, a fraction as a string, or None (no value at these sizes)
    symbolic: str = ""  # the formula in the input's symbols, when it has any
    note: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "substituted": list(self.substituted)}


@dataclass(frozen=True)
class Explanation:
    model: str
    layer: str  # the node's name
    op_type: str
    module: str  # the module path the node belongs to ("" when none)
    input_shape: str
    output_shape: str
    bindings: dict
    convention: str
    summary: str  # one line: what the op does
    steps: tuple = ()
    notes: tuple = ()

    def step(self, label: str) -> Step:
        for s in self.steps:
            if s.label == label:
                return s
        raise KeyError(label)

    def to_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "bindings": dict(self.bindings),
                "steps": [s.to_dict() for s in self.steps], "notes": list(self.notes)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "Explanation":
        steps = tuple(Step(**{**s, "substituted": tuple(s["substituted"])}) for s in d["steps"])
        return cls(**{**d, "steps": steps, "notes": tuple(d["notes"])})

    def to_text(self) -> str:
        where = f" (module {self.module})" if self.module and self.module != self.layer else ""
        L = [f"{self.model}: {self.layer}{where}: {self.op_type}",
             f"  {self.summary}",
             f"  input {self.input_shape} -> output {self.output_shape}"]
        if self.bindings:
            L.append("  at " + ", ".join(f"{k}={v}" for k, v in self.bindings.items()))
        width = max([len(s.label) for s in self.steps] or [0])
        for s in self.steps:
            L.append("")
            L.append(f"  {s.label.ljust(width)}  {s.formula}")
            pad = " " * (width + 2)
            for sub in s.substituted:
                L.append(f"  {pad}  = {sub}")
            if s.value is not None:
                L.append(f"  {pad}  = {fmt(s.value)}")
            if s.symbolic:
                L.append(f"  {pad}  in the model's input sizes: {s.symbolic}")
            if s.note:
                L.append(f"  {pad}  ({s.note})")
        if self.notes:
            L.append("")
            L += [f"  note: {n}" for n in self.notes]
        return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- helpers
def fmt(v) -> str:
    """A value as the lecture writes it: 3,216."""
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _num(report, e):
    """The value of ``e`` at the report's bindings: int, a fraction string, or None."""
    if e is None or (sp.sympify(e).free_symbols and report.bindings is None):
        return None
    try:
        v = sp.sympify(e).subs({s: report.bindings[s.name] for s in sp.sympify(e).free_symbols
                                if s.name in report.bindings})
        return (int(v) if v.is_integer else str(sp.nsimplify(v))) if not v.free_symbols else None
    except Exception:  # noqa: BLE001 - a value we cannot reach is shown as a formula only
        return None


def _sym(e) -> str:
    """The symbolic form of ``e`` when it has symbols (else "")."""
    e = sp.sympify(e)
    return to_str(e) if e.free_symbols else ""


def _v(report, e) -> str:
    """``e``'s value as text inside substituted arithmetic (a formula if no value)."""
    n = _num(report, e)
    return to_str(e) if n is None else fmt(n)


_x = " x ".join


def _same(a, b) -> bool:
    return a is not None and b is not None and str(a) == str(b)


def _shape(report, name):
    t = report.tensors.get(name) if name else None
    return None if t is None or t.shape is None else tuple(t.shape)


def _shape_text(report, name) -> str:
    s = _shape(report, name)
    return "?" if s is None else "x".join(_v(report, d).replace(",", "") for d in s)


def _weight_shape(report, name):
    init = report.initializers.get(name) if name else None
    return tuple(sp.Integer(d) for d in init.shape) if init is not None else _shape(report, name)


def _module_path(name: str) -> str:
    """``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1``; a plain name is itself."""
    if "/" not in name:
        return name
    comps = [c for c in name.split("/") if c][:-1]
    path = ""
    for c in comps:
        if path and c.startswith(path + "."):
            path = c
        else:
            path = f"{path}.{c}" if path else c
    return path


# --------------------------------------------------------------------------- finding the layer
def find_node(report, layer: str):
    """The NodeResult ``layer`` names: an exact node name, an exact module path, else a
    unique suffix or prefix match; an InputError listing close names otherwise."""
    layer = str(layer).strip()
    nodes = report.nodes
    exact = [r for r in nodes if r.node.name == layer]
    if exact:
        return exact[0]
    for test in (lambda r: _module_path(r.node.name) == layer,
                 lambda r: r.node.name.endswith(("/" + layer, "." + layer))
                 or _module_path(r.node.name).endswith("." + layer),
                 lambda r: r.node.name.startswith(layer) or _module_path(r.node.name).startswith(layer)):
        hits = [r for r in nodes if test(r)]
        if len(hits) > 1:  # a module exported as several nodes: the one holding its parameters
            weighted = [r for r in hits if r.trainable != 0 or r.windows]
            if len(weighted) == 1:
                return weighted[0]
            names = ", ".join(r.node.name for r in hits[:8])
            raise InputError(report.path, f"layer {layer!r} matches {len(hits)} nodes ({names}"
                                          f"{', ...' if len(hits) > 8 else ''}): give the full name")
        if hits:
            return hits[0]
    names = [r.node.name for r in nodes]
    close = difflib.get_close_matches(layer, names + [_module_path(n) for n in names], n=5, cutoff=0.4)
    hint = f"; close names: {', '.join(dict.fromkeys(close))}" if close else \
        f"; layers are: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''}"
    raise InputError(report.path, f"no layer {layer!r}{hint}")


# --------------------------------------------------------------------------- steps
def _params_step(report, res, w, bias, C_in_g_label="C_in/g"):
    """Conv/ConvTranspose/Linear parameters: C_out x (C_in/g x k... + 1)."""
    node = res.node
    if w is None:
        return None
    if node.op_type == "ConvTranspose":
        out = w[1]  # weight is (C_in, C_out/g, k...)
        syms = "C_in x (C_out/g x " + " x ".join(f"k_{a.lower()}" for a in AXES.get(len(w) - 2, ())) + ")"
        per = [_v(report, d) for d in w[1:]]
        words = syms + (" + C_out" if bias else "")
        s1 = f"{_v(report, w[0])} x ({_x(per)})" + (f" + {_v(report, out * node.attrs.get('group', 1))}" if bias else "")
        return Step("params", words, (s1,), _num(report, res.params), _sym(res.params))
    if node.op_type in LINEAR:
        trans = bool(node.attrs.get("transB", 0)) if node.op_type == "Gemm" else False
        n_out, n_in = (w[0], w[1]) if trans else (w[-1], w[-2])
        words = "N_out x (N_in + 1)" if bias else "N_out x N_in"
        inner = f"{_v(report, n_in)} + 1" if bias else _v(report, n_in)
        stages = [f"{_v(report, n_out)} x ({inner})" if bias else f"{_v(report, n_out)} x {inner}"]
        return Step("params", words, tuple(stages), _num(report, res.params), _sym(res.params))
    k = w[2:]
    names = ["C_in/g"] + [f"k_{a.lower()}" for a in AXES.get(len(k), tuple(f"{i}" for i in range(len(k))))]
    inner_words = " x ".join(names)
    words = f"C_out x ({inner_words} + 1)" if bias else f"C_out x {inner_words}"
    inner = _x([_v(report, d) for d in w[1:]])
    per = sp.Mul(*w[1:]) + (1 if bias else 0)
    stages = [f"{_v(report, w[0])} x ({inner} + 1)" if bias else f"{_v(report, w[0])} x {inner}"]
    if bias:
        stages.append(f"{_v(report, w[0])} x {_v(report, per)}")
    return Step("params", words, tuple(stages), _num(report, res.params), _sym(res.params))


def _extent_steps(report, res, x, y):
    """Per spatial axis: floor((H + P_b + P_e - d(k-1) - 1)/S) + 1 (ceil under ceil_mode)."""
    steps = []
    if x is None or y is None or len(y) < 3:
        return steps
    names = AXES.get(len(res.windows), tuple(f"x{i}" for i in range(len(res.windows))))
    transpose = res.node.op_type == "ConvTranspose"
    at = res.node.attrs
    out_pad = list(at.get("output_padding", []) or [])
    wins = res.windows
    if transpose and at.get("kernel_shape"):  # its windows map output to input: rebuild from the attributes
        r = len(at["kernel_shape"])
        pads, st, dl = at.get("pads") or [0] * 2 * r, at.get("strides") or [1] * r, at.get("dilations") or [1] * r
        wins = tuple(Window.of(at["kernel_shape"][i], st[i], pads[i], dl[i], pads[r + i]) for i in range(r))
    for i, (w, a) in enumerate(zip(wins, names)):
        if w.kernel is None:
            continue
        H, Ho = x[2 + i], y[2 + i]
        pb, pe = w.pads if w.pads else (0, 0)
        pe = pb if pe is None else pe
        k, s, d = w.kernel, w.stride, w.dilation if w.dilation is not None else 1
        P = pb + pe
        if transpose:
            op = out_pad[i] if i < len(out_pad) else 0
            words = f"{a}_out = S({a} - 1) + d(k-1) + output_padding + 1 - P_begin - P_end"
            sub = (f"{_v(report, s)} x ({_v(report, H)} - 1) + {_v(report, d * (k - 1))} + {op} + 1 - "
                   f"{_v(report, P)}")
            mine = s * (H - 1) + d * (k - 1) + op + 1 - P
        else:
            rnd = "ceil" if w.ceil_mode else "floor"
            words = f"{a}_out = {rnd}(({a} + P_begin + P_end - d(k-1) - 1)/S) + 1"
            sub = f"{rnd}(({_v(report, H)} + {_v(report, P)} - {_v(report, d * (k - 1))} - 1)/{_v(report, s)}) + 1"
            q = (H + P - d * (k - 1) - 1) / s
            mine = (sp.ceiling(q) if w.ceil_mode else sp.floor(q)) + 1
        got = _num(report, Ho)
        note = f"k={_v(report, k)}, S={_v(report, s)}, d={_v(report, d)}, P_begin={_v(report, pb)}, P_end={_v(report, pe)}"
        if w.auto_pad not in ("NOTSET", "", None):
            note += f", auto_pad={w.auto_pad} (pads as applied)"
        calc = _num(report, mine)
        if calc is not None and got is not None and not _same(calc, got):
            note += f"; the hand arithmetic gives {fmt(calc)}, the report derived {fmt(got)}"
        steps.append(Step(f"{a}_out", words, (sub,), got, _sym(Ho), note))
    return steps


def _values_bytes_steps(report, y_name):
    y = _shape(report, y_name)
    if y is None:
        return []
    t = report.tensors[y_name]
    if len(y) >= 3:
        words = " x ".join(["N", "C_out"] + [f"{a}_out" for a in AXES.get(len(y) - 2, ("...",))])
    elif len(y) == 2:
        words = "N x features"
    else:
        words = " x ".join(f"d{i}" for i in range(len(y))) or "1 (a scalar)"
    numel = sp.Mul(*y)
    steps = [Step("output values", words, (_x([_v(report, d) for d in y]) or "1",), _num(report, numel),
                  _sym(numel))]
    if t.bytes is not None:
        nb = _num(report, t.bytes)
        n = _num(report, numel)
        per = sp.simplify(t.bytes / numel) if numel != 0 else 0
        dt = DTYPE_NAMES.get(t.dtype, f"dtype {t.dtype}")
        sub = (f"{fmt(n) if n is not None else to_str(numel)} x {_v(report, per)}",)
        note = f"{_kib(nb)} at {dt}" if isinstance(nb, int) else f"at {dt}"
        steps.append(Step("output bytes", f"values x bytes per value ({dt}: {_v(report, per)})", sub, nb,
                          _sym(t.bytes), note))
    return steps


def _kib(n: int) -> str:
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            v = n / size
            return f"{v:g} {unit}" if v == int(v) else f"{v:.2f} {unit}"
    return f"{n} B"


def _mac_steps(report, res, per_words, per_parts, per_expr, y_name):
    y = _shape(report, y_name)
    if y is None:
        return []
    numel = sp.Mul(*y)
    steps = [Step("MACs per output", per_words, (_x(per_parts),) if len(per_parts) > 1 else (),
                  _num(report, per_expr))]
    n, p = _num(report, numel), _num(report, per_expr)
    mine = numel * per_expr
    note = ""
    got = _num(report, res.macs)
    if not _same(_num(report, mine), got):
        note = f"the report counts {fmt(got)} MACs (not outputs x MACs per output: see the op's formula)"
    steps.append(Step("MACs", "output values x MACs per output",
                      (f"{fmt(n) if n is not None else to_str(numel)} x {fmt(p) if p is not None else to_str(per_expr)}",),
                      got, _sym(res.macs), note))
    return steps


def _flops_step(report, res, convention: str):
    p = conventions.get(convention)
    q = conventions.node_quantities(res, report)
    if q is None:
        return Step("FLOPs", "not counted: the node's shapes or counts are unknown", (), None,
                    note="unaccounted")
    kind = conventions.node_kind(res, report, p)
    rule = p.rule(kind)
    parts, subs = [], []
    for k, w in rule.items():
        v = q.get(k, 0)
        if not w or v == 0:
            continue
        name = conventions.QUANTITY_TEXT.get(k, k)
        parts.append(name if w == 1 else f"{w} x {name}")
        subs.append(_v(report, v) if w == 1 else f"{w} x {_v(report, v)}")
    total = conventions._apply(rule, q)
    value = _num(report, total)
    words = f"{' + '.join(parts) or '0'}  (convention {p.name})"
    sub = " + ".join(subs) if subs else "0"
    return Step("FLOPs", words, (sub,) if len(subs) > 1 else (), value, _sym(total),
                "cnnsym counts 2 x MACs plus every named cost term" if p.name == "cnnsym"
                else f"{p.name} counts {kind} as {conventions.rule_text(rule)}")


def _rf_steps(report, res):
    """Receptive field per spatial axis composed from the layer's input field."""
    node = res.node
    if not res.windows or not node.inputs:
        return [], []
    xin = report.tensors.get(node.inputs[0])
    yout = report.tensors.get(node.outputs[0]) if node.outputs else None
    if xin is None or xin.rf is None:
        return [], []
    steps, notes = [], []
    rfs = [f for f in xin.rf if f is not None] if len(xin.rf) != len(res.windows) else list(xin.rf)
    rfs = rfs[-len(res.windows):] if len(rfs) >= len(res.windows) else rfs
    names = AXES.get(len(res.windows), tuple(f"x{i}" for i in range(len(res.windows))))
    for a, f, w in zip(names, rfs, res.windows):
        if f is None:
            continue
        out = RF(f.size, f.stride, f.offset).through(w)
        V = lambda e: _v(report, e)  # noqa: E731
        if w.kernel is not None:
            d, p = (w.dilation if w.dilation is not None else 1), (w.pads[0] if w.pads else 0)
            forms = ("size' = size + d(k-1) x jump", "jump' = jump x s", "offset' = offset + (d(k-1)/2 - p) x jump")
            subs = (f"{V(f.size)} + {V(d)} x ({V(w.kernel)} - 1) x {V(f.stride)}", f"{V(f.stride)} x {V(w.stride)}",
                    f"{V(f.offset)} + ({V(d * (w.kernel - 1))}/2 - {V(p)}) x {V(f.stride)}")
        else:  # a window the op derived without a kernel (upsampling, transposed convolution)
            forms = ("size' = size + span x jump", "jump' = jump x j", "offset' = offset + shift x jump")
            subs = (f"{V(f.size)} + {V(w.span)} x {V(f.stride)}", f"{V(f.stride)} x {V(w.jump)}",
                    f"{V(f.offset)} + {V(w.shift)} x {V(f.stride)}")
        for i, (lab, e) in enumerate((("size", out.size), ("jump", out.stride), ("offset", out.offset))):
            note = f"the input's field: size {V(f.size)}, jump {V(f.stride)}, offset {V(f.offset)}" if i == 0 else ""
            steps.append(Step(f"RF {lab} ({a})", forms[i], (subs[i],), _num(report, e), _sym(e), note))
        if yout is not None and yout.rf is not None:
            got = [g for g in yout.rf if g is not None][-len(res.windows):]
            j = names.index(a)
            if j < len(got) and got[j] is not None and got[j] != out:
                notes.append(f"the output's field along {a} is joined with other paths: size "
                             f"{_v(report, got[j].size)}, jump {_v(report, got[j].stride)}")
    return steps, notes


def _count_steps(report, res):
    """Trainable/buffer/constant parameter counts as the report holds them."""
    steps = []
    for label, role, e in (("trainable params", "trainable", res.trainable), ("buffers", "buffer", res.buffers),
                           ("constants", "constant", res.constants)):
        owned = [i for i in report.initializers.values() if i.node == res.node.name and i.role == role]
        sub = (" + ".join(f"{i.numel:,} ({i.name})" for i in owned),) if owned else ()
        if e != 0:
            steps.append(Step(label, "elements of the tensors the node owns in this role", sub, _num(report, e), _sym(e)))
    return steps


def _terms_steps(report, res):
    return [Step(f"term: {k}", "cnnsym's per-element cost term (see `cnnsym ops`)", (), _num(report, v), _sym(v))
            for k, v in res.terms.items() if v != 0]


def _doc_summary(op_type, domain) -> str:
    cls = lookup(op_type, domain)
    doc = (cls.__doc__ or "").strip() if cls is not None else ""
    if not doc:
        return f"{op_type}: no formula documented ({'registered' if cls else 'not a registered op'})"
    return " ".join(doc.split("\n\n")[0].split())


def _linear_operator_steps(report, res):
    """Convolution as a sparse linear operator (per sample): the dense matrix's size, its
    nonzeros counted exactly (fewer at padded borders; :mod:`cnnsym.lecture`), density and
    parameter sharing."""
    o = lecture.operator_of(report, res)
    if o is None:
        return [], []
    v, ax = o.values, AXES.get(len(o.taps), tuple(f"x{i}" for i in range(len(o.taps))))
    y, x = _shape(report, res.node.outputs[0]), _shape(report, res.node.inputs[0])
    C_out, C_in_g = (sp.sympify(d) for d in o.shape.split("x")[:2])
    steps = [Step("dense matrix", "(C_out x " + " x ".join(f"{a}_out" for a in ax) + ") x (C_in x " + " x ".join(ax) + ")",
                  (f"({_x([_v(report, d) for d in (C_out, *y[2:])])}) x ({_x([_v(report, d) for d in x[1:]])})",
                   f"{_v(report, o.rows)} x {_v(report, o.cols)}"), v["entries"], _sym(o.entries),
                  "the convolution of one sample written as one matrix on the flattened input")]
    taps = ", ".join(f"T_{a} = {to_str(t)}" for a, t in zip(ax, o.taps))
    every = fmt(v["nonzeros_unpadded"]) if v["nonzeros_unpadded"] is not None else "?"
    note = (f"T per axis: (output position, tap) pairs that read the input, not padding: {taps} (the closed "
            f"form: docs/lecture.md); with every tap inside: {every}")
    subs = (f"{_v(report, C_out)} x {_v(report, C_in_g)} x " + " x ".join(fmt(t) if t is not None else "?"
                                                                          for t in v["taps"]),)
    upper = " x ".join(["outputs", "C_in/g"] + [f"k_{a.lower()}" for a in ax])
    steps.append(Step("nonzeros", f"{upper}, less the taps that read padding: C_out x C_in/g x "
                      + " x ".join(f"T_{a}" for a in ax), subs, v["nonzeros"], _sym(o.nonzeros), note))
    if v.get("density") is not None:
        steps.append(Step("density", "nonzeros / matrix entries", (f"{v['nonzeros']:,} / {v['entries']:,}",),
                          f"{v['density']:.4%}"))
    if v.get("sharing") is not None:
        steps.append(Step("sharing factor", "nonzeros / weights (how often each weight is reused)",
                          (f"{v['nonzeros']:,} / {v['weights']:,}",), f"{v['sharing']:.2f}"))
    return steps, [o.equivariance()]


# --------------------------------------------------------------------------- per op
def _explain_node(report, res, convention):
    node = res.node
    op = node.op_type
    x_name = node.inputs[0] if node.inputs else None
    y_name = node.outputs[0] if node.outputs else None
    x, y = _shape(report, x_name), _shape(report, y_name)
    steps, notes, lin_steps, lin_notes = [], [], [], []
    if res.status != "ok":
        notes.append(f"the node is {res.status}: {res.message or 'not counted'}; its counts are not known "
                     "(the model's totals are lower bounds)")
    if op in ("Conv", "ConvTranspose"):
        w = _weight_shape(report, node.inputs[1] if len(node.inputs) > 1 else None)
        bias = len(node.inputs) > 2 and bool(node.inputs[2])
        g = node.attrs.get("group", 1)
        summary = ("convolution: each output value is a weighted sum over a k-window of all C_in/g input "
                   "channels, the same kernel slid over every position (parameters shared)")
        if op == "ConvTranspose":
            summary = ("transposed convolution: each input value scatters a C_out/g x k window into the "
                       "output (MACs counted on the input side)")
        st = _params_step(report, res, w, bias)
        if st:
            steps.append(st)
        steps += _extent_steps(report, res, x, y)
        steps += _values_bytes_steps(report, y_name)
        if w is not None and op == "Conv":
            k = list(w[2:])
            ks = [f"k_{a.lower()}" for a in AXES.get(len(k), ())]
            steps += _mac_steps(report, res, " x ".join(["C_in/g"] + ks),
                                [_v(report, d) for d in w[1:]], sp.Mul(*w[1:]), y_name)
            lin_steps, lin_notes = _linear_operator_steps(report, res)
        elif w is not None and x is not None:
            xs = sp.Mul(*x)
            note = "" if _same(_num(report, xs * sp.Mul(*w[1:])), _num(report, res.macs)) else \
                "the report counts otherwise (see the op's formula)"
            steps.append(Step("MACs", "input values x C_out/g x k...", (f"{_v(report, xs)} x {_x([_v(report, d) for d in w[1:]])}",),
                              _num(report, res.macs), _sym(res.macs), note))
        if g != 1:
            notes.append(f"groups g = {g}: each output channel sees C_in/g input channels")
    elif op in LINEAR:
        w = _weight_shape(report, node.inputs[1] if len(node.inputs) > 1 else None)
        bias = len(node.inputs) > 2 and bool(node.inputs[2])
        summary = "fully connected (Linear): every output feature a weighted sum of all input features"
        if w is not None and node.inputs[1] in report.initializers:
            steps.append(_params_step(report, res, w, bias))
        steps += _values_bytes_steps(report, y_name)
        if w is not None:
            trans = bool(node.attrs.get("transB", 0)) if op == "Gemm" else False
            K = w[1] if trans else w[-2]
            steps += _mac_steps(report, res, "N_in", [_v(report, K)], K, y_name)
    elif op in POOLS or op in GLOBAL_POOLS:
        summary = "pooling: each channel aggregated alone, no parameters"
        steps.append(Step("params", "none: pooling has no weights", (), 0))
        steps += _extent_steps(report, res, x, y) if op in POOLS else []
        notes += [] if op in POOLS else ["a global pool's window is the whole input extent: one value per channel"]
        steps += _values_bytes_steps(report, y_name)
        ks = [w.kernel for w in res.windows if w.kernel is not None]
        if ks:
            per = sp.Mul(*ks)
            steps.append(Step("inputs per output", " x ".join(f"k_{a.lower()}" for a in AXES.get(len(ks), ())) or "k",
                              (_x([_v(report, k) for k in ks]),) if len(ks) > 1 else (), _num(report, per)))
        steps.append(Step("MACs", "0: no multiply-accumulate (the work is in the pooling term)", (),
                          _num(report, res.macs)))
    elif op == "BatchNormalization":
        C = x[1] if x is not None and len(x) > 1 else None
        summary = ("batch normalisation: per channel (x - mean)/sqrt(var + eps) x gamma + beta; at test time an "
                   "affine map folded into the preceding conv/linear at export (it then costs nothing)")
        if C is not None:
            steps.append(Step("trainable params", "2C (gamma and beta)", (f"2 x {_v(report, C)}",),
                              _num(report, res.trainable), _sym(res.trainable)))
            extra = _num(report, res.buffers - 2 * C)
            words = "2C (running mean and variance)" + (" + the batch counter" if extra else "")
            sub = f"2 x {_v(report, C)}" + (f" + {fmt(extra)}" if extra else "")
            steps.append(Step("buffers", words, (sub,), _num(report, res.buffers), _sym(res.buffers)))
        steps += _values_bytes_steps(report, y_name)
        bn = next((b for b in lecture.batchnorms(report) if b.node == node.name), None)
        if bn is not None and bn.elements is not None:
            E, Cs = _v(report, bn.elements), _v(report, bn.channels)
            pe, pc = lecture.TRAIN_FLOPS_PER_ELEMENT, lecture.TRAIN_FLOPS_PER_CHANNEL
            steps.append(Step("training FLOPs", f"{pe} x elements + {pc} x C", (f"{pe} x {E} + {pc} x {Cs}",),
                              _num(report, bn.train_flops), _sym(bn.train_flops),
                              "batch mean (1 per element), variance (3), normalise (1), gamma and beta (2); per channel: "
                              "divide, + eps, sqrt, reciprocal, two running statistics updated"))
            steps.append(Step("inference FLOPs", "2 x elements (one multiply-add: the statistics make one affine map)",
                              (f"2 x {E}",), _num(report, bn.inference_flops), _sym(bn.inference_flops)))
            gain = " (the conv gains a bias add per output)" if bn.folded and bn.folded_flops != 0 else ""
            steps.append(Step("at export", (f"folded into the conv before it: 0 parameters, 0 FLOPs left{gain}"
                                            if bn.folded else "kept (not folded)"), (), None, note=bn.reason))
    else:
        summary = _doc_summary(op, node.domain)
        steps += _count_steps(report, res)
        if res.windows:
            steps += _extent_steps(report, res, x, y)
        steps += _values_bytes_steps(report, y_name)
        if res.macs != 0:
            steps.append(Step("MACs", "as the op's formula counts them", (), _num(report, res.macs), _sym(res.macs)))
    if op == "BatchNormalization" or op in POOLS or op in GLOBAL_POOLS or op in LINEAR or op in ("Conv",
                                                                                                   "ConvTranspose"):
        steps += [s for s in _terms_steps(report, res) if not (op in ("Conv", "ConvTranspose") and s.label == "term: bias")]
    else:
        steps += _terms_steps(report, res)
    steps.append(_flops_step(report, res, convention))
    steps += lin_steps
    notes += lin_notes
    rf, rf_notes = _rf_steps(report, res)
    steps += rf
    notes += rf_notes
    return summary, steps, notes


def _folded_into(report, layer):
    """The conv a --fold-bn Report folded BatchNorm ``layer`` into (None if it did not say)."""
    for w in report.warnings:
        m = re.search(rf"(?:\(|, ){re.escape(layer)} into (\S+?)[,)]", w) if w.startswith("--fold-bn:") else None
        if m:
            return m.group(1)
    return None


def explain(model, layer, *, input=None, bind=None, convention=None, fold_bn=False):
    """``layer``'s numbers derived step by step. ``model`` is anything
    :func:`cnnsym.api.analyze` accepts, or a Report; ``layer`` a node name or module path
    (exact, else a unique suffix or prefix match); ``fold_bn``: in the inference model with
    BatchNorm folded into the conv before it (:mod:`cnnsym.fold`)."""
    report = model if hasattr(model, "nodes") else api.analyze(model, input=input, bind=bind, fold_bn=fold_bn)
    conv = convention or getattr(report, "convention", None) or "cnnsym"
    try:
        conventions.get(conv)
    except KeyError as e:
        raise InputError(None, str(e).strip("'\"")) from None
    try:
        res = find_node(report, layer)
    except InputError:
        into = _folded_into(report, layer)
        if into:
            raise InputError(report.path, f"layer {layer!r} was folded into {into} (--fold-bn): explain {into}, "
                                          "or leave out --fold-bn") from None
        raise
    summary, steps, notes = _explain_node(report, res, conv)
    node = res.node
    module = _module_path(node.name)
    if report.bindings is None:
        notes.append("no size satisfies the model's constraints: formulas only, no values")
    return Explanation(str(report.path), node.name, node.op_type, module,
                       _shape_text(report, node.inputs[0] if node.inputs else None),
                       _shape_text(report, node.outputs[0] if node.outputs else None),
                       dict(report.bindings or {}), conv, summary, tuple(s for s in steps if s is not None),
                       tuple(notes))


from cnnsym._public import PUBLIC, make_callable  # noqa: E402  (the module is also cnnsym.explain)

PUBLIC.setdefault("explain", explain)
make_callable(__name__)
