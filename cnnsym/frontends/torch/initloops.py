"""Weight-initialisation loops of a model's construction, recognised and not run (issue 12).

Nearly every CNN's ``__init__`` ends with a loop like::

    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            init_range = 1.0 / math.sqrt(m.out_features)
            nn.init.uniform_(m.weight, -init_range, init_range)

It sets parameter values, which a shape and cost analysis does not track (``torch.nn.init``'s
functions are no-ops to the interpreter), and interpreted it runs its tests once per module
of the network: a tenth of building torchvision's efficientnets. Such a loop is skipped
when it provably changes nothing the analysis reads and reads nothing that may be missing:

- it iterates ``X.modules()`` or ``X.children()`` of a module whose class does not define
  that method, and has no ``else``;
- its statements are ``if``/``elif``/``else``, ``pass``, calls of ``torch.nn.init``'s
  functions, and assignments to names that nothing else in the function reads (the loop
  variable included);
- its tests are ``isinstance(m, C)`` with torch layer classes that have weight and bias
  (convolutions, linear, normalisations), ``m.weight``/``m.bias`` compared with None, and
  ``and``/``or``/``not`` of those; every attribute of ``m`` read (weight, bias, their
  ``.data``, and the layer's sizes: ``out_features``, ``kernel_size``, ...) is read under an
  ``isinstance`` test of classes that all have it;
- the other values are numbers, names the loop assigned before on every path, arithmetic
  and ``math`` functions; ``.data`` or an item of weight/bias only where it cannot be None
  (a conv/linear weight, or under ``m.bias is not None``), an item of a size tuple only
  within its length;
- where it runs: ``isinstance`` is the builtin, no layer of the file's own class derived from
  a torch layer defines an attribute read (or ``__getattr__``) or has its weight used as a
  tensor, and a loop that divides or calls math reads no size of 0 or below.

What is skipped could only have said something when a size is symbolic (``math.sqrt`` of a
symbolic width is not followed): a warning about code that changes no shape and no count,
which marked the report incomplete. Anything else runs as written."""
from __future__ import annotations

from . import syntax as cst
from .values import Builtin, Lazy, Module, Namespace, TorchClass, UserClass

_ITERS = ("modules", "children")
# torch layers that always have ``weight`` and ``bias`` (possibly None), and the size
# attributes each family has
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
_NORM = ("num_features", "eps", "momentum")
_LAYER_ATTRS = {
    **{f"Conv{d}d": _CONV for d in (1, 2, 3)},
    **{f"ConvTranspose{d}d": _CONV for d in (1, 2, 3)},
    "Linear": ("in_features", "out_features"),
    **{f"BatchNorm{d}d": _NORM for d in (1, 2, 3)},
    "SyncBatchNorm": _NORM,
    **{f"InstanceNorm{d}d": _NORM for d in (1, 2, 3)},
    "GroupNorm": ("num_groups", "num_channels", "eps"),
    "LayerNorm": ("normalized_shape", "eps"),
}
_ALWAYS = ("weight", "bias")
_NUMBERS = (cst.Integer, cst.Float)
_OPS = ("Add", "Subtract", "Multiply", "Divide", "FloorDivide", "Power", "Modulo")

_SHAPES: dict = {}  # For node -> its _Shape, or None when it is no initialisation loop
_UNREAD: dict = {}  # (For node, function node) -> whether the names it assigns are read elsewhere


class _Shape:
    """What a loop needs checked where it runs: its receiver, the class expressions of its
    isinstance tests, the functions it calls, the names it assigns."""

    __slots__ = ("receiver", "method", "classes", "callees", "assigned", "var", "defined", "partial")

    def __init__(self, receiver, method, var):
        self.receiver, self.method, self.var = receiver, method, var
        self.classes: list = []  # (expression, attributes read under it)
        self.callees: list = []  # expressions: torch.nn.init functions, math functions
        self.assigned: set = {var}
        self.defined: set = {var}  # names assigned before here on every path (a read of another raises)
        self.partial = False  # divides or calls math: a size of 0 (or below) raises there


class _No(Exception):
    pass


