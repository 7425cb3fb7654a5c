"""Einsum: shapes from the equation, MACs from the contraction.

https://onnx.ai/onnx/operators/onnx__Einsum.html
"""
from __future__ import annotations

import sympy as sp

from . import Case, Inference, Op, numel, register
from ._broadcast import broadcast


def agree(op, a, b, message):
    """Constraints for two dims that must be equal (a failure when they never are)."""
    eq = sp.Eq(a, b)
    if eq is sp.false:
        op.fail(f"{message}: {a} vs {b}", kind="shape", expected=a, got=b)
    return [] if eq is sp.true else [(eq, f"{op.op_type} {message}")]


def _terms(op, equation):
    eq = equation.decode() if isinstance(equation, bytes) else str(equation)
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    for t in terms + ([rhs] if arrow else []):
        body = t.replace("...", "", 1)
        if not all(ch.isalpha() for ch in body) or "." in body:
            op.fail(f"equation {equation!r}: term {t!r} is not letters with at most one '...'")
    return terms, (rhs if arrow else None)


@register
class Einsum(Op):
    """Einstein summation over letters; ``...`` stands for broadcast dims.

    Each letter's dim is the same in every term that names it (a constraint when
    symbolic). The ``...`` dims of all operands broadcast together (numpy rules). Output:
    the explicit right-hand side, or (implicit mode) the ``...`` dims then the letters
    that appear once, in alphabetical order.
    macs = (operands - 1) * prod(...dims) * prod(every letter's dim): the naive contraction,
    one multiply-accumulate per term of the sum (an optimised contraction order may need
    fewer for three or more operands). One operand (transpose, trace, sum over letters):
    no macs; term reduce = numel(input) when a letter is summed away.
    """

    op_type = "Einsum"
    reads_values = False
    attributes = {"equation": ""}
    examples = [
        Case(("M,K", "K,N"), "M,N", equation="ij,jk->ik", macs="M*K*N"),
        Case(("B,M,K", "B,K,N"), "B,M,N", equation="bij,bjk->bik", macs="B*M*K*N"),
        Case(("N,C,H,W",), "N,H,W,C", equation="nchw->nhwc"),
        Case(("3,3",), "", equation="ii", terms={"reduce": "9"}),
        Case(("N,5,H", "5,H"), "N", equation="...ij,ij", macs="5*N*H"),
        Case(("A,B",), "B,A", equation="ji"),  # implicit output: letters once, sorted: "ij"
        Case(("N,S,D", "N,T,D"), "N,S,T", equation="bid,bjd->bij", macs="N*S*T*D"),
        Case(("2,3", "4,5"), equation="ij,jk->ik", raises="letter j"),
    ]

    def infer(self, inputs):
        terms, rhs = _terms(self, self["equation"])
        present = [v for v in inputs if v is not None]
        if len(terms) != len(present):
            self.fail(f"equation {self['equation']!r} has {len(terms)} operands, {len(present)} given")
        dims, cons, ellipses = {}, [], []
        for t, v in zip(terms, present):
            if v.shape is None:
                self.fail("operand rank unknown")
            letters = t.replace("...", "")
            n_ell = len(v.shape) - len(letters)
            if n_ell < 0 or (n_ell > 0 and "..." not in t):
                self.fail(f"term {t!r} does not match operand rank {len(v.shape)}")
            pos = t.find("...")
            if pos < 0:
                own, ell = list(zip(t, v.shape)), ()
            else:
                ell = tuple(v.shape[pos:pos + n_ell])
                own = list(zip(t[:pos], v.shape[:pos])) + list(zip(t[pos + 3:], v.shape[pos + n_ell:]))
            ellipses.append(ell)
            for ch, d in own:
                if ch in dims:
                    cons += agree(self, dims[ch], d, f"letter {ch} names different dims")
                else:
                    dims[ch] = d
        ell, bcons, _ = broadcast(self, ellipses) if any(ellipses) else ((), [], ())
        cons += bcons
        if rhs is None:
            once = [ch for ch in dims if sum(t.count(ch) for t in terms) == 1]
            rhs = "..." + "".join(sorted(once))
        out = []
        for ch in rhs.replace("...", "\0"):
            if ch == "\0":
                out.extend(ell)
            elif ch not in dims:
                self.fail(f"output letter {ch} appears in no operand")
            else:
                out.append(dims[ch])
        full = numel(ell) * numel(list(dims.values()))
        macs = (len(present) - 1) * full
        terms_ = {}
        if len(present) == 1 and set(dims) - set(rhs):
            terms_["reduce"] = numel(present[0].shape)
        return Inference([present[0].__class__(tuple(out), present[0].dtype)], macs, terms_, None, cons)
