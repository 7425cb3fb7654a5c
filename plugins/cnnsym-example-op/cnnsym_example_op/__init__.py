"""cnnsym plugin: ``example.cnnsym::FusedConv`` and the lint rule EXO101.

Importing this module registers both, with the decorators cnnsym's built-ins use.
"""
from __future__ import annotations

from cnnsym.lint import Example, Rule, rule
from cnnsym.ops import Case, register
from cnnsym.ops.conv import Conv

DOMAIN = "example.cnnsym"

# activation -> operations per output element (the ``activation`` cost term)
ACTIVATIONS = {"Identity": 0, "Relu": 1, "LeakyRelu": 1, "Clip": 1, "Sigmoid": 1, "Tanh": 1, "HardSigmoid": 1,
               "HardSwish": 2, "Swish": 2}


@register
class FusedConv(Conv):
    """Y = activation(Conv(X, W, B) + Z): a convolution fused with its bias, an optional
    residual input Z (same shape as the output) and an activation.

    out as Conv; macs = Conv's (N * M * prod(out) * (C/group) * prod(k)); terms: ``bias`` =
    numel(Y) when B is given, ``elementwise`` = numel(Y) when Z is given, ``activation`` =
    numel(Y) x the activation's weight (0 for Identity, 1 for Relu, 2 for HardSwish/Swish).
    The domain is this plugin's own; onnxruntime's ``com.microsoft::FusedConv`` has the same
    semantics without HardSwish/Swish.
    https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md
    """

    op_type = "FusedConv"
    domain = DOMAIN
    attributes = {**Conv.attributes, "activation": "Relu", "activation_params": None}
    param_roles = {1: "trainable", 2: "trainable"}
    examples = [
        Case(("N,3,H,W", "64,3,3,3"), "N,64,H,W", pads=(1, 1, 1, 1), macs="1728*N*H*W",
             terms={"activation": "64*N*H*W"}),
        Case(("N,8,H,W", "16,8,3,3", "16", "N,16,H-2,W-2"), "N,16,H-2,W-2", activation="HardSwish",
             macs="1152*N*(H-2)*(W-2)",
             terms={"bias": "16*N*(H-2)*(W-2)", "elementwise": "16*N*(H-2)*(W-2)", "activation": "32*N*(H-2)*(W-2)"}),
        Case(("N,4,H,W", "4,4,1,1"), "N,4,ceiling(H/2),ceiling(W/2)", strides=(2, 2), activation="Identity",
             macs="16*N*ceiling(H/2)*ceiling(W/2)"),
        Case(("1,3,8,8", "4,5,3,3"), raises="channels"),
    ]

    def infer(self, inputs):
        inf = super().infer(inputs[:3])
        y = inf.outputs[0].shape
        from cnnsym.ops import numel
        from cnnsym.ops._broadcast import broadcast

        n = numel(y)
        if len(inputs) > 3 and inputs[3] is not None:
            z = inputs[3]
            if z.shape is None or len(z.shape) != len(y):
                self.fail(f"Z must have the output's rank {len(y)}, got {z.shape}", kind="shape")
            _, cons, _ = broadcast(self, [y, z.shape])
            inf.constraints = list(inf.constraints) + list(cons)
            inf.terms["elementwise"] = n
        act = self["activation"]
        act = act.decode() if isinstance(act, bytes) else act
        w = ACTIVATIONS.get(act, 1)
        if w:
            inf.terms["activation"] = n * w
        return inf


@rule
class FusedConvActivation(Rule):
    """A FusedConv whose activation this plugin does not know.

    What: an ``example.cnnsym::FusedConv`` node with an ``activation`` attribute outside
    Identity, Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, Swish.

    Why: runtimes reject unknown activations when they load the model, and its cost is
    counted here as one operation per element, a guess.

    Example: ``FusedConv<activation="Gelu">``.

    Fix: use a supported activation, or unfuse the activation into its own node.
    """

    code, name = "EXO101", "fused-conv-activation"
    lazy_report = True  # reads nodes only: lint may compute totals and fields on first read
    fix = "use a supported activation or unfuse it into its own node"
    invalid = [Example(input=None, expect="Gelu", onnx="""
        m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w> {
          y = example.cnnsym.FusedConv<activation="Gelu">(x, w)
        }""")]
    valid = [Example(input=None, onnx="""
        m (float[N,3,H,W] x) => (float y) <float[8,3,3,3] w> {
          y = example.cnnsym.FusedConv<activation="Relu">(x, w)
        }""")]

    def check(self, ctx):
        for r in ctx.nodes("FusedConv"):
            if r.node.domain != DOMAIN:
                continue
            act = r.node.attrs.get("activation", "Relu")
            act = act.decode() if isinstance(act, bytes) else act
            if act not in ACTIVATIONS:
                yield ctx.finding(self, r, f"{ctx.describe(r)} has activation {act!r}, which FusedConv does not "
                                           f"support (known: {', '.join(ACTIVATIONS)})")
