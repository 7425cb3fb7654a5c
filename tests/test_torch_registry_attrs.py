"""The torch frontend's registries mirror their entries as attributes (``OPS.resolve`` is an
attribute read, issue 12): every way a dict's entries change keeps the attribute the
entry, as a plain dict lookup would read it (the oracle: ``r[key]`` / ``key in r``)."""
from __future__ import annotations

from cnnsym.frontends.torch.registry import OPS, Registry


def _agrees(r):
    for k in ("f", "g", "h", "a"):
        assert (k in r) == hasattr(r, k)
        if k in r:
            assert getattr(r, k) is r[k]


def test_every_mutation_keeps_attributes_in_step():
    r = Registry("t")
    r["f"] = 1
    _agrees(r)
    r |= {"f": 2, "g": 3}
    _agrees(r)
    assert r.popitem() == ("g", 3)
    _agrees(r)
    r.setdefault("h", 5)
    r.update(a=1)
    _agrees(r)
    del r["h"]
    assert r.pop("a") == 1 and r.pop("zz", 9) == 9
    _agrees(r)
    r.clear()
    _agrees(r)
    assert len(r) == 0


def test_dict_methods_are_never_shadowed():
    r = Registry("t")
    r["get"] = "an entry named get"
    assert r.get("get") == "an entry named get" and callable(r.get)


def test_the_interpreter_tables_read_as_attributes():
    assert OPS.resolve is OPS["resolve"] and "resolve" in vars(OPS)
