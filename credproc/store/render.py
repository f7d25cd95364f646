"""Output renderers of `credproc env open` / `env get`, as `esc env open` / `esc env get` print.

Formats (see docs/esc-language.md §17 and §9):
    json      Go json.Encoder with a 2-space indent: sorted keys, HTML escaping, trailing newline.
    yaml      the plain value exactly as ESC's yaml.v3 v3.0.1 writes it (credproc.store.yamlout):
              indent 3, numbers double-quoted (json.Number is a Go string), natural key order.
    string    the string form of the value, a newline appended unless it already ends with one.
    dotenv    KEY='value' lines: environmentVariables (sorted), then files (sorted); a file
              entry's value is the path of a temp file (mode 0600) holding its content (kept
              after exit, like ESC). Quoted by dotenv_quoted (not Go-quoted as ESC does).
    shell     `export KEY=...` lines, each value quoted by shell_quoted (not Go-quoted as ESC does).
    detailed  Go's json.Encoder of esc.Value: {"value", "secret", "unknown", "trace"} in that order,
              trace always there (zero positions: the evaluator records no source ranges).

dotenv and shell differ from ESC's bytes on purpose: ESC writes "..." with Go escapes, so `$(...)`
and backquotes in a value ran when the output was eval'd. Here every value is quoted so that
nothing in it is ever expanded, and an entry that cannot be a variable (a name that is not
[A-Za-z_][A-Za-z0-9_]*, a value holding NUL) is left out with a warning instead of printed.

Redaction: with ``redact`` a secret node prints as "[secret]" (the whole node, in every format,
detailed too: ESC's detailed prints secrets even without --show-secrets); an unknown node prints
as "[unknown]".
"""
import os
import re
import tempfile

from credproc.errors import UsageError

FORMATS = ("json", "yaml", "string", "dotenv", "shell", "detailed")
PROCESS_FORMATS = ("dotenv", "shell")
SECRET = "[secret]"
UNKNOWN = "[unknown]"


# --- property paths: a.b[0]["c.d"] ----------------------------------------------------------------

def parse_property_path(text: str) -> list:
    """Pulumi property path syntax: names separated by '.', [N] indices, ["key"] quoted keys."""
    elements, i, n = [], 0, len(text)
    if text == "":
        return []
    while i < n:
        if text[i] == "[":
            i = _parse_subscript(text, i, elements)
        else:
            j = i
            while j < n and text[j] not in ".[":
                j += 1
            if j == i:
                raise _bad_path(text, "empty name")
            elements.append(text[i:j])
            i = j
        if i < n and text[i] == ".":
            i += 1
            if i == n:
                raise _bad_path(text, "ends with '.'")
    return elements


def _parse_subscript(text: str, i: int, elements: list) -> int:
    n = len(text)
    if i + 1 < n and text[i + 1] == '"':
        j, key = i + 2, []
        while j < n and text[j] != '"':
            if text[j] == "\\" and j + 1 < n and text[j + 1] == '"':  # ESC: only \" is an escape
                j += 1
            key.append(text[j])
            j += 1
        if j + 1 >= n or text[j + 1] != "]":
            raise _bad_path(text, "missing closing '\"]'")
        elements.append("".join(key))
        return j + 2
    end = text.find("]", i)
    if end < 0:
        raise _bad_path(text, "missing closing ']'")
    digits = text[i + 1:end]
    if not digits.isascii() or not digits.isdigit():
        raise _bad_path(text, f"invalid index {digits!r}")
    elements.append(int(digits))
    return end + 1


def _bad_path(text: str, why: str) -> UsageError:
    return UsageError(f"invalid property path {text!r}: {why}")


def select(value, path: list):
    """The Value at ``path`` (ESC getEnvValue), or None when it does not exist."""
    for element in path:
        if value is None or value.unknown:
            return None
        inner = value.value
        if isinstance(inner, list) and isinstance(element, int) and 0 <= element < len(inner):
            value = inner[element]
        elif isinstance(inner, dict) and isinstance(element, str) and element in inner:
            value = inner[element]
        else:
            return None
    return value


# --- values -> plain -----------------------------------------------------------------------------

def redacted_copy(value):
    """The Value tree with every secret node replaced by the string "[secret]"."""
    from credproc.lang.values import Value

    if value is None:
        return None
    if value.secret:
        return Value(SECRET)
    inner = value.value
    if isinstance(inner, list):
        return Value([redacted_copy(v) for v in inner], unknown=value.unknown)
    if isinstance(inner, dict):
        return Value({k: redacted_copy(v) for k, v in inner.items()}, unknown=value.unknown)
    return Value(inner, unknown=value.unknown, schema=value.schema)


