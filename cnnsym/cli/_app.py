"""What every command shares: the ``cnnsym`` group, exit codes, the guard that turns any
error into one line on stderr, output writing and the analysis time limit. Only the CLI
prints errors or exits.

Start-up stays light: sympy, onnx and rich are imported inside the commands (the CLI is
the top layer, so those imports are for start-up time, not to dodge a cycle), and
onnxruntime is never imported by ``report``.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys

import click

from .._stack import run_deep
from .._version import __version__

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2

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
        from ..errors import CnnsymError

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


# command name -> the module of this package that defines it (registering it on ``main`` with
# ``@main.command``). A command's module is imported when the command is looked up, so
# ``cnnsym report`` imports report's module (and what it imports), not check's, lint's or
# verify's (issue 12: start-up). ``cnnsym --help`` lists them all, importing each.
# tests/test_cli_lazy.py checks that the modules register exactly these names.
COMMAND_MODULES = {"check": "check", "compare": "conventions", "conventions": "conventions",
                   "explain": "explain", "lecture": "lecture", "lint": "lint", "ops": "ops",
                   "report": "report", "rules": "lint", "verify": "verify"}


class _LazyGroup(click.Group):
    """A click group whose commands' modules are imported on first lookup."""

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__package__}.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(COMMAND_MODULES))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="cnnsym", message="%(prog)s %(version)s")
def main():
    """cnnsym: exact, symbolic shapes, parameters, MACs, memory and receptive fields of
    convolutional networks, as closed-form formulas in the input's sizes."""


def analyze_model(model, inputs=(), binds=(), timeout=300, symbolic=()):
    """(graph, report) for a model spec and the command line's --input/--bind values;
    shared by every command that analyses a model."""
    from .. import api

    settle_gc()
    with _time_limit(timeout):
        return api.analyze_graph(model, input=list(inputs), bind=list(binds), symbolic=symbolic)


class RegistryHelp(click.Option):
    """An option whose help text is generated from a registry (formats, conventions) when
    the help is shown, so ``cnnsym --help`` never imports the registries."""

    def __init__(self, *args, help_fn=None, **kwargs):
        self.help_fn = help_fn
        super().__init__(*args, **kwargs)

    def get_help_record(self, ctx):
        if self.help_fn is not None:
            self.help = self.help_fn()
            self.help_fn = None
        return super().get_help_record(ctx)


def formats_help(subject: str = "report") -> str:
    from ..render import format_help

    return "Output format. " + format_help(subject) + "."


def conventions_help() -> str:
    from ..conventions import PRESETS

    return ("Also total the costs as another tool counts them: " + ", ".join(PRESETS)
            + " (see `cnnsym conventions`).")


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




# --------------------------------------------------------------------------- the process
# Measured on seed_conv (CPU seconds, whole process, 2-core machine): the interpreter's
# garbage collector walks sympy's ~500 modules' objects again and again while they are
# imported (0.03-0.04 s; nothing it could free: a full report of the 10,000-node chain
# leaves ~600 collectable objects), and tearing the interpreter down at exit (clearing
# every module, a last full collection, freeing each object) costs 0.06-0.08 s, more than
# the analysis of a small model. A ``cnnsym`` process therefore starts with the collector
# off, turns it back on (old objects frozen, larger first generation) once the analysis
# starts, and ends with os._exit after flushing its streams and running the atexit
# handlers. Only the process's own entry point does this: ``main`` called in-process
# (click's CliRunner, tests, embedding) behaves as any click group.

_GC_OFF_AT_START = False


def settle_gc():
    """Collector back on once the imports are done: the objects that exist now (modules,
    sympy's classes and caches) are frozen out of every later collection, and the first
    generation is larger, so a big graph's analysis is not walked over and over. A no-op
    unless :func:`run_process` turned the collector off."""
    global _GC_OFF_AT_START
    if _GC_OFF_AT_START:
        _GC_OFF_AT_START = False
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        gc.enable()


def run_process(args=None, gc_was_on=None):
    """``python -m cnnsym`` (and the ``cnnsym`` script): run the command and end the
    process without the interpreter's teardown (see above). Falls back to a normal exit
    whenever the fast one could lose something: an exit status that is not a number, a
    thread still running, a profiler or tracer attached, a stream that cannot be flushed.
    ``gc_was_on``: whether the collector was on before the caller turned it off."""
    global _GC_OFF_AT_START
    _GC_OFF_AT_START = gc.isenabled() if gc_was_on is None else gc_was_on
    gc.disable()
    try:
        run_deep(main, args=args, prog_name="cnnsym")  # deep recursion in one stack chunk (cnnsym/_stack.py)
        code = 0
    except SystemExit as e:
        code = e.code
    _exit_now(code)


def _exit_now(code):
    threading = sys.modules.get("threading")
    if (not (code is None or isinstance(code, int)) or (threading is not None and threading.active_count() > 1)
            or sys.getprofile() is not None or sys.gettrace() is not None):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the interpreter's own handling (a closed pipe included)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code or 0)
