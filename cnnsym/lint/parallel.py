"""Linting files in worker processes (``cnnsym lint -j N``; issue 12).

A cold lint is CPU-bound and each file is independent, so the files whose result is not in
the cache are linted by forked worker processes, one file at a time, largest first (the
longest tasks start first, so the last ones to finish are short), each worker preferring the
files of the folder it is already in: files of one package import the same modules, which a
worker has then parsed and run once (torchvision's detection models, split over two workers,
paid for their shared modules twice). The workers are forked after the heavy imports (sympy,
the frontends, the rules): they start with everything loaded and cost milliseconds each.
Each worker writes its file's cache entry itself.

What comes back is exactly what the in-process run makes: each file's findings, its model
count and its error lines, merged in the order of the files, so the output is the same
byte for byte whatever the number of workers. A worker that dies (a crash, the kernel's
out-of-memory killer) breaks the pool; the files it left unfinished are then linted again,
each in a process of its own, so one file's crash is an error line naming that file and no
other file's result is lost.

Where ``fork`` is not available (Windows), or there is at most one file to lint, the run
stays in this process."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait

from .cache import LintResult, cached_file, lint_one

MAX_WORKERS = 8

# what a forked worker needs, set in the parent just before the fork (inherited, never pickled:
# the rule classes and a test's replacement lint function need not be importable by name)
_STATE = None


def default_jobs() -> int:
    """One worker per CPU this process may run on, at most MAX_WORKERS."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_WORKERS))


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _work(i):
    lint_file, internal, opts, jobs = _STATE
    path, targets = jobs[i]
    return lint_one(lint_file, internal, opts, path, targets)


def _crashed(path, why) -> str:
    return (f"{path}: the worker process linting it died ({why}); not checked, the other files were "
            f"(rerun with -j 1 to lint it in one process)")


def map_files(jobs, opts, lint_file, internal, workers, preload=None):
    """Each job's outcome (see :func:`~cnnsym.lint.cache.lint_one`), in the order of ``jobs``;
    ``preload(paths)``: called before the workers are forked, with the paths they will lint."""
    global _STATE
    out = [None] * len(jobs)
    todo = []
    for i, (path, targets) in enumerate(jobs):
        if opts.cache:  # results already cached need no worker
            sub = LintResult()
            try:
                found, _ = cached_file(path, opts, sub, targets)
            except Exception:  # noqa: BLE001 - the worker meets the same failure and reports it
                found = None
            if found is not None:
                out[i] = (found, sub.models, sub.errors, sub.cached)
                continue
        todo.append(i)
    workers = min(workers, len(todo))
    if workers <= 1 or not can_fork():
        for i in todo:
            out[i] = lint_one(lint_file, internal, opts, *jobs[i])
        return out

    def size(i):
        try:
            return os.path.getsize(jobs[i][0])
        except OSError:
            return 0

    todo.sort(key=lambda i: (-size(i), i))
    if preload is not None:
        preload([jobs[i][0] for i in todo])
    _STATE = (lint_file, internal, opts, jobs)
    ctx = multiprocessing.get_context("fork")
    try:
        left = _pool(ctx, workers, todo, out)
        # a worker died: each unfinished file again, alone in a process, so the file that
        # kills its process is named and the others are linted
        for k in range(0, len(left), workers):
            batch = left[k:k + workers]
            pools = [ProcessPoolExecutor(1, mp_context=ctx) for _ in batch]
            try:
                futs = [p.submit(_work, i) for p, i in zip(pools, batch)]
                for i, f in zip(batch, futs):
                    try:
                        out[i] = f.result()
                    except BrokenProcessPool as e:
                        out[i] = ([], 0, [_crashed(jobs[i][0], e or "killed")], 0)
            finally:
                for p in pools:
                    p.shutdown(wait=True)
    finally:
        _STATE = None
    return out


