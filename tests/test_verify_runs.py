"""How verify runs onnxruntime (issues 12, 14): in a child process (an abort costs one line and
exit 2, the rest of the run goes on), with real progress counts, bad --sizes rejected as
input errors (exit 2, one line, no onnxruntime log lines), and receptive fields proved in a
handful of runs (the batch axis carries the masks) rather than one run per search step."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, shared_models_dir

from cnnsym import api
from cnnsym.errors import InputError
from cnnsym.verify import parse_sizes, verify
from cnnsym.verify.child import ChildError, Crashed, Worker, can_isolate

TINY = str(ROOT / "fixtures" / "tiny_resnet.onnx")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "cnnsym", *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


def _die_on(request):
    if request == "abort":
        os.write(2, b"terminate called after throwing an instance of 'onnxruntime::OnnxRuntimeException'\n")
        os.abort()
    if request == "raise":
        raise ValueError("bad request\nsecond line")
    return request * 2


@pytest.mark.skipif(not can_isolate(), reason="no fork on this platform: calls run in-process")
def test_worker_survives_an_abort():
    with Worker(_die_on) as w:
        assert w.call(2) == 4
        with pytest.raises(Crashed, match="SIGABRT.*terminate called") as e:
            w.call("abort")
        assert "\n" not in str(e.value)
        assert w.call(3) == 6  # a fresh child takes over
        with pytest.raises(ChildError, match="^bad request$"):
            w.call("raise")
        assert w.call(5) == 10  # a Python error does not end the child


@pytest.mark.skipif(not can_isolate(), reason="no fork on this platform: calls run in-process")
def test_onnxruntime_abort_is_one_error_and_the_run_goes_on(monkeypatch):
    from cnnsym import verify as V

    calls = {"n": 0}
    real = V._Runner._shapes

    def shapes(self, shapes, seed):
        calls["n"] += 1  # counted in the child: each child starts from the parent's 0
        if shapes[0][2] == 193:
            os.abort()
        return real(self, shapes, seed)

    monkeypatch.setattr(V._Runner, "_shapes", shapes)
    graph, rep = api.analyze_graph(TINY)
    res = verify(TINY, graph, rep, sizes=[(193, 161), (97, 101)], random_k=0)
    assert len(res.errors) == 1 and "SIGABRT" in res.errors[0] and "H=193" in res.errors[0]
    assert "\n" not in res.errors[0]
    assert res.exit_code == 2 and not res.ok
    ran = {c.binding for c in res.checks if c.what == "shape"}
    assert any("H=97" in b for b in ran) and any("H=224" in b for b in ran)  # before and after the crash
    assert any(c.what == "receptive_field" for c in res.checks)  # fields measured after it too


def test_parse_sizes():
    assert parse_sizes("224x224, 193x161") == [(224, 224), (193, 161)]
    assert parse_sizes("") == []
    for bad in ("10x10,abc", "0x0", "10x-3", "10xx10", "ten"):
        with pytest.raises(InputError):
            parse_sizes(bad)


@pytest.mark.parametrize("sizes", ["10x10,abc", "0x0", "64x64x64"])
def test_bad_sizes_are_input_errors(sizes):
    p = cli("verify", "fixtures/seed_conv.onnx", "--sizes", sizes)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "--sizes" in lines[0] and "Traceback" not in p.stderr
    assert "onnxruntime" not in p.stderr and "\x1b[" not in p.stderr  # no coloured log lines


def test_progress_counts_every_run():
    seen = []
    graph, rep = api.analyze_graph(TINY)
    res = verify(TINY, graph, rep, random_k=2, progress=lambda done, total, what: seen.append((done, total, what)))
    assert res.ok
    assert [d for d, _, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1]  # done == total at the end
    assert sum("shapes" in w for _, _, w in seen) == len(res.bindings) == 3
    assert any("receptive fields" in w for _, _, w in seen)


def test_resnet18_fields_take_a_few_runs():
    """Six fields (three probes, two axes): proved with the masks in the batch of one run per
    input shape, where a binary search took ~160 runs (27 s of the old 30 s)."""
    d = shared_models_dir()
    if d is None:
        pytest.skip("shared models absent")
    path = str(d / "torchscript" / "resnet18.onnx")
    seen = []
    graph, rep = api.analyze_graph(path)
    res = verify(path, graph, rep, random_k=0, progress=lambda done, total, what: seen.append(what))
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures]
    assert sum(c.what == "receptive_field" for c in res.checks) == 6
    assert sum("receptive fields" in w for w in seen) <= 2


def test_cnnsym_only_ops_are_refused_up_front():
    """A source layer cnnsym models in its own domain (adaptive pooling to 7x7) has no
    onnxruntime kernel: one input error, not a 'run' mismatch per binding."""
    with pytest.raises(InputError, match="cnnsym.torch::AdaptiveAveragePool has no onnxruntime kernel"):
        import cnnsym

        cnnsym.verify(str(ROOT / "fixtures" / "torch" / "lenet.py::SimpleCNN"), random_k=0)


def test_fields_measured_where_no_larger_input_is_valid():
    """LeNet takes 28..31 rows only (its Linear fixes the flattened size): the fields are
    measured at the model's own size (clipped where needed) instead of not at all."""
    import cnnsym

    res = cnnsym.verify(str(ROOT / "fixtures" / "torch" / "lenet.py::LeNet"), random_k=0)
    assert res.ok, [(c.where, c.expected, c.got) for c in res.failures]
    assert sum(c.what == "receptive_field" for c in res.checks) >= 2, res.notes
