"""``cnnsym check``: budgets for CI, at a binding, over a range of sizes (proved), and
against a baseline report."""
from __future__ import annotations

import sys

import click

from ..parse import parse_bindings, parse_inputs
from ._app import EXIT_ERROR, EXIT_INVALID, EXIT_OK, _Fail, _run_guarded, _time_limit, _write, main

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

\b
Budgets also come from [tool.cnnsym.budgets] and [tool.cnnsym.models."PATTERN"] in
pyproject.toml; flags override them. Amounts: 25M, 4.1G, 1e9, 64MiB, 512KB.

\b
Exit status: 0 within budget, 1 over budget (or grown past --max-growth), 2 bad input.
"""

BUDGET_OPTS = [
    ("max-params", "Total parameters (trainable + buffers + constants)."),
    ("max-trainable-params", "Trainable parameters."),
    ("max-macs", "Multiply-accumulates."),
    ("max-flops", "FLOPs (2 x MACs + the named terms)."),
    ("max-activation-bytes", "Bytes of all activations."),
    ("max-peak-activation-bytes", "Peak bytes of live activations over the execution order."),
    ("max-layer-params", "Parameters of any one layer."),
    ("max-layer-macs", "MACs of any one layer."),
    ("max-layer-activation-bytes", "Output bytes of any one layer."),
]


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
@_budget_options
@click.option("--baseline", type=click.Path(dir_okay=False), default=None, metavar="REPORT.json",
              help="Compare with a `cnnsym report -f json` of the previous version; print per-layer diffs.")
@click.option("--max-growth", default=None, metavar="PCT", help="With --baseline: fail when a total grows by more "
                                                               "than this (default 0%%).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="pyproject.toml to read [tool.cnnsym] from (default: the nearest one).")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS")
def check_cmd(models, inputs, binds, for_all, baseline, max_growth, fmt, config, timeout, **amounts):
    if not models:
        raise click.UsageError("give at least one MODEL")

    def run():
        from ..budget import load_baseline, parse_amount, parse_for_all, parse_growth
        from ..config import BUDGET_KEYS, load_config

        cfg = load_config(config)
        cli_budgets = {}
        for k, v in amounts.items():
            if v is None:
                continue
            key = k.replace("_", "-")
            try:
                cli_budgets[key] = parse_amount(v, BUDGET_KEYS[key])
            except ValueError as e:
                raise _Fail(f"--{key}: {e}") from None
        try:
            ranges_cli = parse_for_all(for_all) if for_all else None
            growth_cli = parse_growth(max_growth) if max_growth is not None else None
        except ValueError as e:
            raise _Fail(f"--for-all/--max-growth: {e}") from None
        base_doc = load_baseline(baseline) if baseline else None
        out = []
        for spec in models:
            out.append(_check_one(spec, cfg, inputs, binds, cli_budgets, ranges_cli, growth_cli, base_doc, timeout))
        return out

    results = _run_guarded(run)

    def emit():
        if fmt == "json":
            import json

            _write(json.dumps({"schema_version": 1, "models": [r["json"] for r in results]}, indent=2) + "\n", None)
        else:
            _write("\n".join(r["text"] for r in results), None)

    _run_guarded(emit)
    sys.exit(EXIT_INVALID if any(not r["ok"] for r in results) else EXIT_OK)


def _check_one(spec, cfg, inputs, binds, cli_budgets, ranges_cli, growth_cli, base_doc, timeout):
    from ..analyze import analyze, apply_inputs
    from ..budget import check_at, check_range, compare, parse_amount, parse_bind, parse_for_all, parse_growth
    from ..config import BUDGET_KEYS
    from ..frontends import load_any

    entry = cfg.model_entry(spec)
    budgets = {k: parse_amount(v, BUDGET_KEYS[k]) for k, v in cfg.budgets.items() if k in BUDGET_KEYS}
    budgets.update({k: parse_amount(v, BUDGET_KEYS[k]) for k, v in entry.items() if k in BUDGET_KEYS})
    budgets.update(cli_budgets)
    bindings = parse_bind(entry.get("bind") or cfg.budgets.get("bind") or cfg.bind or "")
    bindings.update(parse_bindings(binds))
    ranges = ranges_cli or (parse_for_all(entry.get("for-all") or cfg.budgets.get("for-all"))
                            if (entry.get("for-all") or cfg.budgets.get("for-all")) else None)
    growth = growth_cli if growth_cli is not None else parse_growth(entry.get("max-growth", cfg.budgets.get("max-growth", 0)))
    overrides = parse_inputs(inputs) if inputs else (parse_inputs([x.strip() for x in (entry.get("input") or "").split(";")
                                                                  if x.strip()]) if entry.get("input") else {})
    if not budgets and base_doc is None:
        raise _Fail(f"{spec}: no budget given (--max-params, --max-macs, ... or [tool.cnnsym.budgets]) and no --baseline")
    with _time_limit(timeout):
        graph = load_any(spec)
        apply_inputs(graph, overrides)
        report = analyze(graph, {k: v for k, v in bindings.items()}, strict_bindings=True)
    if report.errors:
        raise _Fail(f"{spec}: the model is invalid: {report.errors[0]} (run `cnnsym lint` for details)")
    if report.bindings is None:
        raise _Fail(f"{spec}: no valid binding to evaluate budgets at")
    results = []
    if budgets:
        if ranges:
            results = check_range(report, budgets, ranges, report.bindings, graph)
        else:
            results = check_at(report, budgets, report.bindings)
    base = compare(report, base_doc, growth) if base_doc is not None else None
    ok = all(r.ok for r in results) and (base is None or not base.failed)
    return {"ok": ok, "text": _text(spec, report, results, ranges, base),
            "json": _json(spec, report, results, ranges, base, ok)}


def _fmt_pct(x):
    return "n/a" if x is None else f"{x:+.1f}%"


def _text(spec, report, results, ranges, base):
    from ..budget import human
    from ..symbolic import to_str

    L = []
    at = ", ".join(f"{k}={v}" for k, v in report.bindings.items()) or "static dims"
    head = f"cnnsym check {spec}: " + (f"worst case over {'; '.join(r.text() for r in ranges)}" if ranges else f"at {at}")
    L.append(head)
    if results:
        rows = [("metric", "budget", "actual", "headroom", "status", "where", "formula")]
        for r in results:
            actual = "?" if r.actual is None else human(r.actual, r.kind)
            where = r.where + (f" (layer {r.layer!r})" if r.layer else "")
            rows.append((r.label, human(r.budget, r.kind), actual,
                         "n/a" if r.headroom is None else f"{r.headroom:.1f}%", "ok" if r.ok else "OVER",
                         where, "" if r.formula is None else to_str(r.formula)))
        w = [max(len(str(row[i])) for row in rows) for i in range(6)]
        for row in rows:
            L.append("  " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(row[:6])) + "  " + row[6])
        proofs = [(r.label, r.proof, r.invalid_sizes) for r in results if r.proof]
        for label, proof, inv in proofs:
            L.append(f"  {label}: {proof}" + (f" ({inv} sizes in the range are invalid for the model, skipped)" if inv else ""))
        for r in results:
            if r.note:
                L.append(f"  {r.label}: {r.note}")
    if base is not None:
        L.append(f"  baseline at {', '.join(f'{k}={v}' for k, v in base.bindings.items()) or 'static dims'} "
                 f"(max growth {base.max_growth:g}%)" + (f"; {base.note}" if base.note else ""))
        for d in base.totals:
            if d.old is None and d.new is None:
                continue
            flag = "GREW" if d in base.failed else ""
            L.append(f"    {d.metric:24} {_h(d.old, d.kind):>10} -> {_h(d.new, d.kind):>10}  {_fmt_pct(d.growth):>8}  {flag}")
        if base.layers:
            L.append("  per layer:")
            for name, status, diffs in base.layers[:200]:
                parts = ", ".join(f"{d.metric} {_h(d.old, 'count')} -> {_h(d.new, 'count')} ({_fmt_pct(d.growth)})"
                                  for d in diffs if d.old != d.new)
                L.append(f"    {status:8} {name}: {parts}")
            if len(base.layers) > 200:
                L.append(f"    ... {len(base.layers) - 200} more")
        else:
            L.append("  per layer: no change")
    over = [r for r in results if not r.ok]
    grown = base.failed if base is not None else []
    if over or grown:
        L.append(f"FAILED: {len(over)} budget(s) exceeded" + (f", {len(grown)} total(s) grew past the limit" if grown else ""))
    else:
        L.append("OK: within budget")
    return "\n".join(L) + "\n"


def _h(v, kind):
    from ..budget import human

    return "-" if v is None else human(v, kind)


def _json(spec, report, results, ranges, base, ok):
    d = {"model": spec, "ok": ok, "bindings": dict(report.bindings or {}),
         "for_all": [r.text() for r in ranges] if ranges else None,
         "budgets": [r.to_dict() for r in results]}
    if base is not None:
        d["baseline"] = {"bindings": base.bindings, "max_growth_percent": base.max_growth, "note": base.note,
                         "totals": [{"metric": x.metric, "old": x.old, "new": x.new, "growth_percent": x.growth,
                                     "failed": x in base.failed} for x in base.totals],
                         "layers": [{"name": n, "status": s, "diffs": [{"metric": x.metric, "old": x.old, "new": x.new,
                                                                        "growth_percent": x.growth} for x in diffs]}
                                    for n, s, diffs in base.layers]}
    return d
