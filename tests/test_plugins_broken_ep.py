"""An installed plugin (entry point) that fails to import -- a stale editable install whose
module is gone, an exception in its code -- is a one-line warning naming it and the error, and
every command goes on without it (docs/plugins.md). The oracle for "without it" is the same
command in the same environment with that distribution not installed at all: its stdout and
exit status must be byte for byte the same, and a model that needs the plugin's op reports
it as not supported (incomplete), as it does without the plugin.

The distribution is made up in a temporary folder on PYTHONPATH: a ``*.dist-info`` folder with
METADATA and an ``entry_points.txt`` declaring ``[cnnsym.plugins]``, as pip writes them."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# registers its op, then fails: what it registered must be taken back
HALF = textwrap.dedent('''
    from cnnsym.ops import Inference, Op, register, same_rf


    @register
    class Scale2(Op):
        """Y = 2 X."""
        op_type = "Scale2"
        domain = "acme.test"

        def infer(self, inputs):
            x = inputs[0]
            return Inference([x], terms={}, rf=[same_rf(len(x.shape))])


    import acme_dependency_that_is_not_installed  # noqa: F401
''')


def _dist(site, module):
    info = site / "acme_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 0.1\n\n")
    (info / "entry_points.txt").write_text(f"[cnnsym.plugins]\nacme = {module}\n")


def cli(*args, cwd, site=None):
    path = [str(ROOT)] + ([str(site)] if site is not None else []) + [os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "CNNSYM_NO_PLUGINS": "0"}
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=env, timeout=300)


@pytest.fixture
def model(tmp_path):
    import onnx

    from cnnsym.lint.examples import onnx_model

    work = tmp_path / "work"
    work.mkdir()
    onnx.save(onnx_model("""
        m (float[N,3,H,W] x) => (float y) {
          a = acme.test.Scale2(x)
          y = Relu(a)
        }"""), str(work / "m.onnx"))
    return work


@pytest.mark.parametrize("case", ["module gone", "fails half way"])
@pytest.mark.parametrize("cmd", [["report", "m.onnx", "--format", "json"], ["report", "m.onnx"],
                                 ["ops", "--format", "json"], ["rules"]])
def test_broken_entry_point_is_a_warning_and_the_command_goes_on(model, tmp_path, case, cmd):
    site = tmp_path / "site"
    if case == "module gone":  # e.g. an editable install whose source folder was deleted
        _dist(site, "acme_gone_plugin_xyz")
        why = "ModuleNotFoundError: No module named 'acme_gone_plugin_xyz'"
    else:
        _dist(site, "acme_half_plugin")
        (site / "acme_half_plugin.py").write_text(HALF)
        why = "ModuleNotFoundError: No module named 'acme_dependency_that_is_not_installed'"
    broken = cli(*cmd, cwd=model, site=site)
    without = cli(*cmd, cwd=model)  # the same environment without the distribution
    assert without.stderr == "", without.stderr
    assert broken.returncode == without.returncode, broken.stderr
    assert broken.stdout == without.stdout
    err = broken.stderr.splitlines()
    assert len(err) == 1 and "Traceback" not in broken.stderr, broken.stderr
    assert err[0].startswith("cnnsym: warning: plugin 'acme' (entry point cnnsym.plugins:acme = ")
    assert "continuing without it" in err[0] and err[0].endswith(why), err[0]
    if cmd[:3] == ["report", "m.onnx", "--format"]:
        doc = json.loads(broken.stdout)  # what the existing machinery says of an op nobody handles
        assert doc["complete"] is False
        assert [(u["domain"], u["op"]) for u in doc["unaccounted"]] == [("acme.test", "Scale2")]
    if cmd[0] == "ops":
        ops = json.loads(broken.stdout)["ops"]
        assert not any(o["op_type"] == "Scale2" for o in ops)  # taken back


def test_broken_entry_point_in_process_is_skipped_once(tmp_path, monkeypatch, capsys):
    """The library API too: load_entry_points warns once and records the skipped plugin."""
    from cnnsym import plugins

    site = tmp_path / "site"
    _dist(site, "acme_gone_plugin_xyz")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(plugins, "_DONE_EP", False)
    monkeypatch.setattr(plugins, "SKIPPED", [])
    monkeypatch.setattr(plugins, "LOADED", [])
    monkeypatch.delenv("CNNSYM_NO_PLUGINS", raising=False)
    plugins.load_entry_points()
    plugins.load_entry_points()
    err = capsys.readouterr().err.splitlines()
    assert [e for e in err if "acme" in e] == [
        "cnnsym: warning: plugin 'acme' (entry point cnnsym.plugins:acme = acme_gone_plugin_xyz) failed to load, "
        "continuing without it: ModuleNotFoundError: No module named 'acme_gone_plugin_xyz'"]
    assert [name for name, _ in plugins.SKIPPED] == ["acme"]
    assert all(p.name != "acme" for p in plugins.LOADED)
