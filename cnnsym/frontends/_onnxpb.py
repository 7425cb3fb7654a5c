"""The ONNX protobuf classes without importing the ``onnx`` package.

``import onnx`` costs about 0.6 s, most of it spent importing ``ml_dtypes`` (through
``onnx.helper``), which reading a model does not need. The message classes live in the
generated module ``onnx/onnx_ml_pb2.py``, which imports only ``google.protobuf``. This module
executes that file by path, under a private module name, without running
``onnx/__init__.py``.

Why this is sound: the generated module registers ``onnx/onnx-ml.proto`` in protobuf's default
descriptor pool. With the ``upb`` backend (protobuf >= 4.21's default) registering the same
serialized file again is a no-op and message classes are cached per descriptor, so a later
``import onnx`` in the same process yields the *same* classes (``onnx.ModelProto is
proto().ModelProto``): models parsed here can be handed to ``onnx.checker``, shape inference
or onnxruntime unchanged. With any other backend, or when ``onnx`` is already imported, or if
the generated file is not where it is expected, the ``onnx`` package itself is used.

Small tensor contents are decoded with :mod:`struct` for the plain numeric types (exactly the
values ``onnx.numpy_helper.to_array`` gives); every other case (segments, external data,
strings, sub-byte and 8-bit float types, a value count that disagrees with the dims) goes to
``onnx.numpy_helper`` itself, so errors and exotic types are unchanged.
"""
from __future__ import annotations

import importlib.util
import math
import os
import struct
import sys

_PB = None

# (numpy itemsize, struct code) of the types onnx maps to a numpy dtype, from onnx 1.23's
# onnx._mapping.TENSOR_TYPE_MAP (tests/test_onnx_pb.py checks the itemsizes against onnx).
ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 8: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8,
            14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 21: 1, 22: 1, 23: 1, 24: 1,
            25: 1, 26: 1, 27: 1, 28: 1}
_STRUCT = {1: "f", 2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 7: "q", 9: "?", 10: "e", 11: "d",
           12: "I", 13: "Q"}
# typed storage field of each plain type, and how numpy's cast to the type wraps the stored value
_FIELD = {1: "float_data", 11: "double_data", 7: "int64_data", 2: "int32_data", 3: "int32_data",
          4: "int32_data", 5: "int32_data", 6: "int32_data", 9: "int32_data", 10: "int32_data",
          12: "uint64_data", 13: "uint64_data"}
_WRAP = {2: (8, False), 3: (8, True), 4: (16, False), 5: (16, True), 12: (32, False)}

# onnx >= 1.14 (pyproject's floor) knows ai.onnx opset 19; newer releases more.
OPSET_FLOOR = 19
# newest ai.onnx opset of onnx releases (onnx.defs.onnx_opset_version()); tests/test_onnx_pb.py
# checks the installed release's entry against onnx itself
NEWEST_OPSET = {"1.14": 19, "1.15": 20, "1.16": 21, "1.17": 22, "1.18": 23, "1.23": 28}


def _load_generated():
    if "onnx" in sys.modules:
        return None
    try:
        from google.protobuf.internal import api_implementation

        if api_implementation.Type() != "upb":
            return None
        spec = importlib.util.find_spec("onnx")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = spec.submodule_search_locations[0]
        path = os.path.join(folder, "onnx_ml_pb2.py")
        with open(os.path.join(folder, "onnx_pb.py"), encoding="utf-8") as f:
            if "from .onnx_ml_pb2 import *" not in f.read():  # the package re-exports this module
                return None
        mspec = importlib.util.spec_from_file_location("_cnnsym_onnx_ml_pb2", path)
        if mspec is None or mspec.loader is None:
            return None
        mod = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(mod)
        return mod
    except Exception:  # noqa: BLE001 - any surprise: use the onnx package instead
        return None


def proto():
    """The module holding ``ModelProto``, ``TensorProto``, ``AttributeProto``, ..."""
    global _PB
    if _PB is None:
        _PB = _load_generated()
        if _PB is None:
            import onnx

            _PB = onnx
    return _PB


def newest_opset_at_least(v: int) -> int:
    """A number >= ``v`` if the installed onnx knows ai.onnx opset ``v``, else onnx's newest
    opset (what ``onnx.defs.onnx_opset_version()`` returns). Imports onnx only when neither
    the floor nor the release table decides."""
    if v <= OPSET_FLOOR:
        return OPSET_FLOOR
    try:
        from importlib.metadata import version

        newest = NEWEST_OPSET.get(".".join(version("onnx").split(".")[:2]))
    except Exception:  # noqa: BLE001
        newest = None
    if newest is None:
        import onnx.defs

        newest = onnx.defs.onnx_opset_version()
    return newest


def expected_itemsize(data_type: int):
    return ITEMSIZE.get(data_type)


def _plain_values(t):
    """Flat tuple of Python values of a plain-typed, well-formed tensor, else None."""
    dt = t.data_type
    code = _STRUCT.get(dt)
    if code is None or t.HasField("segment") or t.data_location == 1:
        return None
    n = math.prod(t.dims)
    if t.HasField("raw_data"):
        raw = t.raw_data
        if len(raw) != n * ITEMSIZE[dt]:
            return None
        return struct.unpack(f"<{n}{code}", raw)
    data = getattr(t, _FIELD[dt])
    if len(data) != n:
        return None
    if dt in (1, 6, 7, 11, 13):  # stored as the type itself (float_data holds float32 values)
        return tuple(data)
    if dt == 10:  # float16 bits in int32_data
        return struct.unpack(f"<{n}e", struct.pack(f"<{n}H", *(v & 0xFFFF for v in data)))
    if dt == 9:  # uint8 bytes viewed as bool
        return tuple(bool(v & 0xFF) for v in data)
    bits, signed = _WRAP[dt]
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    out = []
    for v in data:
        v &= mask
        out.append(v - (1 << bits) if signed and v >= half else v)
    return tuple(out)


def tensor_values(t):
    """The flat tuple of a tensor's values, as ``onnx.numpy_helper.to_array(t).reshape(-1)``
    gives them (each ``.item()``); exceptions as that function raises them."""
    vals = _plain_values(t)
    if vals is not None:
        return vals
    from onnx import numpy_helper

    arr = numpy_helper.to_array(t)
    return tuple(x.item() if hasattr(x, "item") else x for x in arr.reshape(-1))
