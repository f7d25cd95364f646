"""Stage 1: YAML bytes -> a node tree where every node knows its place (ESC `syntax/encoding`).

Decoding follows Go's yaml.v3 as ESC uses it (YAML 1.2 core schema), not PyYAML's YAML 1.1
resolver: ``yes``/``on`` are strings, ``0777`` is 511, ``1_000`` is 1000, floats become Go ``%g``
text. The tree is built from PyYAML *events* (libyaml's C parser when available), so anchors and
aliases are never expanded: an alias is an error, which makes alias bombs harmless.

Limits (each produces a diagnostic, never an exception):
  * MAX_SOURCE_BYTES: a definition larger than 1 MiB is refused;
  * MAX_DEPTH: nesting deeper than 256 collections is refused (evaluation is recursive);
  * invalid UTF-8 is refused.
"""
import math
import re

from credproc.lang.diagnostics import Diagnostic
from credproc.lang.values import Number, format_go_float

MAX_SOURCE_BYTES = 1024 * 1024
MAX_DEPTH = 256

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_string(value) -> bool:
    """A YAML string (Number subclasses str but is a number)."""
    return isinstance(value, str) and not isinstance(value, Number)


def join_key(path: str, key: str) -> str:
    """ESC's util.JoinKey, the one rule for document and property paths: `a.b`, `a["b-c"]` for a
    key that is not an ASCII identifier, and `path` itself for the empty key. Like ESC, only `"` is
    escaped: ESC's path parser reads `\\` as itself unless a `"` follows, so escaping it would change
    the bytes of every diagnostic that names such a key."""
    if key == "":
        return path
    if _IDENT.match(key):
        return f"{path}.{key}" if path else key
    quoted = key.replace('"', '\\"')
    return f'{path}["{quoted}"]'


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


class Node:
    """Base of the syntax nodes: 1-based start/end line and column, and the YAML document path."""

    __slots__ = ("line", "column", "end_line", "end_column", "path")

    def __init__(self, line, column, end_line, end_column, path):
        self.line, self.column = line, column
        self.end_line, self.end_column = end_line, end_column
        self.path = path


class ScalarNode(Node):
    """value: None | bool | Number | str. `plain` is true for an unquoted (plain style) scalar."""

    __slots__ = ("value", "plain", "text")

    def __init__(self, value, text, plain, line, column, end_line, end_column, path):
        super().__init__(line, column, end_line, end_column, path)
        self.value, self.text, self.plain = value, text, plain

    def position_of(self, offset: int):
        """(line, column) of character `offset` of the scalar's text.

        Exact only for single-line plain scalars, whose text is the source text; otherwise (quoted
        or multi-line) the scalar's own start, as ESC does.
        """
        if self.plain and self.line == self.end_line and is_string(self.value):
            return self.line, self.column + offset
        return self.line, self.column


class SequenceNode(Node):
    __slots__ = ("items",)

    def __init__(self, items, line, column, path):
        super().__init__(line, column, line, column, path)
        self.items = items


class MappingNode(Node):
    """entries: list of (ScalarNode key, Node value) in source order, duplicates included."""

    __slots__ = ("entries",)

    def __init__(self, entries, line, column, path):
        super().__init__(line, column, line, column, path)
        self.entries = entries


class YamlError(Exception):
    """A fatal decoding problem; carries the node position when there is one."""

    def __init__(self, message, line=None, column=None, path=""):
        super().__init__(message)
        self.message, self.line, self.column, self.path = message, line, column, path


# --- scalar resolution (yaml.v3 resolve.go) ---------------------------------------------------------

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    ".nan": "NaN", ".NaN": "NaN", ".NAN": "NaN",
    ".inf": "+Inf", ".Inf": "+Inf", ".INF": "+Inf", "+.inf": "+Inf", "+.Inf": "+Inf", "+.INF": "+Inf",
    "-.inf": "-Inf", "-.Inf": "-Inf", "-.INF": "-Inf",
    "-0": "-0", "-0.0": "-0",
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2 ** 63), 2 ** 63 - 1, 2 ** 64 - 1


