"""Constant tensors in ``__init__`` and at module level: ``torch.arange(depth) * w_a + w_0``,
``torch.round(torch.log(...))``, ``.int().tolist()``, ``np.linspace(...)`` are ordinary
computation on known numbers, evaluated with numpy under torch's dtype rules (integer
tensors are int64, a float result of torch is float32, numpy's own functions stay
float64). A :class:`ConstTensor` is also a :class:`~.values.TensorCtor`, so it can still
become a buffer or a parameter. Bounded: at most :data:`MAX_ELEMENTS` elements."""
from __future__ import annotations

import importlib

import sympy as sp

from .values import Builtin, Stop, TensorCtor, norm


class _Numpy:
    """numpy, imported on first use: most models never compute on a constant tensor, and
    importing numpy is 0.06 s of a source report's 0.5 s (issue 12)."""

    def __getattr__(self, name):
        global np
        np = importlib.import_module("numpy")
        return getattr(np, name)


class _Fn(str):
    """A numpy function named in a table below, looked up when called."""

    __slots__ = ()

    def __call__(self, *a, **k):
        return getattr(np, self)(*a, **k)


np = _Numpy()

MAX_ELEMENTS = 1_000_000


class ConstTensor(TensorCtor):
    """A tensor whose every element is known: ``arr`` (numpy); ``torch_dtypes``: False
    for numpy's own arrays (float64 stays float64)."""

    __slots__ = ("arr", "torch_dtypes")

    def __init__(self, arr, torch_dtypes=True):
        arr = np.asarray(arr)
        if arr.size > MAX_ELEMENTS:
            raise Stop(f"a constant tensor of {arr.size} elements is too large to follow")
        if torch_dtypes:
            if arr.dtype == np.float64:
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
                arr = arr.astype(np.int64) if arr.dtype.kind == "i" else arr
        super().__init__(list(arr.shape), _ONNX_DTYPES.get(arr.dtype.name, 1), value=None)
        self.arr = arr
        self.torch_dtypes = torch_dtypes


# numpy dtype name -> ONNX element type: a buffer made from torch.arange(...) is int64, as in torch
_ONNX_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "int16": 5, "int32": 6, "int64": 7, "bool": 9, "float16": 10,
                "float64": 11}


def plain(v):
    """A Python number or (nested) list as numpy's operand; None when it is not constant."""
    v = norm(v)
    if isinstance(v, ConstTensor):
        return v.arr
    if isinstance(v, bool) or isinstance(v, (int, float)):
        return v
    if isinstance(v, (list, tuple)):
        out = [plain(x) for x in v]
        return None if any(x is None for x in out) else out
    return None


def is_const(v) -> bool:
    return isinstance(v, ConstTensor)


def wrap(r, torch_dtypes=True):
    """numpy's result back: arrays as ConstTensor, numpy scalars as Python numbers."""
    if isinstance(r, np.ndarray):
        return ConstTensor(r, torch_dtypes)
    if isinstance(r, np.generic):
        return r.item()
    return r


def _float_result(r, operands):
    """torch's promotion for a float result: float32 unless a float64 tensor took part."""
    if isinstance(r, np.ndarray) and r.dtype == np.float64:
        if not any(isinstance(o, ConstTensor) and o.arr.dtype == np.float64 for o in operands):
            return r.astype(np.float32)
    return r


_BINOPS = {"Add": _Fn("add"), "Subtract": _Fn("subtract"), "Multiply": _Fn("multiply"), "Divide": _Fn("true_divide"),
           "FloorDivide": _Fn("floor_divide"), "Modulo": _Fn("mod"), "Power": _Fn("power"),
           "BitAnd": _Fn("bitwise_and"), "BitOr": _Fn("bitwise_or"), "BitXor": _Fn("bitwise_xor")}


def binop(op, a, b):
    """a op b with a constant tensor on either side; NotImplemented when not constant."""
    x, y = plain(a), plain(b)
    if x is None or y is None or op not in _BINOPS:
        return NotImplemented
    torch_dtypes = any(isinstance(v, ConstTensor) and v.torch_dtypes for v in (a, b))
    with np.errstate(all="ignore"):
        r = _BINOPS[op](np.asarray(x) if isinstance(a, ConstTensor) else x,
                        np.asarray(y) if isinstance(b, ConstTensor) else y)
    if torch_dtypes:
        r = _float_result(r, (a, b))
    return wrap(np.asarray(r), torch_dtypes)


def compare(op, a, b):
    x, y = plain(a), plain(b)
    if x is None or y is None:
        return NotImplemented
    f = {"Equal": np.equal, "NotEqual": np.not_equal, "LessThan": np.less, "LessThanEqual": np.less_equal,
         "GreaterThan": np.greater, "GreaterThanEqual": np.greater_equal}.get(op)
    if f is None:
        return NotImplemented
    return wrap(np.asarray(f(x, y)))


