"""Reading `~/.aws/config` text the way botocore does: lines with their endings, what
configparser.RawConfigParser (Python 3.11 rules, botocore's parser) makes of each line, the sections
and the profiles they define, and botocore's own view of a whole file (parse problems, a profile's
settings, credentials-file sections that shadow a profile).

Pure text in, facts out: nothing here writes (credproc.aws.edits plans edits, credproc.aws.profilefile
reads and writes files).
"""
import re
import shlex
from dataclasses import dataclass, field

# Keys that make botocore ignore credential_process or use it differently (docs/background.md
# §1): static keys, assume-role chains, SSO, `aws login`, web identity.
CONFLICTING_KEYS = (
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
    "role_arn", "source_profile", "credential_source", "sso_session", "login_session",
    "web_identity_token_file",
)
CONFLICTING_PREFIXES = ("sso_",)


# ---------------------------------------------------------------------------------------- lines

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> "list[str]":
    """Lines with their endings, split where Python's universal-newline reading (which botocore's
    parser uses) splits: \\r\\n, \\r or \\n. ``"".join(split_lines(t)) == t`` always."""
    return _LINE.findall(text)


def line_body(line: str) -> str:
    return line.rstrip("\r\n")


def line_ending(line: str) -> str:
    return line[len(line_body(line)):]


def newline_of(text: str) -> str:
    """The file's line ending (that of its first line), "\\n" for a file without one."""
    for line in split_lines(text):
        if line_ending(line):
            return line_ending(line)
    return "\n"


# ------------------------------------------------------------------------------- classification

# configparser.RawConfigParser's patterns (Python 3.11): "very permissive!" as its comments say.
_SECTION_HEADER = re.compile(r"\[(?P<header>.+)\]")
OPTION_LINE = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
_NON_SPACE = re.compile(r"\S")


@dataclass
class Line:
    kind: str  # "blank" | "comment" | "section" | "option" | "continuation" | "invalid"
    header: "str | None" = None  # for "section"
    key: "str | None" = None  # lower-cased option name for "option" and "continuation"
    value: "str | None" = None  # stripped value of an "option" line


def classify(lines: "list[str]") -> "list[Line]":
    """What RawConfigParser makes of each line (comment prefixes # and ;, no inline comments,
    continuation lines indented deeper than their option, keys lower-cased)."""
    result = []
    in_section, option, indent_level = False, None, 0
    for raw in lines:
        stripped = raw.strip()
        if stripped.startswith(("#", ";")):
            result.append(Line("comment"))
            continue
        if not stripped:
            result.append(Line("blank"))
            continue
        indent = _NON_SPACE.search(raw).start()
        if in_section and option and indent > indent_level:
            result.append(Line("continuation", key=option))
            continue
        indent_level = indent
        header = _SECTION_HEADER.match(stripped)
        if header:
            in_section, option = True, None
            result.append(Line("section", header=header.group("header")))
            continue
        match = OPTION_LINE.match(stripped) if in_section else None
        option = match.group("option").rstrip().lower() if match else option
        if match and option:
            result.append(Line("option", key=option, value=match.group("value").strip()))
        else:
            result.append(Line("invalid"))
    return result


# ------------------------------------------------------------------------------------- sections

@dataclass
class Section:
    header: str
    start: int  # index of the header line
    end: int  # index of the next header line, or len(lines)
    core_end: int  # index after the last option/continuation line (trailing blanks and comments
    #                before the next header are left to the next section)
    options: "list[tuple[str, int, int]]" = field(default_factory=list)  # (key, first, last+1)

    def keys(self) -> "list[str]":
        return [key for key, _, _ in self.options]

    def option(self, key: str) -> "tuple[str, int, int] | None":
        return next((o for o in self.options if o[0] == key), None)


