"""Stage 3: expressions -> values (ESC `eval/`).

The model follows ESC's evaluator:

* every expression is *declared* once with the value its imports define at the same path (its
  "base"), then evaluated on demand, memoised, with an "evaluating" state that detects cycles
  (`cyclic reference to a.p` at the expression that is re-entered);
* objects evaluate their properties in sorted key order, so cycle messages are deterministic;
* property access walks object and array *literals* without evaluating them as a whole (so
  `c.a[2]` may refer to `c.a[0]`), and values after that;
* errors never stop evaluation: they are diagnostics, and the failing expression is unknown.

Values inside the evaluator are immutable `_V` nodes, shared freely; merging builds new nodes.
An object remembers the keys of its own top layer (`own`) because ESC's string form of an object
shows only those (keys inherited from an import are left out).

Guards against hostile input (each a diagnostic, never an exception): reference chains deeper than
MAX_EVAL_DEPTH, strings longer than MAX_STRING_CHARS, arrays longer than MAX_ARRAY_ITEMS, results
with more than MAX_EXPORT_NODES nodes (shared sub-values are counted each time they appear); each of
these makes one value unknown. Over all of them, the evaluation budget (EVAL_BUDGET_BYTES, see
Budget) ends the whole evaluation: it bounds the memory and time any definition can cost.
"""
import sys

from credproc.lang import ast as A
from credproc.lang.diagnostics import (
    Diagnostic, EnvironmentNotFound, SuggestionAllowance, did_you_mean, has_errors,
)
from credproc.lang.evalvalue import (
    EVAL_BUDGET_BYTES, MAX_EXPORT_NODES, MAX_STRING_CHARS, _ARRAY_SCHEMA, _BUDGET, _STRING_ARRAY_SCHEMA, _STRING_SCHEMA,
    Budget, BudgetExceeded, _Exporter, _TooLarge, _V, _from_plain, _unknown,
)
from credproc.lang.provider import OpenContext
from credproc.lang.syntax import join_index, join_key
from credproc.lang.values import Number, Value, go_quote

MAX_EVAL_DEPTH = 1500
_RECURSION_LIMIT = 30_000
_RESERVED_TOP_LEVEL = ("imports", "context", "environments")

# --- runtime expressions ---------------------------------------------------------------------------------

_PENDING, _EVALUATING, _DONE = 0, 1, 2


class _X:
    """A declared expression: the AST node, its property path, its base value and its memo."""

    __slots__ = ("ast", "path", "base", "state", "value", "props", "elements", "args")

    def __init__(self, ast, path, base):
        self.ast, self.path, self.base = ast, path, base
        self.state, self.value = _PENDING, None
        self.props = self.elements = self.args = None


def _base_property(base, key):
    if base is None:
        return None
    if base.unknown:
        return _unknown()
    if isinstance(base.repr, dict):
        return base.repr.get(key)
    return None


# --- the evaluation ---------------------------------------------------------------------------------------

class _Imported:
    __slots__ = ("evaluating", "value")

    def __init__(self):
        self.evaluating, self.value = True, None


class Evaluation:
    """State shared by the root and every environment it imports."""

    def __init__(self, *, loader, providers, rotators, context, mode, show_secrets, decrypter, root_name,
                 rotate_doc_paths=None):
        self.loader, self.providers, self.rotators = loader, providers, rotators or {}
        self.context = context or {}
        self.mode, self.show_secrets, self.decrypter = mode, show_secrets, decrypter
        self.root_name = root_name
        self.imports = {}
        self.diags = []
        self.depth = 0
        # rotation: document paths of the root's rotators to rotate (empty = all); patches produced
        self.rotate_doc_paths = set(rotate_doc_paths or ())
        self.patches = []
        self.suggestions = SuggestionAllowance()
        self.validation_steps = None  # schema.StepAllowance, made by the first schema check

    @property
    def checking(self):
        return self.mode == "check"

    @property
    def rotating(self):
        return self.mode == "rotate"

    def should_rotate(self, doc_path):
        return self.rotating and (not self.rotate_doc_paths or doc_path in self.rotate_doc_paths)


