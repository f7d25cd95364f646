"""Minimal text edits of an environment definition for `credproc env set`.

The edit touches only the bytes it must: the value being replaced, or the lines being added. Every
other byte of the file (comments, blank lines, quoting, indentation, key order) stays as it was.
Positions come from PyYAML's composer (node start/end marks); the result is composed again and
checked to hold the new value at the path before it is returned.

Supported shapes: replacing any existing value (scalar or collection) in a block or flow mapping
or a sequence item, adding a key (and missing parent keys) to a block or flow mapping, adding
`values:` to a document that lacks it, and filling an empty `key:`. Anything else (creating a list
element, descending into a scalar) is a UsageError that points to `credproc env edit`.
"""
import json
import re
import unicodedata

from credproc.errors import UsageError

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
# Characters that make a plain scalar mean something else, or end it, in some context.
_UNSAFE_PLAIN = re.compile(r"[,\[\]{}#&*!|>'\"%@`]|: |:$|^[-?:] |^[-?:]$|^\s|\s$")
SECRET_KEY = "fn::secret"


# --- rendering the new value -----------------------------------------------------------------------

def quote(text: str) -> str:
    """A double-quoted YAML scalar for ``text`` (JSON string syntax, non-printables escaped)."""
    out = []
    for ch in json.dumps(text, ensure_ascii=False)[1:-1]:
        category = unicodedata.category(ch)
        if category[0] in "CZ" and ch != " " and category != "Co":
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def scalar_text(value: str, *, as_string: bool) -> str:
    """The YAML text written for VALUE: the scalar as typed (so `42` stays a number, `0777` is read
    as ESC reads it and `${x}` interpolates), or with ``as_string`` the exact text as a quoted
    string, `$` written `$$` so that the language reads back exactly VALUE (a secret such as
    `pa$$word` must not lose a character, and `fn::secret` accepts only literal text)."""
    if as_string:
        return quote(value.replace("$", "$$"))
    if "\n" in value or "\r" in value:
        raise UsageError("VALUE must be a single-line YAML scalar (use --string for text)")
    import yaml

    try:
        node = yaml.compose(value, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return quote(value)  # not YAML at all: it can only have been meant as text
    if node is None:
        return "null"
    if not isinstance(node, yaml.ScalarNode):
        raise UsageError("VALUE must be a YAML scalar, not a list or an object (use --string for text)")
    text = value.strip()
    if node.style in ("'", '"'):
        if node.start_mark.index == value.index(text) and node.end_mark.index == value.index(text) + len(text):
            return text
        return quote(node.value)
    from credproc.store.render import _resolves_to_non_string

    if node.value == text and (_resolves_to_non_string(text) or not _UNSAFE_PLAIN.search(text)):
        return text
    return quote(node.value)


def key_text(key: str) -> str:
    from credproc.store.render import _resolves_to_non_string

    if _PLAIN_KEY.fullmatch(key) and not _resolves_to_non_string(key):
        return key
    return quote(key)


# --- the edit ------------------------------------------------------------------------------------

def set_value(source: str, path: list, value_text: str, *, secret: bool = False) -> str:
    """``source`` with ``values.<path>`` set to the YAML scalar ``value_text`` (wrapped in
    ``fn::secret`` when ``secret``). ``path`` elements are str keys or int indices."""
    if not path:
        raise UsageError("no property path given")
    editor = _Editor(source, value_text, secret)
    result = editor.apply(["values"] + list(path))
    _verify(result, path, value_text, secret)
    return result


def _compose(text: str):
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"cannot edit the definition: it is not valid YAML{where}") from None


def _is_empty_scalar(node) -> bool:
    import yaml

    return isinstance(node, yaml.ScalarNode) and node.style is None and node.value == "" and not node.tag.endswith(":str")


