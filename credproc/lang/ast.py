"""Stage 2: syntax nodes -> expressions (ESC `ast/`): literals, interpolations, symbols, arrays,
objects and builtin calls, plus the environment declaration (description, imports, values).

Parse errors are diagnostics; a malformed builtin still yields an expression (it evaluates to
unknown) so that evaluation can go on and report everything in one run.
"""
from dataclasses import dataclass, field

from credproc.lang.diagnostics import Diagnostic, levenshtein, suggest
from credproc.lang.interpolate import parse_interpolation
from credproc.lang.syntax import MappingNode, ScalarNode, SequenceNode, is_string, parse_yaml
from credproc.lang.values import go_quote


# --- expressions -------------------------------------------------------------------------------------

class Expr:
    """Base of all expressions. `node` is the syntax node that diagnostics point at."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node


class Literal(Expr):
    """null, bool, Number or str (a string without any `${}`; `$$` already collapsed)."""

    __slots__ = ("value",)

    def __init__(self, node, value):
        super().__init__(node)
        self.value = value


class Symbol(Expr):
    """A string that is exactly one `${access}`: evaluates to the referenced value, type kept."""

    __slots__ = ("accessors",)

    def __init__(self, node, accessors):
        super().__init__(node)
        self.accessors = accessors


class Interpolate(Expr):
    """Text with `${}` parts (interpolate.Part list); always a string."""

    __slots__ = ("parts",)

    def __init__(self, node, parts):
        super().__init__(node)
        self.parts = parts


class Array(Expr):
    __slots__ = ("elements",)

    def __init__(self, node, elements):
        super().__init__(node)
        self.elements = elements


class ObjectEntry:
    __slots__ = ("key", "key_node", "value")

    def __init__(self, key, key_node, value):
        self.key, self.key_node, self.value = key, key_node, value


class Object(Expr):
    """entries in source order, duplicates included (the evaluator reports them, like ESC)."""

    __slots__ = ("entries",)

    def __init__(self, node, entries):
        super().__init__(node)
        self.entries = entries


class Builtin(Expr):
    """A call `{fn::NAME: args}`; node is the mapping, args_node the argument's node."""

    __slots__ = ("name", "args_node")

    def __init__(self, node, name, args_node):
        super().__init__(node)
        self.name, self.args_node = name, args_node


class Invalid(Builtin):
    """A builtin call whose arguments could not be parsed: evaluates to unknown."""

    __slots__ = ()


class Open(Builtin):
    __slots__ = ("provider", "inputs")

    def __init__(self, node, name, args_node, provider, inputs):
        super().__init__(node, name, args_node)
        self.provider, self.inputs = provider, inputs


class Rotate(Builtin):
    """`state_invalid`: the definition's `state` is not a mapping literal (e.g. `${src}`), so the
    rotator is not rotated: its new state would be written over that expression."""

    __slots__ = ("provider", "inputs", "state", "state_invalid")

    def __init__(self, node, name, args_node, provider, inputs, state, state_invalid=False):
        super().__init__(node, name, args_node)
        self.provider, self.inputs, self.state = provider, inputs, state
        self.state_invalid = state_invalid


class Secret(Builtin):
    """plaintext (str) or ciphertext (base64 str); `invalid` when the argument was not a literal."""

    __slots__ = ("plaintext", "ciphertext")

    def __init__(self, node, name, args_node, plaintext=None, ciphertext=None):
        super().__init__(node, name, args_node)
        self.plaintext, self.ciphertext = plaintext, ciphertext


class Unary(Builtin):
    """fn::toBase64, fn::fromBase64, fn::toJSON, fn::fromJSON, fn::toString, fn::final."""

    __slots__ = ("arg",)

    def __init__(self, node, name, args_node, arg):
        super().__init__(node, name, args_node)
        self.arg = arg


class Binary(Builtin):
    """fn::join [delimiter, values] and fn::split [delimiter, string]."""

    __slots__ = ("first", "second")

    def __init__(self, node, name, args_node, first, second):
        super().__init__(node, name, args_node)
        self.first, self.second = first, second


class Concat(Builtin):
    __slots__ = ("arrays",)

    def __init__(self, node, name, args_node, arrays):
        super().__init__(node, name, args_node)
        self.arrays = arrays


