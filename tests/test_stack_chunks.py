"""cnnsym/_stack.py: deep recursion run from a roomy frame stays in one frame-stack chunk.

CPython 3.11+ keeps Python frames in per-thread chunks and returns a chunk to the system as
soon as the frame that opened it returns: a recursion whose depth goes back and forth across
a chunk boundary maps and unmaps memory on every crossing (each new mapping is page faults
again). The oracle is the kernel's count of minor page faults for this process."""
from __future__ import annotations

import sys

import pytest

from cnnsym._stack import run_deep

resource = pytest.importorskip("resource")


def _down(n):
    return 0 if n == 0 else 1 + _down(n - 1)


def _swing(times, depth):
    total = 0
    for _ in range(times):
        total += _down(depth)  # ~300 frames of ~100 bytes: crosses 16 KiB chunk boundaries
    return total


def _faults(f, *a):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = f(*a)
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_result_and_errors_pass_through():
    assert run_deep(lambda a, b=0: a * 10 + b, 4, b=2) == 42
    with pytest.raises(KeyError):
        run_deep(lambda: {}["missing"])
    # nested: the inner call runs directly, same result
    assert run_deep(lambda: run_deep(_down, 50)) == 50


@pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info < (3, 11),
                    reason="frames live in stack chunks from CPython 3.11")
def test_swinging_recursion_maps_no_memory_inside_run_deep():
    run_deep(_swing, 3, 300)  # warm: the roomy chunk's pages are touched once
    out, faults = _faults(run_deep, _swing, 3000, 300)
    assert out == 3000 * 300
    # without the roomy frame, each of the 3,000 swings maps and unmaps a fresh chunk (four
    # faults each on 3.11); inside it, nothing is mapped: a few faults at most (the loop
    # itself allocates nothing that needs new pages)
    assert faults < 200, faults
