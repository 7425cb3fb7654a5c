"""BatchNormalization folded into the convolution before it: the inference model as
exporters produce it (``torch.onnx.export`` in eval mode, constant folding on).

At test time a BatchNorm is a fixed per-channel affine map
``y = (x - mean)/sqrt(var + eps) * gamma + beta = a*x + b``; after ``z = W*x + c`` it is
absorbed as ``W' = a[:, None...] * W`` and ``c' = a*c + b``: the convolution keeps its weight
shape, gains a bias if it had none, and the BatchNorm's 4C parameters (+ the counter a
PyTorch module holds) and its 2 FLOPs per element disappear. The inference model holds no
batch counter: every BatchNorm's num_batches_tracked is dropped, kept ones too (exporters do).

The rule is the exporter's, so the folded Report matches the exported graph: a BatchNorm
is folded when its input is the output of a ``Conv`` read by nothing else, its statistics
are constants and it runs in inference mode. Everything else is kept, with the reason
(:func:`verdict`). The transform works on shapes only; no weight is read."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .graph import Graph, Initializer

__all__ = ["FoldResult", "fold_batchnorm", "verdict", "is_constant"]

LINEAR_OPS = ("ConvTranspose", "Gemm", "MatMul")


@dataclass(frozen=True)
class FoldResult:
    folded: tuple = ()  # (batchnorm node name, conv node name)
    kept: tuple = ()  # (batchnorm node name, reason)

    def message(self) -> str:
        """One line for the Report's warnings."""
        s = f"--fold-bn: {len(self.folded)} BatchNormalization folded into the preceding Conv"
        if self.folded:
            s += " (" + ", ".join(f"{b} into {c}" for b, c in self.folded[:8]) + (", ...)" if len(self.folded) > 8 else ")")
        if self.kept:
            s += f"; {len(self.kept)} kept: " + "; ".join(f"{b} ({why})" for b, why in self.kept[:6])
            s += "; ..." if len(self.kept) > 6 else ""
        return s


def is_constant(name, initializers, producers) -> bool:
    """``name`` is an initializer, or an Identity of one (exporters share identical
    constants, such as an untrained BatchNorm's statistics, through Identity nodes)."""
    for _ in range(8):
        if name in initializers:
            return True
        node = producers.get(name)
        if node is None or node.op_type != "Identity" or not node.inputs:
            return False
        name = node.inputs[0]
    return False


def verdict(bn, producer, readers: int, graph_output: bool, constant_stats: bool) -> tuple:
    """(folded by exporters?, reason) for the BatchNormalization node ``bn`` whose input is
    produced by ``producer`` (a Node or None), read by ``readers`` nodes in all."""
    if bn.attrs.get("training_mode", 0):
        return False, "training mode: it normalises with the batch's own statistics"
    if not constant_stats:
        return False, "its scale, bias, mean or variance is not a constant"
    if producer is None:
        return False, "its input is a graph input: there is no layer before it to fold into"
    op = producer.op_type
    if op == "Conv" and producer.domain in ("", "ai.onnx"):
        if readers > 1 or graph_output:
            return False, (f"the output of {producer.name} is also read elsewhere ({readers} readers): folding "
                           "would change what the others read")
        return True, f"folded into {producer.name}: W' = W x gamma/sqrt(var + eps), b' = (b - mean) x gamma/sqrt(var + eps) + beta"
    if op in LINEAR_OPS:
        return False, (f"it follows {op} {producer.name}: the algebra allows folding (scale the weight per output "
                       f"channel), but exporters (torch.onnx) fold into Conv only and keep it")
    if op == "Concat":
        return False, (f"it follows Concat {producer.name} (BN after concatenation, as in DenseNet's pre-activation "
                       "blocks): its channels come from several layers, and some of those are also read unnormalised "
                       "elsewhere, so no single weight can absorb it")
    return False, (f"it follows {op} {producer.name}: no weight right before it to fold into (pre-activation: BN "
                   "before the conv); folding forward into the next conv is not exact at zero-padded borders, so "
                   "exporters keep it")


def fold_batchnorm(graph: Graph) -> tuple:
    """(a new Graph with every foldable BatchNormalization folded, FoldResult). The input
    graph is not changed."""
    producers, readers = {}, {}
    for n in graph.nodes:
        for o in n.outputs:
            if o:
                producers[o] = n
        for i in n.inputs:
            if i:
                readers[i] = readers.get(i, 0) + 1
    outputs = set(graph.outputs)
    inits = dict(graph.initializers)
    folded, kept, drop, replaced = [], [], set(), {}
    for bn in graph.nodes:
        if bn.op_type != "BatchNormalization" or bn.domain not in ("", "ai.onnx") or not bn.inputs:
            continue
        stats = bn.inputs[1:5]
        constant = len(stats) == 4 and all(is_constant(s, inits, producers) for s in stats)
        x = bn.inputs[0]
        prod = producers.get(x)
        prod = replaced.get(prod.index, prod) if prod is not None else None
        extra_outputs = [o for o in bn.outputs[1:] if o]
        ok, why = verdict(bn, prod, readers.get(x, 0), x in outputs, constant)
        if ok and extra_outputs:
            ok, why = False, "it also returns its statistics as outputs"
        if ok and (len(prod.inputs) < 2 or prod.inputs[1] not in inits):
            ok, why = False, f"the weight of {prod.name} is not a constant"
        if not ok:
            kept.append((bn.name, why))
            continue
        new_inputs = list(prod.inputs[:3])
        if len(new_inputs) < 3 or not new_inputs[2]:
            w = inits[prod.inputs[1]]
            bias = f"{bn.name}.folded_bias"
            inits[bias] = Initializer(bias, (w.shape[0],), w.dtype)  # a symbol under --symbolic
            new_inputs = [*prod.inputs[:2], bias]
        replaced[prod.index] = replace(prod, inputs=new_inputs, outputs=[bn.outputs[0], *prod.outputs[1:]])
        drop.add(bn.index)  # by position: node names may repeat or be empty
        folded.append((bn.name, prod.name))
    if not folded and not kept:
        return graph, FoldResult()
    nodes = [replaced.get(n.index, n) for n in graph.nodes if n.index not in drop]
    nodes = [n if n.index == i else replace(n, index=i) for i, n in enumerate(nodes)]  # index = position
    still_read = {i for n in nodes for i in n.inputs if i}
    for bn in graph.nodes:
        if bn.index in drop:
            for s in bn.inputs[1:]:
                if s and s not in still_read:
                    inits.pop(s, None)
    # the inference model holds no batch counter (num_batches_tracked): exporters drop it, kept BNs too
    counters = {bn.name for bn in graph.nodes if bn.op_type == "BatchNormalization" and not bn.attrs.get("training_mode", 0)}
    held = {k: v for k, v in graph.held.items() if k not in counters}
    for k in counters & set(graph.held):
        for init in graph.held[k]:
            name = getattr(init, "name", init)
            if name not in still_read:
                inits.pop(name, None)
    new = replace(graph, nodes=nodes, initializers=inits, held=held, warnings=list(graph.warnings))
    result = FoldResult(tuple(folded), tuple(kept))
    new.warnings.append(result.message())
    return new, result
