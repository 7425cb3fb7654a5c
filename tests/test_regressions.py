"""Every mismatch the differential fuzzer found, kept as a fixture: each
``fixtures/regressions/NAME.onnxtxt`` (ONNX text) starts with comment lines
``# sizes: N=1,L=1; N=1,L=2`` listing the bindings where cnnsym and onnxruntime disagreed;
at each, the file is run through onnxruntime and compared with cnnsym by the fuzzer's own
check (shapes where cnnsym says valid, a failure where it says invalid)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import onnx
import pytest

pytest.importorskip("onnxruntime")

sys.path.insert(0, os.path.dirname(__file__))
import fuzzgen  # noqa: E402

from cnnsym.analyze import analyze  # noqa: E402
from cnnsym.frontends.onnx import load  # noqa: E402

REG = Path(__file__).resolve().parent.parent / "fixtures" / "regressions"
FILES = sorted(REG.glob("*.onnxtxt"))


def _sizes(text):
    out = []
    for line in text.splitlines():
        if line.startswith("# sizes:"):
            for part in line.split(":", 1)[1].split(";"):
                part = part.strip()
                if part:
                    out.append({k.strip(): int(v) for k, v in (kv.split("=") for kv in part.split(","))})
    return out


def test_regression_corpus_exists():
    assert FILES, f"no fixtures in {REG}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_regression(path):
    text = path.read_text()
    sizes = _sizes(text)
    assert sizes, f"{path.name}: no '# sizes:' line"
    model = onnx.parser.parse_model(text)  # '#' lines are comments in the ONNX text format
    report = analyze(load(str(path)), {}, strict_bindings=False)  # as the CLI reads the file
    runner = fuzzgen.Runner(model)
    case = fuzzgen.Case(model, [], 0)
    down, producer = fuzzgen._consumers(model)
    for dims in sizes:
        fuzzgen.check_binding(case, report, runner, dims, down, producer, {})
