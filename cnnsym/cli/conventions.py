"""``cnnsym compare`` and ``cnnsym conventions``: one model's cost under every counting
convention, and the table of what each convention counts. Registered on the ``cnnsym``
group by importing this module (cli.py does, at its end). Start-up stays light: sympy and
the analysis are imported inside the commands only."""
from __future__ import annotations

import sys

import click

from ._app import EXIT_INVALID, _Fail, _run_guarded, _write, analyze_model, main

COMPARE_HELP = """Total MODEL's cost under every counting convention (cnnsym, torchvision, fvcore,
ptflops, thop, torchinfo, onnx-tool, calflops) and explain each number by the named cost
terms it counts or skips. Tool bugs (ConvTranspose counted on the output side, layers
counted twice or silently skipped) are listed with their exact amount, not added in.

\b
Examples:
  cnnsym compare model.onnx
  cnnsym compare model.onnx --bind height=320,width=256 --format markdown

\b
Exit status: 0 compared; 1 the model is invalid at the bindings; 2 bad input.
"""


def apply_convention(report, name: str):
    """``report --convention NAME``: name the convention and add its total."""
    from .. import conventions

    try:
        conventions.get(name)
    except KeyError as e:
        raise _Fail(f"--convention: {e.args[0]}") from None
    return conventions.apply_to_report(report, name)


def check_convention(name: str):
    from .. import conventions

    try:
        conventions.get(name)
    except KeyError as e:
        raise _Fail(f"--convention: {e.args[0]}") from None


def _human(v):
    from ..render import human

    return human(v)


def compare_rows(report) -> list:
    """One dict per preset (see :func:`cnnsym.conventions.compare_rows`)."""
    from ..conventions import compare_rows as rows

    return rows(report)


MIN_WIDTH = 40


def text_width() -> int:
    """The width text output wraps at: the terminal's when standard output is one, else
    $COLUMNS when set, else 80 (never under 40)."""
    import shutil

    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def render_compare_text(report, rows, markdown=False, width: int = 80) -> str:
    """The comparison as text (no line over ``width``: each convention's breakdown goes
    below its total when the row does not fit) or as Markdown (a table to post)."""
    from ..render import bindings_text
    from ..render.layout import wrap

    if markdown:
        return _compare_markdown(report, rows)
    width = max(MIN_WIDTH, int(width or 80))

    def para(text, indent=0, cont=None):
        return wrap(text, width, indent=indent, cont_indent=indent if cont is None else cont)

    L = para(f"cnnsym compare: {report.path}", cont=2) + [""]
    L += para(f"evaluated at: {bindings_text(report)}", cont=2)
    L += para("Every total is rebuilt from cnnsym's named terms (see `cnnsym conventions`); ConvTranspose "
              "MACs are counted on the input side, grouped convs divided by group.")
    if report.unaccounted:
        L += para("not counted under any convention (unsupported ops): "
                  + ", ".join(f"{u['op']} x{u['count']}" for u in report.unaccounted), cont=2)
    L.append("")
    w = max(len(r["convention"]) for r in rows)
    uw = max(len(r["unit"]) for r in rows)
    heads = []
    for r in rows:
        v = "?" if r["value"] is None else _human(r["value"])
        exact = "" if r["value"] is None else f"({r['value']})"
        heads.append(f"{r['convention']:<{w}}  {v:>8} {exact:<14} {r['unit']:<{uw}}")
    one_line = all(len(h) + 2 + len(r["explanation"]) <= width for h, r in zip(heads, rows))
    for h, r in zip(heads, rows):
        if one_line:
            L.append(f"{h}  {r['explanation']}")
        else:
            L += para(h.rstrip(), cont=4)
            L += para(r["explanation"], indent=4, cont=6)
    bug_lines = _bug_lines(rows)
    if bug_lines:
        L += ["", "Known tool bugs here (not in the totals above):"]
        for b in bug_lines:
            L += para(f"- {b}", cont=2)
    if not any(res.node.op_type == "BatchNormalization" for res in report.nodes):
        L.append("")
        L += para(NO_BN)
    return "\n".join(L) + "\n"


NO_BN = ("No BatchNormalization in this graph: if the exporter folded it into the convs, the torch-side tools "
         "(fvcore, ptflops, thop, torchinfo, calflops) also count it and the conv has no bias there "
         "(see docs/conventions.md).")


def _bug_lines(rows) -> list:
    out = []
    for r in rows:
        for b, d in r["bugs"].items():
            if d["value"]:
                amount = f"{'+' if d['value'] > 0 else ''}{_human(d['value'])} ({d['value']})"
                if d["applies"]:
                    amount += f" where it applies ({d['applies']})"
                out.append(f"{r['convention']} {b}: {amount}: {d['what']}")
    return out


