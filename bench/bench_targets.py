"""Issue 12 ("fast start, fast proof"): every row of its table, side by side with its target.

One command, one run, whole processes (interpreter start-up to exit), median of ``--repeats``
(default 3) after one untimed warm-up run of each command. The commands of all tools are
timed in interleaved rounds (round 1: every command once, round 2: ...), so a burst of load
on the machine hits every tool alike and the ratios stay meaningful.

    python bench/bench_targets.py                # table on stdout, progress on stderr
    python bench/bench_targets.py --json         # the same as JSON
    python bench/bench_targets.py --check        # exit 1 when a measured target fails
    python bench/bench_targets.py --explain      # plus where cnnsym's time goes on resnet50

Rows owned by other benchmarks (verify resnet18, lint) come from ``bench/bench_verify.py`` and
``bench/bench_lint.py`` when those expose ``issue12_rows(quick)`` (see bench/README.md); else
they are printed as "not measured here".

Bytecode: child processes run with ``PYTHONPYCACHEPREFIX=bench/out/pycache`` and without
``PYTHONDONTWRITEBYTECODE``, so every tool (cnnsym from the work tree as much as the
installed packages) runs from cached bytecode, as in any installed environment; the warm-up
run fills that cache. See bench/README.md for what each row runs.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, HERE)

import bench_report  # noqa: E402  (shares the onnx-tool / ORT command lines)
import gen_graphs  # noqa: E402

PY = sys.executable
SEED = os.path.join(ROOT, "fixtures", "seed_conv.onnx")
SOURCE = ("fixtures/torch/resnet.py", "resnet18", "1x3x224x224")


def child_env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(OUT, "pycache")
    return env


def _run_once(cmd, env, timeout, ok_codes=(0, 1)):
    """(wall seconds, CPU seconds (user + system of the process), error or None)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                p.wait()
                return None, None, f"timed out after {timeout} s"
            time.sleep(0.002)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode not in ok_codes:
            err.seek(0)
            last = (err.read().strip().splitlines() or [""])[-1]
            return None, None, bench_report._one_line(f"exit {p.returncode}: {last}")
    return dt, ru.ru_utime + ru.ru_stime, None


def time_commands(cmds, repeats, timeout, log):
    """{key: {"ok", "wall", "cpu", "times", "cpu_times"} or {"ok": False, "error"}} for
    {key: argv}: medians over ``repeats`` interleaved rounds after one warm-up run each."""
    env = child_env()
    res = {}
    for key, cmd in cmds.items():
        log(f"warm-up  {key}")
        _, _, err = _run_once(cmd, env, timeout)
        res[key] = {"ok": False, "error": err} if err else {"ok": True, "times": [], "cpu_times": []}
    for r in range(repeats):
        for key, cmd in cmds.items():
            if not res[key]["ok"]:
                continue
            log(f"round {r + 1}  {key}")
            dt, cpu, err = _run_once(cmd, env, timeout)
            if err:
                res[key] = {"ok": False, "error": err}
            else:
                res[key]["times"].append(dt)
                res[key]["cpu_times"].append(cpu)
    for v in res.values():
        if v["ok"]:
            v["wall"] = statistics.median(v["times"])
            v["cpu"] = statistics.median(v["cpu_times"])
    return res


# the least a report process can cost: the interpreter, sympy (and sympy.tensor.tensor, which
# sympy's Add imports on its first call) imported with the collector off, no teardown at exit,
# as `python -m cnnsym` runs (cnnsym/cli/_app.py run_process)
FLOOR = "import gc; gc.disable(); import sympy, sympy.tensor.tensor; import os; os._exit(0)"


def _cnnsym(*args):
    return [PY, "-m", "cnnsym", *args]


def build_commands(files, tmp, tools):
    cmds = {"python": [PY, "-c", "pass"],
            "floor": [PY, "-c", FLOOR],
            "floor_src": [PY, "-c", FLOOR.replace("import sympy,", "import sympy, ast,")],
            "help": _cnnsym("--help"),
            "seed_conv": _cnnsym("report", SEED),
            "source": _cnnsym("report", f"{SOURCE[0]}::{SOURCE[1]}", "--input", SOURCE[2])}
    for label, path in files.items():
        cmds[f"{label}/cnnsym"] = _cnnsym("report", path)
        other = bench_report.whole_commands(path, 224, tmp)
        for tool in tools:
            cmds[f"{label}/{tool}"] = other[tool][0]
    return cmds


