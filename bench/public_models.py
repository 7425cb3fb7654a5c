"""Real public PyTorch model files (not written for cnnsym, not in this repository's git)
read statically by cnnsym against torch executing the same modules as the oracle (issue 13:
"judged on real public files that are not in this repository").

For each file of MANIFEST and each model call in it (constructor arguments as the file's own
README/tests write them), torch imports the file in a child process (weights random, eval
mode) and gives trainable parameters, buffers and the output shape at each input size (or
"refused" when the forward raises); cnnsym reads the same file statically
(``cnnsym.analyze("file.py::Call(...)", input=...)``, another child process with a time
limit). Verdicts:

    exact                 complete, and params, buffers and every output shape equal torch's
    incomplete            the report says complete: false (totals are lower bounds)
    error                 cnnsym stopped with an error (one line) or timed out
    COMPLETE-BUT-WRONG    complete: true and some number differs from torch's (must be 0)

It also runs ``cnnsym lint`` on every unmodified file and lists each finding: a CNS1xx/CNS2xx
on real, working code is a false positive unless it is a genuine bug.

    python bench/public_models.py                   # every file of the manifest present locally
    python bench/public_models.py --only kuangliu   # files whose name contains a word
    python bench/public_models.py --no-lint --json rows.json

The files live in tests/data/public_models/ (git-ignored: third-party code is not
committed; each is named <owner>__<repo>__<path with / as __>.py and starts with a comment
naming its repository, path, commit and licence). The manifest below records the same, so
the set can be fetched again; a file that is absent is listed as missing, not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DIR = os.path.join(ROOT, "tests", "data", "public_models")

CIFAR = {"input": "1x3xHxW", "sizes": [32, 64]}
IMAGENET = {"input": "1x3xHxW", "sizes": [224, 160]}

# file -> (source "repo path@commit (licence)", input spec, [model calls])
MANIFEST = {
    "kuangliu__pytorch-cifar__models__resnet.py": (
        "kuangliu/pytorch-cifar models/resnet.py@0acfbc16 (MIT)", CIFAR,
        ["ResNet18()", "ResNet34()", "ResNet50()"]),
    "kuangliu__pytorch-cifar__models__vgg.py": (
        "kuangliu/pytorch-cifar models/vgg.py@64fe317a (MIT)", {"input": "1x3xHxW", "sizes": [32, 33]},
        ["VGG('VGG11')", "VGG('VGG16')"]),
    "kuangliu__pytorch-cifar__models__dpn.py": (
        "kuangliu/pytorch-cifar models/dpn.py@4f5e1316 (MIT)", CIFAR, ["DPN26()"]),
    "kuangliu__pytorch-cifar__models__regnet.py": (
        "kuangliu/pytorch-cifar models/regnet.py@9b0869d5 (MIT)", CIFAR,
        ["RegNetX_200MF()", "RegNetY_400MF()"]),
    "kuangliu__pytorch-cifar__models__efficientnet.py": (
        "kuangliu/pytorch-cifar models/efficientnet.py@12420c5f (MIT)", CIFAR, ["EfficientNetB0()"]),
    "kuangliu__pytorch-cifar__models__shufflenetv2.py": (
        "kuangliu/pytorch-cifar models/shufflenetv2.py@15306bbe (MIT)", CIFAR,
        ["ShuffleNetV2(net_size=0.5)", "ShuffleNetV2(1)"]),
    "kuangliu__pytorch-cifar__models__pnasnet.py": (
        "kuangliu/pytorch-cifar models/pnasnet.py@90e3b934 (MIT)", CIFAR, ["PNASNetA()", "PNASNetB()"]),
    "kuangliu__pytorch-cifar__models__googlenet.py": (
        "kuangliu/pytorch-cifar models/googlenet.py@64fe317a (MIT)", CIFAR, ["GoogLeNet()"]),
    "akamaster__pytorch_resnet_cifar10__resnet.py": (
        "akamaster/pytorch_resnet_cifar10 resnet.py@1877b675 (BSD-2-Clause)", CIFAR,
        ["resnet20()", "resnet56()"]),
    "d-li14__mobilenetv3.pytorch__mobilenetv3.py": (
        "d-li14/mobilenetv3.pytorch mobilenetv3.py@04263326 (MIT)", IMAGENET,
        ["mobilenetv3_large()", "mobilenetv3_small()", "mobilenetv3_small(width_mult=0.75)"]),
    "jvanvugt__pytorch-unet__unet.py": (
        "jvanvugt/pytorch-unet unet.py@00e358b0 (MIT)", {"input": "1x1xHxW", "sizes": [188, 572]},
        ["UNet()", "UNet(in_channels=3, n_classes=5, depth=4, padding=True, batch_norm=True, up_mode='upsample')"]),
    "pytorch__examples__super_resolution__model.py": (
        "pytorch/examples super_resolution/model.py@5c2b513a (BSD-3-Clause)", {"input": "1x1xHxW", "sizes": [64, 85]},
        ["Net(upscale_factor=3)"]),
    "pytorch__examples__fast_neural_style__neural_style__transformer_net.py": (
        "pytorch/examples fast_neural_style/neural_style/transformer_net.py@01c54ac9 (BSD-3-Clause)",
        {"input": "1x3xHxW", "sizes": [64, 99]}, ["TransformerNet()"]),
    "tonylins__pytorch-mobilenet-v2__MobileNetV2.py": (
        "tonylins/pytorch-mobilenet-v2 MobileNetV2.py@48c2c706 (Apache-2.0)", IMAGENET,
        ["MobileNetV2()", "MobileNetV2(n_class=10, width_mult=0.5)"]),
    "eriklindernoren__PyTorch-GAN__implementations__cyclegan__models.py": (
        "eriklindernoren/PyTorch-GAN implementations/cyclegan/models.py@11de0602 (MIT)",
        {"input": "1x3xHxW", "sizes": [128, 130]},
        ["GeneratorResNet()", "GeneratorResNet(3, 3, 6)", "Discriminator()", "GeneratorUNet()"]),
    "eriklindernoren__PyTorch-GAN__implementations__pix2pix__models.py": (
        "eriklindernoren/PyTorch-GAN implementations/pix2pix/models.py@03db6e6f (MIT)",
        {"input": "1x3xHxW", "sizes": [256, 128]}, ["GeneratorUNet()", "GeneratorResNet(resblocks=6)"]),
    "facebookresearch__ConvNeXt__models__convnext.py": (
        "facebookresearch/ConvNeXt models/convnext.py@06f7b05f (MIT)", IMAGENET,
        ["convnext_tiny()", "convnext_tiny(drop_path_rate=0.1, num_classes=10)"]),
    "kuangliu__pytorch-cifar__models__densenet.py": (
        "kuangliu/pytorch-cifar models/densenet.py@64fe317a (MIT)", CIFAR, ["densenet_cifar()", "DenseNet121()"]),
    "kuangliu__pytorch-cifar__models__senet.py": (
        "kuangliu/pytorch-cifar models/senet.py@c9a6af7f (MIT)", CIFAR, ["SENet18()"]),
    "chenyaofo__pytorch-cifar-models__pytorch_cifar_models__resnet.py": (
        "chenyaofo/pytorch-cifar-models pytorch_cifar_models/resnet.py@3e084276 (BSD-3-Clause)", CIFAR,
        ["cifar10_resnet20()", "cifar100_resnet56()", "CifarResNet(BasicBlock, [3]*3)"]),
    "moskomule__senet.pytorch/senet/se_resnet.py": (
        "moskomule/senet.pytorch senet/se_resnet.py@099acb5c + senet/se_module.py@9d279ecc (MIT)", IMAGENET,
        ["se_resnet18()", "se_resnet50(num_classes=10)", "se_resnet20()", "se_preactresnet20()"]),
    "milesial__Pytorch-UNet/unet/unet_model.py": (
        "milesial/Pytorch-UNet unet/unet_model.py@0203cad9 + unet_parts.py@07debeb9 (GPL-3.0: never committed)",
        {"input": "1x3xHxW", "sizes": [96, 100]},
        ["UNet(n_channels=3, n_classes=2)", "UNet(3, 1, bilinear=False)"]),
    "Cadene__pretrained-models.pytorch__pretrainedmodels__models__xception.py": (
        "Cadene/pretrained-models.pytorch pretrainedmodels/models/xception.py@0479011a (BSD-3-Clause)",
        {"input": "1x3xHxW", "sizes": [299, 224]}, ["Xception()", "xception(num_classes=1000, pretrained=False)"]),
    "pytorch__tutorials__beginner_source__blitz__neural_networks_tutorial.py": (
        "pytorch/tutorials beginner_source/blitz/neural_networks_tutorial.py@06dc9778 (BSD-3-Clause)",
        {"input": "1x1xHxW", "sizes": [32, 36]}, ["Net()"]),
    "lukemelas__EfficientNet-PyTorch/efficientnet_pytorch/model.py": (
        "lukemelas/EfficientNet-PyTorch efficientnet_pytorch/model.py + utils.py @0253bfdb (Apache-2.0; __init__.py "
        "reconstructed)", IMAGENET,
        ["EfficientNet.from_name('efficientnet-b0')",
         "EfficientNet.from_name('efficientnet-b2', override_params={'num_classes': 10})"]),
    "Megvii-BaseDetection__YOLOX/yolox/models/darknet.py": (
        "Megvii-BaseDetection/YOLOX yolox/models/darknet.py + network_blocks.py @390ec1ae (Apache-2.0; package "
        "__init__ files left empty)", {"input": "1x3xHxW", "sizes": [320, 416]},
        ["CspDarknet(0.33, 0.50)", "CspDarknet(0.33, 0.375, depthwise=True)", "Darknet(21)"]),
    "xinntao__ESRGAN__RRDBNet_arch.py": (
        "xinntao/ESRGAN RRDBNet_arch.py@d274b11e (Apache-2.0)", {"input": "1x3xHxW", "sizes": [32, 21]},
        ["RRDBNet(3, 3, 64, 23, gc=32)", "RRDBNet(3, 3, 32, 4)"]),
    "xternalz__WideResNet-pytorch__wideresnet.py": (
        "xternalz/WideResNet-pytorch wideresnet.py@24a5cb12 (MIT)", CIFAR, ["WideResNet(28, 10, width=10)"]),
}

_ORACLE = r"""
import importlib.util, json, os, sys, warnings
warnings.simplefilter("ignore")
import torch
try:  # timm imports torchvision, whose CPU-less wheel needs these op schemas declared first
    _lib = torch.library.Library("torchvision", "DEF")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
