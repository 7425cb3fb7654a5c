"""The format registry of cnnsym.render: what the CLI reads for ``--format`` choices and help,
and the promise that a format registered there is the function the package exports."""
import csv
import io
import json
from pathlib import Path

import onnxruntime as ort
import pytest

from cnnsym import render
from cnnsym.analyze import analyze
from cnnsym.frontends import load_any
from cnnsym.render import FORMATS, OPS_FORMATS, VERIFY_FORMATS, RenderOptions, register_format

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"


@pytest.fixture(scope="module")
def tiny():
    return analyze(load_any(str(TINY)))


def test_formats_in_cli_order():
    assert list(FORMATS) == ["table", "json", "markdown", "csv", "html"]
    assert list(OPS_FORMATS) == ["table", "json", "markdown"]
    assert list(VERIFY_FORMATS) == ["table", "json"]
    help_text = render.format_help()
    for name, f in FORMATS.items():
        assert f.name == name and f.subject == "report" and f.help
        assert f"{name}: {f.help}" in help_text


def test_registered_functions_are_the_exported_ones(tiny):
    opts = RenderOptions()
    assert FORMATS["json"].render(tiny, opts) == render.render_json(tiny)
    assert FORMATS["markdown"].render(tiny, opts) == render.render_markdown(tiny)
    assert FORMATS["csv"].render(tiny, opts) == render.render_csv(tiny)
    assert FORMATS["table"].render(tiny, RenderOptions(width=100)) == render.render_table_text(tiny, width=100)
    assert render.render(tiny, "json") == render.render_json(tiny)
    assert FORMATS["table"].console is not None and FORMATS["json"].console is None


def test_json_and_csv_describe_every_node_onnxruntime_runs(tiny):
    # oracle: the node names of the ONNX file as onnxruntime loads it (one row per node)
    import onnx

    names = [n.name for n in onnx.load(str(TINY), load_external_data=False).graph.node]
    ort.InferenceSession(str(TINY), providers=["CPUExecutionProvider"])  # the file is valid
    doc = json.loads(FORMATS["json"].render(tiny, RenderOptions()))
    assert [n["name"] for n in doc["nodes"]] == names
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"].render(tiny, RenderOptions()))))
    assert [r["name"] for r in rows] == names


def test_a_new_format_is_one_registration(tiny):
    @register_format("names", "node names, one a line", suffix=".txt")
    def names(report, options):
        return "".join(r.node.name + "\n" for r in report.nodes)

    try:
        assert "names" in FORMATS and "names: node names" in render.format_help()
        assert render.render(tiny, "names").splitlines()[0] == tiny.nodes[0].node.name
        with pytest.raises(ValueError):
            register_format("names", "again")(lambda report, options: "")
    finally:
        del FORMATS["names"]


def test_unknown_format_names_the_known_ones():
    with pytest.raises(KeyError, match="table, json, markdown, csv"):
        render.get_format("yaml")
    with pytest.raises(ValueError):
        register_format("x", "y", subject="nope")


def test_ops_formats_render_without_a_console():
    doc = json.loads(OPS_FORMATS["json"].render(RenderOptions()))
    assert any(o["op_type"] == "Conv" for o in doc["ops"])
    text = OPS_FORMATS["table"].render(RenderOptions(width=100))
    assert "Conv" in text and max(len(l) for l in text.splitlines()) <= 100
    assert OPS_FORMATS["markdown"].render(RenderOptions()).startswith("## cnnsym ops (")
