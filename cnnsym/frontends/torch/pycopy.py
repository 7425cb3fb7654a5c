"""``copy.deepcopy`` and ``copy.copy`` with Python's semantics on the interpreter's values:
a deep copy is a new object at every level (a list of block configs copied per repeat is
as many independent dicts, so ``ba.pop('block_type')`` on one leaves the others whole), with
shared references shared once in the copy (a memo, as ``copy.deepcopy`` keeps); classes,
functions and modules of code are not copied. A deep-copied nn.Module is a new module
tree with its own parameters and buffers, as torch's ``copy.deepcopy(layer)`` makes."""
from __future__ import annotations

import copy as _copy

import sympy as sp

from .consts import ConstTensor
from .registry import STDLIB
from .scope import FileScope
from .values import (NS, Builtin, Module, Namespace, NTuple, Obj, Param, Partial, Stop, TorchClass, Unknown,
                     UserClass, UserFunction)

MAX_COPY = 200_000  # objects one deepcopy may create

_ATOMS = (type(None), bool, int, float, complex, str, bytes, sp.Basic, UserClass, TorchClass, UserFunction, Builtin,
          Namespace, FileScope, Unknown, type(Ellipsis), range)


class _Copier:
    def __init__(self):
        self.memo: dict = {}
        self.made = 0

    def __call__(self, v):
        if isinstance(v, _ATOMS):
            return v
        hit = self.memo.get(id(v))
        if hit is not None:
            return hit[1]
        self.made += 1
        if self.made > MAX_COPY:
            raise Stop(f"copy.deepcopy of more than {MAX_COPY} objects is not followed")
        if isinstance(v, NTuple):
            out = type(v)([self(x) for x in v])
        elif isinstance(v, tuple):
            out = type(v)(self(x) for x in v) if type(v) is tuple else _copy.copy(v)
        elif isinstance(v, list):
            out = _copy.copy(v)  # the same list class (and its attributes), items replaced below
            self.memo[id(v)] = (v, out)
            out[:] = [self(x) for x in v]
            return out
        elif isinstance(v, dict):
            out = _copy.copy(v)
            self.memo[id(v)] = (v, out)
            items = [(k, self(x)) for k, x in v.items()]
            out.clear()
            out.update(items)
            return out
        elif isinstance(v, Partial):
            out = Partial(v.func, [self(x) for x in v.args], {k: self(x) for k, x in v.kwargs.items()})
        elif isinstance(v, Obj):
            out = Obj(v.cls)
            self.memo[id(v)] = (v, out)
            out.attrs.update({k: self(x) for k, x in v.attrs.items()})
            return out
        elif isinstance(v, NS):
            out = NS()
            self.memo[id(v)] = (v, out)
            out.attrs.update({k: self(x) for k, x in v.attrs.items()})
            return out
        elif isinstance(v, ConstTensor):
            out = ConstTensor(v.arr.copy(), v.torch_dtypes)
        elif isinstance(v, Module):
            return self.module(v)
        else:
            raise Stop(f"copy.deepcopy of a {type(v).__name__} value is not followed")
        self.memo[id(v)] = (v, out)
        return out

    def module(self, m):
        out = Module(m.kind, m.cls, m.loc, m.unknown)
        self.memo[id(m)] = (m, out)
        out.loc_chain, out.arg_locs = m.loc_chain, dict(m.arg_locs)
        out.cfg = {k: self(x) for k, x in m.cfg.items()}
        out.attrs = {k: self(x) for k, x in m.attrs.items()}
        out.modules = {k: (self(c) if c is not None else None) for k, c in m.modules.items()}
        for src, dst in ((m.params, out.params), (m.buffers, out.buffers)):
            for k, p in src.items():
                dst[k] = self.param(p, out)
        out.held = [self.param(p, out) if isinstance(p, Param) else p for p in m.held]
        return out

    def param(self, p, owner):
        if not isinstance(p, Param):
            return self(p)
        hit = self.memo.get(id(p))
        if hit is not None:
            return hit[1]
        out = Param(owner if p.owner is not None else None, p.pname, p.shape, p.dtype, p.role, p.value)
        self.memo[id(p)] = (p, out)
        return out


def _deepcopy(it, a, k, s):
    return _Copier()(a[0] if a else k.get("x"))


def _shallow(it, a, k, s):
    v = a[0] if a else k.get("x")
    if isinstance(v, _ATOMS) or isinstance(v, (tuple, Partial)):
        return v if not isinstance(v, Partial) else Partial(v.func, v.args, v.kwargs)
    if isinstance(v, (list, dict)):
        return _copy.copy(v)
    if isinstance(v, (Obj, NS)):
        out = Obj(v.cls) if isinstance(v, Obj) else NS()
        out.attrs.update(v.attrs)
        return out
    if isinstance(v, Module):
        out = Module(v.kind, v.cls, v.loc, v.unknown)  # copy.copy(module): its __dict__'s dicts are shared
        out.cfg, out.attrs, out.modules, out.params, out.buffers, out.held = (
            v.cfg, v.attrs, v.modules, v.params, v.buffers, v.held)
        out.loc_chain, out.arg_locs = v.loc_chain, v.arg_locs
        return out
    raise Stop(f"copy.copy of a {type(v).__name__} value is not followed")


STDLIB["copy.deepcopy"] = Builtin("copy.deepcopy", _deepcopy)
STDLIB["copy.copy"] = Builtin("copy.copy", _shallow)
