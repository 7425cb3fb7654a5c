"""Budget checks of whole models, as ``cnnsym check`` and ``cnnsym.check()`` run them:
configuration and command-line budgets merged, the model analysed through the API, the
budgets evaluated at a binding or proved over a range (:mod:`cnnsym.budget`), a baseline
compared, and the outcome as text and JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from . import api
from .baseline import compare, load_baseline
from .budget import check_at, check_range, human, mostly_invalid, range_text
from .config import BUDGET_KEYS, Config, load_config
from .errors import InputError
from .lint.engine import prepare
from .render.layout import wrap
from .parse import parse_amount, parse_bind, parse_bindings, parse_for_all, parse_growth, parse_inputs
from .symbolic import to_str


@dataclass(frozen=True)
class CheckResult:
    """What ``cnnsym.check`` returns: ``ok`` and, per model, its text and JSON."""

    ok: bool
    models: list = field(default_factory=list)  # [{"ok", "text", "json", "markdown", "parts"}]

    def to_text(self, width: int | None = None) -> str:
        """Plain text, no line over ``width`` (default 80)."""
        if width is None:
            return "\n".join(m["text"] for m in self.models)
        return "\n".join(_text(*m["parts"], width=width) if "parts" in m else m["text"] for m in self.models)

    def to_markdown(self) -> str:
        """A comment ready to post on a pull request: per model, the verdict, the budget
        table and the baseline diff (details folded)."""
        return "\n".join(m["markdown"] for m in self.models)

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
                allow_invalid_sizes=None, allow_incomplete=None, **budgets) -> CheckResult:
    """Check one model (a path, spec or Report) or a list of them against budgets given as
    keywords (``max_macs="4.1G"``, ``max_params=25_000_000``, see ``cnnsym check --help``)
    and those of ``[tool.cnnsym]`` in ``config`` (default: the nearest pyproject.toml).

    A model whose report is incomplete (source not followed, ops not counted) has totals
    that are lower bounds: a budget they exceed fails; a budget they stay within is not
    proven and fails too, unless ``allow_incomplete`` (``--allow-incomplete``, config
    ``allow-incomplete = true``) accepts lower bounds."""
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
            out.append(check_one(m.path, cfg, inputs, binds, cli_budgets, ranges, growth, base_doc, report=m,
                                 allow_invalid_sizes=allow_invalid_sizes, allow_incomplete=allow_incomplete))
        else:
            out.append(check_one(str(m), cfg, inputs, binds, cli_budgets, ranges, growth, base_doc,
                                 allow_invalid_sizes=allow_invalid_sizes, allow_incomplete=allow_incomplete))
    return CheckResult(all(r["ok"] for r in out), out)


def check_one(spec, cfg, inputs=(), binds=(), cli_budgets=None, ranges_cli=None, growth_cli=None, base_doc=None,
              report=None, allow_invalid_sizes=None, allow_incomplete=None):
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
    dims = list(inputs) or cfg.input_for(spec)
    parse_inputs(dims)  # a bad --input or configured input is a one-line error before any analysis
    if allow_invalid_sizes is None:
        allow_invalid_sizes = bool(entry.get("allow-invalid-sizes", cfg.budgets.get("allow-invalid-sizes", False)))
    if allow_incomplete is None:
        allow_incomplete = bool(entry.get("allow-incomplete", cfg.budgets.get("allow-incomplete", False)))
    if not budgets and base_doc is None:
        raise InputError(None, f"{spec}: no budget given (--max-params, --max-macs, ... or [tool.cnnsym.budgets]) "
                               f"and no --baseline")
    if report is None:
        report = _analyze(spec, dims, bindings)
    if report.errors:
        raise InputError(None, f"{spec}: the model is invalid: {report.errors[0]} (run `cnnsym lint` for details)")
    if report.bindings is None:
        raise InputError(None, f"{spec}: no valid binding to evaluate budgets at")
    results = []
    if budgets:
        if ranges:
            results = check_range(report, budgets, ranges, report.bindings, allow_invalid_sizes=allow_invalid_sizes)
        else:
            results = check_at(report, budgets, report.bindings)
        if allow_incomplete:
            results = [replace(r, allow_incomplete=True) for r in results]
    base = compare(report, base_doc, growth, parse_bindings(binds) or None) if base_doc is not None else None
    ok = _verdict(results, base)[0]
    parts = (spec, report, results, ranges, base)
    return {"ok": ok, "text": _text(*parts), "json": _json(spec, report, results, ranges, base, ok),
            "markdown": _markdown(*parts), "parts": parts}


def _analyze(spec, dims, bindings):
    """The Report at the given or configured input, read as lint reads it (one policy:
    :func:`cnnsym.lint.engine.prepare`): spatial dims stay symbols bound to the given sizes,
    so budgets are evaluated there and a --for-all range can still vary them."""
    if not dims:
        return api.analyze(spec, bind=bindings)
    graph = api.load(spec)
    given, _, _, note = prepare(graph, dims)
    if note:
        raise InputError(spec, f"--input: {note}")
    given = given or {}
    return api.analyze_loaded(graph, {**given, **bindings})


def _fmt_pct(x):
    return "n/a" if x is None else f"{x:+.1f}%"


TEXT_WIDTH = 80


def _at_text(report) -> str:
    return ", ".join(f"{k}={v}" for k, v in report.bindings.items()) or "static dims"


def _head(spec, report, ranges) -> str:
    return f"cnnsym check {spec}: " + (f"worst case over {'; '.join(r.text() for r in ranges)}" if ranges
                                       else f"at {_at_text(report)}")


def incomplete_reason(report) -> str:
    """Why a report's totals are lower bounds, in one line ('' when it is complete)."""
    if report.complete:
        return ""
    if report.not_followed:
        more = len(report.not_followed) - 1
        return (f"the source was not fully followed: {report.not_followed[0]}"
                + (f" (and {more} more)" if more else ""))
    bad = [r for r in report.nodes if r.status != "ok"]
    ops = sorted({u["op"] for u in report.unaccounted})
    return (f"{len(bad)} node(s) not counted" + (f" (unsupported: {', '.join(ops[:4])}"
                                                  + (", ..." if len(ops) > 4 else "") + ")" if ops else ""))


