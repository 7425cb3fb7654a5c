"""The ``cnnsym`` command line. Only this module prints errors or exits.

Start-up stays light: sympy, onnx and rich are imported inside the commands, and
onnxruntime is never imported by ``report``.
"""
from __future__ import annotations

import os
import sys

import click

from . import __version__

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2

REPORT_HELP = """Analyse an ONNX MODEL symbolically: every node's output shape as a formula in the
input's symbols, its parameters, MACs and other cost terms, its output's memory and
receptive field; then totals as formulas and evaluated at the bindings.

\b
Examples:
  cnnsym report model.onnx
  cnnsym report model.onnx --bind height=320,width=256 --format json
  cnnsym report model.onnx --input input=1x3xHxW
  cnnsym report model.onnx --input NxCxHxW --bind N=8

\b
Exit status:
  0  the report was produced and the model is valid at the bindings
  1  the report was produced but the model is invalid (errors listed in the
     report) or no size satisfies its constraints (formulas shown, no values)
  2  bad input: unreadable or malformed file, bad --input/--bind, bindings
     outside the model's valid domain (one line on stderr, no traceback)
"""


class _Fail(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _one_line(s: str) -> str:
    return " ".join(str(s).split())


def _mention(path, message: str) -> str:
    """The error message, naming the file when it does not already."""
    message = _one_line(message)
    if path and str(path) not in message:
        return f"{path}: {message}"
    return message


def _run_guarded(fn, path=None):
    """Run ``fn``; any error becomes one line on stderr and exit code 2."""
    try:
        return fn()
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("cnnsym: interrupted", err=True)
        sys.exit(130)
    except _Fail as e:
        click.echo(f"cnnsym: error: {_mention(path, e.message)}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as e:  # noqa: BLE001 - the CLI owns every exit
        from .errors import CnnsymError

        if os.environ.get("CNNSYM_DEBUG") == "1":
            raise
        if isinstance(e, CnnsymError):
            click.echo(f"cnnsym: error: {_mention(path, str(e))}", err=True)
        elif isinstance(e, RecursionError):
            click.echo(f"cnnsym: error: {_mention(path, 'the graph is too deeply nested to analyse (recursion limit)')}",
                       err=True)
        elif isinstance(e, MemoryError):
            click.echo(f"cnnsym: error: {_mention(path, 'out of memory while analysing')}", err=True)
        else:
            msg = _one_line(f"{type(e).__name__}: {e}")[:300]
            click.echo(f"cnnsym: error: {_mention(path, f'internal error ({msg}); rerun with CNNSYM_DEBUG=1 for a traceback')}",
                       err=True)
        sys.exit(EXIT_ERROR)


def _quiet_broken_pipe():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def parse_bindings(values) -> dict:
    """('H=320,W=256', 'N=2') -> {'H': 320, 'W': 256, 'N': 2}."""
    out = {}
    for text in values or ():
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            sym, eq, val = item.partition("=")
            sym, val = sym.strip(), val.strip()
            if not eq or not sym or not val:
                raise _Fail(f"--bind: {item!r} is not SYMBOL=VALUE")
            if not sym.isidentifier():
                raise _Fail(f"--bind: {sym!r} is not a symbol name")
            try:
                v = int(val)
            except ValueError:
                raise _Fail(f"--bind {sym}: {val!r} is not an integer") from None
            if v < 1:
                raise _Fail(f"--bind {sym}: {v} must be a positive integer")
            if sym in out and out[sym] != v:
                raise _Fail(f"--bind: {sym} given twice ({out[sym]} and {v})")
            out[sym] = v
    return out


def parse_inputs(values) -> dict:
    """('input=1x3xHxW', 'NxCxHxW') -> {'input': [...], None: [...]} (None = first input)."""
    from .analyze import parse_dims

    out = {}
    for text in values or ():
        name, eq, dims = text.rpartition("=")
        if not eq:
            name, dims = None, text
        else:
            name = name.strip()
            if not name:
                raise _Fail(f"--input: {text!r} has an empty input name")
        key_desc = name if name is not None else "(first input)"
        if name in out:
            raise _Fail(f"--input: {key_desc} given twice")
        out[name] = parse_dims(dims.strip(), f"--input {name}" if name else "--input")
    return out


def _console(out_file, wide: bool):
    from rich.console import Console

    is_tty = out_file is None and sys.stdout.isatty()
    width = None
    if not is_tty:
        width = 160 if wide else 80
    elif wide:
        width = None  # the terminal's width
    return Console(file=out_file if out_file is not None else sys.stdout, width=width,
                   color_system="auto" if is_tty else None, highlight=False, emoji=False,
                   markup=False, soft_wrap=False)


def _write(text: str, output):
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise _Fail(f"-o {output}: cannot write ({e.strerror or e})") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="cnnsym", message="%(prog)s %(version)s")
def main():
    """cnnsym: exact, symbolic shapes, parameters, MACs, memory and receptive fields of
    convolutional networks, as closed-form formulas in the input's sizes."""


@main.command("report", help=REPORT_HELP)
@click.argument("model", metavar="MODEL")
@click.option("--input", "-i", "inputs", multiple=True, metavar="[NAME=]DIMS",
              help="Rename, free or fix input dims, e.g. input=1x3xHxW (names free a dim, "
                   "integers fix it); without NAME= it applies to the first input. Repeatable.")
@click.option("--bind", "-b", "binds", multiple=True, metavar="SYM=VAL,...",
              help="Where values are evaluated, e.g. height=320,width=256. Default: static dims, "
                   "else batch 1 and 224 for spatial dims (stated in the output). Repeatable.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown", "csv"]),
              default="table", show_default=True, help="Output format (json: see docs/json.md).")
