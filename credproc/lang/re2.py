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
_CACHE_SIZE = 32  # compiled patterns kept: each may hold a DFA cache of up to RE2's 8 MiB max_mem

#: Go refuses a parse tree higher than this (regexp/syntax maxHeight); RE2 has no such bound, and
#: parses deep nesting in quadratic time. Counted here as the depth of parentheses.
MAX_NESTING = 1000

# What compiling costs, in the schema checks' steps (about 4 µs each): RE2 builds about three
# program instructions per µs; its refusal of a program over max_mem comes after doing that work.
_STEPS_PER_INSTRUCTION = 1 / 10
_STEPS_PER_PATTERN_CHAR = 1 / 64
_STEPS_FOR_TOO_LARGE = 25_000
# Matching is linear in the text, times the program's size when RE2 leaves its DFA for the NFA
# (its DFA cache runs out on patterns such as `(?:[ab]*a[ab]{20}){30}c`): measured at about 0.2e9
# text characters x program instructions per second there, so a step (4 µs) pays for 1000.
_MATCH_UNITS_PER_STEP = 1000
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
    in_class, depth, posix_end, next_gt = False, 0, None, None
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
                if posix_end is not None and 0 <= posix_end < i + 2:
                    posix_end = None  # found before, and passed: look again from here
                if posix_end is None:  # -1 stays: no `:]` anywhere later (else this is quadratic)
                    posix_end = p.find(":]", i + 2)
                end = posix_end
                if end > 0:
                    out.append(p[i:end + 2])
                    i = end + 2
                    continue
                out.append("\\[")  # a plain `[` (as Go reads it), escaped: RE2 would look for `:]` again
                i += 1
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
        elif c == "(" and depth + 1 >= MAX_NESTING:
            raise InvalidPattern(f"error parsing regexp: expression nests too deeply: `{p}`")
        elif p.startswith("(?<", i) and not p.startswith(("(?<=", "(?<!"), i):
            next_gt = _check_group_name(p, i, i + 3, next_gt)
            out.append("(?P<")
            depth += 1
            i += 3
        elif p.startswith("(?P<", i):
            next_gt = _check_group_name(p, i, i + 4, next_gt)
            out.append("(?P<")
            depth += 1
            i += 4
        else:
            depth += c == "("
            depth -= c == ")" and depth > 0
            out.append(c)
            i += 1
    return "".join(out)


_GROUP_NAME = _stdlib_re.compile(r"[A-Za-z0-9_]+")


def _check_group_name(p: str, start: int, name_start: int, next_gt: "int | None") -> int:
    """Go takes only ASCII letters, digits and _ in a group's name (RE2 also takes other word
    characters); its error quotes `(?P<name>`. An unclosed name is left to RE2's own error.

    ``next_gt``: where the last look found the next `>` (-1: none is left; None: not looked yet);
    returned updated. Looking again from every `(?<` made `(?<)` repeated over 4 MiB take 82 s."""
    if next_gt is None or 0 <= next_gt < name_start:
        next_gt = p.find(">", name_start)
    if next_gt < 0:
        return next_gt
    name = _GROUP_NAME.match(p, name_start)
    if not name or name.end() != next_gt:
        raise InvalidPattern(f"error parsing regexp: invalid named capture: `{p[start:next_gt + 1]}`")
    return next_gt


def _options(never_capture=False):
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern on stderr
    options.never_capture = never_capture
    return options


def _no_charge(steps):
    pass


def compile_pattern(p: str, charge=_no_charge):
    """The compiled RE2 pattern ``p`` (memoised): ``.search(text)`` is Go's MatchString, in linear
    time. InvalidPattern, with Go's message, if Go's regexp would refuse ``p``. ``charge(steps)``
    is told what a compile cost (and may raise to stop the work)."""
    compiled = _pattern_cache.get(p)
    if compiled is None:
        import re2

        charge(1 + int(len(p) * _STEPS_PER_PATTERN_CHAR))
        text = _normalise(p)
        try:
            checked = re2.compile(text, _options())
        except re2.error as err:
            message = err.args[0] if err.args else ""
            message = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
            message = _go_error(message, p)
            if message.endswith("expression too large"):
                charge(_STEPS_FOR_TOO_LARGE)
            raise InvalidPattern(message) from None
        charge(int(checked.programsize * _STEPS_PER_INSTRUCTION))
        if checked.groups:
            # Searching with capture groups fills every group at every match (10 000 nested groups:
            # 1.5 GB); only whether it matches counts, so match with the groups parsed as plain ones.
            checked = re2.compile(text, _options(never_capture=True))
        compiled = _Pattern(checked)
        if len(_pattern_cache) >= _CACHE_SIZE:
            _pattern_cache.clear()
        _pattern_cache[p] = compiled
    return compiled


class _Pattern:
    """A compiled pattern whose search takes any Python str, as Go takes any string."""

    __slots__ = ("_re",)

    def __init__(self, compiled):
        self._re = compiled

    def search(self, text: str, charge=_no_charge) -> bool:
        charge(1 + len(text) * self._re.programsize // _MATCH_UNITS_PER_STEP)
        if not text.isascii():  # lone surrogates stand for invalid bytes (surrogateescape)
            text = _SURROGATE.sub("\ufffd", text)
        return self._re.search(text) is not None