def plain(value, redact: bool):
    from credproc.lang.values import to_plain

    return None if value is None else to_plain(value, redact)


def string_of(value, redact: bool) -> str:
    """ESC Value.ToString(redact)."""
    from credproc.lang.values import string_form

    if value is None:
        return ""
    return string_form(redacted_copy(value) if redact else value)


def go_quote(text: str) -> str:
    """Go strconv.Quote (the language's implementation)."""
    from credproc.lang.values import go_quote as quote

    return quote(text)


# --- formats -------------------------------------------------------------------------------------

def check_format(fmt: str, path: list) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if fmt in PROCESS_FORMATS and path:
        raise UsageError(f"output format '{fmt}' may not be used with a property path")


def render(root, fmt: str, *, redact: bool, path: "list | None" = None, write_files: bool = True,
           warn=None) -> str:
    """The text to print for the environment value ``root`` (None: nothing evaluated).

    ``warn(message)`` hears of each entry the dotenv and shell formats leave out."""
    path = path or []
    check_format(fmt, path)
    if root is None:
        return ""  # ESC prints nothing for an environment without values
    if fmt in PROCESS_FORMATS:
        warn = warn or (lambda _: None)
        entries = process_entries(root, redact=redact, write_files=write_files, warn=warn)
        if fmt == "dotenv":
            entries = [(name, text) for name, text in entries if _dotenv_writable(name, text, warn)]
        return "".join(_process_line(fmt, name, text) + "\n" for name, text in entries)
    value = select(root, path) if path else root
    if fmt == "json":
        return to_json(value, redact)
    if fmt == "yaml":
        return to_yaml(plain(value, redact))
    if fmt == "detailed":
        return to_detailed(value, redact)
    text = string_of(value, redact)
    return text if text.endswith("\n") else text + "\n"


def to_json(value, redact: bool) -> str:
    from credproc.lang.values import go_json

    return go_json(plain(value, redact), indent=2) + "\n"


def to_detailed(value, redact: bool) -> str:
    """ESC's ``json.Encoder`` (2-space indent) of the esc.Value: fields in the struct's order
    value, secret, unknown, trace; ``value`` omitted when null, ``secret``/``unknown`` when false,
    ``trace`` always (zero positions when the evaluator recorded none); numbers as written."""
    from credproc.lang.values import Value

    parts = []
    _struct_json(_detailed(value if value is not None else Value(None), redact), parts, 0)
    return "".join(parts) + "\n"


class _Struct(list):
    """(name, value) pairs written in this order, as Go writes a struct's fields."""


def _detailed(value, redact: bool) -> _Struct:
    if redact and value.secret:
        fields = _Struct([("value", SECRET), ("secret", True)])  # the whole node, like the other formats
    else:
        fields = _Struct()
        inner = value.value
        if isinstance(inner, list):
            fields.append(("value", [_detailed(v, redact) for v in inner]))
        elif isinstance(inner, dict):
            fields.append(("value", {k: _detailed(v, redact) for k, v in inner.items()}))
        elif inner is not None:
            fields.append(("value", inner))
        fields += [(name, True) for name in ("secret", "unknown") if getattr(value, name)]
    fields.append(("trace", _trace(value.trace, redact)))
    return fields


def _trace(trace, redact: bool) -> _Struct:
    """esc.Trace from the wire form ``{"def": {"environment", "begin", "end"}, "base": Value}``."""
    trace = trace if isinstance(trace, dict) else {}
    where = trace.get("def") or {}
    span = _Struct([("environment", where["environment"])] if where.get("environment") else [])
    span += [(edge, _position(where.get(edge) or {})) for edge in ("begin", "end")]
    fields = _Struct([("def", span)])
    if trace.get("base") is not None:
        fields.append(("base", _detailed(trace["base"], redact)))
    return fields


def _position(pos: dict) -> _Struct:
    return _Struct((name, int(pos.get(name, 0))) for name in ("line", "column", "byte"))


