"""Differential fuzzing, CI profile: random CNN graphs (``tests/fuzzgen.py``) checked against
onnxruntime at random sizes, derandomised so that CI sees the same graphs every run.

The property (see ``fuzzgen``): where cnnsym's valid domain holds, onnxruntime runs and every
node output has cnnsym's shape; where it does not, onnxruntime fails. The long campaign is
``python bench/fuzz.py --minutes 20``.
"""
from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import fuzzgen  # noqa: E402

PROFILE = settings(max_examples=int(os.environ.get("CNNSYM_FUZZ_EXAMPLES", 300)), deadline=None,
                   derandomize=True, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much, HealthCheck.large_base_example])


@PROFILE
@given(st.data())
def test_cnnsym_agrees_with_onnxruntime(data):
    case = data.draw(fuzzgen.graphs(), label="graph")
    try:
        fuzzgen.check_case(data, case)
    except fuzzgen.Mismatch as e:
        raise AssertionError(f"{e}\n\nminimal graph:\n{fuzzgen.minimal_text(case.model, e.dims)}") from None


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_small_graphs_agree(data):
    """One- and two-block graphs: every op on its own, at many sizes each."""
    case = data.draw(fuzzgen.graphs(max_blocks=2), label="graph")
    try:
        fuzzgen.check_case(data, case, n_sizes=12)
    except fuzzgen.Mismatch as e:
        raise AssertionError(f"{e}\n\nminimal graph:\n{fuzzgen.minimal_text(case.model, e.dims)}") from None
