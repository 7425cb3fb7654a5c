"""Planted-bug cases for lint (issue 13 item 5): real public-style model files with one shape
bug each, planted by rewriting one integer literal, and torch as the oracle that it is a bug.

``python tests/lint_planted.py`` regenerates ``tests/data/lint_planted.json``: for every source
below it lists the integer literals written as arguments of a layer or block call (libcst),
plants one bug per literal kind (in_channels / in_features / num_features / a block's first
argument doubled, a kernel made larger than any map, a stride of 64), and keeps a mutant only when torch builds it and then raises on
the forward pass at the case's input while the original runs. Files are never copied into
the repository: torchvision's are read from the installed package (``find_spec``, its
relative imports resolved against the installed package), the rest from fixtures/torch.
``tests/test_lint_planted.py`` replays each case and checks lint reports a CNS1xx finding on
the planted literal's line (the line to edit) and nothing on the unmodified original."""
from __future__ import annotations

import contextlib
import hashlib
import io
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "lint_planted.json"

# (source, model call, input); "torchvision:" paths are inside the installed package
SOURCES = [
    ("fixtures/torch/lenet.py", "LeNet", "1x1x28x28"),
    ("fixtures/torch/lenet.py", "Net", "1x3x32x32"),
    ("fixtures/torch/lenet.py", "MnistNet", "1x1x28x28"),
    ("fixtures/torch/lenet.py", "SimpleCNN", "1x3x32x32"),
    ("fixtures/torch/resnet.py", "resnet18()", "1x3x64x64"),
    ("fixtures/torch/resnet.py", "resnet20()", "1x3x32x32"),
    ("fixtures/torch/vgg.py", "VGG('VGG11')", "1x3x32x32"),
    ("fixtures/torch/unet.py", "UNet(3, 2)", "1x3x64x64"),
    ("fixtures/torch/mobilenetv2.py", "mobilenet_v2()", "1x3x64x64"),
    ("fixtures/torch/squeezenet.py", "squeezenet1_1()", "1x3x227x227"),
    ("fixtures/torch/superres.py", "Net(2)", "1x1x32x32"),
    ("fixtures/torch/dcgan.py", "Discriminator(1)", "1x3x64x64"),
    ("torchvision:models/alexnet.py", "alexnet()", "1x3x224x224"),
    ("torchvision:models/resnet.py", "resnet18()", "1x3x64x64"),
    ("torchvision:models/vgg.py", "vgg11()", "1x3x64x64"),
    ("torchvision:models/squeezenet.py", "squeezenet1_0()", "1x3x227x227"),
    ("torchvision:models/mobilenetv2.py", "mobilenet_v2()", "1x3x64x64"),
    ("torchvision:models/mnasnet.py", "mnasnet0_5()", "1x3x64x64"),
    ("torchvision:models/shufflenetv2.py", "shufflenet_v2_x0_5()", "1x3x64x64"),
    ("torchvision:models/googlenet.py", "googlenet(aux_logits=False, init_weights=False)", "1x3x64x64"),
    ("torchvision:models/densenet.py", "densenet121()", "1x3x64x64"),
    ("torchvision:models/mobilenetv3.py", "mobilenet_v3_small()", "1x3x64x64"),
]
PER_SOURCE = 3  # mutants kept per source, one per kind in turn
KINDS = {"Conv2d": ("in_channels", 0), "Linear": ("in_features", 0), "BatchNorm2d": ("num_features", 0),
         "BatchNorm1d": ("num_features", 0)}
BIG_KERNEL = 99
BIG_STRIDE = 64


def torchvision_root():
    spec = importlib.util.find_spec("torchvision")
    locs = list(spec.submodule_search_locations or ()) if spec is not None else []
    return locs[0] if locs else None


def source_path(src):
    if src.startswith("torchvision:"):
        tv = torchvision_root()
        return None if tv is None else os.path.join(tv, src.split(":", 1)[1])
    return str(ROOT / src)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def stage(src, text=None):
    """A temporary copy of the source's package (torchvision's .py tree, or fixtures/torch)
    with ``text`` in place of the source file: (temp dir, path of the file in it)."""
    real = source_path(src)
    tmp = tempfile.mkdtemp(prefix="planted-")
    if src.startswith("torchvision:"):
        base = torchvision_root()
        dst = os.path.join(tmp, "torchvision")
        shutil.copytree(base, dst, ignore=lambda d, names: [n for n in names if not (n.endswith(".py") or
                                                                                   os.path.isdir(os.path.join(d, n)))
                                                             or n == "__pycache__"])
        path = os.path.join(dst, src.split(":", 1)[1])
    else:
        dst = os.path.join(tmp, "fx")
        shutil.copytree(os.path.dirname(real), dst, ignore=shutil.ignore_patterns("__pycache__", "regressions"))
        path = os.path.join(dst, os.path.basename(real))
    if text is not None:
        Path(path).write_text(text, encoding="utf-8")
    return tmp, path


