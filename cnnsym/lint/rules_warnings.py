"""CNS2xx: the model runs but wastes parameters or compute, or loses input (warnings)."""
from __future__ import annotations

from . import Example, Rule, rule
from ..domain import describe
from ..report import Constraint
from ..symbolic import imod
from .merge import _channels, _block_boundary, _ratio, merged_cost

WEIGHTED = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
# single-input ops that keep a map linear (affine): nothing between two layers that would
# stop them composing into one
PASS_LINEAR = {"Identity", "Dropout", "Flatten", "Reshape", "BatchNormalization", "Squeeze", "Unsqueeze",
               "Transpose"}
POOLS = {"MaxPool", "AveragePool", "LpPool"}


def _only_consumer(ctx, tensor):
    cs = ctx.consumers(tensor)
    if len(cs) != 1 or ctx.is_graph_output(tensor):
        return None
    return cs[0]


def _is_layer(ctx, r):
    """A conv / linear layer with a weight initializer (not a MatMul of two activations)."""
    n = r.node
    if n.op_type not in WEIGHTED or len(n.inputs) < 2:
        return False
    return ctx.is_param(n.inputs[1]) or n.op_type != "MatMul"


def _is_head(ctx, r, limit=10_000) -> bool:
    """No layer with a window wider than 1 (a conv, a pool) anywhere after ``r``: it is
    part of the network's head."""
    todo, seen = list(r.node.outputs[:1]), set()
    while todo and len(seen) < limit:
        t = todo.pop()
        for c in ctx.consumers(t):
            if c.node.name in seen:
                continue
            seen.add(c.node.name)
            if any(w is not None and w.kernel is not None and w.kernel != 1 for w in c.windows):
                return False
            if c.node.op_type in POOLS or c.node.op_type in ("Conv", "ConvTranspose") and not c.windows:
                return False
            todo.extend(o for o in c.node.outputs if o)
    return not todo


@rule
class BiasBeforeNorm(Rule):
    """A conv/linear with a bias followed directly by BatchNorm (off by default).

    What: a Conv, ConvTranspose or Linear layer that has a bias and whose output goes only
    into a BatchNormalization.

    Why: BatchNorm subtracts the per-channel mean, which cancels any per-channel constant:
    the bias is learned, stored and computed for nothing. The waste is one parameter per
    channel (well under 0.1% of a model), and canonical models keep such biases on purpose
    (torchvision's VGG-BN and RAFT, for checkpoint compatibility), hence off by default:
    select ``CNS201`` to enable.

    Example: ``nn.Conv2d(3, 64, 3)`` (bias on by default) then ``nn.BatchNorm2d(64)``.

    Fix: ``bias=False`` on the layer before the norm.
    """

    code, name = "CNS201", "bias-before-norm"
    default = False
    fix = "pass bias=False to the layer before the BatchNorm"
    invalid = [
        Example(input=None, expect="wasted", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 64, 3)
                    self.bn = nn.BatchNorm2d(64)
                def forward(self, x):
                    return self.bn(self.conv(x)).relu()
            """, onnx="""
            m (float[N,3,H,W] x) => (float y)
              <float[64,3,3,3] w, float[64] b, float[64] s, float[64] t, float[64] mu, float[64] var> {
              c = Conv(x, w, b)
              n = BatchNormalization(c, s, t, mu, var)
              y = Relu(n)
            }"""),
    ]
    valid = [
        Example(input=None, torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 64, 3, bias=False)
                    self.bn = nn.BatchNorm2d(64)
                def forward(self, x):
                    return self.bn(self.conv(x)).relu()
            """, onnx="""
            m (float[N,3,H,W] x) => (float y)
              <float[64,3,3,3] w, float[64] s, float[64] t, float[64] mu, float[64] var> {
              c = Conv(x, w)
              n = BatchNormalization(c, s, t, mu, var)
              y = Relu(n)
            }"""),
    ]

    def check(self, ctx):
        for r in ctx.nodes("Conv", "ConvTranspose", "Gemm"):
            n = r.node
            if len(n.inputs) < 3 or not n.inputs[2] or not n.outputs:
                continue
            nxt = _only_consumer(ctx, n.outputs[0])
            if nxt is None or nxt.node.op_type != "BatchNormalization":
                continue
            ch = _channels(ctx, n.outputs[0], n.op_type)
            wasted = f"{ctx.fmt(ch)} parameters" if ch is not None else "its parameters"
            yield ctx.finding(self, r, f"{ctx.describe(r)} has a bias that {ctx.describe(nxt)} cancels: "
                                       f"{wasted} wasted (and one add per output element)")


