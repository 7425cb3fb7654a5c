"""`cnnsym lint` end to end: output formats (SARIF validated against the 2.1.0 schema),
locations, suppression comments, configuration, exit codes, the cache, start-up."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BROKEN = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 5)
            self.bn = nn.BatchNorm2d(16)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(16 * 5 * 5, 10){noqa}

        def forward(self, x):
            x = self.pool(self.pool(self.bn(self.conv(x))))
            return self.fc(x.flatten(1))
    """)


def cli(*args, cwd, env=None):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    e.pop("CNNSYM_DEBUG", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


# CNS201 (the warning these tests see) is off by default: selected in the project's config
EXTEND = '[tool.cnnsym]\nextend-select = ["CNS201"]\n'


@pytest.fixture
def proj(tmp_path):
    (tmp_path / "net.py").write_text(BROKEN.format(noqa=""))
    (tmp_path / "pyproject.toml").write_text(EXTEND)
    return tmp_path


def test_concise_locations_and_exit(proj):
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "concise", "--no-cache", cwd=proj)
    assert r.returncode == 1, r.stderr
    lines = [l for l in r.stdout.splitlines() if ": CNS" in l]
    assert any(l.startswith("net.py:10:19: CNS101 ") for l in lines), lines
    assert any(l.startswith("net.py:7:21: CNS201 ") for l in lines), lines
    assert "Found 1 error, 1 warning" in r.stdout


def test_full_format_shows_source_and_fix(proj):
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--no-cache", cwd=proj)
    assert "10 |         self.fc = nn.Linear(16 * 5 * 5, 10)" in r.stdout
    assert "= fix:" in r.stdout and "= model: net.py::Net" in r.stdout


@pytest.mark.parametrize("comment", ["  # noqa: CNS101", "  # cnnsym: ignore[CNS101]", "  # noqa"])
def test_suppression(tmp_path, comment):
    (tmp_path / "net.py").write_text(BROKEN.format(noqa=comment))
    (tmp_path / "pyproject.toml").write_text(EXTEND)
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "concise", "--no-cache", cwd=tmp_path)
    assert "CNS101" not in r.stdout
    assert r.returncode == 0, r.stdout
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "concise", "--no-cache", "--strict", cwd=tmp_path)
    assert r.returncode == 1  # the CNS201 warning counts with --strict


def test_other_code_not_suppressed(tmp_path):
    (tmp_path / "net.py").write_text(BROKEN.format(noqa="  # noqa: CNS202"))
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "concise", "--no-cache", cwd=tmp_path)
    assert "CNS101" in r.stdout and r.returncode == 1


