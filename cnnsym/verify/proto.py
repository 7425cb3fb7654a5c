"""The few ONNX protobuf helpers verify needs, on the generated message classes
(``frontends._onnxpb``) rather than the ``onnx`` package, whose import (``ml_dtypes`` through
``onnx.helper``) costs more than a whole resnet18 shape check. Messages built here are the
classes ``onnx`` itself uses, so onnxruntime reads them unchanged."""
from __future__ import annotations

import math

import numpy as np

from ..frontends._onnxpb import ITEMSIZE, proto

EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
FLOAT_TYPES = (1, 10, 11, 16)  # float, float16, double, bfloat16
NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
            10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
ONNX_TYPES = {np.dtype(v): k for k, v in NP_TYPES.items()}


def load(path: str):
    """The ModelProto in ``path``, external data not loaded."""
    m = proto().ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    return m


def copy(model):
    m = proto().ModelProto()
    m.CopyFrom(model)
    return m


def tensor(name: str, arr: np.ndarray):
    """A TensorProto holding ``arr`` (raw little-endian data, as numpy_helper.from_array)."""
    arr = np.asarray(arr)
    t = proto().TensorProto()
    t.name = name
    t.dims.extend(int(d) for d in arr.shape)
    t.data_type = ONNX_TYPES[arr.dtype]
    t.raw_data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    return t


def zeros(name: str, dims, data_type: int):
    """A TensorProto of zeros of any fixed-size type (bfloat16 and the 8-bit floats included)."""
    t = proto().TensorProto()
    t.name = name
    t.dims.extend(int(d) for d in dims)
    t.data_type = data_type
    t.raw_data = bytes(ITEMSIZE.get(data_type, 4) * math.prod(int(d) for d in dims))
    return t


def node(op_type: str, inputs, outputs, name: str = "", attributes=(), domain: str = "", **ints):
    """A NodeProto; ``attributes``: AttributeProtos to copy; ``ints``: int or int-list attributes."""
    n = proto().NodeProto()
    n.op_type = op_type
    n.input.extend(inputs)
    n.output.extend(outputs)
    if name:
        n.name = name
    if domain:
        n.domain = domain
    n.attribute.extend(attributes)
    for key, v in ints.items():
        a = n.attribute.add()
        a.name = key
        if isinstance(v, (list, tuple)):
            a.type = proto().AttributeProto.INTS
            a.ints.extend(int(x) for x in v)
        else:
            a.type = proto().AttributeProto.INT
            a.i = int(v)
    return n


def value_info(name: str):
    v = proto().ValueInfoProto()
    v.name = name
    return v
