"""Whole-process time of `cnnsym report FILE.py::MODEL` on the largest source fixture (issue 4:
target < 1 s on a 300-line file), best of N runs.

    python bench/bench_source.py [--repeats 5]
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [("fixtures/torch/resnet.py", "resnet18", "1x3x224x224"),
         ("fixtures/torch/mobilenetv2.py", "mobilenet_v2", "1x3x224x224"),
         ("fixtures/torch/unet.py", "UNet", "1x3x572x572")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    print(f"{'model':45} {'lines':>5} {'best s':>7}  target < 1 s")
    worst = 0.0
    for path, name, shape in CASES:
        lines = len((ROOT / path).read_text().splitlines())
        best = float("inf")
        for _ in range(a.repeats):
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "cnnsym", "report", f"{path}::{name}", "--input", shape,
                                "-f", "json", "-o", "/dev/null"], cwd=ROOT, capture_output=True, text=True)
            dt = time.perf_counter() - t
            if p.returncode not in (0, 1):
                print(f"{path}::{name}: failed: {p.stderr.strip()}")
                break
            best = min(best, dt)
        worst = max(worst, best)
        print(f"{path + '::' + name:45} {lines:5d} {best:7.3f}  {'PASS' if best < 1 else 'FAIL'}")
    print(f"worst {worst:.3f} s")


if __name__ == "__main__":
    main()
