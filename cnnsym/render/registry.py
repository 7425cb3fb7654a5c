"""The one registry of output formats, read by the CLI for ``--format`` choices and help.

A format is a function registered with :func:`register_format` in its own module of
``cnnsym.render``; adding a format means adding one module (the package imports every
module in it). Three things are rendered, each with its own set of formats (its
*subject*):

- ``"report"``: a :class:`~cnnsym.report.Report`; ``fn(report, options) -> str``
- ``"ops"``: the list of registered ops; ``fn(options) -> str``
- ``"verify"``: a verification result; ``fn(result, options) -> str``

A format that prints styled output on a terminal also registers ``console``:
``console(obj, console, options) -> None`` (``console(console, options)`` for ops), where
``console`` is a :class:`rich.console.Console`.
"""
from __future__ import annotations

from typing import Callable, Optional
from .._dataclass import dataclass

SUBJECTS = ("report", "ops", "verify")


@dataclass(frozen=True)
class RenderOptions:
    """What a caller may ask of a renderer; a format ignores what does not apply to it."""

    wide: bool = False  # table: add the formulas per node
    width: Optional[int] = None  # table: the line width (None: 80, 160 with ``wide``)
    show_all_nodes: bool = False  # table: also list the nodes folded out by default
    show_all_checks: bool = False  # verify: list the checks that passed too
    fragment: bool = False  # html: a <div> for a notebook cell instead of a whole page
    view: Optional[str] = None  # table/markdown: "modules" or "nodes" (None: modules when the model has a module tree)
    depth: Optional[int] = None  # module view: deepest module level listed (None: modtree.DEFAULT_DEPTH)
    sort: Optional[str] = None  # "macs": biggest first (hot spots)
    top: Optional[int] = None  # with sort: only the first K rows


@dataclass(frozen=True)
class Format:
    name: str
    help: str  # one line, for ``--format`` help
    subject: str  # "report", "ops" or "verify"
    render: Callable[..., str]  # the text (see the module docstring for the arguments)
    console: Optional[Callable[..., None]] = None  # styled output on a rich console, if any
    suffix: str = ".txt"  # for a file written with this format


FORMATS: dict = {}  # report formats: name -> Format, in registration order
OPS_FORMATS: dict = {}
VERIFY_FORMATS: dict = {}
_BY_SUBJECT = {"report": FORMATS, "ops": OPS_FORMATS, "verify": VERIFY_FORMATS}


def register_format(name: str, help: str, *, subject: str = "report", suffix: str = ".txt",
                    console: Optional[Callable[..., None]] = None):
    """Decorator: register ``fn`` as format ``name`` of ``subject``; returns ``fn`` unchanged."""
    if subject not in _BY_SUBJECT:
        raise ValueError(f"unknown render subject {subject!r} (one of {', '.join(SUBJECTS)})")

    def deco(fn):
        table = _BY_SUBJECT[subject]
        if name in table and table[name].render is not fn:
            raise ValueError(f"format {name!r} of {subject} registered twice")
        table[name] = Format(name=name, help=help, subject=subject, render=fn, console=console,
                             suffix=suffix)
        return fn

    return deco


def formats(subject: str = "report") -> dict:
    """The formats of ``subject``: name -> :class:`Format`, in registration order."""
    return _BY_SUBJECT[subject]


def get_format(name: str, subject: str = "report") -> Format:
    """The format ``name`` of ``subject``; KeyError names the known ones."""
    table = _BY_SUBJECT[subject]
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown {subject} format {name!r} (one of {', '.join(table)})") from None


def format_help(subject: str = "report") -> str:
    """One line per format, ``name: help``, for a ``--format`` option's help text."""
    return "; ".join(f"{f.name}: {f.help}" for f in _BY_SUBJECT[subject].values())
