"""What the evaluator (credproc.lang.eval) and the builtins (credproc.lang.evalbuiltins) share:
the evaluator's limits, the evaluation budget, the immutable evaluated value `_V`, the exporter that
turns `_V` into a `Value`, and `Patch` (new rotation state). Apart so that neither imports the other.
"""
import base64
import contextvars

from credproc.lang.values import UNKNOWN_MARKER, Number, Value, go_quote, scalar_string

MAX_STRING_CHARS = 8 * 1024 * 1024
MAX_ARRAY_ITEMS = 1_000_000
MAX_EXPORT_NODES = 2_000_000
EVAL_BUDGET_BYTES = 64 * 1024 * 1024
NODE_BYTES = 32  # what one value node counts on top of its text: a 1 MiB definition stays far below
SLOT_BYTES = 8  # what each member of an array or object counts (a pointer), shared or not

_STRING_SCHEMA = {"type": "string"}
_ARRAY_SCHEMA = {"type": "array"}
_STRING_ARRAY_SCHEMA = {"type": "array", "items": {"type": "string"}}


class _TooLarge(Exception):
    pass


# --- the budget ----------------------------------------------------------------------------------------

class BudgetExceeded(Exception):
    """The evaluation produced more than its budget, or its schema checks took more than their
    steps (then `message` says so; else it is the Budget's); `where` is (env, node) of the
    innermost expression being evaluated, filled in on the way out."""

    def __init__(self, message=None):
        super().__init__()
        self.message = message
        self.where = None


class Budget:
    """Bytes of values one evaluation (the root and every import) may produce.

    Counted where data is made, once, from sizes carried on the values (no re-measuring):
    * every value node the evaluator builds: NODE_BYTES plus the characters of its string, or
      SLOT_BYTES a member and the characters of its keys (literals, interpolations, builtin and
      provider results, merges, imports);
    * every time a composite value is written out in full (interpolated, fn::toJSON, fn::toString,
      validated, given to a provider, returned as the result): its written-out size (`_V.nbytes`),
      so a value used twice counts twice, however it is shared in memory;
    * every piece of text the string form quotes, as it is made.
    """

    __slots__ = ("limit", "left")

    def __init__(self, limit):
        self.limit = self.left = limit

    def spend(self, n):
        self.left -= n
        if self.left < 0:
            raise BudgetExceeded()

    def message(self):
        return f"evaluation exceeds credproc's limit of {_format_bytes(self.limit)} of produced values"


def _format_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


# The budget of the evaluation running in this context (thread), so that every value built anywhere
# in the evaluator is counted where it is built; None outside an evaluation.
_BUDGET = contextvars.ContextVar("credproc_eval_budget", default=None)


def _spend(n):
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(n)


def _require(n):
    """Stop now if n more bytes would not fit: for work whose result is counted only once made."""
    budget = _BUDGET.get()
    if budget is not None and n > budget.left:
        raise BudgetExceeded()


# --- values ------------------------------------------------------------------------------------------

class _V:
    """An evaluated value. repr: None | bool | Number | str | list[_V] | dict[str, _V].

    own: for objects, the keys of the top layer (None = all keys); base_unknown: the object was
    merged over an unknown value, so a missing key is unknown rather than an error; tolerated: an
    unknown that stands for a rotate-only input that is deliberately not evaluated.
    """

    __slots__ = ("repr", "secret", "unknown", "schema", "final", "own", "base_unknown", "tolerated",
                 "_deep_unknown", "_deep_secret", "_size", "nbytes")

    def __init__(self, repr=None, secret=False, unknown=False, schema=None, own=None):
        self.repr, self.secret, self.unknown, self.schema, self.own = repr, secret, unknown, schema, own
        self.final = self.base_unknown = self.tolerated = False
        self._deep_unknown = self._deep_secret = self._size = None
        own_bytes, inner = _sizes(repr)
        # nbytes: the size written out in full (shared members count each time), from the
        # members' own nbytes: computed once, here. Only this node's own bytes are new data.
        self.nbytes = NODE_BYTES + own_bytes + inner
        _spend(NODE_BYTES + own_bytes)

    def copy(self, **changes):
        v = _V(self.repr, self.secret, self.unknown, self.schema, self.own)
        v.final, v.base_unknown, v.tolerated = self.final, self.base_unknown, self.tolerated
        for k, val in changes.items():
            setattr(v, k, val)
        return v

    def children(self):
        r = self.repr
        if isinstance(r, dict):
            return r.values()
        if isinstance(r, list):
            return r
        return ()

    def has_unknown(self, tolerate=False) -> bool:
        """Deep; cached (values are immutable). With tolerate, rotate-only unknowns do not count."""
        if tolerate:
            if self.unknown:
                return not self.tolerated
            return any(c.has_unknown(True) for c in self.children())
        if self._deep_unknown is None:
            self._deep_unknown = self.unknown or any(c.has_unknown() for c in self.children())
        return self._deep_unknown

    def has_secret(self) -> bool:
        if self._deep_secret is None:
            self._deep_secret = self.secret or any(c.has_secret() for c in self.children())
        return self._deep_secret

    def size(self) -> int:
        """Nodes of the value written out in full (shared sub-values count each time); cached, so
        a deeply shared value is measured in time proportional to its distinct nodes."""
        if self._size is None:
            self._size = 1 + sum(c.size() for c in self.children())
        return self._size

    def own_keys(self):
        if not isinstance(self.repr, dict):
            return ()
        return self.repr.keys() if self.own is None else self.own


