"""A forward that returns no tensor is refused with what it returned and the first thing the
forward did not follow (torchvision's detection models said only "forward returns no
tensor": they iterate over their input as a list of images)."""
from __future__ import annotations

import pytest

import cnnsym
from cnnsym.errors import CnnsymError

SRC = '''import torch.nn as nn


class Det(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, images):
        out = []
        for img in images:
            out.append({"boxes": self.conv(img[None])})
        return out
'''


def test_the_message_names_the_return_and_the_line_not_followed(tmp_path):
    path = tmp_path / "det.py"
    path.write_text(SRC, encoding="utf-8")
    with pytest.raises(CnnsymError) as e:
        cnnsym.analyze(f"{path}::Det", input="Nx3x32x32")  # N unknown: the loop cannot be unrolled
    msg = str(e.value)
    assert "forward returns no tensor (it returns an empty list)" in msg
    assert "first not followed in forward: det.py:11:" in msg  # line 11: `for img in images:`
