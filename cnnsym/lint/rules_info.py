"""CNS0xx: what cnnsym could not analyse, as information, never silent."""
from __future__ import annotations

from . import Example, Rule, rule


@rule
class UnsupportedOp(Rule):
    """A layer cnnsym has no formula for.

    What: an op (or a layer of the source model) that no registered op or plugin covers.
    It is listed as unaccounted: its output shapes are unknown (or taken from the file)
    and its cost is not counted, neither as zero nor otherwise.

    Why: checks downstream of it are skipped, and totals are incomplete; you should know.

    Example: a custom-domain op such as ``com.acme::FancyConv``.

    Fix: install or write a plugin for the op (see ``plugins/cnnsym-example-op``), or
    ignore ``CNS001`` for the file.
    """

    code, name = "CNS001", "unsupported-op"
    fix = "add a plugin for the op (cnnsym.ops.register), or ignore CNS001 for this file"
    invalid = [
        Example(input=None, expect="not supported", onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = acme.FancyConv(x)
            }"""),
    ]
    valid = [
        Example(input=None, onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Relu(x)
            }"""),
    ]

    def check(self, ctx):
        for u in ctx.report.unaccounted:
            first = u["nodes"][0] if u.get("nodes") else None
            yield ctx.finding(self, first, f"{u['count']} x {u['domain']}::{u['op']} not supported: outputs unknown "
                                           f"downstream, cost not counted (listed as unaccounted)")


@rule
class NotAnalysed(Rule):
    """A model in the file could not be analysed.

    What: a model class or factory that cnnsym found but could not build or follow
    statically (it needs constructor arguments, uses a construct the source frontend does
    not read, or its input rank differs from the configured input).

    Why: the model is not checked at all; you should know rather than see a silent pass.

    Example: ``class ResNet(nn.Module): def __init__(self, block, layers): ...`` with no
    factory function in the file.

    Fix: name the model with its arguments (``path.py::ResNet(Bottleneck, [3, 4, 6, 3])``)
    on the command line or in ``[tool.cnnsym.models]``, or ignore ``CNS002`` for the file.
    """

    code, name = "CNS002", "not-analysed"
    fix = "name the model with its arguments: path.py::Model(args), on the command line or in [tool.cnnsym.models]"
    invalid = [
        Example(input=None, expect="cannot be built", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self, width):
                    super().__init__()
                    self.conv = nn.Conv2d(3, width, 3)
                def forward(self, x):
                    return self.conv(x)
            """),
    ]
    valid = [
        Example(input=None, torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self, width=8):
                    super().__init__()
                    self.conv = nn.Conv2d(3, width, 3)
                def forward(self, x):
                    return self.conv(x)
            """),
    ]

    def check(self, ctx):
        return ()  # made by the lint driver, which sees models that never got a Report


@rule
class NoInputSize(Rule):
    """No input size is configured for a model: size-dependent checks are skipped.

    What: neither ``--input``, ``[tool.cnnsym] input`` / ``[tool.cnnsym.models]``, nor the
    model file (static ONNX dims) gives the input size.

    Why: checks that need a size (CNS103 collapse, CNS203 dropped pixels, CNS205 receptive
    field) are skipped, and CNS101 fires only when no size at all fits; the finding lists
    what was skipped so a pass is not mistaken for a full check.

    Example: ``cnnsym lint models/net.py`` with no configuration.

    Fix: give ``--input 1x3x224x224`` or ``input = "1x3x224x224"`` in ``[tool.cnnsym]``.
    """

    code, name = "CNS004", "no-input-size"
    fix = 'pass --input 1x3xHxW or set input = "..." in [tool.cnnsym] or [tool.cnnsym.models]'
    invalid = [
        Example(input=None, expect="skipped", onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Relu(x)
            }"""),
    ]
    valid = [
        Example(input="1x3x8x8", onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Relu(x)
            }"""),
        Example(input=None, note="static dims in the file are the size", onnx="""
            m (float[1,3,8,8] x) => (float y) {
              y = Relu(x)
            }"""),
    ]

    def check(self, ctx):
        if ctx.has_size:
            return
        skipped = ", ".join(ctx.skipped) if ctx.skipped else "none"
        yield ctx.finding(self, None, f"no input size configured: skipped {skipped}; CNS101 fires only when no size "
                                      f"fits")


@rule
class AnalysisNote(Rule):
    """Something the analysis noted about the model (information).

    What: a note from the frontend or the analysis: parameters of modules ``forward`` never
    calls, receptive fields of joined branches that are misaligned, a declared shape in the
    file that disagrees with the derived one.

    Why: each is harmless to the analysis but may be a bug in the model.

    Example: a module built in ``__init__`` and never used in ``forward``.

    Fix: read the note; ignore ``CNS003`` if it is intended.
    """

    code, name = "CNS003", "analysis-note"
    default = False
    invalid = [
        Example(input=None, expect="parameters of modules forward does not use", torch="""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
                    self.unused = nn.Linear(8, 8)
                def forward(self, x):
                    return self.conv(x)
            """),
    ]
    valid = [
        Example(input=None, onnx="""
            m (float[N,3,H,W] x) => (float y) {
              y = Relu(x)
            }"""),
    ]

    def check(self, ctx):
        for w in ctx.report.warnings:
            if "not supported: listed as unaccounted" in w:
                continue  # CNS001
            yield ctx.finding(self, None, w)