class _Env:
    """Evaluation of one environment definition (ESC's evalContext)."""

    def __init__(self, ev: Evaluation, name, decl, root_name, is_root):
        self.ev, self.name, self.decl = ev, name, decl
        self.root_name, self.is_root = root_name, is_root
        self.base = None
        self.imports_value = _V({})
        self.context_value = None
        self.root = None

    # diagnostics

    def diag(self, node, summary, *, line=None, column=None, severity="error", cause=None):
        if node is None:
            self.ev.diags.append(Diagnostic(severity, summary, self.name, None, None, "", cause))
            return
        self.ev.diags.append(Diagnostic(
            severity, summary, self.name,
            node.line if line is None else line, node.column if column is None else column,
            node.path, cause,
        ))

    def accessor_error(self, x, accessor, summary):
        line, column = x.ast.node.position_of(accessor.start) if hasattr(x.ast.node, "position_of") else (None, None)
        self.diag(x.ast.node, summary, line=line, column=column)

    def did_you_mean(self, name, candidates, order=sorted):
        """A suggestion for a misspelt name, paid from the evaluation's suggestion allowance."""
        if not self.ev.suggestions.take(len(candidates)):  # ordering them is work too
            return ""
        return did_you_mean(name, order(candidates), self.ev.suggestions)

    # driver

    def evaluate(self):
        self.context_value = self.make_context()
        self.evaluate_imports()
        self.root = self.declare_root()
        return self.evaluate_x(self.root)

    def make_context(self):
        plain = dict(self.ev.context)
        plain["currentEnvironment"] = {"name": self.name}
        plain["rootEnvironment"] = {"name": self.root_name}
        return _from_plain(plain)

    def evaluate_imports(self):
        # The record is "evaluating" until this environment's whole value is known (load_environment
        # marks it done): an import or inline reference back to it meanwhile is a cycle.
        self.ev.imports.setdefault(self.name, _Imported())
        my_imports = {}
        for decl in self.decl.imports:
            value = self.load_environment(decl.name, decl.node, decl.name_node)
            if value is None:
                continue
            my_imports[decl.name] = value
            if decl.merge:
                # docs/esc-language.md §6: the merge rules (fn::final included) hold between imports too; the
                # overriding import's value carries no position, so warn at its import entry.
                self.base = merge(self, self.base, value, decl.node)
        self.imports_value = _V(my_imports)

    def load_environment(self, name, at_node, name_node=None):
        """The merged value of environment `name` (import or inline reference), or None.
        A cycle is reported at `at_node`, a loading failure at `name_node` (default: at_node)."""
        name_node = name_node or at_node
        known = self.ev.imports.get(name)
        if known is not None:
            if known.evaluating:
                self.diag(at_node, f"cyclic import of {name}")
                return None
            return known.value
        try:
            source = self.ev.loader(name)
            if not isinstance(source, (bytes, bytearray, str)):
                raise TypeError(f"loading environment {name!r}: the loader returned {type(source).__name__}")
        except EnvironmentNotFound as err:
            self.diag(name_node, str(err), cause=err)
            return None
        except Exception as err:  # a loader failure must not stop the evaluation
            self.diag(name_node, str(err) or type(err).__name__, cause=err)
            return None
        from credproc.lang.ast import load_environment

        decl, diags = load_environment(name, bytes(source) if isinstance(source, bytearray) else source)
        self.ev.diags.extend(diags)
        record = _Imported()
        self.ev.imports[name] = record
        try:
            if decl is None or has_errors(diags):
                return None
            if self.ev.depth >= MAX_EVAL_DEPTH:
                self.diag(at_node, f"imports are nested more than {MAX_EVAL_DEPTH} levels deep")
                return None
            root_name = name if self.root_name == "<yaml>" else self.root_name
            child = _Env(self.ev, name, decl, root_name, is_root=False)
            self.ev.depth += 1
            try:
                record.value = child.evaluate()
            finally:
                self.ev.depth -= 1
            return record.value
        finally:
            record.evaluating = False

    # declaration

    def declare_root(self):
        values = self.decl.values
        root = _X(values if values is not None else A.Object(self.decl.node, []), "", self.base)
        root.props = {}
        for entry in (values.entries if values is not None else ()):
            key = entry.key
            if key in _RESERVED_TOP_LEVEL:
                self.diag(entry.key_node, f'{go_quote(key)} is a reserved key')
            elif key in root.props:
                self.diag(entry.key_node, f'duplicate key {go_quote(key)}')
            else:
                root.props[key] = self.declare(entry.value, join_key("", key), _base_property(self.base, key))
        return root

    def declare(self, node, path, base):
        x = _X(node, path, base)
        if isinstance(node, A.Object):
            x.props = {}
            for entry in node.entries:
                if entry.key in x.props:
                    self.diag(entry.key_node, f'duplicate key {go_quote(entry.key)}')
                else:
                    x.props[entry.key] = self.declare(entry.value, join_key(path, entry.key),
                                                      _base_property(base, entry.key))
        elif isinstance(node, A.Array):
            x.elements = [self.declare(e, join_index(path, i), None) for i, e in enumerate(node.elements)]
        elif isinstance(node, A.Builtin):
            x.args = {name: self.declare(arg, "", None) for name, arg in _builtin_args(node)}
        return x

    # evaluation of expressions

    def evaluate_x(self, x: _X) -> _V:
        if x.state == _DONE:
            return x.value
        if x.state == _EVALUATING:
            self.diag(x.ast.node, f"cyclic reference to {x.path}")
            return _unknown()
        if self.ev.depth >= MAX_EVAL_DEPTH:
            self.diag(x.ast.node, f"references are nested more than {MAX_EVAL_DEPTH} levels deep")
            return _unknown()
        x.state = _EVALUATING
        self.ev.depth += 1
        try:
            v = self.evaluate_impl(x)
            if x.base is not None:
                v = merge(self, x.base, v, x.ast.node, shallow=isinstance(x.ast, A.Object))
        except _TooLarge:
            self.diag(x.ast.node, "value is too large")
            v = _unknown()
        except BudgetExceeded as stop:
            stop.where = stop.where or (self, x.ast.node)
            raise
        finally:
            self.ev.depth -= 1
        x.value, x.state = v, _DONE
        return v

    def evaluate_impl(self, x: _X) -> _V:
        node = x.ast
        if isinstance(node, A.Literal):
            return _V(node.value)
        if isinstance(node, A.Object):
            props = {k: self.evaluate_x(x.props[k]) for k in sorted(x.props)}
            return _V(props, own=None)
        if isinstance(node, A.Array):
            return _V([self.evaluate_x(e) for e in x.elements])
        if isinstance(node, A.Symbol):
            return self.evaluate_access(x, node.accessors)
        if isinstance(node, A.Interpolate):
            return self.evaluate_interpolate(x, node)
        from credproc.lang.evalbuiltins import evaluate_builtin

        return evaluate_builtin(self, x)

    def evaluate_interpolate(self, x, node):
        pieces, unknown, secret = [], False, False
        size = 0
        for part in node.parts:
            pieces.append(part.text)
            size += len(part.text)
            if part.access is None:
                continue
            v = self.evaluate_access(x, part.access)
            unknown = unknown or v.has_unknown()
            secret = secret or v.has_secret()
            if not unknown:
                text = _Exporter().check(v).string(v)
                size += len(text)
                if size > MAX_STRING_CHARS:
                    raise _TooLarge()
                pieces.append(text)
        if unknown:
            return _unknown(secret=secret)
        return _V("".join(pieces), secret=secret)

    # property access

    def evaluate_access(self, x, accessors) -> _V:
        first = accessors[0]
        if first.kind != "index":
            if first.value == "imports":
                return self.value_access(x, self.imports_value, accessors[1:])
            if first.value == "context":
                return self.value_access(x, self.context_value, accessors[1:])
            if first.value == "environments":
                return self.environment_access(x, accessors)
        receiver = self.root
        for i, accessor in enumerate(accessors):
            node = receiver.ast
            if receiver.elements is not None:
                index = self.array_index(x, accessor, len(receiver.elements))
                if index is None:
                    return _unknown()
                receiver = receiver.elements[index]
            elif receiver.props is not None and not isinstance(node, A.Builtin):
                key = self.object_key(x, accessor)
                if key is None:
                    return _unknown()
                prop = receiver.props.get(key)
                if prop is None:
                    base = receiver.base
                    if base is not None and (base.unknown or isinstance(base.repr, dict)):
                        return self.value_access(x, base, accessors[i:])
                    self.accessor_error(x, accessor, f'unknown property {go_quote(key)}'
                                        + self.did_you_mean(key, receiver.props))
                    return _unknown()
                receiver = prop
            else:
                return self.value_access(x, self.evaluate_x(receiver), accessors[i:])
        return self.evaluate_x(receiver)

    def value_access(self, x, v: _V, accessors) -> _V:
        for i, accessor in enumerate(accessors):
            if v.unknown:
                return self.unknown_access(x, v, accessors[i:])
            r = v.repr
            if isinstance(r, list):
                index = self.array_index(x, accessor, len(r))
                if index is None:
                    return _unknown()
                v = r[index]
            elif isinstance(r, dict):
                key = self.object_key(x, accessor)
                if key is None:
                    return _unknown()
                child = r.get(key)
                if child is None:
                    if v.base_unknown:
                        return _unknown()
                    self.accessor_error(x, accessor, f'unknown property {go_quote(key)}'
                                        + self.did_you_mean(key, r))
                    return _unknown()
                v = child
            else:
                self.accessor_error(x, accessor, "receiver must be an array or an object")
                return _unknown()
        return v

    def unknown_access(self, x, v, accessors):
        schema = v.schema
        for accessor in accessors:
            if schema is None:
                break
            from credproc.lang.schema import access_schema

            try:
                schema, error = access_schema(schema, accessor.value)
            except Exception:  # a provider's malformed schema: no checking
                schema, error = None, None
            if error:
                self.accessor_error(x, accessor, error)
                return _unknown()
        return _unknown(schema=schema, secret=v.secret)

    def environment_access(self, x, accessors):
        if len(accessors) < 3:
            return _unknown()
        project, env = self.object_key(x, accessors[1]), self.object_key(x, accessors[2])
        if project is None or env is None:
            return _unknown()
        value = self.load_environment(f"{project}/{env}", x.ast.node)
        if value is None:
            return _unknown()
        return self.value_access(x, value, accessors[3:])

    def array_index(self, x, accessor, length):
        if accessor.kind != "index":
            self.accessor_error(x, accessor, "cannot access an array element using a property name")
            return None
        if accessor.value < 0:
            self.accessor_error(x, accessor, "array indices must not be negative")
            return None
        if accessor.value >= length:
            self.accessor_error(x, accessor,
                                f"array index {accessor.value} out-of-bounds for array of length {length}")
            return None
        return accessor.value

    def object_key(self, x, accessor):
        if accessor.kind == "index":
            self.accessor_error(x, accessor, "cannot access an object property using an integer index")
            return None
        return accessor.value

    # typed arguments and schema validation

    def validate(self, x: _X, v: _V, schema, schema_at=None) -> bool:
        """Validate v (the value of x) against schema; report each error at the literal node it
        names, or at the nearest enclosing expression that produced it. Returns ok.
        A malformed schema is reported at `schema_at` (an expression) when given, else at x."""
        from credproc.lang import schema as S

        if self.ev.validation_steps is None:
            self.ev.validation_steps = S.StepAllowance()
        try:
            result = S.validate(_Exporter().check(v).value(v), schema, steps=self.ev.validation_steps)
        except (_TooLarge, BudgetExceeded):
            raise
        except S.ValidationTooLong as stop:  # ends the evaluation, as the byte budget does
            raise BudgetExceeded(str(stop)) from None
        except Exception as err:  # S.InvalidSchema, or a schema the validator cannot read at all
            self.diag((schema_at or x).ast.node, f"invalid schema: {err}")
            return False
        for error in result:
            target = _locate(x, error.path)
            self.diag(target.ast.node, error.message)
        return result.ok

    def typed(self, x: _X, schema):
        v = self.evaluate_x(x)
        if v.unknown and v.schema is None:
            return v, True
        if not v.unknown and _simple_type_ok(v, schema):
            return v, True
        return v, self.validate(x, v, schema)

    def open_context(self, x):
        return OpenContext(environment=self.name, root_environment=self.root_name, path=x.path,
                           exec_context=dict(self.ev.context))