class _Editor:
    def __init__(self, text: str, value_text: str, secret: bool):
        self.text = text
        self.value_text = value_text
        self.secret = secret

    # The replacement forms of the new value.
    def flow_value(self) -> str:
        return f'{{"{SECRET_KEY}": {self.value_text}}}' if self.secret else self.value_text

    def block_entry(self, keys: list, indent: int) -> str:
        """Lines (no trailing newline) for ``keys[0]: ... keys[-1]: VALUE`` at ``indent``."""
        lines, pad = [], indent
        for key in keys[:-1]:
            lines.append(" " * pad + key_text(_need_key(key)) + ":")
            pad += 2
        last = " " * pad + key_text(_need_key(keys[-1])) + ":"
        if self.secret:
            lines += [last, " " * (pad + 2) + f"{SECRET_KEY}: {self.value_text}"]
        else:
            lines.append(last + " " + self.value_text)
        return "\n".join(lines)

    def flow_entry(self, keys: list) -> str:
        text = self.flow_value()
        for key in reversed(keys[1:]):
            text = f"{{{key_text(_need_key(key))}: {text}}}"
        return f"{key_text(_need_key(keys[0]))}: {text}"

    def splice(self, start: int, end: int, new: str) -> str:
        return self.text[:start] + new + self.text[end:]

    # Walking the document.
    def apply(self, path: list) -> str:
        import yaml

        root = _compose(self.text)
        if root is None:
            prefix = self.text if not self.text or self.text.endswith("\n") else self.text + "\n"
            return prefix + self.block_entry(path, 0) + "\n"
        if not isinstance(root, yaml.MappingNode):
            raise UsageError("cannot edit the definition: the document is not a mapping")
        node = root
        for depth, key in enumerate(path):
            if isinstance(node, yaml.MappingNode):
                entry = _find(node, key, fold_case=(depth == 0))
                if entry is None:
                    return self.insert(node, path[depth:])
                key_node, value_node = entry
                if depth == len(path) - 1:
                    return self.replace_entry(node, key_node, value_node)
                if _is_empty_scalar(value_node):
                    return self.fill_empty(node, key_node, path[depth + 1:])
                node = value_node
            elif isinstance(node, yaml.SequenceNode):
                if not isinstance(key, int) or not 0 <= key < len(node.value):
                    raise _unsupported(path, depth + 1, "no such list element")
                item = node.value[key]
                if depth == len(path) - 1:
                    return self.replace_item(node, item)
                node = item
            else:
                raise _unsupported(path, depth, "it is not an object")
        raise _unsupported(path, len(path), "unexpected shape")  # pragma: no cover

    def replace_entry(self, mapping, key_node, value_node) -> str:
        end = self.value_end(key_node, value_node)
        if mapping.flow_style:
            start = value_node.start_mark.index if not _is_empty_scalar(value_node) else end
            return self.splice(start, end, (" " if start == end else "") + self.flow_value())
        colon = self.colon_after(key_node)
        if self.secret:
            pad = " " * (key_node.start_mark.column + 2)
            return self.splice(colon, end, f":\n{pad}{SECRET_KEY}: {self.value_text}")
        return self.splice(colon, end, ": " + self.value_text)

    def replace_item(self, sequence, item) -> str:
        start, end = item.start_mark.index, self.node_end(item)
        if sequence.flow_style:
            return self.splice(start, end, self.flow_value())
        new = f"{SECRET_KEY}: {self.value_text}" if self.secret else self.value_text
        return self.splice(start, end, new)

    def fill_empty(self, mapping, key_node, rest: list) -> str:
        colon = self.colon_after(key_node)
        if mapping.flow_style:
            return self.splice(colon, colon + 1, ": {" + self.flow_entry(rest) + "}")
        block = self.block_entry(rest, key_node.start_mark.column + 2)
        return self.splice(colon, colon + 1, ":\n" + block)

    def insert(self, mapping, keys: list) -> str:
        if mapping.flow_style:
            close = mapping.end_mark.index - 1
            if self.text[close] != "}":
                raise UsageError("cannot edit this flow mapping; use `credproc env edit`")
            separator = ", " if mapping.value else ""
            return self.splice(close, close, separator + self.flow_entry(keys))
        indent = mapping.value[0][0].start_mark.column
        last_key, last_value = mapping.value[-1]
        end = self.value_end(last_key, last_value)
        newline = self.text.find("\n", end)
        position = len(self.text) if newline < 0 else newline
        return self.splice(position, position, "\n" + self.block_entry(keys, indent))

    # Positions.
    def colon_after(self, key_node) -> int:
        index = key_node.end_mark.index
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        if index >= len(self.text) or self.text[index] != ":":
            raise UsageError("cannot edit this key's layout; use `credproc env edit`")
        return index

    def value_end(self, key_node, value_node) -> int:
        if _is_empty_scalar(value_node):
            return self.colon_after(key_node) + 1
        return self.node_end(value_node)

    def node_end(self, node) -> int:
        import yaml

        if isinstance(node, yaml.ScalarNode) or node.flow_style or not node.value:
            end = node.end_mark.index
            while end > node.start_mark.index and self.text[end - 1] in " \t\r\n":
                end -= 1
            return end
        if isinstance(node, yaml.MappingNode):
            key, value = node.value[-1]
            return self.value_end(key, value)
        return self.node_end(node.value[-1])


