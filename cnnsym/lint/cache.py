"""What a lint run needs before any model is read, kept light (standard library only):
finding the files, the result cache keyed by content, suppression (``# noqa``), and the run
loop itself, which :func:`cnnsym.lint.engine.lint_paths` drives with the analysis and
``cnnsym lint`` first drives with none: when every file's result is in the cache (nothing
changed), the findings are printed without importing sympy, libcst or the rules (issue 12:
a warm run is start-up, hashing and reading the cache).

A file's cache key: cnnsym's version and its own source (the size and modification time of
every ``.py`` file of the installed package: a result made by other code is not reused), the
run's options (the selected rules, or, from the CLI, the selection as written plus the
plugins that could add rules: configured plugin files by content, installed entry points by
distribution and version), the configuration, the file's path and content, and the content
of the ``.py`` files beside it (a source model imports its siblings). The entry also records
the other source files its analyses read, in any folder (recorded as the interpreter reads
them, :func:`cnnsym.frontends.torch.imports.recording_reads`; those that failed to parse
included) with a hash of their content; a hit whose recorded files changed is a miss."""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field

from .. import plugins
from .._version import __version__
from . import Finding

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", ".env", "node_modules", ".tox", ".nox",
             "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cnnsym_cache", "build", "dist"}
NOQA = re.compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
IGNORE = re.compile(r"#\s*cnnsym:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.I)


@dataclass
class Target:
    spec: str  # path, or path::CALL
    path: str
    kind: str  # "onnx" | "torch"
    explicit: bool = False  # named by the user (FILE::CALL): a failure is an input error


@dataclass
class LintResult:
    findings: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # one-line input errors (files that cannot be read)
    models: int = 0
    files: int = 0
    cached: int = 0

    def counts(self):
        c = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            c[f.severity] = c.get(f.severity, 0) + 1
        return c


@dataclass
class Options:
    rules: dict  # code -> Rule class (already selected)
    inputs: list | None = None  # --input values ("[NAME=]DIMS"), overriding the config
    cfg: object = None  # config.Config
    cache: bool = True
    cache_dir: str | None = None
    # what decides the rule set, known before any rule is loaded (see selection_fingerprint);
    # None: the key names the selected rules and the loaded plugins instead
    fingerprint: str | None = None
    # worker processes for the files not in the cache (cnnsym.lint.parallel): 1 in this
    # process; None or 0 one per CPU (`cnnsym lint` without -j)
    jobs: int | None = 1


# --------------------------------------------------------------------------- discovery
def _walk(d):
    for root, dirs, files in os.walk(d):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("."))
        for f in sorted(files):
            if f.endswith((".py", ".onnx")):
                yield os.path.join(root, f)


def discover(paths):
    """(files, explicit targets, errors): files to search for models, FILE::CALL targets."""
    files, targets, errors = [], [], []
    for p in paths:
        p = str(p)
        if "::" in p:
            path = p.split("::", 1)[0]
            if not os.path.isfile(path):
                errors.append(f"{path}: no such file")
                continue
            targets.append(Target(p, path, "torch", explicit=True))
        elif os.path.isdir(p):
            files.extend(_walk(p))
        elif os.path.isfile(p):
            files.append(p)
        else:
            errors.append(f"{p}: no such file or directory")
    return files, targets, errors


