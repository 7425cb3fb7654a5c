"""The source files a source model's analysis may read, for the lint cache (issue 12).

A file's lint result depends on the files it imports, wherever they are: torchvision's
``models/segmentation/fcn.py`` reads ``models/_utils.py`` and ``ops/misc.py``; a project's
``models/net.py`` reads ``../layers/blocks.py``. The cache entry records each of them with a
hash of its content, and a hit whose recorded files changed is a miss.

Which files: every import statement of the file (wherever it stands: module level, class or
function bodies), resolved exactly as the source frontend resolves it
(:func:`~cnnsym.frontends.torch.imports.find_source`: packages modelled by name such as torch
and the standard library are never read), with the packages above each module, and so on
through the files found. That is what the interpreter can read (it reads a module only
through an import), so the set holds every file it read: a superset at worst, which costs an
unneeded miss, never a stale hit. Import statements are found by a scan of the text (import
lines inside strings count too: a superset again), several times faster than parsing.
"""
from __future__ import annotations

import os
import re

from ..frontends.torch.imports import MAX_FILES, find_source, is_modelled, submodule
from .cache import file_stamp

MAX_DEPS = 3 * MAX_FILES  # a bound on the scan; the interpreter itself stops at MAX_FILES

# `import a.b as c, d` and `from ..a.b import (x, y as z)` (the parenthesised list may span lines)
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(?P<dots>\.*)[ \t]*(?P<mod>[\w.]*)[ \t]+import[ \t]*"
                     r"(?:\((?P<plist>[^)]*)\)|(?P<list>[^\n#;]*))|import[ \t]+(?P<mods>[^\n#;]+))", re.M)
_SCANNED: dict = {}  # (path, size, mtime) -> ([(module, level, names)], whether an import is absolute)
_EDGES: dict = {}  # (path, size, mtime, root) -> the files its imports resolve to
# (importer's directory, root, module, level, names) -> files: resolution reads the importer's
# path only through its directory, and a package's files import the same modules (issue 12)
_RESOLVED: dict = {}


def forget():
    """A run's start (:func:`cnnsym.lint.cache.reset`): files may have been created or
    removed since the last run of a long-lived process, where imports look."""
    _EDGES.clear()
    _RESOLVED.clear()


def _edges(path, root):
    """The files the imports of ``path`` resolve to (``root``: the analysed file's folder,
    where the interpreter looks for the project's own absolute imports)."""
    stamp = file_stamp(path)
    if stamp is None:
        return []
    scanned = _SCANNED.get(stamp)
    if scanned is None:
        imports = _imports(path)
        # relative imports resolve the same from every analysed file: kept apart from the root
        scanned = _SCANNED[stamp] = (imports, any(level == 0 and not is_modelled(m) for m, level, _ in imports))
    imports, rooted = scanned
    key = stamp + (root if rooted else None,)
    hit = _EDGES.get(key)
    if hit is None:
        hit = []
        where = os.path.dirname(os.path.abspath(path))
        for module, level, names in imports:
            rkey = (where, root, module, level, names)
            files = _RESOLVED.get(rkey)
            if files is None:
                try:
                    files = [os.path.abspath(g) for g in _resolve(path, root, module, level, names)]
                except (OSError, ValueError):
                    continue
                _RESOLVED[rkey] = files
            hit.extend(files)
        if len(_EDGES) > 16384:
            _EDGES.clear()
            _SCANNED.clear()
            _RESOLVED.clear()
        _EDGES[key] = hit
    return hit


def _imports(path):
    """(module, level, names) of each import statement in ``path``'s text."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for m in _IMPORT.finditer(text):
        if m.group("mods") is not None:
            for part in m.group("mods").split(","):
                name = part.split(" as ")[0].strip().rstrip("\\").strip()
                if name:
                    out.append((name, 0, ()))
            continue
        names = m.group("plist") if m.group("plist") is not None else m.group("list") or ""
        names = tuple(n.split(" as ")[0].strip().strip("\\").strip() for n in names.replace("\n", ",").split(","))
        out.append((m.group("mod") or "", len(m.group("dots") or ""), tuple(n for n in names if n and n != "*")))
    return out


def _resolve(importer, root, module, level, names):
    """The files an import statement can make the interpreter read."""
    found = []
    if not level and is_modelled(module):
        return found
    parts = module.split(".") if module else []
    for k in range(1, len(parts)):  # Python runs the packages on the way (a, a.b of a.b.c)
            found.append(find_source(importer, root, ".".join(parts[:k]), level))
    base = find_source(importer, root, module, level)
    found.append(base)
    if base is not None:
        for n in names:
            if n.isidentifier():
                found.append(submodule(base, n))
    return [f for f in found if f and f.endswith(".py")]


def read_closure(path) -> list:
    """Absolute paths of the ``.py`` files the analysis of ``path`` may read, ``path``
    excluded, sorted."""
    path = os.path.abspath(path)
    root = os.path.dirname(path)
    seen = {path}
    todo = [path]
    while todo and len(seen) < MAX_DEPS:
        f = todo.pop()
        for g in _edges(f, root):
            if g not in seen:
                seen.add(g)
                todo.append(g)
    seen.discard(path)
    return sorted(seen)
