"""Careful edits of the AWS shared config file (`~/.aws/config`) for `install-profile`.

The file is edited line by line, the way aws-cli's ConfigFileWriter does it, never round-tripped
through configparser: every byte we do not mean to change (comments, order, blank lines, odd
spacing, CRLF endings, a missing final newline, bytes that are not UTF-8) stays as it was.

To know which lines form which section we classify lines exactly as botocore's parser
(configparser.RawConfigParser, Python 3.11 rules) does, and after every edit we parse the result
with that same parser to check that botocore will see the profile we meant to write.

Stages: paths -> lines -> classification -> sections/profiles -> edit plans (pure text in, text out) -> file I/O (lock, atomic write, backup, install records).
"""
import contextlib
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field

from credproc import fsutil
from credproc.aws.processline import credproc_ref_of
from credproc.errors import ConfigError, LockTimeout, UsageError

# Keys that make botocore ignore credential_process or use it differently (credential-helpers.md
# §1.1): static keys, assume-role chains, SSO, `aws login`, web identity.
CONFLICTING_KEYS = (
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
    "role_arn", "source_profile", "credential_source", "sso_session", "login_session",
    "web_identity_token_file",
)
CONFLICTING_PREFIXES = ("sso_",)
# Values never shown in a diff: config files sometimes hold static keys.
_SECRET_KEY_PATTERN = re.compile(r"secret|token|password|key_id", re.IGNORECASE)

BACKUP_SUFFIX = ".credproc.bak"
LOCK_SUFFIX = ".credproc.lock"
LOCK_TIMEOUT_SECONDS = 30.0


# ---------------------------------------------------------------------------------------- paths

