"""The command line: formats, the documented JSON, --input/--bind, exit codes and one-line
errors on hostile input, and a light start-up (no onnxruntime in `report`)."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import sympy as sp
from click.testing import CliRunner
from onnx import TensorProto as T, helper, numpy_helper

from cnnsym.cli import main

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers
def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_proc(*args, env=None):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    e.pop("CNNSYM_DEBUG", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "cnnsym", *map(str, args)], capture_output=True,
                          text=True, env=e, cwd=str(ROOT), timeout=300)


def parse(s, doc):
    """Shape strings parse with sympify given the report's symbol names (N, S, Q, beta...
    are sympy names, so the symbols are passed as locals, as docs/json.md says)."""
    names = list(doc["symbols"]) + list(doc.get("opaque_symbols", []))
    return sp.sympify(s, locals={n: sp.Symbol(n, integer=True, positive=True) for n in names})


def at(expr, bindings):
    v = expr.subs({sp.Symbol(k, integer=True, positive=True): v for k, v in bindings.items()})
    assert v.is_Integer, (expr, bindings, v)
    return int(v)


def w(name, *shape):
    return numpy_helper.from_array(np.full(shape, 0.1, np.float32), name)


def small_model(path, dims=("batch", 3, "height", "width"), extra_nodes=(), outputs=("y",)):
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="conv1", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["a"], ["y"], name="relu1"),
        *extra_nodes,
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, list(dims))],
                          [helper.make_tensor_value_info(o, T.FLOAT, None) for o in outputs],
                          [w("w1", 8, 3, 3, 3), w("b1", 8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, str(path))
    return str(path)


@pytest.fixture
def model(tmp_path):
    return small_model(tmp_path / "small.onnx")


# --------------------------------------------------------------------------- formats
def test_json_schema_on_a_small_model(model):
    r = run("report", model, "--format", "json", "--bind", "batch=2,height=31,width=17")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 2  # 2: the modules section (issue 10)
    assert doc["convention"] and doc["convention_doc"]["terms"]
    assert doc["symbols"] == {"batch": {"input": "x", "axis": 0}, "height": {"input": "x", "axis": 2},
                              "width": {"input": "x", "axis": 3}}
    assert doc["inputs"] == ["x"] and doc["outputs"] == ["y"]
    assert doc["bindings"] == {"batch": 2, "height": 31, "width": 17}
    assert doc["complete"] is True
    b = doc["bindings"]
    for name in ("a", "y"):
        t = doc["tensors"][name]
        shape = [parse(s, doc) for s in t["shape"]]
        assert [at(d, b) for d in shape] == [2, 8, 16, 9] == t["values"]["shape"]
        assert t["dtype"] == "float32"
        assert at(parse(t["bytes"], doc), b) == t["values"]["bytes"] == 2 * 8 * 16 * 9 * 4
        rf = t["receptive_field"]
        assert rf["axes"] == [2, 3]
        assert [parse(s, doc) for s in rf["size"]] == [3, 3]
        assert [parse(s, doc) for s in rf["stride"]] == [2, 2]
        assert len(rf["offset"]) == 2
    (conv,) = [n for n in doc["nodes"] if n["name"] == "conv1"]
    assert conv["op"] == "Conv" and conv["inputs"] == ["x", "w1", "b1"] and conv["outputs"] == ["a"]
    assert conv["params"] == {"trainable": "224", "buffers": "0", "constants": "0"}
    assert at(parse(conv["macs"], doc), b) == conv["values"]["macs"] == 2 * 8 * 16 * 9 * 27
    assert at(parse(conv["terms"]["bias"], doc), b) == 2 * 8 * 16 * 9
    assert at(parse(conv["flops"], doc), b) == conv["values"]["flops"]
    tot, val = doc["totals"], doc["values"]
    assert set(tot["params"]) == {"trainable", "buffers", "constants", "total"}
    for key in ("macs", "flops", "activation_bytes", "peak_activation_bytes"):
        assert at(parse(tot[key], doc), b) == val[key], key
        assert isinstance(val[key], int)
    assert val["params"]["total"] == 224
    assert {"activation", "bias"} <= set(tot["terms"])
    for k in ("constraints", "valid_ranges", "smallest_input", "unaccounted", "warnings", "errors"):
        assert k in doc
    for c in doc["constraints"]:
        assert isinstance(parse(c["expr"], doc), sp.Basic) and c["message"] and c["node"]


def test_table_markdown_csv_contain_every_node(model, tmp_path):
    for fmt in ("table", "markdown", "csv"):
        r = run("report", model, "--format", fmt)
        assert r.exit_code == 0, r.output
        assert "conv1" in r.stdout and "relu1" in r.stdout, fmt
    table = run("report", model).stdout
    assert all(len(line) <= 80 for line in table.splitlines()), max(table.splitlines(), key=len)
    assert "convention" in table and "batch=1, height=224, width=224" in table
    assert "8x112x112" in table  # evaluated shape at the default bindings
    wide = run("report", model, "--wide").stdout
    assert "ceiling(height/2)" in wide
    rows = list(csv.DictReader(io.StringIO(run("report", model, "--format", "csv").stdout)))
    assert [r["name"] for r in rows] == ["conv1", "relu1"]
    assert rows[0]["shape"] == "1x8x112x112" and int(rows[0]["macs"]) == 8 * 112 * 112 * 27
    md = run("report", model, "--format", "markdown").stdout
    assert "| `conv1` |" in md and "### Totals" in md
    out = tmp_path / "r.json"
    r = run("report", model, "-f", "json", "-o", out)
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads(out.read_text())["schema_version"] == 2


def test_ops_command_lists_registered_ops():
    from cnnsym.ops import REGISTRY, load_builtin_ops

    load_builtin_ops()
    r = run("ops", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    names = {(o["domain"], o["op_type"]) for o in doc["ops"]}
    assert names == {(d or "ai.onnx", op) for d, op in REGISTRY}
    conv = next(o for o in doc["ops"] if o["op_type"] == "Conv")
    assert conv["summary"] and "group" in conv["attributes"]
    for fmt in ("table", "markdown"):
        r = run("ops", "--format", fmt)
        assert r.exit_code == 0 and "Conv" in r.stdout and "Relu" in r.stdout


# --------------------------------------------------------------------------- --input / --bind
def test_input_renames_dims(model):
    doc = json.loads(run("report", model, "-f", "json", "--input", "x=1x3xHxW").stdout)
    assert set(doc["symbols"]) == {"H", "W"}
    assert doc["tensors"]["y"]["shape"] == ["1", "8", "ceiling(H/2)", "ceiling(W/2)"]
    # without a name: the first input; fixed dims are fixed
    doc = json.loads(run("report", model, "-f", "json", "--input", "2x3x64xW", "--bind", "W=9").stdout)
    assert set(doc["symbols"]) == {"W"}
    assert doc["tensors"]["y"]["values"]["shape"] == [2, 8, 32, 5]


def test_input_frees_static_dims(tmp_path):
    p = small_model(tmp_path / "static.onnx", dims=(1, 3, 224, 224))
    doc = json.loads(run("report", p, "-f", "json").stdout)
    assert doc["symbols"] == {} and doc["tensors"]["y"]["shape"] == ["1", "8", "112", "112"]
    doc = json.loads(run("report", p, "-f", "json", "-i", "x=Nx3xHxW", "-b", "N=2,H=10,W=11").stdout)
    assert doc["tensors"]["y"]["values"]["shape"] == [2, 8, 5, 6]


@pytest.mark.parametrize("args, needle", [
    (["--bind", "nosuch=3"], "nosuch"),
    (["--bind", "height=abc"], "height"),
    (["--bind", "height=0"], "height"),
    (["--bind", "height"], "height"),
    (["--input", "nosuch=1x3xHxW"], "nosuch"),
    (["--input", "x=1x3xH"], "rank"),
    (["--input", "x=1x3xH-1xW"], "H-1"),
    (["--input", "x=1x3x0xW"], "0"),
])
def test_bad_options_exit_2_one_line(model, args, needle):
    r = run("report", model, *args)
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cnnsym: error:"), err
    assert "small.onnx" in err and needle in err and "Traceback" not in r.output


def test_binding_outside_valid_domain_is_an_error(tmp_path):
    # Reshape to a fixed size pins H*W: bindings elsewhere are an error, never a number
    nodes = [helper.make_node("Flatten", ["y"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "wg"], ["z"], name="fc", transB=1)]
    p = tmp_path / "fc.onnx"
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="conv1", pads=[1] * 4, strides=[2, 2]),
         helper.make_node("Relu", ["a"], ["y"], name="relu1"), *nodes], "g",
        [helper.make_tensor_value_info("x", T.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("z", T.FLOAT, None)],
        [w("w1", 8, 3, 3, 3), w("b1", 8), w("wg", 10, 8 * 4 * 4)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    r = run("report", p, "-f", "json")
    assert r.exit_code == 0, r.output  # default 224 is invalid: evaluated at the smallest valid input
    doc = json.loads(r.stdout)
    assert doc["smallest_input"] == {"H": 7, "W": 7}
    assert doc["valid_ranges"]["H"]["text"] == "7..8"
    assert doc["bindings"]["H"] == 7 and doc["binding_notes"]
    r = run("report", p, "--bind", "H=32,W=32")
    assert r.exit_code == 2 and "fc.onnx" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("report", p)
    assert r.exit_code == 0 and "7..8" in r.stdout and "smallest valid input" in r.stdout


def test_invalid_graph_prints_report_and_exits_1(tmp_path):
    # a Conv whose weight expects 4 channels on a 3-channel input: invalid for every size
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["y"], name="badconv")], "g",
        [helper.make_tensor_value_info("x", T.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", T.FLOAT, None)], [w("w1", 8, 4, 3, 3)])
    p = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    for fmt in ("table", "json", "markdown", "csv"):
        r = run("report", p, "-f", fmt)
        assert r.exit_code == 1, (fmt, r.output)
        assert "badconv" in r.stdout
    doc = json.loads(run("report", p, "-f", "json").stdout)
    assert doc["errors"] and doc["complete"] is False


def test_unknown_op_is_listed(tmp_path):
    p = small_model(tmp_path / "u.onnx", extra_nodes=[
        helper.make_node("Fancy", ["y"], ["z"], name="fancy1", domain="com.example")], outputs=("z",))
    m = onnx.load(p)
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(m, p)
    r = run("report", p, "-f", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["unaccounted"][0]["op"] == "Fancy" and doc["unaccounted"][0]["count"] == 1
    assert doc["complete"] is False and doc["tensors"]["z"]["shape"] is None
    table = run("report", p).stdout
    assert "Fancy" in table and "Unaccounted" in table and "partial" in table


# --------------------------------------------------------------------------- hostile input
def _hostile(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    rnd = tmp_path / "random.onnx"
    rnd.write_bytes(np.random.default_rng(0).bytes(4096))
    trunc = tmp_path / "trunc.onnx"
    full = small_model(tmp_path / "full.onnx")
    trunc.write_bytes(Path(full).read_bytes()[:200])
    text = tmp_path / "text.onnx"
    text.write_text("hello, this is not a model\n")
    d = tmp_path / "adir.onnx"
    d.mkdir()
    return [tmp_path / "missing.onnx", empty, rnd, trunc, text, d]


def test_bad_files_exit_2_with_one_line(tmp_path):
    for path in _hostile(tmp_path):
        r = run("report", path)
        assert r.exit_code == 2, (path, r.output)
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert err.startswith("cnnsym: error:") and path.name in err, err
        assert "Traceback" not in r.output and r.stdout == ""


def test_bad_files_in_a_real_process(tmp_path):
    for path in _hostile(tmp_path)[:3]:
        p = run_proc("report", path)
        assert p.returncode == 2, p
        assert len(p.stderr.strip().splitlines()) == 1 and path.name in p.stderr
        assert "Traceback" not in p.stderr


# --------------------------------------------------------------------------- start-up
def test_help_is_light_and_report_never_imports_onnxruntime(model):
    code = (
        "import sys\n"
        "from cnnsym.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='cnnsym')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sympy', 'onnx', 'onnxruntime', 'rich') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def heavy(*args):
        p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip().splitlines()[-1].split("=", 1)[1].split(",")

    assert heavy("--help") == [""]
    for fmt in ("table", "json"):
        mods = heavy("report", model, "-f", fmt)
        assert "sympy" in mods  # the analysis ran
        # report reads the protobuf through the generated module alone (issue 12): neither
        # the onnx package (ml_dtypes) nor onnxruntime is imported
        assert "onnx" not in mods and "onnxruntime" not in mods


def test_python_dash_m(model):
    p = run_proc("report", model, "-f", "csv")
    assert p.returncode == 0, p.stderr
    assert "conv1" in p.stdout
    p = run_proc("--help")
    assert p.returncode == 0 and "report" in p.stdout


# --------------------------------------------------------------------------- real models
CONFIGS = {"b1_224x224": "batch=1,height=224,width=224", "b3_193x161": "batch=3,height=193,width=161",
           "b3_32x32": "batch=3,height=32,width=32"}
CASES = [(m, e, c) for m, e in [("seed_conv", "torchscript"), ("seed_conv", "dynamo"), ("resnet18", "torchscript"),
                                ("shufflenet_v2_x0_5", "torchscript")]
         for c in ("b1_224x224", "b3_193x161")] + [("lenet5", "torchscript", "b3_32x32"), ("lenet5", "dynamo", "b3_32x32")]


@pytest.mark.parametrize("model_name, exporter, cfg", CASES)
def test_json_tensors_match_ground_truth(shared_models, ground_truth, model_name, exporter, cfg):
    info = ground_truth["models"][model_name]["onnx"].get(exporter)
    if info is None:
        pytest.skip(f"{model_name} has no {exporter} export")
    path = shared_models / info["file"]
    args = ["report", path, "--format", "json"]
    if cfg != "b1_224x224":  # b1_224x224 are the default bindings
        args += ["--bind", CONFIGS[cfg]]
    r = run(*args)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    b = doc["bindings"]
    assert b == {k: int(v) for k, v in (kv.split("=") for kv in CONFIGS[cfg].split(","))}
    truth = info["runs"][cfg]["tensors"]
    node_outputs = [o for n in doc["nodes"] for o in n["outputs"] if o]
    assert set(node_outputs) <= set(doc["tensors"])
    assert set(truth) <= set(node_outputs)
    for name in node_outputs:
        t = doc["tensors"][name]
        assert t["shape"] is not None, name
        got = [at(parse(s, doc), b) for s in t["shape"]]
        assert got == t["values"]["shape"], name
        if name in truth:
            assert got == truth[name], name
    assert doc["complete"] is True and not doc["errors"]


def test_seed_conv_lecture_numbers(shared_models):
    doc = json.loads(run("report", shared_models / "torchscript" / "seed_conv.onnx", "-f", "json",
                         "--bind", "batch=1,height=32,width=32").stdout)
    v = doc["values"]
    assert v["params"]["total"] == 3216
    assert v["macs"] == 3_276_800
    assert v["terms"]["bias"] == 16_384
    assert v["flops"] == 6_553_600 + 16_384
    out = doc["tensors"][doc["outputs"][0]]
    assert out["values"]["bytes"] == 64 * 1024
    assert out["values"]["receptive_field"]["size"] == [5, 5]


def test_no_valid_binding_prints_formulas_and_exits_1(tmp_path):
    # Gemm pins H: with W fixed at 100 no H is valid
    p = tmp_path / "pinned.onnx"
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1", strides=[2, 2]),
         helper.make_node("Flatten", ["a"], ["f"], name="flat"),
         helper.make_node("Gemm", ["f", "wg"], ["z"], name="fc", transB=1)], "g",
        [helper.make_tensor_value_info("x", T.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("z", T.FLOAT, None)],
        [w("w1", 2, 3, 3, 3), w("wg", 10, 2 * 4 * 4)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    r = run("report", p, "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["smallest_input"] == {"H": 9, "W": 9}
    r = run("report", p, "-f", "json", "--input", "1x3xHx100")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["bindings"] is None and doc["values"] is None and doc["errors"]
    assert doc["tensors"]["a"]["shape"][3] == "49"
    assert at(parse(doc["tensors"]["a"]["shape"][2], doc), {"H": 9}) == 4
    for fmt in ("table", "markdown", "csv"):
        r = run("report", p, "-f", fmt, "--input", "1x3xHx100")
        assert r.exit_code == 1 and "conv1" in r.stdout and "fc" in r.stdout, fmt
    assert all(len(l) <= 80 for l in run("report", p, "--input", "1x3xHx100").stdout.splitlines())


def test_internal_errors_are_one_line_unless_debugging(model, monkeypatch):
    import cnnsym.analyze

    def boom(*a, **k):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(cnnsym.analyze, "analyze", boom)
    monkeypatch.delenv("CNNSYM_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["report", model])
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "small.onnx" in err and "internal error" in err and "CNNSYM_DEBUG" in err
    monkeypatch.setenv("CNNSYM_DEBUG", "1")
    r = CliRunner().invoke(main, ["report", model])
    assert isinstance(r.exception, RuntimeError)
