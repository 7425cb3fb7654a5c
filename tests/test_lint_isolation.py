"""`cnnsym lint` over a folder: each file (each model) is reported on its own; one that
fails inside cnnsym becomes an error line naming it, and the run goes on (issue 14).

The folder holds two real torchvision 0.28.0 model files (tests/data/torchvision, BSD-3)
and a third whose analysis is made to crash with an internal error (a TypeError, as the
SympifyError of the issue was), by monkeypatching the frontend for that file only."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnsym.lint.engine as engine
from cnnsym.config import Config
from cnnsym.lint import all_rules, selected

ROOT = Path(__file__).resolve().parent.parent
TV = ROOT / "tests" / "data" / "torchvision"
TINY = ROOT / "fixtures" / "tiny_resnet.onnx"


@pytest.fixture
def folder(tmp_path):
    for f in ("alexnet.py", "squeezenet.py"):
        shutil.copy(TV / f, tmp_path / f)
    (tmp_path / "crashy.py").write_text("import torch.nn as nn\n\n\nclass Crashy(nn.Module):\n"
                                        "    def __init__(self):\n        super().__init__()\n"
                                        "        self.c = nn.Conv2d(3, 8, 3)\n\n"
                                        "    def forward(self, x):\n        return self.c(x)\n")
    shutil.copy(TINY, tmp_path / "tiny.onnx")
    return tmp_path


def _opts():
    rules = all_rules()
    return engine.Options(selected(rules, None, [], []), ["1x3x224x224"], Config(), cache=False)


def _crash_on(monkeypatch, name, where="load"):
    real = engine.api.load

    def load(spec, *a, **k):
        if name in str(spec):
            raise TypeError("Cannot convert symbols to int")  # stands for any internal error
        return real(spec, *a, **k)

    monkeypatch.setattr(engine.api, "load", load)


def test_one_crashing_model_does_not_hide_the_others(folder, monkeypatch):
    _crash_on(monkeypatch, "crashy.py")
    res = engine.lint_paths([str(folder)], _opts())
    assert res.files == 4
    # the crash is one error line naming the file and the model
    assert len(res.errors) == 1 and "crashy.py::Crashy" in res.errors[0] and "internal error" in res.errors[0]
    # every other file still has its findings: squeezenet's stride-2 stem drops a column at 224
    paths = {os.path.basename(f.path) for f in res.findings}
    assert "squeezenet.py" in paths
    assert any(f.code == "CNS203" and f.path.endswith("squeezenet.py") for f in res.findings)


def test_a_crash_while_listing_a_files_models(folder, monkeypatch):
    real = engine._model_specs

    def specs(path, opts):
        if path.endswith("alexnet.py"):
            raise ValueError("SympifyError stand-in")
        return real(path, opts)

    monkeypatch.setattr(engine, "_model_specs", specs)
    res = engine.lint_paths([str(folder)], _opts())
    assert any("alexnet.py" in e and "internal error" in e for e in res.errors)
    assert any(f.path.endswith("squeezenet.py") for f in res.findings)


def test_a_crash_in_the_per_file_driver(folder, monkeypatch):
    real = engine._lint_file

    def lint_file(path, *a, **k):
        if path.endswith("tiny.onnx"):
            raise KeyError("boom")
        return real(path, *a, **k)

    monkeypatch.setattr(engine, "_lint_file", lint_file)
    res = engine.lint_paths([str(folder)], _opts())
    assert len(res.errors) == 1 and "tiny.onnx" in res.errors[0]
    assert any(f.path.endswith("squeezenet.py") for f in res.findings)


def test_cli_prints_the_findings_and_one_error_line(folder):
    code = ("import sys, cnnsym.lint.engine as e\n"
            "real = e.api.load\n"
            "def load(spec, *a, **k):\n"
            "    if 'crashy.py' in str(spec):\n"
            "        raise TypeError('Cannot convert symbols to int')\n"
            "    return real(spec, *a, **k)\n"
            "e.api.load = load\n"
            "from cnnsym.cli import main\n"
            "main(sys.argv[1:])\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("CNNSYM_DEBUG", None)
    r = subprocess.run([sys.executable, "-c", code, "lint", "--no-cache", "--format", "concise", "--input",
                        "1x3x224x224", "."], capture_output=True, text=True, cwd=str(folder), env=env, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    err = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(err) == 1 and "crashy.py" in err[0] and "Traceback" not in r.stderr
    assert "squeezenet.py:" in r.stdout and "CNS203" in r.stdout
    assert "All checks passed" not in r.stdout and "Not all checked" in r.stdout
