"""CNS1xx: the model cannot run as written (errors). Each reads the Report's structured
problems (ops that raised at a fixed shape) and its constraints (which fail at the
configured input size, or, without one, at every size)."""
from __future__ import annotations

from . import Example, Rule, rule
from ..errors import BROADCAST, CHANNELS, FEATURES, SIZE
from ..graph import REQUIREMENT
from ..report import Problem

LINEAR = {"Gemm", "MatMul"}
CHANNEL = {"Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "GroupNormalization",
           "LayerNormalization"}
BRANCH = {"Add", "Sub", "Mul", "Div", "Sum", "Mean", "Max", "Min", "Concat", "Where", "Pow", "PRelu",
          "Equal", "Greater", "Less", "And", "Or"}
RESHAPE = {"Reshape"}
# the constructor argument (torch's name) that declares what a layer expects to receive,
# and the one that declares what it gives: a finding points where that value was written
IN_ARG = {"Conv": "in_channels", "ConvTranspose": "in_channels", "BatchNormalization": "num_features",
          "InstanceNormalization": "num_features", "GroupNormalization": "num_channels",
          "LayerNormalization": "normalized_shape", "Gemm": "in_features", "MatMul": "in_features"}
OUT_ARG = {"Conv": "out_channels", "ConvTranspose": "out_channels", "Gemm": "out_features",
           "MatMul": "out_features", "BatchNormalization": "num_features"}


def _spatial_in(ctx, expr) -> bool:
    return any(s.name in ctx.spatial for s in getattr(expr, "free_symbols", ()))


def _sides(rel):
    """(got, expected) of an equality: the side with symbols arrives, the number is declared."""
    a, b = rel.lhs, rel.rhs
    if a.is_number and not b.is_number:
        return b, a
    return a, b


def _code_of(ctx, r, item):
    op = r.node.op_type
    if item.kind == REQUIREMENT:  # a frontend's own rule (graph.Requirement): its reason says it all
        return "CNS100"
    if isinstance(item, Problem):
        kind = item.kind
        if kind == SIZE:
            return "CNS103"
        if op in LINEAR or kind == FEATURES:
            return "CNS101" if _spatial_in(ctx, item.got) else "CNS102"
        if kind == CHANNELS or op in CHANNEL:
            return "CNS102"
        if kind == BROADCAST or op in BRANCH:
            return "CNS104"
        if op in RESHAPE:
            return "CNS105"
        return "CNS100"
    rel = item.rel
    if item.kind == SIZE:  # typed by the op (errors.Need), never read from the message
        return "CNS103"
    if op in LINEAR:
        return "CNS101" if _spatial_in(ctx, rel) else "CNS102"
    if op in CHANNEL:
        return "CNS102"
    if op in BRANCH:
        return "CNS104"
    if op in RESHAPE:
        return "CNS105"
    return "CNS100"


def issues(ctx) -> dict:
    """code -> [(NodeResult, Problem | Constraint)], computed once per model."""
    if "issues" in ctx._cache:
        return ctx._cache["issues"]
    out = {}
    for p in ctx.report.problems:
        r = ctx.node(p.node)
        if r is not None:
            out.setdefault(_code_of(ctx, r, p), []).append((r, p))
    for c in ctx.report.constraints:
        r = ctx.node(c.node)
        if r is None or r.status != "ok":
            continue
        if ctx.violated(c):
            out.setdefault(_code_of(ctx, r, c), []).append((r, c))
    ctx._cache["issues"] = out
    return out


def skipping_stride(ctx, r, limit=20_000):
    """The nearest layer upstream of ``r`` (itself included) whose stride is larger than its
    window (a kxk window, k > 1, moved by more than k, or a 1x1 one moved by more than 2: it
    skips pixels, which no common design does; ResNet's 1x1 stride-2 shortcut is not one):
    (NodeResult, stride, extent) or None. A
    collapse or a branch mismatch downstream of one is its consequence, and the stride is
    the value to edit."""
    todo, seen = [r], set()
    while todo and len(seen) < limit:
        cur = todo.pop(0)
        if cur.node.name in seen:
            continue
        seen.add(cur.node.name)
        for w in cur.windows:
            if w is None or w.kernel is None or w.stride is None:
                continue
            try:
                ext, st = int(w.span) + 1, int(w.stride)
            except TypeError:
                continue
            if 1 < ext < st or ext == 1 and st > 2:
                return cur, st, ext
        for t in cur.node.inputs:
            p = ctx.producer(t) if t else None
            if p is not None and p.node.name not in seen:
                todo.append(p)
    return None


