"""Python's object model as the interpreter follows it: truth values, operators and
comparisons (on ints, sympy expressions, tensors), iteration, indexing, attribute lookup
(modules, classes, ``super()``, namedtuples), calls and argument binding. What is torch's
(a tensor's ``+``, a layer's attribute) is delegated through ``OPS``. A mixin of
:class:`~.interpreter.Interp`."""
from __future__ import annotations

import os

from . import syntax as cst
import sympy as sp

from ...symbolic import dim_symbol, fdiv, imod
from . import consts
from .consts import ConstTensor, np  # numpy, imported on first use
from .imports import module_name
from .registry import OPS
from .scope import FileScope, Frame
from .values import (MAX_DEPTH, MAX_LOOP, MAX_RECURSION, NS, ArgParser, BoundMethod, Builtin, Fatal, Gen, Module,
                     Namespace, NTuple, Obj, Param, Partial, Return, Stop, Super, Tensor, TensorCtor, TorchClass,
                     Unknown, UserClass, UserFunction, dict_key, norm, ntuple_make, num)

_PYOPS = {
    "Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b,
    "Divide": lambda a, b: a / b, "FloorDivide": lambda a, b: a // b, "Modulo": lambda a, b: a % b,
    "Power": lambda a, b: a ** b, "BitOr": lambda a, b: a | b, "BitAnd": lambda a, b: a & b,
    "BitXor": lambda a, b: a ^ b, "LeftShift": lambda a, b: a << b, "RightShift": lambda a, b: a >> b,
}


