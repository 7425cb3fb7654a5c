"""nn.MultiheadAttention, lowered as ``torch.nn.functional.multi_head_attention_forward``
computes it (eval mode), in ONNX ops: the input projections (``MatMul`` + ``Add``, one
packed ``in_proj_weight`` (3E, E) when kdim == vdim == E, else ``q/k/v_proj_weight``),
heads split by ``Reshape`` + ``Transpose``, the scaled scores ``Mul`` + ``MatMul``, masks
added, ``Softmax``, the weighted sum ``MatMul``, and ``out_proj`` (a child
NonDynamicallyQuantizableLinear, so ``named_modules()`` lists it as torch does).

Shapes (L target length, S source length, N batch, E embed_dim, H heads, d = E/H;
``batch_first`` swaps L/S and N on the inputs and the output; a 2-D input is unbatched):

- output (L, N, E); weights (N, L, S') averaged over heads, (N, H, L, S') otherwise, None
  with ``need_weights=False``; S' = S + add_bias_kv + add_zero_attn.
- macs = L·N·E·E (q) + S·N·E·kdim (k) + S·N·E·vdim (v) + 2·N·H·L·S'·d (scores, sum)
  + L·N·E·E (out_proj): what the ops emitted count.

https://pytorch.org/docs/stable/generated/torch.nn.MultiheadAttention.html
"""
from __future__ import annotations

from .emit import Ctx, as_tensor, div, new_param, rank_of
from .modules import call_module
from .modules_linear import Linear, linear
from .registry import FUNCS, LAYERS, _sig, bind
from .tensor_methods import reshape
from .values import Module, Stop, Tensor, norm

_FORWARD = _sig("query key value key_padding_mask=None need_weights=True attn_mask=None "
                "average_attn_weights=True is_causal=False")
_LINEAR = _sig("in_features out_features bias=True")


@LAYERS.register("NonDynamicallyQuantizableLinear", "in_features out_features bias=True", "Linear")
class NonDynamicallyQuantizableLinear(Linear):
    """torch.nn.modules.linear.NonDynamicallyQuantizableLinear: a Linear (MultiheadAttention's
    out_proj), ``isinstance(m, nn.Linear)`` included."""


@LAYERS.register("MultiheadAttention", "embed_dim num_heads dropout=0.0 bias=True add_bias_kv=False "
                 "add_zero_attn=False kdim=None vdim=None batch_first=False")
class MultiheadAttention:
    # forward(query, key, value, ...): layer_forward passes every argument (the first may be
    # given by this name)
    takes_args = "query"
    # attributes torch sets to None when the configuration has no such parameter
    optional = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k",
                "bias_v")

    @staticmethod
    def init(m, a):
        e, h = norm(a["embed_dim"]), norm(a["num_heads"])
        kd = norm(a["kdim"]) if a["kdim"] is not None else e
        vd = norm(a["vdim"]) if a["vdim"] is not None else e
        try:
            hd = div(e, h)
        except Stop:
            raise Stop(f"MultiheadAttention: embed_dim {e} must be divisible by num_heads {h} "
                       "(torch raises AssertionError)") from None
        same = kd == e and vd == e
        m.cfg.update(kdim=kd, vdim=vd, head_dim=hd, _qkv_same_embed_dim=same)
        if same:
            new_param(m, "in_proj_weight", (3 * e, e))
        else:
            new_param(m, "q_proj_weight", (e, e))
            new_param(m, "k_proj_weight", (e, kd))
            new_param(m, "v_proj_weight", (e, vd))
        if a["bias"]:
            new_param(m, "in_proj_bias", (3 * e,))
        out = Module("NonDynamicallyQuantizableLinear", loc=m.loc)
        out.loc_chain = m.loc_chain
        out.cfg = bind(_LINEAR, [e, e], {"bias": bool(a["bias"])}, "NonDynamicallyQuantizableLinear")
        Linear.init(out, out.cfg)
        m.modules["out_proj"] = out
        if a["add_bias_kv"]:
            new_param(m, "bias_k", (1, 1, e))
            new_param(m, "bias_v", (1, 1, e))

    @staticmethod
    def forward(c, m, query, args, kwargs):
        a = bind(_FORWARD, [query, *args], kwargs, "MultiheadAttention.forward")
        it = c.it
        flags = {}
        for k in ("need_weights", "average_attn_weights", "is_causal"):
            flags[k] = it.known_truth(a[k])
            if flags[k] is None:
                raise Stop(f"MultiheadAttention.forward: {k} is not known statically")
        q, k, v = (as_tensor(it, a[n]) for n in ("query", "key", "value"))
        if flags["is_causal"] and a["attn_mask"] is None:
            raise Stop("MultiheadAttention: is_causal needs attn_mask (torch raises RuntimeError)")
        if any(t.shape is None for t in (q, k, v)):
            return _unresolved(c, m, q, k, v, flags["need_weights"])
        return _attention(c, m, q, k, v, a, flags["need_weights"], flags["average_attn_weights"])


