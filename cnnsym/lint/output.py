"""Lint output formats: full (default), concise, github, json, sarif. One reporter owns
all output; rules only make Findings."""
from __future__ import annotations

import hashlib
import json

from .._version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GH = {"error": "error", "warning": "warning", "info": "notice"}


def notes(f) -> list:
    """The related locations of a finding as indented ``path:line:col: note: ...`` lines."""
    return [f"  {r.path}:{r.line}:{r.col}: note: {r.message}" for r in getattr(f, "related", ())]


def concise(result) -> str:
    out = []
    for f in result.findings:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}\n")
        out.extend(n + "\n" for n in notes(f))
    return "".join(out) + _summary(result)


def full(result) -> str:
    from .engine import source_line

    out = []
    for f in result.findings:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.code} [{f.severity}] {f.message}")
        if f.path.endswith(".py"):
            text = source_line(f.path, f.line)
            if text:
                w = len(str(f.line))
                out.append(f"{' ' * w} |")
                out.append(f"{f.line} | {text.rstrip()}")
                out.append(f"{' ' * w} | {' ' * max(0, f.col - 1)}^")
        out.extend(notes(f))
        if f.model:
            out.append(f"  = model: {f.model}" + (f", node {f.node!r}" if f.node else ""))
        if f.fix:
            out.append(f"  = fix: {f.fix}")
        out.append("")
    return "\n".join(out) + ("\n" if out and out[-1] else "") + _summary(result)


def _summary(result) -> str:
    c = result.counts()
    models = f"{result.models} model{'s' if result.models != 1 else ''} in {result.files} file{'s' if result.files != 1 else ''}"
    if result.errors:  # something was not checked: never "All checks passed"
        n = len(result.errors)
        found = ""
        if result.findings:
            found = (f"found {c['error']} error{'s' if c['error'] != 1 else ''}, {c['warning']} "
                     f"warning{'s' if c['warning'] != 1 else ''}, {c['info']} info; ")
        return f"Not all checked: {found}{n} input error{'s' if n != 1 else ''} (on stderr) ({models}).\n"
    if not result.findings:
        return f"All checks passed ({models}).\n"
    parts = [f"{c['error']} error{'s' if c['error'] != 1 else ''}", f"{c['warning']} warning{'s' if c['warning'] != 1 else ''}",
             f"{c['info']} info"]
    return f"Found {', '.join(parts)} ({models}).\n"


def _esc_data(s):
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _esc_prop(s):
    return _esc_data(s).replace(":", "%3A").replace(",", "%2C")


def github(result) -> str:
    """GitHub Actions workflow commands: one annotation per finding."""
    out = []
    for f in result.findings:
        text = "\n".join([f"{f.code} {f.message}"] + [n.strip() for n in notes(f)])
        out.append(f"::{GH[f.severity]} file={_esc_prop(f.path)},line={f.line},col={f.col},"
                   f"title={_esc_prop(f'{f.code} {f.name}')}::{_esc_data(text)}")
    return "".join(x + "\n" for x in out)


def as_json(result) -> str:
    c = result.counts()
    doc = {"schema_version": 1, "cnnsym_version": __version__,
           "findings": [f.to_dict() for f in result.findings],
           "summary": {"errors": c["error"], "warnings": c["warning"], "info": c["info"], "models": result.models,
                       "files": result.files, "cached_files": result.cached},
           "input_errors": list(result.errors)}
    return json.dumps(doc, indent=2) + "\n"


def fingerprint(f) -> str:
    """Stable across line moves: rule, file, model and node (or message for model-level)."""
    key = "\0".join([f.code, f.path.replace("\\", "/"), f.model, f.node or f.message])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif_rule(r) -> dict:
    import inspect

    doc = inspect.cleandoc(r.__doc__ or "")
    return {
        "id": r.code,
        "name": "".join(w.capitalize() for w in r.name.split("-")),
        "shortDescription": {"text": r.summary()},
        "fullDescription": {"text": " ".join(doc.split("\n\n")[1:2]).replace("\n", " ") or r.summary()},
        "help": {"text": doc, "markdown": doc},
        "helpUri": f"https://github.com/cnnsym/cnnsym/blob/main/docs/rules.md#{r.code.lower()}",
        "defaultConfiguration": {"level": LEVEL[r.severity], "enabled": bool(r.default)},
        "properties": {"tags": [r.name, r.severity, f"origin:{r.origin}"]},
    }


def sarif(result, rules: dict) -> str:
    """SARIF 2.1.0: stable ruleIds (the codes), one result per finding with a physical
    location (URI relative to the working directory) and, where known, the node as a
    logical location; partialFingerprints for deduplication across runs."""
    codes = sorted({f.code for f in result.findings} | set(rules))
    index = {c: i for i, c in enumerate(codes)}
    from . import RULES

    rule_objs = [sarif_rule(rules.get(c) or RULES[c]) for c in codes if (rules.get(c) or RULES.get(c)) is not None]
    results = []
    for f in result.findings:
        loc = {"physicalLocation": {"artifactLocation": {"uri": f.path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
                                    "region": {"startLine": max(1, f.line), "startColumn": max(1, f.col)}}}
        if f.node:
            loc["logicalLocations"] = [{"name": f.node, "fullyQualifiedName": f"{f.model}/{f.node}" if f.model else f.node,
                                        "kind": "member"}]
        res = {"ruleId": f.code, "level": LEVEL[f.severity], "message": {"text": f.message}, "locations": [loc],
               "partialFingerprints": {"cnnsymFingerprint/v1": fingerprint(f)}}
        if getattr(f, "related", ()):
            res["relatedLocations"] = [
                {"id": i, "message": {"text": r.message},
                 "physicalLocation": {"artifactLocation": {"uri": r.path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
                                      "region": {"startLine": max(1, r.line), "startColumn": max(1, r.col)}}}
                for i, r in enumerate(f.related)]
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        results.append(res)
    notifications = [{"level": "error", "message": {"text": e}} for e in result.errors]
    run = {
        "tool": {"driver": {"name": "cnnsym", "version": __version__, "semanticVersion": __version__,
                            "informationUri": "https://github.com/cnnsym/cnnsym", "rules": rule_objs}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _cwd_uri()}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": not result.errors,
                         **({"toolExecutionNotifications": notifications} if notifications else {})}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _cwd_uri():
    import os
    from pathlib import Path

    return Path(os.getcwd()).as_uri() + "/"