def config_file_path() -> str:
    """AWS_CONFIG_FILE (with ~ and $VARS expanded, as botocore does), else ~/.aws/config."""
    return _expand(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")


def credentials_file_path() -> str:
    """AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials."""
    return _expand(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")


def _expand(path: str) -> str:
    return os.path.abspath(os.path.expanduser(os.path.expandvars(path)))


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
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
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
        match = _OPTION.match(stripped) if in_section else None
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


# ------------------------------------------------------------------------------------ validation

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-[0-9]+")
OUTPUT_FORMATS = ("json", "text", "table", "yaml", "yaml-stream", "off")


def validate_profile_name(name: str) -> str:
    """Profile names go into a section header that botocore shlex-splits; keep them plain words."""
    if not _PROFILE_NAME.fullmatch(name or ""):
        raise UsageError(
            f"invalid profile name {name!r}: use letters, digits and . _ - @ + (no spaces, brackets or newlines)"
        )
    return name


def validate_region(region: str) -> str:
    if not _REGION.fullmatch(region or ""):
        raise UsageError(f"invalid region {region!r}: expected a region name such as eu-central-1")
    return region


def validate_output(output: str) -> str:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"invalid output format {output!r}: expected one of {', '.join(OUTPUT_FORMATS)}")
    return output


# ---------------------------------------------------------------------------------- edit plans

@dataclass
class Edit:
    """The outcome of planning an edit: the new text and what it means."""

    old_text: str
    new_text: str
    status: str  # "added" | "updated" | "unchanged" | "removed-section" | "removed-line" | "absent"
    record: "dict | None" = None  # what credproc wrote, for uninstall (None: forget the profile)
    removed_keys: "list[str]" = field(default_factory=list)
    warnings: "list[str]" = field(default_factory=list)
    profile: str = ""

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text


def plan_install(text: str, name: str, command_line: str, *, region=None, output=None, force=False,
                 source: str = "the AWS config file", previous: "dict | None" = None) -> Edit:
    """Add (or confirm) `[profile NAME]` with credential_process = command_line in `text`."""
    broken = botocore_parse_problem(text)
    warnings = []
    if broken:
        if not force:
            raise ConfigError(f"{source} cannot be read by the AWS CLI and SDKs ({broken})",
                              hint="fix it first, or use --force to add the profile anyway")
        warnings.append(f"{source} cannot be read by the AWS CLI and SDKs ({broken}); adding the profile anyway")
    lines = split_lines(text)
    sections = profile_sections(sections_of(classify(lines)), name)
    if len(sections) > 1:
        raise ConfigError(_defined_twice(name, sections, lines, source), hint="merge them into one section first")
    wanted = [("credential_process", command_line)]
    wanted += [(k, v) for k, v in (("region", region), ("output", output)) if v]
    if not sections:
        edit = _append_section(text, lines, name, wanted)
    else:
        edit = _update_section(text, lines, sections[0], name, wanted, force, source, previous)
    edit.warnings[:0] = warnings
    edit.profile = name
    if not broken:
        _verify_profile(edit.new_text, name, command_line, source)
    return edit


def _defined_twice(name, sections, lines, source) -> str:
    numbers = ", ".join(str(s.start + 1) for s in sections)
    return f"profile {name} is defined {len(sections)} times in {source} (lines {numbers})"


def _append_section(text, lines, name, wanted) -> Edit:
    """A new section at the end, after one blank line; a file without a final newline stays so."""
    # The last line's own ending where it has one: in a file with mixed endings, a "\n" after a
    # final lone "\r" would merge with it into one "\r\n" and eat the separator line.
    newline = (line_ending(lines[-1]) if lines else "") or newline_of(text)
    new_lines = [f"[{section_header_for(name)}]"] + [f"{k} = {v}" for k, v in wanted]
    lines = list(lines)
    final_newline = not lines or bool(line_ending(lines[-1]))
    if lines:
        lines[-1] = line_body(lines[-1]) + (line_ending(lines[-1]) or newline)
        lines.append(newline)  # the blank separator line (uninstall removes it again)
    lines += [body + newline for body in new_lines]
    if not final_newline:
        lines[-1] = line_body(lines[-1])
    record = {"created_section": True, "separator": bool(text), "lines": new_lines[2:]}
    return Edit(text, "".join(lines), "added", record=record)


def _update_section(text, lines, section, name, wanted, force, source, previous) -> Edit:
    """Bring an existing section to what we want: insert missing lines after its last option,
    replace a credential_process of an older credproc install in place, and (with --force only)
    replace conflicting values in place and remove conflicting keys."""
    infos = classify(lines)
    if section.option("credential_process") is None:
        previous = None  # a record of a section credproc made, since removed: this one is the user's
    problems, removals, replacements, inserts = [], [], {}, []
    for key, value in wanted:
        current = section.option(key)
        if current is None:
            inserts.append(f"{key} = {value}")
            continue
        current_value = _option_value(lines, infos, current)
        if current_value == value:
            continue
        if not (key == "credential_process" and credproc_ref_of(current_value) == credproc_ref_of(value)):
            problems.append(_describe_value_conflict(key, current_value))
        # in place; continuation lines of the old value go (they would continue ours)
        replacements[current[1]] = f"{key} = {value}"
        removals.append((key, current[1] + 1, current[2]))
    conflicts = [o for o in section.options if o[0] in conflicting_keys(section.keys())]
    problems += [key for key, _, _ in conflicts]
    if problems and not force:
        raise ConfigError(f"profile {name} in {source} already has {', '.join(problems)}",
                          hint="use --force to replace them (comments stay; a backup is kept), "
                          "or choose another --profile NAME")
    removals += conflicts
    new_text = "".join(_rewrite_section(lines, section, removals, replacements, inserts, newline_of(text)))
    if new_text == text:
        return Edit(text, text, "unchanged", record=previous)
    status = "added" if section.option("credential_process") is None else "updated"
    return Edit(text, new_text, status, record=_merged_record(previous, replacements, inserts),
                removed_keys=sorted({key for key, _, _ in conflicts}))


def _merged_record(previous, replacements, inserts) -> dict:
    """What credproc has written into this section so far, for uninstall."""
    record = dict(previous or {"created_section": False, "separator": False, "lines": []})
    rewritten = {line.split(" = ", 1)[0] for line in list(replacements.values()) + inserts}
    kept = [line for line in record.get("lines", []) if line.split(" = ", 1)[0] not in rewritten]
    record["lines"] = kept + [line for line in list(replacements.values()) + inserts
                              if not line.startswith("credential_process ")]
    return record


def _describe_value_conflict(key, current_value) -> str:
    if key != "credential_process":
        return f"{key} = {current_value}"
    ref = credproc_ref_of(current_value)
    return f"a credential_process that runs credproc for {ref}" if ref else "another tool's credential_process"


def _option_value(lines, infos, option) -> str:
    """The option's value as botocore sees it (continuation lines joined with newlines)."""
    key, first, last = option
    parts = [infos[first].value]
    for i in range(first + 1, last):
        if infos[i].kind != "comment":  # configparser drops comments, keeps blank lines as ""
            parts.append(lines[i].strip())
    return "\n".join(parts).rstrip()


def _rewrite_section(lines, section, removals, replacements, inserts, newline) -> "list[str]":
    """Remove whole options (with their continuation lines), replace single lines, and insert new
    option lines after the section's last option; comments and blank lines stay where they were."""
    drop = {i for _, first, last in removals for i in range(first, last)}
    out = []
    insert_after = section.core_end - 1
    # New lines end like the line they follow (that ending is known not to merge with what comes next).
    newline = line_ending(lines[insert_after]) or newline
    for i, line in enumerate(lines):
        if i in replacements:
            line = replacements[i] + line_ending(line)
        if i not in drop:
            out.append(line)
        if i == insert_after and inserts:
            out.extend(_terminated_inserts(out, inserts, newline))
    return _keep_final_newline_state(lines, out)


def _terminated_inserts(out, inserts, newline) -> "list[str]":
    if out and not line_ending(out[-1]):
        out[-1] = out[-1] + newline
    return [body + newline for body in inserts]


def _keep_final_newline_state(before: "list[str]", after: "list[str]") -> "list[str]":
    """A file that did not end with a newline still does not; one that did still does."""
    if before and after and not line_ending(before[-1]):
        after[-1] = line_body(after[-1])
    return after


def plan_uninstall(text: str, name: str, record: "dict | None", *, source="the AWS config file") -> Edit:
    """Remove what credproc wrote for profile NAME: the whole section when it still holds only
    credproc's lines, else only the lines credproc added (credential_process and, when the install
    record says so, the region/output it added)."""
    lines = split_lines(text)
    infos = classify(lines)
    sections = profile_sections(sections_of(infos), name)
    if len(sections) > 1:
        raise ConfigError(_defined_twice(name, sections, lines, source), hint="merge them into one section first")
    option = sections[0].option("credential_process") if sections else None
    if option is None:
        return Edit(text, text, "absent", profile=name)
    value = _option_value(lines, infos, option)
    if credproc_ref_of(value) is None:
        raise ConfigError(f"profile {name} in {source} has a credential_process that does not run credproc",
                          hint="credproc removes only profiles it installed; edit the file by hand")
    section = sections[0]
    whole = _whole_section_is_credprocs(lines, infos, section, option, record)
    if whole:
        new_lines, status = _remove_section(lines, section, record), "removed-section"
    else:
        ours = [option] + ([] if record is None or record.get("created_section") else
                           _recorded_options(lines, infos, section, record))
        drop = {i for _, first, last in ours for i in range(first, last)}
        new_lines = _keep_final_newline_state(lines, [l for i, l in enumerate(lines) if i not in drop])
        status = "removed-line"
    return Edit(text, "".join(new_lines), status, record=None, profile=name)


def _recorded_options(lines, infos, section, record) -> list:
    """region/output options whose line is exactly one the install record says credproc wrote."""
    recorded = set(record.get("lines", []))
    return [o for o in section.options
            if o[0] in ("region", "output") and f"{o[0]} = {_option_value(lines, infos, o)}" in recorded]


def _whole_section_is_credprocs(lines, infos, section, cp_option, record) -> bool:
    """The section may go entirely when its core (header to last option) holds only credproc's lines:
    per the install record if there is one, else when it looks exactly like what credproc writes
    (credential_process, then optionally region, then optionally output)."""
    if record is not None:
        if not record.get("created_section"):
            return False
        ours = [cp_option] + _recorded_options(lines, infos, section, record)
    elif _looks_like_credproc_section(section):
        ours = section.options
    else:
        return False
    core = set(range(section.start + 1, section.core_end))
    return core == {i for _, first, last in ours for i in range(first, last)}


def _looks_like_credproc_section(section) -> bool:
    keys = section.keys()
    return bool(keys) and keys[0] == "credential_process" and keys[1:] in ([], ["region"], ["output"], ["region", "output"])


def _remove_section(lines, section, record) -> "list[str]":
    """Drop the header and core, and the blank separator line install put before a new section."""
    first = section.start
    separator = record.get("separator", True) if record else True
    if separator and first > 0 and not lines[first - 1].strip():
        first -= 1
    out = lines[:first] + lines[section.core_end:]
    return _keep_final_newline_state(lines, out)


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
        _raw_parse(text)
    except Exception as exc:  # configparser.Error subclasses
        return _describe_parse_error(exc)
    return None


def _raw_parse(text: str):
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
    parser = _raw_parse(text)
    found = None
    for header in parser.sections():
        if profile_name_of(header) == name:
            found = {key: parser.get(header, key) for key in parser.options(header)}  # later wins, as botocore
    return found


def _verify_profile(text: str, name: str, command_line: str, source: str) -> None:
    """Belt and braces: parse the edited text as botocore does and check it sees what we meant."""
    settings = botocore_profile(text, name) or {}
    if settings.get("credential_process") != command_line:
        raise ConfigError(f"after the edit botocore would not see credential_process in profile {name} of {source}",
                          hint="please report this; the file was not changed")
    leftover = conflicting_keys(settings)
    if leftover:  # only a [DEFAULT] section can put them back
        raise ConfigError(f"profile {name} would still get {', '.join(leftover)} from [DEFAULT] in {source}",
                          hint="remove them from [DEFAULT]; credproc does not edit that section")


def credentials_file_shadow(text: str, name: str) -> "list[str]":
    """Keys of a section NAME in the shared credentials file that would beat credential_process
    (botocore reads that file first and merges its sections over the config file's profiles)."""
    keys = []
    for section in sections_of(classify(split_lines(text))):
        if section.header == name:
            keys += [k for k in section.keys() if k in conflicting_keys([k]) or k == "credential_process"]
    return sorted(set(keys))


# ------------------------------------------------------------------------------------------ diff

def unified_diff(old: str, new: str, label: str) -> str:
    """A unified diff for --dry-run, values of secret-looking keys replaced by ****."""
    import difflib

    old_lines = [_redact(l) for l in split_lines(old)]
    new_lines = [_redact(l) for l in split_lines(new)]
    out = []
    for line in difflib.unified_diff(old_lines, new_lines, f"{label} (before)", f"{label} (after)"):
        if line.endswith(("\r\n", "\n", "\r")):
            out.append(line_body(line) + "\n")
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _redact(line: str) -> str:
    match = _OPTION.match(line.strip())
    if match and _SECRET_KEY_PATTERN.search(match.group("option")) and match.group("value").strip():
        start = line.index(match.group("vi")) + 1
        return line[:start] + " ****" + line_ending(line)
    return line


# -------------------------------------------------------------------------------------- file I/O

def read_text(path: str) -> "tuple[str | None, int | None]":
    """(text, file mode) of an existing config file, (None, None) when it does not exist. Bytes that
    are not UTF-8 survive the round trip (surrogateescape)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
            mode = os.fstat(handle.fileno()).st_mode & 0o7777
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not an AWS config file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return data.decode("utf-8", "surrogateescape"), mode


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def real_target(path: str) -> str:
    """Edit the file a symlinked config points at (dotfile managers), not the link itself."""
    return os.path.realpath(path)


def ensure_parent_dir(path: str) -> None:
    """Create missing parent directories 0700 (~/.aws holds credentials too)."""
    parent = os.path.dirname(path)
    try:
        fsutil.make_private_dirs(parent)
    except OSError as exc:
        raise ConfigError(f"cannot create {parent}: {exc.strerror}") from None


@contextlib.contextmanager
def locked(path: str, timeout: "float | None" = None):
    """Exclusive lock on `<config>.credproc.lock` while reading, planning and writing, so two
    credproc runs never interleave their edits. The lock file is left in place (deleting lock
    files races with the next locker)."""
    lock_path = path + LOCK_SUFFIX
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, lock_path, LOCK_TIMEOUT_SECONDS if timeout is None else timeout)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, lock_path: str, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            _try_lock(fd)
            return
        except (BlockingIOError, PermissionError):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another process has held {lock_path} for over {timeout:.0f} s") from None
            time.sleep(0.02)


def _try_lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class ConfigChanged(Exception):
    """The config file no longer holds what the edit was planned on (another program wrote it)."""


def save_with_backup(path: str, old_text: "str | None", new_text: str, mode: "int | None") -> "str | None":
    """Write the backup of the previous content (0600), then the new file with its old mode (0600
    for a new file). Returns the backup path (None when there was no previous file).

    Raises ConfigChanged, replacing nothing, when the file no longer holds exactly `old_text`
    (None: still does not exist) just before the replace: programs other than credproc (aws
    configure, editors, dotfile managers) do not take our lock, and replacing would drop their write."""
    backup = None
    if old_text is not None:
        backup = path + BACKUP_SUFFIX
        fsutil.write_atomic(backup, encode(old_text), 0o600)
    fsutil.write_atomic(path, encode(new_text), 0o600 if mode is None else mode,
                        before_replace=lambda: _check_unchanged(path, old_text))
    return backup


def _check_unchanged(path: str, old_text: "str | None") -> None:
    # read_text keeps every byte (surrogateescape), so equal text means equal bytes.
    if read_text(path)[0] != old_text:
        raise ConfigChanged(path)


# ------------------------------------------------------------------------------- install records

def _records_path(config_path: str) -> str:
    """Where credproc remembers what it wrote into one config file (credproc's config dir, 0700)."""
    import hashlib

    from credproc.paths import config_dir

    digest = hashlib.sha256(config_path.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return os.path.join(config_dir(), "aws-profiles", f"{digest}.json")


def load_record(config_path: str, name: str) -> "dict | None":
    try:
        with open(_records_path(config_path), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    record = data.get("profiles", {}).get(name) if isinstance(data, dict) else None
    return record if isinstance(record, dict) else None


def save_record(config_path: str, name: str, record: "dict | None") -> None:
    """Store (or, with None, forget) what credproc wrote for a profile. Call under the config lock."""
    path = _records_path(config_path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        data = {}
    profiles = data.get("profiles") if isinstance(data.get("profiles"), dict) else {}
    if record is None:
        profiles.pop(name, None)
    else:
        profiles[name] = record
    fsutil.make_private_dirs(os.path.dirname(path))
    body = {"config": config_path, "profiles": profiles}
    fsutil.write_atomic(path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode(), 0o600)


def shim_reason(path: str) -> "str | None":
    """Why ``path`` would not start credproc directly (a version-manager shim costs 100+ ms on every
    AWS call), or None. The one rule for install-profile (which refuses) and doctor (which warns)."""
    if "shims" in os.path.normpath(path).split(os.sep)[:-1]:
        return "it is a version-manager shim (over 100 ms on every AWS call)"
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None  # a binary, or a console script launcher
    shebang = head.splitlines()[0].decode("utf-8", "replace")
    if "/shims/" in shebang:
        return f"its interpreter is a version-manager shim ({shebang[2:].strip()})"
    if any(marker in head for marker in (b"pyenv exec", b"asdf exec", b"mise exec", b"rtx exec", b"rbenv exec")):
        return "it is a version-manager shim script (over 100 ms on every AWS call)"
    if shebang.split()[0].endswith("/env"):
        return f"its interpreter is looked up on PATH at run time ({shebang[2:].strip()}), possibly through a shim"
    return None
