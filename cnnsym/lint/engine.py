"""The lint driver: find the models, analyse each once at its configured input size, run
the selected rules on its Report, drop suppressed findings, cache per file content.

Which models: an ``.onnx`` file is one model; a ``.py`` file's root models are its
nn.Module classes that no other model class or factory in the file names, and its factory
functions that no other factory names; ``FILE::CALL`` picks one. A directory is searched
for both (hidden folders, virtual environments and caches skipped).

Input size: ``--input`` > ``[tool.cnnsym.models."pattern"] input`` > ``[tool.cnnsym] input``
> the file's static dims (ONNX) > none. Spatial dims of the configured input are kept as
symbols (the frontend's names, or H, W / D, H, W / L) and bound to the configured values,
so a rule can say both the value and its formula, and which sizes would work.

Locations: a source model's finding points at the line to edit: where the layer's wrong
argument was written (``node.arg_locs``, through any chain of constructor calls), else the
layer's definition (``node.loc``); the calls that built it are related locations, and its
definition, those calls and its call in ``forward`` are the other lines whose ``# noqa``
counts (see LintContext.finding). An ONNX model's findings are at line 1, column 1 of the
file, with the node's name in the message (ONNX has no lines).
"""
from __future__ import annotations

import os

from .. import api, plugins
from ..analyze import apply_inputs
from ..config import load_config
from ..errors import CnnsymError, InputError
from ..parse import parse_bind, parse_dims
from . import RULES, Finding, all_rules, parallel, selected
# the run's light parts (discovery, cache, suppression) live in .cache; named here too
from .cache import (IGNORE, NOQA, SKIP_DIRS, LintResult, Options, Target, cache_put, cached_file,  # noqa: F401
                    discover, file_digest, run, selection_fingerprint, source_line, suppress, suppressed)
from .context import LintContext, display_path

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


# --------------------------------------------------------------------------- discovery
def root_models(path, source: str, models: list) -> list:
    """The models no other model (class or factory) in the file names: parse only (ast)."""
    import ast

    if len(models) <= 1:
        return list(models)
    from ..frontends.torch.imports import python_ast

    # the tree the listing parsed, while the file is what it parsed (else parsed here)
    tree = python_ast(os.path.abspath(path))
    if tree is None:
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError:
            return list(models)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name in models}
    used = set()
    for name, d in defs.items():
        for sub in ast.walk(d):
            if isinstance(sub, ast.Name) and sub.id in defs and sub.id != name:
                used.add(sub.id)
    return [m for m in models if m not in used]


# --------------------------------------------------------------------------- input size
def _dims_for(target, opts):
    """The configured dims text for a model, or None."""
    if opts.inputs:
        return list(opts.inputs)
    cfg = opts.cfg
    if cfg is not None:
        return cfg.input_for(target.spec) or None
    return None


def prepare(graph, dims_texts):
    """Apply the configured input to ``graph``: spatial dims become symbols bound to their
    values. Returns (bindings or None, spatial symbol names, batch symbol names, note)."""
    overrides = {}
    note = ""
    for text in dims_texts or ():
        name, eq, d = text.rpartition("=")
        key = name.strip() if eq else None
        overrides[key] = parse_dims(d.strip(), f"--input {key}" if key else "--input")
    bindings, spatial, batch = {}, [], []
    new = {}
    for gi in graph.inputs:
        given = overrides.get(gi.name, overrides.get(None) if gi is graph.inputs[0] else None)
        dims = list(given) if given is not None else [d for d in gi.shape]
        if given is not None and len(given) != len(gi.shape):
            note = (f"the configured input {'x'.join(map(str, given))} has rank {len(given)} but input "
                    f"{gi.name!r} has rank {len(gi.shape)}")
            dims = list(gi.shape)
            given = None
        rank = len(dims)
        out = []
        for ax, d in enumerate(dims):
            is_int = isinstance(d, int) or getattr(d, "is_Integer", False)
            if rank >= 3 and ax >= 2:
                if is_int:
                    nm = _axis_name(gi, ax, rank, set(bindings))
                    bindings[nm] = int(d)
                    out.append(nm)
                    spatial.append(nm)
                else:
                    out.append(str(d))
                    spatial.append(str(d))
            else:
                if is_int:
                    out.append(int(d))
                else:
                    out.append(str(d))
                    if ax == 0:
                        batch.append(str(d))
        if given is not None or any(isinstance(x, str) for x in out):
            new[gi.name] = out
    if new:
        apply_inputs(graph, new)
    if not bindings or any(s not in bindings for s in spatial):
        return None, spatial, batch, note
    for b in batch:
        bindings.setdefault(b, 1)
    return bindings, spatial, batch, note


