"""Every string a user writes, parsed in one place: input dims (``--input``, config
``input``), bindings (``--bind``, config ``bind``), budget amounts, ranges (``--for-all``) and
growth limits. Errors are :class:`~cnnsym.errors.InputError` (one line, exit 2) or
``ValueError`` (config values, reported with their key)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError

SI = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def parse_dims(text: str, where: str = "--input"):
    """'1x3xHxW' -> [1, 3, 'H', 'W'] (ints fix, names free/rename)."""
    out = []
    for tok in text.replace(",", "x").split("x"):
        tok = tok.strip()
        if not tok:
            raise InputError(None, f"{where}: empty dim in {text!r}")
        if tok.lstrip("-").isdigit():
            v = int(tok)
            if v < 1:
                raise InputError(None, f"{where}: dim {v} in {text!r} must be >= 1")
            out.append(v)
        elif tok.isidentifier():
            out.append(tok)
        else:
            raise InputError(None, f"{where}: {tok!r} in {text!r} is neither an integer nor a name")
    return out


def parse_bindings(values) -> dict:
    """('H=320,W=256', 'N=2') -> {'H': 320, 'W': 256, 'N': 2}."""
    out = {}
    for text in values or ():
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            sym, eq, val = item.partition("=")
            sym, val = sym.strip(), val.strip()
            if not eq or not sym or not val:
                raise InputError(None, f"--bind: {item!r} is not SYMBOL=VALUE")
            if not sym.isidentifier():
                raise InputError(None, f"--bind: {sym!r} is not a symbol name")
            try:
                v = int(val)
            except ValueError:
                raise InputError(None, f"--bind {sym}: {val!r} is not an integer") from None
            if v < 1:
                raise InputError(None, f"--bind {sym}: {v} must be a positive integer")
            if sym in out and out[sym] != v:
                raise InputError(None, f"--bind: {sym} given twice ({out[sym]} and {v})")
            out[sym] = v
    return out


def parse_inputs(values) -> dict:
    """('input=1x3xHxW', 'NxCxHxW') -> {'input': [...], None: [...]} (None = first input)."""
    out = {}
    for text in values or ():
        name, eq, dims = text.rpartition("=")
        if not eq:
            name, dims = None, text
        else:
            name = name.strip()
            if not name:
                raise InputError(None, f"--input: {text!r} has an empty input name")
        key_desc = name if name is not None else "(first input)"
        if name in out:
            raise InputError(None, f"--input: {key_desc} given twice")
        out[name] = parse_dims(dims.strip(), f"--input {name}" if name else "--input")
    return out


def parse_amount(v, kind: str = "count"):
    """'25M' -> 25_000_000, '4.1G' -> 4_100_000_000, '64MiB' -> 67_108_864, 1e6 -> 1_000_000."""
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is not an amount")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"{v} must be >= 0")
        return int(v) if float(v).is_integer() else v
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKMGTP]i?)?\s*([bB]|[bB]ytes?)?\s*", str(v))
    if not m:
        raise ValueError(f"{v!r} is not an amount (e.g. 25M, 4.1G, 64MiB, 1e9)")
    num, unit, b = m.groups()
    unit = unit or ""
    if b and kind != "bytes":
        raise ValueError(f"{v!r}: bytes given for a count")
    mult = BIN[unit] if unit.endswith("i") else SI[unit]
    val = float(num) * mult
    return int(round(val))


def parse_bind(text: str) -> dict:
    out = {}
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        k, eq, v = item.partition("=")
        k, v = k.strip(), v.strip()
        if not eq or not k.isidentifier():
            raise ValueError(f"{item!r} is not SYMBOL=VALUE")
        try:
            n = int(v)
        except ValueError:
            raise ValueError(f"{item!r}: {v!r} is not an integer") from None
        if n < 1:
            raise ValueError(f"{item!r}: {n} must be >= 1")
        out[k] = n
    return out


@dataclass
class Range:
    symbols: list
    lo: int
    hi: int
    step: int = 1

    def text(self):
        st = f" step {self.step}" if self.step != 1 else ""
        return f"{','.join(self.symbols)} in {self.lo}..{self.hi}{st}"


def parse_for_all(text: str) -> list:
    """'H,W in 32..1024' (each of H, W independently over 32..1024), 'H in 32..512 step 32';
    several separated by ';'."""
    out = []
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s+in\s+(\d+)\s*\.\.\s*(\d+)(?:\s+step\s+(\d+))?",
                         part)
        if not m:
            raise ValueError(f"{part!r} is not 'SYM[,SYM...] in LO..HI [step K]'")
        syms = [s.strip() for s in m.group(1).split(",")]
        lo, hi, step = int(m.group(2)), int(m.group(3)), int(m.group(4) or 1)
        if lo < 1 or hi < lo or step < 1:
            raise ValueError(f"{part!r}: need 1 <= LO <= HI and step >= 1")
        out.append(Range(syms, lo, hi, step))
    if not out:
        raise ValueError("empty range")
    return out


def parse_growth(v) -> float:
    """'5%' or 5 -> 5.0 (percent)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*%?\s*", str(v))
    if not m:
        raise ValueError(f"{v!r} is not a percentage (e.g. 5%)")
    return float(m.group(1))
