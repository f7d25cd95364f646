"""Go regexp patterns (JSON schema `pattern`), matched by Google's RE2 (the `google-re2` package).

Go's regexp is a reimplementation of RE2: the same syntax (ASCII-only Perl and POSIX classes,
Unicode classes \\pL, flags anywhere, `$` as end of text, no backreferences or lookaround) and the
same guarantee, matching in time linear in the text whatever the pattern. Python's backtracking
`re` gives neither: `^([a-z0-9]+-?)+$` against forty characters took minutes. So every pattern
of the language is matched here, by RE2 itself, and never by `re`.

What remains of the translation is where Go's parser and RE2's differ:
* Go refuses `\\C` (any byte), which RE2 accepts;
* Go (1.22 and later, as ESC is built) accepts `(?<name>`, which older RE2 releases refuse: it is
  passed on as `(?P<name>`;
* errors read as Go's (`error parsing regexp: missing closing ): `(``), not RE2's;
* text that is not valid UTF-8 (a lone surrogate from `fn::fromJSON`) is matched as Go reads it,
  each bad byte as U+FFFD.

The module `re2` is imported on the first pattern compiled (never on the `process` cache-hit
path, which evaluates nothing).
"""
import re as _stdlib_re


class InvalidPattern(ValueError):
    """A pattern Go's regexp would refuse."""


_pattern_cache: dict = {}
_SURROGATE = _stdlib_re.compile("[\ud800-\udfff]")  # a fixed class: linear

# RE2's error text -> Go's (regexp/syntax ErrorCode strings), for the messages ESC prints.
_GO_ERRORS = {
    "bad repetition operator": "invalid nested repetition operator",
    "invalid repetition size": "invalid repeat count",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid named capture group": "invalid named capture",
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "duplicate capture group name": "duplicate capture group name",
    "trailing \\": "trailing backslash at end of expression",
    "pattern too large - compile failed": "expression too large",
    "pattern too large - reverse compile failed": "expression too large",
}


def _go_error(text: str, expr: str) -> str:
    code, _, arg = text.partition(": ")
    code = _GO_ERRORS.get(code, code)
    if code == "expression too large":
        return f"error parsing regexp: {code}"
    if code.startswith("trailing backslash"):
        arg = expr = ""  # Go quotes nothing after the backslash
    return f"error parsing regexp: {code}: `{arg or expr}`"


def _normalise(p: str) -> str:
    """`p` as RE2 should read it to mean what Go reads; InvalidPattern where Go refuses it."""
    if _SURROGATE.search(p):
        raise InvalidPattern(f"error parsing regexp: invalid UTF-8: `{p.encode('utf-8', 'replace').decode()}`")
    out, i, n = [], 0, len(p)
    in_class = False
    while i < n:
        c = p[i]
        if c == "\\" and i + 1 < n:
            e = p[i + 1]
            if e == "Q" and not in_class:  # \Q...\E: literal text, copied as is
                end = p.find("\\E", i + 2)
                end = n if end < 0 else end + 2
                out.append(p[i:end])
                i = end
                continue
            if e == "C":
                raise InvalidPattern("error parsing regexp: invalid escape sequence: `\\C`")
            out.append(p[i:i + 2])
            i += 2
        elif in_class:
            if c == "[" and p.startswith("[:", i):  # a POSIX class inside a class
                end = p.find(":]", i + 2)
                if end > 0:
                    out.append(p[i:end + 2])
                    i = end + 2
                    continue
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
            i += 1
        elif c == "[":
            in_class = True
            if p.startswith("[^", i):
                out.append("[^")
                i += 2
            else:
                out.append("[")
                i += 1
        elif p.startswith("(?<", i) and not p.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _options():
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern on stderr
    return options


def compile_pattern(p: str):
    """The compiled RE2 pattern ``p`` (memoised): ``.search(text)`` is Go's MatchString, in linear
    time. InvalidPattern, with Go's message, if Go's regexp would refuse ``p``."""
    compiled = _pattern_cache.get(p)
    if compiled is None:
        import re2

        try:
            compiled = _Pattern(re2.compile(_normalise(p), _options()))
        except re2.error as err:
            text = err.args[0] if err.args else ""
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            raise InvalidPattern(_go_error(text, p)) from None
        _pattern_cache[p] = compiled
    return compiled


class _Pattern:
    """A compiled pattern whose search takes any Python str, as Go takes any string."""

    __slots__ = ("_re",)

    def __init__(self, compiled):
        self._re = compiled

    def search(self, text: str) -> bool:
        if not text.isascii():  # lone surrogates stand for invalid bytes (surrogateescape)
            text = _SURROGATE.sub("\ufffd", text)
        return self._re.search(text) is not None
