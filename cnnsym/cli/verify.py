"""``cnnsym verify``: prove a report's numbers on onnxruntime."""
from __future__ import annotations

import sys

import click

from ._app import _run_guarded, _write, analyze_model, main

VERIFY_HELP = """Prove a report's numbers by executing MODEL on onnxruntime.

At the report's bindings, each --sizes entry and --random valid random sizes (odd and prime
sizes included), every node output's shape is compared with its formula; the parameter
total with a plain count of the file's initializers; and receptive fields with ones
measured on a linearised copy of the graph (see docs/verify.md).

\b
Examples:
  cnnsym verify model.onnx
  cnnsym verify model.onnx --sizes 224x224,193x161 --random 20 --seed 7
  cnnsym verify model.onnx --device cuda --format json

\b
Exit status: 0 every check holds, 1 a check failed, 2 bad input (one line on stderr).
"""


@main.command("verify", help=VERIFY_HELP)
@click.argument("model", metavar="MODEL")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS", help="As for report.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...", help="As for report.")
@click.option("--sizes", default="", metavar="HxW,...", help="Spatial sizes to check, e.g. 224x224,193x161.")
@click.option("--random", "random_k", type=click.IntRange(0), default=5, show_default=True,
              help="How many random valid bindings to check besides the others.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sizes, inputs and random weights.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="onnxruntime execution provider.")
@click.option("--no-rf", is_flag=True, help="Skip the receptive-field measurement.")
@click.option("--rf-budget", type=click.FloatRange(0), default=60.0, show_default=True, metavar="SECONDS",
              help="Stop measuring receptive fields after this long (said in the output).")
@click.option("--max-bytes", type=click.IntRange(1), default=8 * 2**30, show_default=True,
              help="Refuse bindings whose activations exceed this many bytes.")
@click.option("--all", "show_all", is_flag=True, help="Table: list passing checks too (default: failures only).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS",
              help="Bound on the symbolic analysis time.")
def verify_cmd(model, inputs, binds, sizes, random_k, seed, device, no_rf, rf_budget, max_bytes, show_all, fmt, timeout):
    def run():
        from ..verify import parse_sizes, verify_analysed

        size_list = parse_sizes(sizes)
        graph, rep = analyze_model(model, inputs, binds, timeout)
        with _progress() as tick:
            return verify_analysed(model, graph, rep, sizes=size_list, random_k=random_k, seed=seed, device=device,
                                   rf=not no_rf, progress=tick, max_bytes=max_bytes, rf_budget=rf_budget)

    res = _run_guarded(run, model)

    def emit():
        from .. import render

        if fmt == "json":
            _write(render.render_verify_json(res), None)
        else:
            from .conventions import text_width

            _write(render.render_verify_table(res, show_all, text_width()), None)

    _run_guarded(emit, model)
    for line in getattr(res, "errors", ()):  # onnxruntime crashed: one line each, the rest was still checked
        click.echo(f"cnnsym: error: {model}: {' '.join(str(line).split())}", err=True)
    sys.exit(res.exit_code)


class _progress:
    """A progress bar on stderr with the real count of onnxruntime runs (terminals only)."""

    def __enter__(self):
        self.bar = None
        if not sys.stderr.isatty():
            return None
        from rich.progress import Progress

        self.bar = Progress(transient=True, console=None)
        self.bar.start()
        self.task = self.bar.add_task("running onnxruntime", total=None)

        def tick(done=None, total=None, what=None):
            if done is None:
                self.bar.advance(self.task)
            else:
                self.bar.update(self.task, completed=done, total=total, description=what or "running onnxruntime")

        return tick

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
