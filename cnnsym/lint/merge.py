"""What merging two linear layers into one would cost (CNS202 fires only when the merged
layer is no larger and no slower than the pair), and whether the pair straddles the edge of
a residual or expansion block. Reads the Report only."""
from __future__ import annotations


def _channels(ctx, tensor, op_type):
    sh = ctx.shape(tensor)
    if not sh or len(sh) < 2:
        return None
    return sh[-1] if op_type in ("Gemm", "MatMul") else sh[1]


# sizes a formula is compared at when no input size is configured (spatial symbols; batch 1)
SAMPLE_SIZES = (32, 224)


def _numbers(ctx, *exprs):
    """The expressions' values at the configured size, else at each of SAMPLE_SIZES for
    every spatial symbol (batch 1, a hyperparameter at its default): a list of tuples, or
    None when some symbol has no value."""
    import sympy as sp

    syms = set()
    for e in exprs:
        syms |= {s.name for s in getattr(e, "free_symbols", ())}
    if not syms:
        return [tuple(int(e) for e in exprs)]
    if ctx.bindings is not None and syms <= set(ctx.bindings):
        return [tuple(int(ctx.value(e)) for e in exprs)]
    out = []
    defaults = getattr(ctx.report, "symbol_defaults", {}) or {}
    for size in SAMPLE_SIZES:
        b = {}
        for n in syms:
            if ctx.bindings and n in ctx.bindings:
                b[n] = ctx.bindings[n]
            elif n in ctx.spatial:
                b[n] = size
            elif n in ctx.batch:
                b[n] = 1
            elif n in defaults:
                b[n] = defaults[n]
            else:
                return None
        vals = []
        for e in exprs:
            e = sp.sympify(e)
            v = e.subs({q: b[q.name] for q in e.free_symbols})
            if not v.is_number:
                return None
            vals.append(int(v))
        out.append(tuple(vals))
    return out


def _weight_shape(ctx, r):
    info = ctx.report.initializers.get(r.node.inputs[1]) if len(r.node.inputs) > 1 else None
    return None if info is None else tuple(info.shape)


def _per_sample(ctx, tensor):
    """Elements of one sample of ``tensor`` (its shape's product over axes 1..)."""
    import sympy as sp

    sh = ctx.shape(tensor)
    if not sh or len(sh) < 2:
        return None
    return sp.Mul(*sh[1:])


def merged_cost(ctx, a, b):
    """((merged weights, pair weights), (merged MACs, pair MACs)) of replacing layer ``a``
    followed by layer ``b`` with the one linear layer they compose to; None when it cannot
    be worked out (then the rule stays silent).

    Two convs: weights ``Cout_b x Cin_a / g x prod(K)`` with ``g = gcd(groups_a, groups_b)``
    and ``K = extent_a + (extent_b - 1) x stride_a`` per axis (extent = dilation x (k - 1) + 1),
    MACs ``(elements of b's output) x Cin_a / g x prod(K)``. Two linears: ``in x out``
    weights, ``rows x in x out`` MACs. A conv then a linear (through a flatten): a linear
    from everything one sample of the conv's input holds. The pair: both weights, both
    layers' MACs as the Report counts them."""
    import math

    import sympy as sp

    A, B = a.node.op_type, b.node.op_type
    wa, wb = _weight_shape(ctx, a), _weight_shape(ctx, b)
    if wa is None or wb is None:
        return None
    pair_w = sp.Mul(*wa) + sp.Mul(*wb)
    out_b = ctx.shape(b.node.outputs[0])
    if not out_b:
        return None
    n_out = sp.Mul(*out_b)
    if A == "Conv" and B == "Conv":
        ga, gb = int(a.node.attrs.get("group", 1)), int(b.node.attrs.get("group", 1))
        g = math.gcd(ga, gb)
        c_in = wa[1] * ga
        if len(a.windows) != len(wa) - 2 or len(b.windows) != len(wb) - 2:
            return None
        k = 1
        for u, v in zip(a.windows, b.windows):
            if u is None or v is None or u.kernel is None or v.kernel is None:
                return None
            k = k * (u.span + 1 + v.span * u.jump)  # Window.span is d(k-1): extent - 1
        merged_w = wb[0] * sp.Rational(c_in, g) * k
        merged_m = n_out * sp.Rational(c_in, g) * k
    elif A in ("Gemm", "MatMul") and B in ("Gemm", "MatMul"):
        a_in = _channels(ctx, a.node.inputs[0], A)
        b_out = _channels(ctx, b.node.outputs[0], B)
        if a_in is None or b_out is None:
            return None
        merged_w = a_in * b_out
        merged_m = n_out * a_in
    elif A == "Conv" and B in ("Gemm", "MatMul"):
        feats = _per_sample(ctx, a.node.inputs[0])
        b_out = _channels(ctx, b.node.outputs[0], B)
        if feats is None or b_out is None:
            return None
        merged_w = feats * b_out
        merged_m = n_out * feats
    else:
        return None  # a transposed conv, a linear into a conv: not worked out, so no claim
    vals = _numbers(ctx, merged_w, pair_w, merged_m, a.macs + b.macs)
    if not vals:
        return None
    worst = max(vals, key=lambda v: max(v[0] - v[1], v[2] - v[3]))
    return (worst[0], worst[1]), (worst[2], worst[3])


def _ratio(m, p) -> str:
    if p <= 0:
        return "no more"
    return f"{m / p:.2g}x"


def _top_block(ctx, module, lca):
    """The child of ``lca`` on the way to ``module`` (its own path when directly below)."""
    rest = module[len(lca) + 1:] if lca else module
    head = rest.split(".", 1)[0]
    return f"{lca}.{head}" if lca else head


def _block_boundary(ctx, a, b, expansion) -> bool:
    """``a`` and ``b`` sit in two different blocks (sibling modules with children of their
    own, as MobileNet's inverted residuals in ``features``) and the pair is a residual or
    expansion design: either block joins branches (a residual Add, a Concat) or the pair
    changes the width (``expansion``: a projection or an expansion at the block's edge)."""
    ma, mb = a.node.module, b.node.module
    if ma is None or mb is None or ma == mb:
        return False
    pa, pb = ma.split(".") if ma else [], mb.split(".") if mb else []
    common = []
    for x, y in zip(pa, pb):
        if x != y:
            break
        common.append(x)
    lca = ".".join(common)
    if lca in (ma, mb):
        return False
    ba, bb = _top_block(ctx, ma, lca), _top_block(ctx, mb, lca)
    mods = ctx.report.modules
    ia, ib = mods.get(ba), mods.get(bb)
    if ia is None or ib is None or not (ia.children or ib.children):
        return False  # plain layers side by side (a Sequential of layers): not a block edge
    if expansion:
        return True
    joins = {"Add", "Sum", "Concat", "Mul"}
    for info in (ia, ib):
        for name in info.nodes:
            n = ctx.node(name)
            if n is not None and n.node.op_type in joins:
                return True
    return False

