"""``cnnsym.lint(paths, **options)`` (docs/api.md): the CLI's lint as a function."""
import textwrap

import pytest

import cnnsym
from cnnsym.errors import CnnsymError

NET = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 5)
            self.fc = nn.Linear(16 * 5 * 5, 10)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))
    """)


def test_lint_function(tmp_path):
    p = tmp_path / "net.py"
    p.write_text(NET)
    # 32x32 through a 5x5 conv without padding: 28x28x16 = 12,544 features, the Linear takes 400
    r = cnnsym.lint(str(p), input="1x3x32x32")
    assert r.errors == [] and r.models == 1 and r.files == 1
    assert [(f.code, f.line) for f in r.findings] == [("CNS101", 8)]
    # at 9x9 the conv gives 5x5x16 = 400: the Linear fits
    assert not [f for f in cnnsym.lint([p], input=["1x3x9x9"]).findings if f.code == "CNS101"]
    assert not cnnsym.lint(str(p), input="1x3x32x32", ignore="CNS101").findings
    with pytest.raises(CnnsymError, match="XYZ9"):
        cnnsym.lint(str(p), select="XYZ9")
    with pytest.raises(CnnsymError):
        cnnsym.lint(str(p), input="1x3xfoo!")
