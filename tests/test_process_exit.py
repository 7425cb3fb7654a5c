"""The ``cnnsym`` process ends without the interpreter's teardown (``cli._app.run_process``:
os._exit after flushing the streams and running the atexit handlers) and runs its imports
with the garbage collector off. Nothing a user sees may change: the oracle for every output
here is the same command run in-process by click's CliRunner, which never takes that path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cnnsym.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "fixtures" / "seed_conv.onnx")
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
ENV.pop("CNNSYM_DEBUG", None)
ENV["COLUMNS"] = "80"  # the help's wrapping width, as CliRunner's terminal_width below


def proc(*args, code=None, **kw):
    argv = [sys.executable, "-m", "cnnsym", *args] if code is None else [sys.executable, "-c", code, *args]
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=str(ROOT), timeout=300, **kw)


def inproc(*args):
    return CliRunner().invoke(main, list(args), prog_name="cnnsym", terminal_width=80,
                               catch_exceptions=False)


def test_outputs_and_exit_codes_equal_the_in_process_run(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    for args in (["report", SEED, "--width", "100"], ["report", SEED, "-f", "json"],
                 ["report", SEED, "--nodes", "--wide", "--width", "160"], ["--version"]):
        p, r = proc(*args), inproc(*args)
        assert p.returncode == r.exit_code == 0, (args, p.stderr)
        assert p.stdout == r.output, args
        assert p.stderr == ""
    for args in (["--help"], ["report", "--help"]):  # (click wraps help text by the terminal's width)
        p = proc(*args)
        assert p.returncode == 0 and p.stdout.startswith("Usage: cnnsym") and p.stdout.rstrip().endswith(
            inproc(*args).output.rstrip().split()[-1]), p.stderr
    p = proc("report", str(bad))  # bad input: exit 2, one line on stderr, nothing on stdout
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1 and "bad.onnx" in p.stderr
    p = proc("report", SEED, "--format", "nope")
    assert p.returncode == 2 and "nope" in p.stderr


def test_a_file_written_with_o_is_complete(tmp_path):
    out = tmp_path / "r.json"
    p = proc("report", SEED, "-f", "json", "-o", str(out))
    assert p.returncode == 0 and p.stdout == ""
    assert out.read_text() == inproc("report", SEED, "-f", "json").output


def test_atexit_handlers_run_and_the_collector_is_back_on_for_the_analysis():
    # a handler registered before the command runs still runs (and may print) at the end;
    # the analysis ran with the collector on again (old objects frozen out of it)
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('ATEXIT gc=%s frozen=%s' % (gc.isenabled(), gc.get_freeze_count() > 0)))\n"
            "sys.argv = ['cnnsym'] + sys.argv[1:]\n"
            "from cnnsym.__main__ import run\n"
            "run()\n")
    p = proc("report", SEED, "-f", "json", code=code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith("ATEXIT gc=True frozen=True\n")
    assert p.stdout[:-len("ATEXIT gc=True frozen=True\n")] == inproc("report", SEED, "-f", "json").output


def test_a_profiler_still_gets_its_report():
    # python -m cProfile -m cnnsym: the normal exit, so cProfile prints its statistics
    p = subprocess.run([sys.executable, "-m", "cProfile", "-m", "cnnsym", "--version"], capture_output=True,
                       text=True, env=ENV, cwd=str(ROOT), timeout=300)
    assert p.returncode == 0, p.stderr
    assert "function calls" in p.stdout and "cnnsym " in p.stdout


def test_a_closed_pipe_is_quiet():
    # stdout closed early by the reader (| head -c 1): no traceback, as before
    p = subprocess.Popen([sys.executable, "-m", "cnnsym", "report", SEED, "--nodes", "--wide"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV, cwd=str(ROOT))
    p.stdout.read(1)
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=300)
    assert "Traceback" not in err
