"""Module paths of ONNX nodes from what the PyTorch exporters leave in the file.

- dynamo (``torch.onnx.export(..., dynamo=True)``): each node's ``metadata_props`` holds
  ``pkg.torch.onnx.name_scopes``, a Python list literal of the module paths from the root
  down, then the op's own name: ``['', 'features', 'features.0', 'features.0.1',
  '_native_batch_norm_legit_no_training']`` -> ``features.0.1``; a first entry other than
  ``''`` (``_empty_nn_module_stack_from_metadata_hook``) means no module: the root.
  ``pkg.torch.onnx.class_hierarchy`` gives the class of each entry, aligned.
- TorchScript (``dynamo=False``): node names ``/layer1/layer1.0/conv1/Conv``: one component
  per module, each named relative to its parent except that children of a container carry
  the container's name (``layer1.0`` under ``layer1``, ``conv.0`` under ``features.1.conv``);
  the last component is the op. A module called again gets a ``_k`` suffix
  (``relu_1``): a component ``X_k`` whose sibling ``X`` exists and whose nodes read no
  weight that ``X``'s do not is taken as a repeated call of ``X``.

Nodes of a file that carries scopes but not on that node (exporter-made constants) belong
to the root ``""``. A file with no scope at all leaves ``Node.module`` None.
"""
from __future__ import annotations

import ast
import re

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY = "pkg.torch.onnx.class_hierarchy"
FUSED = "pkg.onnxscript.rewriter.rule_name"
_MAX_LITERAL = 100_000
_REPEAT = re.compile(r"^(.+)_(\d+)$")


def _literal_list(text):
    if not text or len(text) > _MAX_LITERAL:
        return None
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return list(v)
    return None


def _dynamo(props, inputs, inits):
    """(module path, {path: class name}) from one node's metadata, or None.

    A convolution the exporter fused with the BatchNorm after it carries the norm's scope
    (``features.0.1``) but reads the convolution's weight (``features.0.0.weight``): it is
    put back in the convolution's module, the one the TorchScript exporter names."""
    scopes = _literal_list(props.get(NAME_SCOPES))
    if scopes is None:
        return None
    if not scopes or scopes[0] != "" or len(scopes) < 2:
        return "", {}
    mods = scopes[:-1]
    classes = _literal_list(props.get(CLASS_HIERARCHY)) or []
    types = {}
    if len(classes) == len(scopes):
        types = {p: c.rsplit(".", 1)[-1] for p, c in zip(mods, classes)}
    path = mods[-1]
    if "Fuse" in props.get(FUSED, "") and "." in path:
        parent = path.rsplit(".", 1)[0]
        for i in inputs:
            owner = i.rsplit(".", 1)[0] if i in inits and "." in i else ""
            if owner != path and owner.rsplit(".", 1)[0] == parent and "." in owner:
                types.pop(path, None)  # the norm's class is not the convolution's
                return owner, types
    return path, types


def _levels(name):
    """The full path of each module level of a TorchScript node name, or None."""
    if not name.startswith("/"):
        return None
    parts = name.split("/")[1:-1]
    levels, prev_part, prev_full = [], "", ""
    for c in parts:
        if not c:
            return None
        if prev_part and c.startswith(prev_part + "."):
            full = prev_full + c[len(prev_part):]
        else:
            full = f"{prev_full}.{c}" if prev_full else c
        levels.append(full)
        prev_part, prev_full = c, full
    return levels


def assign_modules(graph, proto_nodes):
    """Set ``Node.module`` (and ``graph.module_types`` for dynamo) from the exporter's scopes."""
    dynamo, script = {}, {}
    for node, pn in zip(graph.nodes, proto_nodes):
        if pn.metadata_props:
            got = _dynamo({p.key: p.value for p in pn.metadata_props}, node.inputs, graph.initializers)
            if got is not None:
                dynamo[node.index] = got
                continue
        lv = _levels(node.name)
        if lv is not None:
            script[node.index] = lv
    if not dynamo and not script:
        return
    for path, types in dynamo.values():
        for p, t in types.items():
            graph.module_types.setdefault(p, (t, None))
    repeats = _repeated_calls(graph, script)
    for node in graph.nodes:
        if node.index in dynamo:
            node.module = dynamo[node.index][0]
        elif node.index in script:
            lv = script[node.index]
            node.module = repeats.get(lv[-1], lv[-1]) if lv else ""
        else:
            node.module = ""


def _repeated_calls(graph, script):
    """{raw TorchScript path: the path of the module it calls again} (``relu_1`` -> ``relu``),
    applied level by level so a repeated container's children follow it."""
    if not script:
        return {}
    inits = graph.initializers
    reads: dict = {}  # raw level path -> weights read by nodes under it
    order: dict = {}  # raw level path -> first node index under it
    for idx, lv in script.items():
        ws = {i for i in graph.nodes[idx].inputs if i in inits}
        for full in lv:
            reads.setdefault(full, set()).update(ws)
            order.setdefault(full, idx)
    out: dict = {}
    for idx, lv in sorted(script.items()):
        if not lv or lv[-1] in out:
            continue
        parent, canon, mapped = "", "", []
        for full in lv:
            suffix = full[len(parent):] if parent else full  # ".relu_1", ".0" or "layer1"
            m = _REPEAT.match(suffix.lstrip("."))
            if m is not None and "." not in m.group(1):
                sib = f"{parent}.{m.group(1)}" if parent else m.group(1)
                if sib in order and order[sib] < order[full] and reads[full] <= reads[sib]:
                    suffix = f".{m.group(1)}" if parent else m.group(1)
            canon = canon + suffix if parent else suffix
            mapped.append(canon)
            parent = full
        for full, new in zip(lv, mapped):
            if full != new:
                out[full] = new
        out.setdefault(lv[-1], mapped[-1])
    return out
