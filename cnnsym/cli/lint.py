"""``cnnsym lint`` and ``cnnsym rules``. Registered on the main group; heavy imports
happen inside the commands."""
from __future__ import annotations

import sys

import click

from ._app import EXIT_ERROR, EXIT_INVALID, EXIT_OK, _Fail, _run_guarded, _write, main

FORMATS = ["full", "concise", "github", "json", "sarif"]

LINT_HELP = """Lint model definitions: PyTorch source (.py, FILE::CALL) and ONNX files, or
directories holding them. Each root model of a file is analysed once at its configured
input size and checked by the selected rules (see `cnnsym rules`, docs/rules.md).

\b
Examples:
  cnnsym lint models/
  cnnsym lint models/net.py --input 1x3x32x32 --format github
  cnnsym lint "models/resnet.py::ResNet(Bottleneck, [3, 4, 6, 3])" --input 1x3x224x224

\b
Output lines are `path:line:col: CODE message`, at the line to edit for source models:
where the layer's wrong value is written, also when it reaches the layer through
constructor calls (`ResidualBlock(32, 128)`, not the `nn.Conv2d` inside the block); the
calls follow as indented `path:line:col: note: ...` lines (SARIF relatedLocations). ONNX
findings are on line 1 of the file. Suppress with `# noqa: CNS101` or
`# cnnsym: ignore[CNS101]` on the line (or on the layer's own line). Configuration:
[tool.cnnsym] in pyproject.toml.

\b
Exit status:
  0  no errors (warnings and information do not count unless --strict)
  1  errors found (or warnings with --strict)
  2  usage or input error: unreadable file, bad option or configuration
"""


def _codes(values):
    out = []
    for v in values or ():
        out += [c.strip().upper() for c in v.split(",") if c.strip()]
    return out


def load_cfg(config):
    from ..config import load_config

    return load_config(config)


@main.command("lint", help=LINT_HELP)
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS",
              help="Input size, e.g. 1x3x224x224 (overrides the configuration). Repeatable for several inputs.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="full", show_default=True)
@click.option("--select", multiple=True, metavar="CODES", help="Rule codes or prefixes to run (comma-separated).")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add to the selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to skip.")
@click.option("--strict", is_flag=True, default=None, help="Exit 1 on warnings too.")
@click.option("--config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="pyproject.toml to read [tool.cnnsym] from (default: the nearest one).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache (.cnnsym_cache/).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, metavar="N",
              help="Worker processes for the files not in the cache (default 0: one per CPU, at most 8; "
                   "1: all in this process). The output is the same.")
def lint_cmd(paths, inputs, fmt, select, extend_select, ignore, strict, config, no_cache, output, jobs):
    if not paths:
        raise click.UsageError("give at least one PATH (a model file, FILE::CALL or a directory)")

    def run():
        from .. import plugins  # noqa: F401
        from ..lint.cache import Options, run as cached_run, selection_fingerprint

        cfg = load_cfg(config)
        use_cache = cfg.cache and not no_cache
        fp = selection_fingerprint(_codes(select) or cfg.select, _codes(extend_select), _codes(ignore), cfg)
        if use_cache and fmt != "sarif":
            # nothing changed: every file's findings come from the cache, and neither the
            # rules nor sympy/libcst are imported (SARIF lists the rules: it loads them)
            res = cached_run(paths, Options({}, list(inputs) or None, cfg, cache=True, fingerprint=fp))
            if res is not None:
                return res, {}, (cfg.strict if strict is None else strict)
        from ..lint import all_rules, selected
        from ..lint.engine import lint_paths

        if cfg.plugins:
            import os

            plugins.load_paths(cfg.plugins, cfg.root if cfg.path else os.getcwd())
        rules = all_rules()
        sel = _codes(select) or cfg.select
        unknown = [c for c in _codes(select) + _codes(extend_select) + _codes(ignore)
                   if not any(r.startswith(c) for r in rules)]
        if unknown:
            raise _Fail(f"no rule matches {', '.join(unknown)} (see `cnnsym rules`)")
        chosen = selected(rules, sel, _codes(extend_select) + list(cfg.extend_select), _codes(ignore) + list(cfg.ignore))
        opts = Options(chosen, list(inputs) or None, cfg, cache=use_cache, fingerprint=fp, jobs=jobs)
        if inputs:
            from ..analyze import parse_dims

            for t in inputs:
                parse_dims(t.rpartition("=")[2].strip(), "--input")
        return lint_paths(paths, opts), chosen, (cfg.strict if strict is None else strict)

    result, chosen, is_strict = _run_guarded(run)

    def emit():
        from ..lint import output as out

        if fmt == "concise":
            text = out.concise(result)
        elif fmt == "github":
            text = out.github(result)
        elif fmt == "json":
            text = out.as_json(result)
        elif fmt == "sarif":
            text = out.sarif(result, chosen)
        else:
            text = out.full(result)
        _write(text, output)

    _run_guarded(emit)
    for e in result.errors:
        click.echo(f"cnnsym: error: {e}", err=True)
    c = result.counts()
    if result.errors:
        sys.exit(EXIT_ERROR)
    if c["error"] or (is_strict and c["warning"]):
        sys.exit(EXIT_INVALID)
    sys.exit(EXIT_OK)


@main.command("rules")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="markdown: the rule reference (docs/rules.md).")
@click.option("--all", "show_all", is_flag=True, help="Table: also list each rule's summary.")
def rules_cmd(fmt, show_all):
    """List every lint rule: code, name, severity, default, origin (built-in or plugin)."""

    def run():
        from ..lint import all_rules

        rules = all_rules()
        if fmt == "markdown":
            from ..lint.docs import rules_markdown

            _write(rules_markdown(rules), None)
        elif fmt == "json":
            import json

            from ..plugins import LOADED

            doc = {"rules": [{"code": c, "name": r.name, "severity": r.severity, "default": bool(r.default),
                              "needs_input": bool(r.needs_input), "origin": r.origin, "summary": r.summary(),
                              "examples": {"valid": len(r.valid), "invalid": len(r.invalid)}}
                             for c, r in rules.items()],
                   "plugins": [{"name": p.name, "source": p.source, "target": p.target, "origin": p.origin,
                                "ops": p.ops, "rules": p.rules} for p in LOADED]}
            _write(json.dumps(doc, indent=2) + "\n", None)
        else:
            from ..plugins import LOADED

            w = max(len(r.name) for r in rules.values())
            lines = [f"cnnsym rules: {len(rules)} loaded"]
            for c, r in rules.items():
                line = f"{c:8} {r.name:{w}}  {r.severity:7}  {'on ' if r.default else 'off'}  {r.origin}"
                if show_all:
                    line += f"\n         {r.summary()}"
                lines.append(line)
            if LOADED:
                lines.append("")
                lines.append("plugins:")
                for p in LOADED:
                    what = ", ".join(p.ops + p.rules) or "nothing registered"
                    lines.append(f"  {p.name} ({p.source} {p.target}) -> {p.origin}: {what}")
            _write("\n".join(lines) + "\n", None)

    _run_guarded(run)