CLOCK = "wall"  # or "cpu" (--clock)


def _med(res, key):
    r = res.get(key)
    return r[CLOCK] if r and r.get("ok") else None


def _verdict(value, limit, strict=False):
    if value is None:
        return None
    return value < limit if strict else value <= limit


def evaluate(res, lines):
    rows = []

    def add(work, cnnsym, ssi, ot, measure, value, target, passed, note="", cpu_key=None):
        r = res.get(cpu_key, {}) if cpu_key else {}
        rows.append({"work": work, "cnnsym": cnnsym, "cnnsym_cpu": r.get("cpu"), "cnnsym_wall": r.get("wall"),
                     "ort_ssi": ssi, "onnx_tool": ot, "measure": measure, "value": value, "target": target,
                     "pass": passed, "note": note})

    v = _med(res, "python")
    add("python -c pass (interpreter start, reference)", v, None, None, "", v, "", None, cpu_key="python")
    v = _med(res, "floor")
    add("floor: import sympy, no teardown (reference)", v, None, None, "", v, "", None, cpu_key="floor")
    v = _med(res, "floor_src")
    add("floor of a source report: + ast (reference)", v, None, None, "", v, "", None, cpu_key="floor_src")
    c, s, o = (_med(res, f"resnet50/{t}") for t in ("cnnsym", "ort-ssi", "onnx-tool"))
    x = c / o if c and o else None
    add("report resnet50", c, s, o, "cnnsym / onnx-tool", x, "<= 0.60x", _verdict(x, 0.6),
        "" if x is not None else _why(res, "resnet50"), cpu_key="resnet50/cnnsym")
    v = _med(res, "seed_conv")
    add("report seed_conv (one conv layer)", v, None, None, "cnnsym", v, "<= 0.30 s", _verdict(v, 0.3),
        "" if v is not None else _why(res, "seed_conv"), cpu_key="seed_conv")
    v = _med(res, "help")
    add("cnnsym --help", v, None, None, "cnnsym", v, "< 0.10 s", _verdict(v, 0.1, strict=True),
        "" if v is not None else _why(res, "help"), cpu_key="help")
    c1, s1, o1 = (_med(res, f"chain_1000/{t}") for t in ("cnnsym", "ort-ssi", "onnx-tool"))
    x1 = c1 / s1 if c1 and s1 else None
    add("1,000-node residual chain", c1, s1, o1, "cnnsym / ort-ssi", x1, "(no target)", None,
        cpu_key="chain_1000/cnnsym")
    c, s, o = (_med(res, f"chain_10000/{t}") for t in ("cnnsym", "ort-ssi", "onnx-tool"))
    x = c / s if c and s else None
    add("10,000-node residual chain", c, s, o, "cnnsym / ort-ssi", x, "<= 0.60x", _verdict(x, 0.6),
        "" if x is not None else _why(res, "chain_10000"), cpu_key="chain_10000/cnnsym")
    g = c / c1 if c and c1 else None
    add("growth 1k -> 10k nodes", None, s / s1 if s and s1 else None, o / o1 if o and o1 else None,
        "cnnsym 10k / 1k", g, "<= 10x", _verdict(g, 10.0), "(tool columns: their own growth)")
    v = _med(res, "source")
    add(f"source report {SOURCE[0]}::{SOURCE[1]} ({lines} lines)", v, None, None, "cnnsym", v, "< 0.50 s",
        _verdict(v, 0.5, strict=True), "" if v is not None else _why(res, "source"), cpu_key="source")
    return rows


def _why(res, prefix):
    errs = [f"{k}: {v['error']}" for k, v in res.items() if k.startswith(prefix) and not v.get("ok")]
    return "; ".join(errs) or "not measured"