def _go_parse_int(text: str, unsigned: bool):
    """Go strconv.ParseInt/ParseUint(text, 0, 64) after yaml.v3 removed the underscores."""
    sign, body = 1, text
    if body[:1] in "+-" and body:
        if unsigned:
            return None
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if not body:
        return None
    base, digits = 10, body
    low = body[:2].lower()
    if low == "0x":
        base, digits = 16, body[2:]
    elif low == "0o":
        base, digits = 8, body[2:]
    elif low == "0b":
        base, digits = 2, body[2:]
    elif body[0] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
    if not digits or not all(c in "0123456789abcdefABCDEF"[: base if base <= 10 else 22] for c in digits):
        return None
    n = sign * int(digits, base)
    if unsigned:
        return n if 0 <= n <= _UINT64_MAX else None
    return n if _INT64_MIN <= n <= _INT64_MAX else None


def resolve_plain(text: str):
    """Value of an untagged plain scalar: None, bool, Number or str."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _SPECIAL_FLOATS:
        return Number(_SPECIAL_FLOATS[text])
    first = text[0]
    if first == ".":
        return _as_float(text) or text
    if first in "+-0123456789":
        plain = text.replace("_", "")
        for unsigned in (False, True):
            n = _go_parse_int(plain, unsigned)
            if n is not None:
                return Number(str(n))
        if _YAML_FLOAT.match(plain):
            f = _as_float(plain)
            if f is not None:
                return f
        for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
            if plain.startswith(prefix):
                try:
                    n = int(plain[len(prefix):], base) * (-1 if prefix[0] == "-" else 1)
                except ValueError:
                    break
                if _INT64_MIN <= n <= _INT64_MAX:
                    return Number(str(n))
                break
    return text


def _as_float(text: str):
    # Go strconv.ParseFloat: no '_' without a base prefix, and out-of-range values (1e400) are an
    # error, after which yaml.v3 keeps the scalar as a string (Python would give inf / accept '_').
    if "_" in text:
        return None
    try:
        f = float(text)
    except ValueError:
        return None
    if math.isinf(f):
        return None
    return Number(format_go_float(f))


_TAG = "tag:yaml.org,2002:"


def _resolve_scalar(event, path):
    text, tag = event.value, event.tag
    plain = event.style is None or event.style == ""
    if tag and tag.startswith(_TAG):
        kind = tag[len(_TAG):]
        if kind in ("str", "timestamp"):
            return text
        if kind == "binary":
            return _decode_binary(text, event, path)
        if kind in ("null", "bool", "int", "float"):
            value = resolve_plain(text) if text else None
            if _tag_matches(kind, value):
                if kind == "float" and isinstance(value, Number) and value not in ("NaN", "+Inf", "-Inf"):
                    return Number(format_go_float(float(value)))
                return value
            line, column = _start(event)
            raise YamlError(f"yaml: line {line}: cannot decode !!{_short_kind(value)} `{text}` as a !!{kind}",
                            line, column, path)
        # !!map / !!seq / other standard tags on a scalar: decode as if untagged
    if not plain:
        return text
    return resolve_plain(text)


def _tag_matches(kind, value):
    if kind == "null":
        return value is None
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, Number) and _is_int_text(value)
    return isinstance(value, Number)


def _is_int_text(n):
    return n.lstrip("-").isdigit()


def _short_kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Number):
        return "int" if _is_int_text(value) else "float"
    return "str"


def _decode_binary(text, event, path):
    import base64
    import binascii

    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        line, column = _start(event)
        raise YamlError(f"yaml: line {line}: !!binary value contains invalid base64 data", line, column, path)


def _start(event):
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _end(event):
    mark = event.end_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


# --- building the tree from events -------------------------------------------------------------------

def _loader_class():
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


class _Builder:
    """Turns the events of the first document into nodes without recursion."""

    def __init__(self):
        self.stack = []  # open collections: [kind, node, pending_key]
        self.root = None

    def path_for_next(self):
        if not self.stack:
            return ""
        kind, node, key = self.stack[-1]
        if kind == "seq":
            return join_index(node.path, len(node.items))
        if key is None:
            return node.path  # the key itself: its path is fixed once it is known
        return join_key(node.path, key.value)

    def add(self, node):
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        kind, parent, key = frame
        if kind == "seq":
            parent.items.append(node)
        elif key is None:
            if not (isinstance(node, ScalarNode) and is_string(node.value)):
                raise YamlError("mapping keys must be strings", node.line, node.column, parent.path)
            node.path = join_key(parent.path, node.value)
            frame[2] = node
        else:
            parent.entries.append((key, node))
            frame[2] = None

    def handle(self, event):
        import yaml

        if isinstance(event, yaml.AliasEvent):
            line, column = _start(event)
            raise YamlError("alias nodes are not supported", line, column, self.path_for_next())
        if isinstance(event, yaml.ScalarEvent):
            path = self.path_for_next()
            value = _resolve_scalar(event, path)
            line, column = _start(event)
            end_line, end_column = _end(event)
            plain = event.style is None or event.style == ""
            self.add(ScalarNode(value, event.value, plain, line, column, end_line, end_column, path))
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(self.stack) >= MAX_DEPTH:
                line, column = _start(event)
                raise YamlError(f"nesting is deeper than the limit of {MAX_DEPTH} levels", line, column,
                                self.path_for_next())
            line, column = _start(event)
            path = self.path_for_next()
            if isinstance(event, yaml.SequenceStartEvent):
                node, kind = SequenceNode([], line, column, path), "seq"
            else:
                node, kind = MappingNode([], line, column, path), "map"
            self.stack.append([kind, node, None])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            _, node, _ = self.stack.pop()
            node.end_line, node.end_column = _end(event)
            self.add(node)


def parse_yaml(name: str, source: bytes):
    """(root Node | None, diagnostics). None when the YAML cannot be decoded (all such problems are
    fatal in ESC). Zero bytes decode to an empty mapping; a document with no content to a null scalar."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")
    if len(source) > MAX_SOURCE_BYTES:
        return None, [_fatal(name, f"environment definition is too large ({len(source)} bytes; "
                                   f"the limit is {MAX_SOURCE_BYTES} bytes)")]
    if len(source) == 0:
        return MappingNode([], 1, 1, ""), []
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, [_fatal(name, f"yaml: invalid UTF-8 at byte offset {err.start}")]
    try:
        root = _build(text)
    except YamlError as err:
        return None, [Diagnostic("error", err.message, name, err.line, err.column, err.path)]
    except Exception as err:  # yaml.YAMLError and anything libyaml raises on hostile input
        return None, [_fatal(name, _yaml_message(err))]
    if root is None:
        root = ScalarNode(None, "", True, 1, 1, 1, 1, "")
    return root, []