INCOMPLETE_HINT = "make cnnsym follow the whole model, or pass --allow-incomplete to accept lower bounds"


def _verdict(results, base) -> tuple:
    """(ok, the one-line verdict). A lower bound (incomplete report) over a budget fails;
    one within it is not a pass unless --allow-incomplete."""
    over = [r for r in results if r.status in ("over", "unknown")]
    unproven = [r for r in results if r.status == "unproven"]
    lower = any(r.lower_bound for r in results)
    grown = base.failed if base is not None else []
    bad = next((r for r in results if r.range_sizes is not None and not r.range_ok), None)
    if bad is not None:
        return False, (f"FAILED: only {range_text(bad)}; narrow --for-all to valid sizes (see `cnnsym report`) "
                       f"or pass --allow-invalid-sizes" + (f"; {len(over)} budget(s) exceeded" if over else ""))
    if over or grown or unproven:
        parts = []
        if over:
            parts.append(f"{len(over)} budget(s) exceeded" + (" (by lower bounds: the totals are incomplete)"
                                                              if lower else ""))
        if grown:
            parts.append(f"{len(grown)} total(s) grew past the limit")
        if unproven:
            parts.append(f"{len(unproven)} budget(s) not proven: the lower bound passes; the total is incomplete "
                         f"({INCOMPLETE_HINT})")
        return False, "FAILED: " + ", ".join(parts)
    if lower:
        return True, "OK: lower bounds within budget (--allow-incomplete: the totals are incomplete)"
    return True, "OK: within budget"


STATUS_TEXT = {"over": "OVER", "ok": "ok", "unproven": "NOT PROVEN", "unknown": "OVER"}


def _budget_cells(r) -> tuple:
    actual = "?" if r.actual is None else (">= " if r.lower_bound else "") + human(r.actual, r.kind)
    where = r.where + (f" (layer {r.layer!r})" if r.layer else "")
    head = "n/a" if r.headroom is None else (f"<= {r.headroom:.1f}%" if r.lower_bound and r.headroom > 0
                                              else f"{r.headroom:.1f}%")
    status = "ok (lower bound)" if r.status == "ok" and r.lower_bound else STATUS_TEXT[r.status]
    return (r.label, human(r.budget, r.kind), actual, head,
            status, where, "" if r.formula is None else to_str(r.formula))


