"""Evaluation of each fn:: builtin (ESC `evaluateBuiltin*`), one small function per builtin.

Common rules: typed arguments are validated (``expected string, got number``); a failed check or
an unknown input makes the result unknown; a secret input makes the result secret.
"""
from credproc.lang import ast as A
from credproc.lang.builtins import GoError, go_base64_decode, go_json_decode, go_split
from credproc.lang.evalvalue import (
    Patch, MAX_ARRAY_ITEMS, MAX_STRING_CHARS, _ARRAY_SCHEMA, _STRING_ARRAY_SCHEMA, _STRING_SCHEMA, _Exporter,
    NODE_BYTES, _TooLarge, _V, _from_plain, _from_value, _require, _spend, _unknown, base64_encode,
)
from credproc.lang.syntax import join_key
from credproc.lang.values import Value, from_plain, go_json, go_quote


def evaluate_builtin(env, x):
    return _EVALUATORS[type(x.ast)](env, x)


def _invalid(env, x):
    for arg in (x.args or {}).values():
        env.evaluate_x(arg)
    return _unknown()


def _combine(*values):
    """(unknown, secret) over the inputs, deep."""
    return any(v.has_unknown() for v in values), any(v.has_secret() for v in values)


# Decoding that falls back to Go's exact character-by-character rules (invalid input, for the error
# message) runs in Python, ~100x slower than making text: each character counts this many bytes.
SLOW_DECODE_BYTES_PER_CHAR = 16


def _charge_slow_decode(chars):
    _spend(SLOW_DECODE_BYTES_PER_CHAR * chars)


def _string_result(text, secret):
    if len(text) > MAX_STRING_CHARS:
        _spend(len(text))  # made, though refused: the work counts
        raise _TooLarge()
    return _V(text, secret=secret)


# --- providers -----------------------------------------------------------------------------------------

def _lookup(env, x, registry, kind, name):
    try:
        if name in registry:
            return registry[name]
    except Exception as err:  # a provider module that fails to import
        env.diag(x.ast.node, f"loading {kind} {name!r}: {err}", cause=err)
        return None
    env.diag(x.ast.node, f'unknown {kind} {go_quote(name)}' + env.did_you_mean(name, registry, list))
    return None


def _schemas(env, x, obj, count):
    try:
        schemas = obj.schema()
    except Exception as err:
        env.diag(x.ast.node, f"internal error: invalid schema ({err})", cause=err)
        return None
    return schemas if len(schemas) == count else None


def _call(env, x, fn, *args):
    try:
        result = fn(*args)
    except Exception as err:  # the provider's message is the summary; the exception is kept
        env.diag(x.ast.node, str(err), cause=err)
        return None
    if result is None:
        return _V(None)
    if not isinstance(result, Value):  # tolerate providers that return plain JSON-like data
        try:
            result = from_plain(result)
        except Exception as err:
            env.diag(x.ast.node, f"internal error: provider returned {type(result).__name__}", cause=err)
            return None
    return _from_value(result)


def _open(env, x):
    node = x.ast
    provider = _lookup(env, x, env.ev.providers, "provider", node.provider)
    inputs_x = x.args["inputs"]
    schemas = _schemas(env, x, provider, 2) if provider is not None else None
    if schemas is None:
        env.evaluate_x(inputs_x)
        return _unknown()
    input_schema, output_schema = schemas
    inputs = env.evaluate_x(inputs_x)
    ok = env.validate(inputs_x, inputs, input_schema)
    if not ok or inputs.has_unknown() or env.ev.checking:
        checkable = not inputs.has_unknown() or getattr(provider, "checks_unknown_inputs", False)
        if ok and env.ev.checking and checkable and callable(getattr(provider, "check", None)):
            _call(env, x, provider.check, _Exporter().check(inputs).value(inputs), env.open_context(x))
        return _unknown(schema=output_schema)
    result = _call(env, x, provider.open, _Exporter().check(inputs).value(inputs), env.open_context(x))
    return result if result is not None else _unknown(schema=output_schema)


