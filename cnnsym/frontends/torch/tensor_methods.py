"""Tensor methods and operators: ``+ - * / @`` (``Add``, ``Sub``, ...), ``x.view`` /
``reshape`` / ``flatten`` / ``permute`` / ``transpose`` / ``squeeze`` / ``unsqueeze``,
reductions, ``chunk``/``split``, ``expand``/``repeat``, ``x.size()`` / ``x.shape``
attributes, and indexing ``x[:, 0]``."""
from __future__ import annotations

from . import syntax as cst
import sympy as sp

from ...graph import INT64
from ...symbolic import fdiv
from .emit import Ctx, as_tensor, call_func, ints, node_name, rank_of, shape_args, size_of, unknown_node
from .registry import FUNCS, OPS
from .values import Builtin, Param, Stop, Tensor, Unknown, norm, num


_BIN = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Divide": "Div", "Power": "Pow",
        "MatrixMultiply": "MatMul"}


@OPS.register()
def tensor_binop(it, op, a, b):
    onnx = _BIN.get(op)
    if onnx is None:
        if op == "FloorDivide":
            q = tensor_binop(it, "Divide", a, b)
            return FUNCS["floor"](Ctx(it, node_name(it, "floor"), it.site_loc(), it.site_loc()), [q], {})
        raise Stop(f"operator {op} on tensors")
    c = Ctx(it, node_name(it, onnx.lower()), it.site_loc(), it.site_loc())
    return c.emit(onnx, [_operand(it, c, a), _operand(it, c, b)])


def _operand(it, c, v):
    if isinstance(v, (Tensor, Param)):
        return v
    if isinstance(v, (int, float)) or isinstance(v, sp.Basic):
        return c.scalar(v)
    return as_tensor(it, v)


@OPS.register()
def tensor_unary(it, op, x):
    c = Ctx(it, node_name(it, op.lower()), it.site_loc(), it.site_loc())
    return c.emit(op, [x])


@OPS.register()
def tensor_compare(it, op, a, b):
    return Unknown("comparison of tensor values (data-dependent)")


def _binop_fn(o):
    return lambda c, a, k: tensor_binop(
        c.it, o, a[0], (a[1] if len(a) > 1 else k.get("other")) if "alpha" not in k else
        tensor_binop(c.it, "Multiply", a[1], k["alpha"]))


for _n, _op in (("add add_", "Add"), ("sub sub_ subtract", "Subtract"), ("mul mul_ multiply", "Multiply"),
                ("div div_ divide true_divide", "Divide"), ("matmul mm bmm", "MatrixMultiply"), ("pow", "Power")):
    FUNCS.register(_n)(_binop_fn(_op))


def flatten(c, x, start=0, end=-1):
    r = rank_of(x)
    start, end = norm(start) % max(r, 1), norm(end) % max(r, 1)
    if end == r - 1 and r >= 2 and start == 1:
        return c.emit("Flatten", [x], {"axis": start})
    target = [*x.shape[:start], -1, *x.shape[end + 1:]]
    return reshape(c, x, target)


FUNCS.register("flatten", "input start_dim=0 end_dim=-1")(
    lambda c, a: flatten(c, a["input"], a["start_dim"], a["end_dim"]))


def reshape(c, x, target):
    """Target entries as torch.onnx.export would leave them readable: a dim equal to the
    input's at the same index becomes 0 (copy), the one remaining symbolic entry -1."""
    target = [num(t) for t in target]
    for t in target:
        if not isinstance(t, sp.Basic):  # e.g. x.size(0) of a tensor whose shape an error upstream lost
            raise Stop(f"reshape target not known ({t.why if isinstance(t, Unknown) else type(t).__name__})")
    if x.shape is not None and sum(1 for t in target if t == -1) == 1:
        i = next(i for i, t in enumerate(target) if t == -1)
        rest = sp.Mul(*[t for j, t in enumerate(target) if j != i])
        if rest != 0:
            target[i] = fdiv(sp.Mul(*x.shape), rest)  # exact (cancelled) for symbolic sizes too
    vals, sym = [], []
    for i, t in enumerate(target):
        if x.shape is not None and i < len(x.shape) and not t.is_number and sp.expand(t - x.shape[i]) == 0:
            vals.append(0)
        elif t.is_number:
            vals.append(t)
        else:
            vals.append(t)
            sym.append(i)
    if len(sym) == 1 and -1 not in vals:
        vals[sym[0]] = -1
    if x.shape is None and -1 not in vals and len(sym) > 1:
        vals[sym[0]] = -1
    return c.emit("Reshape", [x, c.ints(vals, "shape")])


