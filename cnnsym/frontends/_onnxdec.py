"""A small decoder of ONNX files for the fields the ONNX frontend reads, without protobuf.

A report of a small model spent ~5 ms importing protobuf's upb runtime and building the ONNX
message classes (issue 12), more than decoding the file takes in Python. :func:`decode`
returns light objects with the attribute names, defaults and ``HasField`` of the generated
classes (onnx/onnx-ml.proto, proto2) for every field :mod:`cnnsym.frontends.onnx` and
:mod:`cnnsym.frontends._scopes` read, or ``None`` whenever the file holds anything it does not
model exactly -- then the caller parses with protobuf as before, so errors and exotic content
are protobuf's:

- a field of the schema that is not modelled here (subgraphs, functions, training info,
  sequence/map/optional/sparse types, quantization annotations, ...), a singular message
  field given twice (protobuf would merge them), a wire type other than the field's (protobuf
  would keep it as an unknown field), an enum value outside the enum (proto2 would too), a
  string that is not UTF-8, a group, a truncated or overlong field;
- a light ``TensorProto`` keeps its own bytes (``_raw``): when its values must be decoded by
  ``onnx.numpy_helper``, ``_onnxpb.tensor_values`` parses them with protobuf.

Field numbers and types are written here (reading the descriptors would need protobuf);
tests/test_onnx_decoder.py checks every table against the generated descriptors and compares
the decoded objects field by field with protobuf's parse of every model in fixtures/ and
../shared/models.
"""
from __future__ import annotations

import struct

MAX_BYTES = 256 << 10  # larger files: protobuf's C parser is faster than the import it costs


class _Bail(Exception):
    pass


class Message:
    """Fields set on the wire live in the instance; defaults are class attributes."""

    _schema: dict = {}
    _raw = None

    def HasField(self, name):  # noqa: N802 - protobuf's name
        return name in self.__dict__


# kinds: "i64" int64, "i32" int32, "u64" uint64, "f32" float, "f64" double, "str", "bytes",
# ("enum", values), a Message subclass; None: a field of the schema not modelled (bail)
def _msg(name, fields, repeated=(), oneofs=()):
    """A Message subclass: fields {number: (name, kind)}; ``repeated`` names; ``oneofs``
    tuples of names of which setting one clears the others."""
    defaults = {}
    for _, (fname, kind) in fields.items():
        if kind is None:
            continue
        if fname in repeated:
            defaults[fname] = ()
        elif kind in ("i64", "i32", "u64") or isinstance(kind, tuple):
            defaults[fname] = 0
        elif kind in ("f32", "f64"):
            defaults[fname] = 0.0
        elif kind == "str":
            defaults[fname] = ""
        elif kind == "bytes":
            defaults[fname] = b""
    cls = type(name, (Message,), defaults)
    cls._fields = fields
    cls._repeated = frozenset(repeated)
    cls._oneof = {n: tuple(x for x in group if x != n) for group in oneofs for n in group}
    return cls


def _finish(cls):
    """Message-typed defaults once every class exists (an empty message, as protobuf reads)."""
    for _, (fname, kind) in cls._fields.items():
        if isinstance(kind, type) and fname not in cls._repeated:
            setattr(cls, fname, kind())


StringStringEntryProto = _msg("StringStringEntryProto", {1: ("key", "str"), 2: ("value", "str")})
OperatorSetIdProto = _msg("OperatorSetIdProto", {1: ("domain", "str"), 2: ("version", "i64")})
Segment = _msg("Segment", {1: ("begin", "i64"), 2: ("end", "i64")})
TensorProto = _msg("TensorProto", {
    1: ("dims", "i64"), 2: ("data_type", "i32"), 3: ("segment", Segment), 4: ("float_data", "f32"),
    5: ("int32_data", "i32"), 6: ("string_data", "bytes"), 7: ("int64_data", "i64"), 8: ("name", "str"),
    12: ("doc_string", "str"), 9: ("raw_data", "bytes"), 13: ("external_data", StringStringEntryProto),
    14: ("data_location", ("enum", frozenset({0, 1}))), 10: ("double_data", "f64"), 11: ("uint64_data", "u64"),
    16: ("metadata_props", StringStringEntryProto)},
    repeated=("dims", "float_data", "int32_data", "string_data", "int64_data", "external_data", "double_data",
              "uint64_data", "metadata_props"))
