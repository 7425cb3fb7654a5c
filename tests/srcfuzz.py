"""Differential fuzzing of cnnsym's *source* frontend against torch: random but realistic
model files, read statically by cnnsym and executed by torch (here, in the test process:
cnnsym never executes them). Shared by ``tests/test_source_fuzz.py`` (a short,
derandomised CI profile) and ``bench/source_fuzz.py`` (long campaigns).

A case is a small tree (:class:`Case`): the input rank, a list of blocks and a head. Its
file text (:func:`source`) is written the way people write models: ``nn.Sequential``
stacks, layers appended in loops over config lists, a ``conv_bn`` helper function,
residual and concat block classes (built in loops into an ``nn.ModuleList``), functional
calls in ``forward`` (``F.interpolate``, ``F.pad``, ``F.max_pool2d``), view / flatten /
reshape heads, padding modes, groups, dilation, ConvTranspose and PixelShuffle. Channels
are threaded when the text is written, so any block or layer can be dropped (shrinking).

The property (:func:`check`), with torch as the oracle:

- the report is complete and its parameters and buffers are torch's;
- at each drawn size: torch raises <=> cnnsym has a violated constraint there
  (``cnnsym.domain.violated``); where some tensor torch computes is empty (a slice of an
  axis of 1: torch runs on, a mean of nothing is NaN), cnnsym may exclude the size or give
  the same empty shapes;
- where both run: the output shape and every named module's output shape (forward hooks
  on ``named_modules()``, first call) equal cnnsym's formulas (``Report.modules``)
  evaluated there.
"""
from __future__ import annotations

import math
import os
import sys
import random
from dataclasses import dataclass, replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srcfuzz_templates import HELPERS  # noqa: E402

SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
BASE = {1: 48, 2: 20, 3: 8}  # a size the generator builds fixed-size heads for
MAX_SIZE = {1: 160, 2: 48, 3: 14}
ACTS = ("nn.ReLU(inplace=True)", "nn.LeakyReLU(0.1)", "nn.GELU()", "nn.SiLU()", "nn.Hardswish()",
        "nn.Sigmoid()", "nn.Tanh()", "nn.ReLU6()")

# Size rules of torch's own kernels that the exported ONNX graph does not have (circular
# pad <= size, GroupNorm's one value per group, avg_pool3d's input >= kernel, ``a += b``
# not growing ``a``, ...), found by this fuzzer, are stated by the source frontend as
# graph.Requirement (cnnsym/frontends/torch/requires.py) and compared like any other rule:
# no size is counted apart.


class Mismatch(AssertionError):
    def __init__(self, msg, case=None, sizes=None):
        super().__init__(msg)
        self.case, self.sizes = case, sizes


@dataclass
class Stats:
    models: int = 0
    sizes: int = 0
    valid: int = 0
    invalid: int = 0
    modules: int = 0
    never_valid: int = 0  # models cnnsym finds invalid at every size (torch agreed at each size tried)
    empty_excluded: int = 0  # sizes where torch computes an empty tensor and cnnsym excludes the size
    identity: int = 0  # models whose forward is the identity in eval mode (cnnsym: "no operations", refused)


STATS = Stats()


@dataclass
class Case:
    rank: int
    cin: int
    batch: int
    blocks: list  # of dicts, {"kind": ...}
    head: dict
    width_arg: bool = False  # Net(width=...) default used in a helper's arithmetic
    fixed_features: int = 0  # Linear in_features of a "flatten_fixed" head (found by torch)
    script: bool = False  # argparse at module level: --mult (default 1) scales loop widths


# --------------------------------------------------------------------------- drawing
def _odd(r, lo=1, hi=5):
    return r.choice([k for k in range(lo, hi + 1) if k % 2 == 1])