def _view(c, a, k):
    x = a[0]
    target = shape_args(c.it, a[1:] or [k.get("shape") or k.get("size")])
    return reshape(c, x, target)


FUNCS.register("view")(_view)
FUNCS.register("reshape")(lambda c, a, k: reshape(c, a[0], shape_args(c.it, a[1:] or [k.get("shape")])))


def _view_as(c, a, k):
    return reshape(c, a[0], list(a[1].shape))


FUNCS.register("view_as")(_view_as)
FUNCS.register("reshape_as")(_view_as)


def _permute(c, a, k):
    perm = shape_args(c.it, a[1:] or [k.get("dims")])
    # torch wants one entry per axis: the rank of an input of unknown shape is known here
    r = len(perm) if isinstance(a[0], Tensor) and a[0].shape is None else rank_of(a[0])
    return c.emit("Transpose", [a[0]], {"perm": [p % r for p in ints(perm)]})


FUNCS.register("permute")(_permute)


@FUNCS.register("transpose swapaxes", "input dim0 dim1")
def _transpose(c, a):
    r = rank_of(a["input"])
    perm = list(range(r))
    i, j = norm(a["dim0"]) % r, norm(a["dim1"]) % r
    perm[i], perm[j] = perm[j], perm[i]
    return c.emit("Transpose", [a["input"]], {"perm": perm})


FUNCS.register("t")(lambda c, a, k: c.emit("Transpose", [a[0]], {"perm": [1, 0]}))


@FUNCS.register("squeeze", "input dim=None")
def _squeeze(c, a):
    x = a["input"]
    r = rank_of(x)
    if a["dim"] is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    else:
        dims = a["dim"] if isinstance(a["dim"], (list, tuple)) else [a["dim"]]
        axes = [norm(d) % r for d in dims]
        axes = [i for i in axes if x.shape[i] == 1 or not x.shape[i].is_number]
    if not axes:
        return x
    return c.emit("Squeeze", [x, c.ints(axes, "axes")])


@FUNCS.register("unsqueeze", "input dim")
def _unsqueeze(c, a):
    x = a["input"]
    d = norm(a["dim"])
    if d < 0:
        d += rank_of(x) + 1
    return c.emit("Unsqueeze", [x, c.ints([d], "axes")])


def _reduce_fn(op):
    def f(c, a, k):
        x = a[0]
        dim = a[1] if len(a) > 1 else k.get("dim", k.get("axis"))
        keep = a[2] if len(a) > 2 else k.get("keepdim", False)
        ins = [x]
        if dim is not None:
            dims = dim if isinstance(dim, (list, tuple)) else [dim]
            ins.append(c.ints([norm(d) for d in dims], "axes"))
        return c.emit(op, ins, {"keepdims": int(bool(keep))})

    return f


FUNCS.register("mean")(_reduce_fn("ReduceMean"))
FUNCS.register("sum")(_reduce_fn("ReduceSum"))
FUNCS.register("amax")(_reduce_fn("ReduceMax"))
FUNCS.register("amin")(_reduce_fn("ReduceMin"))


def _max(c, a, k):
    if len(a) > 1 and isinstance(a[1], (Tensor, Param)):
        return c.emit("Max", [a[0], a[1]])
    if len(a) > 1 or "dim" in k:
        dim = norm(a[1] if len(a) > 1 else k["dim"])
        keep = a[2] if len(a) > 2 else k.get("keepdim", False)
        v = c.emit("ReduceMax", [a[0], c.ints([dim], "axes")], {"keepdims": int(bool(keep))})
        i = c.emit("ArgMax", [a[0]], {"axis": dim, "keepdims": int(bool(keep))}, suffix="ArgMax")
        return (v, i)
    return c.emit("ReduceMax", [a[0]], {"keepdims": 0})