def _axis_name(gi, ax, rank, taken):
    names = getattr(gi, "axis_names", ()) or ()
    nm = names[ax] if ax < len(names) and names[ax] else None
    if nm is None or not str(nm).isidentifier():
        base = SPATIAL_NAMES.get(rank - 2, tuple(f"S{j}" for j in range(rank - 2)))[ax - 2]
        nm = base
    nm = str(nm)
    k = 2
    cand = nm
    while cand in taken:
        cand = f"{nm}{k}"
        k += 1
    return cand


# --------------------------------------------------------------------------- analysis
def _skipped(rules, budgets):
    return [c for c, r in rules.items() if getattr(r, "needs_input", False) and (budgets or not c.startswith("CNS3"))]


def lint_model(target, opts, dims=None):
    """Findings of one model (no suppression applied)."""
    model_opts = {}
    cfg = opts.cfg
    if cfg is not None:
        e = cfg.model_entry(target.spec)
        budgets = {k: v for k, v in cfg.budgets.items() if k.startswith("max-") and k != "max-growth"}
        budgets.update({k: v for k, v in e.items() if k.startswith("max-") and k != "max-growth"})
        model_opts["budgets"] = budgets
        bind = e.get("bind") or cfg.budgets.get("bind") or cfg.bind
        model_opts["bind"] = parse_bind(bind) if bind else {}
    rules = opts.rules
    graph = api.load(target.spec)
    bindings, spatial, batch, note = prepare(graph, dims if dims is not None else _dims_for(target, opts))
    # the module tree, receptive fields (and the warnings, some of which they make), totals
    # and values only when a rule reads them (merge's block edges, CNS205, budgets); a rule
    # from elsewhere (a plugin) gets the Report as the API makes it: dicts and lists, not
    # the lazy stand-ins that equal them
    lazy = all(getattr(r, "__module__", "").startswith("cnnsym.lint.") or getattr(r, "lazy_report", False)
               for r in rules.values())
    report = api.analyze_loaded(graph, dict(bindings or {}), strict_bindings=False, lazy=lazy)
    if report.problems and bindings:
        # an op that cannot follow a symbolic size would report a false error: retry at the
        # concrete size and keep whichever analysis has fewer problems
        g2 = api.load(target.spec)
        try:
            _concrete(g2, bindings, spatial, dims if dims is not None else _dims_for(target, opts), apply_inputs)
            r2 = api.analyze_loaded(g2, {}, strict_bindings=False, lazy=lazy)
            if len(r2.problems) < len(report.problems):
                report, spatial, bindings = r2, [], {k: v for k, v in bindings.items() if k not in spatial} or None
        except CnnsymError:
            pass
    skipped = _skipped(rules, model_opts.get("budgets")) if bindings is None else []
    ctx = LintContext(report, bindings=bindings, spatial=spatial, model=display_path(target.spec) if "::" not in target.spec
                      else target.spec, path=target.path, options=model_opts, skipped=skipped, batch=batch)
    out = []
    for code, rule in rules.items():
        out.extend(rule().check(ctx) or ())
    if note:
        r = RULES.get("CNS004")
        if r is not None and "CNS004" in rules:
            out.append(ctx.finding(r, None, note + ": analysed with no input size"))
    return out


