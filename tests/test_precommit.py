"""The real pre-commit runs the cnnsym hooks from this repository (`pre-commit try-repo`)
in a temporary git repository holding a broken model: it fails with the right code, and
passes once the model is fixed. The hook environment is built from the package registry
(language: python), so this is slow the first time; it is skipped when pre-commit or git
is missing or CNNSYM_SKIP_PRECOMMIT=1."""
import os
import shutil
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
            self.conv = nn.Conv2d(3, 16, 5, bias=False)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(16 * 5 * 5, 10)

        def forward(self, x):
            return self.fc(self.pool(self.pool(self.conv(x))).flatten(1))
    """)


def _git(*args, cwd):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=str(cwd), check=True, capture_output=True, text=True, env=env)


def _pre_commit():
    exe = shutil.which("pre-commit")
    if exe:
        return [exe]
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """This working tree (tracked and untracked, not ignored files) committed in a scratch
    repository, so try-repo sees uncommitted work too."""
    if os.environ.get("CNNSYM_SKIP_PRECOMMIT") == "1":
        pytest.skip("CNNSYM_SKIP_PRECOMMIT=1")
    if shutil.which("git") is None or _pre_commit() is None:
        pytest.skip("git or pre-commit is not installed (pip install pre-commit)")
    d = tmp_path_factory.mktemp("hookrepo")
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=str(ROOT), capture_output=True,
                             text=True, check=True).stdout.split("\n")
        files = [f for f in out if f]
    except (subprocess.CalledProcessError, OSError):
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts]
    for f in files:
        if f.startswith(("plugins/", "bench/", "tests/")) and not f.endswith(".pre-commit-hooks.yaml"):
            continue
        src = ROOT / f
        if not src.is_file():
            continue
        dst = d / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    _git("init", "-q", cwd=d)
    _git("add", "-A", cwd=d)
    _git("commit", "-q", "-m", "hooks", cwd=d)
    return d


def _project(tmp_path, files):
    p = tmp_path / "project"
    p.mkdir()
    for name, text in files.items():
        (p / name).parent.mkdir(parents=True, exist_ok=True)
        (p / name).write_text(text) if isinstance(text, str) else (p / name).write_bytes(text)
    _git("init", "-q", cwd=p)
    _git("add", "-A", cwd=p)
    return p


def _try_repo(hook_repo, project, hook, home):
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([*_pre_commit(), "try-repo", str(hook_repo), hook, "--all-files", "--verbose"],
                          cwd=str(project), capture_output=True, text=True, env=env, timeout=1500)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre_commit_home")


def test_lint_hook(hook_repo, home, tmp_path):
    proj = _project(tmp_path, {"models/net.py": BROKEN, "pyproject.toml": '[tool.cnnsym]\ninput = "1x3x64x64"\n'})
    r = _try_repo(hook_repo, proj, "cnnsym-lint", home)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "models/net.py:9:19: CNS101" in out, out
    (proj / "models" / "net.py").write_text(BROKEN.replace("16 * 5 * 5", "16 * 15 * 15"))
    _git("add", "-A", cwd=proj)
    r = _try_repo(hook_repo, proj, "cnnsym-lint", home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout


def test_check_hook(hook_repo, home, tmp_path):
    import onnx

    sys.path.insert(0, str(ROOT))
    from cnnsym.lint.examples import onnx_model

    m = onnx_model("""
        m (float[N,3,H,W] x) => (float y) <float[64,3,3,3] w> {
          y = Conv<pads=[1,1,1,1]>(x, w)
        }""")
    proj = _project(tmp_path, {"m.onnx": m.SerializeToString(),
                               "pyproject.toml": '[tool.cnnsym.budgets]\nmax-params = "1k"\nbind = "H=32,W=32"\n'})
    r = _try_repo(hook_repo, proj, "cnnsym-check", home)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "OVER" in out, out
    (proj / "pyproject.toml").write_text('[tool.cnnsym.budgets]\nmax-params = "2k"\nbind = "H=32,W=32"\n')
    _git("add", "-A", cwd=proj)
    r = _try_repo(hook_repo, proj, "cnnsym-check", home)
    assert r.returncode == 0, r.stdout + r.stderr
