"""`pattern` follows Go's regexp (unanchored search), matched by RE2 itself (credproc.lang.re2).

The expected answers are Go's (checked with Go 1.19's regexp; `(?<name>` needs Go 1.22, as ESC is built)."""
import pytest

from credproc.lang.schema import InvalidSchema, check_schema, validate
from credproc.lang.values import Value


def matches(pattern, text):
    return validate(Value(text), {"pattern": pattern}).ok


@pytest.mark.parametrize("pattern,text,expected", [
    # ASCII-only Perl classes and word boundaries
    (r"^\d+$", "123", True),
    (r"^\d+$", "\u0661\u0662", False),          # Arabic-Indic digits are not \d in RE2
    (r"^\D$", "\u0661", True),
    (r"^\w+$", "abc_9", True),
    (r"^\w+$", "é", False),
    (r"^\W$", "é", True),
    (r"\s", "\v", False),                       # RE2 \s is [\t\n\f\r ]
    (r"\s", "\f", True),
    (r"^\S$", "\v", True),
    (r"\bfoo\b", "a foo b", True),
    (r"\bfoo\b", "éfooé", True),                # é is not a word character for RE2
    (r"\bfoo\b", "xfoo", False),
    (r"\Boo\B", "foox", True),
    (r"^[\d\s]+$", "1 2", True),
    # anchors
    (r"abc$", "abc\n", False),                  # $ is end of text without (?m)
    (r"abc\z", "abc\n", False),
    (r"\Aabc", "abc", True),
    (r"(?m)^b$", "a\nb\nc", True),
    (r"^b$", "a\nb\nc", False),
    (r"(?m:^b$)", "a\nb\nc", True),
    # flags anywhere (Python only allows global flags at the start)
    (r"(?i)abc", "ABC", True),
    (r"a(?i)bc", "aBC", True),
    (r"a(?i)bc", "ABC", False),
    (r"(a(?i)b)c", "aBc", True),
    (r"(a(?i)b)c", "aBC", False),
    (r"(?i:a)b", "Ab", True),
    (r"(?i:a)b", "AB", False),
    (r"(?s)a.b", "a\nb", True),
    (r"a.b", "a\nb", False),
    (r"(?i-s:a.b)", "A\nB", False),
    # classes and escapes
    (r"^[[:alpha:]]+$", "abcXYZ", True),
    (r"^[[:digit:][:space:]]+$", "1 2", True),
    (r"^[^]a]$", "b", True),
    (r"^[]a]$", "]", True),
    (r"[a&&b]", "&", True),
    (r"[[]", "[", True),
    (r"^\x{41}\x42$", "AB", True),
    (r"^\x{1F600}$", "\U0001F600", True),
    (r"^\Q.*+\E$", ".*+", True),
    (r"^\Q.*+\E$", "ab", False),
    (r"^\101$", "A", True),
    (r"^\t\n$", "\t\n", True),
    (r"(?P<a>x)(?<b>y)", "xy", True),
    # repetition
    (r"^a{2}$", "aa", True),
    (r"^a{2,}$", "aaa", True),
    (r"^a{1,2}$", "aaa", False),
    (r"a{,2}", "a{,2}", True),                  # not a repeat in RE2: literal
    (r"a{,2}", "aa", False),
    (r"{x}", "{x}", True),
    (r"^a+?b*?$", "aab", True),
    # unicode
    ("^é+$", "éé", True),
    (r"^.$", "世", True),
    (r"^\pL+$", "héllo", True),                 # Unicode classes, as Go has them
    (r"^\pL+$", "h3", False),
    (r"^\p{Greek}+$", "αβγ", True),
    (r"^\p{Greek}+$", "abc", False),
    (r"^[\pL\d]+$", "é9", True),
    (r"^\PL$", "9", True),
    (r"^\p{^Greek}$", "a", True),
    (r"(?i)^straße$", "STRASSE", False),        # simple case folding only
    (r"(?i)^k$", "\u212a", True),               # Kelvin sign folds to k
    (r"^\x{FFFD}$", "\udc80", True),            # an invalid byte (surrogateescape) is U+FFFD, as in Go
    # flags Python lacks
    (r"(?U)^a+", "aaa", True),
    (r"(?U)^(a+)b$", "aaab", True),
    # what was exponential for a backtracking engine: linear here, and the right answer
    (r"^([a-z0-9]+-?)+$", "a" * 40 + "!", False),
    (r"^([a-z0-9]+-?)+$", "a" * 5000, True),
    (r"^(a|a)*$", "a" * 5000 + "b", False),
    (r"^(a*)*b$", "a" * 5000, False),
])
def test_re2_semantics(pattern, text, expected):
    assert matches(pattern, text) is expected


@pytest.mark.parametrize("pattern", [
    r"(?=a)", r"(?!a)", r"(?<=a)b", r"(?<!a)b", r"(a)\1", r"\p{Nope}", r"\C", r"[\C]", r"a**", r"a++",
    r"x{1001}", r"(?#comment)", r"(?P=name)", "a\\", r"(a", r"a)", r"[a", r"[[:nope:]]", r"\Z", r"\e",
])
def test_unsupported_or_invalid_patterns(pattern):
    with pytest.raises(InvalidSchema):
        check_schema({"type": "string", "pattern": pattern})
    with pytest.raises(InvalidSchema):
        matches(pattern, "a")


@pytest.mark.parametrize("pattern,message", [
    ("(", "error parsing regexp: missing closing ): `(`"),
    ("a)", "error parsing regexp: unexpected ): `a)`"),
    ("[a", "error parsing regexp: missing closing ]: `[a`"),
    ("a\\", "error parsing regexp: trailing backslash at end of expression: ``"),
    (r"\C", "error parsing regexp: invalid escape sequence: `\\C`"),
    ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
    ("x{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
    ("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
    ("(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`"),
    ("*", "error parsing regexp: missing argument to repetition operator: `*`"),
])
def test_errors_read_as_gos(pattern, message):
    """The message is Go's regexp error, as ESC prints it (Go 1.19 gives these very texts)."""
    with pytest.raises(InvalidSchema) as err:
        check_schema({"pattern": pattern})
    assert str(err.value) == message


def test_python_re_is_not_the_matcher():
    """The compiled pattern is RE2's: a backtracking `re` object cannot sneak back in."""
    from credproc.lang.re2 import compile_pattern

    compiled = compile_pattern("^([a-z0-9]+-?)+$")
    assert type(compiled._re).__module__.split(".")[0] == "re2"
