"""``--format html``: one self-contained page, checked in a real headless Chromium.

Oracles: the cost curves are compared with counts made from the tensors onnxruntime
produces at the same sizes (MACs from each Conv/Gemm output and its weight's shape, memory
from the bytes of every node output); the browser checks are Chromium's own (console
messages, the DOM after the scripts ran, the pixels of a screenshot). The browser tests
skip, saying why, only when no Chromium binary is found (``.ci/run`` installs Debian's
``chromium``); ``CNNSYM_CHROMIUM`` names another binary.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import cnnsym
from cnnsym.render.html import render_html
from cnnsym.render.registry import RenderOptions

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"
GOLDEN = ROOT / "tests" / "golden" / "html_tiny_resnet.txt"
CHARTS = {"macs", "memory", "output", "timeline", "rf", "top-macs", "top-params"}
MAX_BYTES = 600_000  # a page of resnet18 is about 100 KB


def chromium() -> str | None:
    env = os.environ.get("CNNSYM_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


needs_chromium = pytest.mark.skipif(chromium() is None, reason="no chromium binary found (apt-get install chromium; "
                                                                ".ci/run installs it)")


def run_chromium(url: str, tmp_path: Path, *args, timeout=120) -> subprocess.CompletedProcess:
    """Headless Chromium on ``url`` with every host name unresolvable (a request to the
    network would fail and show on the console) and its console on stderr."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--hide-scrollbars", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def console_lines(stderr: str) -> list:
    """The page's console messages (uncaught errors and failed requests included)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def tiny():
    return cnnsym.analyze(str(TINY))


@pytest.fixture(scope="module")
def resnet18(shared_models):
    p = shared_models / "torchscript" / "resnet18.onnx"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return cnnsym.analyze(str(p))


# --------------------------------------------------------------------------- DOM reading
class Dom(HTMLParser):
    """Elements of a page as (tag, attrs, text) in document order."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self._stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        el = [tag, dict(attrs), ""]
        self.elements.append(el)
        if tag not in ("meta", "input", "br", "circle", "rect", "line", "polyline", "path", "img", "link"):
            self._stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append([tag, dict(attrs), ""])

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2] += data

    def find(self, tag=None, **attrs):
        return [e for e in self.elements if (tag is None or e[0] == tag)
                and all(e[1].get(k.replace("_", "-")) == v for k, v in attrs.items())]


def series(html: str, chart: str) -> dict:
    """{series label: [(x, y), ...]} of one chart, from its polylines' data attributes."""
    dom = Dom(html)
    out, inside = {}, False
    for tag, a, _ in dom.elements:
        if tag == "svg":
            inside = a.get("data-chart") == chart
        elif inside and tag == "polyline" and "data-series" in a:
            xs = [int(v) for v in a["data-x"].split()]
            ys = [int(v) for v in a["data-y"].split()]
            out[a["data-series"]] = list(zip(xs, ys))
    return out


# --------------------------------------------------------------------------- without a browser
def test_page_is_self_contained(tiny, tmp_path):
    html = tiny.to_html()
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    dom = Dom(html)
    for tag, a, _ in dom.elements:  # nothing to fetch: no external source, stylesheet or frame
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        for k in ("src", "href", "srcset", "action", "data"):
            v = a.get(k) or ""
            assert not re.match(r"(https?:)?//", v), (tag, k, v)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html) and "@import" not in html
    assert {a.get("data-chart") for t, a, _ in dom.elements if t == "svg"} >= CHARTS
    assert len(html.encode()) < MAX_BYTES


def test_notebook_fragment_and_to_html(tiny):
    frag = tiny._repr_html_()
    assert "<html" not in frag and "<body" not in frag and "<!doctype" not in frag.lower()
    assert frag.lstrip().startswith('<div class="cnnsym"') and "<table" in frag and "<svg" in frag
    # each fragment scopes its style and script to its own id (several reports in one notebook)
    ids = re.findall(r'<div class="cnnsym" id="([^"]+)"', frag + tiny.render("html", fragment=True))
    assert len(ids) == 2 and ids[0] != ids[1]
    assert tiny.to_html() == render_html(tiny, RenderOptions())


def test_cli_writes_html(tmp_path):
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "cnnsym", "report", str(TINY), "--format", "html", "-o", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    assert out.read_text().startswith("<!doctype html>")


def _ort_counts(size: int) -> tuple:
    """(MACs, bytes of every node output) of tiny_resnet at 1x3xSxS, from the tensors
    onnxruntime computes: a Conv's MACs are numel(Y) * (Cin/group) * kh * kw read off its
    weight, a Gemm's numel(Y) * its inner dimension."""
    import onnx

    sys.path.insert(0, str(ROOT / "tests"))
    from oracle import run_ort

    model = onnx.load(str(TINY))
    outs = run_ort(model, {"input": np.zeros((1, 3, size, size), np.float32)})
    weights = {i.name: tuple(i.dims) for i in model.graph.initializer}
    macs = 0
    for n in model.graph.node:
        y = outs[n.output[0]]
        if n.op_type == "Conv":
            w = weights[n.input[1]]
            macs += y.size * int(np.prod(w[1:]))
        elif n.op_type == "Gemm":
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            w = weights[n.input[1]]
            macs += y.size * (w[1] if trans_b else w[0])
    return macs, sum(v.nbytes for v in outs.values())


