"""nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.TransformerEncoder,
nn.TransformerDecoder and nn.Transformer, built from their children as torch builds them
(``self_attn`` / ``multihead_attn`` a MultiheadAttention, ``linear1``, ``linear2``,
``norm1..3`` LayerNorms, dropouts; an encoder's ``layers`` deep copies of the layer given)
and run as torch's ``forward`` runs them (eval mode: post-norm ``norm(x + block(x))`` or,
with ``norm_first``, pre-norm ``x + block(norm(x))``), so every count comes from the
children's own lowerings and the module tree is torch's ``named_modules()``.

https://pytorch.org/docs/stable/generated/torch.nn.TransformerEncoderLayer.html
"""
from __future__ import annotations

from .modules import call_module, init_layer
from .pycopy import _Copier
from .registry import LAYERS, _sig, bind
from .values import Builtin, Module, Partial, Stop, UserFunction, norm

_LAYER = ("d_model nhead dim_feedforward=2048 dropout=0.1 activation='relu' layer_norm_eps=1e-05 batch_first=False "
          "norm_first=False bias=True")


def _child(m, name, kind, *args, **kwargs):
    c = Module(kind, loc=m.loc)
    c.loc_chain = m.loc_chain
    init_layer(None, kind, c, list(args), kwargs, None)
    m.modules[name] = c
    return c


def _init_layer(m, a, decoder):
    d, h, ff, bias = a["d_model"], a["nhead"], a["dim_feedforward"], bool(a["bias"])
    _child(m, "self_attn", "MultiheadAttention", d, h, dropout=a["dropout"], bias=bias, batch_first=a["batch_first"])
    if decoder:
        _child(m, "multihead_attn", "MultiheadAttention", d, h, dropout=a["dropout"], bias=bias,
               batch_first=a["batch_first"])
    _child(m, "linear1", "Linear", d, ff, bias=bias)
    _child(m, "dropout", "Dropout", a["dropout"])
    _child(m, "linear2", "Linear", ff, d, bias=bias)
    for i in range(1, 4 if decoder else 3):
        _child(m, f"norm{i}", "LayerNorm", d, eps=a["layer_norm_eps"], bias=bias)
    for i in range(1, 4 if decoder else 3):
        _child(m, f"dropout{i}", "Dropout", a["dropout"])
    act = norm(a["activation"])
    if isinstance(act, Module):
        m.modules["activation"] = act  # a module given is a child, as torch's __setattr__ makes it
    elif isinstance(act, str) and act not in ("relu", "gelu"):
        raise Stop(f"{m.kind}: activation should be relu/gelu, not {act} (torch raises RuntimeError)")


def _activation(c, m, x):
    act = m.modules.get("activation") or norm(m.cfg["activation"])
    if isinstance(act, Module):
        return call_module(c.it, act, [x], {}, None)
    if isinstance(act, str):
        return c.emit("Relu" if act == "relu" else "Gelu", [x], {} if act == "relu" else {"approximate": "none"},
                      suffix="activation")
    if isinstance(act, (Builtin, UserFunction, Partial)):
        return c.it.call(act, [x], {}, None)
    raise Stop(f"{m.kind}: an activation cnnsym cannot call ({type(act).__name__})")


def _sub(c, m, name, *args, **kwargs):
    return call_module(c.it, m.modules[name], list(args), kwargs, None)


def _sa(c, m, x, mask, kpm, causal, name="self_attn", mem=None):
    mem = x if mem is None else mem
    y = _sub(c, m, name, x, mem, mem, attn_mask=mask, key_padding_mask=kpm, need_weights=False, is_causal=causal)
    return y[0]


def _ff(c, m, x):
    return _sub(c, m, "linear2", _sub(c, m, "dropout", _activation(c, m, _sub(c, m, "linear1", x))))


def _add(c, a, b, what):
    return c.emit("Add", [a, b], suffix=what)