def _md(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _compare_markdown(report, rows) -> str:
    """A comment to post: the totals table first (value, exact count, formula), what each
    convention counts and the tool bugs folded in ``<details>``."""
    from ..render import bindings_text

    L = [f"### cnnsym compare: `{_md(report.path)}`", "", f"Evaluated at `{_md(bindings_text(report))}`. "
         "Every total is rebuilt from cnnsym's named terms (see `cnnsym conventions`); ConvTranspose MACs are "
         "counted on the input side, grouped convs divided by group.", ""]
    if report.unaccounted:
        L += ["**Not counted under any convention (unsupported ops):** "
              + ", ".join(f"{_md(u['op'])} x{u['count']}" for u in report.unaccounted), ""]
    L += ["| convention | tool | unit | total | exact |", "| --- | --- | --- | ---: | ---: |"]
    for r in rows:
        exact = "?" if r["value"] is None else str(r["value"])
        L.append(f"| `{r['convention']}` | {_md(r['tool'])} | {_md(r['unit'])} | {_md(_human(r['value']))} | "
                 f"{exact} |")
    L += ["", "<details><summary>What each convention counts</summary>", "",
          "| convention | what it counts | formula |", "| --- | --- | --- |"]
    for r in rows:
        L.append(f"| `{r['convention']}` | {_md(r['explanation'])} | `{_md(r['formula'])}` |")
    L += ["", "</details>", ""]
    bug_lines = _bug_lines(rows)
    if bug_lines:
        L += ["**Known tool bugs here** (not in the totals above):", ""] + [f"- {_md(b)}" for b in bug_lines] + [""]
    if not any(res.node.op_type == "BatchNormalization" for res in report.nodes):
        L += [_md(NO_BN), ""]
    return "\n".join(L).rstrip() + "\n"


@main.command("compare", help=COMPARE_HELP)
@click.argument("model", metavar="MODEL")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS", help="As for report.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...", help="As for report.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS")
def compare_cmd(model, inputs, binds, fmt, output, timeout):
    rep = _run_guarded(lambda: analyze_model(model, inputs, binds, timeout)[1], model)

    def emit():
        rows = compare_rows(rep)
        if fmt == "json":
            import json  # here: report imports this module for --convention, and needs no json

            doc = {"model": rep.path, "bindings": None if rep.bindings is None else
                   {k: int(v) for k, v in rep.bindings.items()}, "conventions": rows,
                   "unaccounted": [{"op": u["op"], "count": u["count"]} for u in rep.unaccounted]}
            _write(json.dumps(doc, indent=2) + "\n", output)
        else:
            _write(render_compare_text(rep, rows, markdown=fmt == "markdown",
                                       width=text_width() if output is None else 80), output)

    _run_guarded(emit, model)
    if rep.errors or rep.bindings is None:
        sys.exit(EXIT_INVALID)


@main.command("conventions")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE")
def conventions_cmd(fmt, output):
    """What each counting convention counts, op by op (docs/conventions.md is this with
    --format markdown)."""

    def run():
        from .. import conventions as C

        if fmt == "markdown":
            _write(C.markdown_table(), output)
        elif fmt == "json":
            import json

            doc = {p.name: {"tool": p.tool, "unit": p.unit, "summary": p.summary, "aliases": list(p.aliases),
                            "default": p.default, "ops": p.ops, "global_mean_is_pool": p.global_mean_is_pool,
                            "rank0_is_zero": p.rank0_is_zero,
                            "bugs": {b: {"description": d.description, "applies": d.applies, "on": d.on,
                                         "rules": d.rules, "kinds": list(d.kinds), "scale": d.scale}
                                     for b, d in p.bugs.items()},
                            "notes": p.notes} for p in C.PRESETS.values()}
            _write(json.dumps(doc, indent=2) + "\n", output)
        else:
            from ..render.layout import wrap

            width = text_width() if output is None else 80
            L = []
            for p in C.PRESETS.values():
                al = f" (alias {', '.join(p.aliases)})" if p.aliases else ""
                L += wrap(f"{p.name}{al}: {p.unit}; {p.tool}", width, indent=0, cont_indent=2)
                L += wrap(p.summary, width, indent=2, cont_indent=2)
            L.append("")
            L += wrap("Per op: cnnsym conventions --format markdown", width, indent=0, cont_indent=2)
            _write("\n".join(L) + "\n", output)

    _run_guarded(run)