def test_cost_curves_match_onnxruntime(tiny):
    html = tiny.to_html()
    macs = dict(series(html, "macs")["MACs"])
    act = dict(series(html, "memory")["all activations"])
    sizes = sorted(macs)
    assert sizes[0] <= 32 and sizes[-1] >= 448 and 224 in macs  # the bindings and a wide range
    for s in (sizes[1], 224, sizes[-1]):
        want_macs, want_bytes = _ort_counts(s)
        assert macs[s] == want_macs, s
        assert act[s] == want_bytes, s


def test_live_timeline_holds_the_input_first(tiny):
    (tl,) = series(tiny.to_html(), "timeline").values()
    assert tl[0] == (-1, 3 * 224 * 224 * 4)  # step -1: only the float32 1x3x224x224 input is live
    assert len(tl) == len(tiny.nodes) + 1


# --------------------------------------------------------------------------- golden structure
def skeleton(html: str) -> str:
    """The page's structure: sections, charts (series and point counts), tree rows,
    table headers; stable against style changes, not against new content."""
    dom = Dom(html)
    L = []
    chart = None
    for tag, a, text in dom.elements:
        if tag == "section":
            L.append(f"section {a.get('data-section')}")
        elif tag == "svg":
            chart = a.get("data-chart")
            L.append(f"  chart {chart}")
        elif tag == "polyline" and "data-series" in a:
            L.append(f"    series {a['data-series']}: {len(a['data-x'].split())} points")
        elif tag == "g" and a.get("class") == "bar":
            L.append("    bar")
        elif tag in ("details", "div") and "mod" in (a.get("class") or "").split():
            L.append(f"  module {a.get('data-key')}")
        elif tag == "th":
            L.append(f"  th {text.strip()}")
    return "\n".join(L) + "\n"


def test_golden_structure_of_the_fixture(tiny):
    got = skeleton(tiny.to_html())
    if os.environ.get("CNNSYM_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(got)
    assert got == GOLDEN.read_text(), "regenerate with CNNSYM_UPDATE_GOLDEN=1 if the change is intended"


# --------------------------------------------------------------------------- in Chromium
def _png_pixels(path: Path):
    """(width, height, rows of bytes, channels) of an 8-bit RGB/RGBA PNG, no library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b, c = prev[i], (prev[i - ch] if i >= ch else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, ch


def _page(report, tmp_path, name):
    p = tmp_path / f"{name}.html"
    p.write_text(report.to_html(), encoding="utf-8")
    return p


@needs_chromium
@pytest.mark.parametrize("which", ["tiny", "resnet18"])
def test_page_loads_in_chromium_without_console_errors(which, request, tmp_path):
    report = request.getfixturevalue(which)
    page = _page(report, tmp_path, which)
    assert len(page.read_bytes()) < MAX_BYTES
    r = run_chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_lines(r.stderr) == []
    dom = Dom(r.stdout)  # the DOM after the scripts ran
    charts = {a.get("data-chart"): a for t, a, _ in dom.elements if t == "svg"}
    assert set(charts) >= CHARTS
    for name in ("macs", "memory", "timeline", "rf"):
        assert series(r.stdout, name), f"chart {name} has no curve"
    mods = dom.find(None, **{"class": "mod row leaf"}) + dom.find("details", **{"class": "mod"})
    assert len(mods) >= (15 if which == "tiny" else 20)
    assert dom.find("table", **{"class": "conv"}), "the conventions table"


@needs_chromium
def test_screenshot_shows_the_charts(tiny, tmp_path):
    page = _page(tiny, tmp_path, "tiny")
    shot = tmp_path / "shot.png"
    r = run_chromium(page.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1200,1400")
    assert shot.exists(), r.stderr[-2000:]
    assert console_lines(r.stderr) == []
    w, h, rows, ch = _png_pixels(shot)
    assert (w, h) == (1200, 1400)
    colors = {row[i:i + 3] for row in rows[::7] for i in range(0, w * ch, 5 * ch)}
    assert len(colors) > 50, "a blank or nearly blank page"
    curve = bytes((0x4e, 0x79, 0xa7))  # the first series' colour: a curve or bar was painted
    hits = sum(row[i:i + 3] == curve for row in rows for i in range(0, w * ch, ch))
    assert hits > 200


@needs_chromium
def test_tree_filter_runs_in_chromium(resnet18, tmp_path):
    page = _page(resnet18, tmp_path, "r18")
    r = run_chromium(page.as_uri() + "#filter=layer3.1", tmp_path, "--dump-dom")
    assert r.returncode == 0 and console_lines(r.stderr) == []
    dom = Dom(r.stdout)
    mods = [a for t, a, _ in dom.elements if "mod" in (a.get("class") or "").split()]
    shown = [a["data-key"] for a in mods if "display: none" not in (a.get("style") or "")]
    hits = [a["data-key"] for a in mods if "hit" in a.get("class", "").split()]
    assert hits and all("layer3.1" in k for k in hits)
    assert len(shown) < len(mods) / 2  # the rest is hidden
    assert any(k.startswith("layer3 ") for k in shown) and any(k.startswith(" ") for k in shown)  # ancestors
