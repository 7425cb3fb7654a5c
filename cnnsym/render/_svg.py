"""Charts as inline SVG, drawn in Python for the HTML report (:mod:`cnnsym.render.html`).

Why SVG written here rather than a JavaScript plotting library: the page must open
offline with no network request and no dependency to vendor or keep up to date; inline
SVG is rendered by every browser with no script at all, is part of the DOM (so a test can
count the curves in Chromium's dump), scales without blur, prints, and keeps the page small
(a few KB per chart). The charts needed (lines over a size range, a step timeline, bars)
are simple enough that a 200-line module is less code than a vendored library.

Every function returns one ``<svg>`` element as a string; numbers on the axes use
:func:`cnnsym.render.common.human`.
"""
from __future__ import annotations

import math
from html import escape

from .common import human

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1")
W, H = 560, 260
PAD_L, PAD_R, PAD_T, PAD_B = 64, 16, 30, 42


def _f(x) -> str:
    """A coordinate with one decimal at most."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _num(v) -> str:
    """A data value as written in ``data-x``/``data-y``: exact for integers."""
    if isinstance(v, int):
        return str(v)
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.6g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5, 5 x 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    out, v = [], first
    while v <= hi + step * 1e-9 and len(out) < 4 * n:
        out.append(v)
        v += step
    if out[-1] < hi:
        out.append(out[-1] + step)
    return out


def _tick_text(v: float, kind: str) -> str:
    if abs(v - round(v)) < 1e-9:
        return human(int(round(v)), kind)
    return f"{v:.3g}"


class _Frame:
    """Scales of one chart: data -> pixel coordinates, with the axes drawn once."""

    def __init__(self, xs, ys, width=W, height=H, y0=True, xkind="count", ykind="count"):
        self.w, self.h = width, height
        xlo, xhi = min(xs), max(xs)
        ylo, yhi = (min(0.0, min(ys)) if y0 else min(ys)), max(ys)
        if xhi > xlo:  # the x axis spans the data exactly, ticks inside it
            self.x0, self.x1 = xlo, xhi
            self.xt = [t for t in nice_ticks(xlo, xhi, 6) if xlo - 1e-9 <= t <= xhi + 1e-9]
        else:
            self.xt = [xlo - 1, xlo, xlo + 1]
            self.x0, self.x1 = self.xt[0], self.xt[-1]
        self.yt = nice_ticks(ylo, yhi, 5)
        self.y0, self.y1 = self.yt[0], self.yt[-1]
        self.xkind, self.ykind = xkind, ykind

    def X(self, x):
        span = (self.x1 - self.x0) or 1.0
        return PAD_L + (x - self.x0) / span * (self.w - PAD_L - PAD_R)

    def Y(self, y):
        span = (self.y1 - self.y0) or 1.0
        return self.h - PAD_B - (y - self.y0) / span * (self.h - PAD_T - PAD_B)

    def axes(self, xlabel, ylabel) -> list:
        L = [f'<g class="axes" font-size="11" fill="#555">']
        for v in self.yt:
            y = _f(self.Y(v))
            L.append(f'<line x1="{PAD_L}" x2="{self.w - PAD_R}" y1="{y}" y2="{y}" stroke="#e3e3e3"/>')
            L.append(f'<text x="{PAD_L - 6}" y="{y}" text-anchor="end" dy="0.32em">{escape(_tick_text(v, self.ykind))}</text>')
        for v in self.xt:
            x = _f(self.X(v))
            L.append(f'<line x1="{x}" x2="{x}" y1="{self.h - PAD_B}" y2="{self.h - PAD_B + 4}" stroke="#888"/>')
            L.append(f'<text x="{x}" y="{self.h - PAD_B + 16}" text-anchor="middle">{escape(_tick_text(v, self.xkind))}</text>')
        L.append(f'<line x1="{PAD_L}" x2="{self.w - PAD_R}" y1="{self.h - PAD_B}" y2="{self.h - PAD_B}" stroke="#888"/>')
        L.append(f'<line x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{self.h - PAD_B}" stroke="#888"/>')
        L.append(f'<text x="{(PAD_L + self.w - PAD_R) / 2:.0f}" y="{self.h - 6}" text-anchor="middle">{escape(xlabel)}</text>')
        L.append(f'<text x="{PAD_L}" y="{PAD_T - 10}" text-anchor="start">{escape(ylabel)}</text>')
        L.append("</g>")
        return L


def _open(name, title, width=W, height=H) -> list:
    return [f'<svg class="chart" data-chart="{escape(name)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
            f"<title>{escape(title)}</title>"]


def line_chart(name, title, series, *, xlabel, ylabel, xkind="count", ykind="count", step=False,
               marks=(), hlines=(), vlines=(), dots=True) -> str:
    """Curves of ``series`` [(label, [(x, y), ...], tooltip or None)]: straight segments, or
    steps (``step``). ``marks`` [(x, y, text)]: a point with a label (the peak);
    ``hlines``/``vlines`` [(value, text)]: dashed reference lines."""
    pts = [p for _, ps, _ in series for p in ps]
    if not pts:
        return ""
    xs = [float(x) for x, _ in pts] + [float(v) for v, _ in vlines]
    ys = [float(y) for _, y in pts] + [float(v) for v, _ in hlines]
    fr = _Frame(xs, ys, xkind=xkind, ykind=ykind)
    L = _open(name, title) + fr.axes(xlabel, ylabel)
    for v, text in hlines:
        y = _f(fr.Y(float(v)))
        L.append(f'<line class="ref" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y}" y2="{y}" stroke="#999" stroke-dasharray="4 3"/>')
        L.append(f'<text x="{W - PAD_R - 2}" y="{y}" dy="-0.35em" text-anchor="end" font-size="10" fill="#777">{escape(text)}</text>')
    for v, text in vlines:
        x = _f(fr.X(float(v)))
        L.append(f'<line class="ref" x1="{x}" x2="{x}" y1="{PAD_T}" y2="{H - PAD_B}" stroke="#999" stroke-dasharray="4 3"/>')
        L.append(f'<text x="{x}" y="{H - PAD_B - 4}" dx="3" font-size="10" fill="#777">{escape(text)}</text>')
    legend = []
    for i, (label, ps, tips) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = []
        for k, (x, y) in enumerate(ps):
            X, Y = fr.X(float(x)), fr.Y(float(y))
            if step and k:
                coords.append(f"{_f(X)},{coords[-1].split(',')[1]}")
            coords.append(f"{_f(X)},{_f(Y)}")
        data = (f'data-x="{" ".join(_num(x) for x, _ in ps)}" data-y="{" ".join(_num(y) for _, y in ps)}"')
        L.append(f'<polyline class="series" data-series="{escape(label)}" {data} fill="none" stroke="{color}" '
                 f'stroke-width="2" points="{" ".join(coords)}"/>')
        if dots and len(ps) <= 80:
            for k, (x, y) in enumerate(ps):
                tip = tips[k] if tips else f"{label} at {_tick_text(float(x), xkind)}: {human(y, ykind)}"
                L.append(f'<circle cx="{_f(fr.X(float(x)))}" cy="{_f(fr.Y(float(y)))}" r="2.5" fill="{color}">'
                         f"<title>{escape(tip)}</title></circle>")
        legend.append((label, color))
    for x, y, text in marks:
        X, Y = fr.X(float(x)), fr.Y(float(y))
        anchor = "end" if X > W * 0.6 else "start"
        dx = -7 if anchor == "end" else 7
        L.append(f'<circle class="mark" cx="{_f(X)}" cy="{_f(Y)}" r="5" fill="none" stroke="#e15759" stroke-width="2"/>')
        L.append(f'<text class="mark-label" x="{_f(X)}" y="{_f(Y)}" dx="{dx}" dy="-0.4em" text-anchor="{anchor}" '
                 f'font-size="11" fill="#c0392b">{escape(text)}</text>')
    if len(legend) > 1:
        x = PAD_L + 8
        for label, color in legend:
            L.append(f'<rect x="{x}" y="{PAD_T + 4}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{PAD_T + 13}" font-size="11" fill="#333">{escape(label)}</text>')
            x += 22 + 7 * len(label)
    L.append("</svg>")
    return "\n".join(L)


def bar_chart(name, title, items, *, kind="count", color=PALETTE[0], width=W) -> str:
    """Horizontal bars of ``items`` [(label, value, tooltip)], largest scale first."""
    items = [(lab, float(v), tip) for lab, v, tip in items]
    if not items:
        return ""
    row, label_w = 18, 150
    height = PAD_T + row * len(items) + 8
    top = max(v for _, v, _ in items) or 1.0
    L = _open(name, title, width, height)
    L.append(f'<text x="4" y="{PAD_T - 12}" font-size="12" fill="#333">{escape(title)}</text>')
    for i, (label, v, tip) in enumerate(items):
        y = PAD_T + i * row
        w = max(0.0, v / top * (width - label_w - 70))
        short = label if len(label) <= 24 else "\u2026" + label[-23:]
        L.append(f'<g class="bar"><title>{escape(tip)}</title>'
                 f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11" fill="#333">{escape(short)}</text>'
                 f'<rect x="{label_w}" y="{y + 3}" width="{_f(w)}" height="{row - 6}" fill="{color}"/>'
                 f'<text x="{_f(label_w + w + 4)}" y="{y + 12}" font-size="11" fill="#555">{escape(human(int(v), kind))}</text></g>')
    L.append("</svg>")
    return "\n".join(L)
