"""Pre-commit-style lint benchmark: one `cnnsym lint` process over 50 generated PyTorch
model files (conv stacks, residual blocks, classifier heads; a few broken on purpose), as
pre-commit runs the cnnsym-lint hook on a commit touching them.

Prints the whole-process time (start-up included) and the per-file figure for three runs:
without the cache (``--no-cache``), with a cold cache (first run, fills it) and with a warm
cache (nothing changed, every file's result comes from its content hash). Pinned to 2 CPUs
with ``taskset`` where available (the target: under 5 s for 50 files on 2 cores).

    python bench/bench_lint.py            # table on stdout
    python bench/bench_lint.py --json     # machine-readable
    python bench/bench_lint.py --files 200 --check   # exit 1 when the target is missed
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_S = 5.0

TEMPLATE = '''"""Generated model {i}."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block{i}(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class Net{i}(nn.Module):
    def __init__(self, num_classes={classes}):
        super().__init__()
        self.stem = nn.Conv2d(3, {w}, 3, padding=1{stem_bias})
        self.bn = nn.BatchNorm2d({w})
        self.layer1 = Block{i}({w}, {w})
        self.layer2 = Block{i}({w}, {w2}, stride=2)
        self.layer3 = Block{i}({w2}, {w4}, stride=2)
        self.fc = nn.Linear({fc_in}, num_classes)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.max_pool2d(x, {pool})
        x = x.flatten(1)
        return self.fc(x)
'''


def generate(d, n):
    paths = []
    for i in range(n):
        w = 8 * (1 + i % 4)
        broken = i % 10 == 3
        pool = 8
        fc_in = w * 4 * (32 // 4 // pool) ** 2 + (7 if broken else 0)
        src = TEMPLATE.format(i=i, w=w, w2=2 * w, w4=4 * w, classes=10 + i % 5, pool=pool, fc_in=fc_in,
                              stem_bias="" if i % 7 == 5 else ", bias=False")
        p = os.path.join(d, f"model_{i:03d}.py")
        with open(p, "w") as f:
            f.write(src)
        paths.append(p)
    with open(os.path.join(d, "pyproject.toml"), "w") as f:
        f.write('[tool.cnnsym]\ninput = "1x3x32x32"\n')
    return paths


def run(d, files, extra, cpus):
    cmd = [sys.executable, "-m", "cnnsym", "lint", "--format", "concise", *extra, *[os.path.basename(p) for p in files]]
    if cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus, *cmd]
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(f"cnnsym lint failed ({p.returncode}): {p.stderr.strip()}")
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--cpus", default="0,1", help="taskset CPU list ('' for no pinning)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when the no-cache or cold run misses the target")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="cnnsym_bench_lint_")
    try:
        files = generate(d, a.files)
        rows = []
        for label, extra in (("no cache", ["--no-cache"]), ("cold cache", []), ("warm cache", [])):
            dt, out = run(d, files, extra, a.cpus)
            findings = sum(1 for line in out.splitlines() if ": CNS" in line)
            rows.append({"run": label, "files": len(files), "seconds": round(dt, 3),
                         "ms_per_file": round(dt / len(files) * 1000, 1), "findings": findings})
        ok = all(r["seconds"] < TARGET_S * len(files) / 50 for r in rows)
        if a.json:
            print(json.dumps({"target_seconds_per_50_files": TARGET_S, "cpus": a.cpus, "pass": ok, "runs": rows},
                             indent=2))
        else:
            print(f"cnnsym lint, {len(files)} generated model files, whole process, pinned to CPUs {a.cpus or 'all'}")
            print(f"{'run':12} {'seconds':>8} {'ms/file':>8} {'findings':>9}")
            for r in rows:
                print(f"{r['run']:12} {r['seconds']:8.2f} {r['ms_per_file']:8.1f} {r['findings']:9d}")
            print(f"target < {TARGET_S} s per 50 files: {'PASS' if ok else 'FAIL'}")
        if a.check and not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
