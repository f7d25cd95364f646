"""YAML exactly as gopkg.in/yaml.v3 v3.0.1 writes it (the version ESC v0.25 pins), for `--format yaml`.

ESC renders `env open --format yaml` with ``yaml.NewEncoder(out)``, ``SetIndent(3)``, ``Encode(v)`` of
the plain value (nil, bool, json.Number, string, []any, map[string]any), never calling Close. Each
rule below is ported from that library's source (encode.go, emitterc.go, resolve.go, sorter.go,
yamlprivateh.go); names in comments are the Go functions they mirror. Only what such values can
produce is ported: block mappings and sequences, ``{}``/``[]`` for empty ones, the five scalar
styles without folding (the encoder's line width is unlimited), ``!!binary`` for invalid UTF-8, no
comments, anchors or flow collections.

Notable consequences (all as yaml.v3 does): a json.Number is a Go string, so every number prints
double-quoted (``"3"``); keys sort in yaml.v3's natural order (``a2`` before ``a10``); strings that
would read back as something else (``yes``, ``~``, ``0x1F``, ``2001-02-03``) are double-quoted; a
string holding a character outside the BMP, a control character or a leading BOM is double-quoted
with escapes.
"""
import base64
import functools
import math
import re
import unicodedata

from credproc.lang.values import Number

PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"

# Which state sits on top of the emitter's stack when a node starts (it decides the indentation).
_DOCUMENT, _SEQUENCE_ITEM, _SIMPLE_KEY, _COMPLEX_KEY, _MAPPING_VALUE = range(5)

_BREAKS = "\r\n\x85\u2028\u2029"


def dump(data, indent: int = 3) -> str:
    """``yaml.NewEncoder(w); SetIndent(indent); Encode(data)`` (no Close: no ``...`` at the end)."""
    emitter = _Emitter(indent if 2 <= indent <= 9 else 2)
    emitter.node(data, _DOCUMENT, root=True)
    emitter.indent = -1
    emitter.write_indent()  # yaml_emitter_emit_document_end
    return "".join(emitter.out)


# --- scalars: encode.go stringv and resolve ------------------------------------------------------

class _Scalar:
    """A scalar event: its text, the style the encoder asks for and an optional !!binary tag."""

    __slots__ = ("text", "style", "binary")

    def __init__(self, text: str, style: str, binary: bool = False):
        self.text, self.style, self.binary = text, style, binary


def _scalar(value) -> _Scalar:
    if value is None:
        return _Scalar("null", PLAIN)
    if value is True or value is False:
        return _Scalar("true" if value else "false", PLAIN)
    if not isinstance(value, str):
        value = str(value)  # not produced by ESC's values; written as its text
    return _string_scalar(str.__str__(value) if isinstance(value, Number) else value)


def _string_scalar(text: str) -> _Scalar:
    """encoder.stringv: invalid UTF-8 -> !!binary base64; a newline -> literal; plain when the text
    reads back as the same string; else double-quoted."""
    raw = _utf8(text)
    if raw is None:
        encoded = _encode_base64(text.encode("utf-8", "surrogateescape") if _escapable(text)
                                 else text.encode("utf-8", "surrogatepass"))
        return _Scalar(encoded, LITERAL if "\n" in encoded else PLAIN, binary=True)
    if "\n" in text:
        return _Scalar(text, LITERAL)
    return _Scalar(text, PLAIN if can_use_plain(text) else DOUBLE)


def _utf8(text: str):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _escapable(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False


def _encode_base64(data: bytes) -> str:
    """resolve.go encodeBase64: 70-character lines, each followed by a newline when there are two or more."""
    encoded = base64.b64encode(data).decode("ascii")
    if len(encoded) // 70 + 1 == 1:
        return encoded
    return "".join(encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70))


def can_use_plain(text: str) -> bool:
    """stringv's canUsePlain: resolves to !!str and is neither a YAML 1.1 base-60 float nor an old bool."""
    return _resolves_to_str(text) and not _is_base60_float(text) and text not in _OLD_BOOLS


_OLD_BOOLS = frozenset("y Y yes Yes YES on On ON n N no No NO off Off OFF".split())
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_RESOLVE_MAP = frozenset(["true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null",
                          "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
                          "+.INF", "-.inf", "-.Inf", "-.INF", "<<"])
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")


def _is_base60_float(text: str) -> bool:
    return bool(text) and (text[0] in "+-" or "0" <= text[0] <= "9") and ":" in text \
        and _BASE60_FLOAT.match(text) is not None


