"""The table at a width: no line over it, no trailing spaces, names cut from the left and
still distinct, scalar constants and shape arithmetic folded, RF unambiguous, and the
Markdown for pull requests with the full node table collapsed."""
import re
from pathlib import Path

import onnx
import pytest

from cnnsym.analyze import analyze
from cnnsym.frontends import load_any
from cnnsym.render import RenderOptions, render_markdown, render_table_text
from cnnsym.render.common import _rf_cell
from cnnsym.render.layout import compact_name, cut_left, wrap

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"


def _onnx_nodes(path):
    return list(onnx.load(str(path), load_external_data=False).graph.node)


def _node_cells(text):
    """The name cell of each node row of the printed table (continuation lines excluded)."""
    lines = text.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("node "))
    op_col = lines[head].index(" op ") + 1
    out = []
    for l in lines[head + 2:]:
        if not l or l.startswith(("mem:", "Totals")) or re.match(r"\d+ small constant", l):
            break
        name = l[:op_col].strip()
        if name:
            out.append(name)
    return out


def _check_width(text, width):
    for l in text.splitlines():
        assert len(l) <= width, (len(l), l)
        assert l == l.rstrip(), repr(l)


def _models(shared_dir):
    out = [TINY]
    r18 = shared_dir / "torchscript" / "resnet18.onnx"
    return out + ([r18] if r18.exists() else [])


@pytest.fixture(scope="module")
def reports():
    from conftest import shared_models_dir

    return {p.name: (p, analyze(load_any(str(p)))) for p in _models(shared_models_dir())}


def test_resnet18_is_there_or_skipped():
    from conftest import shared_models_dir

    if not (shared_models_dir() / "torchscript" / "resnet18.onnx").exists():
        pytest.skip("shared resnet18 export absent")


@pytest.mark.parametrize("width", [80, 60, 120])
def test_every_line_fits_and_names_stay_distinct(reports, width):
    for name, (path, rep) in reports.items():
        text = render_table_text(rep, width=width, view="nodes")
        _check_width(text, width)
        cells = _node_cells(text)
        # oracle: the file's own node list (tiny_resnet and resnet18 have no folded nodes)
        assert len(cells) == len(_onnx_nodes(path)), name
        if width >= 80:
            assert len(set(cells)) == len(cells), (name, sorted(c for c in cells if cells.count(c) > 1))


def test_wide_and_all_nodes_fit_too(reports):
    for name, (path, rep) in reports.items():
        _check_width(render_table_text(rep, wide=True), 160)
        _check_width(render_table_text(rep, wide=True, width=100), 100)
        _check_width(render_table_text(rep, width=80, show_all_nodes=True), 80)
        _check_width(render_table_text(rep, width=80, show_all_nodes=True, view="nodes"), 80)


def test_resnet18_names_keep_their_block(reports):
    if "resnet18.onnx" not in reports:
        pytest.skip("shared resnet18 export absent")
    cells = _node_cells(render_table_text(reports["resnet18.onnx"][1], width=80, view="nodes"))
    for block in ("layer1.0", "layer2.0", "layer3.0", "layer4.0"):
        assert any(block in c and "conv1" in c for c in cells), block
    # the op column is as wide as the op: GlobalAveragePool is never cut at 160 columns
    text = render_table_text(reports["resnet18.onnx"][1], width=160, view="nodes")
    assert "GlobalAveragePool" in text


def test_cut_from_the_left_keeps_whole_components():
    name = "/layer1/layer1.0/conv1/Conv"
    assert cut_left(name, 40) == name
    assert cut_left(name, 21) == "\u2026layer1.0/conv1/Conv"  # 1 + 20 characters
    assert cut_left(name, 15) == "\u2026conv1/Conv"
    assert compact_name("/layer4/layer4.0/downsample/downsample.0/Conv") == "layer4.0/downsample.0/Conv"
    assert compact_name("node_Conv_820") == "node_Conv_820"


def test_formula_lines_wrap_at_operators_and_keep_their_indent():
    f = "= " + " + ".join(f"{k}*batch*ceiling(height/{k})*ceiling(width/{k})" for k in (2, 4, 8, 16, 32))
    lines = wrap(f, 50, 6, 8)
    assert all(len(l) <= 50 for l in lines)
    assert lines[0].startswith("      = ") and all(l.startswith(" " * 8) for l in lines[1:])
    # broken at operators (+ starts a line, * ends one), never inside a number or a name
    assert all(a.endswith(("+", "*")) or b.lstrip().startswith("+") for a, b in zip(lines, lines[1:]))
    assert sum(l.lstrip().startswith("+ ") for l in lines) == 4
    assert "".join(l.strip() + ("" if l.endswith("*") else " ") for l in lines).strip() == f


def test_rf_is_unambiguous():
    # a field of 35/3 input pixels with a jump of 1/3 (after a 3x upsampling) must not read
    # as one fraction chain 35/3/1/3
    import sympy as sp

    row = {"rf_size": [1], "rf_size_v": [sp.Rational(35, 3)] * 2, "rf_stride_v": [sp.Rational(1, 3)] * 2}
    assert _rf_cell(row) == "size 35/3, jump 1/3"


def test_scalar_constants_are_folded_with_a_count():
    from conftest import shared_models_dir

    p = shared_models_dir() / "torchscript" / "mobilenet_v2.onnx"
    if not p.exists():
        pytest.skip("shared mobilenet_v2 export absent")
    nodes = _onnx_nodes(p)
    # oracle: the Constant nodes of the file holding at most 64 elements (ReLU6's Clip bounds)
    small = sum(1 for n in nodes if n.op_type == "Constant"
                and all(len(a.t.dims) == 0 or int(__import__("math").prod(a.t.dims)) <= 64 for a in n.attribute))
    assert small > 0
    rep = analyze(load_any(str(p)))
    text = render_table_text(rep, width=80, view="nodes")
    _check_width(text, 80)
    assert f"{small} small constant and shape-arithmetic nodes folded" in text
    assert len(_node_cells(text)) == len(nodes) - small
    full = render_table_text(rep, width=80, show_all_nodes=True, view="nodes")
    _check_width(full, 80)
    assert len(_node_cells(full)) == len(nodes)
    md = render_markdown(rep)
    assert f"({small} small constant and shape-arithmetic nodes folded)" in md
    assert md.count("| `") < render_markdown(rep, RenderOptions(show_all_nodes=True)).count("| `")


def test_markdown_puts_totals_and_hot_spots_before_the_collapsed_table(reports):
    md = render_markdown(reports["tiny_resnet.onnx"][1])
    t, hot, det, end = (md.index("### Totals"), md.index("### Top "), md.index("<details>"),
                        md.index("</details>"))
    assert t < hot < det < end
    assert "<summary>All " in md
    body = md[det:end]
    # every node of the file is in the collapsed table
    for n in _onnx_nodes(TINY):
        assert f"`{n.name}`" in body
