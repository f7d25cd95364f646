"""Unknown values: schema-to-schema validation, access by schema, rotateOnly, and the corpus case
schema-error (whose check and eval phases produce different message sets)."""
import pytest

from credproc.lang.schema import access_schema, rotate_only_properties, validate
from credproc.lang.values import Number, Value
from credproc.providers.conformance import SCHEMA_PROVIDER_SCHEMA, EchoRotator


def V(plain):
    if isinstance(plain, Value):
        return plain
    if isinstance(plain, dict):
        return Value({k: V(v) for k, v in plain.items()})
    if isinstance(plain, list):
        return Value([V(v) for v in plain])
    if isinstance(plain, (int, float)) and not isinstance(plain, bool):
        return Value(Number(repr(plain)))
    return Value(plain)


def U(schema=None):
    return Value(unknown=True, schema=schema)


def errors(value, schema):
    return [(e.path, e.message) for e in validate(value, schema)]


STRING, NUMBER = {"type": "string"}, {"type": "number"}


# --- schema against schema ---------------------------------------------------------------------------

@pytest.mark.parametrize("accept", [True, None, {}, STRING, {"type": "object", "required": ["x"]}, False])
def test_unknown_without_schema_validates_against_anything_but_never(accept):
    result = validate(U(), accept)
    assert list(result) == []
    assert result.ok == (accept is not False)


def test_unknown_types_are_compared():
    assert errors(U(STRING), NUMBER) == [((), "expected number, got string")]
    assert validate(U(STRING), STRING).ok
    assert validate(U({"anyOf": [STRING, NUMBER]}), {"type": "boolean"}).ok is False


def test_unknown_constants_and_sizes_are_not_compared():
    # Only types, items and properties are compared between schemas.
    assert validate(U({"type": "string", "const": "esc"}), {"type": "string", "enum": ["a"], "minLength": 9}).ok
    assert validate(U({"type": "number", "const": 3.14}), {"type": "number", "multipleOf": 2}).ok


def test_unknown_against_any_of_and_one_of():
    accept = {"anyOf": [STRING, NUMBER]}
    x = {"type": "boolean", "const": False}
    assert errors(U(x), accept) == [
        ((), "expected string, got boolean"), ((), "expected number, got boolean"),
        ((), "at least one subschema must match")]
    # oneOf is treated like anyOf when comparing schemas
    assert errors(U(x), {"oneOf": [STRING, NUMBER]})[-1] == ((), "at least one subschema must match")
    assert validate(U(NUMBER), {"oneOf": [STRING, NUMBER]}).ok


def test_unknown_alternatives_one_must_fit():
    # As ESC: an unknown whose schema has alternatives passes when any alternative fits.
    x = {"anyOf": [STRING, NUMBER]}
    assert validate(U(x), STRING).ok
    assert validate(U({"oneOf": [STRING, {"type": "null"}]}), {"type": "null"}).ok
    assert errors(U(x), {"type": "boolean"}) == [
        ((), "expected boolean, got string"), ((), "expected boolean, got number"),
        ((), "at least one subschema must match")]


def test_nested_errors_are_prefixed_and_blamed_on_the_unknown_node():
    x = {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": STRING}},
                                          "with-hyphen": NUMBER}}
    accept = {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": NUMBER}},
                                               "with-hyphen": STRING}}
    value = V({"outer": U(x)})
    assert errors(value, {"type": "object", "additionalProperties": accept}) == [
        (("outer",), "a.b: expected number, got string"),
        (("outer",), '["with-hyphen"]: expected string, got number')]


def test_array_items_are_compared_with_index_prefixes():
    x = {"type": "array", "prefixItems": [STRING, NUMBER, {"type": "boolean"}], "items": False}
    accept = {"type": "array", "prefixItems": [STRING, STRING], "items": NUMBER}
    assert errors(U(x), accept) == [
        ((), "[1]: expected string, got number"), ((), "[2]: expected number, got boolean")]
    assert errors(U({"type": "array", "items": NUMBER}), {"type": "array", "items": STRING}) == [
        ((), "expected string, got number")]


def test_tuples_of_different_lengths_fail_silently_in_check():
    double = {"type": "array", "prefixItems": [STRING, NUMBER], "items": False}
    triple = {"type": "array", "prefixItems": [STRING, NUMBER, {"type": "boolean"}], "items": False}
    for x, accept in ((double, triple), (triple, double)):
        result = validate(U(x), accept)
        assert not result.ok and list(result) == []


def test_missing_required_property_between_schemas():
    x = {"type": "object", "properties": {"foo": STRING}, "required": ["foo"]}
    accept = {"type": "object", "properties": {"foo": STRING, "bar": NUMBER},
              "required": ["baz"], "dependentRequired": {"foo": ["bar"]}}
    assert errors(U(x), accept) == [
        ((), "baz: missing required property"), ((), "bar: missing required property")]
    # An x that allows additional properties does not promise anything: its additional schema is compared.
    open_x = {"type": "object", "additionalProperties": NUMBER}
    assert errors(U(open_x), {"type": "object", "required": ["z"], "additionalProperties": STRING}) == [
        ((), "expected string, got number")]