def _simple_type_ok(v, schema):
    # Fast path for the builtins' own argument schemas: a known value of the right shape.
    r = v.repr
    if schema is _STRING_SCHEMA:
        return isinstance(r, str) and not isinstance(r, Number)
    if schema is _ARRAY_SCHEMA:
        return isinstance(r, list)
    if schema is _STRING_ARRAY_SCHEMA:
        return isinstance(r, list) and all(
            not c.unknown and isinstance(c.repr, str) and not isinstance(c.repr, Number) for c in r)
    return False


def _locate(x: _X, path):
    for step in path:
        if isinstance(step, int) and x.elements is not None and 0 <= step < len(x.elements):
            x = x.elements[step]
        elif isinstance(step, str) and x.props is not None and not isinstance(x.ast, A.Builtin) \
                and step in x.props:
            x = x.props[step]
        else:
            break
    return x


def _builtin_args(node):
    if isinstance(node, A.Open):
        return [("inputs", node.inputs)]
    if isinstance(node, A.Rotate):
        args = [("inputs", node.inputs)]
        if node.state is not None:
            args.append(("state", node.state))
        return args
    if isinstance(node, A.Unary):
        return [("arg", node.arg)]
    if isinstance(node, A.Binary):
        return [("first", node.first), ("second", node.second)]
    if isinstance(node, A.Concat):
        return [(i, arg) for i, arg in enumerate(node.arrays)]
    if isinstance(node, A.Validate):
        return [("schema", node.schema), ("value", node.value)]
    return []