def _resolves_to_str(text: str) -> bool:
    """resolve("", text) == "!!str": the first character picks what else it might be."""
    hint = text[:1]
    if text == "" or hint in "+-0123456789yYnNtTfFoO~.":
        if text in _RESOLVE_MAP:
            return False
        if hint == ".":
            return not _go_parse_float_ok(text)
        if hint in "+-0123456789":
            return not _resolves_to_number_or_time(text)
    return True


def _resolves_to_number_or_time(text: str) -> bool:
    if _go_timestamp(text):
        return True
    plain = text.replace("_", "")
    if _go_parse_int(plain, 0, signed=True) or _go_parse_int(plain, 0, signed=False):
        return True
    if _YAML_STYLE_FLOAT.match(plain) and _go_parse_float_ok(plain):
        return True
    for prefix, base in (("0b", 2), ("0o", 8)):
        if plain.startswith(prefix):
            return _go_parse_int(plain[2:], base, signed=True) or _go_parse_int(plain[2:], base, signed=False)
        if plain.startswith("-" + prefix):
            return _go_parse_int("-" + plain[3:], base, signed=True)
    return False


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _go_parse_int(text: str, base: int, signed: bool) -> bool:
    """Whether strconv.ParseInt(text, base, 64) (signed) or ParseUint succeeds."""
    sign = ""
    if signed and text[:1] in ("+", "-"):
        sign, text = text[0], text[1:]
    if base == 0:
        base, text = _go_base_prefix(text)
        if text is None:
            return False
    else:
        if "_" in text:
            return False
    if not text or not _valid_digits(text, base, underscores=False):
        return False
    magnitude = int(text, base)
    if not signed:
        return magnitude < 1 << 64
    return magnitude <= (1 << 63 if sign == "-" else (1 << 63) - 1)


def _go_base_prefix(text: str):
    """ParseUint's base 0: 0b/0o/0x (at least one character after), a leading 0 means octal."""
    if text[:1] == "0" and len(text) >= 3 and text[1] in "bBoOxX":
        return {"b": 2, "o": 8, "x": 16}[text[1].lower()], text[2:]
    if text[:1] == "0" and len(text) > 1:
        return 8, text[1:]
    return 10, text


def _valid_digits(text: str, base: int, underscores: bool) -> bool:
    allowed = _DIGITS[:base] + _DIGITS[:base].upper()[10:] + ("_" if underscores else "")
    return all(ch in allowed for ch in text)