def sections_of(infos: "list[Line]") -> "list[Section]":
    headers = [i for i, info in enumerate(infos) if info.kind == "section"]
    sections = []
    for n, start in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(infos)
        section = Section(infos[start].header, start, end, start + 1)
        for i in range(start + 1, end):
            kind = infos[i].kind
            if kind == "option":
                section.options.append((infos[i].key, i, i + 1))
            elif kind == "continuation" and section.options:
                key, first, _ = section.options[-1]
                section.options[-1] = (key, first, i + 1)
            if kind in ("option", "continuation", "invalid"):
                section.core_end = i + 1
        sections.append(section)
    return sections


def profile_name_of(header: str) -> "str | None":
    """The profile a config-file section defines, by botocore's rules (configloader.build_profile_map):
    ``[default]``, or a header that starts with "profile" and shlex-splits into two words."""
    if header == "default":
        return "default"
    if not header.startswith("profile"):
        return None
    try:
        parts = shlex.split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def profile_sections(sections: "list[Section]", name: str) -> "list[Section]":
    return [s for s in sections if profile_name_of(s.header) == name]


def section_header_for(name: str) -> str:
    return "default" if name == "default" else f"profile {name}"


def conflicting_keys(keys) -> "list[str]":
    return [k for k in keys if k in CONFLICTING_KEYS or k.startswith(CONFLICTING_PREFIXES)]


def option_value(lines, infos, option) -> str:
    """The option's value as botocore sees it (continuation lines joined with newlines)."""
    key, first, last = option
    parts = [infos[first].value]
    for i in range(first + 1, last):
        if infos[i].kind != "comment":  # configparser drops comments, keeps blank lines as ""
            parts.append(lines[i].strip())
    return "\n".join(parts).rstrip()



# ---------------------------------------------------------------------------- botocore's view

def botocore_parse_problem(text: str) -> "str | None":
    """Why botocore's parser would reject the file (no values quoted: they may be secrets), or None."""
    # Bytes survive read_text as surrogates; botocore reads the file in the locale's encoding (UTF-8 on
    # most systems) and rejects the whole file when they do not decode.
    import locale

    encoding = locale.getpreferredencoding(False)
    try:
        encode(text).decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" (byte {exc.start + 1})" if isinstance(exc, UnicodeDecodeError) else ""
        return f"bytes that are not valid {encoding}{where}"
    try:
        parse_like_botocore(text)
    except Exception as exc:  # configparser.Error subclasses
        return _describe_parse_error(exc)
    return None


def parse_like_botocore(text: str):
    import configparser
    import io

    parser = configparser.RawConfigParser()
    # newline=None: universal newlines, as when botocore reads the file itself.
    parser.read_file(io.StringIO(text, newline=None), source="config")
    return parser


def _describe_parse_error(exc) -> str:
    import configparser

    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{exc.section}] appears twice, line {exc.lineno}"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{exc.option} appears twice in [{exc.section}], line {exc.lineno}"
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section] header"
    if isinstance(exc, configparser.ParsingError):
        return "lines it cannot parse: " + ", ".join(str(n) for n, _ in exc.errors)
    return type(exc).__name__


def botocore_profile(text: str, name: str) -> "dict | None":
    """The settings botocore would use for profile NAME from this config text (no credentials file)."""
    parser = parse_like_botocore(text)
    found = None
    for header in parser.sections():
        if profile_name_of(header) == name:
            found = {key: parser.get(header, key) for key in parser.options(header)}  # later wins, as botocore
    return found



def credentials_file_shadow(text: str, name: str) -> "list[str]":
    """Keys of a section NAME in the shared credentials file that would beat credential_process
    (botocore reads that file first and merges its sections over the config file's profiles)."""
    keys = []
    for section in sections_of(classify(split_lines(text))):
        if section.header == name:
            keys += [k for k in section.keys() if k in conflicting_keys([k]) or k == "credential_process"]
    return sorted(set(keys))



def encode(text: str) -> bytes:
    """Text read with surrogateescape back to the file's exact bytes."""
    return text.encode("utf-8", "surrogateescape")
