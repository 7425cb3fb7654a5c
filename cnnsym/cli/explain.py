"""``cnnsym explain``: one layer's numbers derived step by step."""
from __future__ import annotations

import click

from ._app import _run_guarded, _write, main
from .lecture import analyze_report, fold_bn_option

EXPLAIN_HELP = """Derive one LAYER's numbers step by step, in words and symbols and then with the
values substituted: parameters, output extent per spatial axis, output values and bytes,
MACs per output and in total, FLOPs under a convention, and the receptive field composed
from the layer's input field.

LAYER is a node name or module path (layer1.0.conv1 or /layer1/layer1.0/conv1/Conv); a
unique suffix or prefix of one is enough.

\b
Examples:
  cnnsym explain fixtures/torch/lecture.py::LectureConv conv --input 1x8x32x32
  cnnsym explain model.onnx layer1.0.conv1 --bind H=320,W=256 --format json

\b
Exit status:
  0  the layer was explained
  2  bad input: unreadable model, bad --input/--bind, no such layer (one line on stderr)
"""


@main.command("explain", help=EXPLAIN_HELP)
@click.argument("model", metavar="MODEL")
@click.argument("layer", metavar="LAYER")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS",
              help="Rename, free or fix input dims, as for `cnnsym report`. Repeatable.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...",
              help="Where values are evaluated, as for `cnnsym report`. Repeatable.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--convention", "-c", default="cnnsym", show_default=True, metavar="NAME",
              help="Count the layer's FLOPs as another tool does (see `cnnsym conventions`).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS",
              help="Give up (exit 2) when the analysis takes longer than this.")
@fold_bn_option
def explain_cmd(model, layer, inputs, binds, fmt, convention, output, timeout, fold_bn):
    from ..explain import explain
    from .conventions import check_convention

    _run_guarded(lambda: check_convention(convention), model)
    rep = _run_guarded(lambda: analyze_report(model, inputs, binds, timeout, fold_bn=fold_bn), model)
    ex = _run_guarded(lambda: explain(rep, layer, convention=convention), rep.path)
    _run_guarded(lambda: _write(ex.to_json() if fmt == "json" else ex.to_text(), output), model)
