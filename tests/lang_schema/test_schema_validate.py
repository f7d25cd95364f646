"""credproc.lang.schema.validate: every keyword of ESC's subset, with ESC's exact messages."""
import pytest

from credproc.lang.schema import InvalidSchema, SchemaError, check_schema, type_name, validate
from credproc.lang.values import Number, Value


def V(plain, secret=False):
    """A known Value tree from plain Python; ints/floats become Number text."""
    if isinstance(plain, Value):
        return plain
    if isinstance(plain, dict):
        return Value({k: V(v) for k, v in plain.items()}, secret=secret)
    if isinstance(plain, list):
        return Value([V(v) for v in plain], secret=secret)
    if isinstance(plain, (int, float)) and not isinstance(plain, bool):
        return Value(Number(repr(plain)), secret=secret)
    return Value(plain, secret=secret)


def U(schema=None):
    """An unknown value whose eventual value has `schema` (None: anything)."""
    return Value(unknown=True, schema=schema)


def messages(value, schema):
    return [e.message for e in validate(value, schema)]


def errors(value, schema):
    return [(e.path, e.message) for e in validate(value, schema)]


# --- type -----------------------------------------------------------------------------------------

SAMPLES = {
    "null": None, "boolean": True, "number": 42, "string": "esc", "array": [1], "object": {"a": 1},
}


@pytest.mark.parametrize("expected", sorted(SAMPLES))
@pytest.mark.parametrize("actual", sorted(SAMPLES))
def test_type_every_pair(expected, actual):
    got = messages(V(SAMPLES[actual]), {"type": expected})
    assert got == ([] if expected == actual else [f"expected {expected}, got {actual}"])


@pytest.mark.parametrize("plain,name", [
    (None, "null"), (False, "boolean"), (Number("1.5"), "number"), ("", "string"), ([], "array"), ({}, "object"),
])
def test_type_name(plain, name):
    assert type_name(V(plain)) == name
    assert type_name(plain) == name


def test_type_error_hides_the_type_keywords():
    assert messages(V(5), {"type": "string", "minLength": 10, "pattern": "x"}) == ["expected string, got number"]


def test_keywords_apply_without_type():
    assert messages(V("ab"), {"minLength": 3}) == ["expected a string of at least length 3"]
    assert messages(V(5), {"minLength": 3}) == []


def test_integer_is_not_a_type_of_esc():
    assert messages(V(1), {"type": "integer"}) == ["expected integer, got number"]


# --- true / false / empty ---------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [True, None, {}, {"description": "anything"}])
@pytest.mark.parametrize("plain", list(SAMPLES.values()))
def test_always(schema, plain):
    result = validate(V(plain), schema)
    assert result.ok and list(result) == [] and not result


@pytest.mark.parametrize("plain", list(SAMPLES.values()))
def test_never_rejects_without_a_message(plain):
    result = validate(V(plain), False)
    assert not result.ok
    assert list(result) == []
    assert bool(result)  # `if validate(...)` means "invalid"


# --- const / enum ------------------------------------------------------------------------------------

@pytest.mark.parametrize("const,good,bad,message", [
    ("hello", "hello", "world", 'expected "hello"'),
    (3.14, Number("3.14"), Number("3.15"), "expected 3.14"),
    (42, Number("42.0"), Number("41"), "expected 42"),
    (Number("1e2"), Number("100"), Number("10"), "expected 1e2"),
    (True, True, False, "expected true"),
    (False, False, True, "expected false"),
    (None, None, "null", "expected null"),
    (["hello", 42], ["hello", 42], ["hello", 43], 'expected ["hello",42]'),
    ({"hello": "world"}, {"hello": "world"}, {"hello": "world", "x": 1}, 'expected {"hello":"world"}'),
    ({"b": 1, "a": "<&>"}, {"a": "<&>", "b": 1}, {"a": "<&>"}, 'expected {"a":"\\u003c\\u0026\\u003e","b":1}'),
])
def test_const(const, good, bad, message):
    assert messages(V(good), {"const": const}) == []
    assert messages(V(bad), {"const": const}) == [message]


def test_const_does_not_confuse_types():
    assert messages(V("42"), {"const": 42}) == ["expected 42"]
    assert messages(V(Number("1")), {"const": True}) == ["expected true"]
    assert messages(V(True), {"const": 1}) == ["expected 1"]
    assert messages(V([1]), {"const": {"0": 1}}) == ['expected {"0":1}']


