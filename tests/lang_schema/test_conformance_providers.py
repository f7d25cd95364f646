"""The corpus's providers and rotators (shared/conformance/esc-eval/README.md, item 6)."""
import json

import pytest

from credproc.lang.crypt import decode_envelope
from credproc.lang.provider import OpenContext, Provider, ProviderError, Rotator
from credproc.lang.schema import validate
from credproc.lang.values import Number, Value
from credproc.providers import providers, rotators
from credproc.providers.conformance import (
    CONFORMANCE_CONTEXT, SCHEMA_PROVIDER_SCHEMA, BenchProvider, EchoRotator, ErrorProvider, SchemaProvider,
    SecretWrapperProvider, SwapRotator, TestProvider, conformance_decrypter,
)

CTX = OpenContext(environment="env", root_environment="env", path="x", exec_context=CONFORMANCE_CONTEXT)

# Verbatim from the corpus README.
README_SCHEMA = json.loads("""
{
  "type": "object",
  "$defs": {"defRecord": {"type": "object", "properties": {"baz": {"type": "string", "const": "qux"}}, "required": ["baz"]}},
  "properties": {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    "false": {"type": "boolean", "const": false},
    "true": {"type": "boolean", "const": true},
    "number": {"type": "number"},
    "pi": {"type": "number", "const": 3.14},
    "string": {"type": "string"},
    "hello": {"type": "string", "const": "hello"},
    "array": {"type": "array", "items": true},
    "tuple": {"type": "array", "prefixItems": [{"type": "string", "const": "hello"}, {"type": "string", "const": "world"}], "items": false},
    "map": {"type": "object", "additionalProperties": true},
    "record": {"type": "object", "properties": {"foo": {"type": "string"}}, "required": ["foo"]},
    "anyOf": {"anyOf": [{"type": "string"}, {"type": "number"}]},
    "oneOf": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "ref": {"$ref": "#/$defs/defRecord"},
    "const-array": {"type": "array", "const": ["hello", 42]},
    "const-object": {"type": "object", "const": {"hello": "world"}},
    "enum": {"type": "string", "enum": ["foo", "bar"]},
    "never": false,
    "always": true,
    "double": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false},
    "triple": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "items": false},
    "dependentReq": {"type": "object", "properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}, "dependentRequired": {"foo": ["bar"]}},
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
    "maxProperties": {"type": "object", "maxProperties": 1}
  }
}
""")


def obj(**members):
    return Value({k: v if isinstance(v, Value) else Value(v) for k, v in members.items()})


def plain(v: Value):
    if isinstance(v.value, dict):
        return {k: plain(x) for k, x in v.value.items()}
    if isinstance(v.value, list):
        return [plain(x) for x in v.value]
    return v.value


# --- registry ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [
    ("test", TestProvider), ("error", ErrorProvider), ("secret-wrapper", SecretWrapperProvider),
    ("bench", BenchProvider), ("schema", SchemaProvider),
])
def test_registered_providers(name, cls):
    registry = providers(conformance=True)
    assert type(registry[name]) is cls and isinstance(registry[name], Provider)
    assert name not in providers(conformance=False)


@pytest.mark.parametrize("name,cls", [("swap", SwapRotator), ("echo", EchoRotator)])
def test_registered_rotators(name, cls):
    assert type(rotators(conformance=True)[name]) is cls and isinstance(rotators(True)[name], Rotator)
    assert name not in rotators(conformance=False)


def test_constructors_accept_registry_options():
    assert type(providers(conformance=True, delay=0)["bench"]) is BenchProvider


# --- providers ----------------------------------------------------------------------------------------

def test_test_provider_returns_inputs_with_member_flags():
    inputs = obj(a="x", s=Value("hidden", secret=True), n=Value(Number("1.50")))
    out = TestProvider().open(inputs, CTX)
    assert plain(out) == {"a": "x", "s": "hidden", "n": "1.50"}
    assert not out.secret and out.value["s"].secret and not out.value["a"].secret
    assert TestProvider().schema() == (True, True)


def test_test_provider_output_object_is_not_itself_secret():
    inputs = Value({"a": Value("x", secret=True)}, secret=True)
    out = TestProvider().open(inputs, CTX)
    assert not out.secret and out.value["a"].secret


def test_error_provider_fails_with_why():
    with pytest.raises(ProviderError) as info:
        ErrorProvider().open(obj(why="testing"), CTX)
    assert str(info.value) == "testing"