SparseTensorProto = _msg("SparseTensorProto", {1: ("values", TensorProto), 2: ("indices", TensorProto),
                                               3: ("dims", "i64")}, repeated=("dims",))
Dimension = _msg("Dimension", {1: ("dim_value", "i64"), 2: ("dim_param", "str"), 3: ("denotation", "str")},
                 oneofs=(("dim_value", "dim_param"),))
TensorShapeProto = _msg("TensorShapeProto", {1: ("dim", Dimension)}, repeated=("dim",))
TypeTensor = _msg("Tensor", {1: ("elem_type", "i32"), 2: ("shape", TensorShapeProto)})
TypeProto = _msg("TypeProto", {1: ("tensor_type", TypeTensor), 4: ("sequence_type", None), 5: ("map_type", None),
                               9: ("optional_type", None), 8: ("sparse_tensor_type", None),
                               7: ("opaque_type", None), 6: ("denotation", "str")})
ValueInfoProto = _msg("ValueInfoProto", {1: ("name", "str"), 2: ("type", TypeProto), 3: ("doc_string", "str"),
                                         4: ("metadata_props", StringStringEntryProto)},
                      repeated=("metadata_props",))
# attribute types (AttributeProto.AttributeType; checked against onnx by the test)
ATTRIBUTE_TYPES = frozenset(range(15))
AttributeProto = _msg("AttributeProto", {
    1: ("name", "str"), 21: ("ref_attr_name", "str"), 13: ("doc_string", "str"),
    20: ("type", ("enum", ATTRIBUTE_TYPES)), 2: ("f", "f32"), 3: ("i", "i64"), 4: ("s", "bytes"),
    5: ("t", TensorProto), 6: ("g", None), 22: ("sparse_tensor", None), 14: ("tp", None), 7: ("floats", "f32"),
    8: ("ints", "i64"), 9: ("strings", "bytes"), 10: ("tensors", TensorProto), 11: ("graphs", None),
    23: ("sparse_tensors", None), 15: ("type_protos", None)},
    repeated=("floats", "ints", "strings", "tensors", "graphs", "sparse_tensors", "type_protos"))
NodeProto = _msg("NodeProto", {
    1: ("input", "str"), 2: ("output", "str"), 3: ("name", "str"), 4: ("op_type", "str"), 7: ("domain", "str"),
    8: ("overload", "str"), 5: ("attribute", AttributeProto), 6: ("doc_string", "str"),
    9: ("metadata_props", StringStringEntryProto), 10: ("device_configurations", None)},
    repeated=("input", "output", "attribute", "metadata_props", "device_configurations"))
GraphProto = _msg("GraphProto", {
    1: ("node", NodeProto), 2: ("name", "str"), 5: ("initializer", TensorProto),
    15: ("sparse_initializer", SparseTensorProto), 10: ("doc_string", "str"), 11: ("input", ValueInfoProto),
    12: ("output", ValueInfoProto), 13: ("value_info", ValueInfoProto), 14: ("quantization_annotation", None),
    16: ("metadata_props", StringStringEntryProto)},
    repeated=("node", "initializer", "sparse_initializer", "input", "output", "value_info", "metadata_props",
              "quantization_annotation"))
ModelProto = _msg("ModelProto", {
    1: ("ir_version", "i64"), 8: ("opset_import", OperatorSetIdProto), 2: ("producer_name", "str"),
    3: ("producer_version", "str"), 4: ("domain", "str"), 5: ("model_version", "i64"), 6: ("doc_string", "str"),
    7: ("graph", GraphProto), 14: ("metadata_props", StringStringEntryProto), 20: ("training_info", None),
    25: ("functions", None), 26: ("configuration", None)},
    repeated=("opset_import", "metadata_props", "training_info", "functions", "configuration"))

# AttributeProto.AttributeType, as the generated class names them
for _i, _n in enumerate(("UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS",
                         "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS")):
    setattr(AttributeProto, _n, _i)
del _i, _n

MESSAGES = (StringStringEntryProto, OperatorSetIdProto, Segment, TensorProto, SparseTensorProto, Dimension,
            TensorShapeProto, TypeTensor, TypeProto, ValueInfoProto, AttributeProto, NodeProto, GraphProto,
            ModelProto)