def test_const_then_type_both_report():
    # ESC checks const before type; both fail independently (case schema-error, const-array).
    assert messages(V("esc"), {"type": "array", "const": ["hello", 42]}) == [
        'expected ["hello",42]', "expected array, got string"]


def test_enum():
    schema = {"type": "string", "enum": ["foo", "bar"]}
    assert messages(V("bar"), schema) == []
    assert messages(V("esc"), schema) == ['expected one of ["foo","bar"]']
    assert messages(V(Number("2.0")), {"enum": [1, 2]}) == []
    assert messages(V(Number("3")), {"enum": [1, 2.5, None]}) == ["expected one of [1,2.5,null]"]


def test_enum_of_one_reads_like_const():
    assert messages(V("x"), {"enum": ["only"]}) == ['expected "only"']


# --- anyOf / oneOf / $ref ----------------------------------------------------------------------------

ANY = {"anyOf": [{"type": "string"}, {"type": "number"}]}
ONE = {"oneOf": [{"type": "string"}, {"type": "number"}]}


def test_any_of():
    assert messages(V("a"), ANY) == []
    assert messages(V(1), ANY) == []
    assert messages(V(False), ANY) == [
        "expected string, got boolean", "expected number, got boolean", "at least one subschema must match"]


def test_one_of():
    assert messages(V(1), ONE) == []
    assert messages(V(False), ONE) == [
        "expected string, got boolean", "expected number, got boolean", "exactly one subschema must match"]


def test_one_of_with_two_matches():
    schema = {"oneOf": [{"type": "string"}, {"minLength": 1}, {"type": "number"}]}
    assert messages(V("abc"), schema) == ["exactly one subschema may match"]


def test_alternatives_are_located_where_they_apply():
    schema = {"type": "object", "properties": {"x": ANY}}
    assert errors(V({"x": None}), schema) == [
        (("x",), "expected string, got null"), (("x",), "expected number, got null"),
        (("x",), "at least one subschema must match")]


def test_ref():
    schema = {
        "$defs": {"rec": {"type": "object", "properties": {"baz": {"const": "qux"}, "n": {"$ref": "#/$defs/num"}}},
                  "num": {"type": "number"}},
        "type": "object", "properties": {"ref": {"$ref": "#/$defs/rec"}},
    }
    assert messages(V({"ref": {"baz": "qux", "n": 1}}), schema) == []
    assert errors(V({"ref": {"baz": "quux", "n": "1"}}), schema) == [
        (("ref", "baz"), 'expected "qux"'), (("ref", "n"), "expected number, got string")]


def test_ref_with_escaped_name():
    schema = {"$defs": {"a b": {"type": "null"}}, "$ref": "#/$defs/a%20b"}
    assert messages(V(1), schema) == ["expected null, got number"]


@pytest.mark.parametrize("ref", ["#/$defs/missing", "#/definitions/x", "other.json#/$defs/x", "#/$defs/a/b"])
def test_bad_ref_is_an_invalid_schema(ref):
    schema = {"$defs": {"a": True}, "$ref": ref}
    with pytest.raises(InvalidSchema):
        check_schema(schema)
    with pytest.raises(InvalidSchema):
        validate(V(1), schema)


# --- arrays ---------------------------------------------------------------------------------------------

TUPLE = {"type": "array", "prefixItems": [{"const": "hello"}, {"const": "world"}], "items": False}


def test_prefix_items():
    assert messages(V(["hello", "world"]), TUPLE) == []
    assert errors(V(["hello", "there"]), TUPLE) == [((1,), 'expected "world"')]


def test_extra_items_against_false_fail_silently():
    result = validate(V(["hello", "world", "!"]), TUPLE)
    assert not result.ok and list(result) == []


def test_shorter_tuple_is_fine():
    assert validate(V(["hello"]), TUPLE).ok


def test_items():
    schema = {"type": "array", "items": {"type": "string"}}
    assert errors(V(["a", 1, "b", None]), schema) == [
        ((1,), "expected string, got number"), ((3,), "expected string, got null")]
    assert validate(V([1, {}]), {"type": "array"}).ok  # no items: anything


