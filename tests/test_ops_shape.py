"""Shape ops (cnnsym/ops/shape.py): their own examples, onnxruntime as the oracle on small
graphs at odd, prime and tiny sizes (every intermediate shape compared), and the real
ShuffleNet exports against ground_truth.json."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from cnnsym.domain import violated
from cnnsym.errors import ShapeError
from cnnsym.graph import FLOAT, INT64, Value
from cnnsym.ops import shape as shape_ops
from cnnsym.ops import Op
from cnnsym.symbolic import dim_symbol

from oracle import analyze_model, compare_shapes, make_model

# ---------------------------------------------------------------------------------------
# examples are tests


FUNCS = {"Min": sp.Min, "Max": sp.Max, "floor": sp.floor, "ceiling": sp.ceiling}


def _expr(text):
    text = str(text)
    names = {t: dim_symbol(t) for t in re.findall(r"[A-Za-z_]\w*", text) if t not in FUNCS}
    return sp.sympify(text, locals={**names, **FUNCS})


def _split_top(text):
    """'N,Min(3,L)' -> ['N', 'Min(3,L)']: commas inside brackets belong to the dim."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return out


def _shape(text):
    if text is None:
        return None
    text = text.strip()
    return () if text == "" else tuple(_expr(t) for t in _split_top(text))


def _same(a, b):
    """Equivalent as integer functions of positive dims: equal symbolically, or at every
    point of a grid of sizes (floor/ceiling forms that sympy does not identify)."""
    d = sp.expand(sp.sympify(a) - sp.sympify(b))
    if d == 0:
        return True
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(0)
    for k in range(60):
        pt = {s: int(v) for s, v in zip(syms, (rng.integers(1, 200, len(syms)) if k > 20 else [k + 1] * len(syms)))}
        if d.xreplace(pt) != 0:
            return False
    return True


EXAMPLES = [(cls, i, case) for cls in vars(shape_ops).values()
            if isinstance(cls, type) and issubclass(cls, Op) and cls.__module__ == shape_ops.__name__ and cls.op_type
            for i, case in enumerate(cls.examples)]


@pytest.mark.parametrize("cls,i,case", EXAMPLES, ids=[f"{c.op_type}-{i}" for c, i, _ in EXAMPLES])
def test_example(cls, i, case):
    inputs = []
    for k, text in enumerate(case.inputs):
        if text is None:
            inputs.append(None)
            continue
        vals = case.values.get(k)
        dtype = case.dtypes.get(k, INT64 if vals is not None else FLOAT)
        inputs.append(Value(_shape(text), dtype, None if vals is None else tuple(_expr(v) for v in vals)))
    op = cls(case.attrs, case.opset)
    if case.raises:
        with pytest.raises(ShapeError, match=case.raises):
            op.infer(inputs)
        return
    res = op.infer(inputs)
    outs = case.out if isinstance(case.out, tuple) else (case.out,)
    for k, want in enumerate(outs):
        got = res.outputs[k].shape
        want = _shape(want)
        assert len(got) == len(want), (got, want)
        assert all(_same(g, w) for g, w in zip(got, want)), (got, want)
    if case.value is not None:
        got = res.outputs[0].value
        assert got is not None and len(got) == len(case.value), (got, case.value)
        assert all(_same(g, _expr(w)) for g, w in zip(got, case.value)), (got, case.value)


# ---------------------------------------------------------------------------------------
# onnxruntime oracle

SIZES = [
    {"N": 1, "H": 1, "W": 1},
    {"N": 2, "H": 2, "W": 3},
    {"N": 1, "H": 3, "W": 7},
    {"N": 3, "H": 13, "W": 31},
    {"N": 1, "H": 31, "W": 2},
    {"N": 2, "H": 7, "W": 13},
]
X = ("x", T.FLOAT, ["N", 8, "H", "W"])


def i64(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def f32(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.float32), name)