def _text(spec, report, results, ranges, base, width: int = TEXT_WIDTH):
    """The check as plain text, no line longer than ``width``: the budget table keeps its
    formula column when it fits, else each formula goes below its row, wrapped at
    operators (and the ``where`` column too when the table is still too wide)."""
    width = max(40, int(width or TEXT_WIDTH))
    L = wrap(_head(spec, report, ranges), width, cont_indent=2)
    if not report.complete:
        L += wrap(f"incomplete: every total is a lower bound (>=); {incomplete_reason(report)}", width, indent=2,
                  cont_indent=4)
    if results:
        head = ("metric", "budget", "actual", "headroom", "status", "where", "formula")
        rows = [_budget_cells(r) for r in results]

        def table(ncols):
            w = [max(len(c[i]) for c in [head] + rows) for i in range(ncols)]
            return w, ["  " + "  ".join(c[i].ljust(w[i]) for i in range(ncols)).rstrip() for c in [head] + rows]

        for ncols in (7, 6, 5):
            w, lines = table(ncols)
            if max(len(x) for x in lines) <= width or ncols == 5:
                break
        L.append(lines[0])
        for row, line in zip(rows, lines[1:]):
            L.append(line)
            below = []
            if ncols <= 5 and row[5]:
                below.append(f"at {row[5]}")
            if ncols <= 6 and row[6]:
                below.append(f"= {row[6]}")
            for b in below:
                L += wrap(b, width, indent=6, cont_indent=8)
        dom = next((r for r in results if r.range_sizes is not None), None)
        if dom is not None:
            warn = " (--allow-invalid-sizes: accepted)" if mostly_invalid(dom.valid_sizes, dom.range_sizes) \
                and dom.range_ok else ""
            L += wrap(f"sizes: {range_text(dom)}; the invalid ones are skipped{warn}", width, indent=2, cont_indent=4)
        for r in results:
            if r.proof:
                L += wrap(f"{r.label}: {r.proof}", width, indent=2, cont_indent=4)
        for r in results:
            if r.note:
                L += wrap(f"{r.label}: {r.note}", width, indent=2, cont_indent=4)
    if base is not None:
        L += wrap(f"baseline at {', '.join(f'{k}={v}' for k, v in base.bindings.items()) or 'static dims'} "
                  f"(max growth {base.max_growth:g}%)" + (f"; {base.note}" if base.note else ""),
                  width, indent=2, cont_indent=4)
        for d in base.totals:
            if d.old is None and d.new is None:
                continue
            flag = "GREW" if d in base.failed else ""
            L += wrap(f"{d.metric:22} {_h(d.old, d.kind):>9} -> {_h(d.new, d.kind):>9}  {_fmt_pct(d.growth):>8}  "
                      f"{flag}".rstrip(), width, indent=4, cont_indent=6)
        if base.layers:
            L.append("  per layer:")
            for name, status, diffs in base.layers[:200]:
                parts = ", ".join(f"{d.metric} {_h(d.old, 'count')} -> {_h(d.new, 'count')} ({_fmt_pct(d.growth)})"
                                  for d in diffs if d.old != d.new)
                L += wrap(f"{status:8} {name}: {parts}", width, indent=4, cont_indent=8)
            if len(base.layers) > 200:
                L.append(f"    ... {len(base.layers) - 200} more")
        else:
            L.append("  per layer: no change")
    L += wrap(_verdict(results, base)[1], width)
    return "\n".join(L) + "\n"


def _h(v, kind):
    return "-" if v is None else human(v, kind)


