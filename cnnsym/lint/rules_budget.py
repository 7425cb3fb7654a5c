"""CNS3xx: budgets from ``[tool.cnnsym.budgets]`` / ``[tool.cnnsym.models]`` (errors).
``cnnsym check`` evaluates the same budgets with a full table, ranges and baselines; in
``cnnsym lint`` they are checked at the configured input size."""
from __future__ import annotations

from . import Example, Rule, rule
from ..budget import check_at, human, parse_amount
from ..config import BUDGET_KEYS


def _results(ctx):
    if "budget" not in ctx._cache:
        budgets = {k: parse_amount(v, BUDGET_KEYS[k]) for k, v in (ctx.options.get("budgets") or {}).items()
                   if k in BUDGET_KEYS}
        b = dict(ctx.bindings or {})
        b.update(ctx.options.get("bind") or {})
        ok = bool(budgets) and all(s in b for s in ctx.report.symbols)
        ctx._cache["budget"] = check_at(ctx.report, budgets, b) if ok else []
    return ctx._cache["budget"]


class _Budget(Rule):
    keys: tuple = ()
    needs_input = True
    fix = "shrink the model, or raise the budget in [tool.cnnsym.budgets] if the growth is intended"

    def check(self, ctx):
        for res in _results(ctx):
            if res.key not in self.keys or not res.over:  # a lower bound within budget is not a finding
                continue
            where = f" in layer {res.layer!r}" if res.layer else ""
            node = ctx.node(res.layer) if res.layer else None
            over = (res.actual - res.budget) / res.budget * 100 if res.budget else float("inf")
            least = "at least " if res.lower_bound else ""  # incomplete model: still over for certain
            yield ctx.finding(self, node, f"{res.label}{where} {least}{human(res.actual, res.kind)} ({res.actual}) exceeds the "
                                          f"budget {res.key} = {human(res.budget, res.kind)} by {over:.1f}% at {res.where}; "
                                          f"formula {ctx.fmt(res.formula)}")


_NET = """
    m (float[N,3,H,W] x) => (float y) <float[64,3,3,3] w> {
      y = Conv<pads=[1,1,1,1]>(x, w)
    }"""


@rule
class ParamsBudget(_Budget):
    """The model's parameters exceed the budget (max-params, max-trainable-params).

    What: total (or trainable) parameters over the configured budget.

    Why: a size budget keeps a model deployable (download, memory) and catches an
    accidental widening in review.

    Example: ``max-params = "1k"`` for a 3->64 3x3 conv (1,728 weights).

    Fix: shrink the model, or raise the budget if the growth is intended.
    """

    code, name, keys = "CNS301", "params-budget", ("max-params", "max-trainable-params")
    invalid = [Example(input="1x3x8x8", onnx=_NET, expect="exceeds the budget", options={"budgets": {"max-params": "1k"}})]
    valid = [Example(input="1x3x8x8", onnx=_NET, options={"budgets": {"max-params": "2k"}})]


@rule
class MacsBudget(_Budget):
    """The model's MACs exceed the budget at the configured input size (max-macs).

    What: multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul over the budget.

    Why: MACs bound latency and energy; a CI budget stops a pull request that makes the
    model slower than its target.

    Example: ``max-macs = "100k"`` for a 3->64 3x3 conv at 8x8 (110,592 MACs).

    Fix: shrink the model or the input, or raise the budget if the growth is intended.
    """

    code, name, keys = "CNS302", "macs-budget", ("max-macs",)
    invalid = [Example(input="1x3x8x8", onnx=_NET, expect="MACs", options={"budgets": {"max-macs": "100k"}})]
    valid = [Example(input="1x3x8x8", onnx=_NET, options={"budgets": {"max-macs": "200k"}})]


@rule
class FlopsBudget(_Budget):
    """The model's FLOPs exceed the budget at the configured input size (max-flops).

    What: FLOPs (2 x MACs plus the named elementwise terms) over the budget.

    Why: as for MACs, in the unit some targets are specified in.

    Example: ``max-flops = "200k"`` for a 3->64 3x3 conv at 8x8 (221,184 FLOPs).

    Fix: shrink the model or the input, or raise the budget if the growth is intended.
    """

    code, name, keys = "CNS303", "flops-budget", ("max-flops",)
    invalid = [Example(input="1x3x8x8", onnx=_NET, expect="FLOPs", options={"budgets": {"max-flops": "200k"}})]
    valid = [Example(input="1x3x8x8", onnx=_NET, options={"budgets": {"max-flops": "300k"}})]


@rule
class ActivationBudget(_Budget):
    """Activation memory exceeds the budget (max-activation-bytes, max-peak-activation-bytes).

    What: the bytes of all activations, or the peak of live activations over the
    execution order, over the budget at the configured input size.

    Why: activation memory, not weights, is what overflows a device at large inputs.

    Example: ``max-activation-bytes = "16KiB"`` for a 64-channel 8x8 float output (16,384 B
    plus nothing else: exactly at the limit passes, one byte less fails).

    Fix: reduce width or input size, or raise the budget.
    """

    code, name, keys = "CNS304", "activation-budget", ("max-activation-bytes", "max-peak-activation-bytes")
    invalid = [Example(input="1x3x8x8", onnx=_NET, expect="activation bytes", options={"budgets": {"max-activation-bytes": 16383}})]
    valid = [Example(input="1x3x8x8", onnx=_NET, options={"budgets": {"max-activation-bytes": "16KiB"}})]


@rule
class LayerBudget(_Budget):
    """One layer exceeds a per-layer budget (max-layer-params, max-layer-macs, max-layer-activation-bytes).

    What: the largest layer's parameters, MACs or output bytes over the per-layer budget.

    Why: a single oversized layer (a huge first fully-connected layer) is often a bug, and
    per-layer limits matter for accelerators with small on-chip memory.

    Example: ``max-layer-params = "1k"`` and a 3->64 3x3 conv.

    Fix: split or shrink the layer, or raise the budget.
    """

    code, name, keys = "CNS305", "layer-budget", ("max-layer-params", "max-layer-macs", "max-layer-activation-bytes")
    invalid = [Example(input="1x3x8x8", onnx=_NET, expect="per layer", options={"budgets": {"max-layer-params": "1k"}})]
    valid = [Example(input="1x3x8x8", onnx=_NET, options={"budgets": {"max-layer-params": "1728"}})]
