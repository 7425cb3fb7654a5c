"""ONNX files -> Graph, one node per node. Weights are never read: initializer shapes
come from their dims; only small tensors (shape arithmetic, axes, scales) have their
contents read."""
from __future__ import annotations

import mmap
import os
import re

from ..errors import InputError
from ..graph import FLOAT_TYPES, Graph, GraphInput, Initializer, Node, Subgraph
from ..symbolic import as_expr, dim_symbol
from . import _onnxdec
from ._onnxpb import ITEMSIZE, expected_itemsize, newest_opset_at_least, proto, tensor_values
from ._onnxwire import lean_bytes
from ._scopes import assign_modules

SMALL = 64  # contents of integer tensors up to this many elements are read (shape arithmetic)
SMALL_FLOAT = 8  # float contents matter for scales, roi, clip bounds: never for weights
MAX_DIM = 2**62
SUB_BYTE_OR_STRING = {8, 22, 21, 23, 24, 25}  # string, int4/uint4, float4 and friends

EXTERNAL = 1  # TensorProto.EXTERNAL
# raw_data of these types may be skipped before parsing: each has a fixed item size, so the
# byte-count check below still sees the true length (see _onnxwire)
STRIPPABLE = frozenset(ITEMSIZE) - SUB_BYTE_OR_STRING
# the wire walk costs ~2 us per graph field in Python; parsing costs ~1-2 ms per MB: on a
# 10 MB, 14,000-field graph the walk loses, on a 100 MB ResNet-50 it saves 0.15-0.3 s
LEAN_MIN_BYTES = 16 << 20
DEFAULT_AXIS_NAMES = {1: ("N",), 2: ("N", "C"), 3: ("N", "C", "L"), 4: ("N", "C", "H", "W"),
                      5: ("N", "C", "D", "H", "W")}


def sanitize(name: str) -> str:
    s = re.sub(r"\W", "_", name)
    if not s or s[0].isdigit():
        s = "d_" + s
    return s


def _tensor_contents(t, path):
    try:
        vals = tensor_values(t)
    except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
        raise InputError(path, f"tensor {t.name!r} cannot be decoded: {str(e).splitlines()[0]}")
    return tuple(as_expr(x) for x in vals)


def _expected_bytes(t):
    return expected_itemsize(t.data_type)


def read_tensor(t, path, folder, *, check_external=True, raw_len=None) -> Initializer:
    """``raw_len``: length of a ``raw_data`` field stripped before parsing (see _onnxwire)."""
    dims = tuple(int(d) for d in t.dims)
    if any(d < 0 for d in dims):
        raise InputError(path, f"initializer {t.name!r} has a negative dim {dims}")
    init = Initializer(t.name, dims, t.data_type)
    if t.data_location == EXTERNAL:
        init.external = True
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        if not loc:
            raise InputError(path, f"initializer {t.name!r} has external data with no location")
        if os.path.isabs(loc) or loc.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", loc):
            raise InputError(path, f"initializer {t.name!r}: external data location {loc!r} is an absolute path; refused")
        full = os.path.normpath(os.path.join(folder, loc))
        base = os.path.normpath(folder)
        if os.path.commonpath([full, base]) != base:
            raise InputError(path, f"initializer {t.name!r}: external data location {loc!r} escapes the model's folder; refused")
        if not os.path.exists(full):
            init.data_missing = True
        return init
    n = init.numel
    if raw_len is None:
        raw_len = len(t.raw_data)
    has_data = bool(raw_len) or any(len(getattr(t, f)) for f in
                                        ("float_data", "int32_data", "int64_data", "double_data",
                                         "uint64_data", "string_data"))
    if not has_data and n > 0:
        init.data_missing = True
        return init
    if raw_len and t.data_type not in SUB_BYTE_OR_STRING:
        item = _expected_bytes(t)
        if item and raw_len != n * item:
            raise InputError(path, f"initializer {t.name!r} holds {raw_len} bytes but its dims {dims} need {n * item}")
    if t.data_type not in FLOAT_TYPES and n <= SMALL:
        init.value = _tensor_contents(t, path)
    elif n <= SMALL_FLOAT:  # scales, roi, clip bounds; biases too, so decoded only on demand
        init.pending = lambda t=t: _tensor_contents(t, path)
    return init