_UNARY = {"abs": _Fn("abs"), "exp": _Fn("exp"), "log": _Fn("log"), "log2": _Fn("log2"), "log10": _Fn("log10"),
          "sqrt": _Fn("sqrt"), "floor": _Fn("floor"), "ceil": _Fn("ceil"), "round": _Fn("round"),
          "neg": _Fn("negative"), "negative": _Fn("negative"), "sin": _Fn("sin"), "cos": _Fn("cos"),
          "tanh": _Fn("tanh"), "sign": _Fn("sign"), "trunc": _Fn("trunc"), "square": _Fn("square"),
          "rsqrt": lambda x: 1 / np.sqrt(x), "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "log1p": _Fn("log1p"),
          "expm1": _Fn("expm1"), "cumsum": None, "cumprod": None}
_BINARY = {"pow": _Fn("power"), "div": _Fn("true_divide"), "divide": _Fn("true_divide"),
           "true_divide": _Fn("true_divide"), "mul": _Fn("multiply"), "multiply": _Fn("multiply"), "add": _Fn("add"),
           "sub": _Fn("subtract"), "subtract": _Fn("subtract"), "floor_divide": _Fn("floor_divide"),
           "remainder": _Fn("mod"), "fmod": _Fn("fmod"), "maximum": _Fn("maximum"), "minimum": _Fn("minimum"),
           "power": _Fn("power"), "true_divide_": _Fn("true_divide")}
_REDUCE = {"sum": _Fn("sum"), "prod": _Fn("prod"), "mean": _Fn("mean"), "max": _Fn("max"), "min": _Fn("min"),
           "amax": _Fn("max"), "amin": _Fn("min"), "argmax": _Fn("argmax"), "argmin": _Fn("argmin"),
           "all": _Fn("all"), "any": _Fn("any")}
_DTYPES = {"int": "int64", "long": "int64", "int64": "int64", "int32": "int32", "float": "float32",
           "float32": "float32", "double": "float64", "float64": "float64", "half": "float16",
           "float16": "float16", "bool": "bool"}


_SHAPE = ("flatten", "permute", "transpose", "swapaxes", "unsqueeze", "squeeze")
NAMES = {*_UNARY, *_BINARY, *_REDUCE, "meshgrid", "arange", "tensor", "as_tensor", "from_numpy", "Tensor", "FloatTensor",
         "LongTensor", "linspace", "logspace", "diff", "clamp", "clip", "cat", "stack", "flip", "sort", "unique",
         *_SHAPE}


def _dtype_of(v):
    name = getattr(v, "path", None) or getattr(v, "name", None) or (v if isinstance(v, str) else None)
    if isinstance(name, str):
        return _DTYPES.get(name.split(".")[-1])
    return None