@pytest.mark.parametrize("n,schema,message", [
    (2, {"minItems": 3}, "expected an array with at least 3 items"),
    (3, {"maxItems": 2}, "expected an array with at most 2 items"),
])
def test_array_sizes(n, schema, message):
    assert messages(V(list(range(n))), schema) == [message]
    assert messages(V(list(range(schema.get("minItems", 0) or schema.get("maxItems")))), schema) == []


# --- objects ----------------------------------------------------------------------------------------------

def test_properties_and_additional_properties():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "number"}}
    assert messages(V({"a": "x", "b": 1, "c": 2}), schema) == []
    assert errors(V({"a": 1, "b": "x"}), schema) == [
        (("a",), "expected string, got number"), (("b",), "expected number, got string")]


def test_additional_properties_false_fails_silently():
    result = validate(V({"a": "x", "zzz": 1}), {"properties": {"a": True}, "additionalProperties": False})
    assert not result.ok and list(result) == []


def test_required_then_dependent_required_in_one_message():
    schema = {"type": "object", "required": ["a", "b"], "dependentRequired": {"x": ["c", "a"], "y": ["d"]}}
    assert errors(V({"x": 1}), schema) == [((), "missing required properties: a, b, c, a")]
    assert messages(V({"a": 1, "b": 2, "c": 3, "y": 4, "d": 5}), schema) == []
    assert messages(V({"a": 1, "b": 2}), schema) == []  # dependent only when the key is present


@pytest.mark.parametrize("n,schema,message", [
    (0, {"minProperties": 1}, "expected an object with at least 1 properties"),
    (2, {"maxProperties": 1}, "expected an object with at most 1 properties"),
])
def test_object_sizes(n, schema, message):
    assert messages(V({f"k{i}": i for i in range(n)}), schema) == [message]
    assert messages(V({"k": 1}), schema) == []


def test_errors_are_reported_in_sorted_key_order_with_paths():
    schema = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "null"}}}
    assert errors(V({"b": [None, 1], "a": "x"}), schema) == [
        (("a",), "expected array, got string"), (("b", 1), "expected null, got number")]


# --- numbers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,schema,message", [
    ("4", {"multipleOf": 2}, None),
    ("3.14", {"multipleOf": 2}, "expected a multiple of 2"),
    ("0.3", {"multipleOf": 0.1}, None),            # decimal arithmetic, not binary floats
    ("7.5", {"multipleOf": 2.5}, None),
    ("7", {"multipleOf": Number("2.5")}, "expected a multiple of 2.5"),
    ("1e3", {"multipleOf": 10}, None),
    ("0", {"multipleOf": 0}, "expected a multiple of 0"),
    ("1", {"minimum": 1}, None),
    ("0.999", {"minimum": 1}, "expected a number greater than or equal to 1"),
    ("2", {"exclusiveMinimum": 1}, None),
    ("1", {"exclusiveMinimum": 1}, "expected a number greater than 1"),
    ("1", {"maximum": 1}, None),
    ("2", {"maximum": 1}, "expected a number less than or equal to1"),
    ("0", {"exclusiveMaximum": 1}, None),
    ("1.0", {"exclusiveMaximum": 1}, "expected a number less than 1"),
    ("-5", {"minimum": -4.5}, "expected a number greater than or equal to -4.5"),
    ("1e400", {"maximum": 1e300}, "expected a number less than or equal to1e+300"),
])
def test_number_keywords(value, schema, message):
    assert messages(V(Number(value)), schema) == ([message] if message else [])


def test_number_keywords_all_report_in_order():
    schema = {"multipleOf": 2, "minimum": 10, "exclusiveMinimum": 10, "maximum": 0, "exclusiveMaximum": 0}
    assert messages(V(Number("3")), schema) == [
        "expected a multiple of 2", "expected a number greater than or equal to 10",
        "expected a number greater than 10", "expected a number less than or equal to0",
        "expected a number less than 0"]


# --- strings ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,schema,message", [
    ("a", {"minLength": 1}, None),
    ("", {"minLength": 1}, "expected a string of at least length 1"),
    ("a", {"maxLength": 1}, None),
    ("ab", {"maxLength": 1}, "expected a string of at most length 1"),
    ("é", {"maxLength": 1}, "expected a string of at most length 1"),   # 2 bytes of UTF-8
    ("é", {"minLength": 2}, None),
    ("日本", {"maxLength": 6, "minLength": 6}, None),
])
def test_lengths_count_utf8_bytes(value, schema, message):
    assert messages(V(value), schema) == ([message] if message else [])


