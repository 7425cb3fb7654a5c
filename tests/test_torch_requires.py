"""torch's own size rules, stated by the source frontend as ``graph.Requirement``
(``cnnsym/frontends/torch/requires.py``) and turned into constraints by the analysis.

Oracle: torch executing each model (eval mode, as cnnsym analyses it) at every size of a
small grid. cnnsym's verdict at a size (a violated constraint or a problem) must be torch's
(it raises); where torch computes an empty tensor and runs on (a mean of nothing is NaN),
cnnsym may exclude the size. Each rule below was first found by the differential source
fuzzer (``tests/srcfuzz.py``) as a size torch refuses and cnnsym allowed.
"""
from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import sympy as sp

torch = pytest.importorskip("torch")

import cnnsym  # noqa: E402
from cnnsym.domain import violated  # noqa: E402
from cnnsym.graph import REQUIREMENT, Requirement, req_dim  # noqa: E402

HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"


def _torch_verdict(model, shape):
    """(raises, empty): torch refuses the shape; some tensor computed on the way is empty."""
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        empty = False

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor) and t.numel() == 0:
                    self.empty = True
            return out

    x, w = torch.randn(*shape), Watch()
    try:
        with torch.no_grad(), w:
            model(x)
        return False, w.empty
    except (RuntimeError, ValueError):  # torch's Python-side checks raise ValueError
        return True, w.empty


def agree(body, spec, grid, expect_rule=None):
    """The model ``body`` (a class Net) at every size of ``grid`` (dicts of the symbols of
    ``spec``): cnnsym's verdict is torch's. Returns the report; with ``expect_rule``, a
    constraint or problem whose message contains it must exist (the rule is stated)."""
    src = HEAD + body
    ns = {}
    exec(compile(src, "<test>", "exec"), ns)  # torch is the oracle: the TEST executes the model
    model = ns["Net"]().eval()
    rep = cnnsym.analyze(src, input=spec, name="Net")
    if expect_rule:
        stated = [c.message for c in rep.constraints] + [p.message for p in rep.problems]
        assert any(expect_rule in m for m in stated), stated
    refused = allowed = 0
    for b in grid:
        shape = tuple(int(b[d]) if d in b else int(d) for d in spec.split("x"))
        bad = bool(violated(rep, b) or rep.problems)
        raises, empty = _torch_verdict(model, shape)
        if bad and not raises and empty:
            continue  # cnnsym excludes sizes with an empty tensor (documented in srcfuzz)
        assert bad == raises, (b, "torch raises" if raises else "torch runs",
                               [c.message for c in violated(rep, b)] + [p.message for p in rep.problems])
        refused += raises
        allowed += not raises
    return rep, refused, allowed


def grid(names, lo=1, hi=6):
    return [dict(zip(names, v)) for v in itertools.product(range(lo, hi + 1), repeat=len(names))]


CIRCULAR = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 5, padding=2, padding_mode='circular')

    def forward(self, x):
        x = F.pad(x, (0, 3, 1, 0), mode='circular')
        return self.conv(x)
