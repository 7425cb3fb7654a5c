"""Skip weight bytes before protobuf parsing.

A report needs only each initializer's dims, type and the *length* of its ``raw_data``; the
weight bytes themselves (about 100 MB for ResNet-50) cost a file read and a copy in the parser.
:func:`lean_bytes` walks the protobuf wire format of a memory-mapped file down to
``ModelProto.graph.initializer[i].raw_data`` only, drops every ``raw_data`` field longer than
:data:`MIN_STRIP` bytes, and returns the remaining bytes with ``{initializer index: raw_data
length}``. Pages of the dropped bytes are never touched.

Soundness, for the caller (cnnsym/frontends/onnx.py): parsing the returned bytes gives the
same message as parsing the file, except that the listed initializers have no ``raw_data``;
for those the caller uses the recorded length wherever it used ``len(raw_data)``. Only tensors
of a plain type with a fixed item size (<= 16 bytes) are stripped, so a stripped tensor
either fails the caller's byte-count check (same message, same length) or holds more than
``MIN_STRIP / 16 = 64`` elements, which the caller never decodes. Anything unexpected in the
walked part (a group, a truncated length, an overlong varint) makes :func:`lean_bytes` return
None and the caller parses the whole file as before, so malformed files keep their errors.
Field numbers come from the generated descriptors, not from constants here.
"""
from __future__ import annotations

MIN_STRIP = 1024  # bytes; 64 elements of the widest plain type (complex128) fit below


class _Bail(Exception):
    pass


def _varint(buf, i, end):
    result = shift = 0
    while True:
        if i >= end:
            raise _Bail
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift >= 70:
            raise _Bail


def _enc_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, i, end):
    """(field number, wire type, start of field, start of payload, end of field) of each field."""
    while i < end:
        key, j = _varint(buf, i, end)
        wt = key & 7
        if wt == 0:
            _, k = _varint(buf, j, end)
            payload = j
        elif wt == 2:
            n, payload = _varint(buf, j, end)
            k = payload + n
        elif wt == 1:
            payload, k = j, j + 8
        elif wt == 5:
            payload, k = j, j + 4
        else:  # groups: not used by ONNX
            raise _Bail
        if k > end:
            raise _Bail
        yield key >> 3, wt, i, payload, k
        i = k


class _Numbers:
    def __init__(self, pb):
        m, g, t = pb.ModelProto.DESCRIPTOR, pb.GraphProto.DESCRIPTOR, pb.TensorProto.DESCRIPTOR
        self.graph = m.fields_by_name["graph"].number
        self.initializer = g.fields_by_name["initializer"].number
        self.raw_data = t.fields_by_name["raw_data"].number
        self.data_type = t.fields_by_name["data_type"].number


def _tensor(buf, a, b, num, strippable):
    """Bytes of the tensor in buf[a:b] without its raw_data fields, and the length of the
    last raw_data (the one a parser keeps); None if it is not worth or not safe to strip."""
    dtype, raw = 0, []
    for field, wt, start, payload, end in _fields(buf, a, b):
        if field == num.data_type and wt == 0:
            dtype, _ = _varint(buf, payload, end)
        elif field == num.raw_data and wt == 2:
            raw.append((start, payload, end))
    if not raw or raw[-1][2] - raw[-1][1] <= MIN_STRIP or dtype not in strippable:
        return None
    parts, pos = [], a
    for start, _, end in raw:
        parts.append(buf[pos:start])
        pos = end
    parts.append(buf[pos:b])
    return b"".join(parts), raw[-1][2] - raw[-1][1]


def _graph(buf, a, b, num, strippable, sizes, counter):
    parts, pos = [], a
    for field, wt, start, payload, end in _fields(buf, a, b):
        if field != num.initializer or wt != 2:
            continue
        idx = counter[0]
        counter[0] += 1
        lean = _tensor(buf, payload, end, num, strippable)
        if lean is None:
            continue
        body, sizes[idx] = lean
        parts += [buf[pos:start], _enc_varint((num.initializer << 3) | 2), _enc_varint(len(body)), body]
        pos = end
    if not parts:
        return None
    parts.append(buf[pos:b])
    return b"".join(parts)


def lean_bytes(buf, pb, strippable):
    """``(bytes, {initializer index: raw_data length})`` for ``buf`` (bytes, mmap or
    memoryview of a serialized ModelProto) with big raw_data fields of ``strippable`` types
    removed; None when nothing was removed or the walked structure is not well formed."""
    try:
        num = _Numbers(pb)
        sizes, counter = {}, [0]
        parts, pos, end_all = [], 0, len(buf)
        for field, wt, start, payload, end in _fields(buf, 0, end_all):
            if field != num.graph or wt != 2:
                continue
            lean = _graph(buf, payload, end, num, strippable, sizes, counter)
            if lean is None:
                continue
            parts += [buf[pos:start], _enc_varint((num.graph << 3) | 2), _enc_varint(len(lean)), lean]
            pos = end
        if not sizes:
            return None
        parts.append(buf[pos:end_all])
        return b"".join(parts), sizes
    except (_Bail, KeyError, AttributeError):
        return None