def const(out, vals, dtype=np.int64):
    return helper.make_node("Constant", [], [out], value=numpy_helper.from_array(np.array(vals, dtype=dtype), out + "_t"))


def N(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, **kw)


BIGI = 2**63 - 1
CASES = {}


def case(name, opset=17, inputs=(X,), sizes=None, bindings=None):
    def deco(f):
        CASES[name] = (f, opset, inputs, sizes, bindings)
        return f
    return deco


def ok(sizes, pred):
    return [s for s in (sizes or SIZES) if pred(s)]


# -- shape arithmetic chains ------------------------------------------------------------
def _torchscript_shuffle(opset):
    """Shape -> Gather -> Div -> Cast -> Unsqueeze -> Concat -> Reshape -> Transpose -> Reshape."""
    nodes, inits = [], []
    dims = []
    for k in range(4):
        nodes += [N("Shape", ["x"], [f"s{k}"]), const(f"i{k}", k), N("Gather", [f"s{k}", f"i{k}"], [f"g{k}"], axis=0)]
    nodes += [const("two", 2), N("Div", ["g1", "two"], ["half"]), N("Cast", ["half"], ["halfc"], to=7)]
    for k, src in enumerate(["g0", "halfc", "g2", "g3"]):
        if opset >= 13:
            inits.append(i64(f"ax{k}", [0]))
            nodes.append(N("Unsqueeze", [src, f"ax{k}"], [f"u{k}"]))
        else:
            nodes.append(N("Unsqueeze", [src], [f"u{k}"], axes=[0]))
        dims.append(f"u{k}")
    inits.append(i64("c2", [2]))
    nodes += [N("Concat", [dims[0], "c2", dims[1], dims[2], dims[3]], ["shp"], axis=0),
              N("Reshape", ["x", "shp"], ["v"]), N("Transpose", ["v"], ["t"], perm=[0, 2, 1, 3, 4]),
              N("Concat", [dims[0], "c_1", dims[2], dims[3]], ["shp2"], axis=0), N("Reshape", ["t", "shp2"], ["y"])]
    inits.append(i64("c_1", [-1]))
    return nodes, inits


@case("torchscript_shuffle_op11", opset=11)
def _():
    return _torchscript_shuffle(11)


@case("torchscript_shuffle_op13", opset=13)
def _():
    return _torchscript_shuffle(13)


@case("dynamo_view", opset=18)
def _():
    """Shape(start, end) -> Squeeze -> Add/Div/Mul -> Reshape([1]) -> Concat -> Reshape."""
    nodes = [N("Shape", ["x"], ["n"], start=0, end=1),
             N("Shape", ["x"], ["h"], start=2, end=3), N("Squeeze", ["h"], ["hs"]),
             N("Shape", ["x"], ["w"], start=-1), N("Squeeze", ["w", "ax0"], ["ws"]),
             N("Add", ["hs", "one"], ["h1"]), N("Div", ["h1", "two"], ["hh"]), N("Mul", ["hh", "two"], ["h2"]),
             N("Reshape", ["h2", "r1"], ["h2r"], allowzero=1), N("Reshape", ["ws", "r1"], ["wr"]),
             N("Pad", ["x", "pads"], ["xp"]),
             N("Concat", ["n", "eight", "h2r", "wr"], ["shp"], axis=0),
             N("Slice", ["xp", "zero1", "h2r", "two_ax"], ["xs"]),
             N("Reshape", ["xs", "shp"], ["y"], allowzero=1),
             N("Mul", ["hs", "ws"], ["hw"]), N("Reshape", ["hw", "r1"], ["hwr"]),
             N("Concat", ["n", "eight", "hwr"], ["shp3"], axis=0), N("Reshape", ["x", "shp3"], ["z"])]
    inits = [i64("ax0", [0]), i64("one", 1), i64("two", 2), i64("r1", [1]), i64("eight", [8]),
             i64("pads", [0, 0, 0, 0, 0, 0, 1, 0]), i64("zero1", [0]), i64("two_ax", [2])]
    return nodes, inits