def foreign_rows(quick, log):
    """Rows of issue 12 measured by other benchmarks, through their ``issue12_rows(quick)``."""
    out = []
    for mod, works in (("bench_verify", ["verify resnet18 with receptive fields (< 5 s on 2 cores)"]),
                       ("bench_lint", ["lint, cold, 50 real model files (< 2 s)",
                                       "lint, torchvision models folder (< 10 s)",
                                       "lint, warm, nothing changed (< 0.3 s)"])):
        fn = None
        try:
            fn = getattr(importlib.import_module(mod), "issue12_rows", None)
        except Exception as e:  # noqa: BLE001 - a broken sibling benchmark must not stop this one
            log(f"{mod}: cannot import ({type(e).__name__}: {e})")
        if fn is None:
            out += [{"work": w, "cnnsym": None, "ort_ssi": None, "onnx_tool": None, "measure": "",
                     "value": None, "target": "", "pass": None,
                     "note": f"not measured here (bench/{mod}.py has no issue12_rows())"} for w in works]
            continue
        log(f"{mod}.issue12_rows(quick={quick}) ...")
        try:
            takes_clock = "clock" in inspect.signature(fn).parameters
            out += list(fn(quick, clock=CLOCK) if takes_clock else fn(quick))
        except Exception as e:  # noqa: BLE001
            out += [{"work": w, "cnnsym": None, "ort_ssi": None, "onnx_tool": None, "measure": "",
                     "value": None, "target": "", "pass": None,
                     "note": bench_report._one_line(f"{mod} failed: {type(e).__name__}: {e}")} for w in works]
    return out


def _s(x):
    return "-" if x is None else f"{x:.3f}"


def _v(row):
    x = row["value"]
    if x is None:
        return "-"
    return f"{x:.3f}x" if row["measure"] and ("/" in row["measure"]) else f"{x:.3f} s"


def print_table(rows, versions, args, out=sys.stdout):
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"issue 12 targets  ({', '.join(f'{k} {v}' for k, v in versions.items())})")
    p(f"{platform.machine()}, {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
      f"at the end; whole process, median of {args.repeats} after a warm-up; "
      f"{'wall-clock' if CLOCK == 'wall' else 'CPU (user + system)'} seconds")
    p()
    other = "cpu" if CLOCK == "wall" else "wall"
    hdr = (f"{'work':48s} {'cnnsym':>7s} {'(' + other + ')':>7s} {'ort-ssi':>7s} {'onnxtool':>8s} | {'measure':20s} {'value':>8s} "
           f"{'target':>10s}  verdict")
    p(hdr)
    p("-" * len(hdr))
    for r in rows:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[r["pass"]]
        p(f"{r['work'][:48]:48s} {_s(r['cnnsym']):>7s} {_s(r.get('cnnsym_' + other)):>7s} {_s(r['ort_ssi']):>7s} {_s(r['onnx_tool']):>8s} | "
          f"{r['measure'][:20]:20s} {_v(r):>8s} {r['target']:>10s}  {verdict}"
          + (f"  {r['note']}" if r.get("note") else ""))
    p()
    if CLOCK == "wall":
        p("'(cpu)': cnnsym's CPU time (user + system, median), for reading the wall-clock figures on a busy machine.")
    else:
        p("Every column is CPU time (user + system of the process and the children it waited for); "
          "'(wall)': cnnsym's wall-clock time (median) beside it.")
    p("Commands (stdout to /dev/null): cnnsym = python -m cnnsym report FILE (default table output); "
      "ort-ssi = python -m onnxruntime.tools.symbolic_shape_infer --input FILE --output TMP --auto_merge; "
      "onnxtool = onnx_tool.model_profile(FILE, {input: zeros(1x3x224x224)}).")
    p("Floors: python -c \"" + FLOOR + "\" (floor_src: + ast, the parser the source frontend uses since it left libcst).")
    p("Files: resnet50 = bench/out/resnet50.onnx (bench/gen_resnet50.py), chains = bench/out/resgraph_N.onnx "
      "(bench/gen_graphs.py), seed_conv = fixtures/seed_conv.onnx.")
    p("Reproduce: python bench/bench_targets.py")


