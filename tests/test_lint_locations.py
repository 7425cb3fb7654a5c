"""Lint findings point where the fix goes (issue 13 item 5): a layer's bad argument that came
through constructor calls (``self.layer2 = ResidualBlock(32, 128)`` -> ``nn.Conv2d(in_channels,
...)``) is reported on the line where the literal was written, with the chain as related
locations in every output format. Expected lines and columns are read off the sources below
by hand (they are written out in comments)."""
import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnsym.graph import Node, SourceLoc
from cnnsym.lint import RULES, Finding, Related, all_rules
from cnnsym.lint import output
from cnnsym.lint.context import LintContext
from cnnsym.lint.engine import LintResult, Options, lint_paths

ROOT = Path(__file__).resolve().parent.parent

NET = textwrap.dedent("""\
    import torch.nn as nn

    WIDTH = 64


    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


    class ResidualBlock(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
            self.conv2 = conv3x3(out_channels, out_channels)

        def forward(self, x):
            return self.conv2(self.conv(x))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, WIDTH, 3)
            self.layer2 = ResidualBlock(32, 128){noqa}
            self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(2 * 64, 10, 1))

        def forward(self, x):
            return self.head(self.layer2(self.stem(x)))
    """)
# line 24: `        self.layer2 = ResidualBlock(32, 128)`: the call at col 23, the 32 at col 37
# line 13: `        self.conv = nn.Conv2d(in_channels, ...)` at col 21; line 3: WIDTH = 64, the 64 at col 9


def _rule():
    all_rules()
    return RULES["CNS102"]


def _ctx(path, nodes=()):
    rep = SimpleNamespace(nodes=[SimpleNamespace(node=n) for n in nodes], tensors={}, outputs=[], inputs=[])
    return LintContext(rep, model=f"{path}::Net", path=path)


def test_hand_made_chain(tmp_path):
    """The contract alone (Node.loc_chain, Node.arg_locs), on a hand-made node."""
    p = str(tmp_path / "net.py")
    call, conv, lit = SourceLoc(p, 38, 23), SourceLoc(p, 9, 21), SourceLoc(p, 38, 37)
    n = Node("Conv", "layer2.conv", ["x", "w"], ["y"], loc=conv, call_loc=SourceLoc(p, 45, 16), module="layer2.conv",
             loc_chain=(call, conv), arg_locs={"in_channels": lit})
    ctx = _ctx(p, [n])
    f = ctx.finding(_rule(), "layer2.conv", "expects 32 channels", arg="in_channels")
    assert (f.line, f.col) == (38, 37)  # the literal 32, in the outermost call
    # the call on line 38 shares the primary line: only the construction is a note
    assert [(r.line, r.col, r.message) for r in f.related] == [(9, 21, "'layer2.conv' is constructed here")]
    assert set(f.alt_lines) == {9, 45}  # a noqa on the construction or the forward call still applies
    # the argument the rule names was computed (no literal): the layer's own line, chain as notes
    f = ctx.finding(_rule(), "layer2.conv", "m", arg="num_features")
    assert (f.line, f.col) == (9, 21)
    assert [(r.line, r.message) for r in f.related] == [(38, "'layer2.conv' is built through this call")]
    # no chain recorded (ONNX, an older frontend): unchanged
    m = Node("Conv", "c", ["x", "w"], ["y"], loc=conv)
    f = _ctx(p, [m]).finding(_rule(), "c", "m", arg="in_channels")
    assert (f.line, f.col, f.related) == (9, 21, ())


def test_library_layer_points_at_the_users_call(tmp_path):
    """A layer built inside an installed library: the finding is on the user's own call."""
    p = str(tmp_path / "proj" / "net.py")
    lib = str(tmp_path / "site-packages" / "lib" / "layers.py")
    n = Node("Conv", "b.conv", [], [], loc=SourceLoc(lib, 50, 9),
             loc_chain=(SourceLoc(p, 12, 18), SourceLoc(lib, 50, 9)), arg_locs={"in_channels": SourceLoc(lib, 40, 30)})
    f = _ctx(p, [n]).finding(_rule(), "b.conv", "m", arg="in_channels")
    assert (f.path.endswith("net.py"), f.line, f.col) == (True, 12, 18)
    assert [r.line for r in f.related] == [50]


