"""`cnnsym check` reads [tool.cnnsym] input exactly as `cnnsym lint` does (issue 14):
one configuration, one reading (cnnsym.config.Config.input_for)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LENET_SRC = ROOT / "fixtures" / "torch" / "lenet.py"


def cli(*args, cwd=ROOT):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


def macs(h, w):
    # LeNet (3 channels): conv1 6x3x25 per pixel of (h-4)x(w-4); pool 2; conv2 16x6x25 per
    # pixel of (p1-4)^2; the three Linear layers 400*120 + 120*84 + 84*10
    c1h, c1w = h - 4, w - 4
    c2h, c2w = c1h // 2 - 4, c1w // 2 - 4
    return 450 * c1h * c1w + 2400 * c2h * c2w + 400 * 120 + 120 * 84 + 84 * 10


def _repo(tmp_path, toml):
    shutil.copy(LENET_SRC, tmp_path / "lenet.py")
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_check_uses_the_configured_input(tmp_path):
    d = _repo(tmp_path, '[tool.cnnsym]\ninput = "1x3x32x32"\n[tool.cnnsym.budgets]\nmax-macs = "1G"\n')
    r = cli("check", "lenet.py::Net", "-f", "json", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads(r.stdout)["models"][0]
    assert m["bindings"] == {"H": 32, "W": 32}
    assert m["budgets"][0]["actual"] == macs(32, 32)
    # lint on the same repository analyses the same size: its CNS003 info (or any finding)
    # names H=32, W=32, and --input overrides both the same way
    r = cli("check", "lenet.py::Net", "-f", "json", "--input", "1x3x35x35", cwd=d)
    assert json.loads(r.stdout)["models"][0]["budgets"][0]["actual"] == macs(35, 35)


def test_model_entry_input_wins_over_the_top_level(tmp_path):
    d = _repo(tmp_path, '[tool.cnnsym]\ninput = "1x3x32x32"\n[tool.cnnsym.budgets]\nmax-macs = "1G"\n'
                        '[tool.cnnsym.models."lenet.py::Net"]\ninput = "1x3x34x34"\n')
    r = cli("check", "lenet.py::Net", "-f", "json", cwd=d)
    assert json.loads(r.stdout)["models"][0]["budgets"][0]["actual"] == macs(34, 34), r.stdout + r.stderr


def test_configured_input_keeps_sizes_symbolic_for_a_range(tmp_path):
    d = _repo(tmp_path, '[tool.cnnsym]\ninput = "1x3x32x32"\n[tool.cnnsym.budgets]\nmax-macs = "1G"\n')
    r = cli("check", "lenet.py::Net", "-f", "json", "--for-all", "H,W in 32..35", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    b = json.loads(r.stdout)["models"][0]["budgets"][0]
    assert b["actual"] == macs(35, 35) and b["where"] == "H=35, W=35"


def test_lint_and_check_read_one_configuration(tmp_path):
    from cnnsym.config import load_config

    d = _repo(tmp_path, '[tool.cnnsym]\ninput = "1x3x32x32"\n[tool.cnnsym.models."lenet.py::Net"]\n'
                        'input = "1x3x34x34"\n')
    cfg = load_config(str(d / "pyproject.toml"))
    assert cfg.input_for(str(d / "lenet.py") + "::Net") == ["1x3x34x34"]
    assert cfg.input_for(str(d / "lenet.py") + "::MnistNet") == ["1x3x32x32"]
    from cnnsym.lint.engine import Options, Target, _dims_for

    t = Target(str(d / "lenet.py") + "::Net", str(d / "lenet.py"), "torch")
    assert _dims_for(t, Options({}, None, cfg)) == ["1x3x34x34"]