def call(name, a, k, *, torch_dtypes=True):
    """torch.<name>(...) / numpy.<name>(...) on constants: the value, or NotImplemented
    when an argument is not constant (the caller then does what it does with tensors)."""
    a = list(a)
    if name in ("arange",) and all(plain(x) is not None for x in a):
        vals = [norm(x) for x in a]
        if len(vals) == 0 or not all(isinstance(x, (int, float)) for x in vals):
            return NotImplemented
        n = len(np.arange(*vals)) if all(isinstance(x, int) for x in vals) else int(np.ceil(
            (vals[1] - vals[0]) / (vals[2] if len(vals) > 2 else 1)) if len(vals) > 1 else np.ceil(vals[0]))
        if n > MAX_ELEMENTS:
            raise Stop(f"arange of {n} elements is too large to follow")
        r = np.arange(*vals)
        dt = _dtype_of(k.get("dtype"))
        return wrap(r.astype(dt) if dt else r, torch_dtypes)
    if name == "meshgrid":  # torch.meshgrid([a, b], indexing="ij") or meshgrid(a, b): a tuple of tensors
        parts = a[0] if len(a) == 1 and isinstance(a[0], (list, tuple)) else a
        xs = [plain(p) for p in parts]
        if not xs or any(x is None for x in xs):
            return NotImplemented
        grids = np.meshgrid(*[np.asarray(x) for x in xs], indexing=str(norm(k.get("indexing", "ij"))))
        return tuple(wrap(np.asarray(g), torch_dtypes) for g in grids)
    if name in ("tensor", "as_tensor", "array", "asarray", "from_numpy", "Tensor", "FloatTensor", "LongTensor"):
        x = plain(a[0]) if a else None
        if x is None:
            return NotImplemented
        r = np.asarray(x)
        dt = _dtype_of(k.get("dtype")) or {"FloatTensor": np.float32, "Tensor": np.float32,
                                           "LongTensor": np.int64}.get(name)
        return wrap(r.astype(dt) if dt else r, torch_dtypes)
    if name == "linspace" and len(a) >= 3 and all(plain(x) is not None for x in a[:3]):
        return wrap(np.linspace(norm(a[0]), norm(a[1]), int(norm(a[2]))), torch_dtypes)
    if name == "logspace" and len(a) >= 3 and all(plain(x) is not None for x in a[:3]):
        base = norm(k.get("base", a[3] if len(a) > 3 else 10.0))
        return wrap(np.logspace(norm(a[0]), norm(a[1]), int(norm(a[2])), base=base), torch_dtypes)
    if not a:
        return NotImplemented
    xs = [plain(x) for x in a]
    if any(x is None for x in xs[:2 if name in _BINARY else 1]):
        return NotImplemented
    if not any(isinstance(x, ConstTensor) or isinstance(x, (list, tuple)) and any(isinstance(y, ConstTensor) for y in x)
               for x in a) and torch_dtypes:  # torch.stack([t, u]): the tensors are in a list
        if name not in _BINARY:
            return NotImplemented  # torch.log(2.0) is an error in torch; left to the caller
    with np.errstate(all="ignore"):
        if name in _UNARY and _UNARY[name] is not None:
            r = _UNARY[name](np.asarray(xs[0]))
            if name == "round" and len(xs) > 1 or "decimals" in k:
                r = np.round(np.asarray(xs[0]), int(norm(k.get("decimals", xs[1] if len(xs) > 1 else 0))))
        elif name in ("cumsum", "cumprod"):
            axis = int(norm(k.get("dim", k.get("axis", a[1] if len(a) > 1 else 0))))
            r = (np.cumsum if name == "cumsum" else np.cumprod)(np.asarray(xs[0]), axis=axis)
        elif name in _BINARY:
            r = _BINARY[name](np.asarray(xs[0]) if isinstance(a[0], ConstTensor) else xs[0],
                              np.asarray(xs[1]) if isinstance(a[1], ConstTensor) else xs[1])
            if not isinstance(r, np.ndarray) and torch_dtypes:
                r = np.asarray(r)
        elif name in _REDUCE:
            axis = k.get("dim", k.get("axis", a[1] if len(a) > 1 else None))
            r = _REDUCE[name](np.asarray(xs[0]), axis=None if axis is None else int(norm(axis)))
        elif name == "diff":
            r = np.diff(np.asarray(xs[0]), n=int(norm(k.get("n", 1))), axis=int(norm(k.get("dim", -1))))
        elif name in ("clamp", "clip"):
            lo = norm(k.get("min", a[1] if len(a) > 1 else None))
            hi = norm(k.get("max", a[2] if len(a) > 2 else None))
            r = np.clip(np.asarray(xs[0]), lo, hi)
        elif name in ("cat", "concatenate", "stack"):
            parts = [plain(x) for x in (a[0] if isinstance(a[0], (list, tuple)) else [])]
            if not parts or any(p is None for p in parts):
                return NotImplemented
            axis = int(norm(k.get("dim", k.get("axis", a[1] if len(a) > 1 else 0))))
            r = (np.stack if name == "stack" else np.concatenate)([np.asarray(p) for p in parts], axis=axis)
        elif name in ("flip",):
            r = np.flip(np.asarray(xs[0]), axis=tuple(int(norm(d)) for d in (a[1] if len(a) > 1 else k["dims"])))
        elif name in ("sort",):
            r = np.sort(np.asarray(xs[0]))
        elif name in ("unique",):
            inv, cnt = bool(k.get("return_inverse")), bool(k.get("return_counts"))
            r = np.unique(np.asarray(xs[0]), return_inverse=inv, return_counts=cnt)
            if inv or cnt:  # torch.unique(..., return_counts=True): a tuple of tensors
                return tuple(wrap(np.asarray(x), torch_dtypes) for x in r)
        elif name in _SHAPE:
            r = _reshaped(name, np.asarray(xs[0]), a, k)
        elif name in ("numel", "size") and name == "numel":
            return int(np.asarray(xs[0]).size)
        else:
            return NotImplemented
    if not torch_dtypes:
        return wrap(r, False)  # numpy: a scalar result is a Python number
    return wrap(_float_result(np.asarray(r), a), True)