def _sub(c, what):
    return Ctx(c.it, f"{c.name}/{what}", c.loc, c.call_loc)


def _unresolved(c, m, q, k, v, need_weights):
    """An input of unknown shape (downstream of what cnnsym cannot follow): one node holding
    every parameter (counted), its outputs unknown."""
    params = [*m.params.values(), *m.modules["out_proj"].params.values()]
    ins = [q] + ([k] if k.name != q.name else []) + ([v] if v.name not in (q.name, k.name) else [])
    y = c.emit("Attention", ins + params, n_out=2 if need_weights else 1)
    return (y[0], y[1]) if need_weights else (y, None)


def _attention(c, m, q, k, v, a, need_weights, average):
    cfg = m.cfg
    e, h, hd = cfg["embed_dim"], cfg["num_heads"], cfg["head_dim"]
    rank = len(q.shape)
    if rank not in (2, 3) or len(k.shape) != rank or len(v.shape) != rank:
        raise Stop(f"MultiheadAttention: query, key and value must all be 2-D (unbatched) or 3-D, got ranks "
                   f"{len(q.shape)}, {len(k.shape)}, {len(v.shape)} (torch raises AssertionError)")
    same_kv, same_qk = k.name == v.name, q.name == k.name
    if rank == 2:  # unbatched: torch adds the batch axis at 1 and removes it at the end
        q, k, v = _each(c, "unsqueeze", q, k, v, lambda s, t: s.emit("Unsqueeze", [t, s.ints([1], "axes")]))
    elif cfg["batch_first"]:
        q, k, v = _each(c, "batch_first", q, k, v, lambda s, t: s.emit("Transpose", [t], {"perm": [1, 0, 2]}))
    tgt, bsz = q.shape[0], q.shape[1]
    q, k, v = _in_projection(c, m, q, k, v, e, same_qk, same_kv)
    attn_mask, kpm = a["attn_mask"], a["key_padding_mask"]
    if "bias_k" in m.params:
        rep = c.ints([1, bsz, 1], "bias_kv_repeats")
        s = _sub(c, "bias_k")
        k = s.emit("Concat", [k, s.emit("Tile", [m.params["bias_k"], rep], suffix="Tile")], {"axis": 0})
        s = _sub(c, "bias_v")
        v = s.emit("Concat", [v, s.emit("Tile", [m.params["bias_v"], rep], suffix="Tile")], {"axis": 0})
        attn_mask, kpm = _pad_masks(c, "bias_kv", attn_mask, kpm)
    q = _heads(_sub(c, "q_heads"), q, [tgt, bsz * h, hd])
    k = _heads(_sub(c, "k_heads"), k, [k.shape[0], bsz * h, hd])
    v = _heads(_sub(c, "v_heads"), v, [v.shape[0], bsz * h, hd])
    if cfg["add_zero_attn"]:
        zs = _sub(c, "zero_attn")
        zeros = zs.emit("ConstantOfShape", [zs.ints([bsz * h, 1, hd], "shape")], suffix="zeros")
        k = _sub(c, "k_zero_attn").emit("Concat", [k, zeros], {"axis": 1})
        v = _sub(c, "v_zero_attn").emit("Concat", [v, zeros], {"axis": 1})
        attn_mask, kpm = _pad_masks(c, "zero_attn", attn_mask, kpm)
    src = k.shape[1]
    s = _sub(c, "scores")
    scale = float(norm(hd)) ** -0.5 if isinstance(norm(hd), int) else 1.0  # the value does not change a shape
    qs = s.emit("Mul", [q, s.scalar(scale)], suffix="scale")
    kt = s.emit("Transpose", [k], {"perm": [0, 2, 1]}, suffix="Transpose")
    w = s.emit("MatMul", [qs, kt])
    if attn_mask is not None:
        w = _sub(c, "attn_mask").emit("Add", [w, as_tensor(c.it, attn_mask)])
    if kpm is not None:
        ks = _sub(c, "key_padding_mask")
        km = reshape(ks, as_tensor(c.it, kpm), [bsz, 1, 1, src])
        km = ks.emit("Expand", [km, ks.ints([1, h, 1, 1], "shape")], suffix="Expand")
        km = reshape(_sub(c, "key_padding_mask/heads"), km, [bsz * h, 1, src])
        w = ks.emit("Add", [w, km], suffix="Add")
    w = _sub(c, "softmax").emit("Softmax", [w], {"axis": -1})
    out = _sub(c, "weighted").emit("MatMul", [w, v])
    s = _sub(c, "merge_heads")
    out = s.emit("Transpose", [out], {"perm": [1, 0, 2]}, suffix="Transpose")
    out = reshape(s, out, [tgt * bsz, e])
    out = call_module(c.it, m.modules["out_proj"], [out], {}, None)
    out = reshape(_sub(c, "output"), out, [tgt, bsz, e])
    weights = None
    if need_weights:
        ws = _sub(c, "attn_weights")
        weights = reshape(ws, w, [bsz, h, tgt, src])
        if average:
            weights = ws.emit("ReduceMean", [weights, ws.ints([1], "axes")], {"keepdims": 0}, suffix="mean")
    if rank == 2:
        out = _sub(c, "squeeze").emit("Squeeze", [out, c.ints([1], "squeeze_axes")])
        if weights is not None:
            weights = _sub(c, "attn_weights/squeeze").emit("Squeeze", [weights, c.ints([0], "w_axes")])
    elif cfg["batch_first"]:
        out = _sub(c, "batch_first_out").emit("Transpose", [out], {"perm": [1, 0, 2]})
    return (out, weights)


