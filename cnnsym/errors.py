"""Errors carry the file, node or source location they concern; only the CLI prints them."""
from __future__ import annotations

from typing import NamedTuple

# What a requirement (or an op's failure) is about: lint rules route on this, never on the
# wording of a message. ShapeError(kind=...) -> Problem.kind; Need(kind=...) -> Constraint.kind.
SIZE = "size"  # a spatial extent must stay >= 1 (a window larger than what reaches it)
CHANNELS = "channels"
FEATURES = "features"
BROADCAST = "broadcast"
ELEMENTS = "elements"
SHAPE = "shape"


class Need(NamedTuple):
    """A requirement an op puts on its input sizes: a sympy relational, the message a user
    reads, what it is about (``kind``, one of the names above or "") and the axis it
    concerns (or None). Ops may still give plain ``(rel, message)`` pairs."""

    rel: object
    message: str
    kind: str = ""
    axis: object = None


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
