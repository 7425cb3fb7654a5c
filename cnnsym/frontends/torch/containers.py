"""nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList/Dict: their construction,
``forward`` (Sequential), iteration, indexing and item assignment, and the nn.Module
methods that manage children and parameters (``add_module``, ``register_buffer``,
``append``, ``parameters()``, ``named_modules()``, ...)."""
from __future__ import annotations

from .emit import new_param
from .modules import call_module, named_modules
from .registry import LAYERS, MODULE_METHODS, OPS
from .values import Module, Param, Stop, TensorCtor, norm


@LAYERS.register("Sequential", "*")
class Sequential:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if len(args) == 1 and isinstance(args[0], dict):
            for k, v in args[0].items():
                _add_child(m, str(k), v)
        else:
            for i, v in enumerate(args):
                _add_child(m, str(i), v)

    @staticmethod
    def forward(c, m, x):
        it = c.it
        for child in list(m.modules.values()):
            x = call_module(it, child, [x], {}, None)
        return x


@LAYERS.register("ModuleList", "*")
class ModuleList:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args:
            for i, v in enumerate(c for c in (args[0] if isinstance(args[0], (list, tuple)) else
                                              _iter_any(args[0]))):
                _add_child(m, str(i), v)

    forward = None


@LAYERS.register("ModuleDict", "*")
class ModuleDict:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args and args[0] is not None:
            items = args[0].items() if isinstance(args[0], dict) else args[0]
            for k, v in items:
                _add_child(m, str(k), v)

    forward = None


@LAYERS.register("ParameterList ParameterDict", "*")
class ParamContainer:
    @staticmethod
    def init(m, a):
        args = a["*args"]
        if args and args[0] is not None:
            items = list(args[0].items()) if isinstance(args[0], dict) else list(enumerate(args[0]))
            for k, v in items:
                _set_param(m, str(k), v, "trainable")

    forward = None


def _iter_any(v):
    if isinstance(v, Module):
        return list(v.modules.values())
    return list(v)


def _add_child(m, name, v):
    if not isinstance(v, Module):
        raise Stop(f"{m.kind} child {name!r} is not a module ({type(v).__name__})")
    m.modules[name] = v


def _set_param(m, name, v, role):
    if isinstance(v, Param):
        (m.params if role == "trainable" else m.buffers)[name] = v
        return
    if isinstance(v, TensorCtor):
        new_param(m, name, v.shape, role, v.dtype)
        return
    if v is None:
        return
    raise Stop(f"cannot make a parameter of {type(v).__name__}")


@MODULE_METHODS.register("add_module")
def _add_module(it, m, a, k, s):
    name, child = (a + [k.get("module")])[:2] if len(a) < 2 else a[:2]
    if child is None:
        m.modules[str(name)] = None
        return None
    _add_child(m, str(norm(name)), child)


MODULE_METHODS.register("register_module")(_add_module)


@MODULE_METHODS.register("__setattr__")
def _module_setattr(it, m, a, k, s):
    """``self.__setattr__('level_%d' % i, subtree)``: the same as ``setattr(self, ...)``."""
    it.setattr(m, a[0], a[1], s)


@MODULE_METHODS.register("__getattr__")
def _module_getattr(it, m, a, k, s):
    """``self.__getattr__('level_%d' % i)``: the same as ``getattr(self, ...)``."""
    return it.getattr(m, a[0], s)


@MODULE_METHODS.register("register_buffer")
def _register_buffer(it, m, a, k, s):
    name = a[0]
    t = a[1] if len(a) > 1 else k.get("tensor")
    if t is None:
        return None
    if isinstance(t, Param):
        m.buffers[name] = Param(m, name, t.shape, t.dtype, "buffer")
    elif isinstance(t, TensorCtor):
        new_param(m, name, t.shape, "buffer", t.dtype)
    else:
        raise Stop("register_buffer of an unknown tensor")


@MODULE_METHODS.register("register_parameter")
def _register_parameter(it, m, a, k, s):
    _set_param(m, a[0], a[1] if len(a) > 1 else k.get("param"), "trainable")


@MODULE_METHODS.register("append")
def _append(it, m, a, k, s):
    _add_child(m, str(len(m.modules)), a[0])
    return m