def _blame_stride(ctx, rule, r, msg, arg=None):
    """The finding for ``r``, moved to an upstream stride that skips pixels when there is
    one (with ``r`` as a related location)."""
    sus = skipping_stride(ctx, r)
    if sus is None or sus[0] is r and arg == "stride":
        return ctx.finding(rule, r, msg, arg=arg)
    s, st, ext = sus
    loc = r.node.loc or r.node.call_loc
    rel = [(loc, f"{r.node.name!r} is where it fails")] if loc is not None and s is not r else []
    return ctx.finding(rule, s, f"{msg}; {ctx.describe(s)} moves its {ext}-wide window by {st}, skipping pixels",
                       arg="stride", related=rel)


def _at(ctx):
    return f"at {ctx.at()}" if ctx.has_size else "at every input size"


@rule
class LinearInFeatures(Rule):
    """A Linear/Gemm's input features differ from what reaches it at the configured input size.

    What: the flattened feature map that reaches a Linear (Gemm/MatMul) layer has a number
    of features that depends on the input size, and at the configured size it is not the
    ``in_features`` the layer declares.

    Why: the model raises a shape error on its first batch; the classic case is a
    classifier head written for 32x32 inputs and fed 224x224 ones.

    Example: ``nn.Linear(16 * 5 * 5, 10)`` after two conv/pool stages, run at 64x64.

    Fix: declare the features that arrive (the message gives their formula and value), put
    an ``nn.AdaptiveAvgPool2d`` before the flatten, or use the input sizes the message lists.
    """

    code, name = "CNS101", "linear-in-features"
    fix = "set in_features to what arrives, add adaptive pooling before flatten, or change the input size"
    invalid = [
        Example(input="1x3x64x64", expect="expects 400 input features", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 16, 5)
                    self.pool = nn.MaxPool2d(2)
                    self.fc = nn.Linear(16 * 5 * 5, 10)
                def forward(self, x):
                    return self.fc(self.pool(self.pool(self.conv(x))).flatten(1))
            """, onnx="""
            m (float[N,3,64,64] x) => (float y) <float[16,3,5,5] w, float[10,400] fw> {
              c = Conv(x, w)
              p = MaxPool<kernel_shape=[2,2], strides=[2,2]>(c)
              q = MaxPool<kernel_shape=[2,2], strides=[2,2]>(p)
              f = Flatten<axis=1>(q)
              y = Gemm<transB=1>(f, fw)
            }"""),
        Example(input=None, note="no size fits at all: 7 features never flatten from 16 channels", expect="no input size gives 7",
                onnx="""
            m (float[N,3,H,W] x) => (float y) <float[16,3,3,3] w, float[10,7] fw> {
              c = Conv(x, w)
              f = Flatten<axis=1>(c)
              y = Gemm<transB=1>(f, fw)
            }"""),
    ]
    valid = [
        Example(input="1x3x24x24", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 16, 5)
                    self.pool = nn.MaxPool2d(2)
                    self.fc = nn.Linear(16 * 5 * 5, 10)
                def forward(self, x):
                    return self.fc(self.pool(self.pool(self.conv(x))).flatten(1))
            """, onnx="""
            m (float[N,3,24,24] x) => (float y) <float[16,3,5,5] w, float[10,400] fw> {
              c = Conv(x, w)
              p = MaxPool<kernel_shape=[2,2], strides=[2,2]>(c)
              q = MaxPool<kernel_shape=[2,2], strides=[2,2]>(p)
              f = Flatten<axis=1>(q)
              y = Gemm<transB=1>(f, fw)
            }"""),
        Example(input=None, note="without a configured size, fine as long as some size fits", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 16, 5)
                    self.fc = nn.Linear(16 * 28 * 28, 10)
                def forward(self, x):
                    return self.fc(self.conv(x).flatten(1))
            """),
    ]

    def check(self, ctx):
        found = issues(ctx)
        if found.get("CNS103"):
            return  # the input is too small: features follow from that (CNS103)
        for r, item in found.get(self.code, []):
            if isinstance(item, Problem):
                v = ctx.value(item.got)
                arrive = ctx.fmt(item.got) + (f" = {v}" if v is not None and not item.got.is_number else "")
                tail = f" {_at(ctx)}; no input size gives {ctx.fmt(item.expected)}" if not item.got.is_number else ""
                yield ctx.finding(self, r, f"{ctx.describe(r)} expects {ctx.fmt(item.expected)} input features but "
                                           f"{arrive} arrive{tail}", arg="in_features")
                continue
            got, want = _sides(item.rel)
            v = ctx.value(got)
            arrive = f"{ctx.fmt(got)}" + (f" = {v}" if v is not None and not got.is_number else "")
            fits = ctx.fits([item], {s.name for s in item.rel.free_symbols})
            tail = f"; {ctx.fmt(want)} fits at {fits}" if fits else f"; no input size gives {ctx.fmt(want)}"
            yield ctx.finding(self, r, f"{ctx.describe(r)} expects {ctx.fmt(want)} input features but {arrive} "
                                       f"arrive {_at(ctx)}{tail}", arg="in_features")


@rule
class ChannelMismatch(Rule):
    """A conv / norm / linear expects a different channel count than its producer gives.

    What: the channels (or features, for a Linear whose input does not depend on the
    input size) reaching a layer differ from what its weights were built for.

    Why: the model cannot run at any input size.

    Example: ``nn.Conv2d(3, 16, 3)`` followed by ``nn.Conv2d(32, 64, 3)``.

    Fix: make the layer's ``in_channels`` (``num_features``, ``in_features``) equal the
    producer's output channels.
    """

    code, name = "CNS102", "channel-mismatch"
    fix = "make in_channels / num_features equal the producer's output channels"
    invalid = [
        Example(input=None, expect="expects 32 channels", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Conv2d(3, 16, 3)
                    self.b = nn.Conv2d(32, 64, 3)
                def forward(self, x):
                    return self.b(self.a(x))
            """, onnx="""
            m (float[N,3,H,W] x) => (float y) <float[16,3,3,3] wa, float[64,32,3,3] wb> {
              a = Conv(x, wa)
              y = Conv(a, wb)
            }"""),
        Example(input="1x3x32x32", expect="channels", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 16, 3)
                    self.bn = nn.BatchNorm2d(8)
                def forward(self, x):
                    return self.bn(self.conv(x))
            """),
    ]
    valid = [
        Example(input=None, torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Conv2d(3, 16, 3)
                    self.b = nn.Conv2d(16, 64, 3)
                def forward(self, x):
                    return self.b(self.a(x))
            """, onnx="""
            m (float[N,3,H,W] x) => (float y) <float[16,3,3,3] wa, float[64,16,3,3] wb> {
              a = Conv(x, wa)
              y = Conv(a, wb)
            }"""),
    ]

    def check(self, ctx):
        for r, item in issues(ctx).get(self.code, []):
            src = ctx.producer(r.node.inputs[0]) if r.node.inputs else None
            frm = f" from {ctx.describe(src)}" if src is not None else ""
            what = "features" if r.node.op_type in LINEAR else "channels"
            if isinstance(item, Problem):
                if item.expected is not None and item.got is not None:
                    msg = f"{ctx.describe(r)} expects {ctx.fmt(item.expected)} {what} but its input{frm} has {ctx.fmt(item.got)}"
                else:
                    msg = f"{ctx.describe(r)}: {item.message}"
            else:
                got, want = _sides(item.rel)
                msg = f"{ctx.describe(r)} expects {ctx.fmt(want)} {what} but its input{frm} has {ctx.fmt(got)} {_at(ctx)}"
            rel = []
            out = ctx.arg_loc(src, OUT_ARG.get(src.node.op_type)) if src is not None else None
            if out is not None:
                rel.append((out, f"{src.node.name!r} gives its {what} ({OUT_ARG[src.node.op_type]}) here"))
            yield ctx.finding(self, r, msg, arg=IN_ARG.get(r.node.op_type), related=rel)


