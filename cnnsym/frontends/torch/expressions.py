"""The interpreter's expressions: names, literals, f-strings, comprehensions, operators,
comparisons, subscripts and calls, each evaluator registered for its node type (.syntax) in
``EXPRESSIONS``. A mixin of :class:`~.interpreter.Interp`."""
from __future__ import annotations

from . import syntax as cst
import sympy as sp

from . import consts
from .consts import ConstTensor
from .registry import BUILTINS, EXPRESSIONS, OPS
from .scope import Frame
from .statements import _MISSING
from .values import (Builtin, Gen, LitInt, Namespace, Param, Stop, Tensor, Unknown, UserFunction, dict_key, norm,
                     num)

_EXC_NAMES = {"ValueError", "TypeError", "NotImplementedError", "RuntimeError", "KeyError", "AssertionError",
              "Exception", "IndexError", "AttributeError", "ImportError", "Warning", "UserWarning", "FutureWarning",
              "DeprecationWarning", "RuntimeWarning", "StopIteration", "OSError", "LookupError", "ZeroDivisionError",
              "ModuleNotFoundError", "BaseException", "NameError", "OverflowError", "PendingDeprecationWarning"}


def _literal(e):
    """An Integer, Float or SimpleString node's value (the parser evaluated it)."""
    return e.value


# Displays whose every leaf is a string or float literal (or None, True, False), such as
# torchvision's 1,000 category names or a weights entry's metrics, built once per syntax node
# and copied on each evaluation as Python makes a new list or dict each time (issue 12: a
# module level that lists categories ran ~1,600 evaluations each time a file was read).
# Integer literals are left out: while building, each is a LitInt that remembers where it
# was written.
_FOLDED: dict = {}  # display node -> a function making its value, or None (not constant)
_UNSEEN = object()
_NAMED = {"None": None, "True": True, "False": False}


def _folded(e):
    proto = _constant(e)
    if proto is None:
        make = None
    else:
        value = proto[0]
        if not _mutable_inside(value):
            make = (lambda: value) if isinstance(value, tuple) else value.copy
        else:
            make = lambda: _fresh(value)  # noqa: E731
    if len(_FOLDED) >= 50_000:
        _FOLDED.clear()
    _FOLDED[e] = make
    return make


def _constant(e):
    """(value,) of a literal made of strings, floats, None/True/False and lists, tuples and
    dicts of them, as the interpreter evaluates it; None for anything else."""
    t = type(e)
    if t is cst.SimpleString or t is cst.Float:
        return (e.value,)
    if t is cst.Name:
        return (_NAMED[e.value],) if e.value in _NAMED else None
    if t is cst.ConcatenatedString:
        a, b = _constant(e.left), _constant(e.right)
        return None if a is None or b is None else (str(a[0]) + str(b[0]),)
    if t is cst.List or t is cst.Tuple:
        vals = []
        for el in e.elements:
            if type(el) is not cst.Element:
                return None
            v = _constant(el.value)
            if v is None:
                return None
            vals.append(v[0])
        return (vals if t is cst.List else tuple(vals),)
    if t is cst.Dict:
        out = {}
        for el in e.elements:
            if type(el) is not cst.DictElement:
                return None
            k, v = _constant(el.key), _constant(el.value)
            if k is None or v is None:
                return None
            out[dict_key(k[0])] = v[0]
        return (out,)
    return None


def _mutable_inside(v) -> bool:
    items = v.values() if isinstance(v, dict) else v
    return any(isinstance(x, (list, dict, tuple)) for x in items)