def test_ref_on_either_side():
    defs = {"$defs": {"s": STRING}}
    assert errors(U({**defs, "$ref": "#/$defs/s"}), NUMBER) == [((), "expected number, got string")]
    assert errors(U(STRING), {**defs, "$ref": "#/$defs/s"}) == []
    assert errors(U(NUMBER), {**defs, "$ref": "#/$defs/s"}) == [((), "expected string, got number")]


def test_unknown_inside_known_literal():
    schema = {"type": "object", "properties": {"a": STRING, "b": NUMBER}, "required": ["a", "b"]}
    assert errors(V({"a": U(NUMBER), "b": U()}), schema) == [(("a",), "expected string, got number")]


# --- access ---------------------------------------------------------------------------------------------

def test_access_anything():
    for schema in (True, None, {}):
        assert access_schema(schema, "x") == (None, None)
        assert access_schema(schema, 3) == (None, None)


@pytest.mark.parametrize("schema,accessor,message", [
    (STRING, "x", "receiver must be an array or an object"),
    (NUMBER, 0, "receiver must be an array or an object"),
    (False, "x", "receiver must be an array or an object"),
    ({"anyOf": [{"type": "object"}]}, "x", "receiver must be an array or an object"),
    ({"type": "array"}, "x", "cannot access an array element using a property name"),
    ({"type": "array"}, -1, "array indices must not be negative"),
    ({"type": "array", "prefixItems": [STRING, STRING], "items": False}, 2,
     "array index 2 out-of-bounds for array of length 2"),
    ({"type": "object"}, 0, "cannot access an object property using an integer index"),
])
def test_access_errors(schema, accessor, message):
    assert access_schema(schema, accessor) == (None, message)


def test_access_array_items():
    schema = {"type": "array", "prefixItems": [STRING], "items": NUMBER}
    assert access_schema(schema, 0) == (STRING, None)
    assert access_schema(schema, 7) == (NUMBER, None)
    assert access_schema({"type": "array", "items": True}, 5) == (None, None)
    assert access_schema({"type": "array"}, 5) == (None, None)


def test_access_object_properties():
    schema = {"type": "object", "properties": {"a": STRING}, "additionalProperties": NUMBER}
    assert access_schema(schema, "a") == (STRING, None)
    assert access_schema(schema, "zzz") == (NUMBER, None)
    # As ESC: a property that is not listed, without additionalProperties, is "never".
    assert access_schema({"type": "object", "properties": {"a": STRING}}, "b") == (False, None)
    sub, _ = access_schema({"type": "object", "properties": {"a": STRING}}, "b")
    assert access_schema(sub, "c") == (None, "receiver must be an array or an object")


def test_access_through_alternatives_builds_a_union():
    schema = {"type": "object", "properties": {"a": STRING},
              "anyOf": [{"type": "object", "properties": {"a": NUMBER}}, {"type": "string"}]}
    assert access_schema(schema, "a") == ({"oneOf": [NUMBER, STRING]}, None)


def test_access_keeps_defs_for_refs():
    sub, err = access_schema(SCHEMA_PROVIDER_SCHEMA, "ref")
    assert err is None and sub["$ref"] == "#/$defs/defRecord" and "defRecord" in sub["$defs"]
    assert errors(U(sub), {"type": "object", "properties": {"baz": NUMBER}}) == [
        ((), "baz: expected number, got string")]
    # ESC does not look through a $ref when accessing: the receiver has no type.
    assert access_schema(sub, "baz") == (None, "receiver must be an array or an object")


@pytest.mark.parametrize("path,expected", [
    (["record", "foo"], STRING),
    (["tuple", 0], {"type": "string", "const": "hello"}),
    (["map", "hello"], None),
    (["array", 1], None),
    (["array", 2, "some"], None),
    (["array", 3, 0], None),
])
def test_corpus_schema_accesses_in_check_mode(path, expected):
    schema = SCHEMA_PROVIDER_SCHEMA
    for accessor in path:
        schema, err = access_schema(schema, accessor)
        assert err is None
    if isinstance(schema, dict):
        schema = {k: v for k, v in schema.items() if k != "$defs"}
    assert schema == expected


def test_corpus_access_errors():
    string, _ = access_schema(SCHEMA_PROVIDER_SCHEMA, "string")
    assert access_schema(string, "foo") == (None, "receiver must be an array or an object")
    tup, _ = access_schema(SCHEMA_PROVIDER_SCHEMA, "tuple")
    assert access_schema(tup, 2) == (None, "array index 2 out-of-bounds for array of length 2")


# --- rotateOnly ----------------------------------------------------------------------------------------

def test_rotate_only_properties():
    assert rotate_only_properties(EchoRotator.input_schema) == {"next"}
    assert rotate_only_properties({"type": "object", "properties": {"a": STRING}}) == set()
    assert rotate_only_properties(True) == set()
    ref = {"$defs": {"in": {"type": "object", "properties": {"x": {"rotateOnly": True}, "y": STRING}}},
           "$ref": "#/$defs/in"}
    assert rotate_only_properties(ref) == {"x"}