except RuntimeError:
    pass
path, calls, inp, sizes = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
top = os.path.dirname(path)
parts = [os.path.basename(path)[:-3]]
while os.path.exists(os.path.join(top, "__init__.py")):  # a module of a package: import it as one
    parts.insert(0, os.path.basename(top))
    top = os.path.dirname(top)
sys.path.insert(0, top)
if len(parts) > 1:
    import importlib
    mod = importlib.import_module(".".join(parts))
else:
    name = "pm_" + parts[0].replace("-", "_").replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
dims = inp.split("x")
out = {}
for call in calls:
    try:
        torch.manual_seed(0)
        m = eval(call, vars(mod)).eval()
        row = {"params": sum(p.numel() for p in m.parameters() if p.requires_grad),
               "frozen": sum(p.numel() for p in m.parameters() if not p.requires_grad),
               "buffers": sum(b.numel() for b in m.buffers()), "shapes": {}}
        for s in (sizes or [None]):
            shape = [int(d) if d.isdigit() else s for d in dims]
            try:
                with torch.no_grad():
                    y = m(torch.zeros(*shape))
                if isinstance(y, dict):  # a backbone's named features: the first, as cnnsym's first output
                    y = next(iter(y.values()))
                if isinstance(y, (tuple, list)):
                    y = y[0]
                row["shapes"][str(s)] = list(y.shape)
            except Exception as e:
                row["shapes"][str(s)] = "refused: %s" % type(e).__name__
        out[call] = row
    except Exception as e:
        out[call] = {"oracle_error": "%s: %s" % (type(e).__name__, str(e)[:200])}