def _build(text):
    import yaml

    loader = _loader_class()(text)
    builder = _Builder()
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentEndEvent):
                break  # like yaml.v3 Unmarshal, only the first document counts
            builder.handle(event)
    finally:
        loader.dispose()
    return builder.root


def _yaml_message(err) -> str:
    problem = getattr(err, "problem", None)
    mark = getattr(err, "problem_mark", None)
    if problem and mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    text = " ".join(str(err).split())
    return f"yaml: {text}" if text else "yaml: invalid document"


def _fatal(name, summary):
    return Diagnostic("error", summary, name, None, None, "")


def plain(node):
    """A parsed node as plain dicts, lists and scalars (its depth is bounded by MAX_DEPTH; a repeated
    key keeps its last value, as the YAML decoders do): for reading a definition without evaluating it."""
    if isinstance(node, MappingNode):
        return {str(key.value): plain(value) for key, value in node.entries}
    if isinstance(node, SequenceNode):
        return [plain(item) for item in node.items]
    return node.value


def provider_inputs(node, provider: str):
    """The inputs of every open of ``provider`` below the plain ``node``, in the short
    (`fn::open::NAME: inputs`) and long (`fn::open: {provider: NAME, inputs: ...}`) forms."""
    if isinstance(node, list):
        for item in node:
            yield from provider_inputs(item, provider)
    if not isinstance(node, dict):
        return
    for key, member in node.items():
        if key == f"fn::open::{provider}":
            yield member
        elif key == "fn::open" and isinstance(member, dict) and member.get("provider") == provider:
            yield member.get("inputs")
        else:
            yield from provider_inputs(member, provider)
