"""Plain-text layout for the table: wrapping at a width, cutting names from the left.

Every function here returns lines that are never longer than the width asked for and
never end with a space.
"""
from __future__ import annotations

import re

ELLIPSIS = "\u2026"

# where a formula may break, best first: around + and -, after a comma, after * or /,
# before an opening parenthesis
_BREAKS = (" ", ",", "*", "/", "(")


_OPERATORS = {"+", "-", "=", "==", "<=", ">=", "<", ">", "*", "/"}
_NBSP = "\x00"


def _split_long(token: str, width: int) -> list:
    """A token longer than ``width`` split after operators, else hard."""
    out = []
    while len(token) > width:
        cut = -1
        for ch in _BREAKS[1:]:
            k = token.rfind(ch, 1, width)
            if k > 0:
                cut = k + (0 if ch == "(" else 1)
                break
        if cut <= 0:
            cut = width
        out.append(token[:cut])
        token = token[cut:]
    out.append(token)
    return out


def wrap(text: str, width: int, indent: int = 0, cont_indent: int | None = None) -> list:
    """``text`` in lines of at most ``width``: the first indented by ``indent``, the others by
    ``cont_indent`` (default: ``indent`` + 2); breaks at spaces (where formulas have their
    + and -), then after commas and operators, hard only as a last resort."""
    if cont_indent is None:
        cont_indent = indent + 2
    if width - max(indent, cont_indent) < 8:  # too narrow to indent: use the whole width
        indent = cont_indent = 0
    words = []
    for w in text.split(" "):  # an operator stays with the term after it
        if words and words[-1] in _OPERATORS:
            words[-1] += _NBSP + w
        else:
            words.append(w)
    lines, cur, pad = [], "", " " * indent
    for w in words:
        room = width - len(pad)
        if not cur:
            cand = w
        else:
            cand = cur + " " + w
        if len(cand) <= room:
            cur = cand
            continue
        if cur:
            lines.append(pad + cur)
            pad = " " * cont_indent
            room = width - len(pad)
        if len(w) > room:
            parts = _split_long(w, room)
            for p in parts[:-1]:
                lines.append(pad + p)
                pad = " " * cont_indent
            w = parts[-1]
        cur = w
    lines.append(pad + cur)
    return [l.replace(_NBSP, " ").rstrip() for l in lines]


def compact_name(name: str) -> str:
    """A node name without the scope components an exporter repeats: TorchScript writes the
    path ``layer1.0.conv1`` as ``/layer1/layer1.0/conv1/Conv``; each component that the next
    one extends (``layer1`` before ``layer1.0``) is dropped, and so is the leading slash."""
    parts = name.split("/")
    if len(parts) < 3:
        return name
    keep = [p for i, p in enumerate(parts)
            if p and not (i + 1 < len(parts) and parts[i + 1].startswith(p + "."))]
    return "/".join(keep)


def cut_left(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters, never cut in the middle: whole trailing
    components (after ``/``, else ``.``) behind an ellipsis, or its last characters."""
    if len(name) <= width:
        return name
    if width <= 1:
        return ELLIPSIS[:width]
    tail = name[len(name) - (width - 1):]
    for sep in ("/", "."):
        k = tail.find(sep)
        if 0 <= k < len(tail) - 1 and (sep == "/" or "/" not in tail):
            return ELLIPSIS + tail[k + 1:] if sep == "/" else ELLIPSIS + tail[k:]
    return ELLIPSIS + tail


def unique_width(names: list, floor: int = 1) -> int:
    """The smallest width at which :func:`cut_left` keeps distinct names distinct (the
    longest name's length when no width does)."""
    longest = max((len(n) for n in names), default=0)
    want = len(set(names))
    lo = max(1, floor)
    if lo >= longest:
        return longest
    for w in range(lo, longest + 1):
        if len({cut_left(n, w) for n in names}) == want:
            return w
    return longest


_CAMEL = re.compile(r"[A-Z]?[a-z0-9_]+|[A-Z]+(?![a-z])|[^A-Za-z0-9_]+")


def fold_word(word: str, width: int) -> list:
    """An op name in lines of at most ``width``, broken between CamelCase words."""
    if len(word) <= width:
        return [word]
    pieces = _CAMEL.findall(word) or [word]
    if "".join(pieces) != word:
        pieces = [word]
    out, cur = [], ""
    for p in pieces:
        if len(cur) + len(p) <= width:
            cur += p
            continue
        if cur:
            out.append(cur)
        while len(p) > width:
            out.append(p[:width])
            p = p[width:]
        cur = p
    if cur:
        out.append(cur)
    return out


def camel_width(word: str) -> int:
    """The longest CamelCase word of ``word``: the narrowest :func:`fold_word` keeps whole."""
    pieces = _CAMEL.findall(word) or [word]
    return max(len(p) for p in pieces)


def column_floors(heads, natural, body, folded: str) -> dict:
    """The narrowest each column after the first may get when a table must fit a width:
    formulas 24, the ``folded`` column (op or type names) its widest CamelCase word, the
    output shape 14, numbers 10 (never under the header). ``body``: (cells, style) rows."""
    floors = {}
    for i, h in enumerate(heads):
        if not i:
            continue
        if h.endswith("formula"):
            floors[i] = max(len(h), 24)
        elif h == folded:
            floors[i] = max([len(h)] + [camel_width(c[i]) for c, _ in body])
        elif h == "output":
            floors[i] = max(len(h), min(natural[i], 14))
        else:
            floors[i] = max(len(h), min(natural[i], 10))
    return floors