def _serve(conn):
    """A worker: lint the file index it is sent, send back (index, True, outcome) or (index,
    False, exception) when linting raised (CNNSYM_DEBUG=1), until it is sent None."""
    while True:
        try:
            i = conn.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if i is None:
            return
        try:
            msg = (i, True, _work(i))
        except Exception as e:  # noqa: BLE001 - raised in the parent, as the pool's future did
            msg = (i, False, e)
        try:
            conn.send(msg)
        except Exception as e:  # noqa: BLE001 - an outcome that cannot be pickled
            conn.send((i, False, RuntimeError(f"{type(e).__name__}: {e}")))


class _Queue:
    """The files left, largest first, by folder too: a worker's next file is the largest
    left in its folder, else the largest in a folder no other worker is in (``busy``), else
    the largest. Each pick costs what the files of the busy folders ahead of it cost to
    skip, not a scan of every file left."""

    def __init__(self, todo, folder_of):
        self.order = list(todo)  # largest first
        self.folder_of = folder_of
        self.by_folder: dict = {}
        for i in self.order:
            self.by_folder.setdefault(folder_of[i], []).append(i)
        self.taken: set = set()
        self.start = 0  # order[:start] is taken

    def __len__(self):
        return len(self.order) - len(self.taken)

    def _take(self, i):
        self.taken.add(i)
        self.by_folder[self.folder_of[i]].remove(i)
        while self.start < len(self.order) and self.order[self.start] in self.taken:
            self.start += 1
        return i

    def pick(self, folder, busy):
        mine = self.by_folder.get(folder)
        if mine:
            return self._take(mine[0])
        first = None
        for k in range(self.start, len(self.order)):
            i = self.order[k]
            if i in self.taken:
                continue
            if first is None:
                first = i
            if self.folder_of[i] not in busy:
                return self._take(i)
        return self._take(first)

    def put_back(self, i):
        """A file given to a worker that had died: the next worker takes it first."""
        self.taken.discard(i)
        self.by_folder[self.folder_of[i]].insert(0, i)
        k = self.order.index(i)
        del self.order[k]
        if k < self.start:
            self.start -= 1
        self.order.insert(self.start, i)

    def rest(self):
        return [i for i in self.order[self.start:] if i not in self.taken]


def _pool(ctx, workers, todo, out):
    """Run ``todo`` (largest first) on ``workers`` forked processes; the indices left
    unfinished by a worker that died (the others' files go on in the workers left)."""
    jobs = _STATE[3]
    todo = _Queue(todo, {i: os.path.dirname(os.path.abspath(jobs[i][0])) for i in todo})
    procs, conns = [], []
    for _ in range(workers):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_serve, args=(child,), daemon=True)
        p.start()
        child.close()
        procs.append(p)
        conns.append(parent)
    folder = {}  # connection -> the folder of its current file
    doing = {}  # connection -> the index it is linting
    left, failure = [], None

    def give(c):
        if not todo or failure is not None:
            c.send(None)
            return False
        i = todo.pick(folder.get(c), {f for d, f in folder.items() if d is not c})
        try:
            c.send(i)
        except OSError:  # the worker died: the file waits for another
            todo.put_back(i)
            return False
        doing[c] = i
        folder[c] = todo.folder_of[i]
        return True

    try:
        live = [c for c in conns if give(c)]
        while live:
            for c in wait(live):
                try:
                    i, ok, res = c.recv()
                except (EOFError, OSError):  # the worker died: its file is linted again, alone
                    left.append(doing.pop(c))
                    folder.pop(c, None)
                    live.remove(c)
                    continue
                del doing[c]
                if ok:
                    out[i] = res
                elif failure is None:
                    failure = res
                if not give(c):
                    live.remove(c)
                    folder.pop(c, None)
        left.extend(todo.rest())  # every worker died: what none of them took
    finally:
        for c in conns:
            c.close()
        for p in procs:
            p.join()
    if failure is not None:
        raise failure
    return sorted(left)