@case("channel_shuffle_div_mul_c", inputs=(("x", T.FLOAT, ["N", "C", "H", "W"]),), bindings={"C": 2},
      sizes=[{"N": 1, "C": 2, "H": 3, "W": 7}, {"N": 2, "C": 6, "H": 1, "W": 13}, {"N": 1, "C": 14, "H": 31, "W": 2}])
def _():
    """Channel shuffle with symbolic channels: Shape -> Gather -> Div -> Mul -> chunk by Slice."""
    nodes = [N("Shape", ["x"], ["s"]), N("Gather", ["s", "i1"], ["c"], axis=0),
             N("Div", ["c", "two"], ["half"]), N("Mul", ["half", "one"], ["end0"]),
             N("Unsqueeze", ["end0", "ax0"], ["e0"]),
             N("Slice", ["x", "z1", "e0", "one_ax"], ["a"]),
             N("Slice", ["x", "e0", "big", "one_ax"], ["b"]),
             N("Concat", ["b", "a"], ["cat"], axis=1),
             N("Gather", ["s", "idx"], ["nhw"], axis=0),
             N("Concat", ["nhw_n", "two1", "half1", "nhw_hw"], ["shp"], axis=0),
             N("Slice", ["nhw", "z1", "one1"], ["nhw_n"]), N("Slice", ["nhw", "one1", "big"], ["nhw_hw"]),
             N("Unsqueeze", ["half", "ax0"], ["half1"]),
             N("Reshape", ["cat", "shp"], ["v"]), N("Transpose", ["v"], ["t"], perm=[0, 2, 1, 3, 4]),
             N("Flatten", ["t"], ["f"], axis=1)]
    inits = [i64("i1", 1), i64("two", 2), i64("one", 1), i64("ax0", [0]), i64("z1", [0]), i64("one_ax", [1]),
             i64("big", [BIGI]), i64("idx", [0, 2, 3]), i64("two1", [2]), i64("one1", [1])]
    return nodes, inits


# -- views ------------------------------------------------------------------------------
@case("reshape_flatten", opset=14)
def _():
    nodes = [N("Reshape", ["x", "s0"], ["r0"]), N("Reshape", ["x", "s1"], ["r1"]), N("Reshape", ["x", "s2"], ["r2"]),
             N("Reshape", ["x", "s3"], ["r3"], allowzero=1), N("Reshape", ["x", "s4"], ["r4"]),
             N("Flatten", ["x"], ["f0"]), N("Flatten", ["x"], ["f1"], axis=-1), N("Flatten", ["x"], ["f2"], axis=0),
             N("Flatten", ["x"], ["f3"], axis=4), N("Flatten", ["x"], ["f4"], axis=-3),
             N("Transpose", ["x"], ["t0"]), N("Transpose", ["x"], ["t1"], perm=[0, 2, 3, 1]),
             N("Identity", ["x"], ["id"]), N("Size", ["x"], ["sz"])]
    inits = [i64("s0", [0, -1]), i64("s1", [0, 0, -1]), i64("s2", [-1, 4, 0, 0]), i64("s3", [-1]),
             i64("s4", [0, 2, 2, 2, -1])]
    return nodes, inits


@case("squeeze_unsqueeze_op11", opset=11)
def _():
    nodes = [N("Unsqueeze", ["x"], ["u0"], axes=[0, -1]), N("Unsqueeze", ["x"], ["u1"], axes=[2]),
             N("Squeeze", ["u0"], ["s0"], axes=[0, 5]), N("Squeeze", ["u1"], ["s1"], axes=[-3]),
             N("Slice", ["x", "b3", "e4", "a1"], ["rs"]), N("Squeeze", ["rs"], ["s2"], axes=[1])]
    return nodes, [i64("b3", [3]), i64("e4", [4]), i64("a1", [1])]


