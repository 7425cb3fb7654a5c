"""``cnnsym report a.onnx b.py::Net c.onnx``: several models analysed in parallel worker
processes and printed as one comparison (:mod:`cnnsym.render.side_by_side`).

Each worker returns the model's Report (a frozen value of sympy expressions: it pickles)
or the one-line error the single-model command would print; the parent prints what it
got, in the order given, and the errors on stderr.
"""
from __future__ import annotations

import os
import sys

import click

from ._app import EXIT_ERROR, EXIT_INVALID, _Fail, _mention, _one_line, _write

FORMATS = ("table", "json", "markdown")


def _analyse(job):
    """In a worker: (Report, None) or (None, one-line error naming the file)."""
    model, inputs, binds, timeout, symbolic, fold_bn, convention = job
    from ..errors import CnnsymError
    from .conventions import apply_convention
    from .lecture import analyze_report

    try:
        return apply_convention(analyze_report(model, inputs, binds, timeout, symbolic, fold_bn), convention), None
    except _Fail as e:
        return None, _mention(model, e.message)
    except CnnsymError as e:
        return None, _mention(model, str(e))
    except RecursionError:
        return None, _mention(model, "the graph is too deeply nested to analyse (recursion limit)")
    except MemoryError:
        return None, _mention(model, "out of memory while analysing")
    except Exception as e:  # noqa: BLE001 - one line per model, as the CLI prints for one
        msg = _one_line(f"{type(e).__name__}: {e}")[:300]
        return None, _mention(model, f"internal error ({msg}); rerun with CNNSYM_DEBUG=1 for a traceback")


def workers(n: int) -> int:
    """Worker processes for ``n`` models: one per model, at most one per CPU."""
    return max(1, min(n, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def analyse_all(models, inputs, binds, timeout, symbolic, fold_bn, convention) -> list:
    """[(model, Report or None, error or None)] in the order given, analysed in parallel."""
    jobs = [(m, tuple(inputs), tuple(binds), timeout, tuple(symbolic), fold_bn, convention) for m in models]
    n = workers(len(jobs))
    if n == 1 or os.environ.get("CNNSYM_DEBUG") == "1":
        results = [_analyse(j) for j in jobs]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(_analyse, jobs))
    return [(m, rep, err) for m, (rep, err) in zip(models, results)]


def report_many(models, inputs, binds, fmt, width, output, timeout, convention, symbolic, fold_bn):
    """The whole multi-model command: analyse, print, exit (2 when a model could not be
    read, 1 when one is invalid at its bindings)."""
    from ..render.side_by_side import models_json, models_markdown, models_text

    if fmt not in FORMATS:
        raise click.UsageError(f"--format {fmt}: several models are compared as {', '.join(FORMATS)} only")
    for m in models:
        if m.endswith(".py") and "::" not in m:
            raise click.UsageError(f"{m}: pick one model with {m}::NAME (`cnnsym report {m}` lists them)")
    done = analyse_all(models, inputs, binds, timeout, symbolic, fold_bn, convention)
    reports = [r for _, r, _ in done if r is not None]
    labels = [m for m, r, _ in done if r is not None]  # as typed: net.py::Net, not net.py
    failed = [(m, e) for m, _, e in done if e is not None]
    for _, e in failed:
        click.echo(f"cnnsym: error: {e}", err=True)
    if reports:
        if fmt == "json":
            text = models_json(reports, failed, labels)
        elif fmt == "markdown":
            text = models_markdown(reports, labels)
        else:
            from .conventions import text_width

            text = models_text(reports, width or (text_width() if output is None else 80), labels)
        try:
            _write(text, output)
        except _Fail as e:
            click.echo(f"cnnsym: error: {e.message}", err=True)
            sys.exit(EXIT_ERROR)
    if failed:
        sys.exit(EXIT_ERROR)
    if any(r.errors or r.bindings is None for r in reports):
        sys.exit(EXIT_INVALID)
