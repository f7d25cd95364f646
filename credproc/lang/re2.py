"""Go RE2 patterns (JSON schema `pattern`) translated to Python `re`: RE2's ASCII-only Perl and POSIX
classes, its word boundaries, repetition and flag syntax; what RE2 refuses (backreferences,
lookaround, Unicode classes, the U flag) is refused here too. Split out of credproc.lang.schema.
"""
import re


class InvalidPattern(ValueError):
    """A pattern RE2 would refuse, or one Python cannot express."""


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# RE2's Perl classes are ASCII-only (\s excludes \v); Python's are Unicode: spell them out.
_PERL_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_WORD = "[0-9A-Za-z_]"
_WORD_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NOT_WORD_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")
_pattern_cache: dict = {}


def _char_escape(p: str, i: int):
    """A character escape at p[i] == '\\' that means one literal code point. Returns (text, next)."""
    c = p[i + 1]
    if c == "x":
        if p.startswith("{", i + 2):
            end = p.find("}", i + 3)
            if end < 0:
                raise InvalidPattern(f"invalid escape sequence in pattern {p!r}")
            return re.escape(chr(int(p[i + 3:end], 16))), end + 1
        return re.escape(chr(int(p[i + 2:i + 4], 16))), i + 4
    if c in "01234567":
        m = re.match(r"[0-7]{1,3}", p[i + 1:])
        if c != "0" and len(m.group()) == 1:
            raise InvalidPattern(f"invalid escape sequence: backreferences are not supported in {p!r}")
        return re.escape(chr(int(m.group(), 8))), i + 1 + len(m.group())
    if c in "afnrtv":
        return "\\" + c, i + 2
    if c.isalnum():
        raise InvalidPattern(f"invalid escape sequence \\{c} in pattern {p!r}")
    return re.escape(c), i + 2


