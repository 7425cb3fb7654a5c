"""Frontends translate a model definition into a :class:`~cnnsym.graph.Graph`, and nothing else."""
from __future__ import annotations


def is_source(spec: str) -> bool:
    """PyTorch source (``net.py``, ``net.py::Net``, ``net.py::Net(3)``) rather than ONNX."""
    return "::" in spec or spec.endswith(".py")


def load_any(spec: str, *, symbolic=(), inputs=None):
    """The Graph of an ONNX file or of a PyTorch source spec. ``inputs`` ({input name or
    None for the first: parsed dims}): the source frontend follows forward on those shapes
    (their rank and sizes) instead of guessing them from the first layer."""
    if is_source(spec):
        from .torch import load_source

        return load_source(spec, symbolic=list(symbolic), inputs=inputs)
    from .onnx import load

    return load(spec)
