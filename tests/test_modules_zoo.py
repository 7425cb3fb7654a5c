"""The module tree of today's torchvision classification zoo read statically from the
installed package (issue 10's measure): exactly torch's named_modules(), each module with
the output shape torch gives its first call at two input sizes (forward hooks), torch's
parameter and buffer counts per module, in torch's first-call order. Skips cleanly when
torchvision is absent (see tests/test_torchvision_zoo.py for the oracle's loading)."""
from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

from test_modules import _torch_run  # noqa: E402
from test_torchvision_zoo import MODELS_DIR, SIZES, ZOO, tv_models  # noqa: E402,F401 (fixture)


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_module_tree_is_torchs(tv_models, name):  # noqa: F811
    import warnings

    import cnnsym

    tvm, _ = tv_models
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(tvm, name)(weights=None).eval()
    rep = cnnsym.analyze(os.path.join(MODELS_DIR, ZOO[name] + ".py") + "::" + name)
    mods = dict(model.named_modules())
    assert sorted(rep.modules) == sorted(mods)
    for path, info in rep.modules.items():
        m = mods[path]
        assert rep.evaluate(info.trainable) == sum(p.numel() for p in m.parameters()), path
        assert rep.evaluate(info.buffers) == sum(b.numel() for b in m.buffers()), path
        assert rep.evaluate(info.own_trainable) == sum(p.numel() for p in m.parameters(recurse=False)), path
    for s in SIZES:
        first, order = _torch_run(torch, model, (1, 3, s, s))
        b = {**rep.bindings, "N": 1, "H": s, "W": s}
        bad = []
        for path, info in rep.modules.items():
            if path not in first:
                if info.calls:
                    bad.append(f"{path}: torch never calls it, cnnsym counts {info.calls} calls")
                continue
            want = first[path]
            if want is None:
                continue
            got = tuple(int(rep.evaluate(d, b)) for d in info.shape) if info.shape is not None else None
            if got != want:
                bad.append(f"{path} at {s}: cnnsym {got}, torch {want}")
        assert not bad, "\n".join(bad[:10])
        assert [p for p in rep.modules if p in first] == order
