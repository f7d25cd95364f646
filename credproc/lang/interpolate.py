"""Stage 2a: `${...}` interpolation and property-access parsing (ESC `ast/interpolation`, `ast/property`).

    text      := { '$$' | '${' access | any other character }
    access    := { accessor } '}'
    accessor  := [ '.' ] name | '[' ( '"' quoted '"' | digits ) ']'
    name      := 1+ characters, none of '.' '[' '}' whitespace

Every syntax error is reported with the character offset where it starts, and parsing recovers
with a best-effort access so that evaluation can still run. Offsets are in characters of the
scalar's text; the syntax stage maps them to columns.
"""
import re
from dataclasses import dataclass, field

_GO_INT = re.compile(r"[+-]?[0-9]+\Z")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# Go's unicode.IsSpace applied to single bytes: ASCII whitespace (and two bytes that only occur
# inside multi-byte UTF-8 sequences, which we do not imitate).
_SPACES = frozenset(" \t\n\v\f\r")
_NAME = re.compile(r"[^.\[} \t\n\v\f\r]*")  # a name runs until one of these


@dataclass
class Accessor:
    """kind: "name" (value str), "key" (quoted subscript, value str) or "index" (value int).

    An unquoted subscript that is not a number (`[x]`, a load error) keeps its text as a key,
    as ESC does, so evaluation can go on.
    """

    kind: str
    value: object
    start: int
    end: int


@dataclass
class Part:
    """Literal `text` followed by an optional property access (list of Accessor)."""

    text: str
    access: "list | None" = None
    start: int = 0  # offset of the `${`


@dataclass
class Interpolation:
    parts: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (offset, message)

    @property
    def has_access(self) -> bool:
        return any(p.access is not None for p in self.parts)

    def is_symbol(self) -> bool:
        """Exactly one access and no text around it."""
        return len(self.parts) == 1 and self.parts[0].access is not None and self.parts[0].text == ""

    def literal_text(self) -> str:
        return "".join(p.text for p in self.parts)


def parse_interpolation(text: str) -> Interpolation:
    result = Interpolation()
    if "$" not in text:  # the common case: plain text
        if text:
            result.parts.append(Part(text))
        return result
    literal = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("$$", i):
            literal.append("$")
            i += 2
        elif text.startswith("${", i):
            parser = _AccessParser(text, i + 2, result.errors)
            access, i_next = parser.parse()
            result.parts.append(Part("".join(literal), access, i))
            literal = []
            i = i_next
        else:
            # copy a run of ordinary characters at once
            j = text.find("$", i + 1)
            j = n if j < 0 else j
            literal.append(text[i:j])
            i = j
    if literal:
        result.parts.append(Part("".join(literal)))
    return result


def parse_access_path(text: str):
    """Parse a bare property path such as `a.b[0]["c.d"]` (no `${}`): (accessors, errors)."""
    errors = []
    parser = _AccessParser(text + "}", 0, errors)
    access, end = parser.parse()
    if end != len(text) + 1:
        errors.append((end, "unexpected text after the property path"))
    return access, errors


class _AccessParser:
    def __init__(self, text, offset, errors):
        self.text, self.offset, self.errors = text, offset, errors
        self.accessors = []

    def error(self, at, message):
        self.errors.append((at, message))

    def peek(self):
        return self.text[self.offset] if self.offset < len(self.text) else None

    def next(self):
        at = self.offset
        self.offset += 1
        return at

    def parse(self):
        while True:
            c = self.peek()
            if c is None:
                self.error(self.offset, "missing closing brace '}' in interpolation")
                return self.finish(self.offset)
            if c == "}":
                return self.finish(self.next())
            if c == ".":
                self.accessors.append(self.parse_name(self.next()))
            elif c == "[":
                self.accessors.append(self.parse_subscript(self.next()))
            elif c in _SPACES:
                self.error(self.offset, "missing closing brace '}' in interpolation")
                return self.finish(self.offset)
            else:
                self.accessors.append(self.parse_name(self.offset))

    def finish(self, start):
        if not self.accessors:
            self.accessors.append(Accessor("name", "", start, self.offset))
        return self.accessors, self.offset

    @staticmethod
    def terminates_name(c):
        return c in ".[}" or c in _SPACES

    def parse_name(self, start):
        begin = self.offset
        self.offset = _NAME.match(self.text, begin).end()
        name = self.text[begin:self.offset]
        if not name:
            self.error(start, "property name must not be empty")
        return Accessor("name", name, start, self.offset)

    def parse_subscript(self, start):
        c = self.peek()
        if c is None:
            self.error(start, "subscript is missing closing bracket ']'")
            return Accessor("key", "", start, self.offset)
        if c == '"':
            self.next()
            kind, index = "key", self.parse_string_subscript(start)
        else:
            kind, index = self.parse_index_subscript(start)
        c = self.peek()
        if c != "]":
            self.error(start, "subscript is missing closing bracket ']'")
        else:
            self.next()
        return Accessor(kind, index, start, self.offset)

    def parse_string_subscript(self, start):
        key = []
        while True:
            c = self.peek()
            if c is None:
                self.error(start + 1, "key subscript is missing closing quote '\"'")
                return "".join(key)
            self.next()
            if c == '"':
                if not key:
                    self.error(start + 1, "key subscript must not be empty")
                return "".join(key)
            if c == "\\" and self.peek() == '"':
                self.next()
                c = '"'
            key.append(c)

    def parse_index_subscript(self, start):
        begin = self.offset
        while True:
            c = self.peek()
            if c is None or c == "]" or self.terminates_name(c):
                break
            self.offset += 1
        digits = self.text[begin:self.offset]
        number = _go_parse_int(digits)
        if number is None:
            self.error(start + 1, "numeric subscript must be a positive base-10 integer")
            return "key", digits
        if not self.accessors:
            self.error(start, "the first accessor must be a property name or key subscript, not a numeric subscript")
        return "index", number


def _go_parse_int(digits):
    # Go strconv.ParseInt(s, 10, 0): optional sign, decimal digits, 64-bit range.
    if not _GO_INT.match(digits):
        return None
    value = int(digits)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def format_access(accessors) -> str:
    """Canonical text of a property path: `a.b[0]["c.d"]`."""
    out = []
    for a in accessors:
        if a.kind == "index":
            out.append(f"[{a.value}]")
        elif a.kind == "name" and out:
            out.append("." + a.value)
        elif a.kind == "name":
            out.append(a.value)
        else:
            quoted = str(a.value).replace('"', '\\"')
            out.append(f'["{quoted}"]')
    return "".join(out)