def _rotate(env, x):
    node = x.ast
    rotator = _lookup(env, x, env.ev.rotators, "rotator", node.provider)
    schemas = _schemas(env, x, rotator, 3) if rotator is not None else None
    if schemas is None:
        _invalid(env, x)
        return _unknown()
    input_schema, state_schema, output_schema = schemas
    inputs_x = x.args["inputs"]
    inputs = _rotate_inputs(env, inputs_x, input_schema)
    inputs_ok = env.validate(inputs_x, inputs, input_schema)
    state_x = x.args.get("state")
    state = env.evaluate_x(state_x) if state_x is not None else _V(None)
    state_ok = env.validate(state_x, state, {"oneOf": [state_schema, {"type": "null"}]}) \
        if state_x is not None else True
    if not (inputs_ok and state_ok) or inputs.has_unknown(tolerate=True) or state.has_unknown() \
            or env.ev.checking:
        return _unknown(schema=output_schema)
    inputs_value = _Exporter().check(inputs).value(inputs)
    state_value = _Exporter().check(state).value(state) if state.repr is not None else None
    doc_path = x.ast.node.path
    if env.is_root and env.ev.should_rotate(doc_path) and not node.state_invalid:
        try:
            new_state = rotator.rotate(inputs_value, state_value, env.open_context(x))
        except Exception as err:
            env.diag(x.ast.node, f"rotate: {err}", cause=err)
            return _unknown(schema=output_schema)
        env.ev.patches.append(Patch(join_key(doc_path, node.name) + ".state", new_state))
        state_value = new_state  # opened as if it had already been written back
    result = _call(env, x, rotator.open, inputs_value, state_value, env.open_context(x))
    return result if result is not None else _unknown(schema=output_schema)


def _rotate_inputs(env, inputs_x, input_schema):
    """Rotate-only inputs are evaluated only when the root is checked (or rotated); otherwise they
    are unknown but do not stop the call (the caller may not be allowed to read them)."""
    from credproc.lang.schema import rotate_only_properties

    evaluate_all = env.is_root and (env.ev.checking or env.ev.rotating)
    skip = set() if evaluate_all or inputs_x.props is None else rotate_only_properties(input_schema)
    if not skip:
        return env.evaluate_x(inputs_x)
    members = {}
    for key in sorted(inputs_x.props):
        if key in skip:
            tolerated = _unknown()
            tolerated.tolerated = True
            members[key] = tolerated
        else:
            members[key] = env.evaluate_x(inputs_x.props[key])
    return _V(members)


# --- secrets ---------------------------------------------------------------------------------------------

def _secret(env, x):
    node = x.ast
    if node.ciphertext is None:
        return _V(node.plaintext, secret=True)
    from credproc.lang.crypt import decode_envelope

    try:
        ciphertext = decode_envelope(node.ciphertext)
    except ValueError as err:
        env.diag(x.ast.node, str(err))
        return _unknown(secret=True)
    if env.ev.checking and not env.ev.show_secrets:
        return _unknown(secret=True)
    decrypter = env.ev.decrypter
    try:
        if decrypter is None:
            raise ValueError("no decryption key is configured")
        plaintext = decrypter(ciphertext)
        if not isinstance(plaintext, str):
            plaintext = bytes(plaintext).decode("utf-8", "surrogateescape")
    except Exception as err:
        env.diag(x.ast.node, f"decrypting: {err}", cause=err)
        return _unknown(secret=True)
    return _V(plaintext, secret=True)


# --- strings and arrays --------------------------------------------------------------------------------------

def _when_known(**schemas):
    """The common rules of the builtins with fixed arguments, in one place: each named argument is
    evaluated (in order) and checked against its schema (None: any value). A failed check makes the
    result unknown; a (partly) unknown argument makes it unknown, and secret if any input is secret.
    Otherwise the decorated ``fn(env, x, secret, *values)`` computes the result."""
    def decorate(fn):
        def evaluate(env, x):
            values, ok = [], True
            for name, schema in schemas.items():
                value, value_ok = (env.evaluate_x(x.args[name]), True) if schema is None \
                    else env.typed(x.args[name], schema)
                values.append(value)
                ok = ok and value_ok
            if not ok:
                return _unknown()
            unknown, secret = _combine(*values)
            if unknown:
                return _unknown(secret=secret)
            return fn(env, x, secret, *values)
        return evaluate
    return decorate


