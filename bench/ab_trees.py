"""Whole-process A/B of `cnnsym report` between two copies of the cnnsym package, interleaved
(old, new, old, new, ...) so load from other processes hits both alike; CPU time (user +
system of the child) is the figure to read on a busy machine, wall time on an idle one.

    # the package as of a commit, with today's other files:
    rm -rf /tmp/old && mkdir /tmp/old && cp -r cnnsym /tmp/old/
    git show COMMIT:cnnsym/report.py > /tmp/old/cnnsym/report.py     # ... each file to compare
    python bench/ab_trees.py --old /tmp/old --new . fixtures/seed_conv.onnx --runs 25

Children run from /tmp with PYTHONPATH set to each tree (so the working directory does not
shadow it), with bytecode cached under bench/out/pycache as bench_targets.py does; the first
round is an untimed warm-up. Prints min / quartile / median of each, the floor (`import sympy`,
as bench_targets.py) and whether both printed the same bytes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOR = "import gc; gc.disable(); import sympy, sympy.tensor.tensor; import os; os._exit(0)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--old", required=True, help="folder holding the old cnnsym package")
    ap.add_argument("--new", required=True, help="folder holding the new cnnsym package")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("args", nargs="*", help="more arguments for cnnsym report")
    a = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(HERE, "out", "pycache")
    model = os.path.abspath(a.model)
    cmds = {"floor": ([sys.executable, "-c", FLOOR], None)}
    for name, tree in (("old", a.old), ("new", a.new)):
        cmds[name] = ([sys.executable, "-m", "cnnsym", "report", model, *a.args], os.path.abspath(tree))
    res = {k: [] for k in cmds}
    outs = {}
    for i in range(a.runs + 1):
        for k, (cmd, tree) in cmds.items():
            e = dict(env, PYTHONPATH=tree) if tree else env
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, cwd="/tmp", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
            outs[k] = p.stdout.read()
            _, _, ru = os.wait4(p.pid, 0)
            if i:
                res[k].append((ru.ru_utime + ru.ru_stime, time.perf_counter() - t0))
    for k, v in res.items():
        c = sorted(x[0] for x in v)
        w = sorted(x[1] for x in v)
        print(f"{k:5}  cpu min {c[0]:.3f} q1 {c[len(c) // 4]:.3f} median {statistics.median(c):.3f}   "
              f"wall min {w[0]:.3f} median {statistics.median(w):.3f}")
    print(f"same output: {outs['old'] == outs['new']}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
