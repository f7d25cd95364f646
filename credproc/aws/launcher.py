"""The credential_process launcher file: a small `python -IS` script (its text comes from
credproc.commands.process.launcher_source) that install-profile writes into credproc's own
directory, <config dir>/launchers/<interpreter digest>/credproc, and that the profile's line runs.

Named `credproc` so that credproc.aws.processline recognises the line as credproc's. One launcher per
interpreter: two credproc installations (a checkout and an installed copy) never overwrite each
other's. The directories are private (0700) and the file 0700, all owned by the user: whoever can
change the launcher runs code on every AWS call.
"""
import hashlib
import os
import stat

from credproc import fsutil, paths

NAME = "credproc"
MAX_SHEBANG = 127  # the kernel's limit on older Linux (and pip's): a longer #! line is cut short


def launchers_dir() -> str:
    return os.path.join(paths.config_dir(), "launchers")


def launcher_path(python: str) -> str:
    digest = hashlib.sha256(python.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return os.path.join(launchers_dir(), digest, NAME)


def is_launcher(path: str) -> bool:
    """A path inside credproc's launcher directory (one install-profile wrote)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(path))) == launchers_dir()


def shebang_fits(source: str) -> bool:
    return len(source.split("\n", 1)[0].encode()) <= MAX_SHEBANG


def write(path: str, source: str) -> None:
    """(Re)write the launcher atomically, in private directories (ConfigError when they are not)."""
    for directory in (launchers_dir(), os.path.dirname(path)):
        fsutil.ensure_private_dir(directory, "launcher directory")
    fsutil.write_atomic(path, source.encode("utf-8"), 0o700)


def problem(path: str, expected: str) -> "str | None":
    """What is wrong with the launcher at path: missing, unsafe, or not what credproc would write now."""
    for where in (os.path.dirname(path), path):
        try:
            info = os.lstat(where)
        except FileNotFoundError:
            return f"{where} is missing"
        unsafe = _unsafe(info)
        if unsafe:
            return f"{where} {unsafe}"
    with open(path, encoding="utf-8", errors="replace") as handle:
        if handle.read() != expected:
            return f"{path} is out of date (not what this credproc writes)"
    return None


def _unsafe(info) -> "str | None":
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if os.name == "posix" and info.st_uid != os.getuid():
        return f"is owned by uid {info.st_uid}, not by you"
    if info.st_mode & 0o022:
        return f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def remove(path: str) -> None:
    """Remove a launcher and its directories when they are left empty."""
    fsutil.remove_quietly(path)
    for directory in (os.path.dirname(path), launchers_dir()):
        try:
            os.rmdir(directory)
        except OSError:
            return
