"""The CLI imports a command's module when the command is looked up (cnnsym/cli/_app.py,
COMMAND_MODULES; issue 12: `cnnsym report` should not pay for check's, lint's or verify's
imports), and a table report imports no other format's module (cnnsym/render/__init__.py).
The table must name every command each module registers, and nothing else."""
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_command_table_matches_what_the_modules_register():
    import cnnsym.cli as cli
    from cnnsym.cli._app import COMMAND_MODULES, main

    for m in pkgutil.iter_modules(cli.__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"cnnsym.cli.{m.name}")
    assert set(main.commands) == set(COMMAND_MODULES)
    for name, cmd in main.commands.items():
        assert cmd.callback.__module__ == f"cnnsym.cli.{COMMAND_MODULES[name]}", name


def test_report_imports_only_its_own_command_modules():
    code = ("import sys\n"
            "from click.testing import CliRunner\n"
            "from cnnsym.cli import main\n"
            "r = CliRunner().invoke(main, ['report', sys.argv[1]])\n"
            "assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.startswith(('cnnsym.cli.', 'cnnsym.render.'))))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code, str(ROOT / "fixtures" / "seed_conv.onnx")], capture_output=True,
                       text=True, env=env, timeout=300, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr
    loaded = eval(p.stdout.strip().splitlines()[-1])
    assert not {"cnnsym.cli.check", "cnnsym.cli.lint", "cnnsym.cli.verify", "cnnsym.cli.explain",
                "cnnsym.cli.ops"} & set(loaded), loaded
    assert "cnnsym.cli.report" in loaded
    # the default (table) format needs no other format's module (cnnsym/render/__init__.py)
    assert not {"cnnsym.render.json", "cnnsym.render.html", "cnnsym.render.csv", "cnnsym.render.markdown",
                "cnnsym.render.oplist"} & set(loaded), loaded
    assert "cnnsym.render.table" in loaded


def test_help_lists_every_command():
    from click.testing import CliRunner

    from cnnsym.cli import main
    from cnnsym.cli._app import COMMAND_MODULES

    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    listed = [line.split()[0] for line in r.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMAND_MODULES)


def test_format_order_does_not_depend_on_which_module_was_imported_first():
    """A format module imported directly (before the registries are read) registered its
    formats first; the registries still list them in the package's order (--format help,
    error messages), formats registered from outside the package last."""
    code = ("import cnnsym.render.html, cnnsym.render.csv\n"
            "from cnnsym.render.registry import register_format\n"
            "register_format('outside', 'from elsewhere')(lambda report, options: '')\n"
            "from cnnsym import render\n"
            "print(list(render.FORMATS), list(render.OPS_FORMATS), list(render.VERIFY_FORMATS))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("['table', 'json', 'markdown', 'csv', 'html', 'outside'] "
                                "['table', 'json', 'markdown'] ['table', 'json']")
