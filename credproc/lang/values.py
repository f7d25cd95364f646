"""Values of the language: a plain value plus `secret` and `unknown` flags (ESC `esc.Value`).

Renderers (to_plain, string_form, go_json) live beside the type in this module.
"""
import functools
import re
from dataclasses import dataclass, field
from typing import Any


class Number(str):
    """A JSON number carried as its source text (ESC keeps json.Number): `1.50` stays `1.50`."""

    __slots__ = ()

    def __repr__(self):
        return f"Number({str.__repr__(self)})"


@dataclass
class Value:
    """value: None | bool | Number | str | list[Value] | dict[str, Value].

    An unknown value has value None and may carry `schema` (what it will be once known, e.g. a
    provider's output schema in check mode; None means "anything").
    """

    value: Any = None
    secret: bool = False
    unknown: bool = False
    schema: Any = None
    # Where the value was defined and what it was merged over; owned by the evaluator.
    trace: Any = field(default=None, repr=False, compare=False)


SECRET_MARKER = "[secret]"
UNKNOWN_MARKER = "[unknown]"


# --- Go number formatting -------------------------------------------------------------------------

def format_go_float(f: float) -> str:
    """Go ``strconv.FormatFloat(f, 'g', -1, 64)``.

    Shortest digits that round-trip (Python's repr gives the same digits); with the value written
    d.ddd x 10^e, plain notation when -4 <= e < 6, else ``d.ddde±XX`` (at least two exponent digits).
    Go's shortest %g always uses 6 as the exponent threshold.
    """
    import math

    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    mantissa, _, exp_text = repr(abs(f)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    significant = all_digits.lstrip("0")
    # decimal point position relative to the first significant digit
    point = len(int_part) - (len(all_digits) - len(significant)) + (int(exp_text) if exp_text else 0)
    digits = significant.rstrip("0") or "0"
    sign = "-" if f < 0 else ""
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        rest = digits[1:]
        body = digits[0] + ("." + rest if rest else "")
        return f"{sign}{body}e{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * (-point)}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def format_json_float(f: float) -> str:
    """Go encoding/json's text for a float64: shortest round-trip digits, plain notation inside
    [1e-6, 1e21), else an exponent (``1e+21``, ``1e-7``: two digits at least for +, trimmed for -).
    Not %g: Go's json.Marshal(1e7) is ``10000000`` where FormatFloat(1e7, 'g') is ``1e+07``."""
    from decimal import Decimal

    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {f!r}")
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    d = Decimal(repr(f)).normalize()
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        sign, digits, exp = d.as_tuple()
        mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        e = exp + len(digits) - 1
        # strconv writes at least two exponent digits; encoding/json then trims e-07 to e-7.
        return ("-" if sign else "") + mantissa + (f"e-{-e}" if e < 0 else f"e+{e:02d}")
    return format(d, "f")


# --- Go strconv.Quote -----------------------------------------------------------------------------

_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\v": "\\v", "\\": "\\\\", '"': '\\"'}


# What go_quote must change among ASCII characters; runs of non-ASCII are looked at as a whole.
_QUOTE_ASCII_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\]')
_NON_ASCII_RUN = re.compile(r'[^\x00-\x7f]+')
# What go_json_string must change: JSON's escapes, HTML characters, U+2028/2029, surrogates.
_JSON_SPECIAL = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_is_print(ch: str) -> bool:
    import unicodedata

    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


def go_quote(s: str) -> str:
    """Go ``strconv.Quote``. Lone surrogates U+DC80..U+DCFF stand for invalid UTF-8 bytes
    (Python's surrogateescape) and are written ``\\xNN`` like Go writes the raw byte.

    Linear and mostly in C: ASCII escapes are C-level str.replace passes, and runs of non-ASCII
    characters are kept whole when printable, so only characters that change cost Python work."""
    if _QUOTE_ASCII_SPECIAL.search(s) is not None:
        s = s.replace("\\", "\\\\")
        for ch, escaped in _QUOTE_ESCAPES.items():
            if ch != "\\" and ch in s:
                s = s.replace(ch, escaped)
        for code in (*range(0x20), 0x7F):
            if chr(code) in s:
                s = s.replace(chr(code), f"\\x{code:02x}")
    if not s.isascii():
        s = _NON_ASCII_RUN.sub(_quote_run, s)
    return '"' + s + '"'


def _quote_run(match) -> str:
    run = match.group()
    if run.isprintable():  # Python's printable is Go's IsPrint
        return run
    return "".join(map(_quote_char, run))


@functools.lru_cache(maxsize=4096)  # a run repeats few distinct characters: C-speed lookups
def _quote_char(ch: str) -> str:
    code = ord(ch)
    if ch in _QUOTE_ESCAPES:
        return _QUOTE_ESCAPES[ch]
    if 0x20 <= code < 0x7F:
        return ch
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return "\\ufffd"
    if _go_is_print(ch):
        return ch
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# --- Go encoding/json ------------------------------------------------------------------------------

