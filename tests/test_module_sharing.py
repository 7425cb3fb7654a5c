"""Module levels run once per process and shared (frontends/torch/modcache.py, issue 12):
what one model's construction changes in a module-level list, dict, class attribute,
global or closure cell never reaches the next analysis (the change is detected when the
analysis ends and the shared state dropped). The oracle is torch building each model in a
fresh import of the file."""
import importlib.util
import os
import textwrap

import pytest

torch = pytest.importorskip("torch")

from cnnsym import api  # noqa: E402
from cnnsym.lint.engine import lint  # noqa: E402
from cnnsym.frontends.torch import list_models, modcache  # noqa: E402

SRC = textwrap.dedent("""\
    import torch.nn as nn

    SEEN = []
    TABLE = {"n": 1}


    def widths():
        return [8 * (i + 1) for i in range(len(SEEN))]


    class Counted(nn.Module):
        made = 0

        def __init__(self):
            super().__init__()
            Counted.made += 1
            SEEN.append(Counted.made)
            TABLE["n"] = TABLE["n"] + 1
            chans = [3] + widths()
            self.convs = nn.Sequential(*[nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:])])
            self.head = nn.Conv2d(chans[-1], TABLE["n"], 1)

        def forward(self, x):
            return self.head(self.convs(x))


    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            SEEN.extend([0, 0])
            self.conv = nn.Conv2d(3, 4 + len(SEEN), 3)

        def forward(self, x):
            return self.conv(x)
    """)


