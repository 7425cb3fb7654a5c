"""The example plugin, installed: its op is found through the entry point, computes what
its examples say, shows up in `cnnsym ops` with its origin, and its rule fires."""
import json
import os
import subprocess
import sys

import pytest
import sympy as sp

from cnnsym.errors import ShapeError
from cnnsym.graph import Value
from cnnsym.ops import lookup
from cnnsym.symbolic import dim_symbol

import cnnsym_example_op
from cnnsym_example_op import DOMAIN, FusedConv


def shape(text):
    names = {t for t in text.replace("(", ",").replace(")", ",").replace("*", ",").replace("-", ",")
             .replace("/", ",").split(",") if t.strip().isidentifier() and t.strip() != "ceiling"}
    loc = {n.strip(): dim_symbol(n.strip()) for n in names}
    return tuple(sp.sympify(t, locals=loc) for t in _split(text))


def _split(text):
    depth, cur, out = 0, "", []
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    return out + [cur]


SYMS = {s: dim_symbol(s) for s in ("N", "H", "W")}


def same(a, b):
    a = sp.sympify(a, locals=SYMS) if isinstance(a, str) else a
    b = sp.sympify(b, locals=SYMS) if isinstance(b, str) else b
    return all(a.xreplace({SYMS[s]: k for s in SYMS}) == b.xreplace({SYMS[s]: k for s in SYMS})
               for k in (1, 2, 7, 16, 33))


def test_found_through_the_entry_point():
    assert lookup("FusedConv", DOMAIN) is FusedConv
    assert FusedConv.origin.startswith("cnnsym-example-op")


@pytest.mark.parametrize("i", range(len(FusedConv.examples)))
def test_examples(i):
    case = FusedConv.examples[i]
    ins = [Value(shape(s)) for s in case.inputs]
    op = FusedConv(case.attrs)
    if case.raises:
        with pytest.raises(ShapeError, match=case.raises):
            op.infer(ins)
        return
    inf = op.infer(ins)
    want = shape(case.out)
    assert len(inf.outputs[0].shape) == len(want)
    for a, b in zip(inf.outputs[0].shape, want):
        assert same(a, b), (a, b)
    if case.macs:
        assert same(inf.macs, case.macs)
    for k, v in case.terms.items():
        assert same(inf.terms[k], v), k
    assert set(inf.terms) == set(case.terms)


def _model(tmp_path, act="Relu"):
    from cnnsym.lint.examples import onnx_model
    import onnx

    m = onnx_model(f'''
        m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w, float[8] b> {{
          y = example.cnnsym.FusedConv<activation="{act}", pads=[1,1,1,1]>(x, w, b)
        }}''')
    p = tmp_path / "fused.onnx"
    onnx.save(m, str(p))
    return p


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_report_counts_the_op(tmp_path):
    p = _model(tmp_path)
    r = cli("report", p, "--format", "json", "--bind", "H=32,W=32")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["complete"] and not doc["unaccounted"]
    assert doc["values"]["macs"] == 8 * 3 * 9 * 32 * 32
    assert doc["values"]["terms"]["activation"] == 8 * 32 * 32
    assert doc["values"]["params"]["trainable"] == 8 * 3 * 9 + 8


def test_ops_and_rules_list_the_plugin():
    r = cli("ops", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = [o for o in json.loads(r.stdout)["ops"] if o["op_type"] == "FusedConv" and o["domain"] == DOMAIN]
    assert rows and rows[0]["origin"].startswith("cnnsym-example-op")
    r = cli("rules", "--format", "json")
    doc = json.loads(r.stdout)
    assert any(x["code"] == "EXO101" and x["origin"].startswith("cnnsym-example-op") for x in doc["rules"])
    assert any(p["name"] == "example-op" and "EXO101" in p["rules"] for p in doc["plugins"])


@pytest.mark.parametrize("act,fires", [("Gelu", True), ("HardSwish", False)])
def test_rule(tmp_path, act, fires):
    p = _model(tmp_path, act)
    r = cli("lint", p, "--select", "EXO", "--format", "concise", "--no-cache")
    assert r.returncode == (1 if fires else 0), r.stdout + r.stderr
    assert ("EXO101" in r.stdout) == fires