def skippable(it, stmt, frame) -> bool:
    """Whether the ``for`` statement ``stmt`` is a weight-initialisation loop that may be
    skipped where it runs now (see the module docstring)."""
    shape = _SHAPES.get(stmt, False)
    if shape is False:
        try:
            shape = _shape(stmt)
        except _No:
            shape = None
        _SHAPES[stmt] = shape
    if shape is None or frame.func is None or frame.decl or frame.scope.stars:
        return False
    key = (stmt, frame.func.node)
    unread = _UNREAD.get(key)
    if unread is None:
        unread = _UNREAD[key] = not _read_elsewhere(frame.func.node, stmt, shape.assigned)
    if not unread:
        return False
    try:
        if shape.classes and _bound(frame, "isinstance"):
            return False  # the file's own isinstance: its calls are what the loop does
        recv = _value(it, shape.receiver, frame)
        if not isinstance(recv, Module) or _overrides(recv, shape.method):
            return False
        deref, read = False, set()
        for expr, attrs in shape.classes:
            cls = _value(it, expr, frame)
            classes = cls if isinstance(cls, tuple) else (cls,)
            for c in classes:
                known = _LAYER_ATTRS.get(c.name) if isinstance(c, TorchClass) else None
                if known is None or not all(_has(c.name, known, a) for a in attrs):
                    return False
                deref = deref or "weight!" in attrs
                read.update(a.rstrip("!").split("[")[0] for a in attrs)
        for expr in shape.callees:
            f = _value(it, expr, frame)
            if not isinstance(f, Builtin) or not (f.name.startswith("torch.nn.init.") or f.name.startswith("math.")):
                return False
    except _No:
        return False
    return not read or not _own_layers(recv, read, deref, shape.partial)


def _own_layers(root, read, deref, partial=False) -> bool:
    """Whether a layer of the file's own class derived from a torch layer may answer a read
    differently: its class defines one of the attributes read (a property) or __getattr__,
    or (``deref``) its weight is used as a tensor (the class may have set it to None); or
    (``partial``: the loop divides or calls math) a layer's size read is 0 or below
    (``1.0 / m.out_features`` of a Linear(8, 0) raises)."""
    seen, todo = set(), [root]
    names = set(read) | {"__getattr__", "__getattribute__"}
    while todo:
        m = todo.pop()
        if not isinstance(m, Module) or id(m) in seen:
            continue
        seen.add(id(m))
        if partial and m.kind in _LAYER_ATTRS and any(_not_positive(m.cfg.get(a)) for a in read):
            return True
        if m.cls is not None and m.kind in _LAYER_ATTRS:
            if deref or any(isinstance(c, UserClass) and not names.isdisjoint(c.ns) for c in m.cls.mro()):
                return True
        todo.extend(m.modules.values())
    return False


def _has(cname, known, a) -> bool:
    """Whether every ``cname`` layer has what the loop reads of it: an attribute, ``a[i]``
    an item of a size tuple, ``a!`` weight or bias used as a tensor (never: either may be None)."""
    if a.endswith("!"):  # weight as a tensor: a Parameter of every convolution and linear layer
        return a == "weight!" and (cname.startswith("Conv") or cname == "Linear")
    if a.endswith("]"):
        name, i = a[:-1].split("[")
        try:
            i = int(i, 0)
        except ValueError:
            return False
        if name == "normalized_shape":
            return i == 0 and name in known
        dims = int(cname[-2]) if cname[-2:-1].isdigit() and cname.endswith("d") else 0
        return name in ("kernel_size", "stride", "dilation") and name in known and i < dims
    return a in _ALWAYS or a in known


