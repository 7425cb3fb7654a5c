"""Renderers: a :class:`~cnnsym.report.Report` as a table, JSON, Markdown or CSV; the op
list and verification results too.

One module per format, each registering its function with
:func:`~cnnsym.render.registry.register_format`; :data:`FORMATS` (report formats),
:data:`OPS_FORMATS` and :data:`VERIFY_FORMATS` are what the CLI offers. Every module of
this package is a format module, so a new format is one new module: reading any of those
registries (or calling :func:`formats`, :func:`get_format`, :func:`format_help`,
:func:`render`) imports them all first. Only the default format's module (``table``) is
imported with the package; the other modules, and the names this package re-exports from
them, are imported when first used (issue 12: ``cnnsym report`` prints a table, and
importing every format cost its start-up a few milliseconds).

Renderers read the Report and nothing else; they never re-derive a shape. The JSON
layout is documented in ``docs/json.md``.
"""
from __future__ import annotations

import importlib

from . import registry as _registry
from .registry import SUBJECTS, Format, RenderOptions, register_format
from .common import (BYTE_KEYS, MAX_LISTED, STATUS_MARK, STATUS_TEXT, TOTAL_KEYS, TOTAL_LABELS,
                     bindings_text, constraints_shown, convention_doc, convention_line, human,
                     incomplete_nodes, is_int, node_rows, opaque_symbols, partial_note, rel_str,
                     shorten, to_str, totals_rows)
# the default report format, registered first (it heads the order ``--format`` lists)
from .table import print_table, render_table, render_table_text, table_text

# the report formats in the order ``--format`` lists them, then every other module
_ORDER = ("table", "json", "markdown", "csv", "oplist", "verify_result")
_INFRA = {"registry", "common", "layout"}
# names re-exported from modules imported on first use: name -> module
_LAZY = {"PRETTY_NODES": "json", "render_json": "json", "to_json_dict": "json",
         "render_markdown": "markdown", "CSV_FIELDS": "csv", "render_csv": "csv",
         "op_rows": "oplist", "ops_json": "oplist", "ops_markdown": "oplist", "ops_table": "oplist",
         "print_ops_table": "oplist", "render_ops": "oplist",
         "render_verify_json": "verify_result", "render_verify_table": "verify_result",
         "verify_table": "verify_result"}
_REGISTRIES = {"FORMATS": "report", "OPS_FORMATS": "ops", "VERIFY_FORMATS": "verify"}
_ALL_LOADED = False

DEFAULT_FORMAT = "table"


def load_all():
    """Import every format module of this package (once), in the registration order."""
    global _ALL_LOADED
    if _ALL_LOADED:
        return
    import pkgutil

    names = list(_ORDER)
    names += [m.name for m in pkgutil.iter_modules(__path__)
              if m.name not in _INFRA and not m.name.startswith("_") and m.name not in names]
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    # registration order as if every module had been imported in this order first: a module
    # imported directly before (``from cnnsym.render.html import ...``) registered its
    # formats early; formats registered from outside the package stay last, in their order
    rank = {f"{__name__}.{name}": k for k, name in enumerate(names)}
    for subject in SUBJECTS:
        table = _registry.formats(subject)
        items = sorted(table.items(), key=lambda kv: rank.get(getattr(kv[1].render, "__module__", None), len(rank)))
        table.clear()
        table.update(items)
    _ALL_LOADED = True


def __getattr__(name):
    if name in _REGISTRIES:
        load_all()
        return _registry.formats(_REGISTRIES[name])
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def formats(subject: str = "report") -> dict:
    """The formats of ``subject``: name -> :class:`Format`, in registration order."""
    load_all()
    return _registry.formats(subject)


def get_format(name: str, subject: str = "report") -> Format:
    """The format ``name`` of ``subject``; KeyError names the known ones."""
    if not (subject == "report" and name == DEFAULT_FORMAT):
        load_all()
    return _registry.get_format(name, subject)


def format_help(subject: str = "report") -> str:
    """One line per format, ``name: help``, for a ``--format`` option's help text."""
    load_all()
    return _registry.format_help(subject)


def report_format(name: str):
    """The report format ``name``, or None when there is none (every format module is then
    imported, so the caller can list them). The default format needs no other module."""
    if name != DEFAULT_FORMAT:
        load_all()
    return _registry.formats("report").get(name)


def render(report, fmt: str = DEFAULT_FORMAT, options: RenderOptions | None = None) -> str:
    """``report`` as text in report format ``fmt`` (a name in :data:`FORMATS`)."""
    return get_format(fmt).render(report, options or RenderOptions())