def test_rotate_only_marker_does_not_restrict_values():
    assert validate(V({"next": "v"}), EchoRotator.input_schema).ok
    assert errors(V({"next": 1}), EchoRotator.input_schema) == [(("next",), "expected string, got number")]
    assert validate(V({"next": U()}), EchoRotator.input_schema).ok


# --- the corpus case schema-error ---------------------------------------------------------------------------

SOURCE = {
    "null": None, "boolean": True, "false": False, "true": True, "number": 42, "pi": 3.14, "string": "esc",
    "hello": "hello", "array": [2, "items", {"some": "object"}, ["array"]], "tuple": ["hello", "world"],
    "map": {"hello": "world", "blue": 42}, "record": {"foo": "bar"}, "anyOf": "hello", "oneOf": 42,
    "ref": {"baz": "qux"}, "const-array": ["hello", 42], "const-object": {"hello": "world"}, "enum": "foo",
    "always": {}, "double": ["hello", 42], "triple": ["hello", 42, True], "dependentReq": {"foo": "bar", "bar": 42},
    "multiple": 4, "minimum": 1, "exclusiveMinimum": 2, "maximum": 1, "exclusiveMaximum": 0, "minLength": "a",
    "maxLength": "a", "pattern": "foo42", "minProperties": {"foo": "bar"}, "maxProperties": {"foo": "bar"},
}
# sink input -> the source property it references (`minLength` is the literal "")
SINK = {
    "boolean": "null", "string": "array", "number": "record", "record": "always", "anyOf": "false",
    "oneOf": "false", "const-array": "string", "const-object": "string", "enum": "string", "double": "triple",
    "triple": "double", "dependentReq": "record", "multiple": "pi", "minimum": "exclusiveMaximum",
    "exclusiveMinimum": "minimum", "maximum": "exclusiveMinimum", "exclusiveMaximum": "maximum",
    "maxLength": "string", "pattern": "string", "minItems": "double", "maxItems": "triple",
    "minProperties": "always", "maxProperties": "dependentReq",
}
# From shared/conformance/esc-eval/schema-error/expected.json: (sink property, summary) per phase.
BOTH = {
    ("boolean", "expected boolean, got null"), ("string", "expected string, got array"),
    ("number", "expected number, got object"), ("anyOf", "expected number, got boolean"),
    ("anyOf", "at least one subschema must match"), ("anyOf", "expected string, got boolean"),
    ("oneOf", "expected string, got boolean"), ("oneOf", "expected number, got boolean"),
    ("const-array", "expected array, got string"), ("const-object", "expected object, got string"),
    ("minLength", "expected a string of at least length 1"),
}
CHECK_ONLY = {("oneOf", "at least one subschema must match"), ("dependentReq", "bar: missing required property")}
EVAL_ONLY = {
    ("record", "missing required properties: foo"), ("oneOf", "exactly one subschema must match"),
    ("const-array", 'expected ["hello",42]'), ("const-object", 'expected {"hello":"world"}'),
    ("enum", 'expected one of ["foo","bar"]'), ("dependentReq", "missing required properties: bar"),
    ("multiple", "expected a multiple of 2"), ("minimum", "expected a number greater than or equal to 1"),
    ("exclusiveMinimum", "expected a number greater than 1"), ("maximum", "expected a number less than or equal to1"),
    ("exclusiveMaximum", "expected a number less than 1"), ("maxLength", "expected a string of at most length 1"),
    ("pattern", 'string must match the pattern "^foo[0-9]+$"'), ("minItems", "expected an array with at least 3 items"),
    ("maxItems", "expected an array with at most 2 items"),
    ("minProperties", "expected an object with at least 1 properties"),
    ("maxProperties", "expected an object with at most 1 properties"),
}


def _blamed(result):
    return {(e.path[0], e.message) for e in result}


def test_corpus_schema_case_source_validates():
    assert validate(V(SOURCE), SCHEMA_PROVIDER_SCHEMA).ok


def test_corpus_schema_error_eval_phase():
    inputs = {k: V(SOURCE[v]) for k, v in SINK.items()}
    inputs["minLength"] = V("")
    result = validate(Value(inputs), SCHEMA_PROVIDER_SCHEMA)
    assert not result.ok
    assert _blamed(result) == BOTH | EVAL_ONLY
    assert len(result) == len(BOTH | EVAL_ONLY)  # no message twice


def test_corpus_schema_error_check_phase():
    def unknown_source_property(name):
        sub, err = access_schema(SCHEMA_PROVIDER_SCHEMA, name)
        assert err is None
        return U(sub)

    inputs = {k: unknown_source_property(v) for k, v in SINK.items()}
    inputs["minLength"] = V("")
    result = validate(Value(inputs), SCHEMA_PROVIDER_SCHEMA)
    assert not result.ok
    assert _blamed(result) == BOTH | CHECK_ONLY
