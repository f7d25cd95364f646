"""`pattern` follows Go's RE2 (unanchored search), translated to Python's re where they differ."""
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
])
def test_re2_semantics(pattern, text, expected):
    assert matches(pattern, text) is expected


@pytest.mark.parametrize("pattern", [
    r"(?=a)", r"(?!a)", r"(?<=a)b", r"(?<!a)b", r"(a)\1", r"\pL", r"\p{Greek}", r"[\pL]", r"(?U)a+",
    r"(?#comment)", r"(?P=name)", "a\\", r"(a", r"a)", r"[a", r"[[:nope:]]", r"\Z", r"\e",
])
def test_unsupported_or_invalid_patterns(pattern):
    with pytest.raises(InvalidSchema):
        check_schema({"type": "string", "pattern": pattern})
    with pytest.raises(InvalidSchema):
        matches(pattern, "a")
