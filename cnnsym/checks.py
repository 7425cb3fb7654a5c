"""Budget checks of whole models, as ``cnnsym check`` and ``cnnsym.check()`` run them:
configuration and command-line budgets merged, the model analysed through the API, the
budgets evaluated at a binding or proved over a range (:mod:`cnnsym.budget`), a baseline
compared, and the outcome as text and JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import api
from .budget import check_at, check_range, compare, human, load_baseline
from .config import BUDGET_KEYS, Config, load_config
from .errors import InputError
from .parse import parse_amount, parse_bind, parse_bindings, parse_for_all, parse_growth, parse_inputs
from .symbolic import to_str


@dataclass(frozen=True)
class CheckResult:
    """What ``cnnsym.check`` returns: ``ok`` and, per model, its text and JSON."""

    ok: bool
    models: list = field(default_factory=list)  # [{"ok", "text", "json"}]

    def to_text(self) -> str:
        return "\n".join(m["text"] for m in self.models)

    def to_json(self) -> str:
        return json.dumps({"schema_version": 1, "models": [m["json"] for m in self.models]}, indent=2) + "\n"

    def __bool__(self) -> bool:
        return self.ok


def budgets_of(amounts: dict) -> dict:
    """{"max-macs": "4.1G", "max_params": 25e6, ...} -> parsed budget amounts."""
    out = {}
    for k, v in (amounts or {}).items():
        if v is None:
            continue
        key = k.replace("_", "-")
        if key not in BUDGET_KEYS:
            raise InputError(None, f"{k}: not a budget (budgets: {', '.join(sorted(BUDGET_KEYS))})")
        try:
            out[key] = parse_amount(v, BUDGET_KEYS[key])
        except ValueError as e:
            raise InputError(None, f"--{key}: {e}") from None
    return out


def check_model(models, *, input=(), bind=(), for_all=None, baseline=None, max_growth=None, config=None,
                **budgets) -> CheckResult:
    """Check one model (a path, spec or Report) or a list of them against budgets given as
    keywords (``max_macs="4.1G"``, ``max_params=25_000_000``, see ``cnnsym check --help``)
    and those of ``[tool.cnnsym]`` in ``config`` (default: the nearest pyproject.toml)."""
    cfg = config if isinstance(config, Config) else load_config(config)
    cli_budgets = budgets_of(budgets)
    try:
        ranges = parse_for_all(for_all) if for_all else None
        growth = parse_growth(max_growth) if max_growth is not None else None
    except ValueError as e:
        raise InputError(None, f"--for-all/--max-growth: {e}") from None
    base_doc = load_baseline(baseline) if isinstance(baseline, str) else baseline
    items = models if isinstance(models, (list, tuple)) else [models]
    inputs = [input] if isinstance(input, str) else list(input or ())
    binds = [bind] if isinstance(bind, str) else (
        [",".join(f"{k}={v}" for k, v in bind.items())] if isinstance(bind, dict) else list(bind or ()))
    out = []
    for m in items:
        if hasattr(m, "totals") and hasattr(m, "nodes"):  # a Report
            out.append(check_one(m.path, cfg, inputs, binds, cli_budgets, ranges, growth, base_doc, report=m))
        else:
            out.append(check_one(str(m), cfg, inputs, binds, cli_budgets, ranges, growth, base_doc))
    return CheckResult(all(r["ok"] for r in out), out)


def check_one(spec, cfg, inputs=(), binds=(), cli_budgets=None, ranges_cli=None, growth_cli=None, base_doc=None,
              report=None):
    """One model's budget check: {"ok", "text", "json"}. Budgets, bindings, ranges and the
    input come from the command line (given here) over ``cfg`` ([tool.cnnsym])."""
    cli_budgets = cli_budgets or {}

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
        raise InputError(None, f"{spec}: no budget given (--max-params, --max-macs, ... or [tool.cnnsym.budgets]) "
                               f"and no --baseline")
    if report is None:
        report = api.analyze(spec, input=overrides, bind=bindings)
    if report.errors:
        raise InputError(None, f"{spec}: the model is invalid: {report.errors[0]} (run `cnnsym lint` for details)")
    if report.bindings is None:
        raise InputError(None, f"{spec}: no valid binding to evaluate budgets at")
    results = []
    if budgets:
        if ranges:
            results = check_range(report, budgets, ranges, report.bindings)
        else:
            results = check_at(report, budgets, report.bindings)
    base = compare(report, base_doc, growth) if base_doc is not None else None
    ok = all(r.ok for r in results) and (base is None or not base.failed)
    return {"ok": ok, "text": _text(spec, report, results, ranges, base),
            "json": _json(spec, report, results, ranges, base, ok)}


def _fmt_pct(x):
    return "n/a" if x is None else f"{x:+.1f}%"


def _text(spec, report, results, ranges, base):
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
