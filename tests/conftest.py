import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _declare_torchvision_ops():
    """The registry's torchvision wheel is a CUDA build whose compiled ops do not load beside
    CPU torch; importing it (as fvcore and thop do) then fails on its fake-op registrations
    unless the op schemas are declared first. Declared once here, before any test imports it;
    a torchvision whose ops load makes the declaration fail harmlessly."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is None or importlib.util.find_spec("torch") is None:
        return None
    import torch

    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except RuntimeError:
        return None
    return lib


_TORCHVISION_OPS = _declare_torchvision_ops()


def shared_models_dir():
    env = os.environ.get("CNNSYM_SHARED_MODELS")
    p = Path(env) if env else ROOT.parent / "shared" / "models"
    return p if (p / "ground_truth.json").is_file() else None


@pytest.fixture(scope="session")
def shared_models():
    p = shared_models_dir()
    if p is None:
        pytest.skip("shared models absent: set CNNSYM_SHARED_MODELS or put them at ../shared/models")
    return p


@pytest.fixture(scope="session")
def ground_truth(shared_models):
    return json.loads((shared_models / "ground_truth.json").read_text())