@_when_known(first=_STRING_SCHEMA, second=_STRING_ARRAY_SCHEMA)
def _join(env, x, secret, delimiter, values):
    items = values.repr
    size = sum(len(v.repr) for v in items) + len(delimiter.repr) * max(len(items) - 1, 0)
    if size > MAX_STRING_CHARS:  # refused before joining: a long delimiter times many items is GiBs
        raise _TooLarge()
    return _string_result(delimiter.repr.join(v.repr for v in items), secret)


@_when_known(first=_STRING_SCHEMA, second=_STRING_SCHEMA)
def _split(env, x, secret, delimiter, string):
    text, sep = string.repr, delimiter.repr
    if (len(text) if sep == "" else text.count(sep) + 1) > MAX_ARRAY_ITEMS:  # refused before splitting
        raise _TooLarge()
    parts = go_split(text, sep)
    # Upstream leaves the elements of a secret's split unmarked; a credential tool keeps them secret.
    return _V([_V(p, secret=secret) for p in parts], secret=secret)


def _concat(env, x):
    arrays, ok = [], True
    for i in range(len(x.args)):
        value, value_ok = env.typed(x.args[i], _ARRAY_SCHEMA)
        arrays.append(value)
        ok = ok and value_ok
    if not ok:
        return _unknown()
    # docs/esc-language.md §10/§12: the result node is secret when any input *contains* a secret; the elements keep
    # their own flags.
    secret = any(a.has_secret() for a in arrays)
    if any(a.unknown for a in arrays):
        return _unknown(secret=secret)
    if sum(len(a.repr) for a in arrays) > MAX_ARRAY_ITEMS:  # refused before copying
        raise _TooLarge()
    return _V([item for a in arrays for item in a.repr], secret=secret)


@_when_known(arg=_STRING_SCHEMA)
def _to_base64(env, x, secret, value):
    return _string_result(base64_encode(value.repr), secret)


@_when_known(arg=_STRING_SCHEMA)
def _from_base64(env, x, secret, value):
    try:
        data = go_base64_decode(value.repr, _charge_slow_decode)
    except GoError as err:
        env.diag(x.ast.node, f"decoding base64 string: {err}")
        return _unknown(secret=secret)
    return _V(data.decode("utf-8", "surrogateescape"), secret=secret)


@_when_known(arg=None)
def _to_json(env, x, secret, value):
    return _string_result(go_json(_Exporter().check(value).plain(value)), secret)


@_when_known(arg=_STRING_SCHEMA)
def _from_json(env, x, secret, value):
    text = value.repr
    # Every value after the first follows a '[', ',' or ':': stop before decoding more than fits.
    _require(NODE_BYTES * (1 + text.count("[") + text.count(",") + text.count(":")))
    try:
        plain = go_json_decode(text, _charge_slow_decode)
    except GoError as err:
        env.diag(x.ast.node, f"decoding JSON string: {err}")
        return _unknown(secret=secret)
    return _from_plain(plain, secret)


@_when_known(arg=None)
def _to_string(env, x, secret, value):
    return _string_result(_Exporter().check(value).string(value), secret)


def _final(env, x):
    value = env.evaluate_x(x.args["arg"])
    return value.copy(final=True)


def _unary(env, x):
    return _UNARY[x.ast.name](env, x)


def _binary(env, x):
    return _join(env, x) if x.ast.name == "fn::join" else _split(env, x)


def _validate(env, x):
    from credproc.lang.metaschema import JSON_SCHEMA_SCHEMA

    schema_value, schema_ok = env.typed(x.args["schema"], JSON_SCHEMA_SCHEMA)  # reports a malformed schema
    value = env.evaluate_x(x.args["value"])
    if schema_value.has_unknown() or not schema_ok:
        return value  # as ESC: nothing to validate against (a bad schema was reported above)
    schema = _Exporter().check(schema_value).plain(schema_value)
    env.validate(x.args["value"], value, schema, schema_at=x.args["schema"])
    return value


_UNARY = {
    "fn::toBase64": _to_base64,
    "fn::fromBase64": _from_base64,
    "fn::toJSON": _to_json,
    "fn::fromJSON": _from_json,
    "fn::toString": _to_string,
    "fn::final": _final,
}

_EVALUATORS = {
    A.Open: _open,
    A.Rotate: _rotate,
    A.Secret: _secret,
    A.Unary: _unary,
    A.Binary: _binary,
    A.Concat: _concat,
    A.Validate: _validate,
    A.Invalid: _invalid,
}