for _c in MESSAGES:
    _finish(_c)
del _c

_WIRE = {"i64": 0, "i32": 0, "u64": 0, "f32": 5, "f64": 1, "str": 2, "bytes": 2}
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


def _varint(buf, i, end):
    b = buf[i] if i < end else -1
    if 0 <= b < 0x80:
        return b, i + 1
    result = shift = 0
    while True:
        if i >= end or shift >= 64:
            raise _Bail
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if result >> 64:
                raise _Bail
            return result, i
        shift += 7


def _scalar(kind, v):
    if kind == "i64":
        return v - (1 << 64) if v >> 63 else v
    if kind == "i32" or isinstance(kind, tuple):
        v &= 0xFFFFFFFF
        v = v - (1 << 32) if v >> 31 else v
        if isinstance(kind, tuple) and v not in kind[1]:
            raise _Bail  # proto2: an unknown enum value is not the field's value
        return v
    return v  # u64


def _skip(buf, i, end, wt):
    if wt == 0:
        return _varint(buf, i, end)[1]
    if wt == 1:
        i += 8
    elif wt == 5:
        i += 4
    elif wt == 2:
        n, i = _varint(buf, i, end)
        i += n
    else:
        raise _Bail  # groups (3, 4) and invalid wire types
    if i > end:
        raise _Bail
    return i


def _parse(cls, buf, start, end):
    obj = cls()
    d = obj.__dict__
    fields, repeated, oneof = cls._fields, cls._repeated, cls._oneof
    i = start
    while i < end:
        key, i = _varint(buf, i, end)
        num, wt = key >> 3, key & 7
        spec = fields.get(num)
        if num == 0:
            raise _Bail
        if spec is None:  # not in the schema: an unknown field, kept aside by protobuf
            i = _skip(buf, i, end, wt)
            continue
        name, kind = spec
        if kind is None:
            raise _Bail
        if isinstance(kind, type):
            if wt != 2:
                raise _Bail
            n, i = _varint(buf, i, end)
            if i + n > end:
                raise _Bail
            sub = _parse(kind, buf, i, i + n)
            i += n
            if name in repeated:
                d.setdefault(name, []).append(sub)
            else:
                if name in d:
                    raise _Bail  # protobuf merges a repeated singular message
                d[name] = sub
            continue
        if kind in ("str", "bytes"):
            if wt != 2:
                raise _Bail
            n, i = _varint(buf, i, end)
            if i + n > end:
                raise _Bail
            v = bytes(buf[i:i + n])
            i += n
            if kind == "str":
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    raise _Bail from None
        else:
            want = 0 if isinstance(kind, tuple) else _WIRE[kind]
            if wt == 2 and name in repeated and want != 2:  # packed
                n, i = _varint(buf, i, end)
                stop = i + n
                if stop > end:
                    raise _Bail
                out = d.setdefault(name, [])
                if want == 0:
                    while i < stop:
                        v, i = _varint(buf, i, stop)
                        out.append(_scalar(kind, v))
                else:
                    st = _F32 if want == 5 else _F64
                    if n % st.size:
                        raise _Bail
                    out.extend(x[0] for x in st.iter_unpack(bytes(buf[i:stop])))
                    i = stop
                continue
            if wt != want:
                raise _Bail
            if want == 0:
                v, i = _varint(buf, i, end)
                v = _scalar(kind, v)
            else:
                st = _F32 if want == 5 else _F64
                if i + st.size > end:
                    raise _Bail
                v = st.unpack_from(buf, i)[0]
                i += st.size
        if name in repeated:
            d.setdefault(name, []).append(v)
        else:
            for other in oneof.get(name, ()):
                d.pop(other, None)
            d[name] = v
    if i != end:
        raise _Bail
    if cls is TensorProto:
        obj._raw = bytes(buf[start:end])  # for _onnxpb.tensor_values
    return obj


def decode(data):
    """A light ``ModelProto`` of ``data`` (bytes), or None when protobuf must parse it."""
    if len(data) > MAX_BYTES:
        return None
    try:
        return _parse(ModelProto, data, 0, len(data))
    except (_Bail, IndexError, struct.error):
        return None
