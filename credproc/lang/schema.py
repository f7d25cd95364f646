"""ESC's JSON-Schema subset: validation with ESC's exact messages (docs/esc-language.md §13), access into
unknown values by schema (§5), and the `rotateOnly` marker.

Schemas are plain Python, as providers declare them: ``True``/``None`` (anything), ``False``
(nothing), or a dict with the keywords below. A dict holding only metadata (``{}``,
``{"description": ...}``) also accepts anything.

Two modes of validation, as in ESC (``eval/eval_validate.go``):

* a **known** value is checked keyword by keyword (``$ref``, ``anyOf``, ``oneOf``, ``const``, ``enum``,
  ``type`` then the type's own keywords) and every failing keyword reports;
* an **unknown** value (check mode, or a provider that was not called) is checked by comparing its
  schema with the accepted one: only types, array items and object properties/required are
  compared. Errors below the unknown node are located at the unknown node and their message is
  prefixed with the relative path (``bar: missing required property``).

A ``False`` schema rejects without a message (ESC's ``never``): ``validate`` then returns an empty
list whose ``ok`` is False. Test ``result.ok`` (or ``bool(result)``, True whenever validation failed),
never ``len(result)``; ``validate(..., explain_never=True)`` adds messages for credproc's own uses.
A malformed schema (unknown ``$ref``, bad ``pattern``, bad number) raises InvalidSchema, from
``validate`` when it meets the bad part, from ``check_schema`` for the whole schema up front.

The work is bounded whatever the schema: checks are memoised per (value node, schema node), every
check, message and constant compared is paid from a StepAllowance (ValidationTooLong past it),
``pattern`` runs on RE2 (credproc.lang.re2, linear time) and ``multipleOf`` is exact in time set
by the digits written, not by the exponents.
"""
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, Decimal, InvalidOperation, localcontext
from urllib.parse import unquote

from credproc.lang.re2 import InvalidPattern, compile_pattern
from credproc.lang.syntax import join_key
from credproc.lang.values import Number, Value, format_json_float, go_json, go_quote

__all__ = [
    "SchemaError",
    "ValidationResult",
    "InvalidSchema",
    "ValidationTooLong",
    "StepAllowance",
    "MAX_VALIDATION_STEPS",
    "validate",
    "check_schema",
    "access_schema",
    "type_name",
    "rotate_only_properties",
    "const_json",
    "number_text",
]

# Keys that say nothing about which values are accepted.
_METADATA_KEYS = frozenset({
    "$defs", "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "secret", "rotateOnly",
})


@dataclass(frozen=True)
class SchemaError:
    """One validation message. ``path`` is relative to the validated value: str keys and int
    indices leading to the node to blame."""

    path: tuple
    message: str

    def __str__(self):
        return self.message


class ValidationResult(list):
    """The list of SchemaError, plus ``ok``: False when the value does not validate, even when
    no message explains why (a ``false`` schema). ``bool(result)`` is True when invalid, so
    ``if validate(v, s): reject`` works for both cases."""

    def __init__(self, errors=(), ok=True):
        super().__init__(errors)
        self.ok = ok and not errors

    def __bool__(self):
        return not self.ok


class InvalidSchema(ValueError):
    """The schema itself is malformed (unknown $ref, bad pattern, bad number)."""


#: Steps the schema checks of one evaluation may take together. A step is one check of a value
#: (or of an unknown value's schema) against one schema node, or one error message made or
#: carried up. Checks are memoised (a value node meets each schema node at most once), so only
#: schemas whose alternatives multiply the messages, or a large value against a large schema,
#: come near it; about a second of work.
MAX_VALIDATION_STEPS = 250_000


class ValidationTooLong(Exception):
    """The schema checks took more than their allowance of steps (StepAllowance)."""

    def __init__(self, limit):
        super().__init__(f"evaluation exceeds credproc's limit of {limit} schema validation steps")
        self.limit = limit


