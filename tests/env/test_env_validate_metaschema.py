"""`fn::validate` checks its schema against ESC's meta-schema (ESC schema/json_schema.go,
JSONSchemaSchema) before using it, with ESC's messages and positions.

Expected lines follow ESC's code: evaluateBuiltinValidate calls evaluateTypedExpr(schema,
JSONSchemaSchema()); the meta-schema is `$ref: #/$defs/schema`, an anyOf of {type: boolean} and
{type: object, properties: ...}; an anyOf that matches no branch reports every branch's errors
then "at least one subschema must match" at the schema (eval_validate.go validateAnyOf);
messages are "expected %s, got %s", "expected one of %v" (json.Marshal of the enum). A schema
that fails the meta-schema is not used: the value passes through unchecked.
"""
import json

import pytest
from credproc.lang import schema as S
from credproc.lang.metaschema import JSON_SCHEMA_SCHEMA
from credproc.lang.values import Number, Value

TYPES = '["string","number","boolean","array","object","null"]'


def _check(cli, put, body: str):
    put("acme/v", "values:\n" + body)
    return cli("env", "check", "acme/v")


CASES = {
    "unknown type name": (
        "  a:\n    fn::validate:\n      schema: {type: strin}\n      value: 1\n",
        ["acme/v:4:15: expected boolean, got object",
         "acme/v:4:15: at least one subschema must match",
         f"acme/v:4:22: expected one of {TYPES}"]),
    "schema is a string": (
        "  a:\n    fn::validate:\n      schema: string\n      value: 1\n",
        ["acme/v:4:15: expected boolean, got string",
         "acme/v:4:15: expected object, got string",
         "acme/v:4:15: at least one subschema must match"]),
    "schema is a list": (
        "  a:\n    fn::validate:\n      schema: [type, string]\n      value: 1\n",
        ["acme/v:4:15: expected boolean, got array",
         "acme/v:4:15: expected object, got array",
         "acme/v:4:15: at least one subschema must match"]),
    "nested property schema, number keyword as a string": (
        "  a:\n    fn::validate:\n      schema:\n        type: object\n        properties:\n"
        "          x: {minimum: \"3\"}\n      value: {x: 1}\n",
        ["acme/v:5:9: expected boolean, got object",
         "acme/v:5:9: at least one subschema must match",
         "acme/v:7:14: expected boolean, got object",
         "acme/v:7:14: at least one subschema must match",
         "acme/v:7:24: expected number, got string"]),
    "items given as a list (draft-04 tuple form)": (
        "  a:\n    fn::validate:\n      schema: {type: array, items: [true]}\n      value: [1]\n",
        ["acme/v:4:15: expected boolean, got object",
         "acme/v:4:15: at least one subschema must match",
         "acme/v:4:36: expected boolean, got array",
         "acme/v:4:36: expected object, got array",
         "acme/v:4:36: at least one subschema must match"]),
    "required holds a number, uniqueItems a string": (
        "  a:\n    fn::validate:\n      schema: {required: [1], uniqueItems: \"yes\"}\n      value: {}\n",
        ["acme/v:4:15: expected boolean, got object",
         "acme/v:4:15: at least one subschema must match",
         "acme/v:4:27: expected string, got number",
         "acme/v:4:44: expected boolean, got string"]),
    "type is not a string": (
        "  a:\n    fn::validate:\n      schema: {type: 5}\n      value: 1\n",
        ["acme/v:4:15: expected boolean, got object",
         "acme/v:4:15: at least one subschema must match",
         f"acme/v:4:22: expected one of {TYPES}",
         "acme/v:4:22: expected string, got number"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_malformed_schema_gets_escs_messages_and_the_value_is_not_checked(cli, put, name):
    body, expected = CASES[name]
    got = _check(cli, put, body)
    assert got.returncode == 2
    lines = got.stderr.splitlines()
    assert lines[:-1] == expected, got.stderr
    assert lines[-1] == f"credproc: environment acme/v has {len(expected)} error{'s' if len(expected) > 1 else ''}"


@pytest.mark.parametrize("schema", ["true", "false", "{}", "{type: object, additionalProperties: false}",
                                    "{$defs: {n: {type: number}}, $ref: '#/$defs/n'}",
                                    "{const: [1, {a: 2}], default: anything, examples: [1], x-custom: 3}",
                                    "{anyOf: [{type: string}, true], description: d, deprecated: true}"])
def test_well_formed_schemas_pass_the_meta_schema(schema):
    plain = json.loads(json.dumps(_yaml(schema)))
    assert S.validate(_value(plain), JSON_SCHEMA_SCHEMA).ok


def test_a_valid_schema_still_validates_the_value(cli, put):
    got = _check(cli, put, "  a:\n    fn::validate:\n      schema: {type: number, minimum: 3}\n      value: 1\n")
    assert got.stderr.splitlines()[0] == "acme/v:5:14: expected a number greater than or equal to 3"


def test_the_value_passes_through_when_the_schema_is_malformed(cli, put):
    put("acme/v", "values:\n  a:\n    fn::validate:\n      schema: {type: strin}\n      value: 7\n")
    got = cli("env", "open", "acme/v", "--partial", "a")
    assert got.stdout == "7\n"
    assert "7" not in got.stderr.replace("acme/v:", "")


def _yaml(text):
    import yaml

    return yaml.safe_load(text)


def _value(plain):
    if isinstance(plain, dict):
        return Value({k: _value(v) for k, v in plain.items()})
    if isinstance(plain, list):
        return Value([_value(v) for v in plain])
    if isinstance(plain, (int, float)) and not isinstance(plain, bool):
        return Value(Number(str(plain)))
    return Value(plain)
