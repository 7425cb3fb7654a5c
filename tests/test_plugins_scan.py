"""The cheaper entry-point scan of cnnsym.plugins (issue 12: start-up without
importlib.metadata) against importlib.metadata itself, the oracle, on the installed
environment and on made-up sys.path folders (duplicates, egg-info, comments, attributes)."""
import sys
import zipfile
from importlib.metadata import entry_points

import pytest

from cnnsym import plugins


def _rows(eps):
    return sorted((e.name, e.value, e.group, e.dist.name, e.dist.version) for e in eps)


def _oracle():
    return list(entry_points(group=plugins.GROUP))


def test_scan_agrees_with_importlib_metadata_here():
    got = plugins._scan_entry_points()
    assert got is not None
    assert _rows(got) == _rows(_oracle())


def _dist(d, stem, meta, eps=None, meta_file="METADATA"):
    p = d / stem
    p.mkdir(parents=True)
    (p / meta_file).write_text(meta)
    if eps is not None:
        (p / "entry_points.txt").write_text(eps)


def test_scan_on_made_up_paths(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    _dist(a, "Foo_Plug-1.0.dist-info", "Metadata-Version: 2.1\nName: Foo_Plug\nVersion: 1.0\n\nbody: x\n",
          "# comment\n[console_scripts]\nfoo = foo:main\n\n[cnnsym.plugins]\n  one = foo_plug\n"
          "two = foo_plug.sub:setup [extra]\n[other]\nthree = x\n")
    # same normalised name later on the path: importlib.metadata keeps the first only
    _dist(b, "foo.plug-2.0.dist-info", "Name: foo.plug\nVersion: 2.0\n", "[cnnsym.plugins]\nshadowed = nope\n")
    _dist(b, "bar-0.3.egg-info", "Name: bar\nVersion: 0.3\n", "[cnnsym.plugins]\nbar=bar_mod\n", meta_file="PKG-INFO")
    _dist(b, "baz-1.dist-info", "Name: baz\nVersion: 1\n")  # no entry points at all
    (b / "single-1.0.egg-info").write_text("Name: single\nVersion: 1.0\n")
    monkeypatch.setattr(sys, "path", [str(a), str(tmp_path / "absent"), str(b)])
    got = plugins._scan_entry_points()
    assert got is not None
    assert _rows(got) == _rows(_oracle())
    assert {e.name for e in got} == {"one", "two", "bar"}


def test_scan_defers_to_importlib_metadata_on_a_zip(tmp_path, monkeypatch):
    z = tmp_path / "pkgs.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("zp-1.0.dist-info/METADATA", "Name: zp\nVersion: 1.0\n")
        f.writestr("zp-1.0.dist-info/entry_points.txt", "[cnnsym.plugins]\nzp = zp\n")
    monkeypatch.setattr(sys, "path", [str(z)])
    assert plugins._scan_entry_points() is None
    assert _rows(plugins._entry_points()) == _rows(_oracle()) == [("zp", "zp", plugins.GROUP, "zp", "1.0")]


def test_scanned_entry_point_loads_the_named_object(tmp_path, monkeypatch):
    (tmp_path / "ep_mod_x").mkdir()
    (tmp_path / "ep_mod_x" / "__init__.py").write_text("class A:\n    class B:\n        pass\n")
    ep = plugins._EntryPoint("n", "ep_mod_x:A.B [extra]", plugins.GROUP, None)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib.metadata as md

    oracle = md.EntryPoint("n", "ep_mod_x:A.B [extra]", plugins.GROUP)
    assert ep.load() is oracle.load()
    assert plugins._EntryPoint("m", "ep_mod_x", plugins.GROUP, None).load() is sys.modules["ep_mod_x"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