class StepAllowance:
    """The steps left to the schema checks of one evaluation (shared by every validate call)."""

    __slots__ = ("limit", "left")

    def __init__(self, limit=MAX_VALIDATION_STEPS):
        self.limit = self.left = limit

    def take(self, n=1):
        self.left -= n
        if self.left < 0:
            raise ValidationTooLong(self.limit)


# ---------------------------------------------------------------------------------------------
# Small helpers on values and schemas


def type_name(value) -> str:
    """ESC's name for the JSON type of a Value (or of a plain Python value)."""
    v = value.value if isinstance(value, Value) else value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (Number, int, float, Decimal)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def _is_always(s) -> bool:
    return s is None or s is True or (isinstance(s, dict) and _METADATA_KEYS.issuperset(s))


def _is_never(s) -> bool:
    return s is False


def _check_schema(s):
    if not (s is None or isinstance(s, (bool, dict))):
        raise InvalidSchema(f"a schema must be a boolean or an object, not {type(s).__name__}")


def _push_defs(scope: tuple, s) -> tuple:
    """$refs resolve against the enclosing schemas' $defs, innermost first."""
    if isinstance(s, dict) and isinstance(s.get("$defs"), dict):
        return scope + (s["$defs"],)
    return scope


def _resolve_ref(ref: str, scope: tuple):
    prefix = "#/$defs/"
    name = ref[len(prefix):] if isinstance(ref, str) and ref.startswith(prefix) else None
    if name is None or "/" in name:
        raise InvalidSchema("only fragment references of the form #/$defs/ref are supported")
    name = unquote(name)
    for defs in reversed(scope):
        if name in defs:
            return defs[name]
    raise InvalidSchema(f"unknown subschema {ref}")


def _decimal(n) -> Decimal:
    """A number from a Value (Number text) or from a schema (int, float, Decimal, numeric str)."""
    if isinstance(n, bool):
        raise InvalidSchema(f"expected a number, got {n!r}")
    if isinstance(n, float):
        return Decimal(repr(n))
    try:
        return Decimal(n) if isinstance(n, (int, Decimal)) else Decimal(str(n).strip())
    except InvalidOperation:
        raise InvalidSchema(f"invalid number {n!r}") from None


def _is_multiple(n: Decimal, m: Decimal) -> bool:
    """Whether n is a whole multiple of m, exactly, in work bounded by the digits written (never by
    the exponents: 1e999999999 is a multiple of 3 only if 10**999999999 is, found by modular pow)."""
    if m == 0 or not n.is_finite() or not m.is_finite():
        return False
    if n == 0:
        return True
    tn, tm = n.as_tuple(), m.as_tuple()
    cn, en = Decimal((0, tn.digits, 0)), tn.exponent  # n = ±cn * 10**en, cn whole
    cm, em = Decimal((0, tm.digits, 0)), tm.exponent
    with localcontext() as ctx:
        ctx.prec = 2 * (len(tn.digits) + len(tm.digits)) + 10  # every result below is exact
        ctx.Emax, ctx.Emin = MAX_EMAX, MIN_EMIN
        if en >= em:  # cm must divide cn * 10**(en - em)
            return (cn % cm) * pow(Decimal(10), Decimal(en - em), cm) % cm == 0
        shift = em - en  # cm * 10**shift must divide cn
        if shift > len(tn.digits):
            return False  # 0 < cn < 10**shift <= cm * 10**shift
        return cn % Decimal((0, tm.digits, shift)) == 0


def _count(n) -> int:
    """minLength & co.: non-negative integers (Go parses them with ParseUint)."""
    d = _decimal(n)
    if d != d.to_integral_value() or d < 0:
        raise InvalidSchema(f"invalid count {n!r}")
    return int(d)


def number_text(n) -> str:
    """How Go prints a schema number: json.Number text as written, ints in decimal, floats as json."""
    if isinstance(n, float):
        if n != n or n in (float("inf"), float("-inf")):
            raise InvalidSchema(f"unsupported value: {n!r}")
        return format_json_float(n)
    if isinstance(n, Decimal):
        return format(n, "f") if n == n.to_integral_value() and abs(n) < Decimal("1e21") else str(n)
    return str(n)