def torch_params(path, name):
    """Parameters of ``name`` built by torch in a fresh import of the file."""
    spec = importlib.util.spec_from_file_location(f"fresh_{name}_{id(path)}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    m = getattr(mod, name)()
    return sum(p.numel() for p in m.parameters())


def _params(g):
    total = 0
    for init in g.initializers.values():
        if init.role == "trainable":
            n = 1
            for d in init.shape:
                n *= int(d)
            total += n
    return total


@pytest.mark.parametrize("order", [("Counted", "Other", "Counted", "Other"), ("Other", "Counted", "Counted")])
def test_each_analysis_starts_from_the_module_level_as_run_once(tmp_path, order, monkeypatch):
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    path = str(tmp_path / "shared_state.py")
    with open(path, "w") as f:
        f.write(SRC)
    assert list_models(path) == ["Counted", "Other"]  # runs the module level: the template
    for name in order:
        # torch: Counted in a fresh module has one conv 3->8 (SEEN == [1]) and a head to 2 channels:
        # 3*8*9 + 8 + 8*2 + 2 = 242; Other: SEEN == [0, 0], a conv 3->6: 3*6*9 + 6 = 168
        expect = torch_params(path, name)
        assert expect == {"Counted": 242, "Other": 168}[name]
        assert _params(api.load(f"{path}::{name}")) == expect, name
    # Counted changes the module level: the shared state it changed is not kept
    assert not any(k[0] == os.path.abspath(path) for k in modcache._TEMPLATES)


def _counting_makes(monkeypatch):
    made = []
    real = modcache._template

    def template(it, fs, looked):
        made.append(fs.path)
        return real(it, fs, looked)

    monkeypatch.setattr(modcache, "_template", template)
    return made


def test_an_unchanged_module_level_runs_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    path = str(tmp_path / "plain.py")
    with open(path, "w") as f:
        f.write(textwrap.dedent("""\
            import torch.nn as nn

            WIDTHS = [4, 6]


            class A(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, WIDTHS[0], 3)

                def forward(self, x):
                    return self.conv(x)


            class B(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, WIDTHS[1], 1)

                def forward(self, x):
                    return self.conv(x)
            """))
    made = _counting_makes(monkeypatch)
    assert list_models(path) == ["A", "B"]
    got = [_params(api.load(f"{path}::{n}")) for n in ("A", "B", "A", "B")]
    # torch: A = 3*4*9 + 4 = 112, B = 3*6 + 6 = 24
    assert got == [torch_params(path, n) for n in ("A", "B", "A", "B")] == [112, 24, 112, 24]
    # the first load runs the module level, the second makes the template, the others are served
    assert made == [os.path.abspath(path)]


def test_lint_makes_the_template_from_its_listing(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    path = str(tmp_path / "two.py")
    with open(path, "w") as f:
        f.write(SRC.replace("SEEN.append(Counted.made)", "pass").replace("SEEN.extend([0, 0])", "pass")
                .replace('TABLE["n"] = TABLE["n"] + 1', "pass"))
    made = _counting_makes(monkeypatch)
    res = lint([path], select=["CNS"], input="1x3x16x16", cache=False)
    assert res.models == 2 and not res.errors
    assert made == [os.path.abspath(path)]  # the listing's interpreter, adopted
    assert any(k[0] == os.path.abspath(path) for k in modcache._TEMPLATES)


# each: construction reads module-level state, then changes it in one way; torch's fresh
# import gives every analysis the first value (a conv 3 -> 4 channels, 3*4*9 + 4 = 112)
_MUTATIONS = {
    "list": ("STATE = [4]", "w = STATE[-1]\n        STATE.append(w + 1)"),
    "dict": ("STATE = {'w': 4}", "w = STATE['w']\n        STATE['w'] = w + 1"),
    "global": ("W = 4", "global W\n        w = W\n        W = w + 1"),
    "object attribute": ("class Cfg:\n    def __init__(self):\n        self.w = 4\n\n\nCFG = Cfg()",
                         "w = CFG.w\n        CFG.w = w + 1"),
    "closure cell": ("def _counter():\n    w = 4\n\n    def step():\n        nonlocal w\n        w += 1\n"
                     "        return w - 1\n    return step\n\n\nSTEP = _counter()", "w = STEP()"),
    "object in a tuple": ("class Cfg:\n    def __init__(self):\n        self.w = 4\n\n\nREG = (Cfg(),)",
                          "c = REG[0]\n        w = c.w\n        c.w = w + 1"),
}


@pytest.mark.parametrize("kind", sorted(_MUTATIONS))
def test_a_change_to_shared_state_reaches_no_later_analysis(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    top, body = _MUTATIONS[kind]
    path = str(tmp_path / "mutates.py")
    with open(path, "w") as f:
        f.write("import torch.nn as nn\n\n" + top + "\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                "        super().__init__()\n        " + body + "\n        self.conv = nn.Conv2d(3, w, 3)\n\n"
                "    def forward(self, x):\n        return self.conv(x)\n")
    expect = torch_params(path, "Net")
    assert expect == 112
    assert list_models(path) == ["Net"]
    assert [_params(api.load(f"{path}::Net")) for _ in range(3)] == [expect] * 3


def test_a_changed_file_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    path = tmp_path / "grows.py"
    path.write_text("import torch.nn as nn\nW = 4\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.conv = nn.Conv2d(3, W, 3)\n\n"
                    "    def forward(self, x):\n        return self.conv(x)\n")
    assert _params(api.load(f"{path}::Net")) == 3 * 4 * 9 + 4
    path.write_text(path.read_text().replace("W = 4", "W = 10  # wider"))
    assert _params(api.load(f"{path}::Net")) == 3 * 10 * 9 + 10


def test_sharing_off_gives_the_same(tmp_path, monkeypatch):
    path = str(tmp_path / "shared_state.py")
    with open(path, "w") as f:
        f.write(SRC)
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "0")
    off = [_params(api.load(f"{path}::{n}")) for n in ("Counted", "Other", "Counted")]
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    on = [_params(api.load(f"{path}::{n}")) for n in ("Counted", "Other", "Counted")]
    assert on == off == [242, 168, 242]


def _net_using_make(path, module):
    """A Net whose only layer is what ``make()`` from ``module`` returns."""
    path.write_text(f"import torch.nn as nn\nfrom {module} import make\n\n\nclass Net(nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n        self.b = make()\n\n"
                    "    def forward(self, x):\n        return self.b(x)\n")


def test_a_package_created_where_an_import_found_nothing_is_found(tmp_path, monkeypatch):
    # review of ffdaa6b: `from mypkg.blocks import make` looked in src/mypkg/ (missing);
    # creating src/mypkg/blocks.py changes src/, the nearest directory that existed
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    (tmp_path / "src").mkdir()
    path = tmp_path / "model.py"
    _net_using_make(path, "mypkg.blocks")
    before = [api.load(f"{path}::Net", input="2x3") for _ in range(3)]  # the template made at the second
    assert [_params(g) for g in before] == [0, 0, 0]
    (tmp_path / "src" / "mypkg").mkdir()
    (tmp_path / "src" / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "src" / "mypkg" / "blocks.py").write_text(
        "import torch.nn as nn\n\n\ndef make():\n    return nn.Linear(3, 8)\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    assert _params(api.load(f"{path}::Net", input="2x3")) == torch_params(str(path), "Net") == 3 * 8 + 8


@pytest.mark.parametrize("where", ["_snapshot", "_unchanged"])
def test_a_failing_snapshot_or_comparison_leaves_the_analysis_as_a_fresh_one(tmp_path, monkeypatch, where):
    # review of ffdaa6b: an error there (another thread importing while sys.modules is read)
    # escaped into the analysis; now the template is not made, or dropped
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    path = str(tmp_path / "shared_state.py")
    with open(path, "w") as f:
        f.write(SRC)

    def fail(*a):
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(modcache, where, fail)
    assert [_params(api.load(f"{path}::{n}")) for n in ("Counted", "Other", "Counted")] == [242, 168, 242]
    assert not any(k[0] == os.path.abspath(path) and t is not None for k, t in modcache._TEMPLATES.items())


def test_a_module_that_failed_to_parse_is_read_again_once_fixed(tmp_path, monkeypatch):
    # a shared module level remembers the import of blocks.py as failed; fixing the file
    # changes no directory, so the template's stamps must hold blocks.py itself
    monkeypatch.setenv("CNNSYM_SHARE_MODULES", "1")
    blocks = tmp_path / "blocks.py"
    blocks.write_text("import torch.nn as nn\n\n\ndef make(:\n    return nn.Linear(3, 8)\n")  # a syntax error
    path = tmp_path / "model.py"
    _net_using_make(path, "blocks")
    before = [api.load(f"{path}::Net", input="2x3") for _ in range(3)]  # the template made at the second
    assert [_params(g) for g in before] == [0, 0, 0]
    blocks.write_text("import torch.nn as nn\n\n\ndef make():\n    return nn.Linear(3, 8)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # Linear(3, 8): 3 * 8 weights + 8 biases = 32
    assert _params(api.load(f"{path}::Net", input="2x3")) == torch_params(str(path), "Net") == 3 * 8 + 8
