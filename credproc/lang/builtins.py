"""Pure helpers behind the fn:: builtins, matching the Go library calls ESC makes.

* go_json_decode: ``json.NewDecoder(...).UseNumber().Decode`` — the first JSON value only, numbers
  kept as their text, Go's error messages (``invalid character 'x' looking for beginning of value``,
  ``unexpected EOF``, ``EOF``).
* go_base64_decode: ``base64.StdEncoding.DecodeString`` (CR/LF ignored, padding required).
* go_split: ``strings.Split``.
"""
import binascii
import json
import re

from credproc.lang.crypt import go_base64_error_offset
from credproc.lang.values import Number

MAX_JSON_DEPTH = 500  # Go allows 10000; Python recursion makes us stop earlier, with Go's message


class GoError(ValueError):
    """str(err) is the Go error text."""


# --- base64 / split ----------------------------------------------------------------------------------

# Text Go's StdEncoding certainly decodes (alphabet only, padded to a multiple of 4) is decoded at
# C speed; anything else takes the byte-by-byte path that finds Go's error offset.
_BASE64_ALPHABET = re.compile(r"[A-Za-z0-9+/]*")


def _plain_base64(text: str) -> bool:
    body = text.rstrip("=")
    return len(text) % 4 == 0 and len(text) - len(body) <= 2 and _BASE64_ALPHABET.fullmatch(body) is not None


def go_base64_decode(text: str, before_slow_path=None) -> bytes:
    """before_slow_path(n): called before n characters are examined one by one in Python."""
    if _plain_base64(text):
        return binascii.a2b_base64(text)
    if before_slow_path is not None:
        before_slow_path(len(text))
    src = text.encode("utf-8", "surrogateescape")
    offset = go_base64_error_offset(src)
    if offset is not None:
        raise GoError(f"illegal base64 data at input byte {offset}")
    return binascii.a2b_base64(bytes(c for c in src if c not in (10, 13)))


def go_split(s: str, sep: str) -> list:
    if sep == "":
        return list(s)  # one element per character (rune); "" splits into []
    return s.split(sep)


# --- JSON --------------------------------------------------------------------------------------------

def _quote_char(c: str) -> str:
    # encoding/json quoteChar
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    from credproc.lang.values import go_quote

    return "'" + go_quote(c)[1:-1] + "'"


_WS = " \t\r\n"


