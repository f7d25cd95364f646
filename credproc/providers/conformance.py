"""The providers, rotators, execution context and decrypter of the ESC conformance corpus
(docs/background.md §5). Registered only when CREDPROC_CONFORMANCE=1.

They mirror the test doubles of pulumi/esc's `eval/eval_test.go`; they exist so that credproc's
evaluator can be run against that corpus, and are never offered to users.
"""
import dataclasses

from credproc.lang.crypt import rot128
from credproc.lang.provider import Provider, ProviderError, Rotator
from credproc.lang.values import Value

#: The caller context of every corpus case (`${context.pulumi.user.id}` is USER_123).
CONFORMANCE_CONTEXT = {"pulumi": {"user": {"id": "USER_123"}}}


def conformance_decrypter(ciphertext: bytes) -> bytes:
    """The corpus test key: every byte b becomes (b + 128) mod 256."""
    return rot128(ciphertext)


def _record(**properties) -> dict:
    """An object schema whose listed properties are all required (ESC's schema.Record)."""
    return {"type": "object", "properties": properties, "required": sorted(properties)}


_STRING = {"type": "string"}


def _member(value: Value, name: str):
    """inputs/state member `name`, or None when the object or the member is absent."""
    if value is None or not isinstance(value.value, dict):
        return None
    return value.value.get(name)


def _copy(value: "Value | None") -> Value:
    return Value(None) if value is None else dataclasses.replace(value)


def _members(inputs: Value) -> Value:
    """A new Value around the inputs' members, as ESC's esc.NewValue(inputs): the members keep their
    own flags; the returned object itself is not secret."""
    return Value(inputs.value)


class _Conformance:
    def __init__(self, **_options):
        # The registry may pass options (for example a bench delay); the doubles ignore them.
        pass


class TestProvider(_Conformance, Provider):
    """`test`: any input; returns its inputs unchanged (members keep their own secret flags)."""

    __test__ = False  # not a pytest class
    input_schema = True
    output_schema = True

    def open(self, inputs, ctx):
        return _members(inputs)


class ErrorProvider(_Conformance, Provider):
    """`error`: always fails with its `why` input as the message."""

    input_schema = _record(why=_STRING)
    output_schema = True

    def open(self, inputs, ctx):
        why = _member(inputs, "why")
        raise ProviderError(why.value if why is not None and isinstance(why.value, str) else "")


class SecretWrapperProvider(_Conformance, Provider):
    """`secret-wrapper`: returns its inputs marked secret (the evaluator then makes every node secret)."""

    input_schema = True
    output_schema = True

    def open(self, inputs, ctx):
        return dataclasses.replace(inputs, secret=True)


class BenchProvider(_Conformance, Provider):
    """`bench`: returns the Go duration string of its delay; the corpus runs it with none."""

    input_schema = True
    output_schema = True

    def open(self, inputs, ctx):
        return Value("0s")


#: The `schema` provider's input and output schema: one property per keyword of ESC's schema subset.
SCHEMA_PROVIDER_SCHEMA = {
    "type": "object",
    "$defs": {"defRecord": _record(baz={"type": "string", "const": "qux"})},
    "properties": {
        "null": {"type": "null"},
        "boolean": {"type": "boolean"},
        "false": {"type": "boolean", "const": False},
        "true": {"type": "boolean", "const": True},
        "number": {"type": "number"},
        "pi": {"type": "number", "const": 3.14},
        "string": {"type": "string"},
        "hello": {"type": "string", "const": "hello"},
        "array": {"type": "array", "items": True},
        "tuple": {"type": "array", "prefixItems": [{"type": "string", "const": "hello"},
                                                   {"type": "string", "const": "world"}], "items": False},
        "map": {"type": "object", "additionalProperties": True},
        "record": _record(foo=_STRING),
        "anyOf": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "oneOf": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        "ref": {"$ref": "#/$defs/defRecord"},
        "const-array": {"type": "array", "const": ["hello", 42]},
        "const-object": {"type": "object", "const": {"hello": "world"}},
        "enum": {"type": "string", "enum": ["foo", "bar"]},
        "never": False,
        "always": True,
        "double": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": False},
        "triple": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
                   "items": False},
        "dependentReq": {"type": "object", "properties": {"foo": {"type": "string"}, "bar": {"type": "number"}},
                         "dependentRequired": {"foo": ["bar"]}},
        "multiple": {"type": "number", "multipleOf": 2},
        "minimum": {"type": "number", "minimum": 1},
        "exclusiveMinimum": {"type": "number", "exclusiveMinimum": 1},
        "maximum": {"type": "number", "maximum": 1},
        "exclusiveMaximum": {"type": "number", "exclusiveMaximum": 1},
        "minLength": {"type": "string", "minLength": 1},
        "maxLength": {"type": "string", "maxLength": 1},
        "pattern": {"type": "string", "pattern": "^foo[0-9]+$"},
        "minItems": {"type": "array", "minItems": 3},
        "maxItems": {"type": "array", "maxItems": 2},
        "minProperties": {"type": "object", "minProperties": 1},
        "maxProperties": {"type": "object", "maxProperties": 1},
    },
}


class SchemaProvider(_Conformance, Provider):
    """`schema`: validates its inputs against SCHEMA_PROVIDER_SCHEMA (done by the evaluator) and
    returns them unchanged."""

    input_schema = SCHEMA_PROVIDER_SCHEMA
    output_schema = SCHEMA_PROVIDER_SCHEMA

    def open(self, inputs, ctx):
        return _members(inputs)


class SwapRotator(_Conformance, Rotator):
    """`swap`: open returns the state; rotate returns {a: state.b, b: state.a}."""

    input_schema = True
    state_schema = _record(a=_STRING, b=_STRING)
    output_schema = _record(a=_STRING, b=_STRING)

    def open(self, inputs, state, ctx):
        return _copy(state) if state is not None and state.value is not None else Value({})

    def rotate(self, inputs, state, ctx):
        return Value({"a": _copy(_member(state, "b")), "b": _copy(_member(state, "a"))})


_ECHO_STATE = {"type": "object", "properties": {"current": _STRING, "previous": _STRING}, "required": ["current"]}


class EchoRotator(_Conformance, Rotator):
    """`echo`: its `next` input is rotate-only; rotate moves `next` into `current`.

    open fails when `next` was evaluated (known) and differs from the stored `current`: that means
    a rotate-only input was evaluated outside of rotation."""

    input_schema = {"type": "object", "properties": {"next": {"type": "string", "rotateOnly": True}},
                    "required": ["next"]}
    state_schema = _ECHO_STATE
    output_schema = _ECHO_STATE

    def open(self, inputs, state, ctx):
        nxt, current = _member(inputs, "next"), _member(state, "current")
        if nxt is not None and not nxt.unknown:
            if current is None or nxt.value != current.value:
                raise ProviderError("oh no! inputs were evaluated outside of rotation")
        return _copy(state) if state is not None and state.value is not None else Value({})

    def rotate(self, inputs, state, ctx):
        nxt = _member(inputs, "next")
        if nxt is None or nxt.unknown:
            raise ProviderError("oh no! rotateOnly inputs were not evaluated during rotation")
        return Value({"current": _copy(nxt), "previous": _copy(_member(state, "current"))})
