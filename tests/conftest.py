import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