@rule
class LinearComposition(Rule):
    """Two linear layers (conv/linear) with no nonlinearity between them, which one smaller layer replaces.

    What: a conv or linear layer feeds another one directly, or only through ops that keep
    the map affine (BatchNorm, Dropout, Flatten, Reshape), and the single layer the two
    compose to has no more weights and no more MACs than the pair (for two convs: a conv
    from the first's input channels to the second's output channels, with the combined
    kernel ``k1 + (k2 - 1) * stride1`` and the groups both share; for two linears:
    ``in x out``).

    Why: the second layer then adds parameters and MACs but no expressive power; usually an
    activation was forgotten. Factorisations that are cheaper than the merged layer are
    designs and are left alone: depthwise-separable pairs (a kxk depthwise then a 1x1, whose
    merge is a dense kxk conv), linear bottlenecks (a narrow middle, as in MobileNetV2), two
    stacked 3x3 convs (cheaper than one 5x5), and never across the boundary of a residual or
    expansion block.

    Example: ``nn.Linear(120, 84)`` then ``nn.Linear(84, 10)`` with no ReLU: one
    ``nn.Linear(120, 10)`` has 1,200 weights instead of 10,920.

    Fix: put an activation between them, or merge them into one layer.
    """

    code, name = "CNS202", "linear-composition"
    fix = "add an activation between the layers, or merge them into one"
    invalid = [
        Example(input=None, expect="compose to one linear operator", torch="""
            import torch.nn as nn
            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(120, 84)
                    self.fc2 = nn.Linear(84, 10)
                def forward(self, x):
                    return self.fc2(self.fc1(x))
            """, onnx="""
            m (float[N,120] x) => (float y) <float[84,120] w1, float[84] b1, float[10,84] w2, float[10] b2> {
              a = Gemm<transB=1>(x, w1, b1)
              y = Gemm<transB=1>(a, w2, b2)
            }"""),
        Example(input=None, expect="compose", note="a 1x1 conv then a 3x3 conv: one 3x3 conv does both", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Conv2d(16, 16, 1, bias=False)
                    self.bn = nn.BatchNorm2d(16)
                    self.b = nn.Conv2d(16, 16, 3, padding=1)
                def forward(self, x):
                    return self.b(self.bn(self.a(x)))
            """, onnx="""
            m (float[N,16,H,W] x) => (float y) <float[16,16,1,1] w1, float[16,16,3,3] w2> {
              a = Conv(x, w1)
              y = Conv<pads=[1,1,1,1]>(a, w2)
            }"""),
    ]
    valid = [
        Example(input=None, torch="""
            import torch.nn as nn
            import torch.nn.functional as F
            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(120, 84)
                    self.fc2 = nn.Linear(84, 10)
                def forward(self, x):
                    return self.fc2(F.relu(self.fc1(x)))
            """, onnx="""
            m (float[N,120] x) => (float y) <float[84,120] w1, float[84] b1, float[10,84] w2, float[10] b2> {
              a = Gemm<transB=1>(x, w1, b1)
              r = Relu(a)
              y = Gemm<transB=1>(r, w2, b2)
            }"""),
        Example(input=None, note="a linear bottleneck (narrower middle) is deliberate", onnx="""
            m (float[N,96,H,W] x) => (float y) <float[24,96,1,1] w1, float[144,24,1,1] w2> {
              a = Conv(x, w1)
              y = Conv(a, w2)
            }"""),
        Example(input=None, note="ShuffleNetV2's depthwise 3x3 then 1x1: the merged dense 3x3 would have 6x the weights",
                torch="""
            import torch.nn as nn
            class Branch(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.dw = nn.Conv2d(58, 58, 3, padding=1, groups=58, bias=False)
                    self.bn = nn.BatchNorm2d(58)
                    self.pw = nn.Conv2d(58, 58, 1, bias=False)
                def forward(self, x):
                    return self.pw(self.bn(self.dw(x))).relu()
            """, onnx="""
            m (float[N,58,H,W] x) => (float y) <float[58,1,3,3] w1, float[58,58,1,1] w2> {
              a = Conv<group=58, pads=[1,1,1,1]>(x, w1)
              y = Conv(a, w2)
            }"""),
        Example(input=None, note="two stacked 3x3 convs are cheaper than the 5x5 they compose to", onnx="""
            m (float[N,16,H,W] x) => (float y) <float[16,16,3,3] w1, float[16,16,3,3] w2> {
              a = Conv<pads=[1,1,1,1]>(x, w1)
              y = Conv<pads=[1,1,1,1]>(a, w2)
            }"""),
        Example(input=None, note="MobileNetV3's first block (no expansion): its linear 1x1 projection feeds the "
                                 "next block's 1x1 expansion", torch="""
            import torch.nn as nn
            class Block(nn.Module):
                def __init__(self, cin, cout, t):
                    super().__init__()
                    mid = cin * t
                    layers = []
                    if t != 1:
                        layers += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6()]
                    layers += [nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid),
                               nn.ReLU6(), nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
                    self.conv = nn.Sequential(*layers)
                def forward(self, x):
                    return self.conv(x)
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.features = nn.Sequential(Block(16, 16, 1), Block(16, 24, 6))
                def forward(self, x):
                    return self.features(x)
            """),
    ]

    def check(self, ctx):
        for r in ctx.nodes(*WEIGHTED):
            if not _is_layer(ctx, r) or not r.node.outputs:
                continue
            t, cur, via = r.node.outputs[0], None, []
            while True:
                cur = _only_consumer(ctx, t)
                if cur is None or cur.node.op_type not in PASS_LINEAR or not cur.node.outputs:
                    break
                via.append(cur.node.op_type)
                t = cur.node.outputs[0]
            if cur is None or not _is_layer(ctx, cur) or cur.node.inputs[0] != t:
                continue
            a_in = _channels(ctx, r.node.inputs[0], r.node.op_type)
            mid = _channels(ctx, r.node.outputs[0], r.node.op_type)
            b_out = _channels(ctx, cur.node.outputs[0], cur.node.op_type)
            if None in (a_in, mid, b_out) or not all(getattr(x, "is_number", False) for x in (a_in, mid, b_out)):
                continue
            if mid < min(a_in, b_out):
                continue  # a low-rank bottleneck: the factorisation is the point
            if _block_boundary(ctx, r, cur, mid < a_in or b_out > mid):
                continue  # a residual / expansion block's edge: the design, not a forgotten activation
            cost = merged_cost(ctx, r, cur)
            if cost is None:
                continue
            (mw, pw), (mm, pm) = cost
            if mw > pw or mm > pm:
                continue  # the merged layer would cost more: a factorisation, not a mistake
            through = f" (through {', '.join(via)})" if via else ""
            yield ctx.finding(self, r, f"{ctx.describe(r)} feeds {ctx.describe(cur)}{through} with no nonlinearity "
                                       f"between them: they compose to one linear operator "
                                       f"({ctx.fmt(a_in)} -> {ctx.fmt(b_out)}) with {mw:,} weights instead of "
                                       f"{pw:,} and {_ratio(mm, pm)} the MACs")


@rule
class StrideDropsPixels(Rule):
    """Floor division in a strided layer discards input rows or columns at the configured size.

    What: a conv or pooling layer with stride > 1 whose windows, at the configured input
    size, stop before the last rows or columns of its input (the output size is a floor
    and the remainder falls outside every window).

    Why: those pixels never influence the output; the model silently ignores the bottom
    or right edge of the image, and the effect compounds through the network.

    Example: ``nn.MaxPool2d(2)`` on a 7x7 feature map (row 7 is dropped), e.g. a
    stride-32 network at a 225x225 input.

    Fix: use an input size the message lists (for a stride-32 network, a multiple of 32),
    pad the layer, or use ``ceil_mode=True`` for pooling.
    """

    code, name = "CNS203", "stride-drops-pixels"
    needs_input = True
    fix = "use an input size from the message, pad the layer, or ceil_mode=True for pooling"
    invalid = [
        Example(input="1x3x7x7", expect="discards", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pool = nn.MaxPool2d(2)
                def forward(self, x):
                    return self.pool(x)
            """, onnx="""
            m (float[N,3,7,7] x) => (float y) {
              y = MaxPool<kernel_shape=[2,2], strides=[2,2]>(x)
            }"""),
    ]
    valid = [
        Example(input="1x3x8x8", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pool = nn.MaxPool2d(2)
                def forward(self, x):
                    return self.pool(x)
            """, onnx="""
            m (float[N,3,8,8] x) => (float y) {
              y = MaxPool<kernel_shape=[2,2], strides=[2,2]>(x)
            }"""),
        Example(input="1x3x224x224", note="ResNet's stem: the last window ends in the padding", onnx="""
            m (float[N,3,H,W] x) => (float y) <float[64,3,7,7] w> {
              y = Conv<strides=[2,2], pads=[3,3,3,3]>(x, w)
            }"""),
        Example(input="1x3x64x64", note="a pad layer before an unpadded stride-2 conv: only padding is left out",
                torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pad = nn.ReflectionPad2d(1)
                    self.conv = nn.Conv2d(3, 8, 3, stride=2)
                def forward(self, x):
                    return self.conv(self.pad(x))
            """),
        Example(input="1x3x7x7", note="ceil_mode keeps the edge", onnx="""
            m (float[N,3,7,7] x) => (float y) {
              y = MaxPool<kernel_shape=[2,2], strides=[2,2], ceil_mode=1>(x)
            }"""),
    ]

    def check(self, ctx):
        if not ctx.has_size:
            return
        import sympy as sp

        for r in ctx.nodes("Conv", *POOLS):
            n = r.node
            if r.status != "ok" or not n.inputs:
                continue
            x = ctx.shape(n.inputs[0])
            if x is None or len(x) < 3:
                continue
            nsp = len(x) - 2
            # the windows as the op derived them (kernel from the weight when not given,
            # pads as applied); auto_pad SAME_* and ceil_mode keep every pixel by design
            ws = r.windows
            if len(ws) != nsp or any(w is None or w.kernel is None for w in ws):
                continue
            if ws[0].auto_pad not in ("NOTSET", "VALID") or ws[0].ceil_mode:
                continue
            k, s, d = [w.kernel for w in ws], [w.stride for w in ws], [w.dilation for w in ws]
            p = [w.pads[0] for w in ws] + [w.pads[1] for w in ws]
            if all(int(v) == 1 for v in s):
                continue
            for j in range(nsp):
                sj = int(s[j])
                if sj == 1:
                    continue
                ext = int(d[j]) * (int(k[j]) - 1)
                if ext + 1 < sj:
                    continue  # windows narrower than the stride skip pixels everywhere, by design
                total = x[2 + j] + int(p[j]) + int(p[nsp + j]) - ext - 1
                dropped = imod(total, sj) - int(p[nsp + j]) - self._padded_end(ctx, n.inputs[0], 2 + j)
                v = ctx.value(dropped)
                if v is None or v <= 0:
                    continue
                xv = ctx.value(x[2 + j])
                syms = {q.name for q in x[2 + j].free_symbols} & set(ctx.spatial)
                good = ""
                if len(syms) == 1:
                    good = self._sizes(ctx, sp.Le(dropped, 0), syms.pop())
                axis = "rows" if j == nsp - 2 else ("columns" if j == nsp - 1 else f"slices of axis {2 + j}")
                msg = (f"{ctx.describe(r)} (stride {sj}) discards the last {v} {axis if v > 1 else axis[:-1]} of its "
                       f"{xv}-long input axis {2 + j} at {ctx.at()}")
                if good:
                    msg += f"; none is discarded for {good}"
                yield ctx.finding(self, r, msg)

    @staticmethod
    def _padded_end(ctx, tensor, axis):
        """How much of ``tensor``'s axis end is padding its producer added (a ReflectionPad2d
        before an unpadded conv, as fast_neural_style writes it): leaving that out loses no
        input pixel. The begin pad is where the receptive field moved; 0 when unknown."""
        pad = ctx.producer(tensor)
        if pad is None or pad.node.op_type != "Pad" or not pad.node.inputs:
            return 0
        src, out = ctx.report.tensors.get(pad.node.inputs[0]), ctx.report.tensors.get(tensor)
        if src is None or out is None or not src.shape or not out.shape or not src.rf or not out.rf:
            return 0
        a, b = src.rf[axis], out.rf[axis]
        total = out.shape[axis] - src.shape[axis]
        if a is None or b is None or not getattr(total, "is_Integer", isinstance(total, int)):
            return 0
        begin = (a.offset - b.offset) / a.stride
        end = total - begin
        return int(end) if getattr(end, "is_Integer", isinstance(end, int)) and int(end) > 0 else 0

    @staticmethod
    def _sizes(ctx, rel, sym):
        c = Constraint(rel, "", "")
        ok = ctx.scan([c], [sym], limit=4096)
        d = describe(ok)
        return f"{sym} = {d['text']}" if d["min"] is not None else ""


