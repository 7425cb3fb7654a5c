"""cnnsym/frontends/_onnxdec.py: the light ONNX decoder used for small files (issue 12).

Oracles: the generated protobuf descriptors (onnx/onnx-ml.proto) for the decoder's tables,
and protobuf's own parse (onnx's ModelProto) for the decoded values, compared field by field
over every ONNX file in fixtures/ and ../shared/models; a report of each fixture must be the
same byte for byte with the decoder and with protobuf."""
import glob
import math
import os
import struct
from pathlib import Path

import onnx
import pytest
from google.protobuf.descriptor import FieldDescriptor as FD
from onnx import TensorProto, helper

from cnnsym.frontends import _onnxdec as dec

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "models"
FILES = sorted(glob.glob(str(ROOT / "fixtures" / "**" / "*.onnx"), recursive=True))
SHARED_FILES = sorted(glob.glob(str(SHARED / "**" / "*.onnx"), recursive=True))

REAL = {"StringStringEntryProto": onnx.StringStringEntryProto, "OperatorSetIdProto": onnx.OperatorSetIdProto,
        "Segment": onnx.TensorProto.Segment, "TensorProto": onnx.TensorProto,
        "SparseTensorProto": onnx.SparseTensorProto, "Dimension": onnx.TensorShapeProto.Dimension,
        "TensorShapeProto": onnx.TensorShapeProto, "Tensor": onnx.TypeProto.Tensor, "TypeProto": onnx.TypeProto,
        "ValueInfoProto": onnx.ValueInfoProto, "AttributeProto": onnx.AttributeProto,
        "NodeProto": onnx.NodeProto, "GraphProto": onnx.GraphProto, "ModelProto": onnx.ModelProto}
KIND = {FD.TYPE_INT64: "i64", FD.TYPE_INT32: "i32", FD.TYPE_UINT64: "u64", FD.TYPE_FLOAT: "f32",
        FD.TYPE_DOUBLE: "f64", FD.TYPE_STRING: "str", FD.TYPE_BYTES: "bytes"}


def _repeated(f):
    return f.is_repeated


@pytest.mark.parametrize("cls", dec.MESSAGES, ids=lambda c: c.__name__)
def test_tables_match_the_generated_descriptors(cls):
    desc = REAL[cls.__name__].DESCRIPTOR
    assert set(cls._fields) == {f.number for f in desc.fields}, "every field of the schema is listed"
    for f in desc.fields:
        name, kind = cls._fields[f.number]
        assert name == f.name
        assert (name in cls._repeated) == _repeated(f), name
        if kind is not None and not _repeated(f) and f.type != FD.TYPE_MESSAGE:
            assert getattr(cls, name) == f.default_value and type(getattr(cls, name)) is type(f.default_value), name
        if kind is None:
            assert f.type == FD.TYPE_MESSAGE, f"{name}: only message fields are left to protobuf"
        elif f.type == FD.TYPE_MESSAGE:
            assert isinstance(kind, type) and kind.__name__ == f.message_type.name, name
        elif f.type == FD.TYPE_ENUM:
            assert kind[0] == "enum" and kind[1] == {v.number for v in f.enum_type.values}, name
        else:
            assert kind == KIND[f.type], name
    for oneof in desc.oneofs:
        modelled = [f.name for f in oneof.fields if cls._fields[f.number][1] is not None]
        for n in modelled:
            assert set(cls._oneof.get(n, ())) == set(modelled) - {n}, oneof.name


def test_attribute_type_numbers():
    for name, number in onnx.AttributeProto.AttributeType.items():
        assert getattr(dec.AttributeProto, name) == number


def _same_float(a, b, kind):
    fmt = "<f" if kind == "f32" else "<d"
    return struct.pack(fmt, a) == struct.pack(fmt, b) or (math.isnan(a) and math.isnan(b))


def _compare(light, real, where):
    """Every modelled field of ``real`` (protobuf) equals ``light``'s, presence included."""
    cls = type(light)
    assert cls.__name__ == real.DESCRIPTOR.name, where
    for f in real.DESCRIPTOR.fields:
        name, kind = cls._fields[f.number]
        here = f"{where}.{name}"
        if kind is None:  # the decoder returns None for such files: never reached with one present
            assert not (real.ListFields() and any(fd.number == f.number for fd, _ in real.ListFields())), here
            continue
        rv, lv = getattr(real, name), getattr(light, name)
        if _repeated(f):
            assert len(lv) == len(rv), here
            for k, (a, b) in enumerate(zip(lv, rv)):
                if isinstance(kind, type):
                    _compare(a, b, f"{here}[{k}]")
                elif kind in ("f32", "f64"):
                    assert _same_float(a, b, kind), f"{here}[{k}]"
                else:
                    assert type(a) is type(b) and a == b, f"{here}[{k}]"
            continue
        assert light.HasField(name) == real.HasField(name), here
        if isinstance(kind, type):
            _compare(lv, rv, here)
        elif kind in ("f32", "f64"):
            assert _same_float(lv, rv, kind), here
        else:
            assert type(lv) is type(rv) and lv == rv, here
    if cls is dec.TensorProto and "_raw" in vars(light):  # (an unset tensor field reads a shared empty one)
        assert onnx.TensorProto.FromString(light._raw) == real, where


