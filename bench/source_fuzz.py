"""Long differential-fuzzing campaign of the source frontend against torch: random model
files (``tests/srcfuzz.py``) read statically by cnnsym, executed by torch in the worker.

    python bench/source_fuzz.py --minutes 20              # prints models, sizes, mismatches
    python bench/source_fuzz.py --minutes 1 --seed 7      # reproducible (seeds from 7 upward)
    python bench/source_fuzz.py --minutes 20 --workers 2

Every size counts: torch's own size rules are stated by the source frontend
(``cnnsym/frontends/torch/requires.py``) and compared like any other, nothing is counted
apart. The totals printed at the end: ``never_valid`` models cnnsym finds invalid at every
size (torch refused each size tried), ``empty_excluded`` sizes where torch ran on an empty
tensor and cnnsym excludes the size, ``identity`` eval-mode identity models cnnsym refuses
in one line (torch returned its input).

Seeds run in batches, each batch in a worker process (a crash or a hang costs one batch,
not the campaign). A mismatch is shrunk (``tests/srcfuzz_shrink.py``) to a small file that
fails the same way and saved under ``bench/out/source_fuzz_failures/`` in the format of
``fixtures/torch/regressions/`` (copy it there once the frontend is fixed). Exit status 1
when any mismatch was found.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def run_batch(first, n, args, out):
    """Seeds first..first+n-1 in this process: (stats, saved mismatch paths)."""
    import srcfuzz
    import srcfuzz_shrink

    stats, saved = srcfuzz.Stats(), []
    for seed in range(first, first + n):
        try:
            srcfuzz.run_case(seed, n_sizes=args.sizes, max_blocks=args.max_blocks, stats=stats)
        except srcfuzz.Mismatch as e:
            sizes = [e.sizes] if e.sizes else []
            try:
                case, m = srcfuzz_shrink.shrink(e.case, sizes or srcfuzz.draw_sizes(random.Random(seed), e.case, 6))
            except Exception:  # noqa: BLE001 - keep the unshrunk case
                case, m = e.case, e
            path = out / f"mismatch_seed{seed}.py"
            path.write_text(srcfuzz_shrink.fixture_text(case, m or e))
            saved.append(str(path))
            print(f"MISMATCH seed {seed}: {str(e)[:300]}\n  saved {path}", flush=True)
        except Exception as e:  # noqa: BLE001 - a defect of the fuzzer or of cnnsym: reported, not hidden
            path = out / f"crash_seed{seed}.txt"
            path.write_text(f"{type(e).__name__}: {e}\n")
            saved.append(str(path))
            print(f"CRASH seed {seed}: {type(e).__name__}: {str(e)[:300]}", flush=True)
    return vars(stats), saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=25, help="models per worker run")
    ap.add_argument("--sizes", type=int, default=8, help="sizes tried per model")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    ap.add_argument("--max-blocks", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "source_fuzz_failures"))
    ap.add_argument("--batch-timeout", type=float, default=600)
    ap.add_argument("--one-batch", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.one_batch is not None:  # worker: one batch, its result as the last line
        stats, saved = run_batch(args.one_batch, args.batch, args, out)
        print("@@" + json.dumps({"stats": stats, "mismatches": saved}), flush=True)
        return 0
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(2**30)
    deadline = time.monotonic() + args.minutes * 60
    total, mismatches, lost, t0 = {}, [], [], time.monotonic()
    counter = itertools.count()

    def worker():
        while time.monotonic() < deadline:
            k = next(counter)
            s = first + k * args.batch
            cmd = [sys.executable, __file__, "--one-batch", str(s), "--batch", str(args.batch), "--sizes",
                   str(args.sizes), "--max-blocks", str(args.max_blocks), "--out", str(out)]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.batch_timeout)
                stdout = p.stdout
            except subprocess.TimeoutExpired as e:
                stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            res = None
            for line in stdout.splitlines():
                if line.startswith("@@"):
                    res = json.loads(line[2:])
                elif line.startswith(("MISMATCH", "CRASH", "  saved")):
                    print(line, flush=True)
            if res is None:
                lost.append(s)
                print(f"batch from seed {s}: no result (crashed or timed out)", flush=True)
                continue
            for key, v in res["stats"].items():
                total[key] = total.get(key, 0) + v
            mismatches.extend(res["mismatches"])
            print(f"[{time.monotonic() - t0:6.0f}s] models {total.get('models', 0)}  sizes {total.get('sizes', 0)} "
                  f"(valid {total.get('valid', 0)}, invalid {total.get('invalid', 0)})  modules compared "
                  f"{total.get('modules', 0)}  mismatches {len(mismatches)}", flush=True)

    with ThreadPoolExecutor(args.workers) as ex:
        for _ in range(args.workers):
            ex.submit(worker)
    seeds = next(counter) * args.batch
    print(f"\ncampaign: {(time.monotonic() - t0) / 60:.1f} min, seeds {first}..{first + seeds - 1}, "
          f"{json.dumps(total)}, batches lost {len(lost)}, mismatches {len(mismatches)}")
    for m in mismatches:
        print("  ", m)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
