"""``cnnsym report``: the symbolic report of one model."""
from __future__ import annotations

import sys

import click

from ._app import EXIT_INVALID, _console, _run_guarded, _write, analyze_model, main

REPORT_HELP = """Analyse an ONNX MODEL symbolically: every node's output shape as a formula in the
input's symbols, its parameters, MACs and other cost terms, its output's memory and
receptive field; then totals as formulas and evaluated at the bindings.

\b
Examples:
  cnnsym report model.onnx
  cnnsym report model.onnx --bind height=320,width=256 --format json
  cnnsym report model.onnx --input input=1x3xHxW
  cnnsym report model.onnx --input NxCxHxW --bind N=8

\b
Exit status:
  0  the report was produced and the model is valid at the bindings
  1  the report was produced but the model is invalid (errors listed in the
     report) or no size satisfies its constraints (formulas shown, no values)
  2  bad input: unreadable or malformed file, bad --input/--bind, bindings
     outside the model's valid domain (one line on stderr, no traceback)
"""



@main.command("report", help=REPORT_HELP)
@click.argument("model", metavar="MODEL")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS",
              help="Rename, free or fix input dims, e.g. input=1x3xHxW (names free a dim, "
                   "integers fix it); without NAME= it applies to the first input. Repeatable.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...",
              help="Where values are evaluated, e.g. height=320,width=256. Default: static dims, "
                   "else batch 1 and 224 for spatial dims (stated in the output). Repeatable.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown", "csv"]),
              default="table", show_default=True, help="Output format (json: see docs/json.md).")
@click.option("--wide", "-w", is_flag=True, help="Table: add the shape and MACs formulas per node.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS",
              help="Give up (exit 2) when the analysis takes longer than this.")
@click.option("--convention", "-c", default="cnnsym", show_default=True, metavar="NAME",
              help="Also total the costs as another tool counts them: torchvision, fvcore, ptflops, "
                   "ptflops_aten, thop, torchinfo, onnx-tool, calflops (see `cnnsym conventions`).")
@click.option("--symbolic", "symbolic", default="", metavar="NAME,...",
              help="Source models: integer constructor arguments to keep as symbols (params and MACs "
                   "become polynomials in them, evaluated at their defaults).")
def report_cmd(model, inputs, binds, fmt, wide, output, timeout, convention, symbolic):
    from .conventions import apply_convention, check_convention

    _run_guarded(lambda: check_convention(convention), model)
    if _lists_models(model, fmt, output):
        return
    syms = [x.strip() for x in symbolic.split(",") if x.strip()]
    rep = _run_guarded(lambda: apply_convention(analyze_model(model, inputs, binds, timeout, syms)[1], convention),
                       model)

    def emit():
        from .. import render

        if fmt == "json":
            _write(render.render_json(rep), output)
        elif fmt == "markdown":
            _write(render.render_markdown(rep), output)
        elif fmt == "csv":
            _write(render.render_csv(rep), output)
        elif output is not None:
            _write(render.render_table_text(rep, wide), output)
        else:
            render.render_table(rep, _console(None, wide), wide)

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


