"""``[tool.cnnsym]`` in ``pyproject.toml``: inputs, bindings, budgets, rule selection,
per-file ignores, plugins. Command-line flags override it. Every key is validated; a bad
one is a :class:`ConfigError` naming ``tool.cnnsym.<key>`` and what is wrong.

.. code-block:: toml

    [tool.cnnsym]
    input = "1x3x224x224"              # every model's input, unless a [models] entry says otherwise
    select = ["CNS0", "CNS1", "CNS2"]  # code prefixes (default: every rule on by default)
    extend-select = ["CNS205"]         # add to the selection
    ignore = ["CNS202"]
    strict = false                     # exit 1 on warnings too
    plugins = ["tools/cnnsym_ops.py"]  # paths (relative to this file) or module names
    cache = true                       # lint results cached by content hash in .cnnsym_cache/

    [tool.cnnsym.budgets]              # cnnsym check (and CNS3xx in lint)
    max-params = "25M"
    max-macs = "4.1G"
    bind = "H=224,W=224"
    for-all = "H,W in 32..1024"
    allow-invalid-sizes = false        # true: a --for-all range mostly invalid for the model is only noted
    allow-incomplete = false           # true: an incomplete model's lower-bound totals within budget pass

    [tool.cnnsym.models."models/lenet.py::LeNet"]   # glob on "path::Name" (or a path)
    input = "1x1x28x28"
    max-params = "100k"

    [tool.cnnsym.per-file-ignores]
    "legacy/*.py" = ["CNS202"]
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import field

from .errors import CnnsymError
from .parse import parse_amount, parse_bind, parse_dims, parse_for_all, parse_growth
from ._dataclass import dataclass

PREFIX = "tool.cnnsym"

@dataclass(frozen=True)
class Budget:
    """One kind of budget: the Report total it bounds (or the per-layer attribute), its unit,
    label, lint code and help. :data:`BUDGETS` is the one registry: `check`'s options, the
    configuration keys, lint's CNS3xx rules and the docs read it."""

    key: str
    total: str | None  # Report totals key, None for a per-layer budget
    layer: str | None  # per-layer attribute: params, macs, bytes
    kind: str  # count | bytes
    label: str
    code: str
    help: str


BUDGETS = {b.key: b for b in (
    Budget("max-params", "params.total", None, "count", "params (total)", "CNS301",
           "Total parameters (trainable + buffers + constants)."),
    Budget("max-trainable-params", "params.trainable", None, "count", "params (trainable)", "CNS301",
           "Trainable parameters."),
    Budget("max-param-bytes", "params.bytes", None, "bytes", "parameter bytes", "CNS301",
           "Bytes of all parameters in their own dtypes (int8 weights 1 byte, int4 half)."),
    Budget("max-macs", "macs", None, "count", "MACs", "CNS302", "Multiply-accumulates."),
    Budget("max-macs-int8", "macs_int8", None, "count", "int8 MACs", "CNS302",
           "Multiply-accumulates with int8 operands (quantized models)."),
    Budget("max-flops", "flops", None, "count", "FLOPs", "CNS303", "FLOPs (2 x MACs + the named terms)."),
    Budget("max-activation-bytes", "activation_bytes", None, "bytes", "activation bytes", "CNS304",
           "Bytes of all activations."),
    Budget("max-peak-activation-bytes", "peak_activation_bytes", None, "bytes", "peak activation bytes", "CNS304",
           "Peak bytes of live activations over the execution order."),
    Budget("max-layer-params", None, "params", "count", "params per layer", "CNS305", "Parameters of any one layer."),
    Budget("max-layer-macs", None, "macs", "count", "MACs per layer", "CNS305", "MACs of any one layer."),
    Budget("max-layer-activation-bytes", None, "bytes", "bytes", "output bytes per layer", "CNS305",
           "Output bytes of any one layer."),
)}
BUDGET_KEYS = {k: b.kind for k, b in BUDGETS.items()}
BUDGET_EXTRA = {"bind": str, "for-all": str, "max-growth": (str, int, float), "baseline": str,
                "allow-invalid-sizes": bool, "allow-incomplete": bool}
