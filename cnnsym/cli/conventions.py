"""``cnnsym compare`` and ``cnnsym conventions``: one model's cost under every counting
convention, and the table of what each convention counts. Registered on the ``cnnsym``
group by importing this module (cli.py does, at its end). Start-up stays light: sympy and
the analysis are imported inside the commands only."""
from __future__ import annotations

import json
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
    """One dict per preset: name, unit, tool, value (int or None), formula, explanation,
    bugs {name: value}."""
    import sympy as sp

    from .. import conventions as C
    from ..render import to_str

    ev = (lambda e: report.evaluate(e)) if report.bindings is not None else (lambda e: None)
    rows = []
    for p in C.PRESETS.values():
        r = C.evaluate(report, p.name)
        parts = []
        macs_w = p.rule("Conv").get("macs", 0) or p.rule("Gemm").get("macs", 0)
        m = r.by_quantity.get("macs")
        if m is not None:
            parts.append(f"MACs {_human(ev(m))}" if macs_w in (0, 1) else f"{macs_w} x MACs ({_human(ev(m))})")
        if "bias" in r.by_quantity:
            parts.append(f"bias {_human(ev(r.by_quantity['bias']))}")
        for kind, e in sorted(r.extra_by_kind.items(), key=lambda kv: -(_num(ev(kv[1])))):
            parts.append(f"{kind} {_human(ev(e))}")
        text = " + ".join(parts) if parts else "nothing"
        if r.skipped:
            sk = sorted(r.skipped.items(), key=lambda kv: -(_num(ev(kv[1]))))
            text += "; skips " + ", ".join(f"{k} ({_human(ev(e))})" for k, e in sk)
        if p.name != "cnnsym" and "bias" not in r.by_quantity and any(
                "bias" in (res.terms or {}) for res in report.nodes):
            text += "; no bias adds"
        bugs = {b: ev(e) for b, e in r.bugs.items()}
        rows.append({"convention": p.name, "tool": p.tool, "unit": p.unit, "value": _int(ev(r.total)),
                     "formula": to_str(sp.simplify(r.total)) if r.total != 0 else "0", "explanation": text,
                     "bugs": {b: {"value": _int(v), "what": p.bugs[b].description, "applies": p.bugs[b].applies}
                              for b, v in bugs.items()},
                     "uncounted_nodes": len(r.uncounted)})
    return rows


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def _int(v):
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def render_compare_text(report, rows, markdown=False) -> str:
    from ..render import bindings_text

    L = []
    head = f"cnnsym compare: {report.path}"
    L += [f"## {head}" if markdown else head, ""]
    L.append(f"evaluated at: {bindings_text(report)}")
    L.append("Every total is rebuilt from cnnsym's named terms (see `cnnsym conventions`); "
             "ConvTranspose MACs are counted on the input side, grouped convs divided by group.")
    if report.unaccounted:
        L.append("not counted under any convention (unsupported ops): "
                 + ", ".join(f"{u['op']} x{u['count']}" for u in report.unaccounted))
    L.append("")
    if markdown:
        L += ["| convention | unit | total | exact | what it counts |", "| --- | --- | --- | --- | --- |"]
        for r in rows:
            L.append(f"| `{r['convention']}` | {r['unit']} | {_human(r['value'])} | {r['value']} | "
                     f"{r['explanation']} |")
    else:
        w = max(len(r["convention"]) for r in rows)
        uw = max(len(r["unit"]) for r in rows)
        for r in rows:
            v = "?" if r["value"] is None else _human(r["value"])
            exact = "" if r["value"] is None else f"({r['value']})"
            L.append(f"{r['convention']:<{w}}  {v:>8} {exact:<14} {r['unit']:<{uw}}  {r['explanation']}")
    bug_lines = []
    for r in rows:
        for b, d in r["bugs"].items():
            if d["value"]:
                amount = f"{'+' if d['value'] > 0 else ''}{_human(d['value'])} ({d['value']})"
                if d["applies"]:
                    amount += f" where it applies ({d['applies']})"
                bug_lines.append(f"{r['convention']} {b}: {amount}: {d['what']}")
    if bug_lines:
        L += ["", "### Known tool bugs here (not in the totals above)" if markdown
              else "Known tool bugs here (not in the totals above):"]
        L += [f"- {b}" for b in bug_lines]
    if not any(res.node.op_type == "BatchNormalization" for res in report.nodes):
        L += ["", "No BatchNormalization in this graph: if the exporter folded it into the convs, the "
                  "torch-side tools (fvcore, ptflops, thop, torchinfo, calflops) also count it and the conv "
                  "has no bias there (see docs/conventions.md)."]
    return "\n".join(L) + "\n"


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
            doc = {"model": rep.path, "bindings": None if rep.bindings is None else
                   {k: int(v) for k, v in rep.bindings.items()}, "conventions": rows,
                   "unaccounted": [{"op": u["op"], "count": u["count"]} for u in rep.unaccounted]}
            _write(json.dumps(doc, indent=2) + "\n", output)
        else:
            _write(render_compare_text(rep, rows, markdown=fmt == "markdown"), output)

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
            doc = {p.name: {"tool": p.tool, "unit": p.unit, "summary": p.summary, "aliases": list(p.aliases),
                            "default": p.default, "ops": p.ops, "global_mean_is_pool": p.global_mean_is_pool,
                            "rank0_is_zero": p.rank0_is_zero,
                            "bugs": {b: {"description": d.description, "applies": d.applies, "on": d.on,
                                         "rules": d.rules, "kinds": list(d.kinds), "scale": d.scale}
                                     for b, d in p.bugs.items()},
                            "notes": p.notes} for p in C.PRESETS.values()}
            _write(json.dumps(doc, indent=2) + "\n", output)
        else:
            L = []
            for p in C.PRESETS.values():
                al = f" (alias {', '.join(p.aliases)})" if p.aliases else ""
                L.append(f"{p.name}{al}: {p.unit}; {p.tool}")
                L.append(f"  {p.summary}")
            L.append("")
            L.append("Per op: cnnsym conventions --format markdown")
            _write("\n".join(L) + "\n", output)

    _run_guarded(run)
