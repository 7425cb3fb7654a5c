"""Where an import's source is, found the way Python would find it, without importing
anything: package-relative imports, the model's own project (the packages above the file,
``src/`` layouts) and installed libraries on ``sys.path`` (found with
``importlib.machinery.PathFinder``, which scans directories and executes no package code;
submodules are found by walking the package's directories, never with
``importlib.util.find_spec``, which would import the parent package).

Packages whose meaning the interpreter models by name (torch, numpy, math, functools, the
standard library) are never read. Parsed files are cached across analyses (keyed by path,
size, modification and inode-change times); one analysis reads at most :data:`MAX_FILES` files."""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from importlib.machinery import PathFinder

from . import syntax

MAX_FILES = 300  # source files one analysis may read (the analysed file and what it imports)
MAX_FILE_BYTES = 2_000_000  # a larger file is not read (generated code, vendored data)
_CACHE_SIZE = 512

# modelled by name (what their attributes mean is known to the interpreter): never read
MODELLED = {"torch", "numpy", "np", "math", "functools", "collections", "typing", "typing_extensions", "argparse",
            "os", "sys", "re", "copy", "itertools", "warnings", "logging", "dataclasses", "abc", "enum",
            "__future__", "types", "operator", "random", "json", "time", "pathlib", "yaml", "scipy", "PIL", "tqdm",
            "einops", "onnx", "onnxruntime", "torchsummary", "thop", "fvcore", "pandas", "matplotlib", "cv2",
            "sklearn", "tensorflow", "jax", "triton", "cnnsym"}


def is_modelled(module: str) -> bool:
    top = module.split(".")[0]
    return top in MODELLED or top in getattr(sys, "stdlib_module_names", ())


# the directories import lookups looked in, recorded (per thread) while an interpreter's
# first file is read: frontends/torch/modcache.py stamps them, since a file created there
# later, where an import found nothing, makes a shared module level stale (a fresh process
# would find it)
_LOOKING = threading.local()


@contextlib.contextmanager
def _recording(local, into: set, merge: bool):
    """Within the block, ``local.into`` is ``into`` (then the enclosing block's set again,
    which gets what ``into`` got when ``merge``)."""
    prev = getattr(local, "into", None)
    local.into = into
    try:
        yield into
    finally:
        local.into = prev
        if merge and prev is not None:
            prev.update(into)


def recording_lookups(into: set):
    """Within the block, this thread's import lookups add the directories they look in to
    ``into``."""
    return _recording(_LOOKING, into, merge=False)


# the source files analyses read, recorded (per thread) for the lint cache: a result depends
# on exactly these (cnnsym/lint/engine.py records them per linted file)
_READING = threading.local()


def recording_reads(into: set):
    """Within the block, the files every analysis (and model listing) of this thread tried to
    read, module levels shared from a template included, are added to ``into`` (and to an
    enclosing block's set)."""
    return _recording(_READING, into, merge=True)


def note_reads(files):
    """An analysis ended having read ``files`` (absolute paths)."""
    into = getattr(_READING, "into", None)
    if into is not None:
        into.update(files)


def _looked(d):
    into = getattr(_LOOKING, "into", None)
    if into is not None:
        into.add(d)


def _file_or_package(base, parts):
    """base/a/b.py, or base/a/b/__init__.py (a package), or the directory of a namespace
    package; None when none exists."""
    c = os.path.join(base, *parts)
    into = getattr(_LOOKING, "into", None)
    if into is not None:
        into.add(os.path.dirname(c))
        into.add(c)
    if os.path.isfile(c + ".py"):
        return c + ".py"
    init = os.path.join(c, "__init__.py")
    if os.path.isfile(init):
        return init
    if parts and os.path.isdir(c) and any(n.endswith(".py") for n in _listdir(c)):
        return c  # a namespace package (no __init__.py)
    return None


def _listdir(d):
    try:
        return os.listdir(d)
    except OSError:
        return []


def package_base(path: str) -> str:
    """The directory above the outermost package holding ``path`` (what sys.path would
    hold for it): walk up while the directory has an __init__.py."""
    d = os.path.dirname(os.path.abspath(path))
    _looked(d)
    while os.path.isfile(os.path.join(d, "__init__.py")) and os.path.dirname(d) != d:
        d = os.path.dirname(d)
        _looked(d)
    return d