class _JsonDecoder:
    def __init__(self, text):
        self.s, self.i = text, 0

    def error(self, context):
        if self.i >= len(self.s):
            raise GoError("unexpected EOF")
        raise GoError(f"invalid character {_quote_char(self.s[self.i])} {context}")

    def skip_ws(self):
        s, i = self.s, self.i
        while i < len(s) and s[i] in _WS:
            i += 1
        self.i = i

    def peek(self):
        """The next character after white space (the position moves to it); "unexpected EOF" at the end."""
        self.skip_ws()
        if self.i >= len(self.s):
            raise GoError("unexpected EOF")
        return self.s[self.i]

    def value(self, depth):
        if depth > MAX_JSON_DEPTH:
            raise GoError("exceeded max depth")
        c = self.peek()
        if c == "{":
            return self.object(depth)
        if c == "[":
            return self.array(depth)
        if c == '"':
            return self.string()
        if c == "-" or "0" <= c <= "9":
            return self.number()
        for word, result in (("true", True), ("false", False), ("null", None)):
            if c == word[0]:
                return self.literal(word, result)
        self.error("looking for beginning of value")

    def literal(self, word, result):
        for expected in word[1:]:
            self.i += 1
            if self.i >= len(self.s):
                raise GoError("unexpected EOF")
            if self.s[self.i] != expected:
                self.error(f"in literal {word} (expecting {_quote_char(expected)})")
        self.i += 1
        return result

    def number(self):
        s, start = self.s, self.i
        i = start
        if s[i] == "-":
            i = self.need_digit(i + 1, "in numeric literal")
        i = i + 1 if s[i] == "0" else _skip_digits(s, i)
        if i < len(s) and s[i] == ".":
            i = _skip_digits(s, self.need_digit(i + 1, "after decimal point in numeric literal"))
        if i < len(s) and s[i] in "eE":
            i += 1
            if i < len(s) and s[i] in "+-":
                i += 1
            i = _skip_digits(s, self.need_digit(i, "in exponent of numeric literal"))
        self.i = i
        return Number(s[start:i])

    def need_digit(self, i, context):
        """i, when a digit stands there; otherwise Go's error (at that position)."""
        if i >= len(self.s):
            raise GoError("unexpected EOF")
        if not ("0" <= self.s[i] <= "9"):
            self.i = i
            self.error(context)
        return i

    def string(self):
        s = self.s
        self.i += 1
        out = []
        while True:
            j = self.i
            while j < len(s) and s[j] not in '"\\' and ord(s[j]) >= 0x20:
                j += 1
            out.append(s[self.i:j])
            self.i = j
            if j >= len(s):
                raise GoError("unexpected EOF")
            c = s[j]
            if c == '"':
                self.i += 1
                return "".join(out).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if c != "\\":
                self.error("in string literal")
            self.i += 1
            if self.i >= len(s):
                raise GoError("unexpected EOF")
            e = s[self.i]
            simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
            if e in simple:
                out.append(simple[e])
                self.i += 1
            elif e == "u":
                out.append(self.unicode_escape())
            else:
                self.error("in string escape code")

    def hex4(self):
        s = self.s
        value = 0
        for _ in range(4):
            self.i += 1
            if self.i >= len(s):
                raise GoError("unexpected EOF")
            c = s[self.i]
            if c not in "0123456789abcdefABCDEF":
                self.error("in \\u hexadecimal character escape")
            value = value * 16 + int(c, 16)
        self.i += 1
        return value

    def unicode_escape(self):
        first = self.hex4()
        if 0xD800 <= first < 0xDC00 and self.s.startswith("\\u", self.i):
            save = self.i
            self.i += 1
            second = self.hex4()
            if 0xDC00 <= second < 0xE000:
                return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            self.i = save
        if 0xD800 <= first < 0xE000:
            return "\ufffd"
        return chr(first)

    def array(self, depth):
        self.i += 1
        items = []
        self.skip_ws()
        if self.i < len(self.s) and self.s[self.i] == "]":
            self.i += 1
            return items
        while True:
            items.append(self.value(depth + 1))
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c == "]":
                self.i += 1
                return items
            else:
                self.error("after array element")

    def object(self, depth):
        self.i += 1
        result = {}
        self.skip_ws()
        if self.i < len(self.s) and self.s[self.i] == "}":
            self.i += 1
            return result
        while True:
            if self.peek() != '"':
                self.error("looking for beginning of object key string")
            key = self.string()
            if self.peek() != ":":
                self.error("after object key")
            self.i += 1
            result[key] = self.value(depth + 1)  # Go: the last duplicate wins
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c == "}":
                self.i += 1
                return result
            else:
                self.error("after object key:value pair")


def _skip_digits(s: str, i: int) -> int:
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    return i


def go_json_decode(text: str, before_slow_path=None):
    """The first JSON value of `text` (trailing text ignored), numbers as Number; GoError on failure.
    before_slow_path(n): called before n characters are decoded one by one in Python."""
    decoder = _JsonDecoder(text)
    decoder.skip_ws()
    if decoder.i >= len(text):
        raise GoError("EOF")
    fast = _fast_json_decode(text, decoder.i)
    if fast is not _NOT_FAST:
        return fast
    if before_slow_path is not None:
        before_slow_path(len(text))
    return decoder.value(0)


_NOT_FAST = object()
# Where Python's json and Go's differ: surrogates (Go writes U+FFFD for lone ones and for invalid
# UTF-8), and NaN/Infinity (Python accepts them; refused below through parse_constant).
_SURROGATE_TEXT = re.compile(r"[\ud800-\udfff]|\\u[dD][89abAB]")


def _refuse_constant(name):
    raise ValueError(name)


_PY_JSON = json.JSONDecoder(parse_int=Number, parse_float=Number, parse_constant=_refuse_constant)


def _fast_json_decode(text: str, start: int):
    """The value through Python's C decoder when it is sure to equal Go's, else _NOT_FAST (then the
    character-by-character decoder runs, for Go's exact error messages and corner cases)."""
    if _SURROGATE_TEXT.search(text, start):
        return _NOT_FAST
    try:
        value, _ = _PY_JSON.raw_decode(text, start)
    except (ValueError, RecursionError):
        return _NOT_FAST
    if isinstance(value, Number):  # Python stops a top-level `1.` or `1e` where Go fails: let Go's rules say
        return _NOT_FAST
    if (text.count("[", start) + text.count("{", start) > MAX_JSON_DEPTH
            and _depth_over(value, MAX_JSON_DEPTH)):
        return _NOT_FAST
    return value


def _depth_over(value, limit) -> bool:
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            if depth >= limit:
                return True
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False