def _reshaped(name, arr, a, k):
    """torch's flatten/permute/transpose/unsqueeze/squeeze of a constant tensor (``a[0]`` is
    the tensor, the rest its arguments as torch takes them); numpy views, as torch's are."""
    def arg(i, key, default):
        return norm(k.get(key, a[i] if len(a) > i else default))

    nd = arr.ndim
    if name == "flatten":
        if nd == 0:
            return arr.reshape(1)
        s, e = int(arg(1, "start_dim", 0)) % nd, int(arg(2, "end_dim", -1)) % nd
        return arr.reshape(arr.shape[:s] + (-1,) + arr.shape[e + 1:])
    if name == "permute":
        dims = k.get("dims", a[1] if len(a) == 2 and isinstance(a[1], (list, tuple)) else a[1:])
        return np.transpose(arr, [int(norm(d)) for d in dims])
    if name in ("transpose", "swapaxes"):
        return np.swapaxes(arr, int(arg(1, "dim0", 0)), int(arg(2, "dim1", 1)))
    if name == "unsqueeze":
        return np.expand_dims(arr, int(arg(1, "dim", 0)))
    d = arg(1, "dim", None)
    if d is None:
        return np.squeeze(arr)
    return np.squeeze(arr, int(d)) if arr.shape[int(d)] == 1 else arr


def method(x: ConstTensor, name):
    """x.<name> of a constant tensor: a Builtin, a value, or None (not a constant method)."""
    arr = x.arr
    td = x.torch_dtypes
    if name == "tolist":
        return Builtin(name, lambda it, a, k, s: arr.tolist())
    if name == "item":
        def item(it, a, k, s):
            if arr.size != 1:
                raise Stop(f"item() of a tensor of {arr.size} elements")
            return arr.reshape(-1)[0].item()
        return Builtin(name, item)
    if name in _DTYPES and name not in ("float32", "float64", "int64", "int32", "float16"):
        return Builtin(name, lambda it, a, k, s: ConstTensor(arr.astype(_DTYPES[name]), td))
    if name in ("to", "type", "astype"):
        def to(it, a, k, s):
            dt = _dtype_of(k.get("dtype", a[0] if a else None))
            return ConstTensor(arr.astype(dt), td) if dt else x
        return Builtin(name, to)
    if name in ("clone", "detach", "contiguous", "cpu", "numpy", "copy"):
        return Builtin(name, lambda it, a, k, s: x)
    if name in _UNARY or name in _BINARY or name in _REDUCE or name in ("diff", "clamp", "clip", "cumsum",
                                                                         "cumprod", "flip", "sort", "unique",
                                                                         *_SHAPE):
        return Builtin(name, lambda it, a, k, s: _checked(call(name, [x, *a], k, torch_dtypes=td), name))
    if name in ("numel", "nelement", "size") and name != "size":
        return Builtin(name, lambda it, a, k, s: int(arr.size))
    if name in ("view", "reshape"):
        def reshape(it, a, k, s):
            shape = a[0] if len(a) == 1 and isinstance(a[0], (list, tuple)) else a
            return ConstTensor(arr.reshape([int(norm(d)) for d in shape]), td)
        return Builtin(name, reshape)
    if name == "dtype":
        return str(arr.dtype)
    if name in ("split", "chunk"):
        return Builtin(name, lambda it, a, k, s: _split(x, name, a, k))
    return None


def _split(x, name, a, k):
    """x.split(size or [sizes], dim) / x.chunk(n, dim) of a constant tensor, as torch splits."""
    arr = x.arr
    arg = norm(a[0] if a else k.get("split_size_or_sections", k.get("chunks", k.get("split_size"))))
    dim = int(norm(a[1] if len(a) > 1 else k.get("dim", 0)))
    n = arr.shape[dim]
    if name == "chunk":
        size = -(-n // int(arg))
        bounds = list(range(size, n, size))
    elif isinstance(arg, (list, tuple)):
        sizes = [int(norm(v)) for v in arg]
        if sum(sizes) != n:
            raise Stop(f"split sizes {sizes} do not add up to {n}")
        bounds = list(np.cumsum(sizes)[:-1])
    else:
        bounds = list(range(int(arg), n, int(arg)))
    return tuple(ConstTensor(p, x.torch_dtypes) for p in np.split(arr, bounds, axis=dim))


def set_item(x: ConstTensor, key, v):
    """``x[key] = v`` (and ``x[:, :, 0] += h - 1``) on a constant tensor: numpy's in-place
    write, so views made by indexing or permute see it as torch's views do."""
    val = plain(v)
    if val is None:
        raise Stop("writing a value that is not constant into a constant tensor")
    k = tuple(norm(i) for i in key) if isinstance(key, tuple) else norm(key)
    if not x.arr.flags.writeable:
        x.arr = x.arr.copy()
    x.arr[k] = val


def _checked(r, name):
    if r is NotImplemented:
        raise Stop(f"{name}() of a constant tensor with arguments that are not constant")
    return r


def to_int(v):
    """int()/float() of a one-element constant tensor."""
    if isinstance(v, ConstTensor):
        if v.arr.size != 1:
            raise Stop("only a one-element tensor converts to a Python number")
        return v.arr.reshape(-1)[0].item()
    return v


def is_symbolic(v) -> bool:
    return isinstance(v, sp.Basic) and not v.is_number