_GO_DECIMAL_FLOAT = re.compile(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?\Z")


def _go_parse_float_ok(text: str) -> bool:
    """Whether strconv.ParseFloat(text, 64) succeeds: a decimal literal whose underscores sit between
    digits, that does not overflow (ErrRange). Only decimal forms reach here (hex starts with 0x and
    'inf'/'nan' spellings do not start with '.', '+', '-' or a digit in the cases resolve asks)."""
    if _GO_DECIMAL_FLOAT.match(text) is None or not any(ch.isdigit() for ch in text.split("e")[0].split("E")[0]):
        return False
    if "_" in text and not _underscore_ok(text):
        return False
    try:
        return not math.isinf(float(text.replace("_", "")))
    except ValueError:
        return False


def _underscore_ok(text: str) -> bool:
    """strconv.underscoreOK: an underscore only between digits (or after a base prefix)."""
    saw = "^"
    if text[:1] in "+-":
        text = text[1:]
    for ch in text:
        if "0" <= ch <= "9":
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


# --- timestamps: resolve.go parseTimestamp with Go's time.Parse ------------------------------------

_TIMESTAMP_LAYOUTS = (
    ("year", "-", "month", "-", "day", "T", "hour", ":", "minute", ":", "second", "frac", "zone"),
    ("year", "-", "month", "-", "day", "t", "hour", ":", "minute", ":", "second", "frac", "zone"),
    ("year", "-", "month", "-", "day", " ", "hour", ":", "minute", ":", "second", "frac"),
    ("year", "-", "month", "-", "day"),
)


def _go_timestamp(text: str) -> bool:
    """parseTimestamp: four digits and '-' first, then one of yaml.v3's layouts parses the whole text."""
    if len(text) < 5 or not text[:4].isascii() or not text[:4].isdigit() or text[4] != "-":
        return False
    return any(_parse_layout(text, layout) for layout in _TIMESTAMP_LAYOUTS)


def _parse_layout(value: str, layout) -> bool:
    fields = {}
    for element in layout:
        if element in ("-", "T", "t", ":"):
            if not value.startswith(element):
                return False
            value = value[1:]
        elif element == " ":
            if value and value[0] != " ":  # time.skip: a space matches a run of spaces
                return False
            value = value.lstrip(" ")
        else:
            value = _PARSERS[element](value, fields)
            if value is None:
                return False
    return value == "" and 1 <= fields["day"] <= _days_in(fields["month"], fields["year"])


def _getnum(value: str):
    """time.getnum(value, false): one or two ASCII digits."""
    if not value[:1].isascii() or not value[:1].isdigit():
        return None, value
    if len(value) > 1 and value[1].isascii() and value[1].isdigit():
        return int(value[:2]), value[2:]
    return int(value[0]), value[1:]


def _ranged(name: str, low: int, high: int):
    def parse(value, fields):
        number, rest = _getnum(value)
        if number is None or not low <= number <= high:
            return None
        fields[name] = number
        return rest
    return parse


def _parse_year(value, fields):
    if len(value) < 4 or not value[:4].isascii() or not value[:4].isdigit():
        return None
    fields["year"] = int(value[:4])
    return value[4:]


def _parse_fraction(value, fields):
    """stdFracSecond9 (Go 1.19): optional; '.' or ',' then up to nine digits."""
    if len(value) < 2 or value[0] not in ".," or not ("0" <= value[1] <= "9"):
        return value
    end = 1
    while end < 10 and end < len(value) and "0" <= value[end] <= "9":
        end += 1
    return value[end:]


def _parse_zone(value, fields):
    """stdISO8601ColonTZ: Z, or ±hh:mm where hh and mm are what time.atoi reads (a sign allowed)."""
    if value[:1] == "Z":
        return value[1:]
    if len(value) < 6 or value[3] != ":" or value[0] not in "+-":
        return None
    if not (_GO_ATOI.match(value[1:3]) and _GO_ATOI.match(value[4:6])):
        return None
    return value[6:]


_GO_ATOI = re.compile(r"[+-]?[0-9]+\Z")


def _parse_day(value, fields):
    number, rest = _getnum(value)
    if number is None:
        return None
    fields["day"] = number
    return rest


_PARSERS = {"year": _parse_year, "month": _ranged("month", 1, 12), "day": _parse_day,
            "hour": _ranged("hour", 0, 23), "minute": _ranged("minute", 0, 59),
            "second": _ranged("second", 0, 59), "frac": _parse_fraction, "zone": _parse_zone}


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# --- keys: sorter.go keyList.Less -----------------------------------------------------------------

def sorted_keys(keys) -> list:
    """Map keys in yaml.v3's order: letters by code point, runs of digits by numeric value."""
    runes = {key: _runes(key) for key in keys}
    items = list(keys)
    _go_sort(items, lambda a, b: _key_less(runes[a], runes[b]))
    return items


def _runes(key: str) -> str:
    # []rune(s) of a Go string: invalid UTF-8 bytes (surrogate escapes here) become U+FFFD.
    return re.sub("[\ud800-\udfff]", "\ufffd", key)


@functools.lru_cache(maxsize=4096)
def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lm", "Lo")


@functools.lru_cache(maxsize=4096)
def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def _int64(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >= 1 << 63 else n


def _key_less(a: str, b: str) -> bool:
    digits = False
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            digits = _is_digit(a[i])
            continue
        a_letter, b_letter = _is_letter(a[i]), _is_letter(b[i])
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return a_letter if digits else b_letter
        return _number_less(a, b, i)
    return len(a) < len(b)


def _number_less(a: str, b: str, i: int) -> bool:
    a_num = b_num = 0
    if a[i] == "0" or b[i] == "0":
        j = i - 1
        while j >= 0 and _is_digit(a[j]):
            if a[j] != "0":
                a_num = b_num = 1
                break
            j -= 1
    a_end, a_num = _digit_run(a, i, a_num)
    b_end, b_num = _digit_run(b, i, b_num)
    if a_num != b_num:
        return a_num < b_num
    if a_end != b_end:
        return a_end < b_end
    return a[i] < b[i]


def _digit_run(text: str, i: int, number: int):
    while i < len(text) and _is_digit(text[i]):
        number = _int64(number * 10 + ord(text[i]) - ord("0"))
        i += 1
    return i, number


def _go_sort(items: list, less) -> None:
    """sort.Sort as Go 1.19+ runs it for the few keys a mapping has: insertion sort up to 12
    elements (the same order whatever the algorithm when ``less`` is a strict order), else a
    stable merge by Python (identical for a strict total order, which keyList.Less is in practice)."""
    if len(items) <= 12:
        for i in range(1, len(items)):
            j = i
            while j > 0 and less(items[j], items[j - 1]):
                items[j], items[j - 1] = items[j - 1], items[j]
                j -= 1
        return
    items.sort(key=functools.cmp_to_key(lambda a, b: -1 if less(a, b) else (1 if less(b, a) else 0)))


# --- the emitter: emitterc.go --------------------------------------------------------------------

def _is_printable(ch: str) -> bool:
    """is_printable on the character's UTF-8 bytes: no C0/C1 controls but LF, no surrogates,
    nothing beyond the BMP, not U+FEFF, U+FFFE, U+FFFF."""
    code = ord(ch)
    return (code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD and code != 0xFEFF)


class _Analysis:
    """yaml_emitter_analyze_scalar: where each style is allowed for this text."""

    def __init__(self, text: str):
        self.multiline = False
        if not text:
            self.block_plain = self.single = True
            self.block = False
            return
        flags = _scan(text)
        self.multiline = flags["line_breaks"]
        edges = flags["leading_space"] or flags["leading_break"] or flags["trailing_space"] or flags["trailing_break"]
        odd = flags["space_break"] or flags["tab"] or flags["special"]
        self.block_plain = not (edges or flags["break_space"] or odd or flags["line_breaks"] or flags["block_indicators"])
        self.single = not (flags["break_space"] or odd)
        self.block = not (flags["trailing_space"] or flags["space_break"] or flags["special"])


def _scan(text: str) -> dict:
    flags = dict.fromkeys(("block_indicators", "line_breaks", "special", "tab", "leading_space",
                           "leading_break", "trailing_space", "trailing_break", "break_space",
                           "space_break"), False)
    if text.startswith(("---", "...")):
        flags["block_indicators"] = True
    preceded_by_whitespace, previous_space, previous_break = True, False, False
    last = len(text) - 1
    for i, ch in enumerate(text):
        followed_by_whitespace = i == last or text[i + 1] in " \t"
        if _block_indicator(ch, i, followed_by_whitespace, preceded_by_whitespace):
            flags["block_indicators"] = True
        if ch == "\t":
            flags["tab"] = True
        elif not _is_printable(ch):
            flags["special"] = True
        if ch == " ":
            flags["leading_space"] |= i == 0
            flags["trailing_space"] |= i == last
            flags["break_space"] |= previous_break
            previous_space, previous_break = True, False
        elif ch in _BREAKS:
            flags["line_breaks"] = True
            flags["leading_break"] |= i == 0
            flags["trailing_break"] |= i == last
            flags["space_break"] |= previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_whitespace = ch in " \t\0" or ch in _BREAKS
    return flags


def _block_indicator(ch: str, i: int, followed_by_whitespace: bool, preceded_by_whitespace: bool) -> bool:
    if i == 0:
        if ch in "#,[]{}&*!|>'\"%@`":
            return True
        return ch in "?:-" and followed_by_whitespace
    if ch == ":":
        return followed_by_whitespace
    return ch == "#" and preceded_by_whitespace


class _Emitter:
    """The emitter's output state: column, whether the last character written was whitespace or
    part of an indentation, and the indentation stack."""

    def __init__(self, best_indent: int):
        self.best_indent = best_indent
        self.out = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.indents = []

    # -- output primitives: put, put_break, write, write_break, write_indent, write_indicator
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
            return
        self.out.append(ch)
        self.column = 0
        self.indention = True

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True

    def write_indicator(self, text: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool, parent: int) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = self.best_indent if flow else 0
        elif parent == _SEQUENCE_ITEM:
            self.indent += 2  # the first indent inside a sequence just skips the "- " indicator
        else:
            self.indent = self.best_indent * ((self.indent + self.best_indent) // self.best_indent)

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # -- nodes
    def node(self, value, parent: int, root: bool = False, simple_key: bool = False) -> None:
        if isinstance(value, dict):
            self.mapping(value, parent)
        elif isinstance(value, (list, tuple)):
            self.sequence(value, parent)
        else:
            self.scalar(_scalar(value), parent, simple_key)

    def mapping(self, value: dict, parent: int) -> None:
        if not value:
            self.write_indicator("{", True, True, False)
            self.write_indicator("}", False, False, False)
            return
        self.increase_indent(False, parent)
        for key in sorted_keys(value):
            self.write_indent()
            self.key(key)
            self.node(value[key], _MAPPING_VALUE)
        self.pop_indent()

    def key(self, key) -> None:
        scalar = _scalar(key)
        if _is_simple_key(scalar):
            self.scalar(scalar, _SIMPLE_KEY, simple_key=True)
            self.write_indicator(":", False, False, False)
            return
        self.write_indicator("?", True, False, True)
        self.scalar(scalar, _COMPLEX_KEY, simple_key=False)
        self.write_indent()
        self.write_indicator(":", True, False, True)

    def sequence(self, value, parent: int) -> None:
        if not value:
            self.write_indicator("[", True, True, False)
            self.write_indicator("]", False, False, False)
            return
        self.increase_indent(False, parent)
        for item in value:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item, _SEQUENCE_ITEM)
        self.pop_indent()

    def scalar(self, scalar: _Scalar, parent: int, simple_key: bool) -> None:
        analysis = _Analysis(scalar.text)
        style = _select_style(scalar, analysis, simple_key)
        if scalar.binary:  # yaml_emitter_process_tag: handle "!!", suffix "binary"
            if not self.whitespace:
                self.put(" ")
            self.put("!!binary")
            self.whitespace = self.indention = False
        self.increase_indent(True, parent)
        _WRITERS[style](self, scalar.text)
        self.pop_indent()

    # -- scalar writers (the breaking of long lines never happens: the width is unlimited)
    def plain(self, text: str) -> None:
        if text and not self.whitespace:
            self.put(" ")
        self.put(text)  # a plain scalar holds no line break: _Analysis refuses them
        if text:
            self.whitespace = False
        self.indention = False

    def single_quoted(self, text: str) -> None:
        self.write_indicator("'", True, False, False)
        breaks = False
        for ch in text:
            if ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                breaks = True
            elif ch == " ":
                self.put(" ")
            else:
                if breaks:
                    self.write_indent()
                self.put("''" if ch == "'" else ch)
                self.indention = False
                breaks = False
        self.write_indicator("'", False, False, False)
        self.whitespace = self.indention = False

    def double_quoted(self, text: str) -> None:
        self.write_indicator('"', True, False, False)
        escape_all = text.startswith("\ufeff")  # is_bom looks at the scalar's first bytes, not at i
        self.put("".join(_double_quoted_char(ch, escape_all) for ch in text))
        self.write_indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def literal(self, text: str) -> None:
        self.write_indicator("|", True, False, False)
        if text and (text[0] == " " or text[0] in _BREAKS):
            self.write_indicator(str(self.best_indent), False, False, False)
        chomp = _chomp_hint(text)
        if chomp:
            self.write_indicator(chomp, False, False, False)
        self.whitespace = True
        breaks = True
        for ch in text:
            if ch in _BREAKS:
                self.write_break(ch)
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


_WRITERS = {PLAIN: _Emitter.plain, SINGLE: _Emitter.single_quoted, DOUBLE: _Emitter.double_quoted,
            LITERAL: _Emitter.literal}


def _is_simple_key(scalar: _Scalar) -> bool:
    """yaml_emitter_check_simple_key: one line, at most 128 bytes (tag included)."""
    if _Analysis(scalar.text).multiline:
        return False
    tag_length = len("!!binary") if scalar.binary else 0
    return tag_length + len(scalar.text.encode("utf-8", "surrogatepass")) <= 128


def _select_style(scalar: _Scalar, analysis: _Analysis, simple_key: bool) -> str:
    """yaml_emitter_select_scalar_style in block context (flow level 0)."""
    style = scalar.style
    if simple_key and analysis.multiline:
        style = DOUBLE
    if style == PLAIN and (not analysis.block_plain or (not scalar.text and simple_key)):
        style = SINGLE
    if style == SINGLE and not analysis.single:
        style = DOUBLE
    if style == LITERAL and (not analysis.block or simple_key):
        style = DOUBLE
    return style


def _chomp_hint(text: str) -> str:
    """yaml_emitter_write_block_scalar_hints: '-' strips a missing final break, '+' keeps extra ones."""
    if not text or text[-1] not in _BREAKS:
        return "-"
    if len(text) == 1 or text[-2] in _BREAKS:
        return "+"
    return ""


_NAMED_ESCAPES = {0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f",
                  0x0D: "r", 0x1B: "e", 0x22: '"', 0x5C: "\\", 0x85: "N", 0xA0: "_", 0x2028: "L",
                  0x2029: "P"}


@functools.lru_cache(maxsize=4096)
def _double_quoted_char(ch: str, escape_all: bool) -> str:
    code = ord(ch)
    if not (escape_all or not _is_printable(ch) or ch in _BREAKS or ch in '"\\'):
        return ch
    if code in _NAMED_ESCAPES:
        return "\\" + _NAMED_ESCAPES[code]
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"