class Semantics:
    active: dict  # UserFunction node -> how many of its calls are running (the recursion bound)
    _current_func = None  # the running method and its self, for zero-argument super()
    _current_self = None

    def truth(self, v, node=None):
        if isinstance(v, (bool, int, float, str, list, tuple, dict)) or v is None:
            return bool(v)
        if isinstance(v, sp.Basic):
            if v is sp.true:
                return True
            if v is sp.false:
                return False
            if v.is_number:
                return bool(v != 0)
            r = v if isinstance(v, sp.logic.boolalg.Boolean) else sp.Ne(v, 0)
            d = self.at_defaults(r)
            if d is not None:
                self.diag(f"condition {v} depends on a symbol; followed at its default value ({bool(d)})")
                return bool(d)
            self.diag(f"condition {v} depends on the input size; assumed true")
            return True
        if isinstance(v, Tensor):
            n = sp.Mul(*v.shape) if v.shape is not None and all(d is not None for d in v.shape) else None
            # bool() of a tensor that never has exactly one element raises in torch (WideResNet's
            # "(not eq) and conv(x) or x" shortcut): a multiple of k > 1 elements never has one
            if n is not None and (sp.Ne(n, 1) is sp.true or sp.Integer(n.as_coeff_Mul()[0]) > 1):
                raise Stop(f"the truth value of a tensor of {n} elements: torch raises RuntimeError "
                           "(Boolean value of Tensor with more than one value is ambiguous)")
            self.diag("control flow depends on tensor values (data-dependent); assumed true")
            return True
        if isinstance(v, Unknown):
            self.unfollowed(f"condition on an unknown value ({v.why}); assumed false")
            return False
        return True

    def known_truth(self, v):
        """True or False when the value's truth is known without assuming anything, else None."""
        if isinstance(v, (bool, int, float, str, list, tuple, dict)) or v is None:
            return bool(v)
        if isinstance(v, sp.Basic) and (v is sp.true or v is sp.false or v.is_number):
            return bool(v is sp.true or (v.is_number and v != 0))
        return None

    def at_defaults(self, e):
        """``e`` with hyperparameter symbols at their defaults and input symbols at 224 (a
        heuristic for shape-dependent branches); None if still symbolic."""
        sub = {}
        for s in e.free_symbols:
            if s.name in self.symbol_defaults:
                sub[s] = self.symbol_defaults[s.name]
        if not sub:
            return None
        v = e.xreplace(sub)
        if v in (sp.true, sp.false):
            return v is sp.true
        if getattr(v, "is_number", False):
            return v
        return None

    def concrete_int(self, v, what="value"):
        v = norm(v)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, sp.Basic):
            d = self.at_defaults(v)
            if d is not None and getattr(d, "is_number", False):
                self.diag(f"{what} {v} must be concrete here (structure); used its default {int(d)}")
                return int(d)
        raise Stop(f"{what} {v} is not a known integer")

    def binop(self, op, a, b, node):
        if isinstance(a, Tensor) or isinstance(b, Tensor) or isinstance(a, Param) or isinstance(b, Param):
            return OPS.tensor_binop(self, op, a, b)
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        if isinstance(a, TensorCtor) or isinstance(b, TensorCtor):
            return OPS.ctor_binop(self, op, a, b)
        if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
            x, y = num(a), num(b)
            if not isinstance(x, sp.Basic) or not isinstance(y, sp.Basic):
                raise Stop(f"{op} of a symbol and {type(a if not isinstance(a, sp.Basic) else b).__name__}")
            if op == "Add":
                r = x + y
            elif op == "Subtract":
                r = x - y
            elif op == "Multiply":
                r = x * y
            elif op == "Divide":
                r = x / y
            elif op == "FloorDivide":
                r = fdiv(x, y) if (x.is_integer and y.is_Integer and y > 0) else sp.floor(x / y)
            elif op == "Modulo":
                r = imod(x, y) if y.is_Integer and x.is_integer else sp.Mod(x, y)
            elif op == "Power":
                r = x ** y
            else:
                raise Stop(f"operator {op} on symbols")
            return norm(r)
        if op == "Power" and isinstance(b, int) and isinstance(a, int) and abs(b) > 4096:
            raise Stop("integer power too large")
        if op in ("Multiply", "LeftShift") and isinstance(a, (list, tuple, str, int)) and isinstance(b, (list, tuple, str, int)):
            n = b if isinstance(b, int) else a if isinstance(a, int) else 0
            seq = a if not isinstance(a, int) else b if not isinstance(b, int) else None
            if (seq is not None and n * len(seq) > MAX_LOOP * 100) or (op == "LeftShift" and n > 4096):
                raise Stop("value too large to follow")
        if getattr(a, "is_set", False) and op in ("Subtract", "BitOr", "BitAnd", "BitXor"):
            return OPS.set_binop(self, op, a, b)
        try:
            return _PYOPS[op](a, b)
        except KeyError:
            raise Stop(f"operator {op}")
        except ZeroDivisionError:
            raise Stop("division by zero")
        except TypeError:
            raise Stop(f"{op} of {type(a).__name__} and {type(b).__name__}")

    def compare(self, op, a, b, node):
        if op in ("Is", "IsNot"):
            same = (a is b) or (a is None and b is None) or (isinstance(a, (bool,)) and a == b)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                if a is None or b is None:
                    self.diag("`is None` on an unknown value: assumed not None")
                    same = False
            return same if op == "Is" else not same
        if op in ("In", "NotIn"):
            if isinstance(b, Unknown):
                return Unknown("in")
            if isinstance(a, Unknown):
                return a
            if isinstance(b, Module):
                r = OPS.container_contains(self, b, a)
            else:
                try:
                    if isinstance(b, str):
                        if not isinstance(a, str):
                            raise Stop(f"`in <str>` needs a string on the left, not {type(a).__name__}")
                        r = a in b  # a substring test
                    else:
                        r = dict_key(a) in b if isinstance(b, dict) else any(self._eq(a, x) for x in b)
                except TypeError:
                    raise Stop("`in` on a value that is not a container")
            return r if op == "In" else not r
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return OPS.tensor_compare(self, op, a, b)
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return a if isinstance(a, Unknown) else b
        if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
            x, y = num(a), num(b)
            if not isinstance(x, sp.Basic) or not isinstance(y, sp.Basic):
                return op == "NotEqual"
            rel = {"Equal": sp.Eq, "NotEqual": sp.Ne, "LessThan": sp.Lt, "LessThanEqual": sp.Le,
                   "GreaterThan": sp.Gt, "GreaterThanEqual": sp.Ge}[op](x, y)
            return rel
        try:
            return {"Equal": lambda: a == b, "NotEqual": lambda: a != b, "LessThan": lambda: a < b,
                    "LessThanEqual": lambda: a <= b, "GreaterThan": lambda: a > b,
                    "GreaterThanEqual": lambda: a >= b}[op]()
        except TypeError:
            raise Stop(f"cannot compare {type(a).__name__} and {type(b).__name__}")

    def _eq(self, a, b):
        if isinstance(a, (sp.Basic,)) or isinstance(b, sp.Basic):
            return bool(sp.Eq(num(a), num(b)) is sp.true) if not isinstance(a, str) and not isinstance(b, str) else False
        if isinstance(a, (Module, TorchClass, UserClass, Tensor)) or isinstance(b, (Module, TorchClass, UserClass, Tensor)):
            return a is b or a == b
        try:
            return a == b
        except Exception:  # noqa: BLE001
            return False

    def iterate(self, v, node=None):
        if isinstance(v, (list, tuple)):
            return list(v)
        if isinstance(v, dict):
            return list(v.keys())
        if isinstance(v, str):
            return list(v)
        if isinstance(v, range):
            return list(v)
        if isinstance(v, Module):
            return OPS.container_iter(self, v)
        if isinstance(v, Tensor):
            if v.shape and v.shape[0].is_Integer:
                return [OPS.tensor_select(self, v, i) for i in range(int(v.shape[0]))]
            raise Stop("iterating over a tensor of unknown length")
        if isinstance(v, Unknown):
            raise Stop(f"iterating over an unknown value ({v.why})")
        if isinstance(v, Gen):
            return v.items
        if isinstance(v, ConstTensor):
            return [consts.wrap(r, v.torch_dtypes) if isinstance(r, np.ndarray) else ConstTensor(np.asarray(r))
                    for r in v.arr] if v.arr.ndim else _raise(Stop("iterating over a 0-d tensor"))
        raise Stop(f"cannot iterate over {type(v).__name__}")

    def getitem(self, obj, key, node):
        if isinstance(obj, (list, tuple, str)):
            if isinstance(key, slice):
                return obj[key]
            return obj[self.concrete_int(key, "index")]
        if isinstance(obj, dict):
            k = dict_key(key)
            if k not in obj:
                return OPS.dict_missing(self, obj, k)
            return obj[k]
        if isinstance(obj, Module):
            return OPS.container_getitem(self, obj, key)
        if isinstance(obj, ConstTensor):
            r = obj.arr[tuple(norm(x) for x in key) if isinstance(key, tuple) else norm(key)]
            return ConstTensor(np.asarray(r), obj.torch_dtypes) if obj.torch_dtypes or isinstance(r, np.ndarray) \
                else r.item()
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, (TorchClass, Namespace)):
            return obj  # typing subscripts: Optional[int], List[...]
        raise Stop(f"cannot index {type(obj).__name__}")

    # attributes -------------------------------------------------------------
    def getattr(self, obj, name, node):
        if isinstance(obj, Module):
            return self.module_getattr(obj, name)
        if isinstance(obj, Tensor) or isinstance(obj, Param):
            return OPS.tensor_attr(self, obj, name)
        if isinstance(obj, Namespace):
            return OPS.resolve(self, obj.path + "." + name)
        if isinstance(obj, FileScope):
            v = self.import_name(obj, name, obj, "", 0)
            if isinstance(v, Unknown) and v.why.startswith(f"{name} (not found"):
                if name == "__name__":
                    return module_name(obj.path)
                raise Stop(f"{name!r} not found in {os.path.basename(obj.path)}")
            return v
        if isinstance(obj, UserClass):
            for c in obj.mro():
                if isinstance(c, UserClass) and name in c.ns:
                    v = c.ns[name]
                    if isinstance(v, UserFunction) and v.kind == "classmethod":
                        return BoundMethod(obj, v)
                    return v
            if name in ("__name__", "__qualname__"):
                return obj.name
            if name == "__module__":
                return module_name(obj.scope.path)
            if name == "apply" and any(isinstance(b, Namespace) and b.path.endswith("autograd.Function")
                                       for c in obj.mro() if isinstance(c, UserClass) for b in c.bases):
                return Builtin("apply", lambda it_, a, k, s: it_.call(  # Function.apply: forward(ctx, ...)
                    it_.getattr(obj, "forward", s), [_autograd_ctx(), *a], k, s))
            raise Stop(f"class {obj.name} has no attribute {name!r}")
        if isinstance(obj, TensorCtor):
            return OPS.ctor_attr(self, obj, name)
        if isinstance(obj, NTuple):
            if name in obj.fields:
                return obj.field(name)
            if name == "_fields":
                return tuple(obj.fields)
            if name == "_asdict":
                return Builtin(name, lambda it_, a, k, s: dict(zip(obj.fields, obj)))
            if name == "_replace":
                return Builtin(name, lambda it_, a, k, s: ntuple_make(
                    type(obj), [k.get(f, v) for f, v in zip(obj.fields, obj)]))
            raise Stop(f"namedtuple has no attribute {name!r}")
        if isinstance(obj, Obj):
            if name in obj.attrs:
                return obj.attrs[name]
            return self.class_attr(obj, obj.cls, name)
        if isinstance(obj, NS):
            if name in obj.attrs:
                return obj.attrs[name]
            raise Stop(f"namespace has no attribute {name!r}")
        if isinstance(obj, Super):
            return self.super_attr(obj, name)
        if isinstance(obj, TorchClass):
            if name == "__init__":
                return Builtin("__init__", lambda it, a, k, s: OPS.init_layer(self, obj.name, a[0], a[1:], k, s))
            if name == "forward":
                return Builtin("forward", lambda it, a, k, s: OPS.layer_forward(self, a[0], a[1:], k, s, kind=obj.name))
            if name == "__name__":
                return obj.name
            return Unknown(f"nn.{obj.name}.{name}")
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, ArgParser):
            return OPS.argparse_attr(self, obj, name)
        if isinstance(obj, (UserFunction, Builtin)) and name in ("__name__", "__qualname__"):
            return obj.name
        if isinstance(obj, UserFunction) and name == "__module__":
            return module_name(obj.scope.path)
        if isinstance(obj, (UserFunction, Builtin)) and name == "__class__":
            return Namespace("types.FunctionType")
        return OPS.python_attr(self, obj, name)

    def class_attr(self, obj, cls, name):
        for c in cls.mro():
            if isinstance(c, UserClass) and name in c.ns:
                v = c.ns[name]
                if isinstance(v, UserFunction):
                    if v.kind == "staticmethod":
                        return v
                    if v.kind == "property":
                        return self.call_function(v, [obj], {}, None)
                    if v.kind == "classmethod":
                        return BoundMethod(cls, v)
                    return BoundMethod(obj, v)
                return v
        if name == "__class__":
            return cls
        if name == "__module__":
            return module_name(cls.scope.path)
        raise Stop(f"{cls.name} object has no attribute {name!r}")

    def module_getattr(self, m: Module, name):
        if name in m.params:
            return m.params[name]
        if name in m.buffers:
            return m.buffers[name]
        if name in m.modules:
            return m.modules[name]
        if name in m.attrs:
            return m.attrs[name]
        if m.cls is not None:
            try:
                return self.class_attr(m, m.cls, name)
            except Stop:
                pass
        return OPS.module_method(self, m, name)

    def super_attr(self, sup: Super, name):
        obj = sup.obj
        cls = obj.cls if isinstance(obj, (Module, Obj)) else obj
        mro = cls.mro() if isinstance(cls, UserClass) else []
        try:
            start = mro.index(sup.cls) + 1
        except ValueError:
            start = 0
        for c in mro[start:]:
            if isinstance(c, UserClass) and name in c.ns:
                v = c.ns[name]
                if isinstance(v, UserFunction) and v.kind == "function":
                    return BoundMethod(obj, v)
                return v
            if isinstance(c, TorchClass):
                if name == "__init__":
                    kind = c.name
                    return Builtin("__init__", lambda it, a, k, s: OPS.init_layer(self, kind, obj, a, k, s))
                if name == "forward":
                    kind = c.name
                    return Builtin("forward", lambda it, a, k, s: OPS.layer_forward(self, obj, a, k, s, kind=kind))
                return OPS.module_method(self, obj, name) if isinstance(obj, Module) else Unknown(name)
        if name == "__init__":
            rest = [c for c in mro[start:] if isinstance(c, UserClass)]
            if rest and isinstance(obj, Obj):  # a dataclass base: its generated __init__
                return Builtin("__init__", lambda it, a, k, s: self.dataclass_init(obj, rest, a, k))
            return Builtin("__init__", lambda it, a, k, s: None)
        raise Stop(f"super() has no attribute {name!r}")

    def setattr(self, obj, name, v, node):
        if isinstance(obj, Module):
            OPS.module_setattr(self, obj, name, v)
        elif isinstance(obj, FileScope):
            obj.globals[name] = v  # mod.__all__ = [...] on a module object
        elif isinstance(obj, (Obj, NS)):
            obj.attrs[name] = v
        elif isinstance(obj, (Tensor, Param)):
            return  # x.data = ..., x.requires_grad = False
        elif isinstance(obj, Unknown):
            return
        else:
            raise Stop(f"cannot set attribute {name!r} on {type(obj).__name__}")

    # calls ------------------------------------------------------------------
    def call(self, f, args, kwargs, node):
        if isinstance(f, Builtin):
            return f.fn(self, args, kwargs, node)
        if isinstance(f, UserFunction):
            return self.call_function(f, args, kwargs, node)
        if isinstance(f, BoundMethod):
            if isinstance(f.func, UserFunction):
                return self.call_function(f.func, [f.obj, *args], kwargs, node)
            return self.call(f.func, [f.obj, *args], kwargs, node)
        if isinstance(f, UserClass):
            return self.instantiate(f, args, kwargs, node)
        if isinstance(f, TorchClass):
            return OPS.construct(self, f.name, args, kwargs, node)
        if isinstance(f, Module):
            return OPS.call_module(self, f, args, kwargs, node)
        if isinstance(f, Partial):
            return self.call(f.func, [*f.args, *args], {**f.kwargs, **kwargs}, node)
        if isinstance(f, Namespace):
            return OPS.call_external(self, f.path, args, kwargs, node)
        if isinstance(f, Unknown):
            return OPS.call_unknown(self, f.why, args, kwargs, node)
        if isinstance(f, ArgParser):
            raise Stop("calling a parser")
        if isinstance(f, Obj) and f.cls is not None:
            return self.call(self.class_attr(f, f.cls, "__call__"), args, kwargs, node)  # obj(...): __call__
        raise Stop(f"calling a {type(f).__name__} value")

    def instantiate(self, cls: UserClass, args, kwargs, node):
        if "__cnnsym_enum_members__" in cls.ns:
            return OPS.enum_lookup(self, cls, args)  # Format('NCHW'): the member, not a new object
        mro = cls.mro()
        torch_base = next((c for c in mro if isinstance(c, TorchClass)), None)
        scope = cls.scope
        loc = self.site_loc() or scope.loc(cls.node)
        if torch_base is not None:
            obj = Module(cls=cls, loc=loc)
            obj.loc_chain = self.build_chain(self._call_loc(node))
        else:
            obj = Obj(cls)
        init = None
        for c in mro:
            if isinstance(c, UserClass) and "__init__" in c.ns:
                init = c.ns["__init__"]
                break
            if isinstance(c, TorchClass):
                break
        if init is not None:
            self.call_function(init, [obj, *args], kwargs, node)
        elif torch_base is not None and torch_base.name != "Module":
            OPS.init_layer(self, torch_base.name, obj, args, kwargs, node)
        elif isinstance(obj, Obj):
            self.dataclass_init(obj, mro, args, kwargs)
        return obj

    def dataclass_init(self, obj, classes, args, kwargs):
        """The __init__ a dataclass or NamedTuple class gets (:mod:`.pystdlib`)."""
        return OPS.dataclass_init(self, obj, classes, args, kwargs)

    def call_function(self, f: UserFunction, args, kwargs, node):
        active = self.active.get(f.node, 0)
        if active >= MAX_RECURSION:
            raise Fatal(f"{f.name}() calls itself more than {MAX_RECURSION} deep: unbounded recursion is not "
                        "followed (torch would raise RecursionError)")
        self.active[f.node] = active + 1
        undecorated = self.__dict__.get("undecorated")
        if undecorated and f.node in undecorated and self.building:
            self.unfollowed(undecorated[f.node])
        self.call_locs.append(self._call_site(node))
        try:
            return self._call_method(f, args, kwargs, node)
        finally:
            self.active[f.node] = active
            self.call_locs.pop()

    def _call_loc(self, node):
        """Where the running code calls (``node``, in the caller's file), for loc_chain;
        None for a call written nowhere in a file (the model spec, an implicit call)."""
        scope, _ = self.where()
        if node is not None and scope is not None:
            loc = scope.loc(node)
            if loc.line:
                return loc
        return None

    def _call_site(self, node):
        """(file, node) of the call running now, resolved to a SourceLoc only when a module is
        built under it (positions of a file are computed on first use: most calls are not)."""
        scope = self.site_stack[-1][0] if self.site_stack else None
        return (scope, node) if (node is not None and scope is not None) else None

    def build_chain(self, loc):
        """The calls that build a module constructed at ``loc`` now, outermost first, ending
        at ``loc`` (calls made from outside any file, e.g. the model spec, are left out)."""
        for i, c in enumerate(self.call_locs):
            if type(c) is tuple:
                self.call_locs[i] = c = c[0].loc(c[1])
        chain = [c for c in self.call_locs if c is not None and c.line]
        if loc is not None and (not chain or chain[-1] != loc):
            chain.append(loc)
        return tuple(chain)

    def _call_method(self, f: UserFunction, args, kwargs, node):
        prev = (self._current_func, self._current_self)
        self._current_func = f
        self._current_self = args[0] if args else None
        try:
            return self._call_function(f, args, kwargs, node)
        finally:
            self._current_func, self._current_self = prev

    def _call_function(self, f: UserFunction, args, kwargs, node):
        if self.depth > MAX_DEPTH:
            raise Stop("recursion too deep")
        frame = Frame(f.scope, f.closure, f)
        self.bind(f, frame, args, kwargs)
        if f.owner is not None and args:
            frame.self_obj = args[0]
        self.depth += 1
        try:
            if isinstance(f.node, cst.Lambda):
                return self.eval(f.node.body, frame)
            if OPS.is_generator(f.node):
                frame.yields = []  # run to the end at once, its values an iterator (.pygen)
            try:
                self.exec_body(f.node.body, frame)
            except Return as r:
                return r.value if frame.yields is None else Gen(frame.yields)
            return None if frame.yields is None else Gen(frame.yields)
        finally:
            self.depth -= 1

    def bind(self, f, frame, args, kwargs):
        p = f.node.params
        positional = list(p.posonly_params) + list(p.params)
        loc = frame.locals
        args = list(args)
        kwargs = dict(kwargs)
        made = f.defaults or _NO_DEFAULTS  # made when the function was defined (cache={})
        for i, prm in enumerate(positional):
            n = prm.name.value
            if i < len(args):
                loc[n] = args[i]
            elif n in kwargs:
                loc[n] = kwargs.pop(n)
            elif n in made:
                loc[n] = made[n]
            elif prm.default is not None:
                loc[n] = self.eval(prm.default, Frame(f.scope, f.closure))
            else:
                raise Stop(f"{f.name}() missing argument {n!r}")
        extra = args[len(positional):]
        if isinstance(p.star_arg, cst.Param):
            loc[p.star_arg.name.value] = tuple(extra)
        elif extra:
            raise Stop(f"{f.name}() takes {len(positional)} positional arguments, {len(args)} given")
        for prm in p.kwonly_params:
            n = prm.name.value
            if n in kwargs:
                loc[n] = kwargs.pop(n)
            elif n in made:
                loc[n] = made[n]
            elif prm.default is not None:
                loc[n] = self.eval(prm.default, Frame(f.scope, f.closure))
            else:
                raise Stop(f"{f.name}() missing keyword argument {n!r}")
        if p.star_kwarg is not None:
            loc[p.star_kwarg.name.value] = kwargs
        elif kwargs:
            raise Stop(f"{f.name}() got unexpected keyword arguments {', '.join(kwargs)}")
        if self.symbolic and self.phase == "init":
            for n in list(loc):
                if n in self.symbolic and isinstance(loc[n], int) and not isinstance(loc[n], bool):
                    self.symbol_defaults.setdefault(n, loc[n])
                    loc[n] = dim_symbol(n)


_NO_DEFAULTS: dict = {}


def _raise(e):
    raise e


def _autograd_ctx():
    """The ``ctx`` a torch.autograd.Function's forward gets: what it saves for backward is
    not needed by a shape analysis."""
    ctx = Obj(None)
    for n in ("save_for_backward", "mark_dirty", "mark_non_differentiable", "set_materialize_grads"):
        ctx.attrs[n] = Builtin(n, lambda it, a, k, s: None)
    return ctx