# --- merging ---------------------------------------------------------------------------------------------

def merge(env, base: "_V | None", top: _V, where, shallow=False) -> _V:
    """`top` laid over `base` (JSON merge patch without deletion; fn::final bases win with a warning).

    shallow: top is an object literal whose members were already merged with their own bases.
    """
    if base is None:
        return top
    if base.final:
        # `top is base`: an import that merely re-exports the final value (diamond) overrides nothing.
        if where is not None and top is not base:
            env.diag(where, "cannot override final value", severity="warning")
        return base
    if top.unknown or not isinstance(top.repr, dict):
        return top
    if base.unknown:
        return top.copy(base_unknown=True, own=top.own if top.own is not None else tuple(top.repr))
    if not isinstance(base.repr, dict):
        return top
    merged = dict(base.repr)
    for k, tv in top.repr.items():
        bv = merged.get(k)
        merged[k] = tv if (shallow or bv is None) else merge(env, bv, tv, where)
    result = _V(merged, secret=top.secret, own=top.own if top.own is not None else tuple(top.repr))
    result.base_unknown = top.base_unknown or base.base_unknown
    # docs/esc-language.md §6/§10: fn::final marks the layer that defines it; laying it over an imported object must
    # not lose the mark, or importers of this environment could override it.
    result.final = top.final
    return result


