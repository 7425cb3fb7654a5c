"""Plugins: a path in [tool.cnnsym] plugins adds an op and a rule with the built-ins'
decorators; `cnnsym ops` / `cnnsym rules` say where they come from; a broken plugin is a
one-line error naming it. The first-party plugins, when installed, are found through the
`cnnsym.plugins` entry point."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = textwrap.dedent('''
    """A local plugin."""
    from cnnsym.lint import Example, Rule, rule
    from cnnsym.ops import Inference, Op, register, same_rf


    @register
    class Scale2(Op):
        """Y = 2 X. One elementwise op per element."""
        op_type = "Scale2"
        domain = "acme.test"

        def infer(self, inputs):
            x = inputs[0]
            n = 1
            for d in x.shape:
                n = n * d
            return Inference([x], terms={"elementwise": n}, rf=[same_rf(len(x.shape))])


    @rule
    class NoScale(Rule):
        """Scale2 is deprecated.

        What: a Scale2 node. Why: deprecated. Example: acme.test::Scale2. Fix: use Mul.
        """
        code, name, severity = "ACME201", "no-scale2", "warning"

        def check(self, ctx):
            for r in ctx.nodes("Scale2"):
                yield ctx.finding(self, r, "Scale2 is deprecated: use Mul")
''')


def cli(*args, cwd, env=None):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
         "CNNSYM_NO_PLUGINS": "1"}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True, text=True,
                          cwd=str(cwd), env=e, timeout=300)


@pytest.fixture
def proj(tmp_path):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "acme_plugin.py").write_text(PLUGIN)
    (tmp_path / "pyproject.toml").write_text('[tool.cnnsym]\nplugins = ["tools/acme_plugin.py"]\n')
    import onnx

    from cnnsym.lint.examples import onnx_model

    onnx.save(onnx_model("""
        m (float[N,3,H,W] x) => (float y) {
          a = acme.test.Scale2(x)
          y = Relu(a)
        }"""), str(tmp_path / "m.onnx"))
    return tmp_path


def test_config_plugin_op_and_rule(proj):
    r = cli("ops", "--format", "json", cwd=proj)
    assert r.returncode == 0, r.stderr
    row = next(o for o in json.loads(r.stdout)["ops"] if o["op_type"] == "Scale2")
    assert row["domain"] == "acme.test" and row["origin"] == "tools/acme_plugin.py"
    r = cli("rules", cwd=proj)
    assert "ACME201  no-scale2" in r.stdout and "tools/acme_plugin.py" in r.stdout
    assert "plugins:" in r.stdout and "acme.test::Scale2" in r.stdout
    r = cli("report", "m.onnx", "--format", "json", cwd=proj)
    doc = json.loads(r.stdout)
    assert doc["complete"] and not doc["unaccounted"]
    r = cli("lint", "m.onnx", "--format", "concise", "--no-cache", cwd=proj)
    assert "ACME201 Scale2 is deprecated" in r.stdout and r.returncode == 0  # a warning
    assert "CNS001" not in r.stdout


def test_without_the_plugin_the_op_is_unaccounted(proj):
    (proj / "pyproject.toml").write_text("[tool.cnnsym]\n")
    r = cli("lint", "m.onnx", "--format", "concise", "--no-cache", cwd=proj)
    assert "CNS001 1 x acme.test::Scale2 not supported" in r.stdout


@pytest.mark.parametrize("body,why", [
    ("import not_a_module_xyz\n", "ModuleNotFoundError"),
    ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ("from cnnsym.ops import register, Op\n@register\nclass Conv(Op):\n    op_type = 'Conv'\n", "already registered"),
    ("from cnnsym.lint import register_nothing\n", "ImportError"),
])
@pytest.mark.parametrize("cmd", [["ops"], ["rules"], ["lint", "m.onnx"], ["report", "m.onnx"]])
def test_broken_plugin_named(proj, body, why, cmd):
    (proj / "tools" / "acme_plugin.py").write_text(body)
    r = cli(*cmd, cwd=proj)
    assert r.returncode == 2, r.stdout
    err = r.stderr.strip()
    assert "plugin 'tools/acme_plugin.py'" in err and why in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_missing_plugin_file(proj):
    (proj / "pyproject.toml").write_text('[tool.cnnsym]\nplugins = ["tools/nope.py"]\n')
    r = cli("rules", cwd=proj)
    assert r.returncode == 2 and "tools/nope.py" in r.stderr and "no such file" in r.stderr


def test_entry_point_plugins_when_installed(tmp_path):
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="cnnsym.plugins")}
    if "example-op" not in names:
        pytest.skip("cnnsym-example-op is not installed (pip install -e plugins/cnnsym-example-op)")
    r = cli("ops", "--format", "json", cwd=tmp_path, env={"CNNSYM_NO_PLUGINS": "0"})
    # the plugin's own domain: com.microsoft::FusedConv is a built-in since the contrib ops
    row = next(o for o in json.loads(r.stdout)["ops"] if o["op_type"] == "FusedConv" and o["domain"] == "example.cnnsym")
    assert row["origin"].startswith("cnnsym-example-op")
    r = cli("ops", "--format", "json", cwd=tmp_path)  # CNNSYM_NO_PLUGINS=1
    assert not any(o["op_type"] == "FusedConv" and o["domain"] == "example.cnnsym" for o in json.loads(r.stdout)["ops"])
