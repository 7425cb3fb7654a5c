"""Differential check of a source-frontend change (issue 12's libcst -> ast port): dump, for
every model of every file given, what the frontend built (each graph node's op, names,
attributes, source locations, the graph's warnings and what it did not follow, or the
one-line error) and, with --lint, cnnsym lint's findings (rule, message, line:col) as JSON
lines, one per file. Run it once per tree and compare the two outputs:

    PYTHONPATH=/tmp/oldtree  python bench/ab_syntax_port.py FILES... > old.jsonl
    PYTHONPATH=/tmp/newport  python bench/ab_syntax_port.py FILES... > new.jsonl
    python bench/ab_syntax_port.py --compare old.jsonl new.jsonl

(PYTHONPATH decides which cnnsym is imported: the first line of stderr names it.) The
same files must be read by both runs (absolute paths: positions and messages name them).
Between two trees that differ only in the frontend, equal graphs mean equal reports."""
from __future__ import annotations

import json
import os
import signal
import sys


def _loc(x):
    return None if x is None else [x.line, x.col] + ([os.path.basename(x.path)] if x.path else [])


def _graph(spec):
    from cnnsym import api

    g = api.load(spec)
    nodes = [[n.op_type, n.name, list(n.inputs), list(n.outputs), repr(sorted(n.attrs.items())), n.module,
              _loc(n.loc), _loc(n.call_loc), [_loc(x) for x in n.loc_chain or ()],
              {k: _loc(v) for k, v in sorted((n.arg_locs or {}).items())}] for n in g.nodes]
    return {"inputs": [repr(i) for i in g.inputs], "outputs": [repr(o) for o in g.outputs], "nodes": nodes,
            "initializers": sorted(g.initializers), "warnings": [repr(w) for w in g.warnings],
            "not_followed": repr(g.not_followed), "free_symbols": repr(g.free_symbols),
            "symbol_defaults": repr(g.symbol_defaults)}


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout()


def dump(paths, lint=False, limit=120, most=25):
    import cnnsym
    from cnnsym.errors import CnnsymError
    from cnnsym.frontends.torch import list_models

    print(cnnsym.__file__, file=sys.stderr)
    signal.signal(signal.SIGALRM, _alarm)
    for path in paths:
        rec = {"file": path}
        try:
            models = list_models(path)
            rec["models"] = models
        except CnnsymError as e:
            rec["models_error"] = str(e)
            models = []
        graphs = {}
        if len(models) > most:  # timm's files have hundreds of factories: an even sample
            models = [models[i * len(models) // most] for i in range(most)]
        for m in models:
            signal.alarm(limit)
            try:
                graphs[m] = _graph(f"{path}::{m}")
            except _Timeout:
                graphs[m] = "TIMEOUT"
            except CnnsymError as e:
                graphs[m] = "error: " + str(e)
            except Exception as e:  # noqa: BLE001 - an internal error is a result to compare too
                graphs[m] = f"internal: {type(e).__name__}: {e}"
            finally:
                signal.alarm(0)
        rec["graphs"] = graphs
        if lint:
            signal.alarm(limit * 4)
            try:
                res = cnnsym.lint(path, cache=False, jobs=1)
                rec["lint"] = {"findings": [f.to_dict() for f in res.findings], "errors": list(res.errors),
                               "models": res.models}
            except _Timeout:
                rec["lint"] = "TIMEOUT"
            finally:
                signal.alarm(0)
        print(json.dumps(rec, sort_keys=True, default=repr), flush=True)


def paired(a, b):
    """(path, old record, new record) for each file in both dumps (JSON lines keyed by
    "file"); a file in one dump only is printed and skipped. Shared with ab_session.py."""
    def load(p):
        with open(p) as f:
            return {r["file"]: r for r in map(json.loads, f)}

    old, new = load(a), load(b)
    for path in sorted(set(old) | set(new)):
        o, n = old.get(path), new.get(path)
        if o is None or n is None:
            print(f"{path}: only in {'new' if o is None else 'old'}")
            continue
        yield path, o, n


def compare(a, b):
    files = models = same = 0
    for path, o, n in paired(a, b):
        files += 1
        if o.get("models") != n.get("models") or o.get("models_error") != n.get("models_error"):
            print(f"{path}: models differ: {o.get('models') or o.get('models_error')} | "
                  f"{n.get('models') or n.get('models_error')}")
        for m in sorted(set(o["graphs"]) | set(n["graphs"])):
            models += 1
            go, gn = o["graphs"].get(m), n["graphs"].get(m)
            if go == gn:
                same += 1
                continue
            print(f"{path}::{m}: graph differs")
            if isinstance(go, dict) and isinstance(gn, dict):
                for k in go:
                    if go[k] != gn.get(k):
                        if k == "nodes":
                            for i, (x, y) in enumerate(zip(go[k], gn[k])):
                                if x != y:
                                    print(f"   node {i}: {x}\n        -> {y}")
                                    break
                            if len(go[k]) != len(gn[k]):
                                print(f"   {len(go[k])} nodes -> {len(gn[k])}")
                        else:
                            print(f"   {k}: {str(go[k])[:400]}\n     -> {str(gn.get(k))[:400]}")
            else:
                print(f"   {str(go)[:400]}\n   -> {str(gn)[:400]}")
        if "lint" in o and o.get("lint") != n.get("lint"):
            lo, ln = o["lint"], n.get("lint")
            print(f"{path}: lint differs")
            if isinstance(lo, dict) and isinstance(ln, dict):
                so = {json.dumps(x, sort_keys=True) for x in lo["findings"]}
                sn = {json.dumps(x, sort_keys=True) for x in ln["findings"]}
                for x in sorted(so - sn)[:5]:
                    print("   - " + x[:400])
                for x in sorted(sn - so)[:5]:
                    print("   + " + x[:400])
                if lo["errors"] != ln["errors"] or lo["models"] != ln["models"]:
                    print(f"   errors/models: {lo['errors']} {lo['models']} | {ln['errors']} {ln['models']}")
    print(f"{files} files, {models} models, {same} identical graphs, {models - same} differ")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--compare"]:
        compare(args[1], args[2])
    else:
        lint = "--lint" in args
        dump([os.path.abspath(p) for p in args if p != "--lint"], lint=lint)