def test_config_input_and_ignores(proj):
    (proj / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.cnnsym]
        input = "1x3x64x64"
        extend-select = ["CNS201"]
        ignore = ["CNS201"]
        [tool.cnnsym.models."net.py::Net"]
        input = "1x3x24x24"
    """))
    r = cli("lint", "net.py", "--format", "concise", "--no-cache", cwd=proj)
    assert r.returncode == 0 and "CNS" not in r.stdout.replace("checks passed", ""), r.stdout
    r = cli("lint", "net.py", "--format", "concise", "--no-cache", "--input", "1x3x64x64", cwd=proj)
    assert "CNS101" in r.stdout and "CNS201" not in r.stdout  # the flag overrides the config


def test_json_format(proj):
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "json", "--no-cache", cwd=proj)
    doc = json.loads(r.stdout)
    assert doc["summary"]["errors"] == 1 and doc["summary"]["warnings"] == 1
    f = next(x for x in doc["findings"] if x["code"] == "CNS101")
    assert f["line"] == 10 and f["node"] == "fc" and f["severity"] == "error" and f["model"] == "net.py::Net"


def test_github_format(proj):
    r = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "github", "--no-cache", cwd=proj)
    lines = r.stdout.splitlines()
    assert any(l.startswith("::error file=net.py,line=10,col=19,title=CNS101 linear-in-features::CNS101 ") for l in lines)
    assert any(l.startswith("::warning file=net.py,line=7,") for l in lines)


def test_sarif_valid(proj, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    import onnx

    from cnnsym.lint.examples import onnx_model

    onnx.save(onnx_model("""
        m (float[N,3,32,32] x) => (float y) <float[16,3,3,3] w, float[64,32,3,3] w2> {
          a = Conv(x, w)
          y = Conv(a, w2)
        }"""), str(proj / "bad.onnx"))
    r = cli("lint", "net.py", "bad.onnx", "--input", "1x3x64x64", "--format", "sarif", "--no-cache", cwd=proj)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    ids = [x["id"] for x in run["tool"]["driver"]["rules"]]
    res = run["results"]
    assert {x["ruleId"] for x in res} >= {"CNS101", "CNS201", "CNS102"}
    for x in res:
        assert ids[x["ruleIndex"]] == x["ruleId"]
        assert x["partialFingerprints"]["cnnsymFingerprint/v1"]
    onnx_res = next(x for x in res if x["ruleId"] == "CNS102")
    loc = onnx_res["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "bad.onnx"
    assert loc["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1}
    assert loc["logicalLocations"][0]["name"]
    # stable fingerprints across runs
    r2 = cli("lint", "net.py", "bad.onnx", "--input", "1x3x64x64", "--format", "sarif", "--no-cache", cwd=proj)
    assert [x["partialFingerprints"] for x in json.loads(r2.stdout)["runs"][0]["results"]] == \
        [x["partialFingerprints"] for x in res]


def test_directory_and_root_models(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    (d / "blocks.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)
            def forward(self, x):
                return self.conv(x).relu()
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, padding=1)
                self.block = Block(8)
            def forward(self, x):
                return self.block(self.stem(x))
    """))
    (d / "util.py").write_text("def helper():\n    return 1\n")
    r = cli("lint", "models", "--input", "1x3x32x32", "--format", "json", "--no-cache", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["summary"]["models"] == 1 and doc["summary"]["files"] == 2  # Block is not a root


def test_explicit_spec_and_input_errors(tmp_path, proj):
    r = cli("lint", "net.py::Net", "--input", "1x3x24x24", "--format", "concise", "--no-cache", cwd=proj)
    assert "CNS101" not in r.stdout
    r = cli("lint", "nope.py", cwd=proj)
    assert r.returncode == 2 and "nope.py" in r.stderr and "Traceback" not in r.stderr
    (proj / "junk.onnx").write_bytes(b"\x00garbage")
    r = cli("lint", "junk.onnx", cwd=proj)
    assert r.returncode == 2 and "junk.onnx" in r.stderr and "Traceback" not in r.stderr
    r = cli("lint", "net.py", "--select", "XYZ9", cwd=proj)
    assert r.returncode == 2 and "XYZ9" in r.stderr
    r = cli("lint", "net.py", "--input", "1x3xfoo!", cwd=proj)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_syntax_error_file(proj):
    (proj / "broken.py").write_text("import torch.nn as nn\nclass Net(nn.Module:\n")
    r = cli("lint", "broken.py", "net.py", "--input", "1x3x24x24", "--format", "concise", "--no-cache", cwd=proj)
    assert r.returncode == 2 and "broken.py" in r.stderr and "Traceback" not in r.stderr


def test_cache(proj):
    r1 = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "json", cwd=proj)
    assert (proj / ".cnnsym_cache").is_dir()
    r2 = cli("lint", "net.py", "--input", "1x3x64x64", "--format", "json", cwd=proj)
    d1, d2 = json.loads(r1.stdout), json.loads(r2.stdout)
    assert d1["findings"] == d2["findings"] and d2["summary"]["cached_files"] == 1
    (proj / "net.py").write_text(BROKEN.format(noqa="").replace("16 * 5 * 5", "16 * 15 * 15"))
    d3 = json.loads(cli("lint", "net.py", "--input", "1x3x64x64", "--format", "json", cwd=proj).stdout)
    assert d3["summary"]["cached_files"] == 0 and not any(f["code"] == "CNS101" for f in d3["findings"])


def test_light_start_up(proj):
    code = ("import sys, cnnsym.cli as c; from click.testing import CliRunner; "
            "r = CliRunner().invoke(c.main, ['lint', '--help']); assert r.exit_code == 0, r.output; "
            "bad = [m for m in ('sympy', 'onnx', 'onnxruntime', 'libcst') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT))
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_rules_command(proj):
    r = cli("rules", cwd=proj)
    assert r.returncode == 0 and "CNS101   linear-in-features" in r.stdout
    doc = json.loads(cli("rules", "--format", "json", cwd=proj).stdout)
    assert {"CNS101", "CNS205", "CNS301"} <= {x["code"] for x in doc["rules"]}
