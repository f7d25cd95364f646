"""Careful edits of the AWS shared config file (`~/.aws/config`) for `install-profile` and
`uninstall-profile`: plans, pure text in, text out.

The file is edited line by line, the way aws-cli's ConfigFileWriter does it, never round-tripped
through configparser: every byte we do not mean to change (comments, order, blank lines, odd
spacing, CRLF endings, a missing final newline, bytes that are not UTF-8) stays as it was. Which
lines form which section is read by credproc.aws.ini exactly as botocore's parser reads them, and
after every edit the result is parsed with that same parser to check that botocore will see the
profile we meant to write.
"""
import re
from dataclasses import dataclass, field

from credproc.aws.ini import (
    OPTION_LINE, option_value, botocore_parse_problem, botocore_profile, classify, conflicting_keys, line_body,
    line_ending, newline_of, profile_sections, section_header_for, sections_of, split_lines,
)
from credproc.aws.processline import credproc_ref_of
from credproc.errors import ConfigError, UsageError

_SECRET_KEY_PATTERN = re.compile(r"secret|token|password|key_id", re.IGNORECASE)


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
        current_value = option_value(lines, infos, current)
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
    value = option_value(lines, infos, option)
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
            if o[0] in ("region", "output") and f"{o[0]} = {option_value(lines, infos, o)}" in recorded]


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
    match = OPTION_LINE.match(line.strip())
    if match and _SECRET_KEY_PATTERN.search(match.group("option")) and match.group("value").strip():
        start = line.index(match.group("vi")) + 1
        return line[:start] + " ****" + line_ending(line)
    return line
