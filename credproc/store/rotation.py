"""Rotate an environment of the store (ESC RotateEnvironment) and write each new state back.

    rotate_environment(ref, paths=(), *, store=None, providers=None, rotators=None) -> Rotated

Under the store's edit lock of ``ref`` (no other credproc edit interleaves, and two rotations do not
both rotate from the same old state): read the definition, check that every PATH (ESC property-path
syntax, relative to `values`) names a rotator (fn::rotate::NAME, or fn::rotate with `provider`),
evaluate it calling `rotate` on the root's rotators at those paths (all when there are none), then
write each new `state` into the file in place (credproc.store.yamledit.set_node: every other byte
stays) and replace the file atomically.

A rotator that succeeded has changed something outside (a password, a key): its new state is
written even when other rotators, or the definition, have errors. A state that cannot be written
becomes an error diagnostic that says so (the old state stays in the file).

Secret state (or secret members of it) is written as `fn::secret: TEXT` (non-strings as
`fn::fromJSON: {fn::secret: JSON}`), as ESC's ApplyValuePatches does before it encrypts; credproc
has no encryption key, so the text is stored as `env set --secret` stores it.
"""
from dataclasses import dataclass, field

from credproc.errors import ConfigError, UsageError
from credproc.store import environments, yamledit
from credproc.store.environments import Opened
from credproc.store.store import NotInStore, Store, TooLarge, parse_name, sha256_hex


@dataclass
class Rotated:
    opened: Opened                              # value and diagnostics as evaluated during the rotation
    written: list = field(default_factory=list)  # property paths (relative to values) of the states written


def rotate_environment(ref: str, paths=(), *, store: "Store | None" = None, providers=None,
                       rotators=None) -> Rotated:
    name = parse_name(ref)
    parsed = [parse_rotation_path(text) for text in paths]
    store = store or Store()
    with store.edit_lock(name):
        data, path = _read_root(store, name)
        for text, elements in zip(paths, parsed):
            _check_names_rotator(data, text, elements, name.full)
        opened, patches = _rotate(store, name, data, list(paths), providers, rotators)
        opened.files[path] = sha256_hex(data)
        written = _write_back(store, name, patches, opened)
    return Rotated(opened, written)


# --- before rotating: the paths ------------------------------------------------------------------------

def parse_rotation_path(text: str) -> list:
    """Keys and indices of a property path relative to `values` (the language's own parser, so that
    the check below and the rotation read a path the same way)."""
    from credproc.lang.interpolate import parse_access_path

    if text == "":
        raise UsageError("'' is an invalid property path: it is empty")
    accessors, errors = parse_access_path(text)
    if errors:
        raise UsageError(f"{text!r} is an invalid property path: {errors[0][1]}")
    return [a.value for a in accessors]


def _check_names_rotator(data: bytes, text: str, elements: list, display: str) -> None:
    node = yamledit.node_at(_decode(data, display), ["values"] + elements)
    if _rotator_key(node) is None:
        raise UsageError(f"{text!r} names no rotator in {display} (expected a fn::rotate::NAME or fn::rotate "
                         "object there)", hint=f"rotate them all: credproc env rotate {display}")


def _rotator_key(node) -> "str | None":
    import yaml

    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return None
    key = node.value[0][0]
    if isinstance(key, yaml.ScalarNode) and (key.value == "fn::rotate" or key.value.startswith("fn::rotate::")):
        return key.value
    return None


def _decode(data: bytes, display: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"cannot rotate {display}: the file is not valid UTF-8; fix it with "
                         "`credproc env edit`") from None


def _read_root(store: Store, name) -> "tuple[bytes, str]":
    try:
        return store.read(name)
    except NotInStore:
        raise ConfigError(f"environment {name.full} not found", hint="see `credproc env ls`") from None
    except TooLarge as err:
        raise ConfigError(str(err)) from None


# --- the rotation ----------------------------------------------------------------------------------------

def _rotate(store, name, data: bytes, paths: list, providers, rotators) -> "tuple[Opened, list]":
    from credproc import lang

    _decode(data, name.full)  # refused before any rotator runs: the new state could not be written
    files: dict = {}
    decl, diagnostics = lang.load(name.short, data)
    value, patches = None, []
    if decl is not None:
        value, patches, more = lang.rotate(
            name.short, decl,
            loader=environments._StoreLoader(store, name.org, files),
            providers=providers if providers is not None else environments._default_providers(),
            rotators=rotators if rotators is not None else environments._default_rotators(),
            context=environments.execution_context(name.org), decrypter=environments.decrypter(),
            paths=paths)
        diagnostics = list(diagnostics) + list(more)
    return Opened(name=name.full, value=value, diagnostics=list(diagnostics), files=files, org=name.org), patches


# --- after rotating: the new states into the file ------------------------------------------------------

def _write_back(store, name, patches: list, opened: Opened) -> list:
    """Write every patch that can be; the others become error diagnostics. -> paths written."""
    if not patches:
        return []
    # Read again: the edit lock keeps credproc out, but an edit by hand during a slow rotation is kept.
    text = _decode(_read_root(store, name)[0], name.full)
    written = []
    for patch in patches:
        elements = _doc_elements(patch.doc_path)
        try:
            text = yamledit.set_node(text, elements, definition_data(patch.state))
        except UsageError as err:
            opened.diagnostics.append(_unwritten(name, elements, err))
            continue
        written.append(rotator_path(elements))
    if written:
        store.write(name, text.encode("utf-8"))
    return written


def _unwritten(name, elements: list, err: UsageError):
    from credproc.lang import Diagnostic

    return Diagnostic("error", f"{rotator_path(elements)} was rotated but its new state cannot be written "
                               f"({err.message}); the file still holds the old state", name.short)


def _doc_elements(doc_path: str) -> list:
    from credproc.lang.interpolate import parse_access_path

    return [a.value for a in parse_access_path(doc_path)[0]]


def rotator_path(doc_elements: list) -> str:
    """The property path (relative to values) of the rotator whose state is at ``doc_elements``
    (values, ..., fn::rotate::NAME, state), written as `esc env rotate` takes it."""
    from credproc.lang.syntax import join_index, join_key

    path = ""
    for element in doc_elements[1:-2]:
        path = join_index(path, element) if isinstance(element, int) else join_key(path, element)
    return path


def definition_data(value):
    """A state Value as plain data for the definition: secrets wrapped so they stay secret."""
    _refuse_unwritable(value)
    return _plain_with_secret_calls(value)


def _plain_with_secret_calls(value):
    from credproc.lang.values import to_plain

    if value.secret:
        return _secret_call(to_plain(value))
    inner = value.value
    if isinstance(inner, dict):
        return {key: _plain_with_secret_calls(inner[key]) for key in sorted(inner)}
    if isinstance(inner, list):
        return [_plain_with_secret_calls(item) for item in inner]
    return inner


def _secret_call(plain) -> dict:
    from credproc.lang.values import Number, go_json

    if isinstance(plain, str) and not isinstance(plain, Number):
        return {"fn::secret": plain}
    return {"fn::fromJSON": {"fn::secret": go_json(plain)}}  # fn::secret takes text only (as ESC writes it)


def _refuse_unwritable(value) -> None:
    if value.unknown:
        raise UsageError("the rotator returned an unknown value")
    inner = value.value
    if isinstance(inner, dict):
        for key, item in inner.items():
            if key.startswith("fn::"):
                raise UsageError(f"the new state has a key {key!r} that would be read as a function")
            _refuse_unwritable(item)
    elif isinstance(inner, list):
        for item in inner:
            _refuse_unwritable(item)
