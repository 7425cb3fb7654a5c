"""onnxruntime in a child process: a graph that makes it abort (the fuzzer found some) costs
the one request that was running, not the whole ``verify`` run.

A :class:`Worker` answers ``call(request)`` with ``fn(request)`` computed in a forked child
that lives across calls (so what ``fn`` builds, an InferenceSession, is built once). When
the child dies (a signal, ``abort()``, out of memory) the call raises :class:`Crashed` with
a one-line reason and the next call starts a fresh child. A Python exception inside ``fn``
raises :class:`ChildError` with its first line; the child goes on.

Forking is cheap (the model is already in memory; only requests and small results are
pickled) and is used where the platform has it (Linux); elsewhere, or with
``isolate=False``, calls run in this process, unprotected.
"""
from __future__ import annotations

import os
import signal
import sys


class ChildError(Exception):
    """A Python exception raised by ``fn`` (first line of its message)."""


class Crashed(Exception):
    """The child process died while answering (one-line reason)."""


def _first_line(e) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def _serve(fn, conn, err_fd):
    import faulthandler

    faulthandler.disable()  # a crash is reported by the parent, in one line
    # the parent's stream wrappers (a progress bar's, whose lock another thread of the parent
    # may have held at the fork) are not touched here: plain streams, and no exit-time flush
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    if err_fd is not None:
        os.dup2(err_fd, 2)  # onnxruntime's own last words go to the parent's message
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            break
        if req is None:  # the parent is done
            break
        try:
            conn.send(("ok", fn(req)))
        except Exception as e:  # noqa: BLE001 - every error becomes a one-line answer
            conn.send(("err", _first_line(e)))
    os._exit(0)


def _describe_exit(code) -> str:
    if code is None:
        return "onnxruntime's process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"onnxruntime crashed ({name})"
    return f"onnxruntime's process exited with status {code}"


def can_isolate() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class Worker:
    def __init__(self, fn, isolate: bool = True):
        self.fn = fn
        self.isolate = isolate and can_isolate()
        self.proc = self.conn = self.err = None

    def _start(self):
        import multiprocessing as mp
        import tempfile

        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.err = tempfile.TemporaryFile()
        self.proc = ctx.Process(target=_serve, args=(self.fn, child, self.err.fileno()), daemon=True)
        self.proc.start()
        child.close()

    def _last_words(self) -> str:
        try:
            self.err.seek(0)
            lines = [ln.strip() for ln in self.err.read()[-4096:].decode("utf-8", "replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return f": {lines[-1][:200]}" if lines else ""

    def call(self, request):
        if not self.isolate:
            try:
                return self.fn(request)
            except Exception as e:  # noqa: BLE001
                raise ChildError(_first_line(e)) from None
        if self.proc is None:
            self._start()
        try:
            self.conn.send(request)
            kind, value = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(timeout=5)
            code = self.proc.exitcode
            words = self._last_words()
            self.close()
            raise Crashed(_describe_exit(code) + words) from None
        if kind == "err":
            raise ChildError(value)
        return value

    def close(self):
        if self.conn is not None:
            try:
                self.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            self.conn.close()
        if self.proc is not None:
            self.proc.join(timeout=5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        if self.err is not None:
            self.err.close()
        self.proc = self.conn = self.err = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
