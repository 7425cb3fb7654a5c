"""Differential fuzzing of the source frontend, CI profile: random model files
(``tests/srcfuzz.py``) read statically by cnnsym and executed by torch (in this test
process), derandomised (seeds 0..N-1) so CI sees the same files every run.

The property (see ``srcfuzz``): parameters and buffers are torch's; at each drawn size
torch raises <=> cnnsym has a violated constraint; where both run, the output and every
named module's output have cnnsym's shape. Shrunk failures found by the long campaign
(``python bench/source_fuzz.py --minutes 20``) are kept in ``fixtures/torch/regressions/``
and checked here too.
"""
from __future__ import annotations

import ast
import glob
import os
import random
import re
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(__file__))
import srcfuzz  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGRESSIONS = sorted(glob.glob(os.path.join(ROOT, "fixtures", "torch", "regressions", "*.py")))
N_CASES = int(os.environ.get("CNNSYM_SRCFUZZ_CASES", 28))


def read_fixture(path):
    """(case, sizes, text) of a regression fixture: its header comments say the case and
    the failing sizes; the file itself is the model."""
    text = open(path, encoding="utf-8").read()
    head = dict(re.findall(r"^# (case|sizes): (.*)$", text, re.M))
    case = eval(head["case"], {"Case": srcfuzz.Case})  # noqa: S307 - our own fixture's repr
    sizes = []
    if head.get("sizes", "none") != "none":
        for part in head["sizes"].split(";"):
            sizes.append({k: int(v) for k, v in (kv.split("=") for kv in part.split(","))})
    ast.parse(text)
    return case, sizes, text


@pytest.mark.parametrize("path", REGRESSIONS, ids=[os.path.basename(p) for p in REGRESSIONS])
def test_regression_fixture(path):
    case, sizes, text = read_fixture(path)
    sizes = sizes + srcfuzz.draw_sizes(random.Random(os.path.basename(path)), case, 6)
    try:
        srcfuzz.check(case, sizes, srcfuzz.Stats(), text=text)
    except srcfuzz.Mismatch as e:
        raise AssertionError(f"{os.path.basename(path)}: {e}") from None


def test_source_frontend_agrees_with_torch():
    stats = srcfuzz.Stats()
    failures, checked = [], 0
    for seed in range(N_CASES):
        try:
            checked += srcfuzz.run_case(seed, n_sizes=5, stats=stats)
        except srcfuzz.Mismatch as e:
            failures.append(f"seed {seed}: {e}\n{srcfuzz.source(e.case) if e.case else ''}")
    assert not failures, "\n\n".join(failures[:3])
    # not vacuous: models were compared, at valid and invalid sizes, module by module
    assert checked >= N_CASES * 3 // 4
    assert stats.valid >= N_CASES and stats.invalid >= 5 and stats.modules >= 20 * N_CASES, stats