print(json.dumps(out))
"""

_STATIC = r"""
import json, sys
import sympy as sp
import cnnsym
path, call, inp, sizes = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
try:
    rep = cnnsym.analyze(path + "::" + call, input=inp)
except SystemExit as e:
    print(json.dumps({"error": "exit %s" % e.code})); raise SystemExit(0)
except Exception as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")})); raise SystemExit(0)
out = rep.tensors[rep.outputs[0]].shape
shapes = {}
for s in (sizes or [None]):
    b = {**rep.bindings, "N": 1}
    if s is not None:
        b.update({"H": s, "W": s})
    try:
        bad = [c for c in rep.constraints if sp.sympify(c.rel).xreplace(
            {x: sp.Integer(b[x.name]) for x in sp.sympify(c.rel).free_symbols if x.name in b}) == sp.false]
        if bad or any(r.status == "error" for r in rep.nodes):
            shapes[str(s)] = "refused: %s" % (bad[0].message[:80] if bad else "error")
        else:
            shapes[str(s)] = [int(rep.evaluate(d, b)) for d in out]
    except Exception as e:
        shapes[str(s)] = "refused: %s" % type(e).__name__
print(json.dumps({"complete": rep.complete, "params": int(rep.values["params.trainable"]),
                  "buffers": int(rep.values["params.buffers"]), "shapes": shapes,
                  "not_followed": [str(x) for x in (rep.not_followed or ())][:3],
                  "errors": [str(x)[:200] for x in (rep.errors or ())][:2]}))
