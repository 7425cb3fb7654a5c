"""Differential check of speed changes that must not change any result: dump, in ONE process
(so per-process memos are exercised across models and API calls, as lint and a long-lived
caller use them), for every model of every file given, the analysed report in its documented
JSON form (totals, every tensor's shape and receptive field, every node's params and MACs,
constraints, valid ranges, warnings, completeness) and, with --lint, the exact text of
``cnnsym lint --no-cache --format json`` for the file (what as_json prints for cnnsym.lint(path,
cache=False, jobs=1)). Run it once per tree and compare:

    git archive BASE cnnsym | tar -x -C /tmp/ab_base      # likewise HEAD into /tmp/ab_head
    cd /tmp && PYTHONPATH=/tmp/ab_base python /work/main/bench/ab_session.py --lint ITEMS... > base.jsonl
    cd /tmp && PYTHONPATH=/tmp/ab_head python /work/main/bench/ab_session.py --lint ITEMS... > head.jsonl
    python /work/main/bench/ab_session.py --compare base.jsonl head.jsonl

(--reverse runs the items in reverse order: a memo whose key omits something shows up as a
difference that depends on what ran before.) ITEMS: model files (.onnx, .onnxtxt, .py; a .py
has its models listed and up to --most of them analysed, an even sample; ``file.py::name`` one
named model, e.g. a timm factory, without lint), ``public`` (the
files and calls of bench/public_models.py's MANIFEST, each at its input and sizes), and
folders of fuzz cases ``case_N.py`` + ``case_N.json`` ({"input": spec, "sizes": [bindings]},
written by ``--make-fuzz DIR FIRST N``: seeds FIRST.. of tests/srcfuzz.py, needs torch), each
analysed symbolically and at each of its sizes. PYTHONPATH
decides which cnnsym is imported: stderr's first line names it. Run from a directory without
a cnnsym folder (/tmp), or the working tree shadows PYTHONPATH's package.
"""
from __future__ import annotations

import glob
import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout()


def _guarded(fn, limit):
    from cnnsym.errors import CnnsymError

    signal.alarm(limit)
    try:
        return fn()
    except _Timeout:
        return "TIMEOUT"
    except CnnsymError as e:
        return "error: " + str(e)
    except Exception as e:  # noqa: BLE001 - an internal error is a result to compare too
        return f"internal: {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)


def _report(spec, **kw):
    import cnnsym
    from cnnsym.render.json import to_json_dict

    return to_json_dict(cnnsym.analyze(spec, **kw))


def _lint(path):
    import cnnsym
    from cnnsym.lint import output

    return output.as_json(cnnsym.lint(path, cache=False, jobs=1))


def _items(args):
    """(file, [(label, spec, kwargs)], lint?) per item."""
    for a in args:
        if a == "public":
            sys.path.insert(0, HERE)
            import public_models as pm

            for name, (_, inp, calls) in pm.MANIFEST.items():
                path = os.path.join(pm.DIR, name)
                if not os.path.exists(path):
                    continue
                jobs = []
                for call in calls:
                    spec = f"{path}::{call}"
                    jobs.append((call, spec, {"input": inp["input"]}))
                    for s in inp.get("sizes", ()):
                        b = {k: s for k in ("H", "W") if k in inp["input"]}
                        jobs.append((f"{call}@{s}", spec, {"input": inp["input"], "bind": b}))
                yield path, jobs, True
        elif os.path.isdir(a):
            for j in sorted(glob.glob(os.path.join(a, "case_*.json"))):
                meta = json.load(open(j))
                path = j[:-5] + ".py"
                jobs = [("Net", f"{path}::Net", {"input": meta["input"]})]
                for b in meta.get("sizes", ()):
                    jobs.append((f"Net@{b}", f"{path}::Net", {"input": meta["input"], "bind": b}))
                yield path, jobs, False
        elif "::" in a:  # one named model (e.g. a timm factory: file::resnet50), no lint
            yield a, [(a.split("::", 1)[1], a, {})], False
        elif a.endswith(".py"):
            yield a, None, True
        else:
            yield a, [("", a, {})], True


