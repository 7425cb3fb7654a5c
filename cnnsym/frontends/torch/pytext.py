"""Strings and regular expressions as model-building code uses them, with Python's real
semantics on known strings: ``str`` methods (``split``, ``startswith``, ``lower``,
``replace``, ``join``, ...) and the ``re`` module
(``re.split``, ``re.match``, ``re.sub``, ``re.compile``, ... and their match objects).
Architecture strings like ``'ir_r2_k3_s2_e6_c24_se0.25'`` are decoded this way.

Every operation runs Python's own ``str`` / ``re`` code on the values, bounded: strings
longer than :data:`MAX_TEXT` and results longer than :data:`MAX_TEXT` are not followed
(a clear message, the value unknown), and only known strings are accepted (a symbol or an
unknown value stops with a message, never a guess)."""
from __future__ import annotations

import re

from .registry import OPS, STDLIB
from .values import NS, Builtin, Stop, Unknown, norm

MAX_TEXT = 100_000  # characters of a string (argument or result) the interpreter follows
MAX_PATTERN = 2_000  # characters of a regular expression


def _plain(v):
    """A value as the Python value str/re methods take: sympy numbers as ints/floats,
    tuples/lists element-wise; anything the interpreter models (a tensor, a module, an
    unknown) is refused."""
    v = norm(v)
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        out = [_plain(x) for x in v]
        return out if isinstance(v, list) else tuple(out)
    if isinstance(v, Unknown):
        raise Stop(f"a string operation on an unknown value ({v.why})")
    raise Stop(f"a string operation on a {type(v).__name__} value")


def _text(v, what="string"):
    v = norm(v)
    if not isinstance(v, str):
        why = f" ({v.why})" if isinstance(v, Unknown) else ""
        raise Stop(f"{what} is not a known string{why}")
    if len(v) > MAX_TEXT:
        raise Stop(f"{what} of {len(v)} characters is too long to follow")
    return v


def _bounded(r):
    """A result of a str/re call, refused when it grows past the bound."""
    if isinstance(r, str) and len(r) > MAX_TEXT:
        raise Stop(f"a string of {len(r)} characters is too long to follow")
    if isinstance(r, (list, tuple)) and len(r) > MAX_TEXT:
        raise Stop(f"a list of {len(r)} strings is too long to follow")
    return r


# str methods ----------------------------------------------------------------

# methods whose integer arguments size the result (padding widths): bounded before the call
_WIDTH = {"center", "ljust", "rjust", "zfill", "expandtabs"}


@OPS.register()
def str_method(it, s: str, name: str):
    """``s.name`` for a known string: a Builtin running ``str.name`` on plain arguments."""
    if name.startswith("_") or not hasattr(str, name):
        raise Stop(f"str has no attribute {name!r} cnnsym can follow")
    if name == "format":
        return Builtin(name, lambda it_, a, k, s_: _bounded(s.format(*[_plain(x) for x in a],
                                                                     **{kk: _plain(v) for kk, v in k.items()})))
    if name == "join":
        return Builtin(name, lambda it_, a, k, s_: _bounded(s.join(_text(x, "an item joined")
                                                                   for x in it_.iterate(a[0]))))

    def call(it_, a, k, s_):
        args = [_plain(x) for x in a]
        kw = {kk: _plain(v) for kk, v in k.items()}
        if name in _WIDTH and any(isinstance(x, int) and x > MAX_TEXT for x in [*args, *kw.values()]):
            raise Stop(f"str.{name} to a width over {MAX_TEXT} is not followed")
        try:
            return _bounded(getattr(s, name)(*args, **kw))
        except (TypeError, ValueError) as e:
            raise Stop(f"str.{name}: {e}")

    return Builtin(name, call)


# re -------------------------------------------------------------------------

def _flags(v):
    v = norm(v)
    if not isinstance(v, int):
        raise Stop("re flags are not a known integer")
    return v


def _compile(p, flags=0):
    if isinstance(p, NS) and isinstance(p.attrs.get("_pattern"), re.Pattern):
        return p.attrs["_pattern"]
    p = _text(p, "a regular expression")
    if len(p) > MAX_PATTERN:
        raise Stop(f"a regular expression of {len(p)} characters is not followed")
    try:
        return re.compile(p, _flags(flags))
    except re.error as e:
        raise Stop(f"regular expression {p!r}: {e}")