FUNCS.register("max")(_max)


def _chunk(c, a, k):
    x = a[0]
    n = c.it.concrete_int(a[1] if len(a) > 1 else k["chunks"], "chunks")
    dim = norm(a[2] if len(a) > 2 else k.get("dim", 0))
    d = x.shape[dim % rank_of(x)] if x.shape is not None else None
    if d is not None and d.is_number and n > 0:
        # torch: pieces of ceil(d / n), so fewer than n when d is small (chunk(2) of 1 channel
        # is one tensor, chunk(4) of 5 is 2, 2, 1), as torch.onnx exports it: explicit sizes
        size = max(1, -(-int(d) // n))
        sizes = [size] * (int(d) // size) + ([int(d) % size] if int(d) % size else [])
        outs = c.emit("Split", [x, c.ints(sizes, "split")], {"axis": dim}, n_out=len(sizes))
        return tuple(outs) if len(sizes) > 1 else (outs,)
    outs = c.emit("Split", [x], {"axis": dim, "num_outputs": n}, n_out=n)
    return tuple(outs) if n > 1 else (outs,)


FUNCS.register("chunk")(_chunk)


def _split(c, a, k):
    x = a[0]
    s = a[1] if len(a) > 1 else k.get("split_size_or_sections", k.get("split_size"))
    dim = norm(a[2] if len(a) > 2 else k.get("dim", 0))
    r = rank_of(x)
    d = x.shape[dim % r]
    if isinstance(s, (list, tuple)):
        sizes = [norm(v) for v in s]
    else:
        s = norm(s)
        if not d.is_number:
            raise Stop("split by a size along an axis of symbolic length")
        full, rest = divmod(int(d), s)
        sizes = [s] * full + ([rest] if rest else [])
    outs = c.emit("Split", [x, c.ints(sizes, "split")], {"axis": dim}, n_out=len(sizes))
    return tuple(outs) if len(sizes) > 1 else (outs,)


FUNCS.register("split")(_split)


@FUNCS.register("tensor_split", "input indices_or_sections=None dim=0 indices=None sections=None")
def _tensor_split(c, a):
    """torch.tensor_split: at ``indices`` the pieces are ``x[i_k:i_k+1]`` along ``dim``
    (Python slicing: clamped, negative from the end, empty when out of order), one ``Slice``
    each; ``sections`` n gives the first ``d mod n`` pieces one more than ``d // n``."""
    x = as_tensor(c.it, a["input"])
    spec = next((a[n] for n in ("indices_or_sections", "indices", "sections") if a[n] is not None), None)
    if spec is None:
        raise Stop("tensor_split without indices or sections")
    if isinstance(spec, (Tensor, Param)):
        raise Stop("tensor_split by a tensor (its values decide the pieces)")
    r = rank_of(x)
    dim = norm(a["dim"]) % r
    if isinstance(spec, (list, tuple)):
        bounds = [norm(i) for i in spec]
    else:
        n, d = c.it.concrete_int(spec, "sections"), norm(x.shape[dim])
        if not isinstance(d, int):
            raise Stop("tensor_split into sections along an axis of symbolic length")
        if n <= 0:
            raise Stop(f"tensor_split needs at least one section, got {n} (torch raises RuntimeError)")
        bounds = [k * (d // n) + min(k, d % n) for k in range(1, n)]
    starts, ends = [0, *bounds], [*bounds, 2 ** 62]
    return tuple(c.emit("Slice", [x, c.ints([b], "starts"), c.ints([e], "ends"), c.ints([dim], "axes")],
                        suffix=f"Slice{i}" if i else "") for i, (b, e) in enumerate(zip(starts, ends)))


@FUNCS.register("unbind", "input dim=0")
def _unbind(c, a):
    """torch.unbind: the ``d`` slices along ``dim``, that axis removed (``Split`` into ones,
    each ``Squeeze``d, as torch.onnx exports it); ``d`` must be known."""
    x = as_tensor(c.it, a["input"])
    r = rank_of(x)
    dim = norm(a["dim"]) % r
    d = norm(x.shape[dim])
    if not isinstance(d, int):
        raise Stop("unbind along an axis of symbolic length (the number of results)")
    parts = c.emit("Split", [x, c.ints([1] * d, "split")], {"axis": dim}, suffix="Split", n_out=d) if d != 1 else [x]
    parts = [parts] if d == 1 else list(parts)
    axes = c.ints([dim], "axes")
    return tuple(c.emit("Squeeze", [t, axes], suffix=f"Squeeze{i}" if i else "") for i, t in enumerate(parts))


@FUNCS.register("repeat_interleave", "input repeats=None dim=None output_size=None")
def _repeat_interleave(c, a):
    """torch.repeat_interleave with an integer ``repeats``: each element ``repeats`` times
    in a row along ``dim`` (the flattened input when None), as ``Unsqueeze`` + ``Expand`` +
    ``Reshape``. A tensor of repeats is data-dependent unless it has one element."""
    x, rep = as_tensor(c.it, a["input"]), a["repeats"]
    if isinstance(rep, (Tensor, Param)) or rep is None:
        raise Stop("repeat_interleave by a tensor of repeats (its values decide the size)")
    rep = norm(rep)
    if a["dim"] is None:
        x = flatten(c, x, 0, -1)
        dim = 0
    else:
        dim = norm(a["dim"]) % rank_of(x)
    r = len(x.shape)
    u = c.emit("Unsqueeze", [x, c.ints([dim + 1], "axes")], suffix="Unsqueeze")
    e = c.emit("Expand", [u, c.ints([1] * (dim + 1) + [rep] + [1] * (r - dim - 1), "shape")], suffix="Expand")
    target = [*x.shape[:dim], num(x.shape[dim]) * num(rep), *x.shape[dim + 1:]]
    return reshape(c, e, target)


# in-place fills of a tensor (swin_v2's ``qkv_bias[length:2 * length].zero_()``): values, not shapes
FUNCS.register("zero_ fill_ normal_ uniform_ fill_diagonal_")(lambda c, a, k: a[0])


def _expand(c, a, k):
    x = a[0]
    target = shape_args(c.it, a[1:])
    vals = [1 if norm(t) == -1 else t for t in target]
    return c.emit("Expand", [x, c.ints(vals, "shape")])


FUNCS.register("expand")(_expand)
FUNCS.register("expand_as")(lambda c, a, k: c.emit("Expand", [a[0], c.ints(list(a[1].shape), "shape")]))
FUNCS.register("repeat")(lambda c, a, k: c.emit("Tile", [a[0], c.ints(shape_args(c.it, a[1:]), "repeats")]))


def _narrow(c, a, k):
    x, dim, start, length = a[0], norm(a[1]), a[2], a[3]
    return c.emit("Slice", [x, c.ints([start], "starts"), c.ints([num(start) + num(length)], "ends"),
                            c.ints([dim], "axes")])


FUNCS.register("narrow")(_narrow)


_NON_TENSOR = {"size", "dim", "ndimension", "numel", "nelement"}


@OPS.register()
def tensor_attr(it, x, name):
    if isinstance(x, Param):
        if name in ("data", "weight"):
            return x
        if name in ("shape",):
            return tuple(norm(d) for d in x.shape)
        if name == "size":
            return Builtin("size", lambda it_, a, k, s: size_of(x.shape, a))
        if name in ("numel", "nelement"):
            return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*x.shape)))
        if name in ("dim", "ndimension"):
            return Builtin(name, lambda it_, a, k, s: len(x.shape))
        if name == "ndim":
            return len(x.shape)
        if name.endswith("_") or name in ("fill", "uniform", "normal", "copy"):
            return Builtin(name, lambda it_, a, k, s: x)
        if name in ("requires_grad",):
            return True
        if it.phase == "forward":
            t = it.builder.materialize(x)
            return tensor_attr(it, t, name)
        return Unknown(f"parameter .{name}")
    if name == "shape":
        if x.shape is None:
            return Unknown("shape of a tensor of unknown rank")
        return tuple(norm(d) for d in x.shape)
    if name == "ndim":
        return rank_of(x)
    if name in ("data", "T") and name == "data":
        return x
    if name == "dtype":
        return x.dtype
    if name == "device":
        return None
    if name == "is_cuda":
        return False
    if name == "requires_grad":
        return False
    if name == "size":
        return Builtin("size", lambda it_, a, k, s: size_of(x.shape, a) if x.shape is not None else
                       Unknown("size of a tensor of unknown rank"))
    if name in ("dim", "ndimension"):
        return Builtin(name, lambda it_, a, k, s: rank_of(x))
    if name in ("numel", "nelement"):
        return Builtin(name, lambda it_, a, k, s: norm(sp.Mul(*x.shape)))
    h = FUNCS.get(name)
    if h is None:
        h = FUNCS.get(name.rstrip("_"))
    if h is None:
        return Builtin(name, lambda it_, a, k, s: unknown_node(it_, f"tensor.{name}", [x, *a], k,
                                                               node_name(it_, name), it_.site_loc(), it_.site_loc()))
    return Builtin(name, lambda it_, a, k, s: call_func(it_, name, h, [x, *a], dict(k), s))


@OPS.register()
def tensor_select(it, x, i):
    c = Ctx(it, node_name(it, "select"), it.site_loc(), it.site_loc())
    return c.emit("Gather", [x, c.b.const([i], f"{c.name}/index", INT64, shape=())], {"axis": 0})


@OPS.register()
def tensor_index(it, x, elems, frame):
    keys = []
    for el in elems:
        s = el.slice
        if isinstance(s, cst.Index):
            keys.append(it.eval(s.value, frame))
        else:
            keys.append(slice(None if s.lower is None else it.eval(s.lower, frame),
                              None if s.upper is None else it.eval(s.upper, frame),
                              None if s.step is None else it.eval(s.step, frame)))
    if len(keys) == 1 and isinstance(keys[0], tuple):
        keys = list(keys[0])  # x[idx] with idx a tuple of keys: Python's x[*idx]
    r = rank_of(x)
    c = Ctx(it, node_name(it, "slice"), it.site_loc(), it.site_loc())
    # expand the ellipsis
    if any(k is Ellipsis for k in keys):
        i = keys.index(Ellipsis)
        n_real = sum(1 for k in keys if k is not None and k is not Ellipsis)
        keys = keys[:i] + [slice(None)] * (r - n_real) + keys[i + 1:]
    tensor_keys = [i for i, k in enumerate(keys) if isinstance(k, (Tensor, Param))]
    if len(tensor_keys) == 1 and all(k == slice(None) for i, k in enumerate(keys) if i != tensor_keys[0]):
        # x[idx], x[:, idx] with an integer index tensor: torch's result is x's shape with that axis
        # replaced by idx's shape whatever the values are (ONNX Gather); a bool mask's is data-dependent
        idx = keys[tensor_keys[0]]
        if idx.dtype not in (2, 3, 5, 6, 7):
            raise Stop("indexing a tensor with a mask or a float tensor (data-dependent)")
        return c.emit("Gather", [x, idx], {"axis": tensor_keys[0]})
    starts, ends, axes, steps, gathers, unsq = [], [], [], [], [], []
    ax = 0
    out_ax = 0
    for k in keys:
        if k is None:
            unsq.append(out_ax)
            out_ax += 1
            continue
        if isinstance(k, slice):
            if not (k.start is None and k.stop is None and k.step is None):
                starts.append(norm(k.start) if k.start is not None else 0)
                ends.append(norm(k.stop) if k.stop is not None else 2 ** 62)
                axes.append(ax)
                steps.append(norm(k.step) if k.step is not None else 1)
            ax += 1
            out_ax += 1
            continue
        if isinstance(k, (Tensor, Param)):
            raise Stop("indexing a tensor with a tensor (data-dependent)")
        gathers.append((ax, norm(k)))
        ax += 1
    y = x
    if axes:
        y = c.emit("Slice", [y, c.ints(starts, "starts"), c.ints(ends, "ends"), c.ints(axes, "axes"),
                             c.ints(steps, "steps")])
    for k, (a, i) in enumerate(reversed(gathers)):
        y = c.emit("Gather", [y, c.b.const([i], f"{c.name}/index", INT64, shape=())], {"axis": a},
                   suffix=f"Gather{k}" if (k or axes) else "")
    if unsq:
        y = c.emit("Unsqueeze", [y, c.ints(unsq, "axes")], suffix="Unsqueeze")
    return y
