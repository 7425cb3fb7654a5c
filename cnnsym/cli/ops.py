"""``cnnsym ops``: every supported op and where it comes from."""
from __future__ import annotations

import click

from ._app import _console, _run_guarded, _write, main


@main.command("ops")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="Output format.")
def ops_cmd(fmt):
    """List every supported op: domain, op_type, origin, formula summary, attributes."""

    def run():
        from .. import render

        if fmt == "table":
            render.render_ops(fmt, _console(None, False))
        else:
            _write(render.render_ops(fmt), None)

    _run_guarded(run)