TOP_KEYS = {"input": str, "select": list, "extend-select": list, "ignore": list, "strict": bool,
            "plugins": list, "cache": bool, "budgets": dict, "models": dict, "per-file-ignores": dict,
            "bind": str}
MODEL_KEYS = {"input": str, "bind": str, "select": list, "ignore": list, **BUDGET_EXTRA,
              **{k: (str, int, float) for k in BUDGET_KEYS}}


class ConfigError(CnnsymError):
    """The configuration is unusable: exit code 2, the message names the key."""


@dataclass
class Config:
    path: str | None = None  # the pyproject.toml it came from
    root: str = "."
    input: str | None = None
    bind: str | None = None
    select: list | None = None
    extend_select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    strict: bool = False
    plugins: list = field(default_factory=list)
    cache: bool = True
    budgets: dict = field(default_factory=dict)  # budget key -> value (and bind/for-all/...)
    models: dict = field(default_factory=dict)  # pattern -> dict of MODEL_KEYS
    per_file_ignores: dict = field(default_factory=dict)  # glob -> [codes]

    def model_entry(self, spec: str) -> dict:
        """Merged settings of every ``models`` pattern matching ``spec`` (``path::Name``
        or ``path``), in file order; later patterns win."""
        path, _, name = spec.partition("::")
        rel = self.rel(path)
        out = {}
        for pat, entry in self.models.items():
            p_path, has, p_name = pat.partition("::")
            if not _match(rel, p_path):
                continue
            if has and not fnmatch.fnmatchcase(name.split("(")[0] if name else "", p_name.split("(")[0]):
                continue
            out.update(entry)
        return out

    def input_for(self, spec: str) -> list:
        """The configured input dims texts of a model (``[NAME=]DIMS``, one per input), or
        []: ``[tool.cnnsym.models."pattern"] input`` over ``[tool.cnnsym] input``. Every
        command (lint, check, report through the API) reads the input this one way."""
        text = self.model_entry(spec).get("input") or self.input
        return [x.strip() for x in (text or "").split(";") if x.strip()]

    def rel(self, path: str) -> str:
        try:
            r = os.path.relpath(os.path.abspath(path), self.root)
        except ValueError:
            return path.replace(os.sep, "/")
        return r.replace(os.sep, "/")

    def file_ignores(self, path: str) -> set:
        rel = self.rel(path)
        out = set()
        for pat, codes in self.per_file_ignores.items():
            if _match(rel, pat):
                out.update(codes)
        return out


def _match(rel: str, pat: str) -> bool:
    pat = pat.replace(os.sep, "/")
    return fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(rel, pat.rstrip("/") + "/*") or \
        fnmatch.fnmatchcase(os.path.basename(rel), pat)


def find_pyproject(start: str | None = None) -> str | None:
    """The nearest pyproject.toml from ``start`` (default: the working directory) upward
    that has a [tool.cnnsym] table, else None; stops at a repository root."""
    d = os.path.abspath(start or os.getcwd())
    while True:
        p = os.path.join(d, "pyproject.toml")
        if os.path.isfile(p):
            try:
                with open(p, "rb") as f:
                    head = f.read()
            except OSError:
                head = b""
            if b"tool.cnnsym" in head:
                return p
        if os.path.isdir(os.path.join(d, ".git")):
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _read(path: str) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    tool = doc.get("tool", {})
    t = tool.get("cnnsym", {}) if isinstance(tool, dict) else {}
    if not isinstance(t, dict):
        raise ConfigError(f"{path}: {PREFIX} must be a table")
    return t