@click.option("--wide", "-w", is_flag=True, help="Table: add the shape and MACs formulas per node.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True, metavar="SECONDS",
              help="Give up (exit 2) when the analysis takes longer than this.")
@click.option("--convention", "-c", default="cnnsym", show_default=True, metavar="NAME",
              help="Also total the costs as another tool counts them: torchvision, fvcore, ptflops, "
                   "ptflops_aten, thop, torchinfo, onnx-tool, calflops (see `cnnsym conventions`).")
@click.option("--symbolic", "symbolic", default="", metavar="NAME,...",
              help="Source models: integer constructor arguments to keep as symbols (params and MACs "
                   "become polynomials in them, evaluated at their defaults).")
def report_cmd(model, inputs, binds, fmt, wide, output, timeout, convention, symbolic):
    from .cli_conventions import apply_convention, check_convention

    _run_guarded(lambda: check_convention(convention), model)
    if _lists_models(model, fmt, output):
        return
    syms = [x.strip() for x in symbolic.split(",") if x.strip()]
    rep = _run_guarded(lambda: apply_convention(analyze_model(model, inputs, binds, timeout, syms)[1], convention),
                       model)

    def emit():
        from . import render

        if fmt == "json":
            _write(render.render_json(rep), output)
        elif fmt == "markdown":
            _write(render.render_markdown(rep), output)
        elif fmt == "csv":
            _write(render.render_csv(rep), output)
        elif output is not None:
            _write(render.render_table_text(rep, wide), output)
        else:
            render.render_table(rep, _console(None, wide), wide)

    _run_guarded(emit, model)
    if rep.errors or rep.bindings is None:
        sys.exit(EXIT_INVALID)


def _lists_models(model, fmt, output) -> bool:
    """``cnnsym report net.py`` (no ``::Name``): list every nn.Module and factory in it."""
    if "::" in model or not model.endswith(".py"):
        return False

    def run():
        from .frontends.torch import list_models

        return list_models(model)

    names = _run_guarded(run, model)
    if fmt == "json":
        import json
        _write(json.dumps({"model": model, "models": list(names)}, indent=1) + "\n", output)
    else:
        lines = [f"{model}: {len(names)} model(s); pick one with {model}::NAME (or ::NAME(args))"]
        lines += [f"  {model}::{n}" for n in names]
        _write("\n".join(lines) + "\n", output)
    return True


def analyze_model(model, inputs=(), binds=(), timeout=300, symbolic=()):
    """(graph, report) for a model spec and the command line's --input/--bind values;
    shared by every command that analyses a model."""
    bindings = parse_bindings(binds)
    overrides = parse_inputs(inputs)
    from .analyze import analyze, apply_inputs
    from .frontends import load_any

    with _time_limit(timeout):
        graph = load_any(model, symbolic=symbolic)
        apply_inputs(graph, overrides)
        return graph, analyze(graph, bindings)


class _time_limit:
    """SIGALRM-based bound on analysis time, so a pathological graph is a clear error
    rather than a hang (no-op where signals are unavailable)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        import signal

        if not hasattr(signal, "SIGALRM"):
            return self

        def fire(signum, frame):
            raise _Fail(f"analysis took longer than {self.seconds} s (raise --timeout; the graph's expressions may blow up)")

        self.old = signal.signal(signal.SIGALRM, fire)
        signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        import signal

        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.old)
        return False


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
        from .frontends import is_source
        from .verify import verify

        graph, rep = analyze_model(model, inputs, binds, timeout)
        if rep.errors:
            raise _Fail("the model is invalid for every input: " + rep.errors[0])
        if rep.unaccounted:
            names = ", ".join(f"{u['domain']}::{u['op']}" for u in rep.unaccounted)
            raise _Fail(f"cannot run: unsupported ops {names} (cnnsym cannot check what it cannot derive)")
        path = model
        if is_source(model):
            from .lower import to_onnx_file
            path = to_onnx_file(graph)
        size_list = [s for s in sizes.split(",") if s.strip()]
        with _progress() as tick:
            return verify(path, graph, rep, sizes=size_list, random_k=random_k, seed=seed, device=device,
                          rf=not no_rf, progress=tick, max_bytes=max_bytes, rf_budget=rf_budget)

    res = _run_guarded(run, model)

    def emit():
        from . import render

        if fmt == "json":
            _write(render.render_verify_json(res), None)
        else:
            _write(render.render_verify_table(res, show_all), None)

    _run_guarded(emit, model)
    sys.exit(EXIT_OK if res.ok else EXIT_INVALID)


class _progress:
    """A progress bar on stderr for runs that take more than a moment (terminals only)."""

    def __enter__(self):
        self.bar = None
        if not sys.stderr.isatty():
            return None
        from rich.progress import Progress

        self.bar = Progress(transient=True, console=None)
        self.bar.start()
        self.task = self.bar.add_task("running onnxruntime", total=None)
        return lambda: self.bar.advance(self.task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


@main.command("ops")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="Output format.")
def ops_cmd(fmt):
    """List every supported op: domain, op_type, origin, formula summary, attributes."""

    def run():
        from . import render

        if fmt == "table":
            render.render_ops(fmt, _console(None, False))
        else:
            _write(render.render_ops(fmt), None)

    _run_guarded(run)


from . import cli_conventions  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    main()
from . import cli_lint  # noqa: E402,F401  (lint, rules)
from . import cli_check  # noqa: E402,F401  (check)