def draw_conv(r, rank, transposed=False):
    k = r.choice([1, 2, 3, 3, 3, 5]) if rank < 3 else r.choice([1, 3])
    s = r.choice([1, 1, 1, 2, 2, 3])
    d = r.choice([1, 1, 1, 2, 3])
    spec = {"op": "convT" if transposed else "conv", "cout": r.choice([4, 6, 8, 8, 12, 16]), "k": k, "s": s,
            "d": d, "g": r.choice([1, 1, 1, 2, 4, "dw"]), "bias": r.random() < 0.6}
    if transposed:
        spec["p"] = r.randint(0, (k - 1) * d // 2 + 1) if k > 1 else 0
        spec["op_pad"] = r.randint(0, max(s, d) - 1)
    else:
        pad = r.random()
        if pad < 0.15 and s == 1:
            spec["p"] = "'same'"
        elif pad < 0.3:
            spec["p"] = "'valid'"
        else:
            spec["p"] = r.choice([0, (k // 2) * d, (k // 2) * d, 1, 2])
        if spec["p"] not in (0, "'valid'") and r.random() < 0.3:
            spec["pm"] = r.choice(["reflect", "replicate", "circular"])
    return spec


def draw_layer(r, rank):
    x = r.random()
    if x < 0.35:
        return draw_conv(r, rank)
    if x < 0.42:
        return draw_conv(r, rank, transposed=True)
    if x < 0.55:
        return {"op": "norm", "kind": r.choice(["bn", "bn", "gn", "in", "in_track", "bn_batch"])}
    if x < 0.67:
        return {"op": "act", "act": r.choice(ACTS)}
    if x < 0.77:
        k = r.choice([2, 3])
        return {"op": "pool", "kind": r.choice(["max", "avg"]), "k": k, "s": r.choice([None, 1, 2]),
                "p": r.randint(0, k // 2), "ceil": r.random() < 0.3, "cip": r.random() < 0.5,
                "d": r.choice([1, 1, 2])}
    if x < 0.80:
        return {"op": "apool", "kind": r.choice(["Avg", "Max"]), "out": r.choice([1, 2, 3, 4])}
    if x < 0.85:
        return {"op": "up", "sf": r.choice([2, 2, 3]), "mode": r.choice(["nearest", "linear"])}
    if x < 0.89 and rank == 2:
        return {"op": "shuffle", "r": r.choice([2, 2, 3]), "cout": r.choice([2, 4, 8])}
    if x < 0.91 and rank == 2:
        return {"op": "unshuffle", "r": 2}
    if x < 0.95:
        return {"op": "pad", "kind": r.choice(["Zero", "Reflection", "Replication", "Constant", "Circular"]),
                "p": r.choice([1, 2, (1, 0, 2, 1)])}
    return {"op": r.choice(["dropout", "identity"])}


def draw_block(r, rank):
    x = r.random()
    if x < 0.3:
        return {"kind": "seq", "layers": [draw_layer(r, rank) for _ in range(r.randint(1, 4))]}
    if x < 0.45:
        return {"kind": "loop", "cfg": [(r.choice([4, 8, 12, 16]), r.choice([1, 3, 3, 5]) if rank < 3 else 3,
                                         r.choice([1, 1, 2]), r.choice([1, 1, 2]), r.choice([1, 1, 2]))
                                        for _ in range(r.randint(1, 3))],
                "act": r.choice(ACTS), "helper": r.random() < 0.5}
    if x < 0.65:
        bad = r.random() < 0.12  # main path loses 2 per axis: adds only where it broadcasts
        return {"kind": "res", "stages": [(r.choice([4, 8, 16]), r.choice([1, 1, 2])) for _ in range(r.randint(1, 3))],
                "k": r.choice([1, 3, 3]) if not bad else 3, "bad": bad, "inplace": r.random() < 0.5}
    if x < 0.70:
        return {"kind": "se", "r": r.choice([2, 4]), "conv": r.random() < 0.5}
    if x < 0.74:
        return {"kind": "dict", "layers": [draw_conv(r, rank) for _ in range(r.randint(1, 3))],
                "names": r.random() < 0.5}
    if x < 0.80:
        return {"kind": "cat", "c1": r.choice([4, 8]), "c2": r.choice([4, 6]), "k2": r.choice([3, 5]) if rank < 3 else 3,
                "d2": r.choice([1, 2]), "mis": r.random() < 0.1}
    return draw_func(r, rank)


def draw_func(r, rank):
    x = r.random()
    if x < 0.3:
        mode = r.choice(["nearest", "linear"])
        if r.random() < 0.5:
            return {"kind": "interp", "sf": r.choice([2, 0.5, 1.5, 3]), "mode": mode, "ac": r.random() < 0.3}
        return {"kind": "interp", "size": tuple(r.choice([4, 7, 9, 16]) for _ in range(rank)), "mode": mode}
    if x < 0.5:
        return {"kind": "fpad", "p": [r.randint(0, 2) for _ in range(2 * rank)],
                "mode": r.choice(["constant", "reflect", "replicate", "circular"])}
    if x < 0.7:
        return {"kind": "fpool", "pool": r.choice(["max", "avg"]), "k": r.choice([2, 3]), "s": r.choice([1, 2])}
    if x < 0.78:
        return {"kind": "gate"}  # x * torch.sigmoid(x)
    if x < 0.85:
        return {"kind": "chunk", "how": r.choice(["chunk", "split", "gap_scale"])}
    if x < 0.90:  # in place: x += a mean (never grows x), or a mean += x (grows it unless the axis is 1)
        return {"kind": "iadd", "grow": r.random() < 0.3, "op": r.choice(["+", "*", "-"])}
    return {"kind": "slice", "step": r.choice([1, 2]), "start": r.choice([0, 1])}


def draw_head(r):
    return {"kind": r.choice(["none", "none", "gap", "view", "flatten_fixed", "reshape", "mean", "nnflatten"]),
            "classes": r.choice([5, 10]), "ap": r.choice([1, 2, 3])}


def draw_case(seed, max_blocks=5) -> Case:
    r = random.Random(seed)
    rank = r.choice([1, 2, 2, 2, 2, 3])
    blocks = [draw_block(r, rank) for _ in range(r.randint(1, max_blocks))]
    return Case(rank, r.choice([1, 3, 4]), r.choice([1, 2]), blocks, draw_head(r), width_arg=r.random() < 0.3,
                script=r.random() < 0.25)


# --------------------------------------------------------------------------- writing
LINEAR_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _groups(g, c, cout):
    if g == "dw":
        return c, c
    return (g if c % g == 0 and cout % g == 0 else 1), cout


def _layer(spec, c, r):
    op = spec["op"]
    if op in ("conv", "convT"):
        g, cout = _groups(spec["g"], c, spec["cout"])
        extra = f", padding_mode='{spec['pm']}'" if spec.get("pm") else ""
        if op == "conv":
            return (f"nn.Conv{r}d({c}, {cout}, {spec['k']}, stride={spec['s']}, padding={spec['p']}, "
                    f"dilation={spec['d']}, groups={g}, bias={spec['bias']}{extra})"), cout
        return (f"nn.ConvTranspose{r}d({c}, {cout}, {spec['k']}, stride={spec['s']}, padding={spec['p']}, "
                f"output_padding={spec['op_pad']}, groups={g}, bias={spec['bias']}, dilation={spec['d']})"), cout
    if op == "norm":
        k = spec["kind"]
        if k == "gn":
            return f"nn.GroupNorm({math.gcd(c, 4)}, {c})", c
        if k == "in":
            return f"nn.InstanceNorm{r}d({c}, affine=True)", c
        if k == "in_track":
            return f"nn.InstanceNorm{r}d({c}, track_running_stats=True)", c
        if k == "bn_batch":  # batch statistics in eval mode too
            return f"nn.BatchNorm{r}d({c}, track_running_stats=False)", c
        return f"nn.BatchNorm{r}d({c})", c
    if op == "act":
        return spec["act"], c
    if op == "pool":
        s = spec["s"]
        if spec["kind"] == "max":
            return (f"nn.MaxPool{r}d({spec['k']}, stride={s}, padding={spec['p']}, dilation={spec['d']}, "
                    f"ceil_mode={spec['ceil']})"), c
        return (f"nn.AvgPool{r}d({spec['k']}, stride={s}, padding={spec['p']}, ceil_mode={spec['ceil']}, "
                f"count_include_pad={spec['cip']})"), c
    if op == "apool":
        return f"nn.Adaptive{spec['kind']}Pool{r}d({spec['out']})", c
    if op == "up":
        mode = LINEAR_MODE[r] if spec["mode"] == "linear" else "nearest"
        return f"nn.Upsample(scale_factor={spec['sf']}, mode='{mode}')", c
    if op == "shuffle":
        q, cout = spec["r"], spec["cout"]
        return f"nn.Conv2d({c}, {cout * q * q}, 1), nn.PixelShuffle({q})", cout
    if op == "unshuffle":
        return f"nn.PixelUnshuffle({spec['r']})", c * spec["r"] ** 2
    if op == "pad":
        p = spec["p"] if (r == 2 or isinstance(spec["p"], int)) else 1
        if spec["kind"] == "Constant":
            return f"nn.ConstantPad{r}d({p}, 0.5)", c
        return f"nn.{spec['kind']}Pad{r}d({p})", c
    if op == "dropout":
        return "nn.Dropout(0.1)", c
    return "nn.Identity()", c


def _spatial_slice(r, start, step):
    return ", ".join([":", ":"] + [f"{start or ''}::{step}" if step > 1 else f"{start}:"] * r)


def source(case: Case) -> str:
    r = case.rank
    init, fwd, used = [], [], []
    c = case.cin

    def use(name):
        if name not in used:
            used.append(name)

    for i, b in enumerate(case.blocks):
        k = b["kind"]
        if k == "seq":
            parts = []
            for spec in b["layers"]:
                text, c = _layer(spec, c, r)
                parts.append(text)
            if not parts:
                continue
            init.append(f"self.b{i} = nn.Sequential(\n            " + ",\n            ".join(parts) + ")")
            fwd.append(f"x = self.b{i}(x)")
        elif k == "loop":
            cfg, cc = [], c
            for cout, kk, s, d, g in b["cfg"]:
                g, cout = _groups(g, cc, cout)
                cfg.append((cout, kk, s, d, g))
                cc = cout
            if not cfg:
                continue
            lines = [f"cfg{i} = {cfg!r}  # (out, kernel, stride, dilation, groups)", "layers = []", f"c = {c}",
                     f"for cout, k, s, d, g in cfg{i}:"]
            if case.script:
                lines.append("    cout = cout * MULT")
            if b["helper"]:
                use("conv_bn")
                lines.append("    layers.append(conv_bn(c, cout, k, s, d, g))")
            else:
                lines.append(f"    layers += [nn.Conv{r}d(c, cout, k, stride=s, padding=d * (k // 2), dilation=d, "
                             f"groups=g), nn.BatchNorm{r}d(cout), {b['act']}]")
            lines += ["    c = cout", f"self.b{i} = nn.Sequential(*layers)"]
            init += lines
            fwd.append(f"x = self.b{i}(x)")
            c = cc
        elif k == "res":
            if not b["stages"]:
                continue
            use("ResBlock")
            if case.width_arg:
                stages = [(cout // 4, s) for cout, s in b["stages"]]
                init += [f"self.b{i} = nn.ModuleList()", f"c = {c}", f"for m, s in {stages!r}:",
                         f"    self.b{i}.append(ResBlock(c, width * m, s, k={b['k']}, bad={b['bad']}, "
                         f"inplace={b['inplace']}))", "    c = width * m"]
            else:
                init += [f"self.b{i} = nn.ModuleList()", f"c = {c}", f"for cout, s in {b['stages']!r}:",
                         f"    self.b{i}.append(ResBlock(c, cout, s, k={b['k']}, bad={b['bad']}, "
                         f"inplace={b['inplace']}))", "    c = cout"]
            fwd += [f"for blk in self.b{i}:", "    x = blk(x)"]
            c = b["stages"][-1][0]
        elif k == "se":
            use("SE")
            init.append(f"self.b{i} = SE({c}, r={b['r']}, use_conv={b['conv']})")
            fwd.append(f"x = self.b{i}(x)")
        elif k == "dict":
            parts = []
            for j, spec in enumerate(b["layers"]):
                text, c = _layer(spec, c, r)
                parts.append((f"conv{j}" if b["names"] else str(j), text))
            init.append(f"self.b{i} = nn.Sequential(OrderedDict([\n            "
                        + ",\n            ".join(f"({n!r}, {t})" for n, t in parts) + "]))")
            fwd.append(f"x = self.b{i}(x)")
            use("OrderedDict")
        elif k == "chunk":
            # before any layer the input's channels decide (--input reaches the frontend)
            if b["how"] == "chunk":
                fwd += ["a, b = x.chunk(2, dim=1)", "x = torch.cat([b, a], dim=1) if a.shape == b.shape else x"]
            elif b["how"] == "split":
                fwd += [f"parts = torch.split(x, {max(1, c // 2)}, dim=1)", "x = torch.cat(parts[::-1], 1)"]
            else:
                fwd += [f"x = x * x.mean(dim={tuple(range(2, 2 + r))}, keepdim=True).sigmoid()"]
        elif k == "cat":
            use("CatBlock")
            init.append(f"self.b{i} = CatBlock({c}, {b['c1']}, {b['c2']}, {b['k2']}, d2={b['d2']}, mis={b['mis']})")
            fwd.append(f"x = self.b{i}(x)")
            c = b["c1"] + b["c2"]
        elif k == "interp":
            mode = LINEAR_MODE[r] if b["mode"] == "linear" else "nearest"
            if "size" in b:
                size = b["size"][:r] + (4,) * (r - len(b["size"]))
                fwd.append(f"x = F.interpolate(x, size={size if r > 1 else size[0]}, mode='{mode}')")
            else:
                ac = ", align_corners=True" if b.get("ac") and mode != "nearest" else ""
                fwd.append(f"x = F.interpolate(x, scale_factor={b['sf']}, mode='{mode}'{ac})")
        elif k == "fpad":
            p = tuple(b["p"][:2 * r]) + (0,) * max(0, 2 * r - len(b["p"]))
            fwd.append(f"x = F.pad(x, {p})" if b["mode"] == "constant" else f"x = F.pad(x, {p}, mode='{b['mode']}')")
        elif k == "fpool":
            fwd.append(f"x = F.{b['pool']}_pool{r}d(x, {b['k']}, {b['s']})")
        elif k == "gate":
            fwd.append("x = x * torch.sigmoid(x)")
        elif k == "iadd":
            if b["grow"]:
                fwd += ["y = x.mean(dim=2, keepdim=True)", f"y {b['op']}= x", "x = y"]
            else:
                fwd += [f"x {b['op']}= x.mean(dim=2, keepdim=True)"]
        elif k == "slice":
            fwd.append(f"x = x[{_spatial_slice(r, b['start'], b['step'])}]")
    h = case.head
    hk = h["kind"]
    dims = tuple(range(2, 2 + r))
    if hk == "gap":
        init += [f"self.pool = nn.AdaptiveAvgPool{r}d(1)", f"self.fc = nn.Linear({c}, num_classes)"]
        fwd += ["x = torch.flatten(self.pool(x), 1)", "x = self.fc(x)"]
    elif hk == "view":
        init += [f"self.pool = nn.AdaptiveAvgPool{r}d({h['ap']})",
                 f"self.fc = nn.Linear({c} * {h['ap']}{' ** ' + str(r) if r > 1 else ''}, num_classes)"]
        fwd += ["x = self.pool(x)", "x = x.view(x.size(0), -1)", "x = self.fc(x)"]
    elif hk == "flatten_fixed" and case.fixed_features:
        init += [f"self.fc = nn.Linear({case.fixed_features}, num_classes)"]
        fwd += ["x = x.reshape(x.shape[0], -1)", "x = self.fc(x)"]
    elif hk == "reshape":
        fwd += ["x = x.reshape(x.size(0), x.size(1), -1)", "x = x.transpose(1, 2)"]
    elif hk == "nnflatten":
        init += [f"self.pool = nn.AdaptiveMaxPool{r}d(2)", "self.flatten = nn.Flatten()",
                 f"self.fc = nn.Linear({c * 2 ** r}, num_classes)"]
        fwd += ["x = self.fc(self.flatten(self.pool(x)))"]
    elif hk == "mean":
        init += [f"self.fc = nn.Linear({c}, num_classes)"]
        fwd += [f"x = self.fc(x.mean(dim={dims}))"]
    if not init:
        init.append("self.stem = nn.ReLU()")
        fwd.insert(0, "x = self.stem(x)")
    out = ["import argparse"] if case.script else []
    if "OrderedDict" in used:
        out.append("from collections import OrderedDict")
    out += ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", ""]
    if case.script:
        out += ["parser = argparse.ArgumentParser()", "parser.add_argument('--mult', type=int, default=1)",
                "parser.add_argument('--data', required=True)", "opt = parser.parse_args()", "MULT = int(opt.mult)", ""]
    for name in used:
        if name in HELPERS:
            out.append(HELPERS[name].replace("{r}", str(r)).replace("{dims}", str(tuple(range(2, 2 + r))))
                       .strip("\n") + "\n\n")
    out += ["class Net(nn.Module):",
            "    def __init__(self, in_ch=%d, num_classes=%d, width=4):" % (case.cin, h["classes"]),
            "        super().__init__()"]
    out += ["        " + line.replace("\n", "\n") for line in init]
    out += ["", "    def forward(self, x):"] + ["        " + line for line in fwd] + ["        return x", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- the oracle
class GenError(Exception):
    """The generated file is not a model torch can build (a generator limit, not a finding)."""


def build_torch(text):
    import torch

    import sys

    ns = {"__name__": "srcfuzz_case"}
    argv, sys.argv = sys.argv, ["model.py", "--data", "folder"]  # a script's required argument given
    try:
        exec(compile(text, "<srcfuzz>", "exec"), ns)  # torch is the oracle: the TEST executes the file
    finally:
        sys.argv = argv
    torch.manual_seed(0)
    return ns["Net"]().eval()


def _empty_watch():
    """A torch function mode noting whether any tensor computed in it is empty (a slice of
    an axis of 1, a mean over nothing): ``.empty`` is the first such function's name."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        empty = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if self.empty is None:
                for t in (out if isinstance(out, (tuple, list)) else (out,)):
                    if isinstance(t, torch.Tensor) and t.numel() == 0:
                        self.empty = getattr(func, "__name__", str(func))
                        break
            return out

    return Watch()


def run_torch(model, shape, watch=None):
    """(output shape or None, error or None, {module path: first output shape}); with
    ``watch`` (:func:`_empty_watch`), the forward runs in it."""
    import contextlib

    import torch

    seen, hooks = {}, []

    def hook(name):
        def f(mod, args, out):
            if name not in seen:
                seen[name] = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        return f

    for name, mod in model.named_modules():
        hooks.append(mod.register_forward_hook(hook(name)))
    x = torch.randn(*shape)
    try:
        with torch.no_grad(), (watch if watch is not None else contextlib.nullcontext()):
            y = model(x)
        return tuple(y.shape), None, seen
    except Exception as e:  # noqa: BLE001 - torch refusing the size is the verdict
        return None, e, seen
    finally:
        for h in hooks:
            h.remove()


def input_spec(case):
    return "x".join([str(case.batch), str(case.cin), *SPATIAL[case.rank]])


def finish(case):
    """Fill in what torch decides for the generator: a fixed-size head's in_features (the
    trunk's flattened size at the base size). Returns the case, or None when the drawn
    file is not buildable."""
    if case.head["kind"] == "flatten_fixed" and not case.fixed_features:
        trunk = replace(case, head={**case.head, "kind": "none"})
        try:
            out, err, _ = run_torch(build_torch(source(trunk)), (case.batch, case.cin) + (BASE[case.rank],) * case.rank)
        except Exception:  # noqa: BLE001
            return None
        if err is not None or math.prod(out[1:]) > 20000:
            case = replace(case, head={**case.head, "kind": "gap"})
        else:
            case = replace(case, fixed_features=math.prod(out[1:]))
    try:
        build_torch(source(case))
    except Exception:  # noqa: BLE001 - e.g. a padding mode torch refuses at construction
        return None
    return case


def draw_sizes(r, case, n):
    rank, out = case.rank, []
    for _ in range(n):
        x = r.random()
        if x < 0.25:
            v = [r.randint(1, 8) for _ in range(rank)]
        elif x < 0.4:
            v = [BASE[rank]] * rank
        else:
            v = [r.randint(1, MAX_SIZE[rank]) for _ in range(rank)]
        if rank > 1 and r.random() < 0.4:
            v = [v[0]] * rank
        out.append(dict(zip(SPATIAL[rank], v)))
    return out


def _ev(shape, b):
    from cnnsym.analyze import evaluate

    return None if shape is None else tuple(int(evaluate(d, b)) for d in shape)


def analyse(case, text=None):
    import cnnsym

    return cnnsym.analyze(text or source(case), input=input_spec(case), name="Net")


INTERNAL = ("AttributeError", "TypeError", "KeyError", "IndexError", "ValueError", "SympifyError", "ZeroDivision")


def check(case, sizes, stats=STATS, text=None):
    """Raise :class:`Mismatch` where cnnsym and torch disagree on ``case`` (its file, or
    ``text``) at ``sizes``."""
    from cnnsym.domain import violated
    from cnnsym.errors import CnnsymError

    text = text or source(case)
    model = build_torch(text)
    try:
        rep = analyse(case, text)
    except CnnsymError as e:
        if "forward produces no operations" in str(e):
            # eval-mode identity (a Dropout alone): refused in one line, stated; torch must agree
            shape = (case.batch, case.cin) + (BASE[case.rank],) * case.rank
            out, err, _ = run_torch(model, shape)
            if err is None and out == shape:
                stats.identity += 1
                return None
        raise Mismatch(f"cnnsym cannot read a model torch builds: {e}", case)
    stats.models += 1
    internal = [w for w in rep.not_followed if any(k in w for k in INTERNAL)]
    if internal:  # a defect of the interpreter, not a statement about the model
        raise Mismatch(f"internal error in the report: {internal[0][:200]}", case)
    if rep.problems or rep.not_followed:
        # cnnsym: invalid at every size, or a statement it could not follow (Python would
        # raise there too: unpacking one chunk into two names): torch must refuse every size
        for b in sizes + [dict(zip(SPATIAL[case.rank], (BASE[case.rank],) * case.rank))]:
            stats.sizes += 1
            shape = (case.batch, case.cin) + tuple(b[a] for a in SPATIAL[case.rank])
            out, err, seen = run_torch(model, shape)
            if err is None and out is not None and 0 not in out:
                why = rep.problems[0].message if rep.problems else f"not followed: {rep.not_followed[0]}"
                raise Mismatch(f"cnnsym: invalid at every size or incomplete ({why[:200]}); torch runs at {b}",
                               case, b)
            stats.invalid += 1
        stats.never_valid += 1
        return rep
    if not rep.complete:
        raise Mismatch(f"report incomplete: not followed {rep.not_followed[:3]}, "
                       f"nodes {[(n.node.name, n.status, n.message) for n in rep.nodes if n.status != 'ok'][:3]}", case)
    want_p = sum(p.numel() for p in model.parameters())
    want_b = sum(b.numel() for b in model.buffers())
    got_p, got_b = rep.totals["params.trainable"], rep.totals["params.buffers"]
    if got_p != want_p or got_b != want_b:
        raise Mismatch(f"params/buffers: cnnsym {got_p}/{got_b}, torch {want_p}/{want_b}", case)
    for b in sizes:
        stats.sizes += 1
        shape = (case.batch, case.cin) + tuple(b[a] for a in SPATIAL[case.rank])
        bad = violated(rep, b) or list(rep.problems)
        if not bad:
            try:
                biggest = max(math.prod(_ev(t.shape, b)) for t in rep.tensors.values() if t.shape is not None)
            except Exception:  # noqa: BLE001 - unevaluable: let torch decide
                biggest = 0
            if biggest > 3_000_000:
                continue
        watch = _empty_watch()
        out, err, seen = run_torch(model, shape, watch)
        # an empty tensor is torch's answer, not an error (a slice of an axis of 1; a mean of
        # nothing is NaN): cnnsym may exclude those sizes (a window op's output >= 1, a
        # global pool's input non-empty) or give the same empty shapes
        empty = watch.empty is not None or out is not None and (
            0 in out or any(s is not None and 0 in s for s in seen.values()))
        t_bad = err is not None
        if bad and empty and not t_bad:
            stats.empty_excluded += 1
            t_bad = True
        if t_bad != bool(bad):
            why = (f"torch: {'empty tensor' if empty else str(err).splitlines()[0][:200] if err else 'runs'}; "
                   f"cnnsym: {'; '.join(str(getattr(c, 'message', c))[:160] for c in bad[:3]) or 'valid'}")
            raise Mismatch(f"verdict differs at {b}: {why}", case, b)
        if t_bad:
            stats.invalid += 1
            continue
        stats.valid += 1
        got = _ev(rep.tensors[rep.outputs[0]].shape, b)
        if got != out:
            raise Mismatch(f"output shape at {b}: cnnsym {got}, torch {out}", case, b)
        for path, s in seen.items():
            if s is None:
                continue
            m = rep.modules.get(path)
            if m is None:
                raise Mismatch(f"module {path!r} (called, output {s}) missing from the report", case, b)
            stats.modules += 1
            if _ev(m.shape, b) != s:
                raise Mismatch(f"module {path!r} at {b}: cnnsym {_ev(m.shape, b)}, torch {s}", case, b)
    return rep


def run_case(seed, n_sizes=6, max_blocks=5, stats=STATS):
    """Draw, finish and check the case of ``seed``; returns False when the draw was not a
    buildable model (skipped), True when checked."""
    case = finish(draw_case(seed, max_blocks))
    if case is None:
        return False
    check(case, draw_sizes(random.Random(seed * 7919 + 1), case, n_sizes), stats)
    return True
