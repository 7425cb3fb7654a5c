"""The one pipeline: a model (path, ``ModelProto``, ``"file.py::Net(...)"`` spec or source
text) -> Graph -> inputs applied -> :class:`~cnnsym.report.Report`.

Every command (report, check, lint, verify, compare, explain) and the pytest plugin get
their Report from here; the public functions ``cnnsym.analyze``, ``cnnsym.verify``,
``cnnsym.check`` and ``cnnsym.lint`` are documented in ``docs/api.md``.

User strings (``input="1x3xHxW"``, ``bind="H=224,W=224"``) are parsed by
:mod:`cnnsym.parse`; they may also be given as values (a list of dims, a dict).
"""
from __future__ import annotations

import os
import tempfile

from .analyze import apply_inputs
from . import analyze as _analysis  # noqa: E402  (the module, imported just above; looked up per call)
from .errors import InputError
from .fold import fold_batchnorm
from .frontends import load_any
from .graph import Graph
from .parse import parse_bindings, parse_dims, parse_inputs
from .report import Report

__all__ = ["load", "analyze", "analyze_graph", "analyze_loaded", "inputs_of", "bindings_of"]


def inputs_of(value) -> dict:
    """``input=`` as the analysis wants it: {input name or None (the first): [dims]}.

    Accepts ``"1x3xHxW"``, ``"input=1x3xHxW"``, a list of such strings, a list of dims
    (``[1, 3, "H", "W"]``) or a dict ``{"input": "1x3xHxW" | [dims]}``."""
    if value is None or value == () or value == []:
        return {}
    if isinstance(value, str):
        return parse_inputs([value])
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = parse_dims(v, f"input {k}") if isinstance(v, str) else _dims_list(v, k)
        return out
    items = list(value)
    if items and all(isinstance(x, str) for x in items) and any(("x" in x or "=" in x) for x in items):
        return parse_inputs(items)
    return {None: _dims_list(items, None)}


def _dims_list(dims, name):
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, str)):
            raise InputError(None, f"input {name or ''}: {d!r} is neither an integer nor a name")
        if isinstance(d, int) and d < 1:
            raise InputError(None, f"input {name or ''}: dim {d} must be >= 1")
        if isinstance(d, str) and not d.isidentifier():
            out.extend(parse_dims(d, f"input {name or ''}"))
            continue
        out.append(d)
    return out


def bindings_of(value) -> dict:
    """``bind=`` as a dict of symbol -> positive int: ``"H=224,W=224"``, a list of such
    strings, or a dict."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return parse_bindings([",".join(f"{k}={v}" for k, v in value.items())])
    if isinstance(value, str):
        return parse_bindings([value])
    return parse_bindings(list(value))


def load(model, *, symbolic=(), name=None, input=None) -> Graph:
    """The Graph of ``model``: an ONNX path, an ``onnx.ModelProto``, a source spec
    (``net.py::Net(3)``), or PyTorch source text (pick the model with ``name=``). ``input``
    (as :func:`inputs_of` takes it): a source model's forward is followed on those shapes,
    not on a rank guessed from its first layer."""
    inputs = inputs_of(input)
    if hasattr(model, "SerializeToString") and hasattr(model, "graph"):
        return _from_temp(model.SerializeToString(), "model.onnx", "<ModelProto>", symbolic, None, "wb", inputs)
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if not isinstance(model, str):
        raise InputError(None, f"cannot analyse a {type(model).__name__}: give a path, a ModelProto, a "
                               f"'file.py::Net' spec or source text")
    if "\n" in model:  # source text: paths and specs are one line
        return _from_temp(model, "model.py", "<source>", symbolic, name, "w", inputs)
    if name is not None and "::" not in model and model.endswith(".py"):
        model = f"{model}::{name}"
    return load_any(model, symbolic=symbolic, inputs=inputs)


def _from_temp(data, filename, shown, symbolic, name, mode, inputs=None):
    with tempfile.TemporaryDirectory(prefix="cnnsym-") as d:
        path = os.path.join(d, filename)
        with open(path, mode) as f:
            f.write(data)
        spec = path
        if filename.endswith(".py"):
            if name is None:
                from .frontends.torch import list_models

                names = list_models(path)
                if len(names) != 1:
                    raise InputError(shown, f"the source defines {len(names)} models ({', '.join(names)}): "
                                            f"choose one with name=")
                name = names[0]
            spec = f"{path}::{name}"
        graph = load_any(spec, symbolic=symbolic, inputs=inputs)
    graph.path = shown
    return graph


def analyze_graph(model, *, input=None, bind=None, symbolic=(), name=None, strict_bindings=True, fold_bn=False):
    """(graph, report): :func:`analyze` for the callers that also need the Graph (lowering
    a source model to ONNX for verify). ``fold_bn``: analyse the inference model with each
    BatchNormalization folded into the Conv before it, as exporters do (:mod:`cnnsym.fold`);
    the Report's warnings say which were folded and why the others were kept."""
    overrides = inputs_of(input)
    bindings = bindings_of(bind)
    graph = load(model, symbolic=symbolic, name=name, input=overrides)
    apply_inputs(graph, overrides)
    if fold_bn:
        graph = fold_batchnorm(graph)[0]
    return graph, _analysis.analyze(graph, bindings, strict_bindings=strict_bindings)


def analyze_loaded(graph: Graph, bind=None, *, strict_bindings=True, lazy_modules=False, lazy=False) -> Report:
    """The Report of a Graph already loaded (and prepared, e.g. by lint's input policy).
    ``lazy_modules``: the module tree is built on the first read of ``Report.modules``;
    ``lazy``: that, and receptive fields, warnings, totals and values too (see
    :func:`cnnsym.analyze.analyze`)."""
    return _analysis.analyze(graph, bindings_of(bind), strict_bindings=strict_bindings, lazy_modules=lazy_modules,
                             lazy=lazy)


def analyze(model, *, input=None, bind=None, symbolic=(), name=None, strict_bindings=True,
            fold_bn=False) -> Report:
    """The symbolic :class:`~cnnsym.report.Report` of ``model`` (see the module doc);
    ``fold_bn=True``: of its inference form with BatchNorm folded (see :func:`analyze_graph`)."""
    return analyze_graph(model, input=input, bind=bind, symbolic=symbolic, name=name,
                         strict_bindings=strict_bindings, fold_bn=fold_bn)[1]