"""


def test_circular_padding_wraps_at_most_once():
    # F.pad: W >= 3 (right pad 3), H >= 1; then the conv's circular pad 2 on (H+1, W+3):
    # H + 1 >= 2. torch: "Padding value causes wrapping around more than once".
    rep, refused, allowed = agree(CIRCULAR, "1x2xHxW", grid("HW"), "circular padding 3 needs size >= 3")
    assert refused and allowed
    assert rep.smallest_input == {"H": 3, "W": 3}  # W >= 3 (H = W for the smallest input)


def test_circular_padding_1d_conv():
    body = "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n" \
           "        self.c = nn.Conv1d(2, 2, 7, padding=3, padding_mode='circular')\n" \
           "    def forward(self, x):\n        return self.c(x)\n"
    rep, refused, allowed = agree(body, "2x2xL", grid("L", 1, 8), "circular padding 3")
    assert refused == 2 and allowed == 6  # L = 1, 2 refused (pad 3 > L)


@pytest.mark.parametrize("groups,channels,spec,lo_ok", [
    (4, 4, "1x4xHxW", 2),   # one value per group at 1x1: N * C/G * H * W = 1
    (4, 4, "2x4xHxW", 1),   # batch 2: two values per group at 1x1
    (2, 4, "1x4xHxW", 1),   # two channels per group
    (1, 1, "1x1xL", 2),     # 1-D input
])
def test_group_norm_needs_more_than_one_value_per_group(groups, channels, spec, lo_ok):
    body = (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.gn = nn.GroupNorm({groups}, {channels})\n"
            f"    def forward(self, x):\n        return self.gn(x)\n")
    names = [d for d in spec.split("x") if not d.isdigit()]
    rep, refused, allowed = agree(body, spec, grid(names, 1, 3))
    assert allowed
    assert bool(refused) == (lo_ok > 1)


@pytest.mark.parametrize("kind,track,spec", [
    ("InstanceNorm2d", False, "2x3xHxW"), ("InstanceNorm2d", True, "1x3xHxW"), ("InstanceNorm1d", False, "1x3xL"),
    ("InstanceNorm3d", False, "1x2xDxHxW"),
])
def test_instance_norm_input_statistics_need_two_elements(kind, track, spec):
    # eval mode: with running statistics tracked, torch uses them and has no rule
    body = (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.n = nn.{kind}(3 if '{kind}' != 'InstanceNorm3d' else 2, affine=True, "
            f"track_running_stats={track})\n"
            f"    def forward(self, x):\n        return self.n(x)\n")
    names = [d for d in spec.split("x") if not d.isdigit()]
    rep, refused, allowed = agree(body, spec, grid(names, 1, 3))
    assert allowed and bool(refused) == (not track)


@pytest.mark.parametrize("track,spec", [(True, "1x3xHxW"), (False, "1x3xHxW"), (False, "2x3xHxW"), (False, "1x3")])
def test_batch_norm_in_eval_mode(track, spec):
    # running statistics (the default) in eval: no rule; batch statistics: N * H * W > 1
    body = (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.n = nn.BatchNorm{'2' if 'H' in spec else '1'}d(3, track_running_stats={track})\n"
            f"    def forward(self, x):\n        return self.n(x)\n")
    names = [d for d in spec.split("x") if not d.isdigit()]
    g = grid(names, 1, 3) if names else [{}]
    rep, refused, allowed = agree(body, spec, g)
    assert bool(refused) == (not track and not spec.startswith("2"))
    if spec == "1x3":
        assert rep.problems and not allowed  # a static shape that torch refuses: a problem


@pytest.mark.parametrize("pool", ["nn.AvgPool3d((1, 2, 3), stride=(1, 2, 1), padding=(0, 1, 1), ceil_mode=True)",
                                  "nn.AvgPool3d(3, stride=2, padding=1)",
                                  "nn.MaxPool3d(3, stride=2, padding=1, ceil_mode=True)"])
def test_pool3d_input_at_least_the_kernel(pool):
    # torch's avg_pool3d refuses an input smaller than the kernel along any axis, padding
    # not counted (its ONNX export would run); max_pool3d only has the output-size rule
    body = (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.p = {pool}\n    def forward(self, x):\n        return self.p(x)\n")
    rep, refused, allowed = agree(body, "1x2xDxHxW", grid("DHW", 1, 4),
                                  "avg_pool3d needs input >= kernel" if "Avg" in pool else None)
    assert allowed and bool(refused) == ("Avg" in pool)  # padding 1 + ceil: max_pool3d runs at every size


@pytest.mark.parametrize("pool", ["nn.AdaptiveAvgPool2d(2)", "nn.AdaptiveMaxPool2d(1)", "nn.AdaptiveMaxPool2d((2, 3))",
                                  "nn.AdaptiveAvgPool2d(1)"])
def test_adaptive_pool_refuses_an_empty_axis(pool):
    # x[:, :, 1:] is empty at H = 1: torch's adaptive pools refuse it, except the average
    # to 1 (a mean of nothing: NaN), where cnnsym excludes the size (an empty tensor)
    body = (f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.p = {pool}\n    def forward(self, x):\n        return self.p(x[:, :, 1:])\n")
    rep, refused, allowed = agree(body, "1x2xHxW", grid("HW", 1, 4))
    assert allowed == 12  # H = 2..4, every W
    assert refused == (0 if pool == "nn.AdaptiveAvgPool2d(1)" else 4)


INPLACE = """
class Net(nn.Module):
    def forward(self, x):
        y = x.mean(dim=2, keepdim=True)
        x += y        # fine: y (1, C, 1, W) does not grow x
        y += x        # grows y (1, C, 1, W) to (1, C, H, W) unless H == 1: torch refuses
        return y
