"""Renderers: a :class:`~cnnsym.report.Report` as a table, JSON, Markdown or CSV; the op
list and verification results too.

One module per format, each registering its function with
:func:`~cnnsym.render.registry.register_format`; :data:`FORMATS` (report formats),
:data:`OPS_FORMATS` and :data:`VERIFY_FORMATS` are what the CLI offers. Every module of
this package is imported here, so a new format is one new module.

Renderers read the Report and nothing else; they never re-derive a shape. The JSON
layout is documented in ``docs/json.md``.
"""
from __future__ import annotations

import importlib
import pkgutil

from .registry import (FORMATS, OPS_FORMATS, SUBJECTS, VERIFY_FORMATS, Format, RenderOptions,
                       format_help, formats, get_format, register_format)
from .common import (BYTE_KEYS, MAX_LISTED, STATUS_MARK, STATUS_TEXT, TOTAL_KEYS, TOTAL_LABELS,
                     bindings_text, constraints_shown, convention_doc, convention_line, human,
                     incomplete_nodes, is_int, node_rows, opaque_symbols, partial_note, rel_str,
                     shorten, to_str, totals_rows)
# report formats, in the order ``--format`` lists them
from .table import print_table, render_table, render_table_text, table_text
from .json import PRETTY_NODES, render_json, to_json_dict
from .markdown import render_markdown
from .csv import CSV_FIELDS, render_csv
from .oplist import op_rows, ops_json, ops_markdown, ops_table, print_ops_table, render_ops
from .verify_result import render_verify_json, render_verify_table, verify_table

_INFRA = {"registry", "common", "layout"}
for _m in pkgutil.iter_modules(__path__):
    if _m.name not in _INFRA and not _m.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_m.name}")
del _m

DEFAULT_FORMAT = "table"


def render(report, fmt: str = DEFAULT_FORMAT, options: RenderOptions | None = None) -> str:
    """``report`` as text in report format ``fmt`` (a name in :data:`FORMATS`)."""
    return get_format(fmt).render(report, options or RenderOptions())
