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
    python bench/bench_lint.py --real [--clock cpu]  # issue 12's rows on real model files

Issue 12's rows (``--real``; ``issue12_rows(quick, clock)`` gives them to
``bench/bench_targets.py``), whole process, on real model files linted where they lie (their
relative imports must resolve): "50 real model files" = the .py files of fixtures/torch (17
today) and then the first .py files (sorted paths) of the installed torchvision's models folder (which
cnnsym reads, never imports); "torchvision models folder" = ``cnnsym lint`` on that whole
folder (61 files, 148 models in torchvision 0.28.0); "warm" = the 50-file command again with
the cache the cold run filled (nothing changed). Cold runs use an empty cache folder
(``CNNSYM_CACHE_DIR``, emptied before each run); every row is the median of 3 runs
(``--quick``: one). ``pip install torchvision==0.28.0 --no-deps`` if torchvision is absent.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


# --------------------------------------------------------------------------- issue 12's rows
ISSUE12 = [("lint, cold, 50 real model files (< 2 s)", 2.0),
           ("lint, torchvision models folder (< 10 s)", 10.0),
           ("lint, warm, nothing changed (< 0.3 s)", 0.3)]


def torchvision_models_dir():
    """The installed torchvision's models folder (found without importing it), or None."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = os.path.join(list(spec.submodule_search_locations)[0], "models")
    return d if os.path.isdir(d) else None


def real_files(tv, n=50):
    fixtures = sorted(os.path.join(ROOT, "fixtures", "torch", f) for f in os.listdir(os.path.join(ROOT, "fixtures", "torch"))
                      if f.endswith(".py"))
    tvs = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(tv) for f in fs if f.endswith(".py"))
    return fixtures + tvs[:n - len(fixtures)]


def _timed(cmd, env):
    """(wall s, CPU s (user + system) of the process, exit code, stdout)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read()
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), text


def measure_real(quick=False, log=lambda s: None, jobs=None):
    """{work: {"wall", "cpu", "runs", "summary"} or {"error"}} for issue 12's three lint rows;
    ``jobs``: ``-j`` for every run (None: cnnsym's default, one worker per CPU). CPU s is the
    process's and its workers' (wait4 counts the children it waited for)."""
    tv = torchvision_models_dir()
    if tv is None:
        return {w: {"error": "torchvision not installed (pip install torchvision==0.28.0 --no-deps)"} for w, _ in ISSUE12}
    files = real_files(tv)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base["PYTHONPYCACHEPREFIX"] = os.path.join(ROOT, "bench", "out", "pycache")
    cmd = [sys.executable, "-m", "cnnsym", "lint", "--format", "concise"] + ([] if jobs is None else ["-j", str(jobs)])
    res = {}
    tmp = tempfile.mkdtemp(prefix="cnnsym_bench_lint_real_")
    try:
        for (work, _), args, warm in ((ISSUE12[0], files, False), (ISSUE12[1], [tv], False), (ISSUE12[2], files, True)):
            cache = os.path.join(tmp, "cache50" if args is files else "cachetv")
            env = {**base, "CNNSYM_CACHE_DIR": cache}
            runs = 1 if quick else 3  # median of 3: one cold run on 2 cores varies by ~10%
            walls, cpus, summary, err = [], [], "", None
            if not warm:
                # byte-compile cnnsym and the rest first (a cold *cache*, not a cold interpreter)
                _timed([sys.executable, "-m", "cnnsym", "--help"], env)
            for i in range(runs):
                if not warm:
                    shutil.rmtree(cache, ignore_errors=True)
                log(f"{work}: run {i + 1}/{runs}")
                wall, cpu, code, text = _timed(cmd + args, env)
                if code not in (0, 1):
                    err = f"exit {code}: " + " ".join((text.strip().splitlines() or [""])[-1].split())[:200]
                    break
                walls.append(wall)
                cpus.append(cpu)
                summary = (text.strip().splitlines() or [""])[-1]
            res[work] = {"error": err} if err else {"wall": statistics.median(walls), "cpu": statistics.median(cpus),
                                                    "runs": runs, "summary": summary, "files": len(files) if args is files else None}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def issue12_rows(quick=False, clock="wall", jobs=None):
    """Issue 12's lint rows in bench_targets.py's format, judged by ``clock`` ("wall" or "cpu")."""
    res = measure_real(quick, log=lambda s: print(s, file=sys.stderr, flush=True), jobs=jobs)
    rows = []
    for work, target in ISSUE12:
        r = res[work]
        if r.get("error"):
            rows.append({"work": work, "cnnsym": None, "cnnsym_cpu": None, "ort_ssi": None, "onnx_tool": None,
                         "measure": "", "value": None, "target": "", "pass": None, "note": r["error"]})
            continue
        v = r[clock]
        rows.append({"work": work, "cnnsym": v, "cnnsym_cpu": r["cpu"], "cnnsym_wall": r["wall"], "ort_ssi": None,
                     "onnx_tool": None,
                     "measure": "cnnsym whole process", "value": v, "target": f"< {target:g} s", "pass": v < target,
                     "note": f"{'median of ' + str(r['runs']) if r['runs'] > 1 else '1 run'}; {r['summary']}"})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--cpus", default="0,1", help="taskset CPU list ('' for no pinning)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when the no-cache or cold run misses the target")
    ap.add_argument("--real", action="store_true", help="issue 12's rows on real model files (see the module doc)")
    ap.add_argument("--quick", action="store_true", help="--real: one run of the warm row too")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="--real: judge by wall-clock or CPU time")
    ap.add_argument("--jobs", "-j", type=int, default=None, help="--real: cnnsym lint -j N (default: cnnsym's own, "
                                                                   "one worker per CPU; 1: one process)")
    a = ap.parse_args()
    if a.real:
        rows = issue12_rows(a.quick, a.clock, a.jobs)
        if a.json:
            print(json.dumps(rows, indent=2))
        else:
            print(f"{'work':44} {'wall s':>7} {'CPU s':>7} {'target':>8}  verdict ({a.clock})")
            for r in rows:
                w = "-" if r.get("cnnsym_wall") is None else f"{r['cnnsym_wall']:.2f}"
                c = "-" if r["cnnsym_cpu"] is None else f"{r['cnnsym_cpu']:.2f}"
                print(f"{r['work']:44} {w:>7} {c:>7} {r['target']:>8}  "
                      f"{ {True: 'PASS', False: 'FAIL', None: '-'}[r['pass']]}  {r['note']}")
        if a.check and any(r["pass"] is False for r in rows):
            sys.exit(1)
        return
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