def _need_key(key) -> str:
    if not isinstance(key, str):
        raise UsageError("cannot create a list element; use `credproc env edit`")
    return key


def _find(mapping, key, *, fold_case: bool):
    """The last (key node, value node) whose key is ``key`` (ESC: the last duplicate wins)."""
    import yaml

    if not isinstance(key, str):
        return None
    found = None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode):
            name = key_node.value
            if name == key or (fold_case and name.lower() == key.lower()):
                found = (key_node, value_node)
    return found


def _unsupported(path: list, depth: int, why: str) -> UsageError:
    """``path`` starts with "values"; ``path[:depth]`` leads to the node that is in the way."""
    shown = format_path(path[1:depth]) or "values"
    return UsageError(f"cannot set {format_path(path[1:])}: {shown}: {why}")


def format_path(path: list) -> str:
    out = ""
    for element in path:
        if isinstance(element, int):
            out += f"[{element}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", element):
            out += ("." if out else "") + element
        else:
            out += "[" + json.dumps(element) + "]"
    return out


def _verify(result: str, path: list, value_text: str, secret: bool) -> None:
    """Compose the edited text and check that values.<path> now holds the new value."""
    import yaml

    expected = yaml.compose(value_text, Loader=yaml.SafeLoader)
    node = _compose(result)
    for depth, key in enumerate(["values"] + list(path)):
        if isinstance(node, yaml.MappingNode):
            entry = _find(node, key, fold_case=(depth == 0))
            node = entry[1] if entry else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
    if secret and isinstance(node, yaml.MappingNode) and len(node.value) == 1 \
            and node.value[0][0].value == SECRET_KEY:
        node = node.value[0][1]
    ok = isinstance(node, yaml.ScalarNode) and (
        expected is None and node.value in ("", "null") or
        expected is not None and node.value == expected.value)
    if not ok:
        raise UsageError("cannot set this path in this file's layout; use `credproc env edit`")


# --- replacing a whole node (`env rotate` writes a rotator's new state) ----------------------------

def set_node(source: str, doc_path: list, value) -> str:
    """``source`` with the node at ``doc_path`` (keys and list indices from the document's top, e.g.
    ["values", "db", "fn::rotate::swap", "state"]; a missing last key is added) replaced by
    ``value``: plain data (dict, list, str, credproc.lang.values.Number, bool, None) written as YAML
    that the language reads back as exactly that data (strings quoted unless plain is unambiguous,
    `$` doubled so nothing interpolates). Every byte outside the replaced node stays as it was."""
    if not doc_path:
        raise UsageError("no document path given")
    crlf = "\r\n" in source and source.count("\r\n") == source.count("\n")  # a Windows file stays one
    text = source.replace("\r\n", "\n") if crlf else source
    result = _NodeEditor(text, value).apply(list(doc_path))
    if not _node_equals(node_at(result, list(doc_path)), value):
        raise UsageError("cannot write this value in this file's layout; use `credproc env edit`")
    return result.replace("\n", "\r\n") if crlf else result


def node_at(source: str, doc_path: list):
    """The composed YAML node at ``doc_path`` (the top-level key matched case-insensitively, the
    last duplicate key winning, as ESC reads it), or None."""
    import yaml

    node = _compose(source)
    for depth, key in enumerate(doc_path):
        if isinstance(node, yaml.MappingNode):
            entry = _find(node, key, fold_case=(depth == 0))
            node = entry[1] if entry else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            return None
    return node


def _is_block(value) -> bool:
    """Written on lines of its own (a non-empty object or list), not inline."""
    return isinstance(value, (dict, list)) and bool(value)


