"""Long differential-fuzzing campaign: cnnsym's shapes and valid domain against onnxruntime
on random CNN graphs (the generator and the property are ``tests/fuzzgen.py``).

    python bench/fuzz.py --minutes 20            # prints graphs, sizes, mismatches
    python bench/fuzz.py --minutes 1 --seed 7    # reproducible batches (seed per batch)

Each batch is a hypothesis run of ``--batch`` graphs; a failing batch is shrunk by
hypothesis to a minimal graph, which is printed as ONNX text and saved under
``bench/out/fuzz_failures/`` (with the failing sizes in a ``# sizes:`` comment line, the
format of ``fixtures/regressions/``). Exit status 1 when any mismatch was found.

Each batch runs in a child process: onnxruntime 1.32 can abort the process (a C++
assertion, ``std::clamp`` with hi < lo, while loading some graphs with an empty static
axis); such a batch is counted as "onnxruntime aborted", not as a cnnsym mismatch, and the
campaign goes on.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed as hseed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzzgen  # noqa: E402


def _flatten(exc):
    subs = getattr(exc, "exceptions", None)
    if subs:
        for e in subs:
            yield from _flatten(e)
    else:
        yield exc


def run_batch(s, args, out):
    """One hypothesis run with seed ``s`` (in this process); returns (stats, mismatch paths)."""
    mismatches = []

    @hseed(s)
    @settings(max_examples=args.batch, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def prop(data):
        case = data.draw(fuzzgen.graphs(max_blocks=args.max_blocks), label="graph")
        fuzzgen.check_case(data, case, n_sizes=10)

    try:
        prop()
    except Exception as exc:  # noqa: BLE001 - the shrunk failure(s) of this batch
        for k, e in enumerate(_flatten(exc), start=1):
            model = getattr(e, "model", None)
            dims = getattr(e, "dims", None)
            text = f"# {str(e).splitlines()[0][:300]}\n"
            if dims:
                text += "# sizes: " + ",".join(f"{a}={v}" for a, v in dims.items()) + "\n"
            text += fuzzgen.minimal_text(model) if model is not None else f"# {type(e).__name__}: {e}\n"
            path = out / f"mismatch_seed{s}_{k}.onnxtxt"
            path.write_text(text)
            mismatches.append(str(path))
            print(f"\nMISMATCH (batch seed {s}): {str(e)[:400]}\n{text}\nsaved {path}", flush=True)
    return vars(fuzzgen.STATS), mismatches


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=200, help="graphs per hypothesis run")
    ap.add_argument("--seed", type=int, default=None, help="first batch seed (default: random)")
    ap.add_argument("--max-blocks", type=int, default=6)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "fuzz_failures"))
    ap.add_argument("--batch-timeout", type=float, default=300, help="seconds before a batch is abandoned")
    ap.add_argument("--one-batch", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.one_batch is not None:  # child: one batch, stats as the last line
        stats, mism = run_batch(args.one_batch, args, out)
        print("@@" + json.dumps({"stats": stats, "mismatches": mism}), flush=True)
        return 0
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    deadline = time.monotonic() + args.minutes * 60
    total = {k: 0 for k in vars(fuzzgen.Stats())}
    mismatches, aborted, batches, t0 = [], [], 0, time.monotonic()
    while time.monotonic() < deadline:
        s = first + batches
        batches += 1
        cmd = [sys.executable, __file__, "--one-batch", str(s), "--batch", str(args.batch),
               "--max-blocks", str(args.max_blocks), "--out", str(out)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.batch_timeout)
        except subprocess.TimeoutExpired as e:
            p = subprocess.CompletedProcess(cmd, -9, (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""),
                                            f"batch timed out after {args.batch_timeout} s")
        res = None
        for line in p.stdout.splitlines():
            if line.startswith("@@"):
                res = json.loads(line[2:])
            elif line.strip():
                print(line, flush=True)
        if res is None:
            aborted.append(s)
            tail = (p.stderr or "").strip().splitlines()[-1:] or ["?"]
            print(f"batch seed {s}: no result (onnxruntime aborted, or timed out; rc {p.returncode}): {tail[0][:200]}", flush=True)
            continue
        for k, v in res["stats"].items():
            total[k] += v
        mismatches += res["mismatches"]
        print(f"[{time.monotonic() - t0:7.0f}s] batches {batches}  graphs {total['graphs']}  sizes {total['sizes']}  "
              f"(valid {total['valid']}, invalid {total['invalid']}, pool quirk {total['quirk']})  "
              f"mismatches {len(mismatches)}", flush=True)
    print(f"\ncampaign: {args.minutes:g} min, batch seeds {first}..{first + batches - 1} ({args.batch} graphs each), "
          f"graphs tried {total['graphs']}, sizes tried {total['sizes']} (cnnsym valid {total['valid']}, "
          f"invalid {total['invalid']}; floor-mode pool quirk {total['quirk']}; skipped as too large {total['skipped']}; "
          f"graphs onnxruntime refused to load {total['ort_refused_graph']}), "
          f"batches aborted or timed out {len(aborted)}{' ' + str(aborted) if aborted else ''}, "
          f"mismatches {len(mismatches)}")
    for m in mismatches:
        print("  ", m)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
