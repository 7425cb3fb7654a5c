"""cnnsym: exact, symbolic analysis of convolutional networks.

The library API (documented in ``docs/api.md``)::

    import cnnsym
    rep = cnnsym.analyze("model.onnx", input="1x3xHxW")     # a frozen Report
    rep.totals["macs"], rep.at(H=224, W=224)["macs"]
    cnnsym.check(rep_or_model, max_macs="4.1G", for_all="H,W in 32..1024")
    cnnsym.verify("model.onnx", sizes=["224x224"])
    cnnsym.lint(["models/"])

``import cnnsym`` stays light: nothing heavy (sympy, onnx, onnxruntime, libcst) is imported
until a function is called. ``cnnsym.analyze``, ``cnnsym.verify`` and ``cnnsym.lint`` are
also the names of modules; those modules are callable and behave as the functions.
"""
from ._version import __version__

__all__ = ["analyze", "verify", "check", "lint", "explain", "__version__"]


def _load_plugins():
    # plugins and configuration are read at the edge, once, before any analysis
    from . import plugins
    from .ops import load_builtin_ops

    load_builtin_ops()
    plugins.load_plugins()


def _analyze(model, *, input=None, bind=None, symbolic=(), convention=None, name=None, fold_bn=False):
    """The symbolic Report of ``model`` (a path, an ``onnx.ModelProto``, a
    ``"file.py::Net(...)"`` spec or PyTorch source text; ``name=`` picks the model in a
    file or text that defines several). ``input`` renames, frees or fixes input dims
    (``"1x3xHxW"``, ``"input=Nx3xHxW"``, ``[1, 3, "H", "W"]``); ``bind`` chooses where
    values are evaluated (``"H=224,W=224"`` or a dict); ``symbolic`` keeps source
    hyperparameters as symbols; ``convention`` adds the total as another tool counts it;
    ``fold_bn`` analyses the inference model with BatchNorm folded into the convs, as
    exporters produce it."""
    _load_plugins()
    from . import api

    rep = api.analyze(model, input=input, bind=bind, symbolic=symbolic, name=name, fold_bn=fold_bn)
    if convention is not None:
        from .conventions import apply_to_report

        rep = apply_to_report(rep, convention)
    return rep


def _verify(model, **kwargs):
    """Prove a model's numbers on onnxruntime: see :func:`cnnsym.verify.verify_model`."""
    _load_plugins()
    from .verify import verify_model

    return verify_model(model, **kwargs)


def check(model, **kwargs):
    """Budgets on a model or Report: see :func:`cnnsym.checks.check_model`."""
    _load_plugins()
    from .checks import check_model

    return check_model(model, **kwargs)


def _lint(paths, **kwargs):
    """Lint model files or directories: see :func:`cnnsym.lint.engine.lint`."""
    _load_plugins()
    from .lint.engine import lint as run

    return run(paths, **kwargs)


def explain(model, layer, **kwargs):
    """A layer's numbers derived step by step: see :mod:`cnnsym.explain`."""
    _load_plugins()
    from .explain import explain as run

    return run(model, layer, **kwargs)


# ``cnnsym.analyze`` etc. are also submodules; importing a submodule replaces the package
# attribute with the module, so the modules are made callable (see cnnsym/_public.py) and
# the package attribute is the function until then.
analyze, verify, lint = _analyze, _verify, _lint
from ._public import PUBLIC  # noqa: E402

PUBLIC.update(analyze=_analyze, verify=_verify, lint=_lint)