def const_json(v) -> str:
    """Compact Go json.Marshal of a schema constant (plain Python, or a Value tree), through the one
    JSON encoder (credproc.lang.values.go_json)."""
    return go_json(_json_plain(v))


def _json_plain(v):
    if isinstance(v, Value):
        v = v.value
    if isinstance(v, (list, tuple)):
        return [_json_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_plain(x) for k, x in v.items()}
    if isinstance(v, (float, Decimal)) and not isinstance(v, bool):
        return Number(number_text(v))
    if v is None or isinstance(v, (bool, int, str)):
        return v
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def _compile_pattern(p: str, steps: "StepAllowance | None" = None):
    try:
        return compile_pattern(p, steps.take) if steps is not None else compile_pattern(p)
    except InvalidPattern as err:
        raise InvalidSchema(str(err)) from None


# ---------------------------------------------------------------------------------------------
# Validation


def _equals_const(v, c, steps=None) -> bool:
    """Whether the JSON value of v (a Value, or a plain value) equals the schema constant c; each
    node compared is paid from `steps` (a long enum of big constants costs what it compares)."""
    if steps is not None:
        steps.take()
    x = v.value if isinstance(v, Value) else v
    if c is None:
        return x is None
    if isinstance(c, bool):
        return isinstance(x, bool) and x == c
    if isinstance(c, (int, float, Decimal, Number)):
        if isinstance(x, bool) or not isinstance(x, (Number, int, float, Decimal)):
            return False
        return _decimal(x) == _decimal(c)
    if isinstance(c, str):
        return isinstance(x, str) and not isinstance(x, Number) and x == c
    if isinstance(c, (list, tuple)):
        return isinstance(x, list) and len(x) == len(c) and all(_equals_const(a, b, steps) for a, b in zip(x, c))
    if isinstance(c, dict):
        return (isinstance(x, dict) and len(x) == len(c)
                and all(k in x and _equals_const(x[k], cv, steps) for k, cv in c.items()))
    return False


_IN_PROGRESS = object()


