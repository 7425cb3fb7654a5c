"""``cnnsym check``: budgets for CI, at a binding, over a range of sizes (proved), and
against a baseline report."""
from __future__ import annotations

import sys

import click

from ..config import BUDGETS

from ._app import EXIT_INVALID, EXIT_OK, _run_guarded, _time_limit, _write, main
from .lecture import analyze_report, fold_bn_option
from .conventions import text_width

CHECK_HELP = """Check MODEL(s) against budgets: parameters, MACs, FLOPs, activation and peak
activation bytes, in total and per layer; at a binding, or over a range of input sizes
(the worst case is proved: by monotonicity of the formula, else by exact evaluation at
every size in the range); and against a baseline report.

\b
Examples:
  cnnsym check model.onnx --max-params 25M --max-macs 4.1G --bind height=224,width=224
  cnnsym check models/net.py::Net --max-activation-bytes 64MiB --for-all "H,W in 32..1024"
  cnnsym report model.onnx -f json -o base.json   # on the main branch, then:
  cnnsym check model.onnx --baseline base.json --max-growth 2%
  cnnsym check model.onnx --baseline base.json -f markdown > comment.md

\b
Budgets also come from [tool.cnnsym.budgets] and [tool.cnnsym.models."PATTERN"] in
pyproject.toml; flags override them. Amounts: 25M, 4.1G, 1e9, 64MiB, 512KB.

\b
A model cnnsym cannot follow completely has totals that are lower bounds (shown >=): over
a budget it fails; within a budget it is not proven and fails too, unless
--allow-incomplete.

\b
Exit status: 0 within budget, 1 over budget, not proven on an incomplete model, or grown
past --max-growth, 2 bad input.
"""

BUDGET_OPTS = [(k, b.help) for k, b in BUDGETS.items()]  # the one registry of budgets


def _budget_options(f):
    for name, help_ in reversed(BUDGET_OPTS):
        f = click.option(f"--{name}", name.replace("-", "_"), default=None, metavar="AMOUNT", help=help_)(f)
    return f


@main.command("check", help=CHECK_HELP)
@click.argument("models", nargs=-1, metavar="MODEL...")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS", help="As for report.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...", help="Where budgets are evaluated.")
@click.option("--for-all", "for_all", default=None, metavar="'SYMS in LO..HI'",
              help="Check the worst case over a range, e.g. 'H,W in 32..1024' (each symbol independently).")
@click.option("--allow-invalid-sizes", "allow_invalid_sizes", is_flag=True, default=None,
              help="With --for-all: accept a range where most sizes are invalid for the model (only noted; by "
                   "default such a range fails, exit 1). Config: allow-invalid-sizes in [tool.cnnsym.budgets].")
@click.option("--allow-incomplete", "allow_incomplete", is_flag=True, default=None,
              help="Accept a model whose report is incomplete (source not followed, ops not counted) when its "
                   "totals, lower bounds then, stay within the budgets. By default a lower bound within a budget "
                   "proves nothing and fails (exit 1); one over a budget always fails. Config: allow-incomplete "
                   "in [tool.cnnsym.budgets].")
@_budget_options
@click.option("--baseline", type=click.Path(dir_okay=False), default=None, metavar="REPORT.json",
              help="Compare with a `cnnsym report -f json` of the previous version; print per-layer diffs.")
@click.option("--max-growth", default=None, metavar="PCT", help="With --baseline: fail when a total grows by more "
                                                               "than this (default 0%%).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text (wrapped at the terminal's width, else $COLUMNS, else 80), json, or "
                                      "markdown (a budget table and a baseline diff to post on a pull request).")
@click.option("--config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="pyproject.toml to read [tool.cnnsym] from (default: the nearest one).")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS")
@fold_bn_option
def check_cmd(models, inputs, binds, for_all, allow_invalid_sizes, allow_incomplete, baseline, max_growth, fmt,
              config, timeout, fold_bn=False, **amounts):
    if not models:
        raise click.UsageError("give at least one MODEL")

    def run():
        from ..checks import check_model

        # --fold-bn: the folded Reports are checked (made from --input/--bind; a model's
        # [tool.cnnsym.models] input and bind are not applied to them)
        items = [analyze_report(m, inputs, binds, timeout, fold_bn=True) for m in models] if fold_bn else list(models)
        with _time_limit(timeout):
            return check_model(items, input=inputs, bind=binds, for_all=for_all, baseline=baseline,
                               max_growth=max_growth, config=config,
                               allow_invalid_sizes=allow_invalid_sizes, allow_incomplete=allow_incomplete,
                               **amounts)

    result = _run_guarded(run)
    _run_guarded(lambda: _write(result.to_json() if fmt == "json" else result.to_markdown() if fmt == "markdown"
                                else result.to_text(width=text_width()), None))
    sys.exit(EXIT_OK if result.ok else EXIT_INVALID)
