"""Generate deep residual ONNX graphs with symbolic batch/height/width for the benchmark.

Layout (opset 17), all tensors float32, weights tiny (``--channels``, default 8):

    input [batch, 3, height, width]
    stem:  Conv 3x3 stride 2 pad 1 (3 -> C) -> Relu
    blocks, each  Conv 3x3 pad 1 -> Relu -> Conv 3x3 pad 1 -> Add(shortcut) -> Relu   (5 nodes)
      ``--downsamples`` of them (evenly spaced) are stride-2 blocks: the first conv has
      stride 2 and the shortcut is a 1x1 stride-2 Conv                               (6 nodes)
    head:  GlobalAveragePool -> Flatten -> Gemm (C -> 10)
    a few trailing Relu nodes pad the graph to exactly ``nodes`` nodes.

Every intermediate shape is left for the tool to derive (no value_info), as in
/work/shared/models.  With the defaults the last feature map is ceil(H/32) x ceil(W/32),
like a ResNet.

    python bench/gen_graphs.py                 # bench/out/resgraph_1000.onnx, resgraph_10000.onnx
    python bench/gen_graphs.py --nodes 2500 --out-dir /tmp
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")

STEM_NODES, HEAD_NODES, BLOCK_NODES, DOWN_NODES = 2, 3, 5, 6


def build(nodes: int, channels: int = 8, downsamples: int = 4, seed: int = 0) -> onnx.ModelProto:
    fixed = STEM_NODES + HEAD_NODES + DOWN_NODES * downsamples
    if nodes < fixed + BLOCK_NODES:
        raise ValueError(f"need at least {fixed + BLOCK_NODES} nodes for {downsamples} downsampling blocks")
    plain = (nodes - fixed) // BLOCK_NODES
    pad_relus = nodes - fixed - plain * BLOCK_NODES
    n_blocks = plain + downsamples
    # evenly spaced downsampling blocks (never the first block, like ResNet's layer2..4)
    down_at = {round((k + 1) * n_blocks / (downsamples + 1)) for k in range(downsamples)}
    assert len(down_at) == downsamples, "too few blocks for that many downsamplings"

    rng = np.random.default_rng(seed)
    inits, graph_nodes = [], []
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def weight(shape):
        name = fresh("w")
        arr = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def conv(x, cin, cout, k, stride):
        w, b, y = weight((cout, cin, k, k)), weight((cout,)), fresh("t")
        p = k // 2
        graph_nodes.append(helper.make_node("Conv", [x, w, b], [y], name=fresh("conv"),
                                            kernel_shape=[k, k], strides=[stride, stride], pads=[p, p, p, p]))
        return y

    def op(op_type, inputs, **attrs):
        y = fresh("t")
        graph_nodes.append(helper.make_node(op_type, inputs, [y], name=fresh(op_type.lower()), **attrs))
        return y

    C = channels
    x = op("Relu", [conv("input", 3, C, 3, 2)])
    for b in range(n_blocks):
        stride = 2 if b in down_at else 1
        h = op("Relu", [conv(x, C, C, 3, stride)])
        h = conv(h, C, C, 3, 1)
        short = conv(x, C, C, 1, 2) if stride == 2 else x
        x = op("Relu", [op("Add", [h, short])])
    x = op("Flatten", [op("GlobalAveragePool", [x])], axis=1)
    x = op("Gemm", [x, weight((10, C)), weight((10,))], transB=1)
    for _ in range(pad_relus):
        x = op("Relu", [x])

    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    out = helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, None])  # rank only, like the shared models
    graph = helper.make_graph(graph_nodes, f"resgraph_{nodes}", [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="cnnsym-bench")
    model.ir_version = 8
    assert len(model.graph.node) == nodes, (len(model.graph.node), nodes)
    onnx.checker.check_model(model)
    return model


def path_for(nodes: int, out_dir: str = DEFAULT_OUT) -> str:
    return os.path.join(out_dir, f"resgraph_{nodes}.onnx")


def ensure(nodes: int, out_dir: str = DEFAULT_OUT, **kw) -> str:
    """Write the graph unless an up-to-date file is already there; return its path."""
    path = path_for(nodes, out_dir)
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(__file__):
        os.makedirs(out_dir, exist_ok=True)
        onnx.save(build(nodes, **kw), path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--downsamples", type=int, default=4)
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    os.makedirs(a.out_dir, exist_ok=True)
    for n in a.nodes:
        m = build(n, a.channels, a.downsamples)
        p = path_for(n, a.out_dir)
        onnx.save(m, p)
        print(f"{p}: {len(m.graph.node)} nodes, {os.path.getsize(p) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
