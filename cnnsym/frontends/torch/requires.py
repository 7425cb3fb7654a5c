"""torch's own size rules: checks torch's kernels make that the ONNX graph cnnsym lowers a
layer to does not have (an export of the same model would run there), stated to the
analysis as :class:`cnnsym.graph.Requirement` (``Graph.requires``) so the valid-size
domain, ``check``, ``verify`` and lint see them. Each was found by the differential source
fuzzer (``tests/srcfuzz.py``) and is checked against torch executing the layer in
``tests/test_torch_requires.py``. The model is analysed in eval mode (``self.training`` is
false), so the rules are torch's eval-mode ones:

- GroupNorm: more than one value per group, ``N * C/G * prod(spatial) > 1`` (eval too);
- InstanceNorm without running statistics: more than one spatial element;
- BatchNorm with ``track_running_stats=False`` (batch statistics in eval too):
  ``N * prod(spatial) > 1`` (with running statistics eval mode has no rule);
- circular padding: each pad at most the size it wraps (``F.pad``, ``padding_mode``);
- ``avg_pool3d``: input >= kernel along each axis, padding not counted (max_pool3d and the
  1-D/2-D pools have only the output-size rule the ONNX op states);
- adaptive pooling to a size other than 1: no empty input axis;
- ``a += b`` (in place): ``b`` broadcasts to ``a`` without growing it.
"""
from __future__ import annotations

import sympy as sp

from ...graph import Requirement, req_dim
from .values import Tensor, norm


def _prod(xs):
    out = sp.Integer(1)
    for x in xs:
        out = out * x
    return out


def require(builder, rel, reason, out, tensors):
    """State ``rel`` (over :func:`req_dim` placeholders of ``tensors``) for the node that
    made ``out``; nothing when a tensor's rank is unknown."""
    if not isinstance(out, Tensor) or any(not isinstance(t, Tensor) or t.shape is None for t in tensors):
        return
    node = next((n for n in reversed(builder.nodes) if out.name in n.outputs), None)
    if node is None:
        return
    builder.requires.append(Requirement(rel, reason, node.name, tuple(t.name for t in tensors),
                                        node.call_loc or node.loc))


def group_norm(c, y, x, groups):
    """torch.nn.functional.group_norm: ``_verify_batch_size([N * C // G, G, *spatial])``."""
    if x.shape is None or len(x.shape) < 2:
        return
    g = norm(groups)
    n, ch = req_dim(0, 0), req_dim(0, 1)
    spatial = _prod(req_dim(0, ax) for ax in range(2, len(x.shape)))
    require(c.b, sp.StrictGreaterThan(n * ch * spatial, g),
            f"GroupNorm({g}) needs more than one value per group: N * C/{g} * spatial > 1 (torch refuses one, "
            "in eval mode too)", y, [x])


def instance_norm(c, y, x, n_spatial):
    """InstanceNorm with input statistics (no running ones, or training): torch's
    ``_verify_spatial_size``: the product of the last ``n_spatial`` dims > 1."""
    if x.shape is None or len(x.shape) < n_spatial + 1:
        return
    r = len(x.shape)
    spatial = _prod(req_dim(0, ax) for ax in range(r - n_spatial, r))
    require(c.b, sp.StrictGreaterThan(spatial, 1),
            "InstanceNorm without running statistics needs more than one spatial element (torch refuses one)", y, [x])


def batch_norm_batch_stats(c, y, x):
    """BatchNorm using the batch's statistics (``track_running_stats=False``, eval too):
    torch's ``_verify_batch_size``: ``N * prod(dims after C) > 1``."""
    if x.shape is None or len(x.shape) < 2:
        return
    rest = _prod(req_dim(0, ax) for ax in range(2, len(x.shape)))
    require(c.b, sp.StrictGreaterThan(req_dim(0, 0) * rest, 1),
            "BatchNorm without running statistics needs more than one value per channel: N * spatial > 1 "
            "(torch refuses one, in eval mode too)", y, [x])


def circular_pad(c, y, x, begins, ends):
    """torch's circular padding wraps at most once: every pad <= the size of its axis
    (``F.pad(mode='circular')`` and ``padding_mode='circular'``)."""
    if x.shape is None:
        return
    for ax, (b, e) in enumerate(zip(begins, ends)):
        for p in (b, e):
            p = norm(p)
            if isinstance(p, int) and p <= 0 or not isinstance(p, (int, sp.Basic)):
                continue
            require(c.b, sp.GreaterThan(req_dim(0, ax), p),
                    f"circular padding {p} needs size >= {p} along axis {ax} (torch wraps around at most once)", y, [x])


def avg_pool3d(c, y, x, kernel):
    """torch's avg_pool3d refuses an input smaller than the kernel along any axis (padding
    not counted), where the output-size rule alone (ceil_mode, padding) would give >= 1."""
    if x.shape is None or len(x.shape) < len(kernel):
        return
    r = len(x.shape)
    for i, k in enumerate(kernel):
        ax = r - len(kernel) + i
        if isinstance(k, int) and k > 1:
            require(c.b, sp.GreaterThan(req_dim(0, ax), k),
                    f"avg_pool3d needs input >= kernel {k} along axis {ax}, padding not counted (torch refuses it)",
                    y, [x])


def adaptive_nonempty(c, y, x, n_spatial):
    """Adaptive pooling to a size other than 1 (and adaptive max pooling to 1) refuses an
    empty input axis; cnnsym's ``AdaptiveAveragePool``/``AdaptiveMaxPool`` would map it."""
    if x.shape is None:
        return
    r = len(x.shape)
    for ax in range(max(1, r - n_spatial), r):
        require(c.b, sp.GreaterThan(req_dim(0, ax), 1),
                f"adaptive pooling needs a non-empty input along axis {ax} (torch refuses an empty one)", y, [x])


def inplace_broadcast(builder, cur, rhs, out, op):
    """``a op= b`` on a tensor writes into ``a``: torch refuses a ``b`` whose broadcast
    would grow ``a`` ("output with shape ... doesn't match the broadcast shape"); the graph
    has a plain broadcasting op. Per axis (aligned from the last): b == a or b == 1."""
    if not isinstance(cur, Tensor) or not isinstance(rhs, Tensor) or cur.shape is None or rhs.shape is None:
        return
    ra, rb = len(cur.shape), len(rhs.shape)
    if rb > ra:
        require(builder, sp.false, f"in-place {op}: the right operand's rank {rb} would grow the left's {ra}",
                out, [cur, rhs])
        return
    for j in range(rb):
        a, b = req_dim(0, ra - rb + j), req_dim(1, j)
        # evaluate=False: over free placeholders sympy can never decide it (the same Eq object
        # either way), and trying costs 6-9 ms per axis, 0.03 s of a resnet18 source report
        require(builder, sp.Eq((b - a) * (b - 1), 0, evaluate=False),
                f"in-place {op}: the right operand must not grow the left along axis {ra - rb + j} (b == a or b == 1)",
                out, [cur, rhs])
