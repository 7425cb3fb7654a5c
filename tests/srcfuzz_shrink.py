"""Shrinking a failing source-fuzz case (``tests/srcfuzz.py``) to a small file that still
fails the same way, and writing it as a regression fixture (``fixtures/torch/regressions/``)."""
from __future__ import annotations

from dataclasses import replace

from srcfuzz import Mismatch, Stats, build_torch, check, input_spec, source  # noqa: F401


def _smaller(case):
    """Candidate simplifications of ``case``, most drastic first."""
    bl = case.blocks
    for i in range(len(bl)):
        yield replace(case, blocks=bl[:i] + bl[i + 1:])
    if case.head["kind"] != "none":
        yield replace(case, head={**case.head, "kind": "none"}, fixed_features=0)
    for i, b in enumerate(bl):
        for key in ("layers", "cfg", "stages"):
            items = b.get(key) or []
            for j in range(len(items)):
                if len(items) > 1:
                    yield replace(case, blocks=bl[:i] + [{**b, key: items[:j] + items[j + 1:]}] + bl[i + 1:])
        for key, simple in (("inplace", False), ("helper", False), ("mis", False), ("d2", 1)):
            if key in b and b[key] != simple:
                yield replace(case, blocks=bl[:i] + [{**b, key: simple}] + bl[i + 1:])
        for j, spec in enumerate(b.get("layers") or []):
            for key, simple in (("g", 1), ("d", 1), ("bias", False), ("pm", None), ("ceil", False), ("s", 1)):
                if key in spec and spec[key] != simple:
                    layers = list(b["layers"])
                    layers[j] = {**spec, key: simple}
                    yield replace(case, blocks=bl[:i] + [{**b, "layers": layers}] + bl[i + 1:])
    if case.width_arg:
        yield replace(case, width_arg=False)
    if case.batch != 1:
        yield replace(case, batch=1)


def _kind(m):
    """What a mismatch is about, without the sizes and values (shrinking keeps it)."""
    text = str(m)
    for key in ("internal error", "verdict differs", "output shape", "params/buffers", "report incomplete", "cannot read",
                "invalid at every size", "missing from the report"):
        if key in text:
            return key + (" torch runs" if "torch: runs" in text else "")
    return "module shape" if text.startswith("module") else text[:40]


def shrink(case, sizes, budget=300):
    """A smaller case that still fails (at ``sizes``), with its mismatch."""
    first = None
    try:
        check(case, sizes, Stats())
    except Mismatch as e:
        first = e
    if first is None:
        return case, None
    kind = _kind(first)
    if first.sizes:
        sizes = [first.sizes]
    tries, improved = 0, True
    while improved and tries < budget:
        improved = False
        for cand in _smaller(case):
            tries += 1
            if tries > budget:
                break
            try:
                build_torch(source(cand))  # the candidate must be a model
            except Exception:  # noqa: BLE001
                continue
            try:
                check(cand, sizes, Stats())
            except Mismatch as e:
                if _kind(e) == kind:
                    case, first, improved = cand, e, True
                    break
            except Exception:  # noqa: BLE001
                continue
    return case, first


def fixture_text(case, mismatch):
    """A regression fixture: the model file, with the case and sizes in header comments
    that ``tests/test_source_fuzz.py`` reads back."""
    head = [f"# srcfuzz regression: {str(mismatch).splitlines()[0][:300]}" if mismatch else "# srcfuzz regression",
            f"# input: {input_spec(case)}",
            "# sizes: " + (";".join(",".join(f"{k}={v}" for k, v in s.items()) for s in
                                     ([mismatch.sizes] if mismatch and mismatch.sizes else []))
                           or "none"),
            f"# case: {case!r}"]
    return "\n".join(head) + "\n" + source(case)