@functools.lru_cache(maxsize=4096)
def module_name(path: str) -> str:
    """The dotted name Python gives the file at ``path`` (from the packages above it).
    Cached per process: a class's ``__module__`` is asked for at every isinstance and
    registry lookup, and each answer walks the directories up (issue 12)."""
    path = os.path.abspath(path)
    base = package_base(path)
    rel = os.path.relpath(path, base)
    parts = rel[:-3].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p) or os.path.splitext(os.path.basename(path))[0]


@functools.lru_cache(maxsize=256)
def _installed(top: str):
    """The search locations of an installed top-level package, or the file of a module,
    found by scanning sys.path (no code runs)."""
    try:
        spec = PathFinder.find_spec(top)
    except (ImportError, ValueError, OSError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return ("package", tuple(spec.submodule_search_locations), spec.origin)
    if spec.origin and spec.origin.endswith(".py"):
        return ("module", spec.origin, None)
    return None  # a compiled extension: nothing to read


def find_source(importer: str, project_root: str, module: str, level: int):
    """The file (or namespace-package directory) ``import module`` means in ``importer``;
    None for what is modelled by name or not found (the caller then knows it by name)."""
    parts = module.split(".") if module else []
    if level:
        base = os.path.dirname(os.path.abspath(importer))
        for _ in range(level - 1):
            base = os.path.dirname(base)
        if not parts:
            return _file_or_package(base, []) or (base if os.path.isdir(base) else None)
        return _file_or_package(base, parts)
    if not parts or is_modelled(module):
        return None
    # the model's own project: the importer's directory, the project root and the
    # directories above (a package above the file), with src/ layouts
    seen = set()
    roots = [os.path.dirname(os.path.abspath(importer)), project_root, package_base(importer)]
    d = project_root
    for _ in range(4):
        d = os.path.dirname(d)
        roots.append(d)
    for root in roots:
        _looked(root)
        for r in (root, os.path.join(root, "src")):
            if r in seen or not os.path.isdir(r):
                continue
            seen.add(r)
            hit = _file_or_package(r, parts)
            if hit is not None:
                return hit
    # "from models.blocks import X" run from inside models/: the package prefix dropped
    if len(parts) > 1:
        for root in (os.path.dirname(os.path.abspath(importer)), project_root):
            hit = _file_or_package(root, parts[1:])
            if hit is not None and hit.endswith(".py"):
                return hit
    # an installed library
    found = _installed(parts[0])
    if found is None:
        return None
    kind, where, origin = found
    if kind == "module":
        return where if len(parts) == 1 else None
    if len(parts) == 1:
        return origin if origin and origin.endswith(".py") else (where[0] if where else None)
    for loc in where:
        hit = _file_or_package(loc, parts[1:])
        if hit is not None:
            return hit
    return None


def submodule(package_file: str, name: str):
    """``package.name`` as a file, from the package's __init__.py (or namespace directory)."""
    d = package_file if os.path.isdir(package_file) else os.path.dirname(package_file)
    if not os.path.isdir(package_file) and not package_file.endswith("__init__.py"):
        return None
    return _file_or_package(d, [name])


_PARSED: dict = {}


def file_stamp(path: str):
    """(path, size, modification time, inode-change time, inode) of a file: what says it
    is unchanged (parsed trees here, shared module levels in :mod:`.modcache`). The change
    time and inode too: an edit that keeps the size and sets the old modification time back
    (cp -p, rsync -t, tar, os.utime) still moves them, and the lint cache, which knows files
    by content, would store what the old tree gives under the new content's hash. Raises
    OSError."""
    st = os.stat(path)
    return (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def parse(path: str):
    """The syntax tree of a file (:mod:`.syntax`: positions included), parsed once per
    :func:`file_stamp` across analyses. Raises OSError, UnicodeDecodeError or
    :class:`.syntax.ParserSyntaxError`."""
    key = file_stamp(path)
    hit = _PARSED.get(key)
    if hit is not None:
        return hit[0]
    if key[1] > MAX_FILE_BYTES:
        raise OSError(0, f"file too large to read ({key[1]} bytes)")
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    # Python's ast tree is kept too: lint reads which models name which
    # (cnnsym/lint/engine.py root_models) from the tree the analysis parsed
    out, tree = syntax.parse_module_and_ast(text)
    if len(_PARSED) >= _CACHE_SIZE:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = (out, tree)
    return out


def python_ast(path: str):
    """Python's :mod:`ast` tree of the file as :func:`parse` parsed it, while the file is
    what it parsed (the same :func:`file_stamp`); else None."""
    try:
        hit = _PARSED.get(file_stamp(path))
    except OSError:
        return None
    return None if hit is None else hit[1]
