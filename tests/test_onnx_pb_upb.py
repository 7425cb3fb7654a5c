"""cnnsym/frontends/_onnxpb.py builds onnx's generated protobuf module with upb directly
(issue 12: google.protobuf's pure-Python layer is ~0.011 s of a report's start-up). The
oracle is the generated module itself, executed as Python executes it, in the same process
afterwards: every name it defines must be the very object (or equal value) the fast path made,
and ``import onnx`` must still hand out the same classes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

COMPARE = r'''
import importlib.util, sys
from google.protobuf.internal import api_implementation
if api_implementation.Type() != "upb":
    print("SKIP not upb"); sys.exit(0)
from cnnsym.frontends import _onnxpb
fast = _onnxpb.proto()
assert "onnx" not in sys.modules
print("fast path:", fast.__name__, hasattr(fast, "__file__"))
assert not hasattr(fast, "__file__"), "the generated module was executed: the fast path did not apply"
assert "google.protobuf.descriptor_pool" not in sys.modules and "google.protobuf.internal.python_message" not in sys.modules
spec = importlib.util.find_spec("onnx")
path = spec.submodule_search_locations[0] + "/onnx_ml_pb2.py"
mspec = importlib.util.spec_from_file_location("_oracle_pb2", path)
ref = importlib.util.module_from_spec(mspec)
mspec.loader.exec_module(ref)
aliases = {"_descriptor", "_descriptor_pool", "_runtime_version", "_symbol_database", "_builder", "_sym_db", "_globals"}
names = {n for n in vars(ref) if not n.startswith("__") and n not in aliases}
mine = {n for n in vars(fast) if not n.startswith("__")}
assert names == mine, (sorted(names - mine), sorted(mine - names))
for n in sorted(names):
    a, b = getattr(fast, n), getattr(ref, n)
    if type(b).__name__ == "EnumTypeWrapper":
        assert a.DESCRIPTOR is b.DESCRIPTOR and a.items() == b.items(), n
    elif isinstance(b, int):
        assert type(a) is int and a == b, n
    else:
        assert a is b, n
for n in ("ModelProto", "TensorProto", "AttributeProto", "NodeProto", "GraphProto"):
    c = getattr(fast, n)
    assert c.__module__ == getattr(ref, n).__module__ == "onnx.onnx_ml_pb2" and c.__qualname__ == n, n
assert fast.TensorProto.Segment is ref.TensorProto.Segment and fast.TensorProto.Segment.__qualname__ == "TensorProto.Segment"
import onnx
assert onnx.ModelProto is fast.ModelProto and onnx.TensorProto.DataType.items() == fast.TensorProto.DataType.items()
print("OK", len(names))
'''


def test_upb_fast_path_builds_what_the_generated_module_builds():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", COMPARE], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    last = p.stdout.strip().splitlines()[-1]
    if last.startswith("SKIP"):
        pytest.skip(last)
    assert last.startswith("OK"), p.stdout


def test_unexpected_generated_code_falls_back_to_executing_it():
    from cnnsym.frontends import _onnxpb

    import onnx

    src = Path(onnx.__file__).with_name("onnx_ml_pb2.py").read_text(encoding="utf-8")
    assert _onnxpb._generated_parts(src) is not None  # the installed onnx has the expected shape
    # an extra statement anywhere at module level: not the shape the fast path reproduces
    assert _onnxpb._build_from_source(src.replace("_globals = globals()\n", "_globals = globals()\nimport os\n")) is None
    assert _onnxpb._build_from_source(src + "\nEXTRA = 1\n") is None
    assert _onnxpb._build_from_source("") is None
    assert _onnxpb._build_from_source(src.replace("'onnx.onnx_ml_pb2'", "onnx.onnx_ml_pb2")) is None
    parts = _onnxpb._generated_parts(src)
    assert parts["module"] == "onnx.onnx_ml_pb2" and parts["version"][0] == "PUBLIC"
    assert parts["version"][-1] == "onnx/onnx-ml.proto" and parts["file"].startswith(b"\n\x12onnx/onnx-ml.proto")