@LAYERS.register("TransformerEncoderLayer", _LAYER)
class TransformerEncoderLayer:
    takes_args = "src"
    _fwd = _sig("src src_mask=None src_key_padding_mask=None is_causal=False")

    @staticmethod
    def init(m, a):
        _init_layer(m, a, decoder=False)

    @staticmethod
    def forward(c, m, x, args, kwargs):
        a = bind(TransformerEncoderLayer._fwd, [x, *args], kwargs, "TransformerEncoderLayer.forward")
        mask, kpm, causal = a["src_mask"], a["src_key_padding_mask"], bool(norm(a["is_causal"]))
        if m.cfg["norm_first"]:
            x = _add(c, x, _sub(c, m, "dropout1", _sa(c, m, _sub(c, m, "norm1", x), mask, kpm, causal)), "sa")
            return _add(c, x, _sub(c, m, "dropout2", _ff(c, m, _sub(c, m, "norm2", x))), "ff")
        x = _sub(c, m, "norm1", _add(c, x, _sub(c, m, "dropout1", _sa(c, m, x, mask, kpm, causal)), "sa"))
        return _sub(c, m, "norm2", _add(c, x, _sub(c, m, "dropout2", _ff(c, m, x)), "ff"))


@LAYERS.register("TransformerDecoderLayer", _LAYER)
class TransformerDecoderLayer:
    takes_args = "tgt"
    _fwd = _sig("tgt memory tgt_mask=None memory_mask=None tgt_key_padding_mask=None memory_key_padding_mask=None "
                "tgt_is_causal=False memory_is_causal=False")

    @staticmethod
    def init(m, a):
        _init_layer(m, a, decoder=True)

    @staticmethod
    def forward(c, m, x, args, kwargs):
        a = bind(TransformerDecoderLayer._fwd, [x, *args], kwargs, "TransformerDecoderLayer.forward")
        mem = a["memory"]
        sa = (a["tgt_mask"], a["tgt_key_padding_mask"], bool(norm(a["tgt_is_causal"])))
        ca = (a["memory_mask"], a["memory_key_padding_mask"], bool(norm(a["memory_is_causal"])))
        if m.cfg["norm_first"]:
            x = _add(c, x, _sub(c, m, "dropout1", _sa(c, m, _sub(c, m, "norm1", x), *sa)), "sa")
            x = _add(c, x, _sub(c, m, "dropout2", _sa(c, m, _sub(c, m, "norm2", x), *ca, "multihead_attn", mem)), "mha")
            return _add(c, x, _sub(c, m, "dropout3", _ff(c, m, _sub(c, m, "norm3", x))), "ff")
        x = _sub(c, m, "norm1", _add(c, x, _sub(c, m, "dropout1", _sa(c, m, x, *sa)), "sa"))
        x = _sub(c, m, "norm2", _add(c, x, _sub(c, m, "dropout2", _sa(c, m, x, *ca, "multihead_attn", mem)), "mha"))
        return _sub(c, m, "norm3", _add(c, x, _sub(c, m, "dropout3", _ff(c, m, x)), "ff"))


def _stack(m, layer, n, norm_module):
    """torch's ``_get_clones``: ``num_layers`` deep copies of the layer (its own parameters
    each) in ``layers``; ``norm`` a child when given."""
    if not isinstance(layer, Module):
        raise Stop(f"{m.kind} of a {type(layer).__name__}, not a module")
    n = norm(n)
    if not isinstance(n, int):
        raise Stop(f"{m.kind}: num_layers {n} is not a known integer")
    layers = Module("ModuleList", loc=m.loc)
    layers.loc_chain = m.loc_chain
    init_layer(None, "ModuleList", layers, [[_Copier()(layer) for _ in range(n)]], {}, None)
    m.modules["layers"] = layers
    m.cfg["num_layers"] = n
    if isinstance(norm_module, Module):
        m.modules["norm"] = norm_module


def _run_stack(c, m, x, extra, kwargs):
    for layer in m.modules["layers"].modules.values():
        x = call_module(c.it, layer, [x, *extra], dict(kwargs), None)
    if m.modules.get("norm") is not None:
        x = _sub(c, m, "norm", x)
    return x