@case("squeeze_unsqueeze_op13", opset=13)
def _():
    nodes = [N("Unsqueeze", ["x", "a0"], ["u0"]), N("Unsqueeze", ["x", "a1"], ["u1"]),
             N("Squeeze", ["u0", "a2"], ["s0"]), N("Squeeze", ["u1", "a3"], ["s1"]),
             N("Shape", ["x"], ["sh"]), N("Slice", ["sh", "a4", "a5"], ["h"]), N("Squeeze", ["h"], ["s2"]),
             N("Unsqueeze", ["s2", "a6"], ["s3"])]
    inits = [i64("a0", [-1, 0]), i64("a1", [4]), i64("a6", [0]), i64("a2", [0, -1]), i64("a3", [-1]), i64("a4", [2]), i64("a5", [3])]
    return nodes, inits


@case("concat_split_op11", opset=11)
def _():
    nodes = [N("Concat", ["x", "x"], ["c0"], axis=-1), N("Concat", ["x", "x", "x"], ["c1"], axis=1),
             N("Split", ["c1"], ["p0", "p1", "p2"], axis=1, split=[4, 4, 16]),
             N("Split", ["x"], ["q0", "q1"], axis=1), N("Split", ["c0"], ["w0", "w1"], axis=-1)]
    return nodes, []


@case("split_op13", opset=13)
def _():
    nodes = [N("Split", ["x", "sp"], ["p0", "p1", "p2"], axis=1), N("Split", ["x"], ["q0", "q1", "q2", "q3"], axis=-3)]
    return nodes, [i64("sp", [1, 3, 4])]


@case("split_op18_num_outputs", opset=18, sizes=ok(SIZES, lambda s: s["H"] >= 2 and s["W"] >= 3))
def _():
    nodes = [N("Split", ["x"], ["p0", "p1", "p2"], axis=-1, num_outputs=3),
             N("Split", ["x"], ["q0", "q1"], axis=2, num_outputs=2),
             N("Split", ["x"], ["r0", "r1", "r2"], axis=1, num_outputs=3)]
    return nodes, []


# -- slicing ----------------------------------------------------------------------------
SLICES = [  # starts, ends, axes, steps
    ([1], [BIGI], [2], [1]), ([0], [-1], [-1], [1]), ([2], [5], [2], None), ([-3], [BIGI], [3], [2]),
    ([-1], [-BIGI - 1], [2], [-1]), ([5], [1], [3], [-2]), ([1, 0], [-1, 3], [2, 3], [2, 1]),
    ([0, 2], [8, 6], [1, 2], [3, 1]), ([10], [20], [2], [1]), ([-100], [100], [3], [1]),
    ([3], [0], [2], [-1]), ([-2], [-5], [3], [-1]), ([0], [BIGI], [2], [5]), ([4], [2], [2], [1]),
    ([7], [-BIGI - 1], [1], [-3]), ([1, 1, 1], [-1, -1, -1], [1, 2, 3], [1, 1, 1]),
]


@case("slice_inputs_op13", opset=13)
def _():
    nodes, inits = [], []
    for k, (st, en, ax, sp_) in enumerate(SLICES):
        ins = ["x", f"st{k}", f"en{k}", f"ax{k}"] + ([f"sp{k}"] if sp_ else [])
        inits += [i64(f"st{k}", st), i64(f"en{k}", en), i64(f"ax{k}", ax)] + ([i64(f"sp{k}", sp_)] if sp_ else [])
        nodes.append(N("Slice", ins, [f"y{k}"]))
    nodes.append(N("Slice", ["x", "st0", "en0"], ["d0"]))  # no axes: leading axes
    return nodes, inits


@case("slice_attrs_op9", opset=9)
def _():
    return [N("Slice", ["x"], ["y0"], starts=[1, -2], ends=[BIGI, BIGI], axes=[2, 3]),
            N("Slice", ["x"], ["y1"], starts=[0, 3], ends=[1, -1]),
            N("Slice", ["x"], ["y2"], starts=[2], ends=[-2], axes=[2])], []