def _lint(tmp_path, monkeypatch, noqa=""):
    (tmp_path / "net.py").write_text(NET.format(noqa=noqa))
    monkeypatch.chdir(tmp_path)
    rules = all_rules()
    return lint_paths(["net.py"], Options({"CNS102": rules["CNS102"]}, None, None, cache=False))


def test_real_chain_from_the_source_frontend(tmp_path, monkeypatch):
    res = _lint(tmp_path, monkeypatch)
    assert not res.errors, res.errors
    (f,) = [f for f in res.findings if f.code == "CNS102"]
    assert (f.path, f.line, f.col) == ("net.py", 24, 37)  # the 32 of ResidualBlock(32, 128)
    rel = [(r.path, r.line, r.col) for r in f.related]
    assert ("net.py", 13, 21) in rel  # nn.Conv2d(in_channels, ...) inside the block
    assert ("net.py", 3, 9) in rel  # the producer's out_channels: WIDTH = 64
    text = output.concise(res)
    assert "net.py:24:37: CNS102 " in text and "\n  net.py:13:21: note: 'layer2.conv' is constructed here\n" in text
    full = output.full(res)
    assert "24 |         self.layer2 = ResidualBlock(32, 128)" in full and "  net.py:13:21: note: " in full
    gh = output.github(res)
    line = next(x for x in gh.splitlines() if "CNS102" in x)
    assert line.startswith("::error file=net.py,line=24,col=37,") and "%0Anet.py:13:21: note: " in line


def test_noqa_on_the_outer_call(tmp_path, monkeypatch):
    assert not [f for f in _lint(tmp_path, monkeypatch, "  # noqa: CNS102").findings if f.code == "CNS102"]


def test_sarif_related_locations_and_json_round_trip(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    f = Finding("CNS102", "channel-mismatch", "error", "m", "net.py", 24, 37, "layer2.conv", "net.py::Net", (13,), "",
                (Related("net.py", 13, 21, "'layer2.conv' is constructed here"),))
    res = LintResult(findings=[f], models=1, files=1)
    all_rules()
    doc = json.loads(output.sarif(res, {"CNS102": RULES["CNS102"]}))
    schema = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    (r,) = doc["runs"][0]["results"]
    assert r["locations"][0]["physicalLocation"]["region"] == {"startLine": 24, "startColumn": 37}
    (rl,) = r["relatedLocations"]
    assert rl["physicalLocation"]["region"] == {"startLine": 13, "startColumn": 21}
    assert rl["message"]["text"] == "'layer2.conv' is constructed here"
    back = Finding.from_dict(json.loads(json.dumps(dict(f.to_dict(), alt_lines=list(f.alt_lines)))))
    assert back == f
    assert json.loads(output.as_json(res))["findings"][0]["related"][0]["line"] == 13


STRIDE = textwrap.dedent("""\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 64)
            self.conv2 = nn.Conv2d(6, 16, 5)

        def forward(self, x):
            return self.conv2(self.pool(F.relu(self.conv1(x))))
    """)


def test_collapse_after_a_skipping_stride_points_at_the_stride(tmp_path, monkeypatch):
    """torch: at 32x32, conv1 gives 28x28, the pool (2x2 window, stride 64) 1x1, and conv2's
    5x5 window raises. The 64 (line 9, col 37) is the value to edit, not conv2 (line 10)."""
    (tmp_path / "net.py").write_text(STRIDE)
    monkeypatch.chdir(tmp_path)
    rules = all_rules()
    res = lint_paths(["net.py"], Options({"CNS103": rules["CNS103"]}, ["1x3x32x32"], None, cache=False))
    (f,) = res.findings
    assert (f.line, f.col) == (9, 37), f
    assert "moves its 2-wide window by 64" in f.message
    assert [(r.line, r.message) for r in f.related] == [(10, "'conv2' is where it fails")]
