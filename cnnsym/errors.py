"""Errors carry the file, node or source location they concern; only the CLI prints them."""
from __future__ import annotations


class CnnsymError(Exception):
    """Base class. ``str(err)`` is the one line a user sees."""


class InputError(CnnsymError):
    """The model file (or a command-line value) is unusable: exit code 2."""

    def __init__(self, path, problem: str):
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class ShapeError(CnnsymError):
    """An op cannot produce a shape from what reaches it."""

    def __init__(self, node, problem: str, *, kind: str = "", expected=None, got=None):
        self.node = node
        self.problem = problem
        # structured detail for lint rules: what disagrees (channels, features, broadcast,
        # elements, size) and the two sides, expected by the op and got from its input
        self.kind, self.expected, self.got = kind, expected, got
        where = getattr(node, "describe", lambda: str(node))() if node is not None else ""
        super().__init__(f"{where}: {problem}" if where else problem)


class BindingError(CnnsymError):
    """Sizes requested outside the model's valid domain."""