@case("slice_gather_shape_values", opset=13)
def _():
    """Slices and gathers of shape vectors, fed into Reshape."""
    nodes = [N("Shape", ["x"], ["s"]), N("Slice", ["s", "m2", "big"], ["hw"]), N("Slice", ["s", "z", "one"], ["n"]),
             N("Slice", ["s", "big_neg", "m5", "z", "m1"], ["rev"]),  # reversed shape, all of it
             N("Split", ["hw"], ["h1", "w1"]), N("Mul", ["h1", "w1"], ["hw_p"]),
             N("Concat", ["n", "eight", "hw_p"], ["shp"], axis=0), N("Reshape", ["x", "shp"], ["y"]),
             N("Gather", ["x", "gi"], ["g0"], axis=1), N("Gather", ["x", "gj"], ["g1"], axis=-1),
             N("Gather", ["s", "gk"], ["g2"]), N("Expand", ["g2", "two"], ["g3"]),
             N("GatherElements", ["x", "ge_idx"], ["g4"], axis=1),
             N("Tile", ["x", "reps"], ["tl"]), N("Tile", ["s", "rep2"], ["stl"]),
             N("Gather", ["rev", "last"], ["n_again"]), N("Unsqueeze", ["n_again", "z"], ["n1"]),
             N("Concat", ["n1", "m1"], ["shp2"], axis=0), N("Reshape", ["x", "shp2"], ["y2"])]
    idx = np.zeros((1, 3, 1, 1), dtype=np.int64)
    inits = [i64("m2", [-2]), i64("big", [BIGI]), i64("z", [0]), i64("one", [1]), i64("big_neg", [-1]),
             i64("m5", [-BIGI - 1]), i64("m1", [-1]), i64("eight", [8]),
             i64("gi", [[0, 7], [3, 3], [1, 2]]), i64("gj", 0), i64("gk", [[1, -1]]), i64("two", [3, 1, 2]),
             numpy_helper.from_array(idx, "ge_idx"), i64("reps", [2, 1, 3, 1]), i64("rep2", [2]), i64("last", -1)]
    return nodes, inits


@case("expand_from_shape", opset=13)
def _():
    nodes = [N("Shape", ["x"], ["s"]), N("Expand", ["bias", "s"], ["e0"]),
             N("Shape", ["x"], ["s2"]), N("Slice", ["s2", "z", "two"], ["nc"]), N("Concat", ["nc", "ones"], ["nc11"], axis=0),
             N("Expand", ["x", "nc11"], ["e1"]), N("ConstantOfShape", ["s"], ["co"]),
             N("ConstantOfShape", ["s2"], ["co2"], value=numpy_helper.from_array(np.array([3], dtype=np.int64), "v")),
             N("Add", ["co2", "one"], ["co3"])]
    inits = [f32("bias", np.ones((8, 1, 1))), i64("z", [0]), i64("two", [2]), i64("ones", [1, 1]), i64("one", [1])]
    return nodes, inits


# -- padding ----------------------------------------------------------------------------
@case("pad_op11", opset=11, sizes=ok(SIZES, lambda s: s["H"] >= 3 and s["W"] >= 3))
def _():
    nodes = [N("Pad", ["x", "p0"], ["y0"]), N("Pad", ["x", "p0", "cv"], ["y1"], mode="constant"),
             N("Pad", ["x", "p1"], ["y2"], mode="reflect"), N("Pad", ["x", "p2"], ["y3"], mode="edge"),
             N("Pad", ["x", "p3"], ["y4"])]
    inits = [i64("p0", [0, 0, 1, 2, 0, 0, 3, 0]), f32("cv", 1.5), i64("p1", [0, 0, 2, 1, 0, 0, 1, 2]),
             i64("p2", [0, 1, 3, 0, 1, 0, 0, 4]), i64("p3", [0, 0, -1, 1, 0, 0, 1, -2])]
    return nodes, inits


