"""Deep Python recursion without CPython's frame-stack churn (issue 12).

Since CPython 3.11 the frames of Python functions live in a per-thread stack made of
chunks (16 KiB to start with). A frame that does not fit in the current chunk gets a new
chunk from ``mmap``, and when that frame returns the chunk goes back with ``munmap`` at
once. The source frontend is a recursive interpreter whose depth goes up and down by many
frames for every interpreted call: where it crosses a chunk boundary back and forth, each
crossing costs an ``mmap``, a ``munmap`` and four page faults. A cold ``cnnsym lint`` of
50 real model files made 108,000 of each (strace), 0.6 s of system time and ~0.3 s more of
user time: ~15% of the run.

:func:`run_deep` calls a function from a frame whose stack area is reserved large
(``co_stacksize`` of a copy of a tiny function's code): the chunk made for that frame is
sized for it with room to spare (2 MiB, of which 1 MiB is free: well beyond the recursion
limit's depth), so the frames above it stay in that one chunk and none is allocated or
freed. The reserved area is never written, so its pages are never touched; the memory a
run uses does not change. Nothing else changes either: same code, same results; on other
Python versions and implementations the function is called directly."""
from __future__ import annotations

import sys
from _thread import get_ident

_RESERVED_BYTES = 1 << 20


def _call(f, a, k):
    return f(*a, **k)


def _roomy():
    if sys.implementation.name != "cpython" or sys.version_info < (3, 11):
        return None
    try:
        code = _call.__code__.replace(co_stacksize=_RESERVED_BYTES // 8)
        return type(_call)(code, _call.__globals__, "_call")
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - a CPython without replace()
        return None


_ROOMY = _roomy()
_ACTIVE: set = set()  # threads already running inside a roomy frame


def run_deep(f, *args, **kwargs):
    """``f(*args, **kwargs)``, called from a frame that keeps deep recursion in one stack chunk."""
    me = get_ident()
    if _ROOMY is None or me in _ACTIVE:
        return f(*args, **kwargs)
    _ACTIVE.add(me)
    try:
        return _ROOMY(f, args, kwargs)
    finally:
        _ACTIVE.discard(me)
