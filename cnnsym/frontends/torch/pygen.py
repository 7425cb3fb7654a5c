"""Generator functions (a ``def`` whose body holds ``yield`` / ``yield from``), as model
code uses them to walk module trees (``for name, m in named_modules(model)``).

A call runs the body to its end at once and returns the values it yielded, in order, as
an iterator (:class:`~.values.Gen`): what a consumer that reads every item sees. The body's
side effects happen at the call rather than interleaved with the consumer's, which only
differs for code whose consumer and generator change the same state between items. A
generator that never ends (``while True: yield ...``) stops at the interpreter's loop
bound and is reported as not followed, never cut short silently. ``send()`` values are
not modelled: a ``yield`` expression evaluates to None, as with ``next()``."""
from __future__ import annotations

from . import syntax as cst

from .registry import EXPRESSIONS, OPS
from .values import MAX_LOOP, Stop

MAX_YIELDS = MAX_LOOP * 10  # values one generator call may produce

_IS_GEN: dict = {}


class _Finder(cst.CSTVisitor):
    def __init__(self):
        self.found = False

    def visit_Yield(self, node):
        self.found = True
        return False

    # a yield inside a nested function or class belongs to that one
    def visit_FunctionDef(self, node):
        return False

    def visit_ClassDef(self, node):
        return False

    def visit_Lambda(self, node):
        return False


@OPS.register()
def is_generator(node) -> bool:
    """Whether the function ``node`` (a .syntax FunctionDef) is a generator function."""
    hit = _IS_GEN.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    f = _Finder()
    if isinstance(node, cst.FunctionDef):
        node.body.visit(f)
    if len(_IS_GEN) > 65536:
        _IS_GEN.clear()
    _IS_GEN[id(node)] = (node, f.found)
    return f.found


@EXPRESSIONS.register([cst.Yield])
def _yield(it, e, frame):
    f = frame
    while f is not None and getattr(f, "yields", None) is None and f.func is None:
        f = f.parent
    out = getattr(f, "yields", None) if f is not None else None
    if out is None:
        raise Stop("yield outside a generator function")
    if isinstance(e.value, cst.From):
        out.extend(it.iterate(it.eval(e.value.item, frame)))
    elif e.value is not None:
        out.append(it.eval(e.value, frame))
    else:
        out.append(None)
    if len(out) > MAX_YIELDS:
        raise Stop(f"a generator yielding more than {MAX_YIELDS} values is not followed")
    return None