def _sizes(r):
    """(bytes this node adds: its characters, or its keys' characters and a slot per member;
    written-out size of its members)."""
    if isinstance(r, str):
        return len(r), 0
    if isinstance(r, dict):
        return sum(map(len, r)) + SLOT_BYTES * len(r), sum(c.nbytes for c in r.values())
    if isinstance(r, list):
        return SLOT_BYTES * len(r), sum(c.nbytes for c in r)
    return 0, 0


def _unknown(schema=None, secret=False):
    return _V(None, secret=secret, unknown=True, schema=schema)


def _from_value(value: Value, secret=False) -> _V:
    """A provider's result (a credproc.lang.values.Value) as an evaluator value."""
    secret = secret or value.secret
    if value.unknown:
        return _V(None, secret=secret, unknown=True, schema=value.schema)
    r = value.value
    if isinstance(r, dict):
        return _V({str(k): _from_value(v, secret) for k, v in r.items()}, secret=secret)
    if isinstance(r, (list, tuple)):
        return _V([_from_value(v, secret) for v in r], secret=secret)
    return _V(_plain_scalar(r), secret=secret)


def _plain_scalar(r):
    if r is None or isinstance(r, (bool, Number)):
        return r
    if isinstance(r, int):
        return Number(str(r))
    if isinstance(r, float):
        from credproc.lang.values import format_go_float

        return Number(format_go_float(r))
    return str(r)


def _from_plain(plain, secret=False) -> _V:
    if isinstance(plain, dict):
        return _V({str(k): _from_plain(v, secret) for k, v in plain.items()}, secret=secret)
    if isinstance(plain, list):
        return _V([_from_plain(v, secret) for v in plain], secret=secret)
    return _V(_plain_scalar(plain), secret=secret)


class _Exporter:
    """_V -> Value / plain / string form, refusing values that would expand past a node budget."""

    def __init__(self, budget=MAX_EXPORT_NODES):
        self.budget = budget

    def check(self, v: _V):
        """Refuse a value over the node limit; count a composite's written-out size (a scalar's
        text is shared, not copied)."""
        if v.size() > self.budget:
            raise _TooLarge()
        if isinstance(v.repr, (list, dict)):
            _spend(v.nbytes)
        return self

    def spend(self):
        self.budget -= 1
        if self.budget < 0:
            raise _TooLarge()

    def value(self, v: _V) -> Value:
        self.spend()
        if v.unknown:
            return Value(None, secret=v.secret, unknown=True, schema=v.schema)
        r = v.repr
        if isinstance(r, dict):
            r = {k: self.value(r[k]) for k in sorted(r)}
        elif isinstance(r, list):
            r = [self.value(item) for item in r]
        return Value(r, secret=v.secret)

    def plain(self, v: _V):
        """Secrets revealed, unknowns as "[unknown]" (fn::toJSON is only called without unknowns)."""
        self.spend()
        if v.unknown:
            return UNKNOWN_MARKER
        r = v.repr
        if isinstance(r, dict):
            return {k: self.plain(item) for k, item in r.items()}
        if isinstance(r, list):
            return [self.plain(item) for item in r]
        return r

    def string(self, v: _V) -> str:
        """ESC string form during evaluation: objects show only their own keys."""
        self.spend()
        r = v.repr
        if v.unknown:
            return UNKNOWN_MARKER
        if isinstance(r, list):
            return ",".join(self.quoted(self.string(item)) for item in r)
        if isinstance(r, dict):
            return ",".join(f"{go_quote(k)}={self.quoted(self.string(r[k]))}" for k in sorted(v.own_keys()))
        return scalar_string(r)

    @staticmethod
    def quoted(text):
        # Each level of nesting quotes its members again (backslashes double): without this check
        # a few dozen nested arrays would make strings of 2**N characters.
        if len(text) > MAX_STRING_CHARS:
            raise _TooLarge()
        _spend(len(text) + 2)
        quoted = go_quote(text)
        _spend(len(quoted) - len(text) - 2)
        return quoted

class Patch:
    """New rotation state to write back: `doc_path` is the document path of the rotator's `state`
    node (e.g. 'values.db["fn::rotate::swap"].state'), `state` a Value."""

    __slots__ = ("doc_path", "state")

    def __init__(self, doc_path, state):
        self.doc_path, self.state = doc_path, state

    def __repr__(self):
        return f"Patch({self.doc_path!r}, {self.state!r})"


def base64_encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")
