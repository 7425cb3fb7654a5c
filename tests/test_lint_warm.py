"""A warm `cnnsym lint` (nothing changed since the last run) prints the cached findings
without importing sympy, libcst, onnx or the rules (issue 12), and gives exactly what the
full run gives; whatever the cache key covers (the file, a sibling, the selection, the
input size, a configured plugin) makes it run in full again."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NET = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 5)
            self.fc = nn.Linear(16 * 5 * 5, 10)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))
    """)

PROBE = ("import sys\n"
         "from cnnsym.cli import main\n"
         "try:\n"
         "    main(args=sys.argv[1:], prog_name='cnnsym')\n"
         "except SystemExit as e:\n"
         "    code = e.code\n"
         "heavy = sorted(m for m in ('sympy', 'libcst', 'onnx', 'numpy', 'cnnsym.lint.rules_errors') if m in sys.modules)\n"
         "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
         "sys.exit(code)\n")


def lint(proj, *args):
    env = {**os.environ, "CNNSYM_CACHE_DIR": str(proj / "cache"), "CNNSYM_NO_PLUGINS": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", PROBE, "lint", *args], capture_output=True, text=True,
                       cwd=str(proj), env=env)
    heavy = next((ln[6:] for ln in r.stderr.splitlines() if ln.startswith("HEAVY=")), None)
    return r, heavy


@pytest.fixture()
def proj(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    (tmp_path / "pyproject.toml").write_text('[tool.cnnsym]\ninput = "1x3x32x32"\n')
    return tmp_path


def _json(r):
    d = json.loads(r.stdout)
    return d["findings"], d["summary"]


def test_warm_run_reads_only_the_cache_and_says_the_same(proj):
    cold, heavy = lint(proj, "net.py", "--format", "json")
    assert "sympy" in heavy  # the first run analyses the model
    f1, s1 = _json(cold)
    assert any(f["code"] == "CNS101" for f in f1) and s1["cached_files"] == 0
    warm, heavy = lint(proj, "net.py", "--format", "json")
    assert heavy == "", heavy  # nothing but the cache was read
    f2, s2 = _json(warm)
    assert f2 == f1 and s2["cached_files"] == 1 and warm.returncode == cold.returncode == 1
    # concise output of a warm run is byte-identical to a run without the cache
    full, _ = lint(proj, "net.py", "--format", "concise", "--no-cache")
    again, heavy = lint(proj, "net.py", "--format", "concise")
    assert heavy == "" and again.stdout.splitlines()[:-1] == full.stdout.splitlines()[:-1]


@pytest.mark.parametrize("change", ["file", "sibling", "select", "input", "config", "plugin"])
def test_what_the_key_covers_runs_in_full(proj, change):
    (proj / "plug.py").write_text("X = 1\n")
    lint(proj, "net.py", "--format", "json", "--ignore", "CNS004")
    warm, heavy = lint(proj, "net.py", "--format", "json", "--ignore", "CNS004")
    assert heavy == ""
    args = ["net.py", "--format", "json", "--ignore", "CNS004"]
    if change == "file":
        (proj / "net.py").write_text(NET.replace("16 * 5 * 5", "16 * 28 * 28"))
    elif change == "sibling":
        (proj / "blocks.py").write_text("K = 3\n")
    elif change == "select":
        args = ["net.py", "--format", "json", "--ignore", "CNS101"]
    elif change == "input":
        args += ["--input", "1x3x40x40"]
    elif change == "config":
        (proj / "pyproject.toml").write_text('[tool.cnnsym]\ninput = "1x3x36x36"\n')
    elif change == "plugin":
        (proj / "pyproject.toml").write_text('[tool.cnnsym]\ninput = "1x3x32x32"\nplugins = ["plug.py"]\n')
        lint(proj, *args)
        (proj / "plug.py").write_text("X = 2\n")
    r, heavy = lint(proj, *args)
    assert "sympy" in heavy, (change, r.stderr)
    findings, summary = _json(r)
    assert summary["cached_files"] == 0
    if change == "file":
        assert not any(f["code"] == "CNS101" for f in findings)  # 16*28*28 is what the conv gives
    if change == "select":
        assert not any(f["code"] == "CNS101" for f in findings)