@case("pad_op18_axes", opset=18)
def _():
    nodes = [N("Pad", ["x", "p0", "", "ax"], ["y0"]), N("Pad", ["x", "p1", "", "ax1"], ["y1"], mode="edge")]
    return nodes, [i64("p0", [1, 0, 2, 3]), i64("ax", [-1, 2]), i64("p1", [2, 5]), i64("ax1", [3])]


@case("pad_op10_attr", opset=10)
def _():
    return [N("Pad", ["x"], ["y0"], pads=[0, 0, 1, 1, 0, 0, 2, 2]), N("Pad", ["x"], ["y1"], pads=[1, 0, 0, 0, 0, 1, 0, 0], value=2.0)], []


# -- constants, ranges, casts -----------------------------------------------------------
@case("range_constants", opset=13)
def _():
    nodes = [N("Shape", ["x"], ["s"]), N("Gather", ["s", "i2"], ["h"]), N("Gather", ["s", "i3"], ["w"]),
             N("Range", ["z", "h", "one"], ["r0"]), N("Range", ["z", "w", "three"], ["r1"]),
             N("Range", ["h", "z", "m2"], ["r2"]), N("Range", ["w", "h", "one"], ["r3"]),
             N("Range", ["fz", "fl", "fd"], ["r4"]),
             N("Constant", [], ["c0"], value_int=5), N("Constant", [], ["c1"], value_ints=[1, 2, 3]),
             N("Constant", [], ["c2"], value_float=0.5), N("Constant", [], ["c3"], value_floats=[1.0, 2.0]),
             const("c4", np.zeros((2, 3))), N("Cast", ["x"], ["xc"], to=T.FLOAT16),
             N("Cast", ["h"], ["hf"], to=T.FLOAT), N("Div", ["hf", "fthree"], ["hf3"]), N("Cast", ["hf3"], ["hi"], to=T.INT64),
             N("Unsqueeze", ["hi", "zax"], ["hi1"]), N("Concat", ["hi1", "m1"], ["shp"], axis=0),
             N("Slice", ["x", "z1", "hi1", "two_ax"], ["xs"]), N("Reshape", ["xs", "shp"], ["y"]),
             N("Range", ["z", "hi", "one"], ["r5"]),
             N("Dropout", ["x"], ["dr", "mask"]), N("Dropout", ["x", "ratio"], ["dr2"])]
    inits = [i64("i2", 2), i64("i3", 3), i64("z", 0), i64("one", 1), i64("three", 3), i64("m2", -2),
             f32("fz", 0.5), f32("fl", 3.7), f32("fd", 0.75),
             f32("fthree", 3.0), i64("zax", [0]), i64("m1", [-1]), i64("z1", [0]), i64("two_ax", [2]), f32("ratio", 0.1)]
    return nodes, inits


@case("space_depth", sizes=[{"N": 1, "H": 2, "W": 4}, {"N": 2, "H": 14, "W": 6}, {"N": 3, "H": 62, "W": 26}])
def _():
    return [N("DepthToSpace", ["x"], ["d0"], blocksize=2), N("DepthToSpace", ["x"], ["d1"], blocksize=2, mode="CRD"),
            N("SpaceToDepth", ["x"], ["s0"], blocksize=2), N("SpaceToDepth", ["d0"], ["s1"], blocksize=2)], []


@case("castlike", opset=15)
def _():
    return [N("CastLike", ["x", "dbl"], ["xd"]), N("Shape", ["xd"], ["s"]), N("CastLike", ["s", "fl"], ["sf"])], \
        [numpy_helper.from_array(np.zeros(1, np.float64), "dbl"), f32("fl", [1.0])]