def _md(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(s) -> str:
    return f"`{_md(s)}`" if s else ""


MD_LAYERS = 200
ARROW = "\u2192"


def _markdown(spec, report, results, ranges, base) -> str:
    """The check as a pull-request comment: the verdict, the budget table, the baseline
    diff of the totals, and the formulas, proofs and per-layer changes folded in
    ``<details>``."""
    ok, verdict = _verdict(results, base)
    where = f"worst case over {'; '.join(r.text() for r in ranges)}" if ranges else f"at {_at_text(report)}"
    mark = "\u2705" if ok else "\u274c"
    L = [f"### {mark} cnnsym check `{_md(spec)}`", "",
         f"**{_md(verdict)}** ({_md(where)})", ""]
    if not report.complete:
        L += [f"_Incomplete: every total is a lower bound (>=); {_md(incomplete_reason(report))}_", ""]
    if results:
        L += ["| metric | budget | actual | headroom | status | where |",
              "| --- | ---: | ---: | ---: | --- | --- |"]
        for r in results:
            c = _budget_cells(r)
            status = c[4] if r.ok else f"**{c[4]}**"
            L.append(f"| {_md(c[0])} | {c[1]} | {c[2]} | {c[3]} | {status} | {_md(c[5])} |")
        notes = [f"- {_md(r.label)}: {_code(to_str(r.formula))}" for r in results if r.formula is not None]
        notes += [f"- {_md(r.label)}: {_md(r.proof)}" + (f" ({r.invalid_sizes} sizes in the range are invalid "
                                                         f"for the model, skipped)" if r.invalid_sizes else "")
                  for r in results if r.proof]
        notes += [f"- {_md(r.label)}: {_md(r.note)}" for r in results if r.note]
        if notes:
            L += ["", "<details><summary>Formulas and proofs</summary>", ""] + notes + ["", "</details>"]
        L.append("")
    if base is not None:
        at = ", ".join(f"{k}={v}" for k, v in base.bindings.items()) or "static dims"
        L += [f"#### Against the baseline (at {_md(at)}, max growth {base.max_growth:g}%)", ""]
        if base.note:
            L += [f"_{_md(base.note)}_", ""]
        L += ["| total | baseline | this change | growth | |", "| --- | ---: | ---: | ---: | --- |"]
        for d in base.totals:
            if d.old is None and d.new is None:
                continue
            flag = "**grew past the limit**" if d in base.failed else ""
            L.append(f"| {_md(d.metric)} | {_h(d.old, d.kind)} | {_h(d.new, d.kind)} | {_fmt_pct(d.growth)} | {flag} |")
        L.append("")
        if base.layers:
            L += [f"<details><summary>{len(base.layers)} layer(s) changed, added or removed</summary>", "",
                  "| layer | status | params | MACs |", "| --- | --- | --- | --- |"]
            for name, status, diffs in base.layers[:MD_LAYERS]:
                cell = {d.metric: f"{_h(d.old, 'count')} {ARROW} {_h(d.new, 'count')} ({_fmt_pct(d.growth)})"
                        if d.old != d.new else _h(d.new, "count") for d in diffs}
                L.append(f"| {_code(name)} | {status} | {cell.get('params', '')} | {cell.get('macs', '')} |")
            if len(base.layers) > MD_LAYERS:
                L.append(f"| ... {len(base.layers) - MD_LAYERS} more | | | |")
            L += ["", "</details>", ""]
        else:
            L += ["No layer changed.", ""]
    return "\n".join(L).rstrip() + "\n"


def _json(spec, report, results, ranges, base, ok):
    d = {"model": spec, "ok": ok, "complete": report.complete, "incomplete_reason": incomplete_reason(report) or None,
         "bindings": dict(report.bindings or {}),
         "for_all": [r.text() for r in ranges] if ranges else None,
         "budgets": [r.to_dict() for r in results]}
    dom = next((r for r in results if r.range_sizes is not None), None)
    if dom is not None:
        d["sizes"] = {"in_range": dom.range_sizes, "valid": dom.valid_sizes, "sampled": dom.sampled,
                      "accepted": dom.range_ok}
    if base is not None:
        d["baseline"] = {"bindings": base.bindings, "max_growth_percent": base.max_growth, "note": base.note,
                         "totals": [{"metric": x.metric, "old": x.old, "new": x.new, "growth_percent": x.growth,
                                     "failed": x in base.failed} for x in base.totals],
                         "layers": [{"name": n, "status": s, "diffs": [{"metric": x.metric, "old": x.old, "new": x.new,
                                                                        "growth_percent": x.growth} for x in diffs]}
                                    for n, s, diffs in base.layers]}
    return d