"""


def test_inplace_add_must_not_grow_its_target():
    rep, refused, allowed = agree(INPLACE, "1x3xHxW", grid("HW", 1, 4), "in-place Add")
    assert allowed == 4 and refused == 12  # only H = 1
    assert rep.valid_ranges["H"]["text"] == "1..1"


INPLACE_METHOD = """
class Net(nn.Module):
    def forward(self, x):
        y = x.mean(dim=2, keepdim=True)
        x.mul_(y)     # fine: y (1, C, 1, W) does not grow x
        y.add_(x)     # grows y (1, C, 1, W) to (1, C, H, W) unless H == 1: torch refuses
        return y
"""


def test_inplace_method_must_not_grow_its_target():
    # the method form of the rule above: torch refuses y.add_(x) exactly where it refuses y += x
    rep, refused, allowed = agree(INPLACE_METHOD, "1x3xHxW", grid("HW", 1, 4), "in-place Add")
    assert allowed == 4 and refused == 12  # only H = 1
    assert rep.valid_ranges["H"]["text"] == "1..1"


def test_inplace_rank_growth_is_a_problem():
    body = "class Net(nn.Module):\n    def forward(self, x):\n        y = x[0]\n        y += x\n        return y\n"
    rep, refused, allowed = agree(body, "2x3x4x4", [{}])
    assert refused == 1 and any("rank" in p.message for p in rep.problems)


def test_requirement_channel_reaches_domain_check_and_lint(tmp_path):
    """The channel itself, on a graph from any frontend: a Requirement with plain symbols
    and one with tensor placeholders become constraints (domain, check) and CNS100."""
    from cnnsym.api import analyze_loaded, load

    g = load(HEAD + "class Net(nn.Module):\n    def forward(self, x):\n        return torch.relu(x)\n",
             input="1x3xHxW")
    H = next(s for s in g.inputs[0].shape[2].free_symbols)
    g.requires.append(Requirement(sp.Ge(H, 5), "H must be at least 5 (a stated rule)", g.nodes[0].name))
    g.requires.append(Requirement(sp.Eq(req_dim(0, 3) % 2, 0), "W must be even", g.nodes[0].name, (g.inputs[0].name,)))
    rep = analyze_loaded(g)
    msgs = {c.message: c for c in rep.constraints}
    assert msgs["W must be even"].kind == REQUIREMENT
    assert rep.valid_ranges["H"]["text"] == ">= 5"
    assert rep.valid_ranges["W"]["text"].startswith("2k")
    assert violated(rep, {"H": 4, "W": 8}) and not violated(rep, {"H": 5, "W": 8})


def test_lint_reports_a_torch_rule_on_its_line(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(HEAD + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                 "        self.c = nn.Conv2d(3, 8, 3, stride=2)\n        self.gn = nn.GroupNorm(8, 8)\n\n"
                 "    def forward(self, x):\n        return self.gn(self.c(x))\n")
    # at 3x3 the conv gives 1x1: GroupNorm(8, 8) has one value per group (torch refuses it)
    out = subprocess.run([sys.executable, "-m", "cnnsym", "lint", str(p), "--input", "1x3x3x3"],
                         capture_output=True, text=True).stdout
    assert f"{p}:9:19: CNS100 [error]" in out and "GroupNorm(8) needs more than one value per group" in out, out
    ns = {}
    exec(compile(p.read_text(), str(p), "exec"), ns)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ns["Net"]().eval()(torch.randn(1, 3, 3, 3))