class Validate(Builtin):
    __slots__ = ("schema", "value")

    def __init__(self, node, name, args_node, schema, value):
        super().__init__(node, name, args_node)
        self.schema, self.value = schema, value


BUILTIN_NAMES = (
    "fn::concat", "fn::final", "fn::fromBase64", "fn::fromJSON", "fn::join", "fn::open", "fn::rotate",
    "fn::secret", "fn::split", "fn::toBase64", "fn::toJSON", "fn::toString", "fn::validate",
)
UNARY_BUILTINS = ("fn::toBase64", "fn::fromBase64", "fn::toJSON", "fn::fromJSON", "fn::toString", "fn::final")


# --- declarations --------------------------------------------------------------------------------------

@dataclass
class ImportDecl:
    name: str
    merge: bool
    node: object  # the list entry: a cyclic import is reported here
    name_node: object = None  # the name (the key of a `NAME: {merge: ...}` entry): loader errors go here


@dataclass
class EnvironmentDecl:
    name: str
    node: object
    description: "str | None" = None
    imports: list = field(default_factory=list)
    values: "Object | None" = None  # the `values` mapping as an object expression

    @property
    def is_empty(self) -> bool:
        return not self.imports and (self.values is None or not self.values.entries)


# --- parsing -------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, name):
        self.name = name
        self.diags = []

    def error(self, node, summary, path=None, line=None, column=None, severity="error"):
        self.diags.append(Diagnostic(
            severity, summary, self.name,
            line if line is not None else node.line,
            column if column is not None else node.column,
            node.path if path is None else path,
        ))

    # expressions

    def expr(self, node):
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            return Array(node, [self.expr(item) for item in node.items])
        return self.mapping(node)

    def scalar(self, node):
        if not is_string(node.value):
            return Literal(node, node.value)
        interp = parse_interpolation(node.value)
        for offset, message in interp.errors:
            line, column = node.position_of(offset)
            self.error(node, message, line=line, column=column)
        if not interp.has_access:
            return Literal(node, interp.literal_text())
        if interp.is_symbol():
            return Symbol(node, interp.parts[0].access)
        return Interpolate(node, interp.parts)

    def mapping(self, node):
        if len(node.entries) == 1:
            key_node, value_node = node.entries[0]
            call = self.builtin(node, key_node, value_node)
            if call is not None:
                return call
        else:
            for key_node, _ in node.entries:
                if key_node.value.startswith("fn::"):
                    self.error(node, f'illegal call to builtin function: {go_quote(key_node.value)} must be the only '
                                     "key within its containing object")
        entries = []
        for key_node, value_node in node.entries:
            key = self.object_key(key_node)
            value = self.expr(value_node)
            if key is not None:
                entries.append(ObjectEntry(key, key_node, value))
        return Object(node, entries)

    def object_key(self, key_node):
        interp = parse_interpolation(key_node.value)
        if interp.has_access or interp.errors:
            self.error(key_node, "object keys must be strings")
            return None
        return interp.literal_text()

    def builtin(self, node, key_node, args_node):
        name = key_node.value
        if name.startswith("fn::open::"):
            return self.short_open(node, name, args_node)
        if name.startswith("fn::rotate::"):
            return self.short_rotate(node, name, args_node)
        parse = _BUILTIN_PARSERS.get(name)
        if parse is None:
            if name.lower().startswith("fn::"):
                self.error(key_node, "'fn::' is a reserved prefix" + _builtin_suggestion(name), path=node.path)
            return None
        return parse(self, node, name, args_node)

    def open(self, node, name, args_node):
        if not isinstance(args_node, MappingNode):
            self.expr(args_node)
            self.error(args_node, "the argument to fn::open must be an object containing 'provider' and 'inputs'")
            return Invalid(node, name, args_node)
        fields = self.fields(args_node, ("provider", "inputs"))
        provider = self.provider_name(args_node, fields.get("provider"))
        inputs = fields.get("inputs")
        if inputs is None:
            self.error(args_node, "missing provider inputs ('inputs')")
        if provider is None or inputs is None:
            return Invalid(node, name, args_node)
        return Open(node, name, args_node, provider, inputs)

    def short_open(self, node, name, args_node):
        return Open(node, name, args_node, name[len("fn::open::"):], self.expr(args_node))

    def rotate(self, node, name, args_node):
        if not isinstance(args_node, MappingNode):
            self.expr(args_node)
            self.error(args_node, "the argument to fn::rotate must be an object containing 'provider', "
                                  "'inputs' and 'state'")
            return Invalid(node, name, args_node)
        fields = self.fields(args_node, ("provider", "inputs", "state"))
        provider = self.provider_name(args_node, fields.get("provider"))
        return self.rotate_rest(node, name, args_node, provider, fields)

    def short_rotate(self, node, name, args_node):
        if not isinstance(args_node, MappingNode):
            self.expr(args_node)
            self.error(args_node, "the argument to fn::rotate must be an object containing 'inputs' and 'state'")
            return Invalid(node, name, args_node)
        fields = self.fields(args_node, ("inputs", "state"))
        return self.rotate_rest(node, name, args_node, name[len("fn::rotate::"):], fields)

    def rotate_rest(self, node, name, args_node, provider, fields):
        inputs, state = fields.get("inputs"), fields.get("state")
        if inputs is None:
            self.error(args_node, "missing provider inputs ('inputs')")
        state_invalid = state is not None and not isinstance(state, Object)
        if state_invalid:
            self.error(state.node, "rotation state must be an object literal")
            state = None
        if provider is None or inputs is None:
            return Invalid(node, name, args_node)
        return Rotate(node, name, args_node, provider, inputs, state, state_invalid)

    def fields(self, args_node, names):
        """Parse every entry of an argument mapping (for its diagnostics) and return the named ones."""
        found = {}
        for key_node, value_node in args_node.entries:
            value = self.expr(value_node)
            if key_node.value in names:
                found[key_node.value] = value  # as ESC: a repeated argument, the last one counts
        return found

    def provider_name(self, args_node, provider):
        if provider is None:
            self.error(args_node, "missing provider name ('provider')")
            return None
        if not (isinstance(provider, Literal) and is_string(provider.value)):
            self.error(provider.node, "provider name must be a string literal")
            return None
        return provider.value

    def secret(self, node, name, args_node):
        value = self.expr(args_node)
        if isinstance(value, Object) and len(value.entries) == 1 and value.entries[0].key == "ciphertext":
            ciphertext = value.entries[0].value
            if isinstance(ciphertext, Literal) and is_string(ciphertext.value):
                return Secret(node, name, args_node, ciphertext=ciphertext.value)
        if isinstance(value, Literal) and is_string(value.value):
            return Secret(node, name, args_node, plaintext=value.value)
        self.error(args_node, "secret values must be string literals")
        return Secret(node, name, args_node, plaintext="")

    def two_valued(self, node, name, args_node):
        args = self.expr(args_node)
        if not isinstance(args, Array) or len(args.elements) != 2:
            self.error(args_node, f"the argument to {name} must be a two-valued list")
            return Invalid(node, name, args_node)
        return Binary(node, name, args_node, args.elements[0], args.elements[1])

    def concat(self, node, name, args_node):
        args = self.expr(args_node)
        if not isinstance(args, Array):
            self.error(args_node, "the argument to fn::concat must be an array of arrays")
            return Invalid(node, name, args_node)
        return Concat(node, name, args_node, args.elements)

    def unary(self, node, name, args_node):
        return Unary(node, name, args_node, self.expr(args_node))

    def validate(self, node, name, args_node):
        if not isinstance(args_node, MappingNode):
            self.expr(args_node)
            self.error(args_node, "the argument to fn::validate must be an object containing 'schema' and 'value'")
            return Invalid(node, name, args_node)
        fields = self.fields(args_node, ("schema", "value"))
        for required in ("schema", "value"):
            if required not in fields:
                self.error(args_node, f"missing required property '{required}'")
        if len(fields) != 2:
            return Invalid(node, name, args_node)
        return Validate(node, name, args_node, fields["schema"], fields["value"])

    # the environment

    def environment(self, root):
        decl = EnvironmentDecl(self.name, root)
        if not isinstance(root, MappingNode):
            self.error(root, "environment must be an object")
            return decl
        chosen = {}
        for key_node, value_node in root.entries:
            field_name = key_node.value.lower()
            if field_name not in ("description", "imports", "values"):
                self.error(key_node, _unknown_field_message(key_node.value), severity="warning")
                continue
            if field_name in chosen:
                self.error(key_node, f'duplicate key {go_quote(key_node.value)}', severity="warning")
            chosen[field_name] = value_node  # the last occurrence wins
        if "description" in chosen:
            self.description(decl, chosen["description"])
        if "imports" in chosen:
            self.imports(decl, chosen["imports"])
        if "values" in chosen:
            self.values(decl, chosen["values"])
        return decl

    # As ESC: an empty (null) description, imports or values is the wrong shape too.

    def description(self, decl, node):
        value = self.expr(node)
        if isinstance(value, Literal) and is_string(value.value):
            decl.description = value.value
        else:
            self.error(node, "description must be a string")

    def imports(self, decl, node):
        if not isinstance(node, SequenceNode):
            self.error(node, "imports must be a list")
            return
        for entry in node.items:
            parsed = self.import_entry(entry)
            if parsed is not None:
                decl.imports.append(parsed)

    def import_entry(self, entry):
        if isinstance(entry, ScalarNode) and is_string(entry.value):
            return ImportDecl(entry.value, True, entry, entry)
        if not isinstance(entry, MappingNode):
            self.error(entry, "import must be a string or an object")
            return None
        if len(entry.entries) != 1:
            self.error(entry, "import must have a single key")
            return None
        key_node, meta = entry.entries[0]
        merge = True
        if not isinstance(meta, MappingNode):
            self.error(meta, "import must be an object")
            return None
        for meta_key, meta_value in meta.entries:
            if meta_key.value.lower() != "merge":
                continue  # other keys are ignored, as ESC does
            if not (isinstance(meta_value, ScalarNode) and isinstance(meta_value.value, bool)):
                self.error(meta_value, "merge must be a boolean value")
                return None
            merge = meta_value.value
        return ImportDecl(key_node.value, merge, entry, key_node)

    def values(self, decl, node):
        if not isinstance(node, MappingNode):
            self.error(node, "values must be an object")
            return
        entries = []
        for key_node, value_node in node.entries:
            if key_node.value.startswith("fn::"):
                self.error(key_node, f'builtin function call {go_quote(key_node.value)} not allowed at the top level')
                continue
            key = self.object_key(key_node)
            value = self.expr(value_node)
            if key is not None:
                entries.append(ObjectEntry(key, key_node, value))
        decl.values = Object(node, entries)