# --- entry point -------------------------------------------------------------------------------------------



def rotate_environment(name, decl, *, loader, providers, rotators, context=None, decrypter=None, paths=None):
    """ESC RotateEnvironment: evaluate while calling `rotate` on the root's rotators (only those at
    the given property paths relative to `values`, e.g. 'db.creds' or 'a["b-c"][0]'; all when
    empty). Returns (Value | None, patches sorted by doc_path, diagnostics)."""
    from credproc.lang.interpolate import parse_access_path

    doc_paths, diags = set(), []
    for path in paths or ():
        accessors, errors = parse_access_path(path)
        if errors:
            diags.append(Diagnostic("error", f"invalid property path {path!r}: {errors[0][1]}", name))
            continue
        doc = "values"
        for a in accessors:
            doc = join_index(doc, a.value) if a.kind == "index" else join_key(doc, a.value)
        doc_paths.add(doc)
    if diags:
        return None, [], diags
    value, diags, patches = _evaluate(name, decl, loader=loader, providers=providers, rotators=rotators,
                                      context=context, mode="rotate", show_secrets=True, decrypter=decrypter,
                                      rotate_doc_paths=doc_paths)
    return value, sorted(patches, key=lambda p: p.doc_path), diags


def evaluate_environment(name, decl, *, loader, providers, rotators, context=None, mode="eval",
                         show_secrets=False, decrypter=None):
    """See credproc.lang.evaluate."""
    if mode not in ("eval", "check"):
        raise ValueError(f"unknown evaluation mode {mode!r}")
    value, diags, _ = _evaluate(name, decl, loader=loader, providers=providers, rotators=rotators,
                                context=context, mode=mode, show_secrets=show_secrets, decrypter=decrypter)
    return value, diags


def _evaluate(name, decl, *, loader, providers, rotators, context, mode, show_secrets, decrypter,
              rotate_doc_paths=None):
    context = dict(context or {})
    for reserved in ("currentEnvironment", "rootEnvironment"):
        if reserved in context:
            return None, [Diagnostic("error", f'reserved context key: {go_quote(reserved)}', name)], []
    if decl is None or decl.is_empty:
        return None, [], []
    ev = Evaluation(loader=loader, providers=providers, rotators=rotators, context=context, mode=mode,
                    show_secrets=show_secrets, decrypter=decrypter, root_name=name,
                    rotate_doc_paths=rotate_doc_paths)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
    budget = Budget(EVAL_BUDGET_BYTES)
    token = _BUDGET.set(budget)
    try:
        env = _Env(ev, name, decl, name, is_root=True)
        value = _evaluate_root(env, budget)
    finally:
        _BUDGET.reset(token)
        sys.setrecursionlimit(old_limit)
    return value, ev.diags, ev.patches


def _evaluate_root(env, budget) -> Value:
    """The root's value, exported; unknown (with a diagnostic) when a guard stopped it."""
    try:
        v = env.evaluate()
        return _Exporter().check(v).value(v)
    except _TooLarge:
        env.diag(None, f"the environment's value has more than {MAX_EXPORT_NODES} nodes")
    except BudgetExceeded as stop:
        at_env, node = stop.where or (env, None)
        at_env.diag(node, stop.message or budget.message())
    except RecursionError:  # a last resort: the depth guards should stop everything before
        env.diag(None, "the environment is nested too deeply to evaluate")
    return Value(None, unknown=True)



__all__ = ["evaluate_environment", "rotate_environment", "merge"]