@case("topk_arg_onehot", opset=12, sizes=ok(SIZES, lambda s: s["W"] >= 2))
def _():
    nodes = [N("TopK", ["x", "k"], ["v0", "i0"]), N("TopK", ["x", "k3"], ["v1", "i1"], axis=1, largest=0),
             N("ArgMax", ["x"], ["a0"], axis=1), N("ArgMax", ["x"], ["a1"], axis=-1, keepdims=0),
             N("ArgMin", ["x"], ["a2"]), N("ArgMin", ["x"], ["a3"], axis=2, keepdims=0, select_last_index=1),
             N("OneHot", ["a1", "depth", "vals"], ["o0"]), N("OneHot", ["a1", "depth", "vals"], ["o1"], axis=1),
             N("OneHot", ["a1", "depth", "vals"], ["o2"], axis=-4),
             N("Shape", ["x"], ["s"]), N("Gather", ["s", "i3"], ["w"]), N("Unsqueeze", ["w"], ["w1"], axes=[0]),
             N("TopK", ["x", "w1"], ["v2", "i2"])]
    inits = [i64("k", [2]), i64("k3", [3]), i64("depth", 5), f32("vals", [0, 1]), i64("i3", 3), i64("zax", [0])]
    return nodes, inits


@case("topk_op9_nonzero", opset=9)
def _():
    return [N("TopK", ["x"], ["v0", "i0"], k=1, axis=1)], []


def _random_slices(seed, count=48):
    rng = np.random.default_rng(seed)
    picks = [0, 1, 2, 3, 5, 8, 20, -1, -2, -3, -7, -20, BIGI, -BIGI - 1]
    out = []
    for _ in range(count):
        step = int(rng.choice([1, 1, 2, 3, -1, -1, -2, -3]))
        out.append((int(rng.choice(picks)), int(rng.choice(picks)), step))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_random_slices_match_onnxruntime(seed):
    """Random starts/ends/steps (negative, clamped, INT64 extremes) on a symbolic axis."""
    nodes, inits = [], [i64("ax", [2])]
    for k, (st, en, step) in enumerate(_random_slices(seed)):
        inits += [i64(f"s{k}", [st]), i64(f"e{k}", [en]), i64(f"p{k}", [step])]
        nodes.append(N("Slice", ["x", f"s{k}", f"e{k}", "ax", f"p{k}"], [f"y{k}"]))
    model = make_model(nodes, [X], [n.output[0] for n in nodes], inits, opset=13)
    report = analyze_model(model)
    assert not report.errors, report.errors
    for h in (1, 2, 3, 7, 13, 31, 40):
        bad = compare_shapes(model, {"N": 1, "H": h, "W": 2}, report)
        assert not bad, (h, bad)


def test_random_slices_of_shape_values_match_onnxruntime():
    """Known contents through Slice: Shape -> Slice -> ConstantOfShape makes them a shape."""
    nodes, inits = [N("Shape", ["x"], ["s"])], [i64("ax", [0])]
    for k, (st, en, step) in enumerate(_random_slices(7, 40)):
        inits += [i64(f"s{k}", [st]), i64(f"e{k}", [en]), i64(f"p{k}", [step])]
        nodes += [N("Slice", ["s", f"s{k}", f"e{k}", "ax", f"p{k}"], [f"v{k}"]), N("ConstantOfShape", [f"v{k}"], [f"y{k}"])]
    model = make_model(nodes, [X], [o for n in nodes for o in n.output], inits, opset=13)
    report = analyze_model(model)
    assert not report.errors, report.errors
    for dims in SIZES[:3]:
        assert not compare_shapes(model, dims, report)


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnxruntime_oracle(name):
    build, opset, inputs, sizes, bindings = CASES[name]
    nodes, inits = build()
    outs = [o for n in nodes for o in n.output if o]
    model = make_model(nodes, list(inputs), outs, inits, opset=opset)
    report = analyze_model(model, bindings)
    assert not report.errors, report.errors
    assert not report.unaccounted, report.unaccounted
    compared = 0
    for dims in sizes or SIZES:
        if violated(report, dims):
            continue  # outside the domain cnnsym declares for this graph
        bad = compare_shapes(model, dims, report)
        assert not bad, (dims, bad)
        compared += 1
    assert compared >= 2