# --------------------------------------------------------------------------- cache keys
def selection_fingerprint(select, extend_select, ignore, cfg, no_plugins=None) -> str:
    """What decides which rules a CLI run applies, without loading one: the selection as
    written (options and configuration) and every plugin that could add rules (configured
    plugin files by content, installed ``cnnsym.plugins`` entry points by value and by
    their distribution's name and version)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(select or ()), list(extend_select or ()), list(ignore or ()),
                         getattr(cfg, "select", None), list(getattr(cfg, "extend_select", ()) or ()),
                         list(getattr(cfg, "ignore", ()) or ())], default=str).encode())
    root = cfg.root if cfg is not None and cfg.path else os.getcwd()
    for p in (getattr(cfg, "plugins", None) or ()):
        full = os.path.join(root, str(p))
        h.update(b"plugin\0" + str(p).encode() + b"\0")
        if os.path.isfile(full):
            with open(full, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    if no_plugins is None:
        no_plugins = os.environ.get("CNNSYM_NO_PLUGINS") == "1"
    if not no_plugins:
        for ep in plugins._entry_points():
            dist = getattr(ep, "dist", None)
            h.update(json.dumps([ep.name, ep.value, getattr(dist, "name", None),
                                 getattr(dist, "version", None)]).encode())
    return "sel:" + h.hexdigest()


_DIR_DIGEST: dict = {}
_FILE_DIGEST: dict = {}
_STAMPS: dict = {}
_CODE: list = []
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reset():
    """Forget what this process hashed and read (a run's start: files may have changed
    since the last run of a long-lived process)."""
    _DIR_DIGEST.clear()
    _FILE_DIGEST.clear()
    _STAMPS.clear()
    _LINES.clear()


def file_stamp(path):
    """(path, size, modification time) of a file, or None; once per run."""
    if path not in _STAMPS:
        try:
            st = os.stat(path)
            _STAMPS[path] = (path, st.st_size, st.st_mtime_ns)
        except OSError:
            _STAMPS[path] = None
    return _STAMPS[path]


def code_digest() -> str:
    """cnnsym's own source, cheaply: the relative path, size and modification time of every
    ``.py`` file of the package (an edit or a reinstall changes it); once per process."""
    if not _CODE:
        h = hashlib.sha256(__version__.encode())
        for root, dirs, files in os.walk(PACKAGE_DIR):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for n in sorted(files):
                if n.endswith(".py"):
                    p = os.path.join(root, n)
                    try:
                        st = os.stat(p)
                    except OSError:
                        continue
                    h.update(f"{os.path.relpath(p, PACKAGE_DIR)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def file_digest(path):
    """A hash of the file's content (None when it cannot be read), once per run."""
    if path in _FILE_DIGEST:
        return _FILE_DIGEST[path]
    try:
        with open(path, "rb") as f:
            d = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        d = None
    _FILE_DIGEST[path] = d
    return d


def deps_fresh(entry) -> bool:
    """Every file the entry's analysis may have read still has the content it had."""
    return all(file_digest(p) == d for p, d in (entry.get("deps") or {}).items())


def _dir_digest(d):
    """Source models import their siblings: a file's result depends on them too."""
    if d in _DIR_DIGEST:
        return _DIR_DIGEST[d]
    h = hashlib.sha256()
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".py"))
    except OSError:
        names = []
    for n in names:
        try:
            with open(os.path.join(d, n), "rb") as f:
                h.update(n.encode() + b"\0" + hashlib.sha256(f.read()).digest())
        except OSError:
            pass
    _DIR_DIGEST[d] = h.hexdigest()
    return _DIR_DIGEST[d]


def cache_key(path, opts, explicit_targets=()):
    extra = {"rules": opts.fingerprint or sorted(opts.rules), "inputs": opts.inputs,
             "targets": [t.spec for t in explicit_targets],
             "cfg": None if opts.cfg is None else {k: getattr(opts.cfg, k) for k in ("input", "bind", "budgets", "models")}}
    h = hashlib.sha256()
    h.update(code_digest().encode())
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    if opts.fingerprint is None:
        h.update(json.dumps([(p.name, p.origin) for p in plugins.LOADED]).encode())
    h.update(os.path.abspath(path).encode())
    with open(path, "rb") as f:
        h.update(hashlib.sha256(f.read()).digest())
    if path.endswith(".py"):
        h.update(_dir_digest(os.path.dirname(os.path.abspath(path))).encode())
    return h.hexdigest()


def cache_dir(opts):
    if opts.cache_dir:
        return opts.cache_dir
    env = os.environ.get("CNNSYM_CACHE_DIR")
    if env:
        return env
    root = opts.cfg.root if opts.cfg is not None and opts.cfg.path else os.getcwd()
    return os.path.join(root, ".cnnsym_cache")


