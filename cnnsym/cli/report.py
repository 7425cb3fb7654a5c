"""``cnnsym report``: the symbolic report of one model."""
from __future__ import annotations

import os
import sys

import click

from ._app import (EXIT_INVALID, RegistryHelp, _console, _Fail, _run_guarded, _write, analyze_model,
                   conventions_help, formats_help, main)
from .lecture import analyze_report, fold_bn_option

REPORT_HELP = """Analyse an ONNX MODEL symbolically: every node's output shape as a formula in the
input's symbols, its parameters, MACs and other cost terms, its output's memory and
receptive field; then totals as formulas and evaluated at the bindings.

\b
Examples:
  cnnsym report model.onnx
  cnnsym report model.onnx --bind height=320,width=256 --format json
  cnnsym report model.onnx --input input=1x3xHxW
  cnnsym report model.onnx --input NxCxHxW --bind N=8
  cnnsym report model.onnx --format html -o report.html   # opens offline
  cnnsym report a.onnx b.py::Net c.onnx   # side by side, analysed in parallel

\b
Exit status:
  0  the report was produced and the model is valid at the bindings
  1  the report was produced but the model is invalid (errors listed in the
     report) or no size satisfies its constraints (formulas shown, no values)
  2  bad input: unreadable or malformed file, bad --input/--bind, bindings
     outside the model's valid domain (one line on stderr, no traceback)
"""



@main.command("report", help=REPORT_HELP)
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS",
              help="Rename, free or fix input dims, e.g. input=1x3xHxW (names free a dim, "
                   "integers fix it); without NAME= it applies to the first input. Repeatable.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...",
              help="Where values are evaluated, e.g. height=320,width=256. Default: static dims, "
                   "else batch 1 and 224 for spatial dims (stated in the output). Repeatable.")
@click.option("--format", "-f", "fmt", default="table", show_default=True, metavar="FORMAT", cls=RegistryHelp,
              help_fn=formats_help)
@click.option("--wide", "-w", is_flag=True, help="Table: add the shape and MACs formulas per node.")
@click.option("--all-nodes", "all_nodes", is_flag=True,
              help="Table: list small constants and shape-arithmetic nodes too (folded by default).")
@click.option("--nodes", "nodes_view", is_flag=True,
              help="Table/Markdown: one row per graph node (the flat view) instead of the module tree.")
@click.option("--depth", type=click.IntRange(1), default=None, metavar="N",
              help="Module view: list modules down to depth N (default 2: a ResNet's layers and blocks); "
                   "deeper ones are summed into their row.")
@click.option("--sort", "sort_by", type=click.Choice(["macs"]), default=None,
              help="Table: biggest first (hot spots); with --top K only the first K rows.")
@click.option("--top", type=click.IntRange(1), default=None, metavar="K", help="The K rows with the most MACs (implies --sort macs).")
@click.option("--width", type=click.IntRange(40), default=None, metavar="COLUMNS",
              help="Table width (default: the terminal's; when piped, $COLUMNS, else 80).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS",
              help="Give up (exit 2) when the analysis takes longer than this.")
@click.option("--convention", "-c", default="cnnsym", show_default=True, metavar="NAME", cls=RegistryHelp,
              help_fn=conventions_help)
@click.option("--symbolic", "symbolic", default="", metavar="NAME,...",
              help="Source models: integer constructor arguments to keep as symbols (params and MACs "
                   "become polynomials in them, evaluated at their defaults).")
@fold_bn_option
def report_cmd(models, inputs, binds, fmt, wide, all_nodes, width, output, timeout, convention, symbolic, fold_bn=False,
               nodes_view=False, depth=None, sort_by=None, top=None):
    from .conventions import apply_convention, check_convention

    model = models[0]
    _run_guarded(lambda: check_convention(convention), model)
    if len(models) > 1:  # one comparison, analysed in parallel worker processes
        from .report_many import report_many

        return report_many(models, inputs, binds, fmt, width, output, timeout, convention,
                           [x.strip() for x in symbolic.split(",") if x.strip()], fold_bn)
    form = _run_guarded(lambda: _format(fmt), model)
    if _lists_models(model, fmt, output):
        return
    syms = [x.strip() for x in symbolic.split(",") if x.strip()]
    rep = _run_guarded(lambda: apply_convention(analyze_report(model, inputs, binds, timeout, syms, fold_bn), convention),
                       model)

    def emit():
        from ..render import RenderOptions

        tty = output is None and sys.stdout.isatty()
        opts = RenderOptions(wide=wide, width=width or (None if tty else _piped_width(wide)), show_all_nodes=all_nodes,
                             view="nodes" if nodes_view else None, depth=depth, sort=sort_by or ("macs" if top else None),
                             top=top)
        if tty and form.console is not None:
            console = _console(None, wide)
            if width:
                console.width = width
            form.console(rep, console, opts)
        else:
            _write(form.render(rep, opts), output)

    _run_guarded(emit, model)
    if rep.errors or rep.bindings is None:
        sys.exit(EXIT_INVALID)


def _lists_models(model, fmt, output) -> bool:
    """``cnnsym report net.py`` (no ``::Name``): list every nn.Module and factory in it."""
    if "::" in model or not model.endswith(".py"):
        return False

    def run():
        from ..frontends.torch import list_models

        return list_models(model)

    names = _run_guarded(run, model)
    if fmt == "json":
        import json
        _write(json.dumps({"model": model, "models": list(names)}, indent=1) + "\n", output)
    else:
        lines = [f"{model}: {len(names)} model(s); pick one with {model}::NAME (or ::NAME(args))"]
        lines += [f"  {model}::{n}" for n in names]
        _write("\n".join(lines) + "\n", output)
    return True


def _format(name):
    from .. import render

    form = render.report_format(name)  # the default format imports no other format's module
    if form is None:
        raise _Fail(f"--format: {name!r} is not a report format (formats: {', '.join(render.FORMATS)})")
    return form


def _piped_width(wide: bool) -> int:
    """Piped or written to a file: $COLUMNS when set, else 80 (160 with --wide)."""
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) >= 40 else (160 if wide else 80)