def test_nonzero_is_opaque_but_ranked():
    model = make_model([N("NonZero", ["x"], ["nz"]), N("Transpose", ["nz"], ["t"])], [X], ["nz", "t"])
    report = analyze_model(model)
    assert not report.errors
    shape = report.tensors["t"].shape
    assert shape[1] == 4 and shape[0].free_symbols and shape[0].is_nonnegative


def test_known_contents_reach_reshape_exactly():
    """The TorchScript channel-shuffle chain gives exact closed forms, no floors of H."""
    nodes, inits = _torchscript_shuffle(13)
    model = make_model(nodes, [X], ["v", "y"], inits, opset=13)
    r = analyze_model(model)
    N_, H, W = (dim_symbol(s) for s in "NHW")
    assert r.tensors["v"].shape == (N_, 2, 4, H, W)
    assert r.tensors["y"].shape == (N_, 8, H, W)
    assert not r.constraints or all(c.rel is not sp.false for c in r.constraints)


def test_receptive_fields_pass_through_views():
    """A 3x3 conv before a channel shuffle, Slice and Pad: fields follow the spatial axes."""
    nodes, inits = _torchscript_shuffle(13)
    nodes = [N("Conv", ["x0", "wt"], ["x"], pads=[1, 1, 1, 1])] + nodes + [
        N("Slice", ["y", "st", "en", "ax", "stp"], ["ys"]), N("Pad", ["ys", "pd"], ["yp"])]
    inits += [f32("wt", np.ones((8, 8, 3, 3))), i64("st", [1]), i64("en", [BIGI]), i64("ax", [3]), i64("stp", [2]),
              i64("pd", [0, 0, 2, 0, 0, 0, 0, 0])]
    model = make_model(nodes, [("x0", T.FLOAT, ["N", 8, "H", "W"])], ["yp"], inits, opset=13)
    r = analyze_model(model)
    rf = r.tensors["yp"].rf
    assert rf is not None and rf[2] is not None and rf[3] is not None
    assert rf[2].size == 3 and rf[2].stride == 1 and rf[2].offset == -2  # pad 2 shifts the centre
    assert rf[3].size == 3 and rf[3].stride == 2 and rf[3].offset == 1  # slice 1::2


# ---------------------------------------------------------------------------------------
# real exports

def _shared_models():
    env = os.environ.get("CNNSYM_SHARED_MODELS")
    p = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "models"
    return p if (p / "ground_truth.json").is_file() else None


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_shufflenet_shapes_match_ground_truth(exporter):
    from cnnsym.analyze import analyze, evaluate
    from cnnsym.frontends.onnx import load

    root = _shared_models()
    if root is None:
        pytest.skip("shared models absent (set CNNSYM_SHARED_MODELS or place them at ../shared/models)")
    gt = json.loads((root / "ground_truth.json").read_text())["models"]["shufflenet_v2_x0_5"]["onnx"][exporter]
    report = analyze(load(str(root / gt["file"])))
    assert not report.errors, report.errors
    mine = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape", "Transpose", "Slice", "Split",
            "Constant", "Cast"}
    assert not [u for u in report.unaccounted if u["op"] in mine]
    status = {r.node.name: r.status for r in report.nodes}
    checked = 0
    for cfg, run in gt["runs"].items():
        b, hw = cfg[1:].split("_")
        h, w = hw.split("x")
        dims = {"batch": int(b), "height": int(h), "width": int(w)}
        bad = []
        for name, want in run["tensors"].items():
            t = report.tensors.get(name)
            if t is not None and t.shape is None and status.get(t.producer) in ("unaccounted", "unresolved"):
                continue  # another module's op (or downstream of one) is missing, not ours
            if t is None or t.shape is None:
                bad.append(f"{name}: no shape")
                continue
            got = [evaluate(d, dims) for d in t.shape]
            checked += 1
            if got != list(want):
                bad.append(f"{name}: {got} != {want}")
        assert not bad, (cfg, bad[:10], len(bad))
    assert checked > 100 * len(gt["runs"])