def plugin_list(path: str) -> list:
    t = _read(path)
    v = t.get("plugins", [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{path}: {PREFIX}.plugins must be a list of paths or module names")
    return v


def _suggest(key, known):
    import difflib

    m = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""


def _type_name(t):
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {str: "a string", list: "a list", bool: "true or false", dict: "a table", int: "a number",
            float: "a number"}[t]


def _check_table(path, where, table, keys):
    for k, v in table.items():
        if k not in keys:
            raise ConfigError(f"{path}: unknown key {where}.{k}{_suggest(k, keys)}; known: {', '.join(sorted(keys))}")
        want = keys[k]
        if isinstance(v, bool) and want in ((str, int, float), int, float):
            raise ConfigError(f"{path}: {where}.{k} must be {_type_name(want)}, got {v!r}")
        if not isinstance(v, want):
            raise ConfigError(f"{path}: {where}.{k} must be {_type_name(want)}, got {type(v).__name__} {v!r}")


def _check_codes(path, where, codes):
    import re

    for c in codes:
        if not isinstance(c, str) or not re.fullmatch(r"[A-Z]+[0-9]*", c):
            raise ConfigError(f"{path}: {where}: {c!r} is not a rule code or code prefix (e.g. 'CNS101', 'CNS2')")


def _check_values(path, where, entry):
    for k, v in entry.items():
        try:
            if k in BUDGET_KEYS:
                parse_amount(v, BUDGET_KEYS[k])
            elif k == "bind":
                parse_bind(v)
            elif k == "for-all":
                parse_for_all(v)
            elif k == "max-growth":
                parse_growth(v)
            elif k == "input":
                for part in v.split(";"):
                    parse_dims(part.rpartition("=")[2].strip(), f"{where}.input")
        except CnnsymError as e:
            msg = str(e)
            raise ConfigError(f"{path}: {where}.{k}: {msg}") from None
        except ValueError as e:
            raise ConfigError(f"{path}: {where}.{k}: {e}") from None


def load_config(path: str | None = None, start: str | None = None) -> Config:
    """The Config of ``path`` (a pyproject.toml), else of the nearest one; empty when none."""
    if path is None:
        path = find_pyproject(start)
    if path is None:
        return Config(root=os.path.abspath(start or os.getcwd()))
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such configuration file")
    t = _read(path)
    _check_table(path, PREFIX, t, TOP_KEYS)
    cfg = Config(path=path, root=os.path.dirname(os.path.abspath(path)))
    for k in ("select", "extend-select", "ignore"):
        if k in t:
            _check_codes(path, f"{PREFIX}.{k}", t[k])
    if "plugins" in t and not all(isinstance(x, str) for x in t["plugins"]):
        raise ConfigError(f"{path}: {PREFIX}.plugins must be a list of strings")
    budgets = t.get("budgets", {})
    _check_table(path, f"{PREFIX}.budgets", budgets, {**BUDGET_EXTRA, **{k: (str, int, float) for k in BUDGET_KEYS}})
    _check_values(path, f"{PREFIX}.budgets", budgets)
    _check_values(path, PREFIX, {k: t[k] for k in ("input", "bind") if k in t})
    models = t.get("models", {})
    for pat, entry in models.items():
        where = f'{PREFIX}.models."{pat}"'
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where} must be a table (input, bind, budgets, select, ignore)")
        _check_table(path, where, entry, MODEL_KEYS)
        for k in ("select", "ignore"):
            if k in entry:
                _check_codes(path, f"{where}.{k}", entry[k])
        _check_values(path, where, entry)
    pfi = t.get("per-file-ignores", {})
    for pat, codes in pfi.items():
        where = f'{PREFIX}.per-file-ignores."{pat}"'
        if not isinstance(codes, list):
            raise ConfigError(f"{path}: {where} must be a list of rule codes")
        _check_codes(path, where, codes)
    cfg.input = t.get("input")
    cfg.bind = t.get("bind")
    cfg.select = t.get("select")
    cfg.extend_select = t.get("extend-select", [])
    cfg.ignore = t.get("ignore", [])
    cfg.strict = t.get("strict", False)
    cfg.plugins = t.get("plugins", [])
    cfg.cache = t.get("cache", True)
    cfg.budgets = dict(budgets)
    cfg.models = dict(models)
    cfg.per_file_ignores = dict(pfi)
    return cfg
