"""Lint lints a file's root models: those no other model in the file names (issue 12: the
names are read from the tree the model listing parsed, not from a second parse of the file).
Expected roots are written by hand from the source below."""
import os

from cnnsym.frontends.torch import imports, list_models
from cnnsym.lint.engine import root_models

SRC = '''import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.c(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = Block()

    def forward(self, x):
        return self.b(x)


def make():
    return Net()
'''


def test_roots_are_the_models_no_other_model_names(tmp_path):
    p = tmp_path / "m.py"
    p.write_text(SRC)
    models = list_models(str(p))
    assert models == ["Block", "Net", "make"]
    assert imports.python_ast(str(p)) is not None  # the listing's tree is there to read
    # Net names Block, make names Net: make alone is a root
    assert root_models(str(p), SRC, models) == ["make"]


def test_a_file_edited_after_the_listing_is_read_as_it_is_now(tmp_path):
    p = tmp_path / "m.py"
    p.write_text(SRC)
    models = list_models(str(p))
    st = os.stat(p)
    edited = SRC.replace("return Net()", "return Blk()")  # same size; make names no model now
    p.write_text(edited)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old modification time back
    assert imports.python_ast(str(p)) is None  # the tree is of the old text
    # Net names Block; make names nothing: Net and make are roots
    assert root_models(str(p), edited, models) == ["Net", "make"]