def dump(args, lint=False, limit=120, most=25, reverse=False):
    import cnnsym
    from cnnsym.frontends.torch import list_models

    print(cnnsym.__file__, file=sys.stderr)
    signal.signal(signal.SIGALRM, _alarm)
    items = list(_items(args))
    if reverse:
        items.reverse()
    for path, jobs, do_lint in items:
        rec = {"file": path}
        if jobs is None:  # a model file: its listing, then each model (the listing hands over)
            models = _guarded(lambda: list_models(path), limit)
            rec["models"] = models
            models = models if isinstance(models, list) else []
            if len(models) > most:  # timm's files have hundreds of factories: an even sample
                models = [models[i * len(models) // most] for i in range(most)]
            jobs = [(m, f"{path}::{m}", {}) for m in models]
        rec["reports"] = {label: _guarded(lambda: _report(spec, **kw), limit) for label, spec, kw in jobs}
        if lint and do_lint:
            rec["lint"] = _guarded(lambda: _lint(path), limit * 4)
        print(json.dumps(rec, sort_keys=True, default=repr), flush=True)


def make_fuzz(folder, first, n):
    """Write the buildable source-fuzz cases of seeds first..first+n-1 (tests/srcfuzz.py, as
    tests/test_source_fuzz.py draws them) as case_SEED.py + case_SEED.json."""
    import random

    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    import srcfuzz

    os.makedirs(folder, exist_ok=True)
    made = 0
    for seed in range(first, first + n):
        case = srcfuzz.finish(srcfuzz.draw_case(seed, 5))
        if case is None:
            continue
        sizes = srcfuzz.draw_sizes(random.Random(seed * 7919 + 1), case, 3)
        with open(os.path.join(folder, f"case_{seed}.py"), "w") as f:
            f.write(srcfuzz.source(case))
        with open(os.path.join(folder, f"case_{seed}.json"), "w") as f:
            json.dump({"input": srcfuzz.input_spec(case), "sizes": sizes, "case": repr(case)}, f)
        made += 1
    print(f"{made} cases in {folder}")


def _first_diff(a, b, where=""):
    if type(a) is not type(b):
        return f"{where}: {str(a)[:300]} -> {str(b)[:300]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                return _first_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{where}.{k}")
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_diff(x, y, f"{where}[{i}]")
        if len(a) != len(b):
            return f"{where}: {len(a)} items -> {len(b)}"
    return f"{where}: {str(a)[:300]} -> {str(b)[:300]}"


def compare(a, b):
    from ab_syntax_port import paired  # the same pairing of two dumps' records

    files = reports = same = lints = lint_same = 0
    for path, o, n in paired(a, b):
        files += 1
        if o.get("models") != n.get("models"):
            print(f"{path}: models differ: {o.get('models')} | {n.get('models')}")
        for m in sorted(set(o["reports"]) | set(n["reports"])):
            reports += 1
            ro, rn = o["reports"].get(m), n["reports"].get(m)
            if ro == rn:
                same += 1
            else:
                print(f"{path}::{m}: report differs {_first_diff(ro, rn)}")
        if "lint" in o or "lint" in n:
            lints += 1
            if o.get("lint") == n.get("lint"):
                lint_same += 1
            else:
                lo, ln = o.get("lint"), n.get("lint")
                try:
                    lo, ln = json.loads(lo), json.loads(ln)
                except (TypeError, ValueError):
                    pass
                print(f"{path}: lint differs {_first_diff(lo, ln)}")
    print(f"{files} files, {reports} reports ({same} identical, {reports - same} differ), "
          f"{lints} lint runs ({lint_same} identical, {lints - lint_same} differ)")
    return reports - same + lints - lint_same


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["--compare"]:
        sys.exit(1 if compare(argv[1], argv[2]) else 0)
    if argv[:1] == ["--make-fuzz"]:
        sys.exit(make_fuzz(argv[1], int(argv[2]), int(argv[3])))
    flags = {x for x in argv if x.startswith("--")}
    most = next((int(x.split("=")[1]) for x in flags if x.startswith("--most=")), 25)
    rest = [x if x == "public" or "::" in x else os.path.abspath(x) for x in argv if not x.startswith("--")]
    dump(rest, lint="--lint" in flags, most=most, reverse="--reverse" in flags)