def cache_get(opts, key):
    p = os.path.join(cache_dir(opts), "lint", key[:2], key + ".json")
    try:
        with open(p, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cache_put(opts, key, value):
    d = os.path.join(cache_dir(opts), "lint", key[:2])
    try:
        os.makedirs(d, exist_ok=True)
        top = os.path.join(cache_dir(opts), ".gitignore")
        if not os.path.exists(top):
            with open(top, "w") as f:
                f.write("*\n")
        tmp = os.path.join(d, f".{key}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(value))  # dumps: the C encoder (json.dump encodes in Python)
        os.replace(tmp, os.path.join(d, key + ".json"))
    except OSError:
        pass  # a read-only tree just runs uncached


class Miss(Exception):
    """A file whose result is not in the cache, in a run that only reads the cache."""


def cached_file(path, opts, result, explicit_targets=()):
    """(findings, key): the file's cached findings (counted in ``result``) and its key;
    findings None on a miss (key None when the cache is off or the file cannot be read)."""
    key = None
    if opts.cache:
        try:
            key = cache_key(path, opts, explicit_targets)
        except OSError:
            key = None
        hit = cache_get(opts, key) if key else None
        if hit is not None and not deps_fresh(hit):
            hit = None  # a file it imports changed: analysed again, the entry replaced
        if hit is not None:
            result.cached += 1
            result.models += hit.get("models", 0)
            result.errors.extend(hit.get("errors", []))
            return [Finding.from_dict(d) for d in hit.get("findings", [])], key
    return None, key


# --------------------------------------------------------------------------- the run
def lint_one(lint_file, internal, opts, path, targets):
    """(findings, models, errors, cached) of one file, counted apart (a worker process's
    share of a parallel run is merged in file order, as if linted here)."""
    sub = LintResult()
    try:
        found = lint_file(path, opts, sub, targets)
    except Exception as e:  # noqa: BLE001 - one file's failure is an error line naming it
        if os.environ.get("CNNSYM_DEBUG") == "1":
            raise
        found = []
        sub.errors.append(internal(path, e))
    return list(found), sub.models, list(sub.errors), sub.cached


def run(paths, opts, lint_file=None, internal=None, mapper=None) -> LintResult | None:
    """Every file's findings, suppressed, deduplicated and sorted. ``lint_file(path, opts,
    result, targets)`` lints one file (the engine's); without it, only the cache is read and
    None is returned as soon as one file's result is not there. ``internal(where, e)``: the
    error line for a file whose linting failed (the run goes on). ``mapper(jobs, opts,
    lint_file, internal)``: each (path, targets) job's :func:`lint_one` outcome, in order
    (:func:`cnnsym.lint.parallel.map_files` in worker processes); default: one after another
    here."""
    reset()
    res = LintResult()
    files, targets, errors = discover(paths)
    res.errors.extend(errors)
    by_file = {}
    for t in targets:
        by_file.setdefault(t.path, []).append(t)
    seen = set()
    all_findings = []
    jobs = []
    for p in files:
        ap = os.path.abspath(p)
        if ap in seen:
            continue
        seen.add(ap)
        jobs.append((p, ()))
    jobs.extend(by_file.items())
    res.files += len(jobs)
    if lint_file is None:
        for p, ts in jobs:
            try:
                found, _ = cached_file(p, opts, res, ts)
            except Exception:  # noqa: BLE001 - whatever fails here, the full run reports it
                return None
            if found is None:
                return None
            all_findings.extend(found)
    else:
        outcomes = (mapper(jobs, opts, lint_file, internal) if mapper is not None
                    else [lint_one(lint_file, internal, opts, p, ts) for p, ts in jobs])
        for found, models, errs, cached in outcomes:
            all_findings.extend(found)
            res.models += models
            res.errors.extend(errs)
            res.cached += cached
    res.findings = _dedupe(suppress(all_findings, opts.cfg))
    res.findings.sort(key=lambda f: (f.path, f.line, f.col, f.code, f.message))
    return res


def _dedupe(findings):
    out, seen = [], set()
    for f in findings:
        k = (f.code, f.path, f.line, f.col, f.message)
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out


# --------------------------------------------------------------------------- suppression
_LINES: dict = {}


def _line(path, n):
    key = os.path.abspath(path)  # findings carry paths relative to the working directory
    if key not in _LINES:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                _LINES[key] = f.read().splitlines()
        except OSError:
            _LINES[key] = []
    lines = _LINES[key]
    return lines[n - 1] if 0 < n <= len(lines) else ""


def source_line(path, n):
    return _line(path, n)


def _codes_on(text):
    """None: nothing suppressed; set(): everything; else the codes."""
    out = None
    for rx in (NOQA, IGNORE):
        for m in rx.finditer(text):
            codes = m.group("codes")
            if not codes:
                return set()
            out = (out or set()) | {c.strip().upper() for c in re.split(r"[\s,]+", codes) if c.strip()}
    return out


def suppressed(f: Finding) -> bool:
    if not f.path.endswith(".py"):
        return False
    for ln in (f.line, *f.alt_lines):
        codes = _codes_on(_line(f.path, ln))
        if codes is None:
            continue
        if not codes or any(f.code.startswith(c) for c in codes):
            return True
    return False


def suppress(findings, cfg):
    out = []
    for f in findings:
        if suppressed(f):
            continue
        if cfg is not None:
            ign = cfg.file_ignores(f.path) | cfg.file_ignores(f.model.split("::", 1)[0] if f.model else f.path)
            if any(f.code.startswith(c) for c in ign):
                continue
            if f.model:
                e = cfg.model_entry(f.model)
                if any(f.code.startswith(c) for c in e.get("ignore", [])):
                    continue
        out.append(f)
    return out