def _concrete(graph, bindings, spatial, dims_texts, apply_inputs):
    for text in dims_texts or ():
        name, eq, d = text.rpartition("=")
        key = name.strip() if eq else None
        gi = next((g for g in graph.inputs if g.name == key), None) if key else graph.inputs[0]
        if gi is not None:
            apply_inputs(graph, {gi.name: parse_dims(d.strip())})


def _model_specs(path, opts):
    """The root models of a Python file as specs (with their configured calls when the
    configuration names one), or raises InputError for an unreadable file."""
    from ..frontends.torch import list_models

    models = list_models(path)
    if not models:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            src = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read ({e})")
    roots = root_models(path, src, models)
    specs = []
    for m in roots:
        specs.append(f"{path}::{m}")
    # configured calls like "models/resnet.py::ResNet(Bottleneck, [3, 4, 6, 3])"
    if opts.cfg is not None:
        for pat in opts.cfg.models:
            p, has, call = pat.partition("::")
            if has and "(" in call and opts.cfg.rel(path) == p.replace(os.sep, "/"):
                name = call.split("(", 1)[0].strip()
                specs = [s for s in specs if s.split("::", 1)[1] != name] + [f"{path}::{call}"]
    return specs


# --------------------------------------------------------------------------- driver
def _lint_file(path, opts, result, explicit_targets=()):
    """Lint every root model of one file (or the explicit targets in it)."""
    if not path.endswith(".py"):
        return _lint_one_file(path, opts, result, explicit_targets)
    from ..frontends.torch import listing_handover

    with listing_handover():  # the listing's interpreter serves the file's first model (issue 12)
        return _lint_one_file(path, opts, result, explicit_targets)


def _lint_one_file(path, opts, result, explicit_targets=()):
    hit, key = cached_file(path, opts, result, explicit_targets)
    if hit is not None:
        return hit
    if not path.endswith(".py"):
        return _analyse_file(path, opts, result, explicit_targets, key, None)
    from ..frontends.torch.imports import recording_reads

    with recording_reads(set()) as read:  # the source files the result depends on (the cache entry)
        return _analyse_file(path, opts, result, explicit_targets, key, read)


def _analyse_file(path, opts, result, explicit_targets, key, read):
    findings, errors, models = [], [], 0
    if explicit_targets:
        targets = list(explicit_targets)
    elif path.endswith(".onnx"):
        targets = [Target(path, path, "onnx")]
    else:
        try:
            targets = [Target(s, path, "torch") for s in _model_specs(path, opts)]
        except CnnsymError as e:
            errors.append(_one(str(e), path))
            targets = []
        except RecursionError:
            errors.append(f"{path}: too deeply nested to read")
            targets = []
        except Exception as e:  # noqa: BLE001 - one file's failure must not hide the others' results
            if os.environ.get("CNNSYM_DEBUG") == "1":
                raise
            errors.append(_internal(path, e))
            targets, key = [], None  # not cached: the next run tries again
    for t in targets:
        models += 1
        try:
            findings.extend(lint_model(t, opts))
        except CnnsymError as e:
            if t.kind == "onnx" or t.explicit:
                errors.append(_one(str(e), t.path))
                continue
            r = RULES.get("CNS002")
            if r is not None and "CNS002" in opts.rules:
                msg = str(e)
                if msg.startswith(path + ": "):
                    msg = msg[len(path) + 2:]
                findings.append(Finding("CNS002", r.name, r.severity, f"{t.spec.split('::', 1)[-1]} not analysed: {msg}",
                                        display_path(path), 1, 1, "", t.spec, (), r.fix))
        except RecursionError:
            errors.append(f"{t.path}: the model is too deeply nested to analyse (recursion limit)")
        except MemoryError:
            errors.append(f"{t.path}: out of memory while analysing")
        except Exception as e:  # noqa: BLE001 - an internal error in one model: report it, go on
            if os.environ.get("CNNSYM_DEBUG") == "1":
                raise
            errors.append(_internal(t.spec, e))
            key = None
    if key:
        # every source file the listing and the analyses tried to read (recorded as they
        # read: those that failed to parse included), the file itself excluded (the key)
        deps = sorted(set(read or ()) - {os.path.abspath(path)})
        cache_put(opts, key, {"findings": [dict(f.to_dict(), alt_lines=list(f.alt_lines)) for f in findings],
                              "errors": errors, "models": models, "deps": {p: file_digest(p) for p in deps}})
    result.models += models
    result.errors.extend(errors)
    return findings


