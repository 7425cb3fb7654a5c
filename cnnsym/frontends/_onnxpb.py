"""The ONNX protobuf classes without importing the ``onnx`` package.

``import onnx`` costs about 0.6 s, most of it spent importing ``ml_dtypes`` (through
``onnx.helper``), which reading a model does not need. The message classes live in the
generated module ``onnx/onnx_ml_pb2.py``, which imports only ``google.protobuf``. This module
builds what that file builds, without running ``onnx/__init__.py``: with upb's pool and
metaclass directly when the file has the shape protoc generates (see ``_build_from_source``:
google.protobuf's pure-Python layer is then not imported at all), else by executing the file
by path under a private module name.

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
        with open(path, encoding="utf-8") as f:
            mod = _build_from_source(f.read())
        if mod is not None:
            return mod
        mspec = importlib.util.spec_from_file_location("_cnnsym_onnx_ml_pb2", path)
        if mspec is None or mspec.loader is None:
            return None
        mod = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(mod)
        return mod
    except Exception:  # noqa: BLE001 - any surprise: use the onnx package instead
        return None


# What the generated module does, statement by statement, when it has exactly this shape (protoc
# >= 5.26 with the upb runtime): check the runtime version, add the serialized file to the
# default pool, then protobuf's builder makes the descriptors and classes. Executing it imports
# google.protobuf's pure-Python layer (descriptor_pool, symbol_database, builder and with them
# python_message, text_format, the decoder and encoder: ~0.011 s of a report's start-up), none
# of which the upb classes use. _build_from_source does the same three steps with upb's own
# pool and metaclass; any other shape of the file (an extra import, another builder call)
# returns None and the module is executed as before. A test checks that the
# result holds the very objects the generated module yields (tests/test_onnx_pb_upb.py).
#
# The generated file's statements, one per line once the version check's arguments are joined;
# {...} marks the parts that vary. Comments and blank lines are skipped; after the
# _USE_C_DESCRIPTORS line only that block's indented lines and comments may follow (that block
# runs only with the pure-Python runtime).
GENERATED_SHAPE = (
    '"""Generated protocol buffer code."""',
    "from google.protobuf import descriptor as _descriptor",
    "from google.protobuf import descriptor_pool as _descriptor_pool",
    "from google.protobuf import runtime_version as _runtime_version",
    "from google.protobuf import symbol_database as _symbol_database",
    "from google.protobuf.internal import builder as _builder",
    "_runtime_version.ValidateProtobufRuntimeVersion({version})",
    "_sym_db = _symbol_database.Default()",
    "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile({file})",
    "_globals = globals()",
    "_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)",
    "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, {module}, _globals)",
    "if not _descriptor._USE_C_DESCRIPTORS:",
)


def _generated_parts(src):
    """{"version": (domain, major, minor, patch, suffix, location), "file": bytes, "module": str}
    when ``src`` has exactly the shape above, else None."""
    import ast

    lines = iter(src.splitlines())
    statements = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        if line.endswith("(") and line.startswith("_runtime_version."):  # arguments on their own lines
            parts = [line]
            for more in lines:
                parts.append(more.strip())
                if more.strip() == ")":
                    break
            line = parts[0] + " ".join(parts[1:-1]) + ")"
        statements.append(line)
        if line == GENERATED_SHAPE[-1]:
            break
    if len(statements) != len(GENERATED_SHAPE):
        return None
    for line in lines:
        if line.strip() and not line.startswith((" ", "#")):
            return None
    got = {}
    for line, shape in zip(statements, GENERATED_SHAPE):
        head, sep, tail = shape.partition("{")
        if not sep:
            if line != shape:
                return None
            continue
        key, _, tail = tail.partition("}")
        if not (line.startswith(head) and line.endswith(tail) and len(line) > len(head) + len(tail)):
            return None
        text = line[len(head):len(line) - len(tail)]
        try:
            if key == "version":
                domain, *rest = [x.strip() for x in text.split(",")]
                if not domain.startswith("_runtime_version.Domain.") or len(rest) != 5:
                    return None
                value = (domain.rpartition(".")[2], *(ast.literal_eval(x) for x in rest))
                if not (all(type(x) is int for x in value[1:4]) and all(type(x) is str for x in value[4:])):
                    return None
            else:
                value = ast.literal_eval(text)
                if type(value) is not (bytes if key == "file" else str):
                    return None
        except (ValueError, SyntaxError):
            return None
        got[key] = value
    return got


def _build_from_source(src):
    """The generated module's namespace built with upb directly, or None (see above)."""
    parts = _generated_parts(src)
    if parts is None:
        return None
    import types

    from google._upb import _message as upb
    from google.protobuf import message as pb_message
    from google.protobuf import runtime_version
    from google.protobuf.internal import enum_type_wrapper
    from google.protobuf.pyext.cpp_message import GeneratedProtocolMessageType

    domain, *version = parts["version"]
    runtime_version.ValidateProtobufRuntimeVersion(runtime_version.Domain[domain], *version)
    module_name = parts["module"]
    ns = types.ModuleType("_cnnsym_onnx_ml_pb2", "Generated protocol buffer code.")
    g = ns.__dict__
    fd = g["DESCRIPTOR"] = upb.default_pool.AddSerializedFile(parts["file"])

    def descriptors(msg, prefix):  # builder.BuildMessageAndEnumDescriptors
        for name, nested in msg.nested_types_by_name.items():
            g[prefix + name.upper()] = nested
            descriptors(nested, prefix + name.upper() + "_")
        for enum in msg.enum_types:
            g[prefix + enum.name.upper()] = enum

    for name, msg in fd.message_types_by_name.items():
        g["_" + name.upper()] = msg
        descriptors(msg, "_" + name.upper() + "_")

    def message(msg, prefix):  # builder._BuildMessage (with upb, reflection's metaclass is this one)
        body = {name: message(nested, prefix + msg.name + ".") for name, nested in msg.nested_types_by_name.items()}
        body.update(DESCRIPTOR=msg, __module__=module_name, __qualname__=prefix + msg.name)
        return GeneratedProtocolMessageType(msg.name, (pb_message.Message,), body)

    # builder.BuildTopDescriptorsAndMessages
    for name, enum in fd.enum_types_by_name.items():
        g["_" + name.upper()] = enum
        g[name] = enum_type_wrapper.EnumTypeWrapper(enum)
        for value in enum.values:
            g[value.name] = value.number
    if fd.extensions_by_name or fd.services_by_name:
        return None
    for name, msg in fd.message_types_by_name.items():
        g[name] = message(msg, "")
    return ns


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
    raw = getattr(t, "_raw", None)  # a light TensorProto (cnnsym/frontends/_onnxdec.py): its own bytes
    if raw is not None:
        t = proto().TensorProto()
        t.ParseFromString(raw)
    from onnx import numpy_helper

    arr = numpy_helper.to_array(t)
    return tuple(x.item() if hasattr(x, "item") else x for x in arr.reshape(-1))
