"""What a rule sees: the Report, the configured input size (``bindings``, or None when
none is known), and helpers to walk the graph and evaluate formulas. Rules never read
the model's source text; locations come from the Report's nodes."""
from __future__ import annotations

import os
from types import SimpleNamespace

import sympy as sp

from . import Finding, Related
from ..domain import DEFAULT_SPATIAL, _lambdified, describe, violated
from ..report import evaluate
from ..symbolic import to_str

SCAN_LIMIT = 1024  # sizes tried when asking "does any input size fit?"


class LintContext:
    def __init__(self, report, *, bindings=None, spatial=(), model="", path="", options=None, skipped=(),
                 batch=()):
        self.report = report
        self.bindings = dict(bindings) if bindings else None
        self.spatial = [s for s in spatial]  # spatial symbol names, in input axis order
        self.batch = set(batch)
        self.model = model
        self.path = path
        self.options = options or {}
        self.skipped = list(skipped)
        self._by_name = {r.node.name: r for r in report.nodes}
        self._consumers = None
        self._cache = {}

    # ----------------------------------------------------------------- graph
    def nodes(self, *op_types):
        for r in self.report.nodes:
            if not op_types or r.node.op_type in op_types:
                yield r

    def node(self, name):
        return self._by_name.get(name)

    def consumers(self, tensor):
        if self._consumers is None:
            c = {}
            for r in self.report.nodes:
                for i in r.node.inputs:
                    if i:
                        c.setdefault(i, []).append(r)
            self._consumers = c
        return self._consumers.get(tensor, [])

    def producer(self, tensor):
        t = self.report.tensors.get(tensor)
        return self._by_name.get(t.producer) if t is not None and t.producer else None

    def is_graph_output(self, tensor):
        return tensor in self.report.outputs

    def shape(self, tensor):
        t = self.report.tensors.get(tensor)
        return None if t is None else t.shape

    def is_param(self, tensor):
        """A tensor no node produces and no graph input is: an initializer (weight, bias)."""
        return tensor not in self.report.tensors

    # ----------------------------------------------------------------- values
    @property
    def has_size(self):
        return self.bindings is not None

    def decidable(self, expr):
        """Every symbol of ``expr`` has a value at the configured size."""
        return self.bindings is not None and all(s.name in self.bindings for s in getattr(expr, "free_symbols", ()))

    def value(self, expr):
        """Exact value at the configured size (None without one or with unbound symbols)."""
        if not self.decidable(expr):
            return None
        return evaluate(expr, self.bindings)

    def at(self) -> str:
        """'H=32, W=32' for messages."""
        if not self.bindings:
            return "no configured size"
        names = [s for s in self.spatial if s in self.bindings] or list(self.bindings)
        return ", ".join(f"{k}={self.bindings[k]}" for k in names)

    def fmt(self, expr) -> str:
        return to_str(expr)

    def violated(self, c):
        """A constraint fails at the configured size; without one, when no input size in
        1..SCAN_LIMIT satisfies it (None: cannot tell, e.g. it involves a non-spatial symbol
        that has no value)."""
        syms = {s.name for s in c.rel.free_symbols}
        if self.bindings is not None:
            if not syms <= set(self.bindings):
                return None
            return bool(violated(SimpleNamespace(constraints=[c]), self.bindings))
        if not syms or not syms <= set(self.spatial):
            return None
        if self._holds_at_default(c, syms):
            return False  # a size the scan would try fits (exact; no scan compiled)
        if len(syms) > 1 and self._holds_on_sample(c, syms):
            return False  # a size of the scan's grid fits: no need to scan all of it
        return not self.scan([c], syms).any()

    @staticmethod
    def _holds_at_default(c, syms, limit=SCAN_LIMIT):
        """Whether ``c`` holds, by exact substitution, with every symbol at the default
        spatial size (224), when that size is on the grid :meth:`scan` and
        :meth:`_holds_on_sample` try (1..limit on one axis; 1..per, ``per`` a multiple-of-8
        sample included, on several): then one of their points fits, as they would find.
        A substitution costs a tenth of compiling the scan (issue 12)."""
        per = limit if len(syms) == 1 else min(max(2, int(round((2_000_000) ** (1 / len(syms))))), limit)
        if DEFAULT_SPATIAL > per:
            return False
        try:
            return c.rel.xreplace({s: sp.Integer(DEFAULT_SPATIAL) for s in c.rel.free_symbols}) is sp.true
        except (TypeError, ValueError):  # e.g. a division by zero inside Max: let the scan decide
            return False

    def _holds_on_sample(self, c, over, limit=SCAN_LIMIT):
        """Whether ``c`` holds somewhere on a sample of :meth:`scan`'s grid of ``over`` (sizes
        1..8, the multiples of 8 and the largest, on every axis: a few thousand of its million
        points, where sizes that fit usually are): True proves the grid has a fitting size,
        False says nothing."""
        import numpy as np

        syms, ok = _lambdified(SimpleNamespace(constraints=[c]))
        if ok is None:
            return False
        over = sorted(over)
        per = min(max(2, int(round((2_000_000) ** (1 / len(over))))), limit)
        axis = np.unique(np.concatenate([np.arange(1, min(8, per) + 1), np.arange(8, per + 1, 8), [per]]))
        axes = np.meshgrid(*[axis] * len(over), indexing="ij")
        vals = {n: 1 for n in (s.name for s in syms)}
        vals.update({n: a.ravel() for n, a in zip(over, axes)})
        return bool(ok(**vals).any())

    def scan(self, constraints, over, square=False, limit=SCAN_LIMIT, fixed=None):
        """Boolean array of where all ``constraints`` hold with the symbols in ``over``
        varied over 1..limit (jointly when ``square``, else as a grid), the rest at the
        configured size (or ``fixed``)."""
        import numpy as np

        # by the relations, not the Constraint objects' ids: a rule's temporary Constraint is
        # freed after its scan and the next one may get its id (a later layer was given an
        # earlier one's sizes); ``fixed`` changes the result, so it is part of the key
        key = (tuple(c.rel for c in constraints), tuple(sorted(over)), square, limit,
               tuple(sorted((fixed or {}).items())))
        if key in self._cache:
            return self._cache[key]
        syms, ok = _lambdified(SimpleNamespace(constraints=list(constraints)))
        over = [s for s in sorted(over)]
        base = {**(self.bindings or {}), **(fixed or {})}
        names = [s.name for s in syms]
        if ok is None:
            res = np.ones(1, bool)
        elif square or len(over) <= 1:
            grid = np.arange(1, limit + 1)
            vals = {n: (grid if n in over else base.get(n, 1)) for n in names}
            res = ok(**vals)
        else:
            per = max(2, int(round((2_000_000) ** (1 / len(over)))))
            per = min(per, limit)
            axes = np.meshgrid(*[np.arange(1, per + 1)] * len(over), indexing="ij")
            vals = {n: base.get(n, 1) for n in names}
            for n, a in zip(over, axes):
                if n in vals:
                    vals[n] = a.ravel()
            res = ok(**vals) if any(n in over for n in names) else ok(**{n: np.asarray([v]) for n, v in vals.items()})
        self._cache[key] = res
        return res

    def fits(self, constraints, syms) -> str:
        """Where ``constraints`` hold, described for a message: 'H=W in 28..31' (square
        sizes) or 'H in 32k' (one axis, the others at the configured size)."""
        syms = [s for s in self.spatial if s in syms] or sorted(syms)
        if not syms:
            return ""
        if len(syms) == 1:
            d = describe(self.scan(constraints, syms, limit=4096))
            return f"{syms[0]} in {d['text']}" if d["min"] is not None else ""
        same = len({(self.bindings or {}).get(s) for s in syms}) == 1 or self.bindings is None
        if same:
            d = describe(self.scan(constraints, syms, square=True, limit=4096))
            if d["min"] is not None:
                return f"{'='.join(syms)} in {d['text']}"
        parts = []
        for s in syms:
            d = describe(self.scan(constraints, [s], limit=4096))
            if d["min"] is not None:
                parts.append(f"{s} in {d['text']} (others as configured)")
        return "; ".join(parts)

    # ----------------------------------------------------------------- findings
    def location(self, node):
        """(path, line, col, other lines): the layer's definition for source models (its
        call in forward as the alternative noqa line), line 1 col 1 of the file for ONNX."""
        loc = getattr(node, "loc", None) or getattr(node, "call_loc", None)
        if loc is not None:
            call = getattr(node, "call_loc", None)
            alt = (call.line,) if call is not None and call.path == loc.path and call.line != loc.line else ()
            return loc.path, loc.line, loc.col, alt
        return self.path, 1, 1, ()

    def finding(self, rule, node, message, fix=None, arg=None, related=()):
        """A Finding of ``rule`` at ``node`` (a NodeResult, a Node, a node name or None for
        the model as a whole).

        ``arg``: the layer's constructor argument the finding is about (torch's parameter
        name, e.g. ``"in_channels"``, or several to try in order). When the source frontend
        knows where that argument's integer literal was written (``Node.arg_locs``: through
        a chain of constructor calls such as ``ResidualBlock(32, 128)`` ->
        ``nn.Conv2d(in_channels, ...)``), the finding points there, the line a user edits;
        the calls that built the layer (``Node.loc_chain``, outermost first) and ``related``
        ((SourceLoc, note) pairs) become related locations."""
        if isinstance(node, str):
            node = self._by_name.get(node)
        n = getattr(node, "node", node)
        notes = []
        if n is not None:
            path, line, col, alt = self.location(n)
            lit = _literal_loc(n, arg)
            chain = tuple(getattr(n, "loc_chain", ()) or ())
            if lit is not None and not self._own(lit[1].path):
                lit = None  # written inside a library: the user edits their own call instead
            target = lit[1] if lit is not None else None
            if target is None and chain and not self._own(path):
                target = next((c for c in chain if self._own(c.path)), None)
            if target is not None and (target.path, target.line, target.col) != (path, line, col):
                alt = tuple(alt) + (line,) if target.path == path else ()
                path, line, col = target.path, target.line, target.col
            if chain and (len(chain) > 1 or (chain[-1].path, chain[-1].line) != (path, line)):
                what = f"{n.name!r}" if getattr(n, "name", "") else "the layer"
                for i, loc in enumerate(chain):
                    text = (f"{what} is constructed here" if i == len(chain) - 1
                            else f"{what} is built through this call")
                    notes.append((loc, text))
                alt = tuple(alt) + tuple(c.line for c in chain if c.path == path)
        else:
            path, line, col, alt = self.path, 1, 1, ()
        notes.extend(related)
        rel, seen = [], {(path, line)}
        for loc, text in notes:
            if loc is None:
                continue
            key = (loc.path, loc.line)
            if key in seen:
                continue
            seen.add(key)
            rel.append(Related(display_path(loc.path), loc.line, loc.col, text))
        alt = tuple(dict.fromkeys(a for a in alt if a != line))
        name = getattr(n, "name", "") if n is not None else ""
        return Finding(rule.code, rule.name, rule.severity, message, display_path(path), line, col, name,
                       self.model, alt, fix if fix is not None else rule.fix, tuple(rel))

    def _own(self, path) -> bool:
        """``path`` is in the analysed model's own code: its file's folder or below (not an
        installed library the model imports)."""
        if not self.path or not path:
            return True
        mine = os.path.dirname(os.path.abspath(self.path))
        return os.path.abspath(path).startswith(mine + os.sep)

    def arg_loc(self, node, arg):
        """Where the literal of constructor argument ``arg`` of ``node`` was written (a
        SourceLoc), or None."""
        n = getattr(node, "node", node)
        lit = _literal_loc(n, arg) if n is not None else None
        return None if lit is None else lit[1]

    def describe(self, node_result) -> str:
        n = node_result.node
        return f"{n.name!r} ({n.op_type})"


def _literal_loc(n, arg):
    """(argument name, SourceLoc) of the first of ``arg`` whose literal location the node
    records (``Node.arg_locs``), or None."""
    if not arg:
        return None
    locs = getattr(n, "arg_locs", None) or {}
    for a in ((arg,) if isinstance(arg, str) else arg):
        loc = locs.get(a)
        if loc is not None and getattr(loc, "line", None):
            return a, loc
    return None


def display_path(path: str) -> str:
    """Relative to the working directory when below it."""
    if not path:
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
