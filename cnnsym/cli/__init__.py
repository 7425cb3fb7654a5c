"""The ``cnnsym`` command line: a thin layer over the library (:mod:`cnnsym.api` and the
modules above it). Each command lives in its own module and registers itself on the group
defined in :mod:`cnnsym.cli._app`. A command's module is imported when the command is first
looked up (``_app.COMMAND_MODULES``), so a command's start-up pays for its own module only."""
from __future__ import annotations

from ._app import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main

__all__ = ["main", "EXIT_OK", "EXIT_INVALID", "EXIT_ERROR"]

if __name__ == "__main__":  # pragma: no cover
    main()