_BUILTIN_PARSERS = {
    "fn::open": _Parser.open,
    "fn::rotate": _Parser.rotate,
    "fn::secret": _Parser.secret,
    "fn::join": _Parser.two_valued,
    "fn::split": _Parser.two_valued,
    "fn::concat": _Parser.concat,
    "fn::validate": _Parser.validate,
    **{name: _Parser.unary for name in UNARY_BUILTINS},
}


def _builtin_suggestion(name):
    # Compare without the shared "fn::" prefix, which would make every name look close.
    candidates = [b[4:] for b in BUILTIN_NAMES]
    head, sep, tail = name[4:].partition("::")
    if sep:  # `fn::opne::aws-login` is most likely `fn::open::aws-login`
        candidates += [f"open::{tail}", f"rotate::{tail}"]
    rest = name[4:]
    found = rest if rest in candidates else suggest(rest, candidates, transpositions=True)  # e.g. `FN::secret`
    return f'; did you mean {go_quote("fn::" + found)}?' if found is not None else ""


def _unknown_field_message(key):
    fields = sorted(("description", "imports", "values"), key=lambda f: levenshtein(key, f))
    existing = ", ".join(f"'{f}'" for f in fields)
    return f"Field '{key}' does not exist on Object 'environment'. Existing fields are: {existing}"


def parse_environment(name, root):
    """(EnvironmentDecl, diagnostics) from a syntax tree."""
    parser = _Parser(name)
    decl = parser.environment(root)
    return decl, parser.diags


def load_environment(name, source):
    """(EnvironmentDecl | None, diagnostics): None only when the YAML could not be decoded."""
    root, diags = parse_yaml(name, source)
    if root is None:
        return None, diags
    decl, more = parse_environment(name, root)
    return decl, diags + more