def _not_positive(v) -> bool:
    if isinstance(v, (tuple, list)):
        return any(_not_positive(x) for x in v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return bool(getattr(v, "is_nonpositive", False))  # a symbolic size known 0 or below
    return v <= 0


def _value(it, expr, frame):
    """The value of a name or attribute chain, without importing anything it names lazily."""
    if isinstance(expr, cst.Tuple):
        return tuple(_value(it, e.value, frame) for e in expr.elements)
    if isinstance(expr, cst.Attribute):
        base = _value(it, expr.value, frame)
        if not isinstance(base, (Namespace, TorchClass)):
            raise _No
        return it.getattr(base, expr.attr.value, expr)
    name = expr.value
    f = frame
    while f is not None:
        if name in f.locals:
            v = f.locals[name]
            break
        f = f.parent
    else:
        v = frame.scope.globals.get(name, _No)
    if v is _No or isinstance(v, Lazy):
        raise _No
    return v


def _bound(frame, name) -> bool:
    f = frame
    while f is not None:
        if name in f.locals:
            return True
        f = f.parent
    return name in frame.scope.globals


def _overrides(m, method) -> bool:
    cls = m.cls
    return cls is not None and any(isinstance(c, UserClass) and method in c.ns for c in cls.mro())


# ----------------------------------------------------------------------------- the syntax
def _shape(stmt) -> _Shape:
    it = stmt.iter
    if (stmt.orelse is not None or not isinstance(stmt.target, cst.Name) or not isinstance(it, cst.Call)
            or it.args or not isinstance(it.func, cst.Attribute) or it.func.attr.value not in _ITERS
            or not _chain(it.func.value)):
        raise _No
    shape = _Shape(it.func.value, it.func.attr.value, stmt.target.value)
    _block(stmt.body, shape, None)
    return shape


def _chain(e) -> bool:
    return isinstance(e, cst.Name) or (isinstance(e, cst.Attribute) and _chain(e.value))


def _block(body, shape, guard):
    stmts = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
    outer = set(shape.defined)
    try:
        _stmts(stmts, shape, guard)
    finally:
        shape.defined = outer  # a name assigned in a branch is not assigned after it


def _stmts(stmts, shape, guard):
    for s in stmts:
        if isinstance(s, cst.If):
            _if(s, shape, guard)
        elif isinstance(s, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in s.body:
                _small(small, shape, guard)
        elif not isinstance(s, cst.EmptyLine):
            raise _No


def _if(s, shape, guard):
    inner = _test(s.test, shape, guard)
    _block(s.body, shape, inner)
    if s.orelse is None:
        return
    if isinstance(s.orelse, cst.If):
        _if(s.orelse, shape, guard)
    else:
        _block(s.orelse.body, shape, guard)


def _test(t, shape, guard):
    """Checks a test; the guard its true branch runs under (an isinstance test's
    attribute list, which the reads under it fill)."""
    if isinstance(t, cst.Call) and isinstance(t.func, cst.Name) and t.func.value == "isinstance":
        if len(t.args) != 2 or any(a.keyword or a.star for a in t.args) or not _is_var(t.args[0].value, shape):
            raise _No
        cls = t.args[1].value
        if not (_chain(cls) or (isinstance(cls, cst.Tuple) and all(_chain(e.value) for e in cls.elements))):
            raise _No
        _names_not_assigned(cls, shape)
        attrs = []
        shape.classes.append((cls, attrs))
        return attrs, frozenset()
    if isinstance(t, cst.Comparison):
        if len(t.comparisons) != 1 or type(t.comparisons[0].operator).__name__ not in ("Is", "IsNot"):
            raise _No
        right = t.comparisons[0].comparator
        if not (isinstance(right, cst.Name) and right.value == "None"):
            raise _No
        _read(t.left, shape, guard)
        if type(t.comparisons[0].operator).__name__ == "IsNot" and _is_var(t.left.value, shape):
            return guard[0], guard[1] | {t.left.attr.value}  # m.bias is not None and ...
        return guard
    if isinstance(t, cst.BooleanOperation):
        left = _test(t.left, shape, guard)
        if type(t.operator).__name__ == "And":
            return _test(t.right, shape, left)
        _test(t.right, shape, guard)
        return guard
    if isinstance(t, cst.UnaryOperation) and type(t.operator).__name__ == "Not":
        _test(t.expression, shape, guard)
        return guard
    raise _No


def _small(s, shape, guard):
    if isinstance(s, cst.Pass):
        return
    if isinstance(s, cst.Expr) and isinstance(s.value, cst.Call):
        call = s.value
        if not _chain(call.func) or isinstance(call.func, cst.Name):
            raise _No  # torch.nn.init's functions, as nn.init.x or init.x
        _names_not_assigned(call.func, shape)
        shape.callees.append(call.func)
        for a in call.args:
            if a.star:
                raise _No
            _value_expr(a.value, shape, guard)
        return
    if isinstance(s, cst.Assign) and len(s.targets) == 1 and isinstance(s.targets[0].target, cst.Name):
        name = s.targets[0].target.value
        if name == shape.var:
            raise _No
        _value_expr(s.value, shape, guard)
        shape.assigned.add(name)
        shape.defined.add(name)
        return
    raise _No


def _value_expr(e, shape, guard):
    if isinstance(e, _NUMBERS) or isinstance(e, cst.SimpleString):
        return
    if isinstance(e, cst.Name):
        if e.value in shape.defined and e.value != shape.var:
            return  # a number the loop computed before, on every path here
        raise _No
    if isinstance(e, cst.UnaryOperation) and type(e.operator).__name__ in ("Minus", "Plus"):
        _value_expr(e.expression, shape, guard)
        return
    if isinstance(e, cst.BinaryOperation) and type(e.operator).__name__ in _OPS:
        shape.partial = shape.partial or type(e.operator).__name__ in ("Divide", "FloorDivide", "Modulo", "Power")
        _value_expr(e.left, shape, guard)
        _value_expr(e.right, shape, guard)
        return
    if isinstance(e, cst.Call) and isinstance(e.func, cst.Attribute) and isinstance(e.func.value, cst.Name) \
            and e.func.value.value == "math" and "math" not in shape.assigned:
        shape.callees.append(e.func)  # checked where it runs: math's own function
        shape.partial = True
        for a in e.args:
            if a.star or a.keyword:
                raise _No
            _value_expr(a.value, shape, guard)
        return
    if isinstance(e, cst.Subscript) and len(e.slice) == 1 and isinstance(e.slice[0].slice, cst.Index) \
            and isinstance(e.slice[0].slice.value, cst.Integer):
        _read(e.value, shape, guard, e.slice[0].slice.value.value)  # m.kernel_size[0]
        return
    _read(e, shape, guard)


def _read(e, shape, guard, index=None):
    """``m.attr``, ``m.attr[index]`` or ``m.weight.data`` / ``m.bias.data``, under an
    isinstance guard (``guard``: its attribute list, and the attributes tested not None)."""
    deref = index is not None
    if isinstance(e, cst.Attribute) and e.attr.value == "data" and isinstance(e.value, cst.Attribute) \
            and e.value.attr.value in _ALWAYS:
        e, deref = e.value, True
    if guard is None or not isinstance(e, cst.Attribute) or not _is_var(e.value, shape):
        raise _No
    attrs, not_none = guard
    name = e.attr.value
    if name in _ALWAYS and deref and name not in not_none:
        name += "!"  # weight or bias used as a tensor where it may be None
    elif index is not None and name not in _ALWAYS:
        name = f"{name}[{index}]"
    attrs.append(name)


def _is_var(e, shape) -> bool:
    return isinstance(e, cst.Name) and e.value == shape.var


def _names_not_assigned(e, shape):
    while isinstance(e, cst.Attribute):
        e = e.value
    if isinstance(e, cst.Tuple):
        for x in e.elements:
            _names_not_assigned(x.value, shape)
        return
    if isinstance(e, cst.Name) and e.value in shape.assigned:
        raise _No


def _read_elsewhere(func, loop, names) -> bool:
    """Whether any of ``names`` appears in ``func`` outside ``loop`` where it could see what
    the loop assigned (skipping the loop then may change what the function sees). Inside
    another ``for`` loop that rebinds a name (``for m in self.modules()`` again), that name
    is the other loop's own."""
    found = []

    def visit(n, names):
        if n is loop or found or not names:
            return
        if isinstance(n, cst.Name):
            if n.value in names:
                found.append(n)
            return
        if isinstance(n, cst.For) and isinstance(n.target, cst.Name) and n.target.value in names:
            visit(n.iter, names)
            inner = names - {n.target.value}
            for c in (n.body.body if isinstance(n.body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else n.body):
                visit(c, inner)
            if n.orelse is not None:
                visit(n.orelse, names)  # after no iteration at all, the name is still the first loop's
            return
        for c in n.children():
            visit(c, names)

    body = func.body
    for s in (body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body):
        visit(s, frozenset(names))
    return bool(found)