@pytest.mark.parametrize("value,pattern,ok", [
    ("foo42", "^foo[0-9]+$", True),
    ("esc", "^foo[0-9]+$", False),
    ("xx foo1 yy", "foo[0-9]", True),          # unanchored search
    ("foo1\n", "^foo[0-9]+$", False),          # RE2 $ is end of text
])
def test_pattern(value, pattern, ok):
    assert messages(V(value), {"pattern": pattern}) == (
        [] if ok else [f'string must match the pattern "{pattern}"'])


def test_pattern_message_is_go_quoted():
    assert messages(V("x"), {"pattern": r'^\d+"$'}) == ['string must match the pattern "^\\\\d+\\"$"']


def test_pattern_that_does_not_compile_is_an_invalid_schema():
    with pytest.raises(InvalidSchema, match=r"^error parsing regexp: missing closing \): `\(unclosed`$"):
        validate(V("x"), {"pattern": "(unclosed"})
    assert validate(V(1), {"pattern": "(unclosed"}).ok  # only strings meet the pattern


# --- flags ------------------------------------------------------------------------------------------------

def test_secret_is_transparent():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert validate(V({"a": Value("s", secret=True)}, secret=True), schema).ok
    assert messages(V({"a": Value(Number("1"), secret=True)}), schema) == ["expected string, got number"]


def test_result_shape():
    result = validate(V(1), {"type": "string"})
    assert isinstance(result, list) and isinstance(result[0], SchemaError)
    assert str(result[0]) == "expected string, got number" and result[0].path == ()
    assert not result.ok and result


def test_plain_python_values_are_accepted_too():
    assert messages({"a": 1}, {"type": "object", "properties": {"a": {"type": "string"}}}) == [
        "expected string, got number"]


@pytest.mark.parametrize("schema", [
    "string", {"minLength": -1}, {"maxItems": 1.5}, {"minimum": "x"}, {"multipleOf": True}, {"type": ["string"]},
    {"properties": {"a": {"items": 3}}}, {"anyOf": [{"$ref": "#/$defs/nope"}]},
    {"$defs": {"a": {"pattern": "("}}},
])
def test_malformed_schema(schema):
    with pytest.raises(InvalidSchema):
        check_schema(schema)


@pytest.mark.parametrize("schema", [
    True, False, {}, {"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}}},
    {"anyOf": [{"minLength": 1, "pattern": "^a"}, {"multipleOf": 0.5, "maximum": Number("10")}]},
])
def test_well_formed_schema(schema):
    check_schema(schema)


def test_malformed_schema_raises_from_validate():
    with pytest.raises(InvalidSchema, match="a schema must be a boolean or an object, not str"):
        validate(V(1), "string")
    with pytest.raises(InvalidSchema):
        validate(V({"a": 1}), {"properties": {"a": {"$ref": "#/$defs/nope"}}})


# --- explain_never (credproc's own providers) ------------------------------------------------------------

def test_explain_never():
    schema = {"type": "object", "properties": {"a": {"type": "array", "prefixItems": [True], "items": False},
                                               "never": False},
              "additionalProperties": False}
    value = V({"a": [1, 2], "never": 1, "typo": 1})
    assert list(validate(value, schema)) == [] and not validate(value, schema).ok  # ESC: silent
    assert errors(value, schema) == []
    assert [(e.path, e.message) for e in validate(value, schema, explain_never=True)] == [
        (("a", 1), "unexpected array item at index 1"), (("never",), 'unexpected property "never"'),
        (("typo",), 'unexpected property "typo"')]
    assert [e.message for e in validate(V(1), False, explain_never=True)] == ["no value is allowed here"]
    assert [e.message for e in validate(Value(unknown=True, schema={"type": "string"}), False,
                                        explain_never=True)] == ["no value is allowed here"]


def test_explain_never_inside_alternatives():
    schema = {"oneOf": [{"type": "object", "additionalProperties": False}, {"type": "string"}]}
    assert [e.message for e in validate(V({"x": 1}), schema, explain_never=True)] == [
        'unexpected property "x"', "expected string, got object", "exactly one subschema must match"]
