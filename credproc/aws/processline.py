"""credential_process lines: written so that every splitter botocore uses reads them back as meant
(quote_word, join_command_line), split as botocore splits them (posix_split, windows_split), and
read back with the argument rules of `credproc process` (parse_process_line): the one reader of a
credproc line, for install-profile and doctor alike; shim_reason judges the program a line starts.
"""
import os
import re
import shlex
import sys
from dataclasses import dataclass

from credproc.errors import ConfigError

# Characters that mean the same thing, unquoted, to POSIX shlex, sh -c, botocore's Windows splitter
# and cmd.exe /C.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_@+=:,./-]+")
# Characters that are literal inside double quotes for all four (no $ ` ! % ^ " # ; [ ]).
_QUOTABLE_EXTRA = set(" ~()'&\\")


def quote_word(word: str) -> str:
    """A word for a credential_process line that every splitter reads back as `word`: plain words
    as they are, words with spaces (or Windows backslashes) in double quotes, anything else refused."""
    if word and all(_is_plain(c) for c in word):
        return word
    bad = sorted({c for c in word if not (_is_plain(c) or c in _QUOTABLE_EXTRA)})
    if bad or not word or word.endswith("\\"):
        shown = ", ".join(repr(c) for c in bad) if bad else "a trailing backslash" if word else "nothing"
        raise ConfigError(
            f"cannot write a credential_process line for {word!r}: it contains {shown}, which POSIX shells "
            "and Windows would split differently",
            hint="install credproc under a path without those characters",
        )
    return f'"{word}"'


def _is_plain(char: str) -> bool:
    return bool(_PLAIN_WORD.fullmatch(char)) or (not char.isascii() and char.isalnum())


def join_command_line(argv: "list[str]") -> str:
    """Quote argv into one credential_process line and prove it splits back identically."""
    line = " ".join(quote_word(word) for word in argv)
    if posix_split(line) != list(argv) or windows_split(line) != list(argv):
        raise ConfigError(
            f"cannot write a credential_process line for {argv[0]!r}: it would split differently under POSIX "
            "shlex and botocore's Windows splitter",
            hint="install credproc under a path without quotes, backslashes or shell characters",
        )
    return line


def posix_split(line: str) -> "list[str] | None":
    """botocore on POSIX: shlex.split."""
    try:
        return shlex.split(line)
    except ValueError:
        return None


def windows_split(line: str) -> "list[str] | None":
    """botocore on Windows (compat._windows_shell_split, MSVCRT rules): only space and tab delimit,
    only double quotes quote, backslashes are literal unless they precede a double quote."""
    words, buffer, quoted, backslashes, have_word = [], [], False, 0, False
    for char in line:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            buffer.append("\\" * (backslashes // 2))
            escaped, backslashes = backslashes % 2 == 1, 0
            if escaped:
                buffer.append('"')
            else:
                quoted = not quoted
            have_word = True
            continue
        buffer.append("\\" * backslashes)
        backslashes = 0
        if char in " \t" and not quoted:
            if have_word or "".join(buffer):
                words.append("".join(buffer))
            buffer, have_word = [], False
        else:
            buffer.append(char)
    if quoted:
        return None
    buffer.append("\\" * backslashes)
    if have_word or "".join(buffer):
        words.append("".join(buffer))
    return words


@dataclass
class ProcessLine:
    """A `credential_process` line that runs credproc, taken apart."""

    raw: str
    argv: list
    ref: "str | None"
    profile_flag: "str | None"

    @property
    def executable(self) -> str:
        return self.argv[0] if self.argv else ""


# Options of `credproc process` that take a value (credproc.commands.process.parse_arguments), and
# --profile, which lines written by hand sometimes carry (doctor reports it).
_VALUE_OPTIONS = ("--path", "--profile")


def parse_process_line(command_line: str) -> "ProcessLine | None":
    """The line split as botocore splits it on this platform; None unless it runs `credproc process`
    (someone else's helper). The environment is read with the argument rules of `credproc process`."""
    argv = (windows_split if sys.platform == "win32" else posix_split)(command_line) or []
    if argv and re.split(r"[\\/]", argv[0])[-1].lower() in ("credproc", "credproc.exe"):
        rest = argv[1:]
    elif len(argv) >= 3 and argv[1:3] == ["-m", "credproc"]:
        rest = argv[3:]
    else:
        return None
    if not rest or rest[0] != "process":
        return None
    options = _process_options(rest[1:])
    return ProcessLine(command_line, argv, options.get(""), options.get("--profile"))


def _process_options(args: list) -> dict:
    """option -> value, and "" -> the first positional argument (the environment)."""
    args = [arg for arg in args if arg != "--auto-login"]  # process drops it wherever it stands
    found, positional_only, index = {}, False, 0
    while index < len(args):
        arg = args[index]
        name = arg.split("=", 1)[0]
        if not positional_only and arg == "--":
            positional_only = True
        elif not positional_only and arg in _VALUE_OPTIONS and index + 1 < len(args):
            found[arg] = args[index + 1]
            index += 1
        elif not positional_only and name in _VALUE_OPTIONS and "=" in arg:
            found[name] = arg.split("=", 1)[1]
        elif not (not positional_only and arg.startswith("-") and arg != "-"):
            found.setdefault("", arg)
        index += 1
    return found


def credproc_ref_of(command_line: str) -> "str | None":
    """The ORG/ENV that a credential_process line runs `credproc process` for, or None when the line
    does not run credproc (someone else's helper)."""
    line = parse_process_line(command_line)
    return line.ref if line else None


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