def attr_value(a, path, folder):
    A = _onnxdec.AttributeProto  # the AttributeType numbers (the same as protobuf's class)
    t = a.type
    if t == A.INT:
        return int(a.i)
    if t == A.FLOAT:
        return float(a.f)
    if t == A.STRING:
        return a.s.decode("utf-8", "replace")
    if t == A.INTS:
        return [int(x) for x in a.ints]
    if t == A.FLOATS:
        return [float(x) for x in a.floats]
    if t == A.STRINGS:
        return [s.decode("utf-8", "replace") for s in a.strings]
    if t == A.TENSOR:
        return read_tensor(a.t, path, folder)
    if t in (A.GRAPH, A.GRAPHS):
        return _Subgraph()
    return None


_Subgraph = Subgraph  # control-flow bodies are not analysed (the node becomes unaccounted)


def _decode(path):
    """The file's ModelProto, weights included."""
    return _read(path, lean=False)[0]


def _decode_lean(path):
    """The file's ModelProto without big ``raw_data`` fields of initializers, and
    ``{initializer index: raw_data length}`` of those (cnnsym/frontends/_onnxwire.py); for a
    small file, the light ModelProto of cnnsym/frontends/_onnxdec.py when it models the file."""
    return _read(path, lean=True)


def _read(path, *, lean):
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror.lower() if e.strerror else e}")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, not an ONNX file")
    if size == 0:
        raise InputError(path, "empty file, not an ONNX model")
    with open(path, "rb") as f:
        if path.endswith(TEXT_SUFFIXES):
            return _parse_text(path, f.read()), {}
        stripped = None
        if lean and size >= LEAN_MIN_BYTES:
            try:
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                mm = None
            if mm is not None:
                with mm:
                    stripped = lean_bytes(mm, proto(), STRIPPABLE)
        if stripped is None:
            f.seek(0)
            data, raw_sizes = f.read(), {}
        else:
            data, raw_sizes = stripped
    model = _onnxdec.decode(data) if lean and not raw_sizes else None  # small files: no protobuf
    if model is not None:
        if model.ir_version <= 0 or not model.HasField("graph"):
            raise InputError(path, "not an ONNX model (no IR version or no graph)")
        return model, raw_sizes
    from google.protobuf.message import DecodeError

    try:
        model = proto().ModelProto()
        model.ParseFromString(data)
    except DecodeError:
        raise InputError(path, "not an ONNX model (protobuf decoding failed: truncated or not a model file)")
    except (ValueError, RuntimeError) as e:
        raise InputError(path, f"not an ONNX model ({str(e).splitlines()[0]})")
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise InputError(path, "not an ONNX model (no IR version or no graph)")
    return model, raw_sizes


TEXT_SUFFIXES = (".onnxtxt", ".onnx.txt")


