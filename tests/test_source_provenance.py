"""Where a layer's arguments were written (issue 13 item 5, the frontend's half): each node
a layer emits carries ``loc_chain`` (the calls that built the layer, outermost first) and
``arg_locs`` (constructor argument -> where its integer literal was written). Expected
lines and columns are read off ``fixtures/torch/provenance_chain.py`` by hand."""
from __future__ import annotations

import os

from cnnsym.frontends.torch import load_source

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "torch", "provenance_chain.py")


def _nodes():
    g = load_source(f"{FIX}::Net")
    return {n.name: n for n in g.nodes}


def _lc(loc):
    return (loc.line, loc.col)


def test_chain_through_a_block_class_and_a_helper():
    n = _nodes()
    # self.layer2 = ResidualBlock(32, 128) (line 24, col 23) -> nn.Conv2d(in_channels, ...) (line 13)
    assert [_lc(x) for x in n["layer2.conv"].loc_chain] == [(24, 23), (13, 21)]
    assert _lc(n["layer2.conv"].loc) == (13, 21)
    # ... -> self.conv2 = conv3x3(out_channels, out_channels) (line 14) -> nn.Conv2d in the helper (line 7)
    assert [_lc(x) for x in n["layer2.conv2"].loc_chain] == [(24, 23), (14, 22), (7, 12)]
    # a layer built in the model's own __init__: the chain is its construction alone
    assert [_lc(x) for x in n["stem"].loc_chain] == [(23, 21)]


def test_literal_arguments_point_where_the_value_was_written():
    n = _nodes()
    a = n["layer2.conv"].arg_locs
    assert _lc(a["in_channels"]) == (24, 37)  # the 32 of ResidualBlock(32, 128)
    assert _lc(a["out_channels"]) == (24, 41)  # the 128
    assert _lc(a["kernel_size"]) == (13, 58)  # the 3 written in the block
    b = n["layer2.conv2"].arg_locs
    assert _lc(b["in_channels"]) == (24, 41)  # 128 through out_channels -> in_planes
    assert _lc(b["stride"]) == (6, 43)  # conv3x3's default stride=1
    # a module-level constant: where the constant is written
    assert _lc(n["stem"].arg_locs["out_channels"]) == (3, 9)
    # a computed value (2 * 64) has no literal location
    assert "in_channels" not in n["head.1"].arg_locs
    assert "out_channels" in n["head.1"].arg_locs