class _Validator:
    """One validation. `memo` (shared with its sub-validators) holds each check already made,
    keyed by the identities of its arguments, with its result and messages: a value meets a schema
    node once, however many alternatives lead there (anyOf over a recursive $ref was exponential).
    Every check and message is paid from `steps`."""

    def __init__(self, explain_never=False, steps=None, memo=None):
        self.errors = []
        self.explain_never = explain_never
        self.steps = steps if steps is not None else StepAllowance()
        self.memo = memo if memo is not None else {}

    def sub(self):
        return _Validator(self.explain_never, self.steps, self.memo)

    def adopt(self, errors):
        """Carry a sub-check's messages up (paid per message)."""
        self.steps.take(len(errors))
        self.errors.extend(errors)

    def memoised(self, key, check, args, on_cycle):
        """check(*args) once per key; a key met again while its check runs is a cycle (on_cycle())."""
        self.steps.take()
        done = self.memo.get(key)
        if done is _IN_PROGRESS:
            return on_cycle()
        if done is not None:
            ok, errors = done
            self.adopt(errors)
            return ok
        self.memo[key] = _IN_PROGRESS
        start = len(self.errors)
        ok = check(*args)
        self.steps.take(len(self.errors) - start)
        self.memo[key] = (ok, self.errors[start:])
        return ok

    def never(self, path, message, rel=None):
        """A `false` schema rejects silently in ESC; credproc's own callers may ask for a message."""
        return self.error(path, message, rel) if self.explain_never else False

    def error(self, path, message, rel=None):
        self.steps.take()
        if rel is not None:
            message = f"{rel}: {message}"
        self.errors.append(SchemaError(tuple(path), message))
        return False

    def _alternatives(self, alts, check, path, rel, summary):
        """anyOf-style: some alternative must pass; on failure every alternative's errors, then summary."""
        matched, collected = False, []
        for alt in alts:
            sub = self.sub()
            if check(sub, alt):
                matched = True
            collected.extend(sub.errors)
            self.steps.take(len(sub.errors))
        if not matched:
            self.adopt(collected)
            return self.error(path, summary, rel)
        return True

    # -- known values ------------------------------------------------------------------------

    def element(self, v, accept, scope, path) -> bool:
        _check_schema(accept)
        if _is_always(accept):
            return True
        if _is_never(accept):
            return self.never(path, "no value is allowed here")
        scope = _push_defs(scope, accept)
        if isinstance(v, Value) and v.unknown:
            return self.schema_type(v.schema, (), accept, scope, path, None)
        key = (id(v), id(accept), path, *map(id, scope))
        return self.memoised(key, self.known, (v, accept, scope, path), _ref_cycle)

    def known(self, v, accept, scope, path) -> bool:
        ok = True
        if "$ref" in accept:
            ok &= self.element(v, _resolve_ref(accept["$ref"], scope), scope, path)
        if accept.get("anyOf"):
            ok &= self._alternatives(accept["anyOf"], lambda sub, a: sub.element(v, a, scope, path),
                                     path, None, "at least one subschema must match")
        if accept.get("oneOf"):
            ok &= self.one_of(v, accept["oneOf"], scope, path)
        if "const" in accept and not _equals_const(v, accept["const"], self.steps):
            ok = self.error(path, f"expected {const_json(accept['const'])}")
        if accept.get("enum"):
            ok &= self.enum(v, accept["enum"], path)
        ok &= self.typed(v, accept, scope, path)
        return ok

    def one_of(self, v, alts, scope, path) -> bool:
        matched, collected = False, []
        for alt in alts:
            sub = self.sub()
            if sub.element(v, alt, scope, path):
                if matched:
                    return self.error(path, "exactly one subschema may match")
                matched = True
            collected.extend(sub.errors)
            self.steps.take(len(sub.errors))
        if not matched:
            self.adopt(collected)
            return self.error(path, "exactly one subschema must match")
        return True

    def enum(self, v, values, path) -> bool:
        if any(_equals_const(v, c, self.steps) for c in values):
            return True
        if len(values) == 1:
            return self.error(path, f"expected {const_json(values[0])}")
        return self.error(path, f"expected one of {const_json(list(values))}")

    def typed(self, v, accept, scope, path) -> bool:
        actual = type_name(v)
        expected = accept.get("type")
        if expected and expected != actual:
            return self.error(path, f"expected {expected}, got {actual}")
        x = v.value if isinstance(v, Value) else v
        if actual == "number":
            return self.number(x, accept, path)
        if actual == "string":
            return self.string(x, accept, path)
        if actual == "array":
            return self.array(x, accept, scope, path)
        if actual == "object":
            return self.object(x, accept, scope, path)
        return True

    def number(self, x, accept, path) -> bool:
        n, ok = _decimal(x), True
        if "multipleOf" in accept:
            # Decimal arithmetic: 0.3 is a multiple of 0.1 (ESC divides 64-bit binary floats and
            # says it is not; the brief asks for numeric comparison of the number texts).
            if not _is_multiple(n, _decimal(accept["multipleOf"])):
                ok = self.error(path, f"expected a multiple of {number_text(accept['multipleOf'])}")
        bounds = (
            ("minimum", lambda b: n < b, "expected a number greater than or equal to "),
            ("exclusiveMinimum", lambda b: n <= b, "expected a number greater than "),
            ("maximum", lambda b: n > b, "expected a number less than or equal to"),  # sic: no space
            ("exclusiveMaximum", lambda b: n >= b, "expected a number less than "),
        )
        for key, fails, text in bounds:
            if key in accept and fails(_decimal(accept[key])):
                ok = self.error(path, text + number_text(accept[key]))
        return ok

    def string(self, x, accept, path) -> bool:
        ok, size = True, len(x.encode("utf-8", "surrogatepass"))  # lengths are in bytes
        if "minLength" in accept and size < _count(accept["minLength"]):
            ok = self.error(path, f"expected a string of at least length {number_text(accept['minLength'])}")
        if "maxLength" in accept and size > _count(accept["maxLength"]):
            ok = self.error(path, f"expected a string of at most length {number_text(accept['maxLength'])}")
        pattern = accept.get("pattern")
        if pattern and not _compile_pattern(pattern, self.steps).search(x, self.steps.take):
            ok = self.error(path, f"string must match the pattern {go_quote(pattern)}")
        return ok

    def array(self, items, accept, scope, path) -> bool:
        ok = True
        if "minItems" in accept and len(items) < _count(accept["minItems"]):
            ok = self.error(path, f"expected an array with at least {number_text(accept['minItems'])} items")
        if "maxItems" in accept and len(items) > _count(accept["maxItems"]):
            ok = self.error(path, f"expected an array with at most {number_text(accept['maxItems'])} items")
        prefix = accept.get("prefixItems") or []
        for i, item in enumerate(items):
            sub = prefix[i] if i < len(prefix) else accept.get("items")
            if _is_never(sub) and self.explain_never:
                ok = self.never(path + (i,), f"unexpected array item at index {i}")
            else:
                ok &= self.element(item, sub, scope, path + (i,))
        return ok

    def object(self, members, accept, scope, path) -> bool:
        ok = True
        if "minProperties" in accept and len(members) < _count(accept["minProperties"]):
            ok = self.error(path, f"expected an object with at least {number_text(accept['minProperties'])} properties")
        if "maxProperties" in accept and len(members) > _count(accept["maxProperties"]):
            ok = self.error(path, f"expected an object with at most {number_text(accept['maxProperties'])} properties")
        properties = accept.get("properties") or {}
        for key in sorted(members):
            sub = properties[key] if key in properties else accept.get("additionalProperties")
            if _is_never(sub) and self.explain_never:
                ok = self.never(path + (key,), f"unexpected property {go_quote(key)}")
            else:
                ok &= self.element(members[key], sub, scope, path + (key,))
        missing = [k for k in accept.get("required") or () if k not in members]
        for key, needs in (accept.get("dependentRequired") or {}).items():
            if key in members:
                missing.extend(k for k in needs if k not in members)
        if missing:
            ok = self.error(path, "missing required properties: " + ", ".join(missing))
        return ok

    # -- unknown values: schema against schema -----------------------------------------------

    def schema_type(self, x, xscope, accept, scope, path, rel) -> bool:
        """Whether every value of schema x is accepted (ESC validateSchemaType). Errors are blamed on
        `path` (the unknown node) with `rel` (the path below it, None at the node) as a prefix."""
        _check_schema(x)
        _check_schema(accept)
        if _is_always(accept):
            return True
        if _is_never(accept):
            return self.never(path, "no value is allowed here", rel)
        if _is_always(x):
            return True
        if _is_never(x):
            return False
        scope, xscope = _push_defs(scope, accept), _push_defs(xscope, x)
        key = ("schema", id(x), id(accept), path, rel, len(xscope), *map(id, xscope), *map(id, scope))
        # Recursive schemas on both sides meet the same pair again: what holds so far holds.
        return self.memoised(key, self.schema_pair, (x, xscope, accept, scope, path, rel), _holds)

    def schema_pair(self, x, xscope, accept, scope, path, rel) -> bool:
        def against(sub_x, sub_accept, sub_rel=rel, v=None):
            return (v or self).schema_type(sub_x, xscope, sub_accept, scope, path, sub_rel)

        ok = True
        if "$ref" in accept:
            ok &= against(x, _resolve_ref(accept["$ref"], scope))
        if "$ref" in x:
            ok &= against(_resolve_ref(x["$ref"], xscope), accept)
        summary = "at least one subschema must match"  # oneOf is treated like anyOf between schemas
        for key in ("anyOf", "oneOf"):
            if x.get(key):
                ok &= self._alternatives(x[key], lambda sub, alt: against(alt, accept, v=sub), path, rel, summary)
        xtype = x.get("type")
        if xtype and accept.get("type") and xtype != accept["type"]:
            ok = self.error(path, f"expected {accept['type']}, got {xtype}", rel)
        for key in ("anyOf", "oneOf"):
            if accept.get(key):
                ok &= self._alternatives(accept[key], lambda sub, alt: against(x, alt, v=sub), path, rel, summary)
        if xtype == "array":
            ok &= self.schema_array(x, accept, against, rel)
        elif xtype == "object":
            ok &= self.schema_object(x, accept, against, path, rel)
        return ok

    def schema_array(self, x, accept, against, rel) -> bool:
        ok = True
        xprefix, aprefix = x.get("prefixItems") or [], accept.get("prefixItems") or []
        common = min(len(xprefix), len(aprefix))
        for i in range(common):
            ok &= against(xprefix[i], aprefix[i], _index(rel, i))
        for i in range(common, len(xprefix)):
            ok &= against(xprefix[i], accept.get("items"), _index(rel, i))
        if len(xprefix) <= common:
            for i in range(common, len(aprefix)):
                ok &= against(x.get("items"), aprefix[i], _index(rel, i))
        xitems = x.get("items")
        if xitems is not None and not _is_never(xitems):
            ok &= against(xitems, accept.get("items"))
        return ok

    def schema_object(self, x, accept, against, path, rel) -> bool:
        ok = True
        aprops = accept.get("properties") or {}
        for name, px in sorted((x.get("properties") or {}).items()):
            pa = aprops[name] if name in aprops else accept.get("additionalProperties")
            ok &= against(px, pa, _prop(rel, name))
        xadditional = x.get("additionalProperties")
        if "additionalProperties" not in x:
            # x lists all its properties: whatever accept requires must be required by x.
            guaranteed = set(x.get("required") or ())
            needed = list(accept.get("required") or ())
            for name, needs in (accept.get("dependentRequired") or {}).items():
                if name in guaranteed:
                    needed.extend(needs)
            for name in needed:
                if name not in guaranteed:
                    ok = self.error(path, "missing required property", _prop(rel, name))
        elif not _is_never(xadditional):
            ok &= against(xadditional, accept.get("additionalProperties"))
        return ok