def _match_obj(m):
    """A re.Match as the interpreter sees it: None, or an object with the match's methods."""
    if m is None:
        return None
    fns = {
        "group": lambda a: m.group(*[_plain(x) for x in a]),
        "groups": lambda a: m.groups(*[_plain(x) for x in a]),
        "groupdict": lambda a: m.groupdict(*[_plain(x) for x in a]),
        "start": lambda a: m.start(*[_plain(x) for x in a]),
        "end": lambda a: m.end(*[_plain(x) for x in a]),
        "span": lambda a: m.span(*[_plain(x) for x in a]),
    }
    attrs = {n: Builtin(n, lambda it_, a, k, s, f=f: f(a)) for n, f in fns.items()}
    attrs.update(string=m.string, pos=m.pos, endpos=m.endpos, lastindex=m.lastindex, lastgroup=m.lastgroup)
    return NS(attrs)


def _repl(it, repl, s):
    if isinstance(norm(repl), str):
        return norm(repl)
    # a callable replacement: called with each match object, must return a known string
    return lambda m: _text(it.call(repl, [_match_obj(m)], {}, s), "a replacement")


def _search_fns(pat):
    """The methods shared by re.X(pattern, ...) and a compiled pattern's .X(...)."""
    return {
        "match": lambda it, a, k, s: _match_obj(pat().match(_text(a[0]), *[_plain(x) for x in a[1:]])),
        "fullmatch": lambda it, a, k, s: _match_obj(pat().fullmatch(_text(a[0]), *[_plain(x) for x in a[1:]])),
        "search": lambda it, a, k, s: _match_obj(pat().search(_text(a[0]), *[_plain(x) for x in a[1:]])),
        "split": lambda it, a, k, s: _bounded(pat().split(_text(a[0]), _plain(a[1] if len(a) > 1 else
                                                                                k.get("maxsplit", 0)))),
        "findall": lambda it, a, k, s: _bounded(pat().findall(_text(a[0]))),
        "finditer": lambda it, a, k, s: [_match_obj(m) for m in pat().finditer(_text(a[0]))],
        "sub": lambda it, a, k, s: _bounded(pat().sub(_repl(it, a[0], s), _text(a[1]),
                                                      _plain(a[2] if len(a) > 2 else k.get("count", 0)))),
        "subn": lambda it, a, k, s: _bounded(pat().subn(_repl(it, a[0], s), _text(a[1]),
                                                        _plain(a[2] if len(a) > 2 else k.get("count", 0)))),
    }


def _compiled(p):
    attrs = {n: Builtin(n, f) for n, f in _search_fns(lambda: p).items()}
    attrs.update(_pattern=p, pattern=p.pattern, flags=p.flags, groups=p.groups, groupindex=dict(p.groupindex))
    return NS(attrs)


def _module_fn(name):
    """re.name(pattern, *rest, flags=0): the pattern compiled, then the method applied to
    the rest (re.sub(p, repl, s, count, flags) takes its flags after count, like Python)."""
    n_rest = {"sub": 3, "subn": 3, "split": 2}.get(name, 1)

    def fn(it, a, k, s):
        rest, kw = list(a[1:]), dict(k)
        flags = kw.pop("flags", 0)
        if len(rest) > n_rest:
            flags = rest.pop(n_rest)
        p = _compile(a[0] if a else kw.pop("pattern"), flags)
        return _search_fns(lambda: p)[name](it, rest, kw, s)

    return fn


for _n in ("match", "fullmatch", "search", "split", "findall", "finditer", "sub", "subn"):
    STDLIB["re." + _n] = Builtin("re." + _n, _module_fn(_n))
STDLIB["re.compile"] = Builtin("re.compile", lambda it, a, k, s: _compiled(
    _compile(a[0], a[1] if len(a) > 1 else k.get("flags", 0))))
STDLIB["re.escape"] = Builtin("re.escape", lambda it, a, k, s: re.escape(_text(a[0])))
for _f in ("IGNORECASE", "I", "MULTILINE", "M", "DOTALL", "S", "VERBOSE", "X", "ASCII", "A", "UNICODE", "U",
           "NOFLAG"):
    if hasattr(re, _f):
        STDLIB["re." + _f] = int(getattr(re, _f))