def _struct_json(node, parts: list, depth: int) -> None:
    """encoding/json with SetIndent("", "  "): maps sorted by key bytes, structs in field order."""
    from credproc.lang.values import go_json, go_json_string

    if isinstance(node, dict):
        node = _Struct((k, node[k]) for k in sorted(node, key=lambda k: k.encode("utf-8", "surrogateescape")))
    if isinstance(node, _Struct) or isinstance(node, list):
        is_object = isinstance(node, _Struct)
        if not node:
            parts.append("{}" if is_object else "[]")
            return
        parts.append("{" if is_object else "[")
        for i, item in enumerate(node):
            parts.append(("," if i else "") + "\n" + "  " * (depth + 1))
            if is_object:
                parts.append(go_json_string(item[0]) + ": ")
                item = item[1]
            _struct_json(item, parts, depth + 1)
        parts.append("\n" + "  " * depth + ("}" if is_object else "]"))
        return
    parts.append(go_json(node))


# --- environmentVariables and files --------------------------------------------------------------

def projections(root, *, redact: bool) -> "tuple[list, list]":
    """([(NAME, string, secret)] of environmentVariables, [(NAME, content, secret)] of files), sorted.

    Only scalar entries count (arrays and objects are skipped, as ESC does)."""
    return _scalar_entries(root, "environmentVariables", redact), _scalar_entries(root, "files", redact)


def _scalar_entries(root, key: str, redact: bool) -> list:
    if root is None or not isinstance(root.value, dict) or key not in root.value:
        return []
    group = root.value[key]
    if group.unknown or not isinstance(group.value, dict):
        return []
    out = []
    for name in sorted(group.value):
        entry = group.value[name]
        if not entry.unknown and isinstance(entry.value, (list, dict)):
            continue
        secret = entry.secret or group.secret
        text = SECRET if (redact and secret) else string_of(entry, False)
        out.append((name, text, secret))
    return out


def process_entries(root, *, redact: bool, write_files: bool, warn) -> list:
    """[(NAME, text)] of the dotenv and shell formats: the environment variables then the files
    (a file's text is the path of a temp file holding its content). Entries that cannot be a
    variable are left out, each with a ``warn(message)``."""
    variables, files = projections(root, redact=redact)
    entries = [(name, text) for name, text, _ in variables if _usable("environmentVariables", name, text, warn)]
    for name, content, secret in files:
        if _usable("files", name, "", warn):  # checked first: no temp file for an entry left out
            shown = write_temp_file(content) if write_files and not (redact and secret) else UNKNOWN
            entries.append((name, shown))
    return entries


VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _usable(group: str, name: str, text: str, warn) -> bool:
    # A name such as `X=1;touch f;Y` would be shell code once printed; NUL ends a C string, so no
    # environment variable can hold it. Both are left out (the key's text is shown Go-quoted: it
    # may hold control characters; a value is never shown).
    if not VARIABLE_NAME.match(name):
        warn(f"{group} key {go_quote(name)} is not a variable name ([A-Za-z_][A-Za-z0-9_]*); left out")
        return False
    if "\0" in text:
        warn(f"{group}.{name} holds a NUL character, which no environment variable can; left out")
        return False
    return True


def _dotenv_writable(name: str, text: str, warn) -> bool:
    problem = dotenv_problem(text)
    if problem:
        warn(f"{name} {problem}; left out (--format shell writes it safely)")
    return not problem


def _process_line(fmt: str, name: str, text: str) -> str:
    if fmt == "shell":
        return f"export {name}={shell_quoted(text)}"
    return f"{name}={dotenv_quoted(text)}"


def shell_quoted(text: str) -> str:
    """``text`` as one word that bash, dash, zsh and fish all read back exactly, expanding nothing.

    Single quotes, but ' and \\ go outside them as \\' and \\\\: fish reads those two escapes even
    inside single quotes, POSIX shells read them only outside. Newlines stay literal (inside quotes)."""
    pieces = re.split(r"([\\'])", text)
    return "".join("\\" + p if p in ("\\", "'") else f"'{p}'" for p in pieces if p) or "''"


# A byte of a non-ASCII character right before an escaping backslash: in a GBK, Big5 or Shift-JIS
# locale the shell reads that backslash as the second byte of a two-byte character, and the $ or `
# it escaped then runs a command (UTF-8 continuation bytes are lead bytes there).
_DOTENV_UNSAFE = re.compile(r'[^\x00-\x7f][\\"$`]')