def _holds():
    return True


def _ref_cycle():
    raise InvalidSchema("a $ref cycle returns to the same value without checking it")


def _index(rel, i) -> str:
    return f"{rel or ''}[{i}]"


def _prop(rel, name) -> str:
    return join_key(rel or "", name)


def validate(value, schema, *, explain_never: bool = False, steps: StepAllowance = None) -> ValidationResult:
    """Validate a Value against a schema; returns the errors (see ValidationResult for `.ok`).

    explain_never: ESC rejects a value that meets a `false` schema (e.g. `additionalProperties:
    false`, `items: false`) without any message; True adds one (`unexpected property "k"`,
    `unexpected array item at index N`, `no value is allowed here`). Leave it False for ESC
    conformance. Raises InvalidSchema when the schema is malformed where the value leads.

    steps: the allowance this check is paid from (an evaluation passes its own, shared by all its
    checks); a fresh one of MAX_VALIDATION_STEPS when None. ValidationTooLong when it runs out."""
    v = _Validator(explain_never, steps)
    ok = v.element(value, schema, (), ())
    return ValidationResult(v.errors, ok)


def check_schema(schema) -> None:
    """Raise InvalidSchema when `schema` is malformed: not a boolean/object, a `$ref` that does not
    resolve, a `pattern` that does not compile (or that RE2 would reject), a bad number or count."""
    _check_tree(schema, _push_defs((), schema))