def _check_file(path, monkeypatch):
    monkeypatch.setattr(dec, "MAX_BYTES", 1 << 40)
    data = Path(path).read_bytes()
    light = dec.decode(data)
    try:
        real = onnx.ModelProto.FromString(data)
    except Exception:  # noqa: BLE001 - protobuf refuses it: so must the decoder
        assert light is None, path
        return None
    if light is not None:
        _compare(light, real, os.path.basename(path))
    return light


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_fixtures_decode_as_protobuf_does(path, monkeypatch):
    _check_file(path, monkeypatch)


@pytest.mark.skipif(not SHARED_FILES, reason="../shared/models absent")
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: os.path.relpath(p, SHARED))
def test_shared_models_decode_as_protobuf_does(path, monkeypatch):
    light = _check_file(path, monkeypatch)
    assert light is not None, "a real exported model is decoded, not left to protobuf"


def test_most_fixtures_are_decoded(monkeypatch):
    monkeypatch.setattr(dec, "MAX_BYTES", 1 << 40)
    decoded = [p for p in FILES if dec.decode(Path(p).read_bytes()) is not None]
    assert len(decoded) >= len(FILES) - 4, sorted(set(FILES) - set(decoded))  # the bad/ files that do not parse


def _model(nodes, inputs, outputs, inits=(), **kw):
    return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, list(inits)), **kw)


def test_edge_cases_against_protobuf(monkeypatch):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, -1, 0])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.INT64, [3], [-1, 2**62, -(2**63)])
    f = helper.make_tensor("f", TensorProto.FLOAT, [2], [float("nan"), -0.0])
    i8 = helper.make_tensor("i8", TensorProto.INT8, [2], [-128, 127])
    node = helper.make_node("Foo", ["x", "w"], ["y"], domain="d", alpha=-1.5, n=-3, ns=[-1, 0, 2**40], s="é",
                            fs=[0.1, -2.0], t=f)
    m = _model([node], [x], [y], [w, f, i8])
    m.metadata_props.add(key="k", value="v")
    data = m.SerializeToString()
    light = dec.decode(data)
    assert light is not None
    _compare(light, onnx.ModelProto.FromString(data), "edge")
    dim = m.graph.input[0].type.tensor_type.shape.dim[0]
    # a oneof set twice on the wire: the last one wins, the first is cleared
    both = dim.SerializeToString() + onnx.TensorShapeProto.Dimension(dim_value=7).SerializeToString()
    got = dec._parse(dec.Dimension, both, 0, len(both))
    assert got.HasField("dim_value") and not got.HasField("dim_param") and got.dim_value == 7
    assert onnx.TensorShapeProto.Dimension.FromString(both).dim_value == 7


@pytest.mark.parametrize("case", ["truncated", "subgraph", "graph twice", "not utf-8", "group", "unknown enum",
                                  "sequence input", "functions"])
def test_what_it_does_not_model_is_left_to_protobuf(case):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [x], [y])
    data = m.SerializeToString()
    if case == "truncated":
        data = data[:-3]
    elif case == "subgraph":
        body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "b", [], [y])
        m.graph.node.append(helper.make_node("If", ["c"], ["z"], then_branch=body, else_branch=body))
        data = m.SerializeToString()
    elif case == "graph twice":
        data = data + onnx.ModelProto(graph=onnx.GraphProto(name="again")).SerializeToString()
    elif case == "not utf-8":
        m.producer_name = "PRODUCER"
        data = m.SerializeToString().replace(b"PRODUCER", b"PRODUC\xff\xfe")
    elif case == "group":
        data = data + bytes([(9 << 3) | 3, (9 << 3) | 4])  # field 9: not in ModelProto
    elif case == "unknown enum":
        t = helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0])
        raw = t.SerializeToString() + bytes([14 << 3, 7])  # data_location = 7
        m.graph.initializer.append(onnx.TensorProto.FromString(raw))
        data = m.SerializeToString()
    elif case == "sequence input":
        m.graph.input.append(helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [1]))
        data = m.SerializeToString()
    elif case == "functions":
        m.functions.append(onnx.FunctionProto(name="f", domain="d"))
        data = m.SerializeToString()
    assert dec.decode(data) is None


def test_reports_are_the_same_with_protobuf(monkeypatch):
    """The whole pipeline: every fixture's JSON report, or its one-line error, is the same
    when the decoder reads the file and when protobuf does."""
    import cnnsym

    def run():
        out = {}
        for p in FILES:
            try:
                out[p] = cnnsym.analyze(p).render("json")
            except Exception as e:  # noqa: BLE001
                out[p] = f"{type(e).__name__}: {e}"
        return out

    with_decoder = run()
    monkeypatch.setattr(dec, "decode", lambda data: None)
    assert run() == with_decoder