_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                 "\f": "\\f", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json_string(s: str) -> str:
    """A JSON string as Go's json.Marshal writes it (HTML-safe; invalid UTF-8 -> U+FFFD).

    Each character that changes is replaced by a C-level str.replace, never one by one in Python,
    so a large string costs a few linear passes."""
    if _JSON_SPECIAL.search(s) is None:
        return '"' + s + '"'
    s = s.replace("\\", "\\\\")
    for ch, escaped in _JSON_ESCAPES.items():
        if ch != "\\" and ch in s:
            s = s.replace(ch, escaped)
    for code in range(0x20):
        ch = chr(code)
        if ch in s:
            s = s.replace(ch, f"\\u{code:04x}")
    return '"' + _SURROGATE.sub("\ufffd", s) + '"'


def go_json(plain, indent=None) -> str:
    """Go ``json.Marshal`` (indent None) or ``json.MarshalIndent(v, "", " " * indent)`` of a plain value.

    plain: None | bool | Number | int | float | str | list | dict. Keys sorted bytewise, numbers
    verbatim (Number text), HTML characters escaped, non-ASCII written raw. No trailing newline.
    """
    parts = []
    _json_into(plain, parts, None if indent is None else " " * indent, 0)
    return "".join(parts)


def _json_into(v, out, unit, depth):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, Number):
        out.append(str.__str__(v))
    elif isinstance(v, str):
        out.append(go_json_string(v))
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(format_json_float(v))
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        out.append("{")
        for i, k in enumerate(sorted(v, key=_utf8_key)):
            if i:
                out.append(",")
            if unit is not None:
                out.append("\n" + unit * (depth + 1))
            out.append(go_json_string(k))
            out.append(": " if unit is not None else ":")
            _json_into(v[k], out, unit, depth + 1)
        if unit is not None:
            out.append("\n" + unit * depth)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            if unit is not None:
                out.append("\n" + unit * (depth + 1))
            _json_into(item, out, unit, depth + 1)
        if unit is not None:
            out.append("\n" + unit * depth)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(v).__name__} as JSON")


def _utf8_key(k: str):
    # Go sorts map keys as byte strings; for valid UTF-8 that is code point order, which is also
    # Python's str order, except for surrogate escapes (invalid bytes), hence the explicit encoding.
    return k.encode("utf-8", "surrogateescape")


# --- renderings of a Value -------------------------------------------------------------------------

def to_plain(value: "Value", redact: bool = False):
    """ESC ``ToJSON(redact)``: secret and redact -> "[secret]" (whole node); unknown -> "[unknown]";
    else the plain value (Number kept, dict keys sorted)."""
    if value is None:
        return None
    if value.secret and redact:
        return SECRET_MARKER
    if value.unknown:
        return UNKNOWN_MARKER
    v = value.value
    if isinstance(v, dict):
        return {k: to_plain(v[k], redact) for k in sorted(v, key=_utf8_key)}
    if isinstance(v, list):
        return [to_plain(item, redact) for item in v]
    return v


def scalar_string(v) -> str:
    """String form of a known scalar: null -> "", bools lower-case, numbers as their text."""
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str.__str__(v) if isinstance(v, str) else str(v)


def string_form(value: "Value") -> str:
    """ESC string form of a value (`--format string`, env vars): "[unknown]" for unknown; arrays as
    Go-quoted element strings joined by ","; objects as sorted "k"="v" pairs. All keys are used
    (the evaluator's own-keys-only variant lives in credproc.lang.eval)."""
    if value.unknown:
        return UNKNOWN_MARKER
    v = value.value
    if isinstance(v, list):
        return ",".join(go_quote(string_form(item)) for item in v)
    if isinstance(v, dict):
        return ",".join(f"{go_quote(k)}={go_quote(string_form(v[k]))}" for k in sorted(v, key=_utf8_key))
    return scalar_string(v)


def from_plain(plain, secret: bool = False) -> "Value":
    """A Value tree from plain JSON-like data (ints/floats become Numbers); every node secret if asked."""
    if isinstance(plain, dict):
        return Value({str(k): from_plain(v, secret) for k, v in plain.items()}, secret=secret)
    if isinstance(plain, (list, tuple)):
        return Value([from_plain(v, secret) for v in plain], secret=secret)
    if isinstance(plain, bool) or plain is None or isinstance(plain, Number):
        return Value(plain, secret=secret)
    if isinstance(plain, int):
        return Value(Number(str(plain)), secret=secret)
    if isinstance(plain, float):
        return Value(Number(format_go_float(plain)), secret=secret)
    return Value(str(plain), secret=secret)


def contains_unknown(value) -> bool:
    """Whether ``value`` or anything inside it is unknown (a provider's check() sees such inputs)."""
    if not isinstance(value, Value):
        return False
    if value.unknown:
        return True
    members = value.value.values() if isinstance(value.value, dict) else (
        value.value if isinstance(value.value, list) else ())
    return any(contains_unknown(member) for member in members)
