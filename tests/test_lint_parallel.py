"""`cnnsym lint -j N` (issue 12): files linted in forked worker processes give the same
result as one process, byte for byte on the command line; a file that fails in a worker is
the same error line as in one process; a worker that dies is an error line naming its file
and the other files' findings are all there; the workers fill the cache.

The oracle for "the same" is the in-process run (-j 1), which the rest of the lint tests
check against torch and hand arithmetic."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnsym.lint.engine as engine
from cnnsym.config import Config
from cnnsym.lint import all_rules, parallel, selected
from cnnsym.lint.cache import run as cache_only_run

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "torch"
TV = ROOT / "tests" / "data" / "torchvision"

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="no fork start method on this platform")

BROKEN = "import torch.nn as nn\n\nclass Broken(nn.Module)\n    pass\n"  # a syntax error: an input error line
WRONG = ("import torch.nn as nn\n\n\nclass Wrong(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.c = nn.Conv2d(3, 8, 3)\n        self.fc = nn.Linear(100, 10)\n\n"
         "    def forward(self, x):\n        return self.fc(self.c(x).flatten(1))\n")


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    for f in ("lenet.py", "dcgan.py", "squeezenet.py", "unet.py", "unet_parts.py", "odd.py", "superres.py"):
        shutil.copy(FIX / f, d / f)
    for f in ("alexnet.py",):
        shutil.copy(TV / f, d / f)
    (d / "broken.py").write_text(BROKEN)
    (d / "wrong.py").write_text(WRONG)
    return d


def _opts(jobs, cache=False, cache_dir=None):
    return engine.Options(selected(all_rules(), None, [], []), ["1x3x64x64"], Config(), cache=cache,
                          cache_dir=cache_dir, jobs=jobs)


def _as_data(res):
    return ([f.to_dict() for f in res.findings], list(res.errors), res.models, res.files)


def test_same_findings_in_one_process_and_in_workers(folder):
    one = engine.lint_paths([str(folder)], _opts(1))
    two = engine.lint_paths([str(folder)], _opts(2))
    assert _as_data(one) == _as_data(two)
    # the run is not empty: the folder's planted error is found, the broken file is an error line
    assert any(f.code == "CNS101" and f.path.endswith("wrong.py") for f in one.findings)
    assert any("broken.py" in e for e in one.errors)
    assert one.models >= 8 and one.files == 10


def _fail_on(monkeypatch, name, how):
    real = engine.lint_model

    def lint_model(target, opts, dims=None):
        if name in target.spec:
            if how == "raise":
                raise TypeError("Cannot convert symbols to int")  # stands for any internal error
            os._exit(3)  # the worker dies (as when the kernel kills it)
        return real(target, opts, dims)

    monkeypatch.setattr(engine, "lint_model", lint_model)


def test_an_internal_error_in_a_worker_is_the_same_error_line(folder, monkeypatch):
    _fail_on(monkeypatch, "alexnet.py", "raise")
    one = engine.lint_paths([str(folder)], _opts(1))
    two = engine.lint_paths([str(folder)], _opts(2))
    assert _as_data(one) == _as_data(two)
    assert any("alexnet.py::" in e and "internal error" in e and "TypeError" in e for e in two.errors)


def test_a_worker_that_dies_is_reported_and_loses_no_other_file(folder, monkeypatch):
    (folder / "alexnet.py").rename(folder / "zz_dies.py")  # any file: the one whose worker dies
    whole = engine.lint_paths([str(folder)], _opts(1))
    _fail_on(monkeypatch, "zz_dies.py", "exit")
    two = engine.lint_paths([str(folder)], _opts(2))
    died = [e for e in two.errors if "zz_dies.py" in e]
    assert len(died) == 1 and "worker process" in died[0] and "died" in died[0]
    others = [f.to_dict() for f in whole.findings if not f.path.endswith("zz_dies.py")]
    assert [f.to_dict() for f in two.findings] == others
    assert [e for e in two.errors if "zz_dies.py" not in e] == whole.errors
    assert two.files == whole.files


def test_workers_fill_the_cache(folder, tmp_path):
    cache = str(tmp_path / "cache")
    first = engine.lint_paths([str(folder)], _opts(2, cache=True, cache_dir=cache))
    assert first.cached == 0
    # every file's result is now in the cache: the cache-only run (the CLI's warm path) finds all
    warm = cache_only_run([str(folder)], _opts(1, cache=True, cache_dir=cache))
    assert warm is not None and warm.cached == warm.files == first.files
    assert _as_data(warm) == _as_data(first)


def test_cli_output_is_byte_identical_with_and_without_workers(folder, tmp_path):
    outs = []
    for j in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "cnnsym", "lint", "--no-cache", "-j", j, "--input", "1x3x64x64",
                            "."], cwd=folder, capture_output=True, text=True)
        assert p.returncode in (1, 2), p.stderr
        outs.append((p.returncode, p.stdout, p.stderr))
    assert outs[0] == outs[1]
    assert "wrong.py" in outs[0][1] and "broken.py" in outs[0][2]


def test_a_worker_keeps_to_its_folder_then_takes_the_largest_elsewhere():
    # files by index, largest first: 0 (det), 2 (cls), 1 (det), 4 (cls), 3 (det)
    folder_of = {0: "/p/det", 1: "/p/det", 2: "/p/cls", 3: "/p/det", 4: "/p/cls"}
    q = parallel._Queue([0, 2, 1, 4, 3], folder_of)
    # the first worker starts with the largest; the second with the largest of another folder
    assert q.pick(None, set()) == 0
    assert q.pick(None, {"/p/det"}) == 2
    # each goes on in its folder, largest first
    assert q.pick("/p/det", {"/p/cls"}) == 1
    assert q.pick("/p/cls", {"/p/det"}) == 4
    # a file given to a worker that had died goes to the next worker first
    q.put_back(4)
    assert len(q) == 2 and q.rest() == [4, 3]
    assert q.pick("/p/det", {"/p/cls"}) == 3
    # /p/det is done: that worker takes what is left elsewhere, though /p/cls is busy
    assert q.pick("/p/det", {"/p/cls"}) == 4 and len(q) == 0 and q.rest() == []


def test_an_exception_in_a_worker_reaches_the_caller(folder, monkeypatch):
    # CNNSYM_DEBUG=1: an internal error is raised, not turned into an error line, also from a worker
    monkeypatch.setenv("CNNSYM_DEBUG", "1")
    _fail_on(monkeypatch, "alexnet.py", "raise")
    with pytest.raises(TypeError, match="Cannot convert symbols to int"):
        engine.lint_paths([str(folder)], _opts(2))


def test_the_queue_picks_as_the_policy_reads():
    # the policy written as a scan of the whole list (the reference), against the queue's
    # folder lists, on random folders, picks and put-backs (seeded)
    import random

    def reference(todo, folder_of, folder, busy):
        for want in ((lambda i: folder_of[i] == folder) if folder is not None else None,
                     lambda i: folder_of[i] not in busy, lambda i: True):
            if want is not None:
                for k, i in enumerate(todo):
                    if want(i):
                        return todo.pop(k)

    rnd = random.Random(12)
    for _ in range(500):
        n, nf = rnd.randint(1, 25), rnd.randint(1, 5)
        folder_of = {i: f"/f{rnd.randrange(nf)}" for i in range(n)}
        order = list(range(n))
        rnd.shuffle(order)
        q, ref = parallel._Queue(order, folder_of), list(order)
        while ref:
            folder = rnd.choice([None] + [f"/f{k}" for k in range(nf)])
            busy = {f"/f{k}" for k in range(nf) if rnd.random() < 0.3}
            got = q.pick(folder, busy)
            assert got == reference(ref, folder_of, folder, busy)
            if rnd.random() < 0.1:
                q.put_back(got)
                ref.insert(0, got)
            assert q.rest() == ref and len(q) == len(ref)
