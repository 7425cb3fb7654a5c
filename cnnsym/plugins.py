"""Plugins: modules that add ops and lint rules with the decorators the built-ins use
(:func:`cnnsym.ops.register`, :func:`cnnsym.lint.rule`). This module knows neither: the
registries declare themselves with :func:`track`, so it sits below them in the layers.

Found through the entry-point group ``cnnsym.plugins`` (an installed package declares
``[project.entry-points."cnnsym.plugins"] NAME = "module"``) and through paths or module
names in ``[tool.cnnsym] plugins`` (paths relative to the ``pyproject.toml``). Importing the
module registers what it defines; whatever it registers is tagged with the plugin's origin,
so ``cnnsym ops`` and ``cnnsym rules`` say where each op and rule comes from.

An installed (entry-point) plugin whose import fails (a stale editable install whose module
is gone, a missing dependency, an exception in its code) is skipped: one line on stderr names
it and the error, what it registered before failing is taken back, and the command goes on
without it, so a model that needs one of its ops gets that op reported as not supported (the
totals marked incomplete), exactly as if the plugin were not installed. A plugin named in
``[tool.cnnsym] plugins`` that fails, or any plugin that registers a name already taken, is a
:class:`PluginError` naming it (the project asked for it, or two sources claim one name).

``CNNSYM_NO_PLUGINS=1`` skips entry points (config plugins still load).
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import field
from importlib.machinery import PathFinder

from .config import find_pyproject, plugin_list
from .errors import CnnsymError
from ._dataclass import dataclass

GROUP = "cnnsym.plugins"


class PluginError(CnnsymError):
    """A plugin could not be loaded: the message names it and says why."""


@dataclass
class PluginInfo:
    name: str
    source: str  # "entry point" | "config"
    target: str  # module or path
    origin: str  # what ops/rules it registered are tagged with
    ops: list = field(default_factory=list)
    rules: list = field(default_factory=list)


LOADED: list = []
SKIPPED: list = []  # (name, one-line reason) of entry-point plugins that failed to import
_DONE_EP = False
_DONE_PATHS: set = set()

# Registries a plugin can add to, declared by the layers that own them (ops, lint rules):
# this module sits below them and never imports them. kind -> (registry dict, key -> text).
REGISTRIES: dict = {}
_BUILTIN_LOADERS: list = []


def track(kind: str, registry: dict, describe=str, load_builtins=None):
    """Declare a registry plugins may add to (``kind`` is "ops" or "rules"), and the
    function that loads its built-ins (run before any plugin, so none can take their names)."""
    REGISTRIES[kind] = (registry, describe)
    if load_builtins is not None and load_builtins not in _BUILTIN_LOADERS:
        _BUILTIN_LOADERS.append(load_builtins)


def _load_builtins():
    for fn in list(_BUILTIN_LOADERS):
        fn()


def _load_one(name, source, target, origin, importer, module=None, skip_failed=False):
    """Import one plugin and tag what it registered. ``skip_failed``: an import that fails
    with anything but a :class:`CnnsymError` is a warning and the plugin is left out (what it
    registered before failing removed) instead of a :class:`PluginError`."""
    before = {kind: set(reg) for kind, (reg, _) in REGISTRIES.items()}

    def mine(cls):  # registered while importing, or by this module before (imported early)
        m = getattr(cls, "__module__", "") or ""
        return module is not None and (m == module or m.startswith(module + "."))

    try:
        importer()
    except CnnsymError as e:
        raise PluginError(f"plugin {name!r} ({source} {target}) failed to load: {e}") from None
    except BaseException as e:  # noqa: BLE001 - any failure in foreign code names the plugin
        if isinstance(e, (KeyboardInterrupt, SystemExit)) and not isinstance(e, SystemExit):
            raise
        msg = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        if not skip_failed:
            raise PluginError(f"plugin {name!r} ({source} {target}) failed to load: {msg}") from None
        for kind, (reg, _) in REGISTRIES.items():  # take back what it registered before failing
            old = before.get(kind)
            for key in [k for k, c in reg.items() if (k not in old if old is not None else mine(c))]:
                del reg[key]
        SKIPPED.append((name, msg))
        sys.stderr.write(f"cnnsym: warning: plugin {name!r} ({source} {target}) failed to load, "
                         f"continuing without it: {msg}\n")
        return None
    info = PluginInfo(name, source, target, origin)

    for kind, (reg, describe) in REGISTRIES.items():
        # a registry first declared while this plugin imported holds only what it added
        # (built-ins load before any plugin)
        old = before.get(kind, set())
        new = (set(reg) - old) | {k for k, c in reg.items() if mine(c) and getattr(c, "origin", "cnnsym") == "cnnsym"}
        for key in sorted(new):
            c = reg[key]
            if getattr(c, "origin", "cnnsym") == "cnnsym":
                c.origin = origin
            getattr(info, kind).append(describe(key))
    LOADED.append(info)
    return info


def _entry_points():
    eps = _scan_entry_points()
    if eps is not None:
        return eps
    from importlib.metadata import entry_points

    try:
        return list(entry_points(group=GROUP))
    except TypeError:  # Python < 3.10 API
        return list(entry_points().get(GROUP, []))


# ---------------------------------------------------------------- a cheaper entry-point scan
# importlib.metadata costs ~0.02 s of every command's start-up (its import, then a Distribution
# object per installed package; issue 12). The scan below reads the same files it reads: for
# every directory on sys.path, each ``*.dist-info`` / ``*.egg-info`` folder's
# ``entry_points.txt``, the first distribution of a (normalised) name winning, parsed as
# importlib.metadata parses it, and the declaring distribution's Name and Version from its
# metadata headers. Anything it does not model (a zip archive or file on sys.path, a finder
# other than the path finder that lists distributions, an unreadable file) returns None,
# and importlib.metadata answers instead. tests/test_plugins_scan.py checks both agree.
class _Dist:
    def __init__(self, path):
        self._path = path
        self._meta = None

    def _headers(self):
        if self._meta is None:
            self._meta = {}
            for fn in ("METADATA", "PKG-INFO"):
                try:
                    with open(os.path.join(self._path, fn), encoding="utf-8") as f:
                        for line in f:
                            if not line.strip():
                                break
                            k, sep, v = line.partition(":")
                            if sep and k in ("Name", "Version") and k not in self._meta:
                                self._meta[k] = v.strip()
                    break
                except OSError:
                    continue
        return self._meta

    @property
    def name(self):
        return self._headers().get("Name")

    @property
    def version(self):
        return self._headers().get("Version")


class _EntryPoint:
    """What :func:`load_entry_points` uses of an ``importlib.metadata.EntryPoint``."""

    def __init__(self, name, value, group, dist):
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self):
        import importlib

        module, _, attr = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        attr = attr.split("[", 1)[0].strip()  # "module:attr [extra]"
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj

    def __repr__(self):
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def _normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _scan_entry_points():
    """The ``cnnsym.plugins`` entry points of the installed distributions, or None when this
    environment has something the scan does not model (then importlib.metadata is asked)."""
    if any(hasattr(f, "find_distributions") and f is not PathFinder for f in sys.meta_path):
        return None
    seen, out = set(), []
    for entry in sys.path:
        d = entry or os.getcwd()
        if not os.path.isdir(d):
            if os.path.exists(d):
                return None  # a zip archive or other file: importlib.metadata reads those
            continue
        try:
            with os.scandir(d) as it:  # directory order, as os.listdir; no stat per entry
                entries = list(it)
        except OSError:
            return None
        for entry in entries:
            stem = entry.name
            if not stem.endswith((".dist-info", ".egg-info")):
                continue
            base, ext = os.path.splitext(stem)
            if ext not in (".dist-info", ".egg-info"):
                continue
            key = _normalize(base.partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(d, stem)
            try:
                is_dir = entry.is_dir()  # follows symlinks, as os.path.isdir
            except OSError:
                is_dir = False
            if not is_dir:
                if ext == ".egg-info":
                    continue  # a single-file egg-info (PKG-INFO) declares no entry points
                return None
            try:  # bytes first: most files do not mention the group and need no decoding
                with open(os.path.join(path, "entry_points.txt"), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            except OSError:
                return None
            if GROUP.encode() not in data:
                continue
            text = data.decode("utf-8")
            section, dist = None, _Dist(path)
            for line in map(str.strip, text.splitlines()):
                if not line or line.startswith("#"):
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line.strip("[]")
                    continue
                if section == GROUP:
                    name, sep, value = line.partition("=")
                    if not sep:
                        return None  # malformed: let importlib.metadata say what it says
                    out.append(_EntryPoint(name.strip(), value.strip(), GROUP, dist))
    return out


def load_entry_points():
    global _DONE_EP
    if _DONE_EP:
        return
    _DONE_EP = True
    if os.environ.get("CNNSYM_NO_PLUGINS") == "1":
        return
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else ep.value

        def imp(ep=ep):
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type):
                obj()  # an entry point may name a setup function instead of a module

        _load_one(ep.name, "entry point", f"{GROUP}:{ep.name} = {ep.value}", origin, imp,
                  module=ep.value.split(":", 1)[0].strip(), skip_failed=True)


def load_paths(items, base: str = "."):
    """Config plugins: ``path/to/plugin.py`` (relative to ``base``) or a module name."""
    import importlib
    import importlib.util
    import sys

    if not items:
        return  # nothing to load, so no built-ins to load first (a report needs no lint rule)
    _load_builtins()  # built-ins first: a plugin cannot take their names
    for item in items:
        item = str(item)
        is_path = item.endswith(".py") or os.sep in item or "/" in item
        key = os.path.abspath(os.path.join(base, item)) if is_path else item
        if key in _DONE_PATHS:
            continue
        _DONE_PATHS.add(key)
        if is_path:
            def imp(path=key, item=item):
                if not os.path.isfile(path):
                    raise PluginError(f"plugin {item!r} (config {path}): no such file")
                modname = "cnnsym_plugin_" + "".join(c if c.isalnum() else "_" for c in os.path.relpath(path, base))
                spec = importlib.util.spec_from_file_location(modname, path)
                mod = importlib.util.module_from_spec(spec)
                sys.modules[modname] = mod
                spec.loader.exec_module(mod)

            _load_one(item, "config", key, item, imp)
        else:
            _load_one(item, "config", item, item, lambda item=item: importlib.import_module(item), module=item)


def load_plugins():
    """Entry points, then the plugins named in the nearest pyproject.toml's [tool.cnnsym]."""
    _load_builtins()  # no-op when already loading: built-ins first, so plugins cannot shadow them
    load_entry_points()
    found = find_pyproject()
    if found is not None:
        load_paths(plugin_list(found), os.path.dirname(found))
