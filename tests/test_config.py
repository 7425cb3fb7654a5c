"""[tool.cnnsym] configuration: values are read and merged per model; a bad value is a
clear error naming the key (exit 2, one line)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnnsym.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    p = tmp_path / "pyproject.toml"
    p.write_text(textwrap.dedent(text))
    return p


def test_full_config(tmp_path):
    p = write(tmp_path, """
        [project]
        name = "x"
        [tool.cnnsym]
        input = "1x3x224x224"
        select = ["CNS1", "CNS2"]
        extend-select = ["CNS205"]
        ignore = ["CNS202"]
        strict = true
        plugins = []
        [tool.cnnsym.budgets]
        max-params = "25M"
        max-macs = "4.1G"
        bind = "H=224,W=224"
        for-all = "H,W in 32..1024"
        [tool.cnnsym.models."models/*.py::LeNet"]
        input = "1x1x28x28"
        max-params = "100k"
        [tool.cnnsym.per-file-ignores]
        "legacy/*.py" = ["CNS2"]
    """)
    cfg = load_config(str(p))
    assert cfg.input == "1x3x224x224" and cfg.strict and cfg.ignore == ["CNS202"]
    e = cfg.model_entry(str(tmp_path / "models" / "lenet.py") + "::LeNet")
    assert e["input"] == "1x1x28x28" and e["max-params"] == "100k"
    assert cfg.model_entry(str(tmp_path / "models" / "lenet.py") + "::Other") == {}
    assert cfg.file_ignores(str(tmp_path / "legacy" / "old.py")) == {"CNS2"}


def test_found_from_a_subdirectory(tmp_path):
    write(tmp_path, '[tool.cnnsym]\ninput = "1x3x8x8"\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert load_config(start=str(tmp_path / "a" / "b")).input == "1x3x8x8"


@pytest.mark.parametrize("text,key", [
    ('[tool.cnnsym]\ninptu = "1x3x8x8"\n', "tool.cnnsym.inptu"),
    ('[tool.cnnsym]\ninput = 3\n', "tool.cnnsym.input"),
    ('[tool.cnnsym]\ninput = "1x3xfoo!"\n', "tool.cnnsym.input"),
    ('[tool.cnnsym]\nselect = "CNS1"\n', "tool.cnnsym.select"),
    ('[tool.cnnsym]\nignore = ["cns-101"]\n', "tool.cnnsym.ignore"),
    ('[tool.cnnsym.budgets]\nmax-macs = "4.1X"\n', "tool.cnnsym.budgets.max-macs"),
    ('[tool.cnnsym.budgets]\nmax-parms = "1M"\n', "tool.cnnsym.budgets.max-parms"),
    ('[tool.cnnsym.budgets]\nfor-all = "H to 3"\n', "tool.cnnsym.budgets.for-all"),
    ('[tool.cnnsym.budgets]\nbind = "H=0"\n', "tool.cnnsym.budgets.bind"),
    ('[tool.cnnsym.models."a.py"]\nmax-macs = true\n', 'tool.cnnsym.models."a.py".max-macs'),
    ('[tool.cnnsym.models]\n"a.py" = 3\n', 'tool.cnnsym.models."a.py"'),
    ('[tool.cnnsym.per-file-ignores]\n"a.py" = "CNS1"\n', 'tool.cnnsym.per-file-ignores."a.py"'),
    ('[tool.cnnsym]\nstrict = "yes"\n', "tool.cnnsym.strict"),
    ('[tool.cnnsym\n', "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, key):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(str(p))
    assert key in str(e.value) and str(p) in str(e.value)


def test_suggests_the_key(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'max-params'"):
        load_config(str(write(tmp_path, '[tool.cnnsym.budgets]\nmax-parms = "1M"\n')))


@pytest.mark.parametrize("cmd", [["lint", "m.onnx"], ["check", "m.onnx", "--max-params", "1M"]])
def test_cli_reports_bad_config(tmp_path, cmd):
    write(tmp_path, '[tool.cnnsym.budgets]\nmax-macs = "lots"\n')
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "cnnsym", *cmd], cwd=str(tmp_path), capture_output=True, text=True, env=e)
    assert r.returncode == 2
    assert "tool.cnnsym.budgets.max-macs" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