def dotenv_problem(text: str) -> "str | None":
    """Why ``text`` has no .env form that every reader reads safely, or None. Only double-quoted
    values (those with ' or \\) carry escapes; single quotes have none, and a quote byte is never
    the second byte of a two-byte character in those encodings."""
    if ("'" in text or "\\" in text) and _DOTENV_UNSAFE.search(text.rstrip("\\")):
        return ("has a non-ASCII character right before \\, \", $ or ` in a value that needs double quotes: "
                "a shell in a GBK, Big5 or Shift-JIS locale would read the escaping backslash as part of "
                "that character and run what follows")
    return None


def dotenv_quoted(text: str) -> str:
    """``text`` quoted for a .env file: `set -a; . FILE` (any POSIX shell) reads it exactly, and no
    reader (sh, python-dotenv, docker compose) runs anything or reads part of it as another entry.

    Single quotes when the text has no ' or \\ (exact for all three); else double quotes with
    \\ " $ ` escaped (exact for sh and compose; python-dotenv keeps the backslash before $ and `).
    Never the shell idiom 'it'\\''s': python-dotenv cannot parse it and would then read the rest of
    a multi-line value as entries of their own. A closing quote right after a backslash ends
    nothing for compose, so trailing backslashes go after the quotes as \\\\ (sh reads them;
    python-dotenv drops that entry with a warning, compose refuses the file)."""
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    body = text.rstrip("\\")
    trailing = len(text) - len(body)
    return '"' + re.sub(r'([\\"$`])', r"\\\1", body) + '"' + "\\\\" * trailing


#: `files` written for `env open`/`env get` outlive the command (their paths are printed to be used
#: later, as ESC's are); older ones are removed by the next command that writes one.
FILES_KEPT_SECONDS = 12 * 3600


def write_temp_file(content: str) -> str:
    """A private (0600) file holding ``content`` in the private files directory (never /tmp), whose
    path is printed; files older than FILES_KEPT_SECONDS there are removed first."""
    directory = files_directory()
    _sweep_old_files(directory)
    fd, path = tempfile.mkstemp(prefix="credproc-", dir=directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content.encode("utf-8", "surrogateescape"))
    return path


def files_directory() -> str:
    """<runtime dir>/files (paths.runtime_dir), created 0700; refused when not private."""
    from credproc import fsutil, paths

    directory = os.path.join(paths.runtime_dir(), "files")
    fsutil.make_private_dirs(directory)
    fsutil.check_private(os.path.dirname(directory), "credproc runtime directory", 0o700)
    fsutil.check_private(directory, "files directory", 0o700)
    return directory


def _sweep_old_files(directory: str, limit: "float | None" = None) -> int:
    """Remove the `credproc-*` files older than ``limit`` (a time; default FILES_KEPT_SECONDS ago);
    returns how many went."""
    import time

    limit = time.time() - FILES_KEPT_SECONDS if limit is None else limit
    removed = 0
    for entry in os.scandir(directory):
        try:
            if entry.name.startswith("credproc-") and entry.is_file(follow_symlinks=False) \
                    and entry.stat(follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    return removed


def remove_temp_files() -> int:
    """`cache clear`: every `files` file that `env open`/`get` printed the path of (their secrets
    outlive the command by design, until cleared or FILES_KEPT_SECONDS old). Returns how many."""
    import math

    from credproc import fsutil, paths

    directory = os.path.join(paths.runtime_dir(), "files")
    try:
        fsutil.check_private(directory, "files directory", 0o700)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return _sweep_old_files(directory, limit=math.inf)


# --- YAML in yaml.v3's style ---------------------------------------------------------------------

def to_yaml(data) -> str:
    """ESC's ``yaml.NewEncoder``, ``SetIndent(3)``, ``Encode`` of the plain value (credproc.store.yamlout)."""
    from credproc.store import yamlout

    return yamlout.dump(data, indent=3)


# Used by yamledit (env set) to decide whether a scalar it writes needs quotes (YAML 1.1 readers).
_OLD_BOOLS = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
              "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE"}


def _resolves_to_non_string(text: str) -> bool:
    """Would yaml.v3 read this plain scalar as something other than a string (or an old bool)?"""
    import re

    if text in _OLD_BOOLS or text in ("", "~", "null", "Null", "NULL"):
        return True
    if re.fullmatch(r"[-+]?(\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN", text):
        return True
    cleaned = text.replace("_", "")
    if re.fullmatch(r"[-+]?(0b[01]+|0o?[0-7]+|0x[0-9a-fA-F]+|[0-9]+)", cleaned):
        return True
    if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", cleaned):
        return True
    # base-60 floats (yaml.v3 isBase60Float) are quoted too
    return bool(re.fullmatch(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?", text))