@rule
class PoolWithoutStride(Rule):
    """A pooling layer with stride 1 that does not downsample.

    What: a MaxPool/AveragePool/LpPool with a window larger than 1, stride 1 and no
    padding: it shrinks the map by ``kernel - 1`` instead of dividing it.

    Why: almost always ``stride`` was meant to equal the kernel (torch's default) and was
    set to 1 by mistake (``F.max_pool2d(x, 2, 1)``); the rest of the network then sees a
    map about twice as large as designed. Stride-1 pools that keep the size with padding
    (Inception branches, SPP) are deliberate and left alone.

    A pool at the head of the network (no conv or pool with a window after it, as S3D's
    ``AvgPool3d((2, 7, 7), stride=1)`` before its 1x1 classifier) is a fixed-size global
    pool by design: it is flagged only at a configured input size where its window does not
    cover the map.

    Example: ``nn.MaxPool2d(2, stride=1)`` between two convs.

    Fix: drop the ``stride`` argument (it defaults to the kernel size) or pad to keep the size.
    """

    code, name = "CNS204", "pool-without-stride"
    fix = "drop stride=1 (the default stride is the kernel size), or pad to keep the size"
    invalid = [
        Example(input=None, expect="does not downsample", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pool = nn.MaxPool2d(2, stride=1)
                    self.conv = nn.Conv2d(3, 8, 3)
                def forward(self, x):
                    return self.conv(self.pool(x))
            """, onnx="""
            m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w> {
              p = MaxPool<kernel_shape=[2,2]>(x)
              y = Conv(p, w)
            }"""),
        Example(input="1x16x14x14", expect="does not downsample", note="a head pool that does not cover the map",
                torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pool = nn.AvgPool2d(7, stride=1)
                    self.fc = nn.Linear(16 * 8 * 8, 10)
                def forward(self, x):
                    return self.fc(self.pool(x).flatten(1))
            """),
    ]
    valid = [
        Example(input=None, torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pool = nn.MaxPool2d(2)
                def forward(self, x):
                    return self.pool(x)
            """, onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = MaxPool<kernel_shape=[2,2], strides=[2,2]>(x)
            }"""),
        Example(input=None, note="S3D's head: a fixed-size global pool before a 1x1 classifier", torch="""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
                    self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Conv3d(16, 10, kernel_size=1))
                def forward(self, x):
                    return torch.mean(self.classifier(self.avgpool(x)), dim=(2, 3, 4))
            """),
        Example(input="1x16x7x7", note="a head pool that covers the map at the configured size", onnx="""
            m (float[N,16,H,W] x) => (float y) {
              y = AveragePool<kernel_shape=[7,7]>(x)
            }"""),
        Example(input=None, note="SPP-style same-size pooling", onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = MaxPool<kernel_shape=[5,5], pads=[2,2,2,2]>(x)
            }"""),
    ]

    def check(self, ctx):
        for r in ctx.nodes(*POOLS):
            ws = r.windows
            if not ws or any(w is None or w.kernel is None for w in ws):
                continue
            k = [w.kernel for w in ws]
            if all(int(v) == 1 for v in k):
                continue
            if any(int(w.stride) != 1 for w in ws):
                continue
            if any(w.pads[0] != 0 or w.pads[1] != 0 for w in ws) or ws[0].auto_pad not in ("NOTSET", "VALID"):
                continue
            if _is_head(ctx, r):
                out = ctx.shape(r.node.outputs[0]) if r.node.outputs else None
                vals = [ctx.value(d) for d in out[2:]] if out is not None and len(out) > 2 else [None]
                if any(v is None for v in vals) or all(v == 1 for v in vals):
                    continue  # a fixed-size global pool at the head (or no size to tell)
            ks = "x".join(str(int(v)) for v in k)
            yield ctx.finding(self, r, f"{ctx.describe(r)} has a {ks} window with stride 1: it does not downsample, "
                                       f"it shrinks each axis by {int(max(k)) - 1}")


@rule
class ReceptiveFieldShort(Rule):
    """The final feature map's receptive field does not cover the configured input (off by default).

    What: the units of the last spatial feature map (before global pooling or flattening)
    each see a window of the input smaller than the input itself.

    Why: no unit sees the whole image, so objects larger than the field are never seen
    whole; for a classifier that pools globally this may be intended, hence off by default
    (select ``CNS205`` to enable).

    Example: three 3x3 convs (field 7x7) at a 32x32 input.

    Fix: add depth or downsampling (each stride-s layer multiplies the growth of every later
    layer by s), dilations, or a smaller input.
    """

    code, name = "CNS205", "receptive-field-short"
    default = False
    needs_input = True
    fix = "add depth, downsampling or dilation, or use a smaller input"
    invalid = [
        Example(input="1x3x32x32", expect="receptive field", onnx="""
            m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w1, float[8,8,3,3] w2, float[8,8,3,3] w3> {
              a = Conv<pads=[1,1,1,1]>(x, w1)
              b = Conv<pads=[1,1,1,1]>(a, w2)
              y = Conv<pads=[1,1,1,1]>(b, w3)
            }"""),
    ]
    valid = [
        Example(input="1x3x7x7", onnx="""
            m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w1, float[8,8,3,3] w2, float[8,8,3,3] w3> {
              a = Conv<pads=[1,1,1,1]>(x, w1)
              b = Conv<pads=[1,1,1,1]>(a, w2)
              y = Conv<pads=[1,1,1,1]>(b, w3)
            }"""),
    ]

    FINAL = {"GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "ReduceMean", "ReduceMax"}

    def check(self, ctx):
        if not ctx.has_size:
            return
        finals = []
        for r in ctx.report.nodes:
            if r.node.op_type in self.FINAL and r.node.inputs:
                finals.append(r.node.inputs[0])
        finals += list(ctx.report.outputs)
        seen = set()
        inp = ctx.report.tensors.get(ctx.report.inputs[0]) if ctx.report.inputs else None
        if inp is None or inp.shape is None:
            return
        for t in finals:
            info = ctx.report.tensors.get(t)
            if t in seen or info is None or not info.rf or info.shape is None:
                continue
            seen.add(t)
            short = []
            for ax, f in enumerate(info.rf):
                if f is None or ax >= len(inp.shape):
                    continue
                size, full = ctx.value(f.size), ctx.value(inp.shape[ax])
                if size is None or full is None:
                    continue
                if size < full:
                    short.append((ax, size, full))
            if short:
                prod = ctx.producer(t)
                txt = ", ".join(f"axis {ax}: {s} < {full}" for ax, s, full in short)
                yield ctx.finding(self, prod, f"the receptive field of {t!r} does not cover the input at {ctx.at()} "
                                              f"({txt})")