@MODULE_METHODS.register("extend")
def _extend(it, m, a, k, s):
    for v in _iter_any(a[0]) if isinstance(a[0], Module) else it.iterate(a[0]):
        _add_child(m, str(len(m.modules)), v)
    return m


@MODULE_METHODS.register("insert")
def _insert(it, m, a, k, s):
    idx = it.concrete_int(a[0])
    items = list(m.modules.values())
    items.insert(idx, a[1])
    m.modules.clear()
    for i, v in enumerate(items):
        m.modules[str(i)] = v


_reg = MODULE_METHODS.register
_reg("modules")(lambda it, m, a, k, s: [x for _, x in named_modules(m)])
_reg("named_modules")(lambda it, m, a, k, s: [(n, x) for n, x in named_modules(m)])
_reg("children")(lambda it, m, a, k, s: [c for c in m.modules.values() if c is not None])
_reg("named_children")(lambda it, m, a, k, s: [(n, c) for n, c in m.modules.items() if c is not None])
_reg("parameters")(lambda it, m, a, k, s: [p for _, x in named_modules(m) for p in x.params.values()])
_reg("buffers")(lambda it, m, a, k, s: [p for _, x in named_modules(m) for p in x.buffers.values()])
_reg("named_parameters")(lambda it, m, a, k, s: [
    (f"{n}.{pn}" if n else pn, p) for n, x in named_modules(m) for pn, p in x.params.items()])
# methods that change nothing cnnsym reads return the module
_reg("apply train eval to cuda cpu half float double requires_grad_ zero_grad _initialize_weights init_weights "
     "reset_parameters load_state_dict")(lambda it, m, a, k, s: m)
_reg("keys")(lambda it, m, a, k, s: list(m.modules.keys()))
_reg("values")(lambda it, m, a, k, s: [v for v in m.modules.values()])
_reg("items")(lambda it, m, a, k, s: list(m.modules.items()))
_reg("__len__")(lambda it, m, a, k, s: len(m.modules))


@MODULE_METHODS.register("update")
def _update(it, m, a, k, s):
    src = a[0] if a else k
    for kk, v in (src.items() if isinstance(src, dict) else src):
        _add_child(m, str(kk), v)


@OPS.register()
def container_iter(it, m):
    if m.kind in ("Sequential", "ModuleList"):
        return [v for v in m.modules.values()]
    if m.kind == "ModuleDict":
        return list(m.modules.keys())
    if m.kind in ("ParameterList",):
        return list(m.params.values())
    raise Stop(f"iterating over {m.type_name}")


@OPS.register()
def container_getitem(it, m, key):
    if m.kind == "ModuleDict":
        return m.modules[str(key)]
    if m.kind in ("ParameterList", "ParameterDict"):
        return m.params[str(norm(key))] if not isinstance(key, slice) else list(m.params.values())[key]
    items = list(m.modules.values())
    if isinstance(key, slice):
        sub = Module(m.kind, loc=m.loc)
        for i, v in enumerate(items[key]):
            sub.modules[str(i)] = v
        return sub
    i = it.concrete_int(key, "index")
    try:
        return items[i]
    except IndexError:
        raise Stop(f"index {i} out of range for {m.type_name} of length {len(items)}")


@OPS.register()
def container_setitem(it, m, key, v):
    if m.kind == "ModuleDict":
        _add_child(m, str(key), v)
        return
    keys = list(m.modules.keys())
    i = it.concrete_int(key, "index")
    m.modules[keys[i]] = v


@OPS.register()
def container_delitem(it, m, key):
    """``del d['fc']``, ``del seq[-1]``, ``del blocks[2:]``: torch renumbers a Sequential's and
    a ModuleList's remaining children from 0; a ModuleDict keeps its other keys in order."""
    if m.kind == "ModuleDict":
        if str(key) not in m.modules:
            raise Stop(f"ModuleDict has no key {key!r}")
        del m.modules[str(key)]
        return
    items = list(m.modules.values())
    if isinstance(key, slice):
        del items[key]
    else:
        i = it.concrete_int(key, "index")
        try:
            del items[i]
        except IndexError:
            raise Stop(f"index {i} out of range for {m.type_name} of length {len(m.modules)}")
    m.modules.clear()
    for i, v in enumerate(items):
        m.modules[str(i)] = v


@OPS.register()
def container_contains(it, m, key):
    return str(key) in m.modules
