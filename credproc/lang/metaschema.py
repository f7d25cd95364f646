"""ESC's meta-schema: what `fn::validate` accepts as its `schema` (ESC `schema/json_schema.go`,
JSONSchemaSchema). The schema argument is checked against it first, with the usual validation
messages; a schema that fails is reported and not used (the value passes through unchecked).

Unlisted keywords are allowed (no additionalProperties), `const` and `default` take any value.
"""

_SCHEMA_REF = {"$ref": "#/$defs/schema"}
_SCHEMA_MAP = {"type": "object", "additionalProperties": _SCHEMA_REF}
_SCHEMA_LIST = {"type": "array", "items": _SCHEMA_REF}
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
_STRING_LIST = {"type": "array", "items": {"type": "string"}}

_KEYWORDS = {
    # core vocabulary
    "$defs": _SCHEMA_MAP,
    # applicator vocabulary
    "$ref": _STRING,
    "anyOf": _SCHEMA_LIST,
    "oneOf": _SCHEMA_LIST,
    "prefixItems": _SCHEMA_LIST,
    "items": _SCHEMA_REF,
    "additionalProperties": _SCHEMA_REF,
    "properties": _SCHEMA_MAP,
    # validation vocabulary
    "type": {"type": "string", "enum": ["string", "number", "boolean", "array", "object", "null"]},
    "const": {},
    "enum": {"type": "array"},
    "multipleOf": _NUMBER,
    "maximum": _NUMBER,
    "exclusiveMaximum": _NUMBER,
    "minimum": _NUMBER,
    "exclusiveMinimum": _NUMBER,
    "maxLength": _NUMBER,
    "minLength": _NUMBER,
    "pattern": _STRING,
    "maxItems": _NUMBER,
    "minItems": _NUMBER,
    "uniqueItems": {"type": "boolean"},
    "maxProperties": _NUMBER,
    "minProperties": _NUMBER,
    "required": _STRING_LIST,
    "dependentRequired": {"type": "object", "additionalProperties": _STRING_LIST},
    # metadata vocabulary
    "title": _STRING,
    "description": _STRING,
    "default": {},
    "deprecated": {"type": "boolean"},
    "examples": {"type": "array"},
}

#: a boolean schema (true: anything, false: nothing) or an object of the keywords above
JSON_SCHEMA_SCHEMA = {
    "$defs": {"schema": {"anyOf": [{"type": "boolean"}, {"type": "object", "properties": _KEYWORDS}]}},
    "$ref": "#/$defs/schema",
}