def test_error_provider_input_schema():
    schema, _ = ErrorProvider().schema()
    assert validate(obj(why="x"), schema).ok
    assert [e.message for e in validate(obj(), schema)] == ["missing required properties: why"]
    assert [e.message for e in validate(obj(why=Value(Number("1"))), schema)] == ["expected string, got number"]


def test_secret_wrapper_marks_the_output_secret():
    inputs = obj(secretObject=obj(key1="secret1"))
    out = SecretWrapperProvider().open(inputs, CTX)
    assert out.secret and plain(out) == {"secretObject": {"key1": "secret1"}}
    assert not inputs.secret  # the inputs are not changed


def test_bench_returns_zero_duration():
    assert BenchProvider().open(obj(), CTX) == Value("0s")


def test_schema_provider_schema_is_the_readme_schema():
    assert SCHEMA_PROVIDER_SCHEMA == README_SCHEMA
    assert SchemaProvider().schema() == (SCHEMA_PROVIDER_SCHEMA, SCHEMA_PROVIDER_SCHEMA)


def test_schema_provider_returns_inputs():
    inputs = obj(string="esc", pi=Value(Number("3.14")))
    assert plain(SchemaProvider().open(inputs, CTX)) == {"string": "esc", "pi": "3.14"}


# --- swap ---------------------------------------------------------------------------------------------

def test_swap_open_returns_state_and_rotate_swaps():
    swap = SwapRotator()
    state = obj(a="bar1", b=Value("bar2", secret=True))
    assert plain(swap.open(obj(), state, CTX)) == {"a": "bar1", "b": "bar2"}
    new = swap.rotate(obj(), state, CTX)
    assert plain(new) == {"a": "bar2", "b": "bar1"}
    assert new.value["a"].secret and not new.value["b"].secret  # members keep their flags
    assert plain(swap.open(obj(), new, CTX)) == {"a": "bar2", "b": "bar1"}


def test_swap_schemas():
    inputs, state, output = SwapRotator().schema()
    assert inputs is True
    assert validate(obj(a="1", b="2"), state).ok and state == output
    assert [e.message for e in validate(obj(a="1"), state)] == ["missing required properties: b"]


# --- echo ---------------------------------------------------------------------------------------------

def test_echo_open_tolerates_unknown_next():
    state = obj(current="hello")
    out = EchoRotator().open(obj(next=Value(unknown=True)), state, CTX)
    assert plain(out) == {"current": "hello"}


def test_echo_open_accepts_next_equal_to_current():
    assert plain(EchoRotator().open(obj(next="hello"), obj(current="hello"), CTX)) == {"current": "hello"}


@pytest.mark.parametrize("state", [obj(current="hello"), None, Value(None)])
def test_echo_open_fails_when_next_was_evaluated(state):
    with pytest.raises(ProviderError) as info:
        EchoRotator().open(obj(next="other"), state, CTX)
    assert str(info.value) == "oh no! inputs were evaluated outside of rotation"


def test_echo_rotate():
    new = EchoRotator().rotate(obj(next="v2"), obj(current="v1"), CTX)
    assert plain(new) == {"current": "v2", "previous": "v1"}


@pytest.mark.parametrize("state", [None, Value(None)])
def test_echo_rotate_without_state_has_null_previous(state):
    assert plain(EchoRotator().rotate(obj(next="v1"), state, CTX)) == {"current": "v1", "previous": None}


def test_echo_rotate_fails_when_next_was_not_evaluated():
    with pytest.raises(ProviderError) as info:
        EchoRotator().rotate(obj(next=Value(unknown=True)), obj(current="v1"), CTX)
    assert str(info.value) == "oh no! rotateOnly inputs were not evaluated during rotation"


def test_echo_schemas():
    inputs, state, output = EchoRotator().schema()
    assert inputs["properties"]["next"]["rotateOnly"] is True and inputs["required"] == ["next"]
    assert validate(obj(current="a", previous="b"), state).ok and state == output
    assert [e.message for e in validate(obj(previous="b"), state)] == ["missing required properties: current"]
    # The evaluator uses the state schema as oneOf [state, null]: both a state and no state fit.
    state_or_null = {"oneOf": [state, {"type": "null"}]}
    assert validate(obj(current="hello"), state_or_null).ok and validate(Value(None), state_or_null).ok


# --- context and decrypter ------------------------------------------------------------------------------

def test_context_and_decrypter():
    assert CONFORMANCE_CONTEXT == {"pulumi": {"user": {"id": "USER_123"}}}
    assert conformance_decrypter(decode_envelope("ZXNjeAAAAAHo9e705fKyKo30VQ==")) == b"hunter2"
    assert conformance_decrypter(b"\x00\x80\xff") == b"\x80\x00\x7f"
