"""Spatial ops against onnxruntime: Conv, ConvTranspose, pools, normalisation, softmax,
Resize/Upsample and reductions.

Every expected shape comes from onnxruntime running a one-node graph at concrete sizes; the
symbolic report is derived once per graph and evaluated at each size. Where onnxruntime
refuses a size (an error, or an output axis of 0) the report must carry a constraint that
the size violates. Documented disagreements (see ``cnnsym/ops/_spatial.py``): pools in floor
mode, where onnxruntime returns 1 for windows that overrun input and padding and the spec
says 0; cnnsym follows the spec there.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import onnx
import pytest
import sympy as sp
from onnx import TensorProto as T
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from oracle import analyze_model, feeds_for, make_model, run_ort  # noqa: E402

from cnnsym.analyze import evaluate  # noqa: E402
from cnnsym.domain import violated  # noqa: E402
from cnnsym.errors import ShapeError  # noqa: E402
from cnnsym.graph import Value  # noqa: E402
from cnnsym.ops import REGISTRY, load_builtin_ops  # noqa: E402
from cnnsym.symbolic import dim_symbol  # noqa: E402

SIZES = (1, 2, 3, 5, 7, 13, 31, 224)
SMALL = (1, 2, 3, 5, 7, 13)


# --------------------------------------------------------------------------- harness
def init(name, arr, dtype=None):
    """Integer arrays keep their type (axes, sizes); everything else is float32."""
    arr = np.asarray(arr)
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind in "iu" and arr.size else np.float32
    return numpy_helper.from_array(arr.astype(dtype), name)


def one_node(op, x_dims, attrs=None, inits=(), inputs=None, n_out=1, opset=17, out_names=None, x_type=T.FLOAT):
    """A graph with one node reading graph input ``x`` (dims: ints and symbol names) and
    the initializers ``inits`` (name, array) in order; ``inputs`` overrides the node's input
    names ("" for an omitted optional input)."""
    tensors = [init(n, a) if not isinstance(a, onnx.TensorProto) else a for n, a in inits]
    names = inputs if inputs is not None else ["x", *[t.name for t in tensors]]
    outs = out_names or [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **(attrs or {}))
    return make_model([node], [("x", x_type, list(x_dims))], outs, tensors, opset=opset)


class Oracle:
    """One report per graph; ``check`` compares it with onnxruntime at ``dims``."""

    def __init__(self, model):
        self.model = model
        self.report = analyze_model(model)
        failed = [(r.node.name, r.status, r.message) for r in self.report.nodes if r.status != "ok"]
        assert not failed, failed

    def ort(self, dims):
        try:
            return run_ort(self.model, feeds_for(self.model, dims))
        except Exception as e:  # noqa: BLE001 - onnxruntime's refusal is the data point
            return e

    def check(self, dims, lenient=None):
        """``lenient(dims, outs)``: True where onnxruntime accepting a size that cnnsym
        excludes is a documented disagreement."""
        outs = self.ort(dims)
        bad = violated(self.report, dims)
        if isinstance(outs, Exception) or any(0 in a.shape for a in outs.values()):
            assert bad, f"onnxruntime refuses {dims} ({str(outs)[:200] if isinstance(outs, Exception) else 'empty output'}) but no constraint excludes it"
            return None
        if bad:
            assert lenient is not None and lenient(dims, outs), \
                f"onnxruntime accepts {dims} but cnnsym excludes it: {[c.message for c in bad]}; ort shapes {[a.shape for a in outs.values()]}"
            return None
        for name, arr in outs.items():
            t = self.report.tensors[name]
            assert t.shape is not None, f"{name}: no shape"
            got = [evaluate(d, dims) for d in t.shape]
            assert list(arr.shape) == got, f"{name} at {dims}: onnxruntime {list(arr.shape)} vs cnnsym {got} = {[str(d) for d in t.shape]}"
        return outs

    def expr(self, name="y0"):
        return self.report.tensors[name].shape


def check_sizes(model, symbols, sizes=SIZES, lenient=None, fixed=None):
    """Each size in ``sizes`` for every symbol in ``symbols`` (others one step apart, so that
    axes differ), plus the fixed bindings ``fixed``."""
    o = Oracle(model)
    for i, s in enumerate(sizes):
        dims = dict(fixed or {"N": 1})
        for j, sym in enumerate(symbols):
            dims[sym] = sizes[(i + j) % len(sizes)]
        o.check(dims, lenient)
    return o


def pool_trunc_zone(dims, outs):
    # onnxruntime's floor-mode pools give 1 where the spec gives 0 (see module docstring)
    return all(1 in a.shape[2:] for a in outs.values())


# --------------------------------------------------------------------------- op examples
def _examples(modules):
    load_builtin_ops()
    for (_, name), cls in sorted(REGISTRY.items(), key=lambda kv: kv[0]):
        if cls.__module__.rsplit(".", 1)[-1] in modules:
            for i, c in enumerate(cls.examples):
                yield pytest.param(cls, c, id=f"{name}-{i}")


def _parse_expr(text):
    import re
    loc = {"floor": sp.floor, "ceiling": sp.ceiling, "Min": sp.Min, "Max": sp.Max, "Rational": sp.Rational}
    for n in re.findall(r"[A-Za-z_]\w*", str(text)):
        loc.setdefault(n, dim_symbol(n))
    return sp.sympify(text, locals=loc)


def _parse_dims(text):
    return () if text == "" else tuple(_parse_expr(t) for t in text.split(","))


def _same(a, b):
    a, b = sp.sympify(a), sp.sympify(b)
    if sp.expand(a - b) == 0:
        return True
    syms = sorted(a.free_symbols | b.free_symbols, key=str)
    rng = np.random.default_rng(0)
    for _ in range(25):
        sub = {s: sp.Integer(int(rng.integers(1, 400))) for s in syms}
        if sp.expand(a.xreplace(sub) - b.xreplace(sub)) != 0:
            return False
    return True


@pytest.mark.parametrize("cls,case", list(_examples({"pool", "conv", "norm", "softmax", "resize", "reduce"})))
def test_examples(cls, case):
    ins = []
    for i, s in enumerate(case.inputs):
        if s is None:
            ins.append(None)
            continue
        val = case.values.get(i)
        if val is not None:
            val = tuple(_parse_expr(v) if isinstance(v, str) else sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v)
                        for v in val)
        ins.append(Value(_parse_dims(s), case.dtypes.get(i, 1), val))
    op = cls(case.attrs, case.opset)
    if case.raises:
        with pytest.raises(ShapeError, match=case.raises):
            op.infer(ins)
        return
    inf = op.infer(ins)
    outs = case.out if isinstance(case.out, tuple) else (case.out,)
    for k, o in enumerate(outs):
        if o is None:
            continue
        exp, got = _parse_dims(o), inf.outputs[k].shape
        assert len(exp) == len(got) and all(_same(a, b) for a, b in zip(got, exp)), (k, got, exp)
    if case.macs is not None:
        assert _same(inf.macs, _parse_expr(case.macs)), (inf.macs, case.macs)
    for t, v in case.terms.items():
        assert _same(inf.terms.get(t, 0), _parse_expr(v)), (t, inf.terms.get(t), v)
    if case.value is not None:
        got = inf.outputs[0].value
        assert got is not None and len(got) == len(case.value)
        assert all(_same(a, _parse_expr(str(b))) for a, b in zip(got, case.value)), (got, case.value)


# --------------------------------------------------------------------------- Conv
def _w(*shape):
    return np.zeros(shape, np.float32)


@pytest.mark.parametrize("k,s,p,d", [(1, 1, (0, 0), 1), (3, 1, (1, 1), 1), (3, 2, (1, 1), 1), (7, 2, (3, 3), 1),
                                     (3, 2, (0, 1), 1), (5, 3, (2, 0), 1), (3, 1, (0, 0), 2), (3, 2, (2, 2), 3),
                                     (2, 2, (0, 0), 1), (4, 3, (1, 2), 2)])
def test_conv2d_explicit_pads(k, s, p, d):
    m = one_node("Conv", ["N", 4, "H", "W"], dict(kernel_shape=[k, k], strides=[s, s], pads=[p[0], p[1], p[1], p[0]],
                                                  dilations=[d, d]), [("w", _w(6, 4, k, k)), ("b", _w(6))])
    o = check_sizes(m, ["H", "W"])
    # hand arithmetic: macs = N*6*Ho*Wo * 4*k*k, bias one add per output element
    ho, wo = o.expr()[2], o.expr()[3]
    macs = o.report.totals["macs"]
    assert sp.expand(macs - dim_symbol("N") * 6 * ho * wo * 4 * k * k) == 0
    assert sp.expand(o.report.totals["terms.bias"] - dim_symbol("N") * 6 * ho * wo) == 0


@pytest.mark.parametrize("ap", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("k,s", [(1, 1), (1, 2), (2, 2), (3, 2), (3, 1), (4, 3), (5, 2)])
def test_conv_auto_pad(ap, k, s):
    m = one_node("Conv", ["N", 2, "L"], dict(kernel_shape=[k], strides=[s], auto_pad=ap), [("w", _w(3, 2, k))])
    check_sizes(m, ["L"], sizes=(1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 31, 224))


def test_conv_same_stride2_odd_closed_form():
    m = one_node("Conv", ["N", 3, "H", "W"], dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
                 [("w", _w(8, 3, 3, 3))])
    o = check_sizes(m, ["H", "W"])
    H = dim_symbol("H")
    assert sp.expand(o.expr()[2] - sp.ceiling(H / 2)) == 0 or all(evaluate(o.expr()[2], {"H": h}) == -(-h // 2) for h in range(1, 50))
    # 3*3*3 taps per output, 8 outputs channels: 216 * N * ceil(H/2) * ceil(W/2)
    assert all(evaluate(o.report.totals["macs"], {"N": 2, "H": h, "W": h + 2}) == 216 * 2 * (-(-h // 2)) * (-(-(h + 2) // 2))
               for h in (1, 5, 224))


@pytest.mark.parametrize("group,cin,cout", [(2, 4, 6), (4, 4, 4), (8, 8, 16)])
def test_conv_grouped_depthwise(group, cin, cout):
    m = one_node("Conv", ["N", cin, "H", "W"], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=group),
                 [("w", _w(cout, cin // group, 3, 3))])
    o = check_sizes(m, ["H", "W"])
    # grouped: each output sees cin/group input channels: macs = N*cout*Ho*Wo*(cin/group)*9
    ho, wo = o.expr()[2], o.expr()[3]
    assert sp.expand(o.report.totals["macs"] - dim_symbol("N") * cout * ho * wo * (cin // group) * 9) == 0


def test_conv3d_and_1d():
    m = one_node("Conv", ["N", 2, "D", "H", "W"], dict(kernel_shape=[3, 3, 3], strides=[1, 2, 2], pads=[1, 0, 1, 1, 1, 0]),
                 [("w", _w(4, 2, 3, 3, 3))])
    o = check_sizes(m, ["D", "H", "W"], sizes=(3, 5, 7, 13, 2, 1))
    # 3-D: macs = N*4*Do*Ho*Wo*2*27
    do, ho, wo = o.expr()[2:]
    assert sp.expand(o.report.totals["macs"] - dim_symbol("N") * 4 * do * ho * wo * 54) == 0
    m = one_node("Conv", ["N", 1, "L"], dict(kernel_shape=[5], strides=[3], dilations=[2]), [("w", _w(2, 1, 5))])
    check_sizes(m, ["L"], sizes=(1, 5, 8, 9, 10, 11, 31, 224))


def test_conv_no_kernel_shape_attr():
    m = one_node("Conv", ["N", 3, "H", "W"], dict(strides=[2, 2], pads=[1, 1, 1, 1]), [("w", _w(4, 3, 3, 3))])
    check_sizes(m, ["H", "W"])


# --------------------------------------------------------------------------- ConvTranspose
@pytest.mark.parametrize("k,s,p,op,d", [(4, 2, (1, 1), 0, 1), (3, 2, (1, 1), 1, 1), (3, 1, (0, 0), 0, 1), (2, 2, (0, 0), 0, 1),
                                        (5, 3, (2, 1), 2, 1), (3, 2, (0, 0), 1, 2), (3, 3, (1, 2), 0, 2), (1, 1, (0, 0), 0, 1)])
def test_conv_transpose_explicit(k, s, p, op, d):
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[p[0], p[0], p[1], p[1]], dilations=[d, d],
                 output_padding=[op, op])
    m = one_node("ConvTranspose", ["N", 4, "H", "W"], attrs, [("w", _w(4, 3, k, k)), ("b", _w(3))])
    o = check_sizes(m, ["H", "W"])
    # input side: every input element meets every tap once: macs = N*4*H*W * 3*k*k
    N, H, W = dim_symbol("N"), dim_symbol("H"), dim_symbol("W")
    assert sp.expand(o.report.totals["macs"] - N * 4 * H * W * 3 * k * k) == 0
    ho, wo = o.expr()[2:]
    assert sp.expand(o.report.totals["terms.bias"] - N * 3 * ho * wo) == 0


@pytest.mark.parametrize("ap", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("k,s,opad", [(3, 2, 0), (4, 2, 0), (1, 3, 0), (3, 1, 0), (3, 2, 1), (5, 3, 2)])
def test_conv_transpose_auto_pad(ap, k, s, opad):
    attrs = dict(kernel_shape=[k], strides=[s], auto_pad=ap)
    if opad:
        attrs["output_padding"] = [opad]
    m = one_node("ConvTranspose", ["N", 2, "L"], attrs, [("w", _w(2, 3, k))])
    check_sizes(m, ["L"], sizes=(1, 2, 3, 4, 5, 7, 13, 31))


@pytest.mark.parametrize("ap", ["NOTSET", "SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_output_shape(ap):
    # output_shape fixes the output; pads are derived. (An output_shape with N and C, which
    # onnxruntime's kernel would take, is refused by onnx shape inference first.)
    shape = [10, 11]
    m = one_node("ConvTranspose", ["N", 2, "H", "W"], dict(kernel_shape=[3, 3], strides=[2, 2], output_shape=shape, auto_pad=ap),
                 [("w", _w(2, 3, 3, 3))])
    check_sizes(m, ["H", "W"], sizes=(3, 4, 5, 6, 13, 2))


def test_conv_transpose_grouped_3d():
    m = one_node("ConvTranspose", ["N", 4, "D", "H", "W"], dict(kernel_shape=[2, 3, 3], strides=[2, 2, 1], group=2, pads=[0, 1, 1, 0, 1, 1]),
                 [("w", _w(4, 3, 2, 3, 3))])
    o = check_sizes(m, ["D", "H", "W"], sizes=(1, 2, 3, 5, 7))
    # group 2: output channels 3*2 = 6; macs input side = N*4*D*H*W*3*18
    N, D, H, W = (dim_symbol(s) for s in "NDHW")
    assert o.expr()[1] == 6
    assert sp.expand(o.report.totals["macs"] - N * 4 * D * H * W * 3 * 18) == 0


# --------------------------------------------------------------------------- pools
POOL_WINDOWS = [(2, 2, (0, 0), 1), (3, 2, (1, 1), 1), (3, 2, (0, 1), 1), (3, 1, (1, 1), 1), (2, 1, (0, 0), 1),
                (3, 3, (1, 2), 1), (5, 2, (2, 0), 1), (3, 2, (1, 1), 2), (2, 3, (1, 0), 2), (1, 2, (0, 0), 1)]


@pytest.mark.parametrize("op,opset", [("MaxPool", 12), ("AveragePool", 19), ("LpPool", 18)])
@pytest.mark.parametrize("ceil_mode", [0, 1])
@pytest.mark.parametrize("k,s,p,d", POOL_WINDOWS)
def test_pool_explicit(op, opset, ceil_mode, k, s, p, d):
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[p[0], p[1], p[1], p[0]], ceil_mode=ceil_mode)
    if d != 1:
        attrs["dilations"] = [d, d]
    m = one_node(op, ["N", 3, "H", "W"], attrs, opset=opset)
    o = check_sizes(m, ["H", "W"], sizes=(1, 2, 3, 4, 5, 6, 7, 13, 31, 224), lenient=None if ceil_mode else pool_trunc_zone)
    ho, wo = o.expr()[2:]
    # one comparison/add per window tap: pooling = N*3*Ho*Wo*k*k
    assert sp.expand(o.report.totals["terms.pooling"] - dim_symbol("N") * 3 * ho * wo * k * k) == 0


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
@pytest.mark.parametrize("ap", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("ceil_mode", [0, 1])
@pytest.mark.parametrize("k,s,d", [(3, 2, 1), (2, 2, 1), (1, 2, 1), (3, 1, 1), (4, 3, 1), (3, 2, 2), (2, 1, 3)])
def test_pool_auto_pad(op, ap, ceil_mode, k, s, d):
    attrs = dict(kernel_shape=[k], strides=[s], auto_pad=ap, ceil_mode=ceil_mode)
    if d != 1:
        attrs["dilations"] = [d]
    m = one_node(op, ["N", 2, "L"], attrs, opset=19 if op == "AveragePool" else 18)
    check_sizes(m, ["L"], sizes=(1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 31, 224), lenient=None if ceil_mode else pool_trunc_zone)


def test_maxpool_indices_and_3d():
    m = one_node("MaxPool", ["N", 2, "D", "H", "W"], dict(kernel_shape=[2, 3, 3], strides=[2, 2, 2], pads=[0, 1, 1, 1, 1, 1],
                                                          storage_order=1), n_out=2)
    o = check_sizes(m, ["D", "H", "W"], sizes=(2, 3, 5, 7, 13, 4))
    assert o.report.tensors["y1"].dtype == T.INT64
    m = one_node("AveragePool", ["N", 2, "D", "H", "W"], dict(kernel_shape=[3, 3, 3], strides=[2, 1, 2], ceil_mode=1,
                                                              count_include_pad=1, pads=[1, 1, 1, 1, 1, 1]))
    check_sizes(m, ["D", "H", "W"], sizes=(1, 2, 3, 5, 7, 13))


def test_resnet_stem_closed_form():
    # conv 7x7/2 pad 3 then maxpool 3x3/2 pad 1: ceil(ceil(H/2)/2) = ceil(H/4)
    conv = helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3])
    pool = helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    m = make_model([conv, pool], [("x", T.FLOAT, ["N", 3, "H", "W"])], ["y"], [init("w", _w(64, 3, 7, 7))])
    o = check_sizes(m, ["H", "W"])
    H = dim_symbol("H")
    assert sp.expand(o.expr("y")[2] - sp.floor((H + 3) / 4)) == 0
    # receptive field: 7 + 2*(3-1) = 11, stride 4
    rf = o.report.tensors["y"].rf[2]
    assert rf.size == 11 and rf.stride == 4


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"])
@pytest.mark.parametrize("rank", [3, 4, 5])
def test_global_pools(op, rank):
    names = ["L"] if rank == 3 else ["H", "W"] if rank == 4 else ["D", "H", "W"]
    m = one_node(op, ["N", 5, *names], {})
    o = check_sizes(m, names, sizes=SMALL)
    assert list(o.expr()[2:]) == [1] * (rank - 2)
    # whole input seen: field size = extent, one reduction per input element
    for ax, n in enumerate(names, start=2):
        assert o.report.tensors["y0"].rf[ax].size == dim_symbol(n)
    assert sp.expand(o.report.totals["terms.pooling"] - sp.Mul(dim_symbol("N"), 5, *[dim_symbol(n) for n in names])) == 0


# --------------------------------------------------------------------------- normalisation
def test_batchnorm_inference_params():
    C = 6
    m = one_node("BatchNormalization", ["N", C, "H", "W"], {}, [(n, np.ones(C)) for n in ("s", "b", "m", "v")], opset=15)
    o = check_sizes(m, ["H", "W"], sizes=SMALL)
    t = o.report.totals
    # scale and B trainable (2*6), running mean/var buffers (2*6); norm 2 per element
    assert t["params.trainable"] == 12 and t["params.buffers"] == 12
    assert sp.expand(t["terms.norm"] - 2 * C * sp.Mul(*(dim_symbol(s) for s in "NHW"))) == 0


@pytest.mark.parametrize("opset", [9, 14, 15])
def test_batchnorm_training_outputs(opset):
    C = 3
    n_out = 5 if opset < 14 else 3
    m = one_node("BatchNormalization", ["N", C, "L"], {"training_mode": 1} if opset >= 14 else {},
                 [(n, np.ones(C)) for n in ("s", "b", "m", "v")], n_out=n_out, opset=opset)
    o = Oracle(m)
    outs = o.ort({"N": 2, "L": 5})
    if isinstance(outs, Exception):  # inference builds of onnxruntime lack training-mode kernels
        pytest.skip(f"onnxruntime refuses training-mode BatchNormalization: {str(outs)[:120]}")
    o.check({"N": 2, "L": 5})


@pytest.mark.parametrize("rank", [3, 4, 5])
def test_instance_norm(rank):
    names = ["L", "H", "W", "D"][: rank - 2] if rank < 5 else ["D", "H", "W"]
    m = one_node("InstanceNormalization", ["N", 4, *names], {}, [("s", np.ones(4)), ("b", np.ones(4))])
    o = check_sizes(m, names, sizes=(2, 3, 5, 7))
    assert o.report.totals["params.trainable"] == 8


@pytest.mark.parametrize("axis", [-1, 1, 2, -3])
def test_layer_norm_stash(axis):
    x = ["N", 4, "H", "W"]
    norm_shape = [4, 3, 5][axis % 4 - 1:] if axis % 4 else None
    shape = {1: (4, "H", "W"), 2: ("H", "W"), 3: ("W",)}[axis % 4]
    dims = {"N": 2, "H": 3, "W": 5}
    pshape = [dims.get(d, d) if isinstance(d, str) else d for d in shape]
    # parameters must be concrete: bind H, W in the graph
    m = one_node("LayerNormalization", ["N", 4, 3, 5], {"axis": axis}, [("s", np.ones(pshape)), ("b", np.ones(pshape))], n_out=3)
    o = Oracle(m)
    for n in (1, 2, 7):
        o.check({"N": n})
    assert o.report.totals["params.trainable"] == 2 * int(np.prod(pshape))


@pytest.mark.parametrize("opset,pshape", [(18, 2), (21, 8)])
def test_group_norm(opset, pshape):
    m = one_node("GroupNormalization", ["N", 8, "H", "W"], {"num_groups": 2}, [("s", np.ones(pshape)), ("b", np.ones(pshape))], opset=opset)
    o = Oracle(m)
    outs = o.ort({"N": 1, "H": 3, "W": 5})
    if isinstance(outs, Exception):
        pytest.skip(f"onnxruntime has no GroupNormalization-{opset}: {str(outs)[:120]}")
    check_sizes(m, ["H", "W"], sizes=SMALL)


@pytest.mark.parametrize("op,attrs", [("LpNormalization", {"axis": 1, "p": 1}), ("LRN", {"size": 3}),
                                      ("MeanVarianceNormalization", {}), ("LRN", {"size": 5, "alpha": 0.001})])
def test_other_norms(op, attrs):
    m = one_node(op, ["N", 6, "H", "W"], attrs)
    o = check_sizes(m, ["H", "W"], sizes=SMALL)
    w = {"LpNormalization": 3, "LRN": attrs.get("size", 0) + 3, "MeanVarianceNormalization": 5}[op]
    assert sp.expand(o.report.totals["terms.norm"] - w * 6 * sp.Mul(*(dim_symbol(s) for s in "NHW"))) == 0


# --------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "Hardmax"])
@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, 3])
def test_softmax(op, opset, axis):
    m = one_node(op, ["N", 5, "H", "W"], {} if axis is None else {"axis": axis}, opset=opset)
    o = check_sizes(m, ["H", "W"], sizes=SMALL)
    # opset < 13 mixes every axis from `axis` on: Softmax(axis=1) sees all of H and W
    ax = (axis if axis is not None else (1 if opset < 13 else -1)) % 4
    mixed = set(range(ax, 4)) if opset < 13 else {ax}
    rf = o.report.tensors["y0"].rf
    for i, n in ((2, "H"), (3, "W")):
        assert rf[i].size == (dim_symbol(n) if i in mixed else 1)


def test_softmax_axis_out_of_range():
    m = one_node("Softmax", ["N", 5], {"axis": 2}, opset=13)
    r = analyze_model(m)
    assert r.nodes[0].status == "error"


# --------------------------------------------------------------------------- reductions
REDUCE = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceL1", "ReduceProd",
          "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"]


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("axes,keepdims", [((2, 3), 1), ((1,), 0), ((-1, 0), 0), (None, 1), (None, 0)])
def test_reduce(op, opset, axes, keepdims):
    axes_input = opset >= (13 if op == "ReduceSum" else 18)
    attrs = {"keepdims": keepdims}
    inits = []
    if axes is not None:
        if axes_input:
            inits = [("axes", np.array(axes, np.int64))]
        else:
            attrs["axes"] = list(axes)
    m = one_node(op, ["N", 3, "H", "W"], attrs, [(n, a) for n, a in inits], opset=opset)
    o = check_sizes(m, ["H", "W"], sizes=SMALL)
    assert sp.expand(o.report.totals["terms.reduce"] - 3 * sp.Mul(*(dim_symbol(s) for s in "NHW"))) == 0


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
def test_reduce_noop_with_empty_axes(op):
    empty = numpy_helper.from_array(np.array([], np.int64), "axes")
    m = one_node(op, ["N", 3, "H", "W"], {"noop_with_empty_axes": 1}, [("axes", empty)], opset=18)
    check_sizes(m, ["H", "W"], sizes=SMALL)
    m = one_node(op, ["N", 3, "H", "W"], {"noop_with_empty_axes": 1}, opset=18)
    check_sizes(m, ["H", "W"], sizes=SMALL)


# --------------------------------------------------------------------------- Resize / Upsample
def _resize(x_dims, opset, scales=None, sizes=None, roi=None, **attrs):
    """Resize with constant operands; the opset decides the input layout."""
    names, inits = ["x"], []
    if opset < 11:
        inits.append(init("scales", np.array(scales, np.float32)))
        names.append("scales")
    else:
        for nm, v, dt in (("roi", roi, np.float32), ("scales", scales, np.float32), ("sizes", sizes, np.int64)):
            if v is None and (opset >= 13 or nm == "sizes"):
                names.append("")
                continue
            arr = np.array(v if v is not None else [], dt)
            inits.append(numpy_helper.from_array(arr, nm))
            names.append(nm)
        while names[-1] == "":
            names.pop()
    node = helper.make_node("Resize", names, ["y0"], **attrs)
    return make_model([node], [("x", T.FLOAT, list(x_dims))], ["y0"], inits, opset=opset)


SCALES = [0.5, 1.5, 2.0, 0.333, 1 / 3, 0.7, 2.5]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("opset", [10, 11, 13, 19])
def test_resize_scales_rounding(scale, opset):
    m = _resize(["N", 2, "H", "W"], opset, scales=[1, 1, scale, 1.5])
    o = check_sizes(m, ["H", "W"], sizes=(1, 2, 3, 5, 7, 10, 13, 31, 224, 3000))


def _int_eval(e, xs):
    """An integer expression in one symbol at integer array ``xs``, exactly."""
    if e.is_Symbol:
        return xs
    if e.is_Integer:
        return int(e)
    if isinstance(e, sp.floor):
        num, den = sp.fraction(sp.together(e.args[0]))
        return _int_eval(sp.expand(num), xs) // int(den)
    parts = [_int_eval(a, xs) for a in e.args]
    out = parts[0]
    for p in parts[1:]:
        out = out + p if e.is_Add else out * p
    return out


@pytest.mark.parametrize("scale", SCALES + [0.1, 1.1, 3.0001, 0.123, 7.77])
def test_resize_rounding_matches_float32_on_whole_domain(scale):
    # onnxruntime computes trunc(float32(x) * float32(scale)); the rational form must agree
    # on every size the domain solver scans (1..4096). The expected side is float32 numpy
    # arithmetic, the same as onnxruntime's kernel (spot-checked against it above).
    m = _resize(["N", 1, "H", 1], 13, scales=[1, 1, scale, 1])
    o = Oracle(m)
    e = o.expr()[2]
    xs = np.arange(1, 4097)
    ort_like = (xs.astype(np.float32) * np.float32(scale)).astype(np.int64)
    # exact integer evaluation (lambdify would evaluate 7*H/10 in float64 and lose 1 at 90)
    ours = _int_eval(e, xs)
    assert np.array_equal(ours, ort_like), [(int(x), int(a), int(b)) for x, a, b in zip(xs, ours, ort_like) if a != b][:5]
    for h in (1, 3, 7, 97, 1000, 4096):
        o.check({"N": 1, "H": h})


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("ctm", ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize"])
def test_resize_modes(mode, ctm):
    roi = [0, 0, 0.1, 0.2, 1, 1, 0.8, 0.9] if ctm == "tf_crop_and_resize" else None
    m = _resize(["N", 2, "H", "W"], 13, scales=[1, 1, 2, 0.5], roi=roi, mode=mode, coordinate_transformation_mode=ctm)
    o = check_sizes(m, ["H", "W"], sizes=(1, 2, 3, 5, 7, 13, 31))
    taps = {"nearest": 1, "linear": 4, "cubic": 16}[mode]
    y = o.expr()
    assert sp.expand(o.report.totals["terms.resize"] - taps * sp.Mul(*y)) == 0
    # receptive field: nearest upsampling by 2 halves the jump; linear/cubic add taps - 1
    rf_h = o.report.tensors["y0"].rf[2]
    assert rf_h.stride == sp.Rational(1, 2) and rf_h.size == {"nearest": 1, "linear": 2, "cubic": 4}[mode]


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_resize_sizes(opset):
    m = _resize([1, 2, "H", "W"], opset, sizes=[1, 2, 17, 9], scales=[] if opset == 11 else None)
    check_sizes(m, ["H", "W"], sizes=SIZES, fixed={})


@pytest.mark.parametrize("policy", ["stretch", "not_larger", "not_smaller"])
@pytest.mark.parametrize("axes", [None, [2, 3], [3]])
def test_resize_opset18_axes_policy(policy, axes):
    sizes = [6, 4] if axes == [2, 3] else [5] if axes == [3] else [1, 2, 6, 4]
    attrs = dict(keep_aspect_ratio_policy=policy)
    if axes:
        attrs["axes"] = axes
    m = _resize([1, 2, "H", "W"], 18, sizes=sizes, **attrs)
    check_sizes(m, ["H", "W"], sizes=(1, 2, 3, 5, 7, 13, 31), fixed={})
    sc = [2.0, 0.5] if axes == [2, 3] else [1.5] if axes == [3] else [1, 1, 2.0, 0.5]
    attrs = {"axes": axes} if axes else {}
    m = _resize(["N", 2, "H", "W"], 19, scales=sc, **attrs)
    check_sizes(m, ["H", "W"], sizes=(1, 2, 3, 5, 7, 13, 31, 224))


def test_resize_zero_output_is_excluded():
    m = _resize(["N", 2, "H", "W"], 13, scales=[1, 1, 0.25, 1])
    o = Oracle(m)
    for h in (1, 2, 3, 4, 5, 9):
        o.check({"N": 1, "H": h, "W": 3})
    assert violated(o.report, {"N": 1, "H": 3, "W": 3})


@pytest.mark.parametrize("opset", [7, 9])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample(opset, mode):
    scales = [1, 1, 2, 1.5]
    if opset == 7:
        m = one_node("Upsample", ["N", 2, "H", "W"], dict(mode=mode, scales=scales), opset=7)
    else:
        m = one_node("Upsample", ["N", 2, "H", "W"], dict(mode=mode), [("scales", np.array(scales, np.float32))], opset=9)
    check_sizes(m, ["H", "W"], sizes=SIZES)