def _each(c, what, q, k, v, f):
    """``f`` applied to query, key and value, once per distinct tensor (torch transposes a
    tensor passed as several of them once)."""
    done = {}
    out = []
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.name not in done:
            done[t.name] = f(_sub(c, f"{what}_{name}"), t)
        out.append(done[t.name])
    return out


def _in_projection(c, m, q, k, v, e, same_qk, same_kv):
    """torch's ``_in_projection_packed`` (one (3E, E) weight: self-attention projects once
    and splits the result) or ``_in_projection`` (separate q/k/v weights)."""
    b = m.params.get("in_proj_bias")
    if m.cfg["_qkv_same_embed_dim"]:
        w = m.params["in_proj_weight"]
        if same_qk and same_kv:
            proj = linear(_sub(c, "in_proj"), q, w, b)
            return list(_sub(c, "in_proj/split").emit("Split", [proj, c.ints([e, e, e], "qkv_split")], {"axis": -1},
                                                      n_out=3))
        if same_kv:
            ws = _split(c, "in_proj_weight", w, [e, 2 * e])
            bs = _split(c, "in_proj_bias", b, [e, 2 * e]) if b is not None else (None, None)
            qp = linear(_sub(c, "q_proj"), q, ws[0], bs[0])
            kv = linear(_sub(c, "kv_proj"), k, ws[1], bs[1])
            kp, vp = _sub(c, "kv_proj/split").emit("Split", [kv, c.ints([e, e], "kv_split")], {"axis": -1}, n_out=2)
            return [qp, kp, vp]
        ws = _split(c, "in_proj_weight", w, [e, e, e])
    else:
        ws = [m.params["q_proj_weight"], m.params["k_proj_weight"], m.params["v_proj_weight"]]
    bs = _split(c, "in_proj_bias", b, [e, e, e]) if b is not None else (None, None, None)
    return [linear(_sub(c, f"{n}_proj"), t, wi, bi) for n, t, wi, bi in zip("qkv", (q, k, v), ws, bs)]


