"""Issue 12's verify row: ``cnnsym verify resnet18.onnx`` with receptive fields, whole process,
under 5 s on 2 cores (it took about 30 s, 27 s of it measuring fields one onnxruntime run per
binary-search step).

Each case runs as a whole process (interpreter start to exit), one untimed warm-up, then the
median of ``--repeats`` (default 3). Wall time decides PASS/FAIL; CPU time (user + system of
the process and its onnxruntime worker) is printed beside it because it does not grow when
other work shares the cores (the load average is printed too). The static-size case of issue
14 (``--input input=1x3x224x224``: every field compared at 224 x 224, the global pool's
clipped by the image) is a second row, without a target.

    python bench/bench_verify.py               # table, PASS/FAIL
    python bench/bench_verify.py --json
    python bench/bench_verify.py --check       # exit 1 when the target fails
    python bench/bench_verify.py --quick       # one timed run

``issue12_rows(quick)`` gives the row to ``bench/bench_targets.py``.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.environ.get("CNNSYM_SHARED_MODELS") or os.path.join(os.path.dirname(ROOT), "shared", "models")
TARGET_S = 5.0
WORK = "verify resnet18 with receptive fields (< 5 s on 2 cores)"


def cases(models=MODELS):
    model = os.path.join(models, "torchscript", "resnet18.onnx")
    base = [sys.executable, "-m", "cnnsym", "verify", model]
    return [
        {"work": WORK, "cmd": base, "target": TARGET_S},
        {"work": "verify resnet18 at static 1x3x224x224 (issue 14), reference", "cmd": base + ["--input", "input=1x3x224x224"],
         "target": None},
    ], model


def run_once(cmd, timeout=300):
    """(wall s, CPU s of the process tree it waited for, exit code, last stderr line)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                p.wait()
                return None, None, None, f"timed out after {timeout} s"
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        err.seek(0)
        last = (err.read().strip().splitlines() or [""])[-1]
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), last


def measure(repeats=3, models=MODELS, log=lambda s: None, cases_only=None):
    rows = []
    todo, model = cases(models)
    todo = todo[:cases_only] if cases_only else todo
    if not os.path.exists(model):
        return [{"work": c["work"], "wall": None, "cpu": None, "target": c["target"], "pass": None,
                 "note": f"{model} absent (set CNNSYM_SHARED_MODELS)"} for c in todo]
    for c in todo:
        log(f"{c['work']}: warm-up")
        run_once(c["cmd"])
        walls, cpus, note = [], [], ""
        for i in range(repeats):
            wall, cpu, code, last = run_once(c["cmd"])
            log(f"  run {i + 1}: {wall if wall is None else round(wall, 2)} s wall, exit {code}")
            if wall is None or code != 0:
                note = f"exit {code}: {last}" if wall is not None else last
                break
            walls.append(wall)
            cpus.append(cpu)
        wall = statistics.median(walls) if walls and not note else None
        cpu = statistics.median(cpus) if cpus and not note else None
        passed = None if c["target"] is None or wall is None else wall < c["target"]
        rows.append({"work": c["work"], "wall": wall, "cpu": cpu, "target": c["target"], "pass": passed, "note": note})
    return rows


def issue12_rows(quick=False, clock="wall"):
    """The verify row in bench_targets.py's format, judged by ``clock`` ("wall" or "cpu": the
    process's and its onnxruntime child's CPU time)."""
    out = []
    for r in measure(1 if quick else 3, cases_only=1):
        v = r[clock]
        out.append({"work": r["work"], "cnnsym": v, "cnnsym_cpu": r["cpu"], "cnnsym_wall": r["wall"], "ort_ssi": None,
                    "onnx_tool": None,
                    "measure": "cnnsym whole process", "value": v, "target": f"< {TARGET_S:.0f} s",
                    "pass": None if v is None else v < TARGET_S, "note": r["note"]})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one timed run")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when the target fails")
    ap.add_argument("--models", default=MODELS)
    args = ap.parse_args(argv)
    rows = measure(1 if args.quick else args.repeats, args.models, log=lambda s: print(s, file=sys.stderr))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "load_average_1min": load, "rows": rows}, indent=1))
    else:
        print(f"cnnsym verify benchmark: {os.cpu_count()} cores, load average {load:.1f}" if load is not None else "")
        print(f"{'work':<64} {'wall s':>7} {'CPU s':>6} {'target':>7}  result")
        for r in rows:
            wall = "-" if r["wall"] is None else f"{r['wall']:.2f}"
            cpu = "-" if r["cpu"] is None else f"{r['cpu']:.2f}"
            target = "" if r["target"] is None else f"< {r['target']:.0f}"
            verdict = {True: "PASS", False: "FAIL", None: ""}[r["pass"]]
            print(f"{r['work']:<64} {wall:>7} {cpu:>6} {target:>7}  {verdict} {r['note']}".rstrip())
    return 1 if args.check and any(r["pass"] is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
