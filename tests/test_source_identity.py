"""`is` between names of what torch defines: the same object each time it is looked up, as
in Python (torch.nn.ReLU is torch.nn.ReLU; F.relu is F.relu). cnnsym once built a new value
per lookup, so `ACT is nn.ReLU` was False and a model took the other branch."""
from __future__ import annotations

import textwrap

import cnnsym

SRC = textwrap.dedent('''
    import torch.nn as nn
    import torch.nn.functional as F

    ACT = nn.ReLU


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            same = (ACT is nn.ReLU) and (F.relu is F.relu) and (nn.init is nn.init)
            self.c = nn.Conv2d(3, 8 if same else 4, 3)

        def forward(self, x):
            return self.c(x)
''')


def test_torch_names_are_identical_objects(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(SRC)
    rep = cnnsym.analyze(str(p), input="1x3x8x8")
    # Python: `same` is True -> Conv2d(3, 8, 3): 8 * (3 * 3 * 3) weights + 8 biases = 224
    assert rep.totals["params.trainable"] == 224