def _parse_text(path, data):
    """The ONNX text format (onnx.parser), reviewable in fixtures."""
    import onnx.parser

    try:
        model = onnx.parser.parse_model(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; expected the ONNX text format")
    except Exception as e:  # noqa: BLE001 - the parser raises its own error types
        raise InputError(path, f"ONNX text format does not parse: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if not model.HasField("graph"):
        raise InputError(path, "ONNX text format: no graph")
    return model


def _dims_of(vi):
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    out = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return tuple(out)


def load(path: str) -> Graph:
    path = str(path)
    model, raw_sizes = _decode_lean(path)
    folder = os.path.dirname(os.path.abspath(path))
    g = model.graph
    opsets = {}
    for o in model.opset_import:
        opsets[o.domain or ""] = int(o.version)
    if "" not in opsets and "ai.onnx" not in opsets:
        opsets[""] = 1 if not model.opset_import else 21
    v = opsets.get("", opsets.get("ai.onnx"))
    newest = newest_opset_at_least(v)
    if v > newest:
        raise InputError(path, f"opset {v} is newer than the newest this onnx release knows ({newest})")
    graph = Graph(path, [], [o.name for o in g.output], [], {}, opsets, producer=model.producer_name)
    if v < 7:
        graph.warnings.append(f"opset {v} is older than 7; ops follow their opset-7+ semantics")
    for i, t in enumerate(g.initializer):
        graph.initializers[t.name] = read_tensor(t, path, folder, raw_len=raw_sizes.get(i))
    for t in g.sparse_initializer:
        dims = tuple(int(d) for d in t.dims)
        graph.initializers[t.values.name or t.indices.name] = Initializer(t.values.name, dims, t.values.data_type)
    seen_inputs = set()
    for i, vi in enumerate(g.input):
        if vi.name in graph.initializers:
            continue
        if vi.name in seen_inputs:
            raise InputError(path, f"graph input {vi.name!r} is declared twice")
        seen_inputs.add(vi.name)
        if not vi.type.HasField("tensor_type"):
            raise InputError(path, f"graph input {vi.name!r} is not a tensor (sequences and maps are not supported)")
        dims = _dims_of(vi)
        if dims is None:
            raise InputError(path, f"graph input {vi.name!r} has no shape; give one with --input {vi.name}=NxCxHxW")
        graph.inputs.append(_graph_input(vi.name, dims, vi.type.tensor_type.elem_type, path))
    _uniquify_defaults(graph)
    for vi in list(g.value_info) + list(g.output):
        if vi.type.HasField("tensor_type"):
            dims = _dims_of(vi)
            graph.declared[vi.name] = (dims, vi.type.tensor_type.elem_type)
    for o in g.output:
        if o.type.HasField("tensor_type"):
            graph.output_dtypes[o.name] = o.type.tensor_type.elem_type
    produced = set()
    for idx, n in enumerate(g.node):
        attrs = {a.name: attr_value(a, path, folder) for a in n.attribute}
        name = n.name or f"{n.op_type}_{idx}"
        node = Node(n.op_type, name, list(n.input), list(n.output), attrs, n.domain or "", idx)
        for o in n.output:
            if not o:
                continue
            if o in produced:
                raise InputError(path, f"tensor {o!r} is produced by more than one node (second: {name!r})")
            if o in graph.initializers or o in seen_inputs:
                raise InputError(path, f"node {name!r} overwrites graph input or initializer {o!r}")
            produced.add(o)
        graph.nodes.append(node)
    if not graph.nodes:
        raise InputError(path, "the graph has no nodes")
    assign_modules(graph, g.node)  # module paths from the exporter's scopes (frontends/_scopes.py)
    return graph


def _graph_input(name, dims, dtype, path):
    defaults = DEFAULT_AXIS_NAMES.get(len(dims), ())
    shape, names, defaulted = [], [], set()
    for ax, d in enumerate(dims):
        if isinstance(d, int):
            if d < 0:
                raise InputError(path, f"graph input {name!r} has a negative dim {d} on axis {ax}")
            if d == 0:
                raise InputError(path, f"graph input {name!r} has a zero dim on axis {ax}")
            if d > MAX_DIM:
                raise InputError(path, f"graph input {name!r} dim {d} on axis {ax} is too large")
            shape.append(as_expr(d))
            names.append(None)
        else:
            sym = sanitize(d) if isinstance(d, str) else (defaults[ax] if ax < len(defaults) else f"d{ax}")
            shape.append(dim_symbol(sym))
            names.append(sym)
            if not isinstance(d, str):
                defaulted.add(ax)
    return GraphInput(name, tuple(shape), dtype, tuple(names), frozenset(defaulted))


def _uniquify_defaults(graph):
    """With several inputs, default (unnamed) dims get the input's index as a suffix."""
    if len(graph.inputs) < 2:
        return
    for k, gi in enumerate(graph.inputs[1:], start=1):
        shape, names = list(gi.shape), list(gi.axis_names)
        for ax, nm in enumerate(names):
            if ax in gi.defaulted:
                names[ax] = f"{nm}{k}"
                shape[ax] = dim_symbol(names[ax])
        gi.shape, gi.axis_names = tuple(shape), tuple(names)
