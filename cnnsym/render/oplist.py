"""`cnnsym ops`: every registered op as a table, JSON or Markdown."""
from __future__ import annotations

import inspect
import io
import json

# rich is imported by the table functions only: a report never lists ops (start-up time, issue 12)

from ..ops import REGISTRY, TERMS, load_builtin_ops
OPS_SCHEMA_VERSION = 1  # the op list's own schema (the report's is report.SCHEMA_VERSION)
from .common import _code, _json_default, _jsonable, _md, _md_table
from .registry import RenderOptions, get_format, register_format


def op_rows() -> list:
    """Every registered op: domain, op_type, origin, summary (first docstring line), attributes."""
    load_builtin_ops()
    out = []
    for (domain, op_type), cls in sorted(REGISTRY.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        doc = inspect.cleandoc(cls.__doc__ or "") if cls.__doc__ else ""
        paras = [" ".join(l.strip() for l in p.splitlines() if l.strip() and not l.strip().startswith("http"))
                 for p in doc.split("\n\n")]
        paras = [p for p in paras if p]
        summary = paras[0] if paras else ""
        formula = " ".join(paras[1:])
        link = next((l.strip() for l in doc.splitlines() if l.strip().startswith("http")), "")
        out.append({
            "domain": domain or "ai.onnx",
            "op_type": op_type,
            "origin": getattr(cls, "origin", "cnnsym"),
            "summary": summary,
            "formula": formula,
            "spec": link,
            "attributes": {k: _jsonable(v) if not isinstance(v, (list, tuple)) else list(v)
                           for k, v in (cls.attributes or {}).items()},
            "param_roles": {str(k): v for k, v in (cls.param_roles or {}).items()},
            "examples": len(getattr(cls, "examples", []) or []),
        })
    return out


def _attrs_text(attrs: dict) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in attrs.items())


def ops_json(options: RenderOptions | None = None) -> str:
    rows = op_rows()
    return json.dumps({"schema_version": OPS_SCHEMA_VERSION, "terms": dict(TERMS), "ops": rows},
                      indent=2, default=_json_default) + "\n"


def ops_markdown(options: RenderOptions | None = None) -> str:
    rows = op_rows()
    L = [f"## cnnsym ops ({len(rows)})", ""]
    L += _md_table(["domain", "op", "origin", "summary", "formula", "attributes"],
                   [[_md(r["domain"]), _code(r["op_type"]), _md(r["origin"]), _md(r["summary"]),
                     _md(r["formula"]), _md(_attrs_text(r["attributes"]))] for r in rows])
    L += ["", "### Cost terms", ""] + [f"- `{k}`: {_md(v)}" for k, v in TERMS.items()]
    return "\n".join(L) + "\n"


def print_ops_table(console, options: RenderOptions | None = None) -> None:
    """The op list on a rich console."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows = op_rows()
    console.print(Text(f"cnnsym ops: {len(rows)} registered (domain::op where the domain is not ai.onnx)",
                       style="bold"))
    tbl = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
    tbl.add_column("op (origin)", overflow="fold", max_width=30)
    tbl.add_column("summary; attributes with their defaults", overflow="fold")
    for r in rows:
        name = Text(r["op_type"] if r["domain"] == "ai.onnx" else f"{r['domain']}::{r['op_type']}")
        if r["origin"] != "cnnsym":
            name.append(f"\n({r['origin']})", style="dim")
        desc = Text(r["summary"])
        if r["attributes"]:
            desc.append("\n" + _attrs_text(r["attributes"]), style="dim")
        tbl.add_row(name, desc)
    console.print(tbl)
    console.print()
    console.print(Text("Cost terms (flops = 2*macs + terms):", style="bold"))
    for k, v in TERMS.items():
        console.print(Text(f"  {k}: {v}"))


@register_format("table", "a table for the terminal", subject="ops", console=print_ops_table)
def ops_table(options: RenderOptions | None = None) -> str:
    """The op list as plain text at ``options.width`` (default 80)."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=(options.width if options and options.width else 80),
                      color_system=None, highlight=False, soft_wrap=False, emoji=False, markup=False)
    print_ops_table(console, options)
    return buf.getvalue()


register_format("json", "every op with its attributes and the cost terms", subject="ops",
                suffix=".json")(ops_json)
register_format("markdown", "a Markdown table", subject="ops", suffix=".md")(ops_markdown)


def render_ops(fmt: str, console=None) -> str | None:
    """Compatibility: the text of format ``fmt``, or None after printing the table on ``console``."""
    if fmt == "table" and console is not None:
        print_ops_table(console)
        return None
    return get_format(fmt, "ops").render(None)
