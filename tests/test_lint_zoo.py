"""No CNS2xx warning on the architectures people copy (issue 13 item 5): today's torchvision
models folder, read from the installed package (never imported), and the public-style
files of fixtures/torch, linted with the default rules and no configured input size.
Before the merge-cost test of CNS202 this gave 77 CNS202 (ShuffleNetV2's depthwise 3x3 +
1x1) and 44 CNS201 (VGG-BN, RAFT) warnings."""
import glob
import importlib.util
import os
from pathlib import Path

import pytest

from cnnsym.lint import all_rules, selected
from cnnsym.lint.engine import Options, lint_paths

ROOT = Path(__file__).resolve().parent.parent


def torchvision_dir():
    spec = importlib.util.find_spec("torchvision")
    locs = list(spec.submodule_search_locations or ()) if spec is not None else []
    return os.path.join(locs[0], "models") if locs and os.path.isdir(os.path.join(locs[0], "models")) else None


def _warnings(paths):
    rules = selected(all_rules())
    res = lint_paths(paths, Options({c: r for c, r in rules.items() if c.startswith("CNS2")}, None, None, cache=False))
    return res, [f"{f.path}:{f.line}: {f.code} {f.message}" for f in res.findings if f.code.startswith("CNS2")]


def test_no_warning_on_torchvision_models():
    d = torchvision_dir()
    if d is None:
        pytest.skip("torchvision is not installed")
    res, found = _warnings([d])
    assert res.models > 100  # the folder was read (148 root models in torchvision 0.28)
    assert not found, "\n".join(found[:20])


def test_no_warning_on_public_style_fixtures():
    files = sorted(glob.glob(str(ROOT / "fixtures" / "torch" / "*.py")))
    res, found = _warnings(files)
    assert res.models >= 30
    assert not found, "\n".join(found)
