"""The analysis of a source model reuses the inference the frontend made of each node while
building the graph, only where the node and its inputs are exactly those it was made from
(issue 12). Oracles: hand arithmetic (LeNet's MACs at 32x32, in the comment) and the same
analysis with nothing to reuse (every node inferred again, a different code path)."""
from pathlib import Path

import pytest

import cnnsym.analyze as analysis_module  # noqa: F401
from cnnsym.analyze import analyze, apply_inputs
from cnnsym.api import load

ROOT = Path(__file__).resolve().parent.parent
LENET = f"{ROOT / 'fixtures' / 'torch' / 'lenet.py'}::Net"
SPECS = [LENET, f"{ROOT / 'fixtures' / 'torch' / 'resnet.py'}::resnet18",
         f"{ROOT / 'fixtures' / 'torch' / 'mobilenetv2.py'}::MobileNetV2",
         f"{ROOT / 'fixtures' / 'torch' / 'unet.py'}::UNet"]


def _fresh(spec, dims=None):
    g = load(spec)
    if dims:
        apply_inputs(g, {None: dims})
    return g


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("dims", [None, [1, 3, 64, 64], [2, 3, "H", "W"]])
def test_same_report_as_inferring_every_node_again(spec, dims):
    reused = analyze(_fresh(spec, dims), strict_bindings=False)
    g = _fresh(spec, dims)
    assert g.inferred  # the frontend recorded its inference
    g.inferred = None
    again = analyze(g, strict_bindings=False)
    assert reused.to_json() == again.to_json()


def test_a_changed_input_size_is_inferred_at_that_size():
    # LeNet at 1x3x32x32: conv1 6*28*28*3*25 = 352,800; conv2 16*10*10*6*25 = 240,000;
    # fc1 400*120 = 48,000; fc2 120*84 = 10,080; fc3 84*10 = 840: 651,720 MACs
    rep = analyze(_fresh(LENET, [1, 3, 32, 32]), strict_bindings=False)
    assert rep.values["macs"] == 651_720 and rep.complete