def _node_key_text(key: str, *, block: bool) -> str:
    if block and _FUNCTION_KEY.fullmatch(key):
        return key  # fn::secret: as people write it; inside {...} it is quoted by key_text
    return key_text(key)


_FUNCTION_KEY = re.compile(r"fn::[A-Za-z][A-Za-z0-9:-]*")


def _scalar_node_text(value) -> str:
    from credproc.lang.values import Number

    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Number):
        return str.__str__(value)  # the number as it was written
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if not isinstance(value, str):
        raise UsageError(f"cannot write a value of type {type(value).__name__}")
    from credproc.store.render import _resolves_to_non_string

    if _PLAIN_KEY.fullmatch(value) and not _resolves_to_non_string(value):
        return value
    return quote(value.replace("$", "$$"))


def flow_text(value) -> str:
    """``value`` on one line: {k: v, ...}, [a, ...] or a scalar."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key_text(k)}: {flow_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_text(item) for item in value) + "]"
    return _scalar_node_text(value)


def block_lines(value, indent: int) -> list:
    """A non-empty object or list as block lines at ``indent``: `k: v`, `k:` + deeper lines,
    `- item`, `- k: v` (the other keys of that item aligned under k)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = pad + _node_key_text(key, block=True) + ":"
            if _is_block(item):
                lines += [head] + block_lines(item, indent + 2)
            else:
                lines.append(f"{head} {flow_text(item)}")
        return lines
    for item in value:
        if _is_block(item):
            nested = block_lines(item, indent + 2)
            lines += [pad + "- " + nested[0][indent + 2:]] + nested[1:]
        else:
            lines.append(f"{pad}- {flow_text(item)}")
    return lines


class _NodeEditor(_Editor):
    """_Editor whose new value is any plain data, written in block style where the file is."""

    def __init__(self, text: str, value):
        super().__init__(text, flow_text(value), False)  # the inline form, where _Editor writes one
        self.value = value

    def flow_value(self) -> str:
        return self.value_text

    def block_entry(self, keys: list, indent: int) -> str:
        lines, pad = [], indent
        for key in keys[:-1]:
            lines.append(" " * pad + key_text(_need_key(key)) + ":")
            pad += 2
        return "\n".join(lines + self._entry_lines(_need_key(keys[-1]), pad))

    def _entry_lines(self, key: str, indent: int) -> list:
        head = " " * indent + key_text(key) + ":"
        if _is_block(self.value):
            return [head] + block_lines(self.value, indent + 2)
        return [f"{head} {self.flow_value()}"]

    def replace_entry(self, mapping, key_node, value_node) -> str:
        if mapping.flow_style or not _is_block(self.value):
            return super().replace_entry(mapping, key_node, value_node)
        end = self.value_end(key_node, value_node)
        if _is_block(value_node.value) and not value_node.flow_style:  # lines of its own already: keep
            column = value_node.start_mark.column  # the comment after `key:` and the file's indentation
            lines = block_lines(self.value, column)
            return self.splice(value_node.start_mark.index, end, "\n".join([lines[0][column:]] + lines[1:]))
        lines = block_lines(self.value, key_node.start_mark.column + 2)
        return self.splice(self.colon_after(key_node), end, ":\n" + "\n".join(lines))

    def replace_item(self, sequence, item) -> str:
        if sequence.flow_style or not _is_block(self.value):
            return super().replace_item(sequence, item)
        column = item.start_mark.column
        lines = block_lines(self.value, column)
        return self.splice(item.start_mark.index, self.node_end(item), "\n".join([lines[0][column:]] + lines[1:]))


def _node_equals(node, value) -> bool:
    import yaml

    if isinstance(value, dict):
        return isinstance(node, yaml.MappingNode) and len(node.value) == len(value) and all(
            isinstance(k, yaml.ScalarNode) and k.value in value and _node_equals(v, value[k.value])
            for k, v in node.value)
    if isinstance(value, list):
        return isinstance(node, yaml.SequenceNode) and len(node.value) == len(value) and all(
            _node_equals(n, v) for n, v in zip(node.value, value))
    if not isinstance(node, yaml.ScalarNode):
        return False
    written = _scalar_node_text(value)
    if written.startswith('"'):
        return node.style == '"' and node.value == value.replace("$", "$$")
    return node.style is None and node.value == written