def _internal(where, e) -> str:
    """One line naming the file (and model) where cnnsym itself failed."""
    msg = " ".join(f"{type(e).__name__}: {e}".split())[:300]
    return f"{where}: internal error ({msg}); not checked, the other files were (rerun with CNNSYM_DEBUG=1 for a traceback)"


def _one(msg, path):
    msg = " ".join(str(msg).split())
    return msg if path in msg else f"{path}: {msg}"


def lint(paths, *, input=None, select=None, extend_select=(), ignore=(), config=None, cache=False,
         jobs=1) -> LintResult:
    """``cnnsym lint`` as a function (``cnnsym.lint``): the findings and errors of the models
    in ``paths`` (a path, FILE::CALL, a directory, or a list of them). ``input``: what
    ``--input`` takes (a string or a list of them); ``select``/``extend_select``/``ignore``:
    rule codes or prefixes; ``config``: a pyproject.toml (default: the nearest one);
    ``cache``: read and write .cnnsym_cache/ as the CLI does (off: every model analysed);
    ``jobs``: worker processes (forked) for the files to analyse, as ``-j`` (default 1: all
    in this process; None or 0: one per CPU); the result is the same.
    An unknown rule code or a bad input size raises CnnsymError."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    inputs = [input] if isinstance(input, str) else list(input or ())
    codes = [_codes_of(v) for v in (select, extend_select, ignore)]
    cfg = load_config(config)
    if cfg.plugins:
        plugins.load_paths(cfg.plugins, cfg.root if cfg.path else os.getcwd())
    rules = all_rules()
    unknown = [c for c in codes[0] + codes[1] + codes[2] if not any(r.startswith(c) for r in rules)]
    if unknown:
        raise CnnsymError(f"no rule matches {', '.join(unknown)} (see `cnnsym rules`)")
    for t in inputs:
        parse_dims(t.rpartition("=")[2].strip(), "--input")
    chosen = selected(rules, codes[0] or cfg.select, codes[1] + list(cfg.extend_select), codes[2] + list(cfg.ignore))
    return lint_paths(paths, Options(chosen, inputs or None, cfg, cache=bool(cache) and cfg.cache, jobs=jobs))


def _codes_of(v):
    """'CNS1,CNS203' or ['CNS1', 'CNS203'] -> ['CNS1', 'CNS203']."""
    out = []
    for text in ([v] if isinstance(v, str) else (v or ())):
        out += [c.strip().upper() for c in str(text).split(",") if c.strip()]
    return out


def lint_paths(paths, opts) -> LintResult:
    """Every file's findings (cached per file content), suppressed, deduplicated, sorted;
    one file's failure is an error line naming it and the others go on. ``opts.jobs``
    other than 1: the files not in the cache are linted in worker processes (None or 0:
    one per CPU), with the same result."""
    workers = opts.jobs if opts.jobs else parallel.default_jobs()
    if workers <= 1:
        return run(paths, opts, _lint_file, _internal)
    return run(paths, opts, _lint_file, _internal,
               mapper=lambda jobs, o, lf, internal: parallel.map_files(jobs, o, lf, internal, workers, _preload))


def _preload(paths):
    """What every worker would otherwise import on its own: loaded once, before the fork."""
    if any(p.endswith(".py") for p in paths):
        import cnnsym.frontends.torch  # noqa: F401
    if any(p.endswith(".onnx") for p in paths):
        import cnnsym.frontends.onnx  # noqa: F401