"""


def _child(code: str, args: list, timeout: float) -> dict:
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                           timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "seconds": timeout}
    line = (p.stdout.strip().splitlines() or [""])[-1]
    try:
        got = json.loads(line)
    except json.JSONDecodeError:
        got = {"error": "child failed: " + ((p.stderr.strip().splitlines() or ["no output"])[-1][:300])}
    if isinstance(got, dict):
        got.setdefault("seconds", round(time.perf_counter() - t0, 2))
    return got


def torch_truth(path: str, calls: list, spec: dict, timeout: float = 300) -> dict:
    return _child(_ORACLE, [path, json.dumps(calls), spec["input"], json.dumps(spec["sizes"])], timeout)


def static_read(path: str, call: str, spec: dict, timeout: float) -> dict:
    return _child(_STATIC, [path, call, spec["input"], json.dumps(spec["sizes"])], timeout)


def verdict(truth: dict, got: dict) -> str:
    refused = all(str(v).startswith("refused") for v in truth["shapes"].values())
    if refused and ("error" in got or not got["complete"]):
        return "torch refuses, cnnsym too"
    if "error" in got:
        return "error"
    if not got["complete"]:
        return "incomplete"
    same_shapes = all(
        got["shapes"].get(k) == v or (str(v).startswith("refused") and str(got["shapes"].get(k)).startswith("refused"))
        for k, v in truth["shapes"].items())
    if got["params"] == truth["params"] and got["buffers"] == truth["buffers"] and same_shapes:
        return "exact"
    return "COMPLETE-BUT-WRONG"


def lint_file(path: str, spec: dict, timeout: float = 120) -> list:
    """Every finding of ``cnnsym lint`` on the unmodified file (concise lines), at the
    manifest's first input size."""
    dims = "x".join(str(spec["sizes"][0]) if d in ("H", "W") else d for d in spec["input"].split("x"))
    try:
        p = subprocess.run([sys.executable, "-m", "cnnsym", "lint", "--no-cache", "--format", "concise",
                            "--input", dims, path],
                           capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return [f"{path}: lint timed out after {timeout:.0f} s"]
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return [ln for ln in lines if " CNS" in ln]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="files whose name contains this word")
    ap.add_argument("--dir", default=DIR)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per static read")
    ap.add_argument("--no-lint", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows, missing, lint_rows = [], [], []
    counts = {"exact": 0, "incomplete": 0, "error": 0, "COMPLETE-BUT-WRONG": 0, "torch refuses, cnnsym too": 0}
    print(f"{'file::call':70} {'torch params':>12} {'cnnsym':>12} {'buf t/c':>13} {'s':>5}  verdict")
    for fname, (source, spec, calls) in MANIFEST.items():
        if a.only and not any(w in fname for w in a.only):
            continue
        path = os.path.join(a.dir, fname)
        if not os.path.exists(path):
            missing.append(f"{fname} ({source})")
            continue
        truth_all = torch_truth(path, calls, spec)
        for call in calls:
            label = f"{fname[:-3]}::{call}"
            truth = truth_all.get(call) if isinstance(truth_all, dict) else None
            if not truth or "oracle_error" in truth or "error" in truth_all:
                why = (truth or {}).get("oracle_error") or truth_all.get("error")
                got = static_read(path, call, spec, a.timeout)
                ok = "error" in got or not got["complete"]
                counts["torch refuses, cnnsym too" if ok else "COMPLETE-BUT-WRONG"] += 1
                said = got.get("error") or "; ".join(got.get("not_followed") or []) or "complete"
                print(f"{label[:70]:70} torch cannot build it ({why}); cnnsym: {said}"[:260])
                rows.append({"file": fname, "call": call, "source": source, "truth": {"oracle_error": why},
                             "cnnsym": got, "verdict": "torch refuses, cnnsym too" if ok else "COMPLETE-BUT-WRONG"})
                continue
            got = static_read(path, call, spec, a.timeout)
            v = verdict(truth, got)
            counts[v] += 1
            cp, cb = got.get("params", "-"), got.get("buffers", "-")
            note = ""
            if "error" in got:
                note = f"  [{got['error'][:150]}]"
            elif v != "exact":
                bits = got.get("not_followed") or got.get("errors") or []
                diff = [f"{k}: torch {truth['shapes'][k]} cnnsym {got['shapes'].get(k)}"
                        for k in truth["shapes"] if got["shapes"].get(k) != truth["shapes"][k]]
                note = f"  [{'; '.join(bits + diff)[:200]}]"
            print(f"{label[:70]:70} {truth['params']:>12,} {cp if isinstance(cp, str) else format(cp, ','):>12} "
                  f"{truth['buffers']:>6}/{cb!s:<6}  {got.get('seconds', 0):>5.1f}  {v}{note}", flush=True)
            rows.append({"file": fname, "call": call, "source": source, "truth": truth, "cnnsym": got, "verdict": v})
        if not a.no_lint:
            lint_rows += [(fname, f) for f in lint_file(path, spec)]
    n = len(rows)
    print(f"\n{n} models from {len({r['file'] for r in rows})} files: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    wrong = [f"{r['file']}::{r['call']}" for r in rows if r["verdict"] == "COMPLETE-BUT-WRONG"]
    print(f"complete but wrong (must be 0): {len(wrong)} {' '.join(wrong)}")
    if missing:
        print(f"missing locally (not counted): {len(missing)}: " + "; ".join(missing))
    if not a.no_lint:
        rules = [f for _, f in lint_rows if re.search(r":\d+:\d+: CNS[12]\d\d ", f)]
        print(f"\nlint on the unmodified files: {len(rules)} CNS1xx/CNS2xx findings (each a false positive "
              f"unless the file has that bug), {len(lint_rows) - len(rules)} CNS0xx notes")
        for _, f in lint_rows:
            print(("  ! " if f in rules else "    ") + os.path.relpath(f.split(":")[0], a.dir) + ":" + f.split(":", 1)[1])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "lint": lint_rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