def explain(log, out=sys.stdout):
    """Where a whole `cnnsym report resnet50` goes: import profile and in-process stages."""
    path = os.path.join(OUT, "resnet50.onnx")
    env = child_env()
    p = subprocess.run([PY, "-X", "importtime", "-m", "cnnsym", "report", path],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    own, total = {}, 0
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = line[len("import time:"):].split("|", 2)
        try:
            us = int(self_us.strip())
        except ValueError:
            continue
        root = name.strip().split(".")[0]
        own[root] = own.get(root, 0) + us
        total += us
    print(f"\nImports of `cnnsym report resnet50` (python -X importtime, self time summed by top-level package;"
          f" {total / 1e6:.3f} s in all):", file=out)
    print("  " + ", ".join(f"{k} {v / 1e6:.3f}" for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:12]),
          file=out)
    code = ("import sys, time\nt0 = time.perf_counter()\n"
            "from cnnsym.frontends.onnx import load\nfrom cnnsym.analyze import analyze\n"
            "t1 = time.perf_counter(); g = load(sys.argv[1]); t2 = time.perf_counter()\n"
            "r = analyze(g); t3 = time.perf_counter()\n"
            "print(f'imports {t1 - t0:.3f} s, load (read + parse + convert) {t2 - t1:.3f} s, analyze {t3 - t2:.3f} s')\n")
    q = subprocess.run([PY, "-c", code, path], cwd=ROOT, capture_output=True, text=True, env=env)
    print("In-process stages: " + (q.stdout.strip() or q.stderr.strip().splitlines()[-1]), file=out)
    print("\nCPU seconds by stage, in one process as `python -m cnnsym report` runs (collector off while "
          "importing; stages in order, each includes the imports it triggers):", file=out)
    for label, args in (("seed_conv", [SEED]), ("source", [f"{SOURCE[0]}::{SOURCE[1]}", SOURCE[2]]),
                        ("resnet50", [path])):
        q = subprocess.run([PY, "-c", STAGES, *args], cwd=ROOT, capture_output=True, text=True, env=env)
        print(f"  {label}: " + (q.stdout.strip() or q.stderr.strip().splitlines()[-1]), file=out)


STAGES = """import gc; gc.disable()
import sys, time
T = time.process_time
t = [T()]
def mark(name):
    t.append(T()); print(f"{name} {t[-1] - t[-2]:.3f}", end=", ")
import click; mark("click")
import sympy; mark("sympy")
import sympy.tensor.tensor; mark("sympy.tensor.tensor")
import cnnsym.cli, cnnsym.conventions, cnnsym.render, cnnsym.api as api; mark("cnnsym modules")
import cnnsym.ops as ops; ops.load_builtin_ops(); mark("op modules + plugins")
gc.freeze(); gc.set_threshold(10_000, 10, 10); gc.enable()
if "::" in sys.argv[1]:
    import ast; mark("ast")
g = api.load(sys.argv[1]); mark("load")
api.apply_inputs(g, api.inputs_of(sys.argv[2:]))
from cnnsym.analyze import analyze
r = cnnsym.conventions.apply_to_report(analyze(g, api.bindings_of([])), "cnnsym"); mark("analyze")
from cnnsym.render import RenderOptions, report_format
report_format("table").render(r, RenderOptions(width=80)); mark("render")  # as `cnnsym report` does
print(f"total {t[-1] - t[0]:.3f} s; numpy imported: {'numpy' in sys.modules}, onnx: {'onnx' in sys.modules}, "
      f"protobuf: {'google.protobuf' in sys.modules}")
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="timed whole-process runs per command (median)")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--tools", default="ort-ssi,onnx-tool", help="other tools to compare (subset of %(default)s)")
    ap.add_argument("--quick", action="store_true", help="1 timed run; passed on to the other benchmarks")
    ap.add_argument("--no-foreign", action="store_true", help="skip the verify and lint rows")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 if a measured target fails")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="judge by wall-clock time (default, as issue 12 states its targets) or by the "
                         "process's CPU time (user + system), steadier on a machine shared with other work")
    ap.add_argument("--explain", action="store_true", help="also print an import profile of cnnsym on resnet50")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
    global CLOCK
    CLOCK = args.clock
    tools = [t for t in args.tools.split(",") if t]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    files = {}
    try:
        import gen_resnet50

        files["resnet50"] = gen_resnet50.ensure(OUT)
    except Exception as e:  # noqa: BLE001 - torch absent: the row says so
        log(f"resnet50 not available ({type(e).__name__}: {e}); python bench/gen_resnet50.py needs torch")
    for n in (1000, 10000):
        files[f"chain_{n}"] = gen_graphs.ensure(n, OUT)
    lines = len(open(os.path.join(ROOT, SOURCE[0]), encoding="utf-8").read().splitlines())
    tmp = tempfile.mkdtemp(prefix="cnnsym-bench-")
    try:
        res = time_commands(build_commands(files, tmp, tools), args.repeats, args.timeout, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = evaluate(res, lines)
    if not args.no_foreign:
        rows += foreign_rows(args.quick, log)
    versions = bench_report._versions()
    if args.json:
        json.dump({"versions": versions, "cpus": os.cpu_count(), "repeats": args.repeats, "rows": rows,
                   "times": res}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(rows, versions, args)
        if args.explain:
            explain(log)
    if args.check and any(r["pass"] is False for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
