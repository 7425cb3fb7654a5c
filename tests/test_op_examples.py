"""Every registered op's examples are its tests: output shapes, MACs, terms and known
values, compared by equivalence (exact integer evaluation at many points), not strings."""
import itertools

import pytest
import sympy as sp

from cnnsym.errors import ShapeError
from cnnsym.graph import Value
from cnnsym.ops import REGISTRY, load_builtin_ops
from cnnsym.symbolic import as_expr, dim_symbol

load_builtin_ops()

CASES = [pytest.param(cls, i, case, id=f"{cls.op_type}-{i}")
         for (_, _), cls in sorted(REGISTRY.items()) for i, case in enumerate(cls.examples)]


def parse(text):
    if text is None:
        return None
    names = {}

    def sym(tok):
        return sp.sympify(tok, locals={s: dim_symbol(s) for s in _names(tok)})

    text = str(text).strip()
    if text == "":
        return ()
    return tuple(sym(t) for t in _split(text))


def _split(text):
    depth, cur, out = 0, "", []
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return [t.strip() for t in out]


def _names(tok):
    import re
    return set(re.findall(r"[A-Za-z_]\w*", tok)) - {"floor", "ceiling", "Min", "Max", "Mod"}


def equivalent(a, b):
    a, b = as_expr(a), as_expr(b)
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if not syms:
        return sp.nsimplify(a - b) == 0
    points = [1, 2, 3, 7, 13, 31, 64, 97]
    for combo in itertools.islice(itertools.product(points, repeat=len(syms)), 300):
        sub = {s: sp.Integer(v) for s, v in zip(syms, combo)}
        if sp.nsimplify(a.xreplace(sub) - b.xreplace(sub)) != 0:
            return False
    return True


@pytest.mark.parametrize("cls,i,case", CASES)
def test_op_example(cls, i, case):
    inputs = []
    for k, spec in enumerate(case.inputs):
        if spec is None:
            inputs.append(None)
            continue
        val = case.values.get(k)
        if val is not None:
            val = tuple(sp.sympify(v, locals={n: dim_symbol(n) for n in _names(str(v))}) if isinstance(v, str) else as_expr(v)
                        for v in val)
        inputs.append(Value(parse(spec), case.dtypes.get(k, 1 if val is None else 7), val))
    op = cls(case.attrs, case.opset)
    if case.raises:
        with pytest.raises(ShapeError, match=case.raises):
            op.infer(inputs)
        return
    res = op.infer(inputs)
    if case.out is not None:
        outs = case.out if isinstance(case.out, tuple) else (case.out,)
        for k, spec in enumerate(outs):
            want = parse(spec)
            got = res.outputs[k].shape
            assert len(got) == len(want), (got, want)
            for g, w in zip(got, want):
                assert equivalent(g, w), f"output {k}: {got} vs expected {want}"
    if case.macs is not None:
        assert equivalent(res.macs, sp.sympify(case.macs, locals={n: dim_symbol(n) for n in _names(case.macs)}))
    for name, want in case.terms.items():
        assert equivalent(res.terms.get(name, 0), sp.sympify(want, locals={n: dim_symbol(n) for n in _names(want)})), name
    if case.value is not None:
        got = res.outputs[0].value
        want = [sp.sympify(v, locals={n: dim_symbol(n) for n in _names(str(v))}) if isinstance(v, str) else as_expr(v)
                for v in case.value]
        assert got is not None and len(got) == len(want) and all(equivalent(g, w) for g, w in zip(got, want)), (got, want)


def test_every_op_has_examples_and_docstring():
    missing = [cls.op_type for cls in REGISTRY.values() if not cls.examples or not (cls.__doc__ or "").strip()]
    assert not missing, missing
