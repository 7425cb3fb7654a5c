"""Scripts read statically (issue 13 item 3): module-level code runs as far as it is static,
argparse gives its declared defaults (type= applied), a global that cannot be determined
(`nc`, set in an if/elif on a required argument) is a free symbol named after it, and
x.is_cuda / torch.cuda.is_available() are false. Expected values: torch executing the
fixture's own class definitions (extracted from the file, run with nc=3 and the
argparse defaults nz=100, ngf=ndf=64)."""
from __future__ import annotations

import ast
import os

import pytest
import sympy as sp

import cnnsym

HERE = os.path.dirname(__file__)
DCGAN = os.path.join(HERE, "..", "fixtures", "torch", "dcgan_script.py")


def _torch_classes(nc):
    """Generator and Discriminator as torch builds them from the fixture's class source."""
    torch = pytest.importorskip("torch")
    tree = ast.parse(open(DCGAN).read())
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    ns = {"torch": torch, "nn": torch.nn, "nz": 100, "ngf": 64, "ndf": 64, "nc": nc}
    exec(compile(ast.Module(body=classes, type_ignores=[]), DCGAN, "exec"), ns)  # noqa: S102 - the oracle
    return ns


@pytest.mark.parametrize("name,size", [("Generator", 1), ("Discriminator", 64)])
def test_dcgan_params_at_nc_3_match_torch(name, size):
    torch = pytest.importorskip("torch")
    ns = _torch_classes(3)
    m = ns[name](1).eval()
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for b in m.buffers())
    x = torch.zeros(2, 100, 1, 1) if name == "Generator" else torch.zeros(2, 3, size, size)
    with torch.no_grad():
        out = tuple(m(x).shape)
    rep = cnnsym.analyze(f"{DCGAN}::{name}(1)", bind={"nc": 3, "N": 2, **({"H": size, "W": size})})
    assert rep.complete, rep.not_followed
    assert rep.values["params.trainable"] == params
    assert rep.values["params.buffers"] == buffers
    got = tuple(int(rep.evaluate(d)) for d in rep.tensors[rep.outputs[0]].shape)
    assert got == out


def test_undetermined_global_is_a_free_symbol_not_a_zero():
    """nc is set only in branches on --dataset (required): the parameters are a formula in
    nc (the last ConvTranspose2d(64, nc, 4) has 64*nc*16 = 1024*nc weights), and the
    warnings say nc is a free symbol."""
    rep = cnnsym.analyze(f"{DCGAN}::Generator(1)")
    total = rep.totals["params.trainable"]
    assert "nc" in {s.name for s in total.free_symbols}
    ncs = [s for s in total.free_symbols if s.name == "nc"]
    assert sp.expand(total - total.subs(ncs[0], 0)) == 1024 * ncs[0]
    assert "nc" in rep.symbols
    assert any("nc is not determined statically" in w and "--bind nc=" in w for w in rep.warnings)
    # the forward's `input.is_cuda and self.ngpu > 1` is decided (false): no data_parallel node
    assert not rep.unaccounted


def test_argparse_defaults_with_type_and_required_arguments():
    src = (
        "import argparse\nimport torch.nn as nn\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--width', type=int, default='32')\n"   # a string default goes through type=
        "p.add_argument('--classes', type=int, required=True)\n"
        "opt = p.parse_args()\n"
        "width = opt.width\n"
        "classes = opt.classes\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, width, 3)\n"
        "        self.fc = nn.Linear(width, classes)\n"
        "    def forward(self, x):\n"
        "        return self.fc(self.conv(x).mean((2, 3)))\n")
    rep = cnnsym.analyze(src, name="Net", bind={"classes": 10})
    # conv 3*32*9 + 32 = 896; fc 32*10 + 10 = 330 (hand arithmetic)
    assert rep.values["params.trainable"] == 896 + 330
    assert "classes" in rep.symbols


def test_unknown_and_false_short_circuits():
    src = (
        "import torch\nimport torch.nn as nn\nimport somewhere_unknown_pkg as u\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Conv2d(3, 8, 3)\n"
        "        if u.flag and False:\n"
        "            self.b = nn.Conv2d(8, 8, 3)\n"
        "        if torch.cuda.is_available():\n"
        "            self.c = nn.Conv2d(8, 8, 3)\n"
        "    def forward(self, x):\n"
        "        return self.a(x)\n")
    rep = cnnsym.analyze(src, name="Net")
    assert rep.values["params.trainable"] == 3 * 8 * 9 + 8
    assert rep.complete, rep.not_followed


def test_not_followed_construction_is_a_lower_bound_in_every_format():
    src = (
        "import torch.nn as nn\nimport somewhere_unknown_pkg as u\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Conv2d(3, 8, 3)\n"
        "        for w in u.widths():\n"
        "            self.add_module(str(w), nn.Conv2d(8, 8, 3))\n"
        "    def forward(self, x):\n"
        "        return self.a(x)\n")
    rep = cnnsym.analyze(src, name="Net")
    assert not rep.complete and rep.not_followed
    assert any(":7:" in n for n in rep.not_followed), rep.not_followed  # the line of the loop
    import json

    d = json.loads(rep.to_json())
    assert d["complete"] is False and d["not_followed"]
    for fmt in ("table", "markdown"):
        assert ">= " in rep.render(fmt)


def test_recursive_helper_is_one_line_error():
    src = ("import torch.nn as nn\n"
           "def f(n):\n    return f(n + 1)\n"
           "class Net(nn.Module):\n"
           "    def __init__(self):\n"
           "        super().__init__()\n"
           "        self.a = nn.Conv2d(3, 8, f(1))\n"
           "    def forward(self, x):\n"
           "        return self.a(x)\n")
    with pytest.raises(cnnsym.errors.CnnsymError) as e:
        cnnsym.analyze(src, name="Net")
    msg = str(e.value)
    assert "\n" not in msg and "line 3" in msg and "SympifyError" not in msg and "recursion" in msg
