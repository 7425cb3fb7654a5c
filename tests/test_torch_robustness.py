"""The PyTorch-source frontend on code it cannot follow: every failure is one line naming
the file, the line and the statement (an InputError, exit 2), never an internal error,
and a size it cannot know never becomes a parameter shape.

Line numbers in the expected messages are counted by hand in each snippet."""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from cnnsym.errors import InputError
from cnnsym.frontends.torch import list_models, load_source
from cnnsym.frontends.torch.registry import LAYERS

RECURSIVE_KERNEL = textwrap.dedent("""\
    import torch.nn as nn


    def f(n):
        return f(n + 1)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, f(1))

        def forward(self, x):
            return self.conv(x)
    """)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _one_line(e):
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert "internal error" not in msg and "Traceback" not in msg
    return msg


def test_torch_itself_cannot_build_the_recursive_model(tmp_path):
    """The oracle: executing the snippet with torch raises RecursionError, so the model
    has no answer and an error (not a report) is right."""
    pytest.importorskip("torch")
    p = _write(tmp_path, "rec_oracle.py", RECURSIVE_KERNEL)
    spec = importlib.util.spec_from_file_location("rec_oracle", p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        with pytest.raises(RecursionError):
            mod.Net()
    finally:
        sys.setrecursionlimit(limit)


def test_recursive_helper_is_a_one_line_error_at_the_recursive_call(tmp_path):
    p = _write(tmp_path, "rec.py", RECURSIVE_KERNEL)
    with pytest.raises(InputError) as e:
        load_source(f"{p}::Net")
    msg = _one_line(e)
    assert msg.startswith(f"{p}: line 5: `return f(n + 1)`"), msg  # line 5: the recursive return
    assert "f()" in msg and "recursion" in msg


def test_recursion_in_forward_is_a_one_line_error(tmp_path):
    p = _write(tmp_path, "fwd.py", """\
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)

            def forward(self, x):
                return self.forward(self.conv(x))
        """)
    with pytest.raises(InputError) as e:
        load_source(f"{p}::Net")
    msg = _one_line(e)
    assert "line 10: `return self.forward(self.conv(x))`" in msg, msg
    assert "forward()" in msg and "recursion" in msg


def test_recursion_in_an_imported_helper_names_that_file(tmp_path):
    _write(tmp_path, "helpers.py", """\
        def width(n):
            return width(n) + 1
        """)
    p = _write(tmp_path, "net.py", """\
        import torch.nn as nn
        from helpers import width


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(width(3), 10)

            def forward(self, x):
                return self.fc(x)
        """)
    with pytest.raises(InputError) as e:
        load_source(f"{p}::Net")
    msg = _one_line(e)
    assert msg.startswith(f"{p}: helpers.py line 2: `return width(n) + 1`"), msg


def test_module_level_recursion_leaves_the_global_unknown(tmp_path):
    """Module level is a script's code: what fails there is a warning on its line and the
    names it assigns are unknown (here the Linear built from it is not counted)."""
    p = _write(tmp_path, "script.py", """\
        import torch.nn as nn


        def depth(n):
            return depth(n - 1)


        DEPTH = depth(3)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(DEPTH, 2)
                self.head = nn.Linear(4, 2)

            def forward(self, x):
                return self.head(self.fc(x))
        """)
    assert list_models(p) == ["Net"]
    g = load_source(f"{p}::Net")
    text = "\n".join(g.warnings)
    assert "script.py:8: module level: depth() calls itself more than" in text, text  # line 8: DEPTH = ...
    assert "script.py:14:" in text and "Linear.weight" in text, text  # line 14 builds fc
    assert not any(k.startswith("fc.") for k in g.initializers)


def test_an_unknown_size_never_becomes_a_parameter_shape(tmp_path):
    """A width from a package cnnsym does not read: the layer is not built (its line is in
    the warnings, its call unaccounted), and no initializer has a non-integer dim."""
    p = _write(tmp_path, "ext.py", """\
        import torch.nn as nn
        import somepkg


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(somepkg.width(), 10)
                self.head = nn.Linear(10, 2)

            def forward(self, x):
                return self.head(self.fc(x))
        """)
    g = load_source(f"{p}::Net")
    text = "\n".join(g.warnings)
    assert "ext.py:8:" in text and "Linear.weight" in text, text  # line 8 builds fc
    # head is still built: weight 2x10, bias 2 (torch's nn.Linear(10, 2) parameters)
    assert tuple(g.initializers["head.weight"].shape) == (2, 10)
    assert tuple(g.initializers["head.bias"].shape) == (2,)
    assert not any(k.startswith("fc.") for k in g.initializers)
    assert any(n.domain == "torch.unknown" for n in g.nodes)  # fc's call is unaccounted


def test_a_defect_inside_a_layer_is_still_one_line(tmp_path, monkeypatch):
    """Simulated defect: a layer's lowering raises an unexpected exception type."""
    monkeypatch.delenv("CNNSYM_DEBUG", raising=False)

    def boom(c, m, x):
        raise AssertionError("simulated defect")

    monkeypatch.setattr(LAYERS["ReLU"].cls, "forward", staticmethod(boom))
    p = _write(tmp_path, "act.py", """\
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.act = nn.ReLU()

            def forward(self, x):
                y = self.conv(x)
                return self.act(y)
        """)
    with pytest.raises(InputError) as e:
        load_source(f"{p}::Net")
    msg = _one_line(e)
    assert "line 12: `return self.act(y)`" in msg and "AssertionError: simulated defect" in msg, msg


def test_debug_mode_keeps_the_traceback_of_a_defect(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNSYM_DEBUG", "1")

    def boom(c, m, x):
        raise AssertionError("simulated defect")

    monkeypatch.setattr(LAYERS["ReLU"].cls, "forward", staticmethod(boom))
    p = _write(tmp_path, "act.py", """\
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.act = nn.ReLU()

            def forward(self, x):
                return self.act(x)
        """)
    with pytest.raises(AssertionError, match="simulated defect"):
        load_source(f"{p}::Net")


def test_children_set_and_read_through_dunder_attrs():
    """``self.__setattr__(name, m)`` / ``self.__getattr__(name)`` (DLA-style trees) were not
    followed: the model was reported incomplete. torch executing the fixture is the oracle."""
    torch = pytest.importorskip("torch")
    import os

    import cnnsym

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "fixtures", "torch", "dynamic_attrs.py")
    spec = importlib.util.spec_from_file_location("dynamic_attrs_fixture", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the test runs it; cnnsym only reads it
    net = mod.Net().eval()
    rep = cnnsym.analyze(f"{path}::Net", input="1x3xHxW")
    assert rep.complete and not rep.warnings
    assert rep.values["params.trainable"] == sum(p.numel() for p in net.parameters())
    assert rep.values["params.buffers"] == sum(b.numel() for b in net.buffers())
    for h, w in [(33, 20), (64, 64)]:
        want = tuple(net(torch.zeros(1, 3, h, w)).shape)
        b = {**rep.bindings, "H": h, "W": w}
        assert tuple(rep.evaluate(d, b) for d in rep.tensors[rep.outputs[0]].shape) == want
