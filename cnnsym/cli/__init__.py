"""The ``cnnsym`` command line: a thin layer over the library (:mod:`cnnsym.api` and the
modules above it). Each command lives in its own module and registers itself on the group
defined in :mod:`cnnsym.cli._app`; importing this package registers them all."""
from __future__ import annotations

from . import check, conventions, explain, lint, ops, report, verify  # noqa: F401  (register the commands)
from . import lecture  # noqa: F401,E402  (cnnsym lecture)
from ._app import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main

__all__ = ["main", "EXIT_OK", "EXIT_INVALID", "EXIT_ERROR"]

if __name__ == "__main__":  # pragma: no cover
    main()
