"""Helper functions and block classes the source fuzzer's files define (``tests/srcfuzz.py``):
written as people write them, ``{r}`` standing for the spatial rank (1, 2, 3) and ``{dims}``
for the spatial axes."""
from __future__ import annotations

HELPERS = {
    "conv_bn": '''
def conv_bn(cin, cout, k=3, s=1, d=1, g=1, act=True):
    layers = [nn.Conv{r}d(cin, cout, k, stride=s, padding=d * (k // 2), dilation=d, groups=g, bias=False),
              nn.BatchNorm{r}d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
''',
    "ResBlock": '''
class ResBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1, k=3, bad=False, inplace=False):
        super().__init__()
        pad = 0 if bad else k // 2
        self.inplace = inplace
        self.conv1 = nn.Conv{r}d(cin, cout * self.expansion, k, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm{r}d(cout)
        self.conv2 = nn.Conv{r}d(cout, cout, kernel_size=k, padding=k // 2, bias=False)
        self.bn2 = nn.BatchNorm{r}d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv{r}d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm{r}d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.inplace:
            out += self.shortcut(x)
        else:
            out = out + self.shortcut(x)
        return F.relu(out)
''',
    "CatBlock": '''
class CatBlock(nn.Module):
    def __init__(self, cin, c1, c2, k2=3, d2=1, mis=False):
        super().__init__()
        self.a = nn.Sequential(nn.Conv{r}d(cin, c1, 1), nn.ReLU())
        self.b = nn.Sequential(nn.Conv{r}d(cin, c2, k2, padding=0 if mis else d2 * (k2 // 2), dilation=d2), nn.ReLU())

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], dim=1)
''',
}
HELPERS["SE"] = '''
class SE(nn.Module):
    """Squeeze-and-excitation: channel gates from a global average."""

    def __init__(self, c, r=4, use_conv=False):
        super().__init__()
        hidden = max(1, c // r)
        self.use_conv = use_conv
        if use_conv:
            self.fc = nn.Sequential(nn.Conv{r}d(c, hidden, 1), nn.ReLU(inplace=True), nn.Conv{r}d(hidden, c, 1), nn.Sigmoid())
        else:
            self.fc = nn.Sequential(nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, c), nn.Sigmoid())

    def forward(self, x):
        if self.use_conv:
            return x * self.fc(F.adaptive_avg_pool{r}d(x, 1))
        b, c = x.shape[:2]
        w = self.fc(x.mean(dim={dims}))
        return x * w.view(b, c, *([1] * (x.dim() - 2)))
'''
