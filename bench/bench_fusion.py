"""Issue 15 item 4: a 10x deeper HRNet-like fusion network costs about 10x to analyse.

Builds tests/fusionnet.py's network (3-4 parallel resolutions fused by nearest upsampling,
stride-2 convs and Add at every stage) at ``--stages`` and 10x that, exports both with
torch.onnx.export(dynamo=False), and times cnnsym's in-process analysis (load + analyze)
in a fresh worker process per depth: the first (cold) run, which is the time that matters,
and the median of ``--repeat`` further runs (warm: cnnsym's inference cache filled). Prints nodes, seconds, the time ratio against the node ratio, and
the largest shape expression (it must not grow with depth). Before the canonical broadcast
(commit history of cnnsym/ops/_broadcast.py) 3 stages took ~40 s and 4 did not finish.

    python bench/bench_fusion.py                 # stages 3 vs 30
    python bench/bench_fusion.py --stages 2 --repeat 5 --json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def measure(torch, stages, branches, repeat):
    import fusionnet
    import onnx

    from cnnsym.analyze import analyze
    from cnnsym.frontends.onnx import load
    from cnnsym.symbolic import expr_size

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fusionnet.export(torch, fusionnet.fusion_net(torch, stages=stages, branches=branches))
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "fusion.onnx")
        with open(p, "wb") as f:
            f.write(data)
        nodes = len(onnx.load(p).graph.node)
        times = []
        for _ in range(repeat + 1):
            t = time.perf_counter()
            report = analyze(load(p), {})
            times.append(time.perf_counter() - t)
    biggest = max(expr_size(x) for t in report.tensors.values() if t.shape for x in t.shape)
    return {"stages": stages, "nodes": nodes, "seconds": times[0], "warm_seconds": statistics.median(times[1:]),
            "errors": report.errors,
            "max_expr_size": biggest, "output": [str(x) for x in report.tensors[report.outputs[0]].shape]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--branches", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker is not None:
        import torch

        print(json.dumps(measure(torch, a.worker, a.branches, a.repeat)))
        return 0
    rows = []
    for s in (a.stages, 10 * a.stages):
        r = subprocess.run([sys.executable, __file__, "--worker", str(s), "--branches", str(a.branches),
                            "--repeat", str(a.repeat)], capture_output=True, text=True, check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    small, big = rows
    ratio = big["seconds"] / small["seconds"]
    node_ratio = big["nodes"] / small["nodes"]
    # "about 10x": time grows no faster than 1.5x the node count's growth
    ok = ratio <= 1.5 * node_ratio and big["max_expr_size"] == small["max_expr_size"] and not big["errors"]
    out = {"rows": rows, "time_ratio": ratio, "node_ratio": node_ratio, "pass": ok}
    if a.json:
        print(json.dumps(out, indent=1))
    else:
        for r in rows:
            print(f"stages {r['stages']:3d}  nodes {r['nodes']:5d}  cold {r['seconds']:7.3f} s  "
                  f"warm {r['warm_seconds']:7.3f} s  "
                  f"max expr size {r['max_expr_size']}  output {r['output']}")
        print(f"time ratio {ratio:.2f} for node ratio {node_ratio:.2f}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