def _split(c, what, t, sizes):
    s = _sub(c, what)
    return list(s.emit("Split", [t, s.ints(sizes, "split")], {"axis": 0}, n_out=len(sizes)))


def _heads(s, t, target):
    """(len, N, E) -> (N·H, len, d): ``view`` then ``transpose(0, 1)``."""
    return s.emit("Transpose", [reshape(s, t, target)], {"perm": [1, 0, 2]}, suffix="Transpose")


def _pad_masks(c, what, attn_mask, kpm):
    """torch pads both masks by one column when a key is appended (``F.pad(mask, (0, 1))``)."""
    out = []
    for name, mask in (("attn_mask", attn_mask), ("key_padding_mask", kpm)):
        if mask is not None:
            mask = as_tensor(c.it, mask)
            r = len(mask.shape) if isinstance(mask, Tensor) and mask.shape is not None else None
            if r is None:
                raise Stop(f"MultiheadAttention: {name} of unknown rank")
            s = _sub(c, f"{what}/{name}")
            mask = s.emit("Pad", [mask, s.ints([0] * (2 * r - 1) + [1], "pads")], {"mode": "constant"})
        out.append(mask)
    return out


@FUNCS.register("scaled_dot_product_attention", "query key value attn_mask=None dropout_p=0.0 is_causal=False "
                "scale=None enable_gqa=False")
def _sdpa(c, a):
    """F.scaled_dot_product_attention (eval: no dropout): q (..., L, E), k (..., S, E),
    v (..., S, Ev) -> (..., L, Ev) = softmax(q·k^T·scale + mask)·v, as ``Mul``, ``MatMul``,
    ``Add`` (attn_mask), ``Softmax``, ``MatMul``; with ``enable_gqa`` the key/value heads
    (axis -3) are repeated to the query's (``repeat_interleave``). ``is_causal`` masks
    values, not shapes. macs = 2 products of (..)·L·S·E and (..)·L·S·Ev."""
    it = c.it
    q, k, v = (as_tensor(it, a[n]) for n in ("query", "key", "value"))
    if any(t.shape is None for t in (q, k, v)):
        return c.emit("MatMul", [c.emit("Softmax", [c.emit("MatMul", [q, k], suffix="scores")], {"axis": -1},
                                        suffix="softmax"), v])
    rk = rank_of(k)
    gqa = it.known_truth(a["enable_gqa"])
    if gqa and len(q.shape) >= 3 and rk >= 3:
        hq, hk = norm(q.shape[-3]), norm(k.shape[-3])
        if hq != hk:
            rep = div(hq, hk)
            k = FUNCS["repeat_interleave"](_sub(c, "gqa_k"), [k, rep], {"dim": -3})
            v = FUNCS["repeat_interleave"](_sub(c, "gqa_v"), [v, rep], {"dim": -3})
    scale = a["scale"]
    if scale is None:
        e = norm(q.shape[-1])
        scale = float(e) ** -0.5 if isinstance(e, int) else 1.0  # the value does not change a shape
    s = _sub(c, "scores")
    qs = s.emit("Mul", [q, s.scalar(float(norm(scale)) if isinstance(norm(scale), (int, float)) else 1.0)],
                suffix="scale")
    perm = list(range(rk))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    w = s.emit("MatMul", [qs, s.emit("Transpose", [k], {"perm": perm}, suffix="Transpose")])
    if a["attn_mask"] is not None:
        w = _sub(c, "attn_mask").emit("Add", [w, as_tensor(it, a["attn_mask"])])
    w = _sub(c, "softmax").emit("Softmax", [w], {"axis": -1})
    return c.emit("MatMul", [w, v])