def _translate_class(p: str, i: int):
    """A bracketed class starting at p[i] == '['. Returns (python text, next index)."""
    out = ["["]
    i += 1
    if p.startswith("^", i):
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(p):
            raise InvalidPattern(f"missing closing ] in pattern {p!r}")
        c = p[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if c == "[" and p.startswith("[:", i):
            end = p.find(":]", i + 2)
            name = p[i + 2:end] if end > 0 else None
            if name not in _POSIX_CLASSES:
                raise InvalidPattern(f"invalid character class range in pattern {p!r}")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
        elif c == "\\":
            if i + 1 >= len(p):
                raise InvalidPattern(f"trailing backslash at end of pattern {p!r}")
            e = p[i + 1]
            if e in _PERL_CLASSES:
                out.append(_PERL_CLASSES[e])
                i += 2
            elif e in "DWS":
                out.append("\\" + e)  # negated class inside a class: Python's Unicode meaning (close enough)
                i += 2
            elif e in "pP":
                raise InvalidPattern(f"Unicode classes (\\{e}) are not supported in pattern {p!r}")
            else:
                text, i = _char_escape(p, i)
                out.append(text)
        elif c in "[&~|":
            out.append("\\" + c)  # literal in RE2; Python warns about (future) set operations
            i += 1
        else:
            out.append(c)
            i += 1


def _translate_pattern(p: str) -> str:
    """Translate a Go RE2 pattern into an equivalent Python pattern.

    Handles what differs: `$` (end of text unless (?m)), `\\z`, ASCII-only \\d \\w \\s \\b, POSIX
    classes, `\\x{...}`, `\\Q...\\E`, `(?<name>`, literal `{` that is not a repeat, and inline flags
    anywhere (Python accepts global flags only at the start: they become scoped groups). Rejects
    what RE2 rejects that Python would accept (lookaround, backreferences)."""
    out = []
    multiline = [False]  # per open group; (?m) changes the innermost
    closers = [0]        # extra ')' to emit when the current group closes (for mid-pattern (?flags))
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            if i + 1 >= len(p):
                raise InvalidPattern(f"trailing backslash at end of pattern {p!r}")
            e = p[i + 1]
            if e in "dws":
                out.append(f"[{_PERL_CLASSES[e]}]")
                i += 2
            elif e in "DWS":
                out.append(f"[^{_PERL_CLASSES[e.lower()]}]")
                i += 2
            elif e == "b":
                out.append(_WORD_BOUNDARY)
                i += 2
            elif e == "B":
                out.append(_NOT_WORD_BOUNDARY)
                i += 2
            elif e == "A":
                out.append("\\A")
                i += 2
            elif e == "z":
                out.append("\\Z")
                i += 2
            elif e == "C":
                out.append("(?s:.)")
                i += 2
            elif e == "Q":
                end = p.find("\\E", i + 2)
                end = len(p) if end < 0 else end
                out.append(re.escape(p[i + 2:end]))
                i = end + 2
            elif e in "pP":
                raise InvalidPattern(f"Unicode classes (\\{e}) are not supported in pattern {p!r}")
            else:
                text, i = _char_escape(p, i)
                out.append(text)
        elif c == "[":
            text, i = _translate_class(p, i)
            out.append(text)
        elif c == "$":
            out.append("$" if multiline[-1] else "\\Z")  # RE2's $ is end of text, not before a final \n
            i += 1
        elif c == "{":
            m = _REPEAT.match(p, i)
            if m and out:
                out.append(m.group())
                i = m.end()
            else:
                out.append("\\{")
                i += 1
        elif c == "(":
            i = _translate_group(p, i, out, multiline, closers)
        elif c == ")":
            if len(multiline) == 1:
                raise InvalidPattern(f"unexpected ) in pattern {p!r}")
            out.append(")" * (closers.pop() + 1))
            multiline.pop()
            i += 1
        else:
            out.append(c)
            i += 1
    if len(multiline) > 1:
        raise InvalidPattern(f"missing closing ) in pattern {p!r}")
    out.append(")" * closers[0])
    return "".join(out)


def _translate_group(p, i, out, multiline, closers) -> int:
    if not p.startswith("(?", i):
        out.append("(")
        multiline.append(multiline[-1])
        closers.append(0)
        return i + 1
    for prefix in ("(?P<", "(?<"):
        if p.startswith(prefix, i) and not p.startswith("(?<=", i) and not p.startswith("(?<!", i):
            out.append("(?P<")
            multiline.append(multiline[-1])
            closers.append(0)
            return i + len(prefix)
    m = _FLAGS.match(p, i)
    if not m or not (m.group(1) or m.group(2)) and m.group(3) == ")":
        raise InvalidPattern(f"invalid or unsupported Perl syntax in pattern {p!r}")
    on, off = m.group(1), m.group(2) or ""
    if "U" in on or "U" in off:
        raise InvalidPattern(f"the U (ungreedy) flag is not supported in pattern {p!r}")
    mline = ("m" in on) or (multiline[-1] and "m" not in off)
    flags = f"(?{on}" + (f"-{off}" if off else "") + ":"
    if flags == "(?:":
        flags = "(?:"
    out.append(flags)
    if m.group(3) == ":":
        multiline.append(mline)
        closers.append(0)
    else:
        # (?flags) applies to the rest of the current group: open a scoped group closed with it.
        multiline[-1] = mline
        closers[-1] += 1
    return m.end()


def compile_pattern(p: str):
    """The compiled translation of RE2 pattern ``p`` (memoised); InvalidPattern if RE2 would refuse it
    or Python cannot express it."""
    if p not in _pattern_cache:
        try:
            _pattern_cache[p] = re.compile(_translate_pattern(p))
        except InvalidPattern:
            raise
        except (ValueError, IndexError) as e:
            raise InvalidPattern(f"invalid pattern {p!r}: {e}") from None
        except re.error as e:
            raise InvalidPattern(f"invalid pattern {p!r}: {e}") from None
    return _pattern_cache[p]