@rule
class SpatialCollapse(Rule):
    """A spatial dim drops below 1 for the configured input.

    What: a conv or pooling window is larger than the feature map that reaches it at the
    configured input size, so its output would have 0 (or fewer) rows or columns.

    Why: the model raises at that size; usually the input is smaller than the network's
    total downsampling (e.g. 32x32 images into an ImageNet backbone).

    Example: LeNet's two 5x5 convs and two 2x2 pools at a 12x12 input.

    Fix: use an input at least as large as the smallest valid input the message gives, or
    remove a downsampling stage.
    """

    code, name = "CNS103", "spatial-collapse"
    needs_input = True
    fix = "use an input at least the smallest valid size, or remove a downsampling stage"
    invalid = [
        Example(input="1x1x12x12", expect="smallest valid input", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.c1 = nn.Conv2d(1, 6, 5)
                    self.c2 = nn.Conv2d(6, 16, 5)
                    self.pool = nn.MaxPool2d(2)
                def forward(self, x):
                    return self.pool(self.c2(self.pool(self.c1(x))))
            """, onnx="""
            m (float[N,1,12,12] x) => (float y) <float[6,1,5,5] w1, float[16,6,5,5] w2> {
              a = Conv(x, w1)
              b = MaxPool<kernel_shape=[2,2], strides=[2,2]>(a)
              c = Conv(b, w2)
              y = MaxPool<kernel_shape=[2,2], strides=[2,2]>(c)
            }"""),
    ]
    valid = [
        Example(input="1x1x32x32", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.c1 = nn.Conv2d(1, 6, 5)
                    self.c2 = nn.Conv2d(6, 16, 5)
                    self.pool = nn.MaxPool2d(2)
                def forward(self, x):
                    return self.pool(self.c2(self.pool(self.c1(x))))
            """, onnx="""
            m (float[N,1,32,32] x) => (float y) <float[6,1,5,5] w1, float[16,6,5,5] w2> {
              a = Conv(x, w1)
              b = MaxPool<kernel_shape=[2,2], strides=[2,2]>(a)
              c = Conv(b, w2)
              y = MaxPool<kernel_shape=[2,2], strides=[2,2]>(c)
            }"""),
        Example(input=None, note="no configured size: skipped (CNS004 says so)", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.c1 = nn.Conv2d(1, 6, 5)
                def forward(self, x):
                    return self.c1(x)
            """),
    ]

    def check(self, ctx):
        items = issues(ctx).get(self.code, [])
        if not items:
            return
        r, item = items[0]  # the first layer in topological order; the rest follow from it
        size_cons = [c for c in ctx.report.constraints if c.kind == SIZE]
        smallest = ""
        syms = sorted({s.name for c in size_cons for s in c.rel.free_symbols} & set(ctx.spatial))
        if syms:
            ok = ctx.scan(size_cons, syms, square=True, limit=4096)
            if ok.any():
                s = int(ok.argmax()) + 1
                smallest = "; smallest valid input: " + ", ".join(f"{n}={s}" for n in syms)
        if isinstance(item, Problem):
            msg = f"{ctx.describe(r)}: {item.message}"
        else:
            v = ctx.value(item.rel.lhs)
            along = f"axis {item.axis}" if item.axis is not None else "an axis"
            msg = (f"{ctx.describe(r)} output would be {v} (< 1) along {along} "
                   f"at {ctx.at()}: its window is larger than what reaches it")
        more = len({x[0].node.name for x in items}) - 1
        if more > 0:
            msg += f" ({more} later layer{'s' if more > 1 else ''} collapse too)"
        yield _blame_stride(ctx, self, r, msg + smallest, arg="kernel_size")


@rule
class BranchMismatch(Rule):
    """Add/Concat/Mul of branches with incompatible shapes.

    What: two branches joined by an elementwise op (residual ``Add``, gating ``Mul``) or a
    ``Concat`` have shapes that neither match nor broadcast (for Concat: differ outside the
    concatenation axis) at the configured size.

    Why: the model raises at that size. Typical: a residual block whose shortcut does not
    downsample, or a U-Net skip connection at an input size that is not a multiple of 16.

    Example: ``x + self.conv(x)`` where the conv has stride 2.

    Fix: give the shortcut the same stride and channels (a 1x1 conv), crop or pad before a
    Concat, or use the input sizes the message lists.
    """

    code, name = "CNS104", "branch-mismatch"
    fix = "match the branches (1x1 conv shortcut with the same stride, crop/pad) or change the input size"
    invalid = [
        Example(input="1x8x32x32", expect="incompatible shapes", torch="""
            import torch.nn as nn
            class Block(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(8, 8, 3, stride=2, padding=1)
                def forward(self, x):
                    return x + self.conv(x)
            """, onnx="""
            m (float[N,8,32,32] x) => (float y) <float[8,8,3,3] w> {
              c = Conv<strides=[2,2], pads=[1,1,1,1]>(x, w)
              y = Add(x, c)
            }"""),
        Example(input="1x8x30x30", expect="incompatible shapes", note="a U-Net skip at a size that is not a multiple of 4",
                onnx="""
            m (float[N,8,H,W] x) => (float y) <float[8,8,2,2] w> {
              d = MaxPool<kernel_shape=[2,2], strides=[2,2]>(x)
              e = MaxPool<kernel_shape=[2,2], strides=[2,2]>(d)
              u = ConvTranspose<strides=[2,2]>(e, w)
              y = Concat<axis=1>(d, u)
            }"""),
    ]
    valid = [
        Example(input="1x8x32x32", torch="""
            import torch.nn as nn
            class Block(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(8, 8, 3, padding=1)
                def forward(self, x):
                    return x + self.conv(x)
            """, onnx="""
            m (float[N,8,32,32] x) => (float y) <float[8,8,3,3] w> {
              c = Conv<pads=[1,1,1,1]>(x, w)
              y = Add(x, c)
            }"""),
        Example(input="1x8x32x32", onnx="""
            m (float[N,8,H,W] x) => (float y) <float[8,8,2,2] w> {
              d = MaxPool<kernel_shape=[2,2], strides=[2,2]>(x)
              e = MaxPool<kernel_shape=[2,2], strides=[2,2]>(d)
              u = ConvTranspose<strides=[2,2]>(e, w)
              y = Concat<axis=1>(d, u)
            }"""),
    ]

    def check(self, ctx):
        seen = set()
        for r, item in issues(ctx).get(self.code, []):
            if r.node.name in seen:
                continue
            seen.add(r.node.name)
            shapes = []
            for i in r.node.inputs:
                sh = ctx.shape(i) if i else None
                if sh is None:
                    continue
                vals = [ctx.value(d) for d in sh]
                txt = "x".join(str(v) if v is not None else ctx.fmt(d) for v, d in zip(vals, sh))
                shapes.append(txt)
            where = "" if isinstance(item, Problem) else f" {_at(ctx)}"
            fits = ""
            if not isinstance(item, Problem) and ctx.has_size:
                f = ctx.fits([c for _, c in issues(ctx).get(self.code, []) if not isinstance(c, Problem)],
                             {s.name for s in item.rel.free_symbols})
                fits = f"; they match at {f}" if f else ""
            yield _blame_stride(ctx, self, r, f"{ctx.describe(r)} joins branches of incompatible shapes "
                                              f"{' and '.join(shapes)}{where}{fits}")


@rule
class ReshapeMismatch(Rule):
    """A view/reshape whose element count does not divide.

    What: a ``view``/``reshape`` (ONNX Reshape) whose target shape cannot hold the elements
    of its input at the configured size: a fixed target with a different count, or a ``-1``
    entry that does not divide evenly.

    Why: the model raises at that size. Typical: ``x.view(-1, 320)`` written for one input
    size, or a hard-coded batch size.

    Example: ``x.view(x.size(0), 16 * 5 * 5)`` at 64x64.

    Fix: flatten with ``x.flatten(1)`` / ``x.view(x.size(0), -1)`` or compute the target from
    the input's shape.
    """

    code, name = "CNS105", "reshape-mismatch"
    fix = "use x.flatten(1) or x.view(x.size(0), -1), or derive the target from x.shape"
    invalid = [
        Example(input="1x16x8x8", expect="elements", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(16, 16, 3, padding=1)
                def forward(self, x):
                    return self.conv(x).view(1, 400)
            """, onnx="""
            m (float[N,16,8,8] x) => (float y) <float[16,16,3,3] w, int64[2] s = {1, 400}> {
              c = Conv<pads=[1,1,1,1]>(x, w)
              y = Reshape(c, s)
            }"""),
        Example(input="1x3x10x10", expect="elements", note="-1 next to a count that does not divide", onnx="""
            m (float[N,3,H,W] x) => (float y) <int64[2] s = {-1, 7}> {
              y = Reshape(x, s)
            }"""),
    ]
    valid = [
        Example(input="1x16x5x5", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(16, 16, 3, padding=1)
                def forward(self, x):
                    return self.conv(x).view(1, 400)
            """, onnx="""
            m (float[N,16,5,5] x) => (float y) <float[16,16,3,3] w, int64[2] s = {1, 400}> {
              c = Conv<pads=[1,1,1,1]>(x, w)
              y = Reshape(c, s)
            }"""),
    ]

    def check(self, ctx):
        seen = set()
        for r, item in issues(ctx).get(self.code, []):
            if r.node.name in seen:
                continue
            seen.add(r.node.name)
            src = r.node.inputs[0] if r.node.inputs else ""
            sh = ctx.shape(src)
            n_in = None
            if sh is not None:
                import sympy as sp

                n = sp.Mul(*sh)
                v = ctx.value(n)
                n_in = f"{ctx.fmt(n)}" + (f" = {v}" if v is not None and not n.is_number else "")
            out = r.node.outputs[0] if r.node.outputs else ""
            tgt = ctx.shape(out)
            tgt_txt = "(" + ", ".join(ctx.fmt(d) for d in tgt) + ")" if tgt is not None else "its target"
            if isinstance(item, Problem):
                msg = f"{ctx.describe(r)}: {item.message}"
                if n_in:
                    msg += f" (the input has {n_in} elements)"
            else:
                msg = (f"{ctx.describe(r)} cannot reshape the input's {n_in or '?'} elements to {tgt_txt} "
                       f"{_at(ctx)}")
            yield ctx.finding(self, r, msg)


@rule
class InvalidShape(Rule):
    """Any other layer that cannot produce a shape from what reaches it.

    What: an op raised a shape error, or one of its constraints fails at the configured
    input size, and no more specific rule (CNS101-CNS105) covers it.

    Why: the model cannot run as written; cnnsym reports it rather than staying silent.

    Example: a Transpose whose ``perm`` names an axis the input does not have.

    Fix: read the message: it says what the op needed and what reached it.
    """

    code, name = "CNS100", "invalid-shape"
    invalid = [
        Example(input=None, expect="perm", onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Transpose<perm=[0,1,2]>(x)
            }"""),
    ]
    valid = [
        Example(input=None, onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Transpose<perm=[0,2,3,1]>(x)
            }"""),
    ]

    def check(self, ctx):
        for r, item in issues(ctx).get(self.code, []):
            if isinstance(item, Problem):
                yield ctx.finding(self, r, f"{ctx.describe(r)}: {item.message}")
            else:
                yield ctx.finding(self, r, f"{ctx.describe(r)}: {item.message} fails {_at(ctx)}")
