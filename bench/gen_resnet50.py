"""Export ResNet-50 to ONNX for the benchmarks (bench/out/resnet50.onnx, git-ignored).

The architecture is fixtures/torch/resnet.py::resnet50 (torchvision's ResNet-50 definition),
exported like /work/shared/models/torchscript/*.onnx: TorchScript exporter, opset 17, eval
mode (BatchNorm folded into the convolutions), dynamic ``batch``, ``height``, ``width``, no
``value_info``. Weights are seeded random and BatchNorm statistics perturbed, as in a trained
checkpoint: with freshly initialised norms many folded biases are equal and the exporter
deduplicates them behind 47 Identity nodes that a real model does not have. 122 nodes
(53 Conv, 49 Relu, 16 Add, MaxPool, GlobalAveragePool, Flatten, Gemm), about 100 MB.

    python bench/gen_resnet50.py            # needs torch; rewrites the file
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
SOURCE = os.path.join(ROOT, "fixtures", "torch", "resnet.py")


def export(path: str) -> str:
    import torch

    spec = importlib.util.spec_from_file_location("_bench_resnet", SOURCE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    net = mod.resnet50()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    net.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.randn(1, 3, 224, 224), tmp, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch"}})
    os.replace(tmp, path)
    return path


def ensure(out_dir: str = OUT) -> str:
    """The exported file, made if absent (raises ImportError without torch)."""
    path = os.path.join(out_dir, "resnet50.onnx")
    if not os.path.exists(path):
        export(path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=OUT)
    a = ap.parse_args()
    path = export(os.path.join(a.out_dir, "resnet50.onnx"))
    import onnx

    m = onnx.load(path, load_external_data=False)
    print(f"{path}: {len(m.graph.node)} nodes, {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