_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties")
_SUBSCHEMA_MAPS = ("properties", "$defs")
_NUMBERS = ("multipleOf", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")


def _check_tree(s, scope):
    _check_schema(s)
    if not isinstance(s, dict):
        return
    scope = _push_defs(scope, s)
    if "$ref" in s:
        _resolve_ref(s["$ref"], scope)
    if "type" in s and not isinstance(s["type"], str):
        raise InvalidSchema("type must be a string")
    if s.get("pattern"):
        _compile_pattern(s["pattern"])
    for key in _NUMBERS:
        if key in s:
            _decimal(s[key])
    for key in _COUNTS:
        if key in s:
            _count(s[key])
    for key in _SUBSCHEMA_LISTS:
        for sub in s.get(key) or ():
            _check_tree(sub, scope)
    for key in _SUBSCHEMAS:
        if key in s:
            _check_tree(s[key], scope)
    for key in _SUBSCHEMA_MAPS:
        for sub in (s.get(key) or {}).values():
            _check_tree(sub, scope)


# ---------------------------------------------------------------------------------------------
# Access into unknown values


def _union(alternatives):
    alts = [a for a in alternatives if not _is_never(a)]
    if not alts:
        return False
    if len(alts) == 1:
        return alts[0]
    return {"oneOf": alts}


def _item(s, index: int):
    # As ESC: alternatives that are not dicts (true/false) contribute nothing (never).
    alts = [_item(a, index) for a in (s.get("anyOf") or []) + (s.get("oneOf") or []) if isinstance(a, dict)]
    if s.get("type") != "array":
        own = False
    else:
        prefix = s.get("prefixItems") or []
        # No `items` means any item (JSON Schema); ESC never builds such an array schema.
        own = prefix[index] if index < len(prefix) else s.get("items", True)
    return _union(alts + [own])


def _property(s, name: str):
    alts = [_property(a, name) for a in (s.get("anyOf") or []) + (s.get("oneOf") or []) if isinstance(a, dict)]
    if s.get("type") != "object":
        own = False
    else:
        properties = s.get("properties") or {}
        # As ESC: a property that is not listed and no additionalProperties -> never.
        own = properties[name] if name in properties else s.get("additionalProperties", False)
    return _union(alts + [own])


def _with_defs(sub, scope: tuple):
    """Make a sub-schema self-contained: its $refs still resolve once it is used on its own."""
    if not scope or not isinstance(sub, dict) or (_is_always(sub) and "$defs" not in sub):
        return sub
    defs = {}
    for d in scope:
        defs.update(d)
    defs.update(sub.get("$defs") or {})
    return {**sub, "$defs": defs}


def access_schema(schema, accessor):
    """What accessing `accessor` (a property name or an array index) of an unknown value with this
    schema yields: (sub_schema, None), or (None, error message). A sub-schema None means anything."""
    try:
        _check_schema(schema)
    except InvalidSchema as err:
        return None, f"internal error: invalid schema: {err}"
    if _is_always(schema):
        return None, None
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "array":
        if isinstance(accessor, str):
            return None, "cannot access an array element using a property name"
        if accessor < 0:
            return None, "array indices must not be negative"
        if _is_never(schema.get("items", True)):
            length = len(schema.get("prefixItems") or [])
            if accessor >= length:
                return None, f"array index {accessor} out-of-bounds for array of length {length}"
        sub = _item(schema, accessor)
    elif kind == "object":
        if not isinstance(accessor, str):
            return None, "cannot access an object property using an integer index"
        sub = _property(schema, accessor)
    else:
        return None, "receiver must be an array or an object"
    if _is_always(sub) and not isinstance(sub, dict):
        return None, None
    return _with_defs(sub, _push_defs((), schema)), None


def rotate_only_properties(schema) -> set:
    """Names of the top-level input properties a rotator marks `rotateOnly`."""
    if not isinstance(schema, dict):
        return set()
    if "$ref" in schema:
        try:
            schema = _resolve_ref(schema["$ref"], _push_defs((), schema))
        except InvalidSchema:
            return set()  # validation reports the bad schema
    properties = schema.get("properties") or {} if isinstance(schema, dict) else {}
    return {name for name, sub in properties.items() if isinstance(sub, dict) and sub.get("rotateOnly")}
