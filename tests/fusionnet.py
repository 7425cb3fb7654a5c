"""HRNet-like multi-resolution fusion networks built with torch and exported to ONNX:
parallel branches at H, H/2, H/4, ... fused at every stage by nearest upsampling
(``nn.Upsample(scale_factor=2**k)``) and stride-2 convolutions, joined with Add, as in
HRNet's pose estimation and segmentation heads. Shared by tests/test_fusion_growth.py and
bench/bench_fusion.py; torch is imported by the caller."""
from __future__ import annotations

import io


def fusion_net(torch, stages: int = 2, branches: int = 3, width: int = 4):
    nn = torch.nn

    def conv(cin, cout, stride=1, k=3):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.ReLU())

    class Fuse(nn.Module):
        """out_i = sum_j f_ij(x_j): upsampled (j > i), strided down (j < i) or x_i itself."""

        def __init__(self, n):
            super().__init__()
            self.n = n
            self.ops = nn.ModuleList()
            for i in range(n):
                row = nn.ModuleList()
                for j in range(n):
                    if j > i:
                        row.append(nn.Sequential(nn.Conv2d(width, width, 1, bias=False),
                                                 nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                    elif j < i:
                        row.append(nn.Sequential(*[conv(width, width, 2) for _ in range(i - j)]))
                    else:
                        row.append(nn.Identity())
                self.ops.append(row)

        def forward(self, xs):
            outs = []
            for i in range(self.n):
                y = xs[i]
                for j in range(self.n):
                    if j != i:
                        y = y + self.ops[i][j](xs[j])
                outs.append(torch.relu(y))
            return outs

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(3, width, 2), conv(width, width, 2))
            self.down = nn.ModuleList([conv(width, width, 2) for _ in range(branches - 1)])
            self.blocks = nn.ModuleList([nn.ModuleList([conv(width, width) for _ in range(branches)])
                                         for _ in range(stages)])
            self.fuse = nn.ModuleList([Fuse(branches) for _ in range(stages)])
            self.head = nn.Conv2d(width, 2, 1)

        def forward(self, x):
            x = self.stem(x)
            xs = [x]
            for d in self.down:
                xs.append(d(xs[-1]))
            for blk, fuse in zip(self.blocks, self.fuse):
                xs = fuse([b(t) for b, t in zip(blk, xs)])
            return self.head(xs[0])

    return Net().eval()


def export(torch, model, dynamo: bool = False) -> bytes:
    """ONNX bytes with N, H, W dynamic."""
    x = torch.randn(1, 3, 64, 64)
    buf = io.BytesIO()
    if dynamo:
        from torch.export import Dim

        h, w = Dim("H", min=2, max=4096), Dim("W", min=2, max=4096)
        prog = torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes=({2: h, 3: w},), verbose=False)
        prog.save(buf) if hasattr(prog, "save") else None
        if not buf.getvalue():
            raise RuntimeError("dynamo export gave no program")
        return buf.getvalue()
    torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}}, opset_version=17)
    return buf.getvalue()


def unet(torch, depth: int = 3, width: int = 4, join: str = "add"):
    """U-Net: max-pool down ``depth`` times, upsample x2 back and join the skip (Add, or
    Concat for ``join="cat"``), as in segmentation decoders and BiFPN's top-down path."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = nn.Conv2d(3, width, 3, 1, 1)
            self.enc = nn.ModuleList([nn.Conv2d(width, width, 3, 1, 1) for _ in range(depth)])
            self.dec = nn.ModuleList([nn.Conv2d(width * (2 if join == "cat" else 1), width, 3, 1, 1)
                                      for _ in range(depth)])
            self.pool = nn.MaxPool2d(2, ceil_mode=True)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")

        def forward(self, x):
            x = self.inc(x)
            skips = []
            for e in self.enc:
                skips.append(x)
                x = torch.relu(e(self.pool(x)))
            for d, s in zip(self.dec, reversed(skips)):
                u = self.up(x)
                x = torch.relu(d(torch.cat([s, u], 1) if join == "cat" else s + u))
            return x

    return Net().eval()