@LAYERS.register("TransformerEncoder", "encoder_layer num_layers norm=None enable_nested_tensor=True mask_check=True")
class TransformerEncoder:
    takes_args = "src"
    _fwd = _sig("src mask=None src_key_padding_mask=None is_causal=None")

    @staticmethod
    def init(m, a):
        _stack(m, a["encoder_layer"], a["num_layers"], a["norm"])

    @staticmethod
    def forward(c, m, x, args, kwargs):
        a = bind(TransformerEncoder._fwd, [x, *args], kwargs, "TransformerEncoder.forward")
        return _run_stack(c, m, x, [], {"src_mask": a["mask"], "src_key_padding_mask": a["src_key_padding_mask"],
                                        "is_causal": bool(norm(a["is_causal"]))})


@LAYERS.register("TransformerDecoder", "decoder_layer num_layers norm=None")
class TransformerDecoder:
    takes_args = "tgt"
    _fwd = TransformerDecoderLayer._fwd

    @staticmethod
    def init(m, a):
        _stack(m, a["decoder_layer"], a["num_layers"], a["norm"])

    @staticmethod
    def forward(c, m, x, args, kwargs):
        a = bind(TransformerDecoder._fwd, [x, *args], kwargs, "TransformerDecoder.forward")
        kw = {k: a[k] for k in ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")}
        kw.update(tgt_is_causal=bool(norm(a["tgt_is_causal"])), memory_is_causal=bool(norm(a["memory_is_causal"])))
        return _run_stack(c, m, x, [a["memory"]], kw)


@LAYERS.register("Transformer", "d_model=512 nhead=8 num_encoder_layers=6 num_decoder_layers=6 dim_feedforward=2048 "
                 "dropout=0.1 activation='relu' custom_encoder=None custom_decoder=None layer_norm_eps=1e-05 "
                 "batch_first=False norm_first=False bias=True")
class Transformer:
    takes_args = "src"
    _fwd = _sig("src tgt src_mask=None tgt_mask=None memory_mask=None src_key_padding_mask=None "
                "tgt_key_padding_mask=None memory_key_padding_mask=None src_is_causal=None tgt_is_causal=None "
                "memory_is_causal=False")

    @staticmethod
    def init(m, a):
        common = dict(dim_feedforward=a["dim_feedforward"], dropout=a["dropout"], activation=a["activation"],
                      layer_norm_eps=a["layer_norm_eps"], batch_first=a["batch_first"], norm_first=a["norm_first"],
                      bias=a["bias"])
        for part, kind, n in (("encoder", "Encoder", a["num_encoder_layers"]),
                              ("decoder", "Decoder", a["num_decoder_layers"])):
            custom = a[f"custom_{part}"]
            if custom is not None:
                m.modules[part] = custom
                continue
            layer = Module(f"Transformer{kind}Layer", loc=m.loc)
            init_layer(None, f"Transformer{kind}Layer", layer, [a["d_model"], a["nhead"]], dict(common), None)
            final = Module("LayerNorm", loc=m.loc)
            init_layer(None, "LayerNorm", final, [a["d_model"]], {"eps": a["layer_norm_eps"], "bias": a["bias"]}, None)
            _child(m, part, f"Transformer{kind}", layer, n, norm=final)

    @staticmethod
    def forward(c, m, x, args, kwargs):
        a = bind(Transformer._fwd, [x, *args], kwargs, "Transformer.forward")
        mem = _sub(c, m, "encoder", x, mask=a["src_mask"], src_key_padding_mask=a["src_key_padding_mask"],
                   is_causal=a["src_is_causal"])
        return _sub(c, m, "decoder", a["tgt"], mem, tgt_mask=a["tgt_mask"], memory_mask=a["memory_mask"],
                    tgt_key_padding_mask=a["tgt_key_padding_mask"],
                    memory_key_padding_mask=a["memory_key_padding_mask"], tgt_is_causal=a["tgt_is_causal"],
                    memory_is_causal=a["memory_is_causal"])
