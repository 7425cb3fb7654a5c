"""Lint on real public-style model files with one planted shape bug each (issue 13 item 5):
a CNS1xx finding on the line of the planted literal, the line a user edits, and nothing on
the unmodified originals. The cases (tests/data/lint_planted.json) come from
tests/lint_planted.py, which plants each bug with libcst and keeps it only when torch (the
oracle) builds the mutant and then raises on its forward pass while the original runs; the
torchvision sources are read from the installed package (skipped when it is absent or not
the version the cases were made on). Catch rate: ``python tests/lint_planted.py --score``."""
import pytest

import lint_planted as P

CASES = P.load_cases()
ORIGINALS = sorted({(c["source"], c["call"], c["input"]) for c in CASES})


def test_the_case_set():
    assert len(CASES) >= 58
    kinds = {c["kind"] for c in CASES}
    assert {"in_channels", "in_features", "num_features", "kernel_size", "block_in"} <= kinds
    assert sum(c["source"].startswith("torchvision:") for c in CASES) >= 20
    for c in CASES:
        assert c["torch"].startswith("forward: ")  # the oracle's verdict: a shape error when run


def _skip_unless_present(source, sha=None):
    import os

    real = P.source_path(source)
    if real is None or not os.path.exists(real):
        pytest.skip(f"{source}: not installed")
    if sha is not None and P.digest(real) != sha:
        pytest.skip(f"{source}: not the version the cases were made on (regenerate with python tests/lint_planted.py)")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['source'].split('/')[-1]}:{c['line']}:{c['kind']}" for c in CASES])
def test_planted_bug_found_on_the_line_to_edit(case):
    _skip_unless_present(case["source"], case["sha"])
    status, shown = P.replay(case)
    assert status == "caught", f"{status}: planted {case['old']}->{case['new']} at line {case['line']}; lint: {shown}"


@pytest.mark.parametrize("source,call,dims", ORIGINALS, ids=[f"{s.split('/')[-1]}::{c}" for s, c, _ in ORIGINALS])
def test_no_finding_on_the_original(source, call, dims):
    _skip_unless_present(source, next(c["sha"] for c in CASES if c["source"] == source))
    assert P.original_findings(source, call, dims) == []