def _fresh(v):
    if isinstance(v, list):
        return [_fresh(x) for x in v]
    if isinstance(v, dict):
        return {k: _fresh(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return tuple(_fresh(x) for x in v)
    return v


class Expressions:
    def eval(self, e, frame):
        t = type(e)
        m = EXPRESSIONS.get(t)
        if m is None:
            raise Stop(f"{t.__name__} expressions are not followed")
        return m(self, e, frame)

    @EXPRESSIONS.register([cst.Name])
    def _name(self, e, frame):
        n = e.value
        f = frame
        while f is not None:
            if n in f.locals:
                return f.locals[n]
            f = f.parent
        g = frame.scope.globals
        v = self.lookup_global(frame.scope, n)
        if n in frame.scope.free and (v is _MISSING or isinstance(v, Unknown)):
            return self.free_symbol(frame.scope, n)
        if v is not _MISSING:
            return v
        b = BUILTINS.get(n)
        if b is not None:
            return b
        for star in ("__star_torch.nn", "__star_torch"):
            if star in g:
                v = self.getattr(g[star], n, e)
                if not isinstance(v, Namespace):
                    return v
        if n in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[n]
        if n in _EXC_NAMES:
            return Builtin(n, lambda *a, **k: Unknown(n))
        raise Stop(f"name {n!r} is not defined")

    @EXPRESSIONS.register([cst.Attribute])
    def _attr(self, e, frame):
        return self.getattr(self.eval(e.value, frame), e.attr.value, e)

    @EXPRESSIONS.register([cst.Integer])
    def _int(self, e, frame):
        v = _literal(e)
        if self.phase == "forward" or not isinstance(v, int):
            return v
        return LitInt(v, site=(frame.scope, e))  # where it was written: lint's "line to edit" (issue 13.5)

    @EXPRESSIONS.register([cst.SimpleString])
    def _string(self, e, frame):
        return _literal(e)

    @EXPRESSIONS.register([cst.ConcatenatedString])
    def _concat(self, e, frame):
        a, b = self.eval(e.left, frame), self.eval(e.right, frame)
        return str(a) + str(b)

    @EXPRESSIONS.register([cst.FormattedString])
    def _fstring(self, e, frame):
        return self._fparts(e.parts, frame)

    def _fparts(self, parts, frame):
        """An f-string's text: conversions (!r, !s, !a; ``{x=}`` is ``x=`` then ``!r``) and
        format specs that hold replacement fields themselves (``{x:>{w}}``), as Python does."""
        out = []
        for p in parts:
            if isinstance(p, cst.FormattedStringText):
                out.append(p.value)
                continue
            v = norm(self.eval(p.expression, frame))
            conv = {"r": repr, "s": str, "a": ascii}.get(p.conversion)
            if conv is not None:
                v = conv(v)
            spec = self._fparts(p.format_spec, frame) if p.format_spec else ""
            try:
                out.append(format(v, spec))
            except (TypeError, ValueError):
                out.append(str(v))
        return "".join(out)

    @EXPRESSIONS.register([cst.List])
    def _list(self, e, frame):
        make = _FOLDED.get(e, _UNSEEN)
        if make is _UNSEEN:
            make = _folded(e)
        if make is not None:
            return make()
        return self._elements(e, frame)

    def _elements(self, e, frame):
        out = []
        for el in e.elements:
            if isinstance(el, cst.StarredElement):
                out.extend(self.iterate(self.eval(el.value, frame), el))
            else:
                out.append(self.eval(el.value, frame))
        return out

    @EXPRESSIONS.register([cst.Tuple])
    def _tuple(self, e, frame):
        make = _FOLDED.get(e, _UNSEEN)
        if make is _UNSEEN:
            make = _folded(e)
        if make is not None:
            return make()
        return tuple(self._elements(e, frame))

    @EXPRESSIONS.register([cst.Set])
    def _set(self, e, frame):
        return OPS.make_set(self, self._elements(e, frame))

    @EXPRESSIONS.register([cst.Dict])
    def _dict(self, e, frame):
        make = _FOLDED.get(e, _UNSEEN)
        if make is _UNSEEN:
            make = _folded(e)
        if make is not None:
            return make()
        out = {}
        for el in e.elements:
            if isinstance(el, cst.StarredDictElement):
                out.update(self.eval(el.value, frame))
            else:
                out[dict_key(self.eval(el.key, frame))] = self.eval(el.value, frame)
        return out

    def _comp(self, e, frame, kind):
        inner = Frame(frame.scope, frame, frame.func, frame.self_obj)
        out = [] if kind != "dict" else {}

        def run(cf):
            for v in self.iterate(self.eval(cf.iter, inner), cf.iter):
                self.assign(cf.target, v, inner)
                if all(self.truth(self.eval(c.test, inner), c.test) for c in cf.ifs):
                    if cf.inner_for_in is not None:
                        run(cf.inner_for_in)
                    elif kind == "dict":
                        out[dict_key(self.eval(e.key, inner))] = self.eval(e.value, inner)
                    else:
                        out.append(self.eval(e.elt, inner))

        run(e.for_in)
        return tuple(out) if kind == "tuple" else out

    @EXPRESSIONS.register([cst.ListComp])
    def _listcomp(self, e, frame):
        return self._comp(e, frame, "list")

    @EXPRESSIONS.register([cst.SetComp])
    def _setcomp(self, e, frame):
        return OPS.make_set(self, self._comp(e, frame, "list"))

    @EXPRESSIONS.register([cst.DictComp])
    def _dictcomp(self, e, frame):
        return self._comp(e, frame, "dict")

    @EXPRESSIONS.register([cst.BinaryOperation])
    def _binop(self, e, frame):
        return self.binop(type(e.operator).__name__, self.eval(e.left, frame), self.eval(e.right, frame), e)

    @EXPRESSIONS.register([cst.UnaryOperation])
    def _unary(self, e, frame):
        v = self.eval(e.expression, frame)
        op = type(e.operator).__name__
        if op == "Not":
            return not self.truth(v, e)
        if isinstance(v, Tensor):
            if op == "Minus":
                return OPS.tensor_unary(self, "Neg", v)
            return v
        if isinstance(v, Unknown):
            return v
        if isinstance(v, ConstTensor):
            return consts.binop("Multiply", v, -1) if op == "Minus" else v
        if op == "Minus":
            return norm(-num(v)) if isinstance(v, sp.Basic) else -v
        if op == "Plus":
            return v
        if op == "BitInvert":
            return ~v
        raise Stop(f"unary {op}")

    @EXPRESSIONS.register([cst.BooleanOperation])
    def _boolop(self, e, frame):
        left = self.eval(e.left, frame)
        if isinstance(left, Unknown):
            # `unknown and False` is False, `unknown or True` is True; otherwise still unknown
            try:
                right = self.eval(e.right, frame)
            except Stop:
                return left
            known = self.known_truth(right)
            if isinstance(e.operator, cst.And):
                return right if known is False else left
            return right if known is True else left
        if isinstance(e.operator, cst.And):
            return self.eval(e.right, frame) if self.truth(left, e.left) else left
        return left if self.truth(left, e.left) else self.eval(e.right, frame)

    @EXPRESSIONS.register([cst.Comparison])
    def _compare(self, e, frame):
        left = self.eval(e.left, frame)
        for ct in e.comparisons:
            right = self.eval(ct.comparator, frame)
            r = self.compare(type(ct.operator).__name__, left, right, e)
            if not self.truth(r, e):
                return False
            left = right
        return True

    @EXPRESSIONS.register([cst.IfExp])
    def _ifexp(self, e, frame):
        return self.eval(e.body, frame) if self.truth(self.eval(e.test, frame), e.test) else self.eval(e.orelse, frame)

    @EXPRESSIONS.register([cst.Subscript])
    def _subscript(self, e, frame):
        obj = self.eval(e.value, frame)
        if isinstance(obj, Param) and self.phase == "forward":
            obj = self.builder.materialize(obj)
        if isinstance(obj, Tensor):
            return OPS.tensor_index(self, obj, e.slice, frame)
        key = self.eval_slice(e.slice, frame)
        if isinstance(obj, Param):  # weight.data[0][0] in __init__ (initialisation code): a view
            return self._param_view(obj, key if isinstance(key, tuple) else (key,))
        return self.getitem(obj, key, e)

    def _param_view(self, p, keys):
        shape = list(p.shape)
        out, i = [], 0
        for k in keys:
            if k is None:
                out.append(1)
                continue
            if i >= len(shape):
                raise Stop("too many indices for a parameter")
            if isinstance(k, slice):
                if k == slice(None):
                    out.append(shape[i])
                else:
                    n = self.concrete_int(shape[i], "parameter size")
                    out.append(len(range(*slice(*(None if v is None else self.concrete_int(v, "index")
                                                 for v in (k.start, k.stop, k.step))).indices(n))))
            else:
                self.concrete_int(k, "index")
            i += 1
        return Param(p.owner, p.pname, out + shape[i:], p.dtype, p.role)

    def eval_slice(self, elems, frame):
        keys = []
        for el in elems:
            s = el.slice
            if isinstance(s, cst.Index):
                keys.append(self.eval(s.value, frame))
            else:
                lo = None if s.lower is None else self.eval(s.lower, frame)
                hi = None if s.upper is None else self.eval(s.upper, frame)
                st = None if s.step is None else self.eval(s.step, frame)
                keys.append(slice(_idx(lo), _idx(hi), _idx(st)))
        return keys[0] if len(keys) == 1 else tuple(keys)

    @EXPRESSIONS.register([cst.Lambda])
    def _lambda(self, e, frame):
        return UserFunction(e, frame.scope, frame)

    @EXPRESSIONS.register([cst.Call])
    def _call(self, e, frame):
        func = self.eval(e.func, frame)
        args, kwargs = [], {}
        for a in e.args:
            v = self.eval(a.value, frame)
            if a.star == "*":
                args.extend(self.iterate(v, a.value))
            elif a.star == "**":
                if not isinstance(v, dict):
                    raise Stop("**kwargs of an unknown mapping")
                kwargs.update(v)
            elif a.keyword is not None:
                kwargs[a.keyword.value] = v
            else:
                args.append(v)
        return self.call(func, args, kwargs, e)

    @EXPRESSIONS.register([cst.Ellipsis])
    def _ellipsis(self, e, frame):
        return Ellipsis

    @EXPRESSIONS.register([cst.NamedExpr])
    def _namedexpr(self, e, frame):
        v = self.eval(e.value, frame)
        self.assign(e.target, v, frame)
        return v

    @EXPRESSIONS.register([cst.Float])
    def _float(self, e, frame):
        return _literal(e)


    @EXPRESSIONS.register([cst.GeneratorExp])
    def _genexp(self, e, frame):
        return Gen(self._comp(e, frame, "list"))


def _idx(v):
    v = norm(v)
    return v