def plant(text, line, col, old, new):
    """``text`` with the literal ``old`` at (line, col) (1-based) replaced by ``new``."""
    lines = text.splitlines(keepends=True)
    s = lines[line - 1]
    if s[col - 1:col - 1 + len(old)] != old:
        raise ValueError(f"line {line} col {col} does not hold {old!r}: {s.strip()!r}")
    lines[line - 1] = s[:col - 1] + new + s[col - 1 + len(old):]
    return "".join(lines)


# --------------------------------------------------------------------------- generation
def sites(text):
    """(line, col, literal, new literal, kind, callee) for each integer literal that is a
    layer's declared input width, a kernel size or a stride in a call, in file order."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    out = []

    class V(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def visit_Call(self, node):
            f = node.func
            name = f.attr.value if isinstance(f, cst.Attribute) else (f.value if isinstance(f, cst.Name) else "")
            pos = [a for a in node.args if a.keyword is None and a.star == ""]
            kw = {a.keyword.value: a for a in node.args if a.keyword is not None}
            picks = []
            if name in KINDS:
                kind, i = KINDS[name]
                a = kw.get(kind) or (pos[i] if len(pos) > i else None)
                if a is not None:
                    picks.append((a.value, kind, "double"))
            if name == "Conv2d":
                a = kw.get("kernel_size") or (pos[2] if len(pos) > 2 else None)
                if a is not None:
                    picks.append((a.value, "kernel_size", "big"))
            if name in ("Conv2d", "MaxPool2d", "AvgPool2d"):
                a = kw.get("stride") or (pos[3 if name == "Conv2d" else 1] if len(pos) > (3 if name == "Conv2d" else 1)
                                         else None)
                if a is not None:
                    picks.append((a.value, "stride", "stride"))
            if isinstance(f, cst.Name) and name[:1].isupper() and name not in KINDS and pos:  # a block class
                picks.append((pos[0].value, "block_in", "double"))
            for expr, kind, how in picks:
                lit = expr
                while isinstance(lit, cst.BinaryOperation):
                    lit = lit.left
                if not isinstance(lit, cst.Integer):
                    continue
                v = int(lit.value)
                if v < 1:
                    continue
                p = self.get_metadata(PositionProvider, lit).start
                new = str(v * 2) if how == "double" else (str(BIG_STRIDE) if how == "stride" else str(BIG_KERNEL))
                out.append((p.line, p.column + 1, lit.value, new, kind, name))

    MetadataWrapper(cst.parse_module(text)).visit(V())
    return out


def _declare_ops():
    import torch

    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        return lib
    except RuntimeError:
        return None


def run_torch(src, path, call, dims):
    """'' when the model at ``path`` builds and runs at ``dims``; else 'build: ...' or
    'forward: ...' (the first line of what torch raised)."""
    import torch

    if src.startswith("torchvision:"):
        import torchvision  # noqa: F401  (relative imports of the mutant resolve against it)

        pkg = "torchvision." + os.path.dirname(src.split(":", 1)[1]).replace("/", ".")
    else:
        pkg = "fx_planted_" + hashlib.sha256(path.encode()).hexdigest()[:8]
        init = importlib.util.spec_from_file_location(pkg, os.path.join(os.path.dirname(path), "__init__.py"),
                                                      submodule_search_locations=[os.path.dirname(path)])
        if not os.path.exists(init.origin):
            Path(init.origin).write_text("")
        m = importlib.util.module_from_spec(init)
        sys.modules[pkg] = m
        init.loader.exec_module(m)
    name = f"{pkg}._planted_{hashlib.sha256(path.encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = pkg
    sys.modules[name] = mod
    reg = saved = None
    if src.startswith("torchvision:"):
        from torchvision.models import _api as reg  # @register_model refuses a second registration

        saved = dict(reg.BUILTIN_MODELS)
        reg.BUILTIN_MODELS.clear()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # scripts print at import (dcgan)
            spec.loader.exec_module(mod)
        with torch.device("meta"):  # shapes are checked, nothing allocated (a 99x99 kernel on 2048 channels)
            model = eval(call if "(" in call else call + "()", vars(mod))  # noqa: S307 - our own case list
        model.eval()
    except Exception as e:  # noqa: BLE001
        return "build: " + (str(e).splitlines() or [type(e).__name__])[0][:200]
    finally:
        if reg is not None:
            reg.BUILTIN_MODELS.clear()
            reg.BUILTIN_MODELS.update(saved)
    try:
        with torch.no_grad():
            model(torch.zeros(*[int(x) for x in dims.split("x")], device="meta"))
    except Exception as e:  # noqa: BLE001
        return "forward: " + (str(e).splitlines() or [type(e).__name__])[0][:200]
    return ""


def generate():
    lib = _declare_ops()  # noqa: F841 - keeps the declaration alive
    cases = []
    for src, call, dims in SOURCES:
        real = source_path(src)
        if real is None or not os.path.exists(real):
            print(f"skip {src}: absent", file=sys.stderr)
            continue
        text = Path(real).read_text(encoding="utf-8")
        tmp, path = stage(src)
        ok = run_torch(src, path, call, dims)
        shutil.rmtree(tmp, ignore_errors=True)
        if ok:
            print(f"skip {src}::{call}: the original does not run ({ok})", file=sys.stderr)
            continue
        by_kind = {}
        for s in sites(text):
            by_kind.setdefault(s[4], []).append(s)
        order = ["in_channels", "in_features", "stride", "num_features", "block_in", "kernel_size"]
        kept, tried = [], 0
        queues = [list(by_kind.get(k, ())) for k in order]
        while len(kept) < PER_SOURCE and any(queues) and tried < 40:
            for q in queues:
                if not q or len(kept) >= PER_SOURCE:
                    continue
                line, col, old, new, kind, callee = q.pop(0)
                tried += 1
                tmp, path = stage(src, plant(text, line, col, old, new))
                verdict = run_torch(src, path, call, dims)
                shutil.rmtree(tmp, ignore_errors=True)
                if verdict.startswith("forward: "):
                    kept.append({"source": src, "sha": digest(real), "call": call, "input": dims, "line": line,
                                 "col": col, "old": old, "new": new, "kind": kind, "callee": callee,
                                 "torch": verdict})
                    print(f"{src}:{line}:{col} {callee} {kind} {old}->{new}: {verdict[:80]}", file=sys.stderr)
        cases += kept
    DATA.write_text(json.dumps({"about": __doc__.split("\n\n")[0], "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} cases -> {DATA}", file=sys.stderr)


# --------------------------------------------------------------------------- replay
def load_cases():
    return json.loads(DATA.read_text())["cases"]


def _lint(spec, dims):
    from cnnsym.lint import all_rules, selected
    from cnnsym.lint.engine import Options, lint_paths

    return lint_paths([spec], Options(selected(all_rules()), [dims], None, cache=False))


def replay(case):
    """(status, findings text): 'caught' (a CNS1xx on the planted literal's line of the
    mutant file), 'elsewhere' (CNS1xx findings, none on that line), 'missed' (none), or
    'absent' / 'changed' (the source is not installed / not the version the case was made on)."""
    real = source_path(case["source"])
    if real is None or not os.path.exists(real):
        return "absent", ""
    if digest(real) != case["sha"]:
        return "changed", ""
    text = Path(real).read_text(encoding="utf-8")
    tmp, path = stage(case["source"], plant(text, case["line"], case["col"], case["old"], case["new"]))
    try:
        res = _lint(f"{path}::{case['call']}", case["input"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    errs = [f for f in res.findings if f.code.startswith("CNS1")]
    shown = "; ".join(f"{os.path.basename(f.path)}:{f.line}:{f.col} {f.code} {f.message[:90]}" for f in res.findings
                      if f.severity != "info") + "".join(f" [input error: {e[:120]}]" for e in res.errors)
    mine = os.path.abspath(path)
    if any(os.path.abspath(f.path) == mine and f.line == case["line"] for f in errs):
        return "caught", shown
    return ("elsewhere" if errs else "missed"), shown


def original_findings(source, call, dims):
    """Errors and warnings lint reports on the unmodified source (none expected)."""
    real = source_path(source)
    res = _lint(f"{real}::{call}", dims)
    return [f"{f.path}:{f.line} {f.code} {f.message}" for f in res.findings if f.severity != "info"] + list(res.errors)


def score():
    cases = load_cases()
    tally = {}
    for c in cases:
        st, shown = replay(c)
        tally[st] = tally.get(st, 0) + 1
        if st != "caught":
            print(f"{st}: {c['source']}:{c['line']}:{c['col']} {c['callee']} {c['kind']} {c['old']}->{c['new']}: "
                  f"{shown}", file=sys.stderr)
    clean = 0
    pairs = sorted({(c["source"], c["call"], c["input"]) for c in cases})
    for s, call, dims in pairs:
        bad = original_findings(s, call, dims)
        clean += not bad
        if bad:
            print(f"original {s}::{call}: {bad[:3]}", file=sys.stderr)
    print(f"caught on the line to edit: {tally.get('caught', 0)} of {len(cases)} ({tally}); "
          f"originals with no finding: {clean} of {len(pairs)}")


if __name__ == "__main__" and sys.argv[1:] == ["--score"]:
    score()
elif __name__ == "__main__":
    generate()
