"""The hostile-input corpus (fixtures/bad/): for report and verify, the expected exit code
and a one-line message naming the file, never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BAD = ROOT / "fixtures" / "bad"
EXPECTED = json.loads((BAD / "expected.json").read_text())
CASES = [(name, cmd) for name in EXPECTED if not name.startswith("_") for cmd in ("report", "verify")]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    sys.path.insert(0, str(BAD))
    import make_bad

    return make_bad.generate(tmp_path_factory.mktemp("bad"))


def run(cmd, path, extra=None):
    args = [sys.executable, "-m", "cnnsym", cmd, str(path)]
    if extra is not None:
        args += extra
    elif cmd == "verify":
        args += ["--random", "1"]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.parametrize("name,cmd", CASES)
def test_bad_input(name, cmd, generated):
    path = generated.get(name, BAD / name)
    code, phrase = EXPECTED[name][cmd]
    p = run(cmd, path, EXPECTED[name].get("args", {}).get(cmd))
    assert "Traceback" not in p.stderr + p.stdout
    assert p.returncode == code, (p.returncode, p.stderr[-500:], p.stdout[-500:])
    if code == 2:
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert name in lines[0] and phrase in lines[0], lines[0]
    else:
        assert phrase in p.stdout + p.stderr


def test_missing_file():
    p = run("report", ROOT / "fixtures" / "no_such_model.onnx")
    assert p.returncode == 2 and "no_such_model.onnx" in p.stderr and "Traceback" not in p.stderr
