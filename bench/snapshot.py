"""Byte-for-byte snapshot of cnnsym's outputs on the fixtures, for start-up work that must not
change a result (lazy imports, parse paths): run before and after, then compare the folders.

    python bench/snapshot.py OUTDIR            # writes one file per case
    diff -r BEFORE AFTER                       # empty when nothing changed

Cases: ``report`` of every ONNX fixture and shared model in the table, JSON, markdown and CSV
formats, ``report --wide``, every source fixture of tests/test_torch_frontend.py in JSON and
table, and ``lint --format json`` over fixtures/torch. Run in one process (click's CliRunner)
so it takes seconds, not minutes; every case also records its exit code.
"""
from __future__ import annotations

import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("CNNSYM_SHARED_MODELS") or os.path.join(os.path.dirname(ROOT), "shared", "models")

SOURCE = [("lenet.py", "Net", "1x3x32x32"), ("lenet.py", "LeNet", "1x1x28x28"), ("lenet.py", "SimpleCNN", "1x3xHxW"),
          ("vgg.py", "vgg11", "1x3x32x32"), ("resnet.py", "resnet18", "1x3x224x224"),
          ("resnet.py", "resnet50", "Nx3xHxW"), ("resnet.py", "resnext50_32x4d", "1x3x64x64"),
          ("mobilenetv2.py", "mobilenet_v2", "1x3x224x224"), ("squeezenet.py", "squeezenet1_0", "1x3x224x224"),
          ("dcgan.py", "Generator(1)", "1x100x1x1"), ("superres.py", "ESPCN(scale_factor=3)", "1x1x32x32"),
          ("unet.py", "UNet", "1x3x572x572"), ("unet.py", "UNet(bilinear=True)", "1x3xHxW"),
          ("public_styles.py", "StyleNet", "1x3x32x32")]


def cases():
    onnx_files = sorted(glob.glob(os.path.join(ROOT, "fixtures", "*.onnx"))) + \
        sorted(glob.glob(os.path.join(MODELS, "*", "*.onnx")))
    for f in onnx_files:
        tag = os.path.relpath(f, os.path.dirname(ROOT)).replace("/", "_")
        for fmt in ("table", "json", "markdown", "csv"):
            yield f"{tag}.{fmt}", ["report", f, "-f", fmt, "--width", "120"]
        yield f"{tag}.wide", ["report", f, "--wide", "--width", "160"]
    for file, spec, shape in SOURCE:
        path = os.path.join(ROOT, "fixtures", "torch", file)
        tag = f"src_{file}_{spec}".replace("/", "_")
        for fmt in ("table", "json"):
            yield f"{tag}.{fmt}", ["report", f"{path}::{spec}", "--input", shape, "-f", fmt, "--width", "120"]
    yield "lint_fixtures_torch.json", ["lint", "--no-cache", "--format", "json", os.path.join(ROOT, "fixtures", "torch")]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    from click.testing import CliRunner

    from cnnsym.cli import main as cli

    runner = CliRunner()
    for name, args in cases():
        r = runner.invoke(cli, args, catch_exceptions=True)
        text = r.output.replace(os.path.dirname(ROOT), "<root>")
        if r.exception and not isinstance(r.exception, SystemExit):
            text += f"\nEXCEPTION {type(r.exception).__name__}: {r.exception}\n"
        with open(os.path.join(out, name), "w") as f:
            f.write(f"exit {r.exit_code}\n{text}")
    print(f"wrote {len(os.listdir(out))} files to {out}")


if __name__ == "__main__":
    main()
