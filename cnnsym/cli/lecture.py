"""``cnnsym lecture``: the lecture's views of a whole model (convolution as a linear
operator, feature extractor vs classifier, BatchNorm at train and test time); and the
``--fold-bn`` analysis that report, explain and check share."""
from __future__ import annotations

import click

from ._app import _run_guarded, _time_limit, _write, analyze_model, main

LECTURE_HELP = """Show the lecture's views of MODEL, each as formulas in the input size and values
at the bindings:

\b
  operator   each Conv as the sparse matrix it is: dense size (C_out H_out W_out) x
             (C_in H W), nonzeros counted exactly (fewer at padded borders), density,
             parameter sharing, and where translation equivariance holds
  split      feature extractor vs classifier (cut at the flatten or global pool before
             the fully connected head): params, MACs and activation memory of each
  batchnorm  per BatchNorm: trainable and buffer counts, FLOPs in training and at
             inference, and whether exporters fold it (why not, when kept); with the
             model's totals after folding

\b
Examples:
  cnnsym lecture fixtures/torch/lecture.py::LectureConv --input 1x8x32x32
  cnnsym lecture fixtures/torch/vgg.py::vgg11() --view split
  cnnsym lecture model.onnx --view batchnorm --format json

\b
Exit status: 0 shown, 2 bad input (one line on stderr).
"""


def analyze_report(model, inputs=(), binds=(), timeout=300, symbolic=(), fold_bn=False):
    """The Report for a command's MODEL/--input/--bind; ``fold_bn``: the inference model
    with BatchNorm folded into the conv before it (:mod:`cnnsym.fold`)."""
    if not fold_bn:
        return analyze_model(model, inputs, binds, timeout, symbolic)[1]
    from .. import api

    with _time_limit(timeout):
        return api.analyze(model, input=list(inputs), bind=list(binds), symbolic=symbolic, fold_bn=True)


def fold_bn_option(f):
    return click.option("--fold-bn", "fold_bn", is_flag=True,
                        help="Analyse the inference model with each BatchNorm folded into the Conv before it, "
                             "as exporters do (the report's warnings say which were kept and why).")(f)


@main.command("lecture", help=LECTURE_HELP)
@click.argument("model", metavar="MODEL")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS", help="As for `cnnsym report`.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...", help="As for `cnnsym report`.")
@click.option("--view", "views", multiple=True, type=click.Choice(["operator", "split", "batchnorm", "all"]),
              default=("all",), show_default=True, help="Which view(s) to show. Repeatable.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              help="Write to FILE instead of standard output.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS")
def lecture_cmd(model, inputs, binds, views, fmt, output, timeout):
    from ..lecture import VIEWS, lecture

    chosen = VIEWS if "all" in views else tuple(v for v in VIEWS if v in views)
    rep = _run_guarded(lambda: analyze_report(model, inputs, binds, timeout), model)
    folded = None
    if "batchnorm" in chosen and any(r.node.op_type == "BatchNormalization" for r in rep.nodes):
        folded = _run_guarded(lambda: analyze_report(model, inputs, binds, timeout, fold_bn=True), model)
    lec = _run_guarded(lambda: lecture(rep, folded=folded, views=chosen), model)
    _run_guarded(lambda: _write(lec.to_json() if fmt == "json" else lec.to_text(), output), model)
