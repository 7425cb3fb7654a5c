"""Bad input, every command (issue 14): one line on stderr naming the file, exit 2, no
traceback, and nothing on stdout that claims success ("All checks passed", "OK", "PASS")."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"

# command -> the arguments after MODEL that make it run (explain needs a layer)
COMMANDS = {
    "report": [],
    "check": ["--max-macs", "1G"],
    "lint": ["--no-cache"],
    "verify": [],
    "explain": ["stem"],
    "compare": [],
    "lecture": [],
}
SUCCESS = ("All checks passed", "OK:", "OK ", "PASS", "within budget", "verified")


def cli(*args, cwd):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
         "CNNSYM_CACHE_DIR": str(cwd / ".cache")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


def _bad_files(d):
    (d / "garbage.onnx").write_text("this is a text file, not a protobuf\n")
    (d / "empty.onnx").write_bytes(b"")
    (d / "syntax.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x:\n")
    return {"missing": ("missing.onnx", "missing.onnx"), "garbage": ("garbage.onnx", "garbage.onnx"),
            "empty": ("empty.onnx", "empty.onnx"), "syntax": ("syntax.py::Net", "syntax.py")}


def _assert_one_line_error(r, name):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert name in lines[0], lines[0]
    for word in SUCCESS:
        assert word not in r.stdout, (word, r.stdout)


@pytest.mark.parametrize("case", ["missing", "garbage", "empty", "syntax"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_model_file(tmp_path, command, case):
    spec, name = _bad_files(tmp_path)[case]
    r = cli(command, spec, *COMMANDS[command], cwd=tmp_path)
    _assert_one_line_error(r, name)


@pytest.mark.parametrize("command", sorted(c for c in COMMANDS if c != "lint"))
@pytest.mark.parametrize("opts,name", [(["--input", "0x3x8x8"], "--input"), (["--bind", "Q=3"], "Q"),
                                       (["--bind", "H=abc"], "H"), (["--input", "1x3x8"], "input")])
def test_bad_option_values(tmp_path, command, opts, name):
    args = [TINY, *COMMANDS[command], *opts]
    r = cli(command, *args, cwd=tmp_path)
    _assert_one_line_error(r, name)


@pytest.mark.parametrize("opts,name", [(["--max-macs", "4X"], "max-macs"), (["--for-all", "H from 1 to 3"], "for-all"),
                                       (["--for-all", "Q in 1..4", "--max-macs", "1G"], "Q"),
                                       (["--max-growth", "much", "--max-macs", "1G"], "max-growth"),
                                       (["--baseline", "nothere.json"], "nothere.json")])
def test_bad_check_values(tmp_path, opts, name):
    _assert_one_line_error(cli("check", TINY, *opts, cwd=tmp_path), name)


@pytest.mark.parametrize("opts,name", [(["--input", "1x3x0x8"], "--input"), (["--select", "CNS999"], "CNS999")])
def test_bad_lint_values(tmp_path, opts, name):
    _assert_one_line_error(cli("lint", "--no-cache", TINY, *opts, cwd=tmp_path), name)


def test_lint_folder_with_a_bad_file_still_reports_the_others(tmp_path):
    _bad_files(tmp_path)
    (tmp_path / "missing.onnx").unlink(missing_ok=True)
    import shutil

    shutil.copy(TINY, tmp_path / "tiny.onnx")
    r = cli("lint", "--no-cache", "--format", "concise", "--select", "CNS0,CNS1,CNS2", tmp_path, cwd=tmp_path)
    assert r.returncode == 2
    assert "All checks passed" not in r.stdout and "Not all checked" in r.stdout
    errs = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(errs) == 3 and all("Traceback" not in e for e in errs)  # garbage, empty, syntax: one line each
    assert "4 files" in r.stdout  # tiny.onnx was linted too
