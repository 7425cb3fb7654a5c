"""Where a cold `cnnsym lint` spends its CPU time, phase by phase, in one process (issue 12):
parsing (ast, read into the frontend's nodes, positions included), module levels (the files' top-level
code and what it imports), building and running the models (construction + forward),
the analysis (api.analyze_loaded) and the rest (rules, input sizes, output).

    python bench/lint_phases.py                 # bench_lint's 50 real files
    python bench/lint_phases.py PATH...         # any files or folders

The collector is off and the run is inside :func:`cnnsym._stack.run_deep`, as in the ``cnnsym`` process. Phases are measured by wrapping the functions that do them (exclusive of one another where
they nest: parse is subtracted from the phase that triggered them).
"""
from __future__ import annotations

import collections
import gc
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

T = collections.Counter()
_stack = []


def _timed(label, fn):
    def wrapper(*a, **k):
        t0 = time.process_time()
        _stack.append(0.0)
        try:
            return fn(*a, **k)
        finally:
            inner = _stack.pop()
            dt = time.process_time() - t0
            T[label] += dt - inner
            if _stack:
                _stack[-1] += dt
    return wrapper


def main(paths):
    # as the `cnnsym` process runs (cnnsym/__main__.py): the collector off. With it on, full
    # collections over the growing heap add about 40% and blur every phase
    gc.disable()
    t0 = time.process_time()
    from cnnsym import api
    from cnnsym.config import load_config
    from cnnsym.frontends.torch import imports, interpreter, scope
    from cnnsym.lint import all_rules, engine, selected

    cfg = load_config(None)
    rules = selected(all_rules(), cfg.select, list(cfg.extend_select), list(cfg.ignore))
    T["start-up (imports, rules)"] = time.process_time() - t0
    scope.parse = _timed("parse (read + ast + convert)", imports.parse)
    interpreter.Interp.exec_module = _timed("module levels", interpreter.Interp.exec_module)
    api.load = _timed("build + forward", api.load)
    api.analyze_loaded = _timed("analysis", api.analyze_loaded)
    engine._model_specs = _timed("listing models (rest)", engine._model_specs)
    t1 = time.process_time()
    from cnnsym._stack import run_deep  # as the `cnnsym` process runs its command (cnnsym/_stack.py)

    res = run_deep(engine.lint_paths, paths, engine.Options(rules, None, cfg, cache=False))
    total = time.process_time() - t1
    T["rules, sizes, output (rest)"] = total - sum(v for k, v in T.items() if not k.startswith("start-up"))
    print(f"cnnsym lint, {res.models} models in {res.files} files: {total + T['start-up (imports, rules)']:.2f} CPU s "
          "in one process")
    for k, v in sorted(T.items(), key=lambda kv: -kv[1]):
        print(f"  {k:30} {v:6.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        import bench_lint

        tv = bench_lint.torchvision_models_dir()
        if tv is None:
            raise SystemExit("torchvision not installed: give paths")
        args = bench_lint.real_files(tv)
    main(args)
