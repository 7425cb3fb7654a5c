"""timm's CNNs read statically from the INSTALLED package's .py files (cnnsym never imports
timm) against torch executing the same models (``timm.create_model(name)``, random init,
eval mode) as the oracle: trainable parameters, buffers, completeness and the output shape
at 224x224 (and a second size).

    python bench/timm_zoo.py                    # the default list (one or more models per CNN family)
    python bench/timm_zoo.py resnet26d vgg11    # named models
    python bench/timm_zoo.py --family resnet    # every registered model of timm/models/resnet.py
    python bench/timm_zoo.py --json out.json    # rows as JSON too

A model counts as exact when cnnsym's report is complete and its params, buffers and both
output shapes equal torch's. Each static read runs in a child process with a time limit
(``--timeout``, default 60 s). Needs torch and timm installed (timm --no-deps beside the CPU
torch; torchvision's op schemas are declared before timm imports it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# one or more per CNN family of timm 1.0.x (model name -> family module in timm/models)
DEFAULT = [
    "resnet18", "resnet26d", "resnet50", "resnet50d", "resnext50_32x4d", "seresnet50", "wide_resnet50_2",
    "resnetrs50", "skresnet18", "res2net50_26w_4s", "resnest14d", "regnetx_002", "regnety_002", "regnetz_b16",
    "vgg11", "vgg11_bn", "densenet121", "dla34", "dpn68", "cspresnet50", "cspdarknet53", "darknet53",
    "ghostnet_100", "efficientnet_b0", "efficientnet_lite0", "tf_efficientnet_b0", "efficientnetv2_rw_s",
    "mobilenetv2_100", "mobilenetv3_large_100", "mobilenetv3_small_100", "mnasnet_100", "mixnet_s",
    "hardcorenas_a", "lcnet_050", "fbnetc_100", "convnext_atto", "convnext_tiny", "rexnet_100",
    "hrnet_w18_small", "inception_v3", "selecsls42b", "repvgg_a0", "gernet_s", "nf_resnet50", "dm_nfnet_f0",
    "ese_vovnet19b_dw", "vovnet39a", "xception41", "legacy_seresnet18", "tresnet_m", "resnetv2_50",
    "repghostnet_050", "fasternet_t0", "starnet_s1", "hgnetv2_b0",
]
SIZES = (224, 160)


def _declare_torchvision_ops():
    import torch

    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except RuntimeError:
        return None
    return lib


def torch_truth(name: str) -> dict:
    """params, buffers and output shapes of timm's model as torch builds and runs it."""
    import warnings

    import torch

    import timm
    import timm.models._registry as reg

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = timm.create_model(name, pretrained=False).eval()
    module = reg._model_to_module[name]
    path = os.path.join(os.path.dirname(timm.__file__), "models", module + ".py")
    shapes = {}
    with torch.no_grad():
        for s in SIZES:
            try:
                shapes[s] = list(m(torch.zeros(1, 3, s, s)).shape)
            except Exception as e:  # noqa: BLE001 - a size torch refuses is recorded as refused
                shapes[s] = f"refused: {type(e).__name__}"
    return {
        "file": path, "family": module,
        "params": sum(p.numel() for p in m.parameters()),
        "buffers": sum(b.numel() for b in m.buffers()),
        "shapes": shapes,
    }


_STATIC = r"""
import json, sys
import cnnsym
path, name, sizes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    rep = cnnsym.analyze(path + "::" + name)
except SystemExit as e:
    print(json.dumps({"error": "exit %s" % e.code})); raise SystemExit(0)
except Exception as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, str(e)[:300])})); raise SystemExit(0)
out = rep.tensors[rep.outputs[0]].shape
shapes = {}
for s in sizes:
    try:
        shapes[s] = [int(rep.evaluate(d, {**rep.bindings, "N": 1, "H": s, "W": s})) for d in out]
    except Exception as e:
        shapes[s] = "refused: %s" % type(e).__name__
nf = [str(x) for x in (rep.not_followed or ())][:3]
print(json.dumps({"complete": rep.complete, "params": int(rep.values["params.trainable"]),
                  "buffers": int(rep.values["params.buffers"]), "shapes": shapes, "not_followed": nf}))
"""


def static_read(path: str, name: str, timeout: float) -> dict:
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-c", _STATIC, path, name, json.dumps(list(SIZES))],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "seconds": timeout}
    dt = time.perf_counter() - t0
    line = (p.stdout.strip().splitlines() or [""])[-1]
    try:
        got = json.loads(line)
    except json.JSONDecodeError:
        got = {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    got["seconds"] = round(dt, 2)
    return got


def compare(truth: dict, got: dict) -> str:
    if "error" in got:
        return "error"
    ok = (got["params"] == truth["params"] and got["buffers"] == truth["buffers"]
          and all(str(got["shapes"].get(str(s), got["shapes"].get(s))) == str(truth["shapes"][s])
                  or (str(truth["shapes"][s]).startswith("refused") and str(got["shapes"].get(str(s))).startswith("refused"))
                  for s in SIZES))
    if ok and got["complete"]:
        return "exact"
    if ok:
        return "exact numbers, marked incomplete"
    return "mismatch" + ("" if got["complete"] else " (marked incomplete)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--family", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    try:
        _lib = _declare_torchvision_ops()  # noqa: F841 - kept alive for the run
        import timm  # noqa: F401
        import timm.models._registry as reg
    except Exception as e:  # noqa: BLE001
        print(f"timm_zoo: torch/timm cannot be imported ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    names = list(a.models)
    for fam in a.family:
        names += sorted(n for n, m in reg._model_to_module.items() if m == fam)
    names = names or DEFAULT
    rows, counts = [], {}
    print(f"{'model':28} {'family':18} {'torch params':>13} {'cnnsym':>13} {'buffers t/c':>15} {'s':>5}  verdict")
    for name in names:
        try:
            truth = torch_truth(name)
        except Exception as e:  # noqa: BLE001
            print(f"{name:28} torch cannot build it: {type(e).__name__}: {e}"[:160])
            continue
        got = static_read(truth["file"], name, a.timeout)
        verdict = compare(truth, got)
        counts[verdict.split(" (")[0]] = counts.get(verdict.split(" (")[0], 0) + 1
        cp = got.get("params", "-")
        cb = got.get("buffers", "-")
        print(f"{name:28} {truth['family']:18} {truth['params']:>13,} {cp if isinstance(cp, str) else format(cp, ','):>13} "
              f"{truth['buffers']:>7}/{cb!s:<7} {got.get('seconds', 0):>5.1f}  {verdict}"
              + (f"  [{got['error'][:110]}]" if "error" in got else "")
              + (f"  [{'; '.join(got.get('not_followed') or [])[:110]}]" if verdict != "exact" and got.get("not_followed") else ""),
              flush=True)
        rows.append({"model": name, "truth": truth, "cnnsym": got, "verdict": verdict})
    n = len(rows)
    print(f"\n{counts.get('exact', 0)} of {n} exact; " + ", ".join(f"{v}: {k}" for k, v in sorted(counts.items()) if k != "exact"))
    silently_wrong = [r["model"] for r in rows if r["verdict"] == "mismatch"]
    print(f"complete but wrong (must be 0): {len(silently_wrong)} {' '.join(silently_wrong)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
