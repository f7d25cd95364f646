"""The local environment store: environment names -> YAML files under one root directory.

Layout (root = credproc.paths.env_dir(): $CREDPROC_ENV_DIR, else <user config dir>/environments)::

    <root>/ORG/ENV.yaml             environment ORG/ENV           (inside the language: "ENV")
    <root>/ORG/PROJECT/ENV.yaml     environment ORG/PROJECT/ENV   (inside the language: "PROJECT/ENV")

Names inside the language (imports, ``${environments.P.E}``) are *short* names: they resolve inside
the organization of the environment being evaluated, so an import ``a`` in ``acme/...`` is
``acme/a`` and ``p/e`` is ``acme/p/e``. An organization is never named from inside a definition.

Name rules (checked before any file access): 2 or 3 segments separated by ``/``; each segment is
1..64 characters from ``A-Z a-z 0-9 - _ .``, does not start with ``.`` or ``-`` (so no ``.``,
``..``, hidden files or option-looking names); the whole name is at most 200 characters. No
absolute paths, backslashes, empty segments or non-ASCII letters (no unicode look-alikes). On
top of that every path is resolved and must stay inside the resolved root (symlinks cannot
escape the store).

Writes are atomic (temp file in the same directory, fsync, os.replace) with mode 0600; created
directories get 0700.
"""
import hashlib
import os
import re
import stat
from dataclasses import dataclass

from credproc import fsutil, paths
from credproc.errors import ConfigError, UsageError

SUFFIX = ".yaml"
MAX_NAME_LENGTH = 200
MAX_SEGMENT_LENGTH = 64
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)


def max_definition_bytes() -> int:
    """Largest definition file read: the language's own limit, so that the store refuses exactly
    what the parser would (and never reads an oversized file whole)."""
    from credproc.lang.syntax import MAX_SOURCE_BYTES

    return MAX_SOURCE_BYTES


class NotInStore(Exception):
    """A well-formed name that has no file (or a short name that is not a valid name)."""


class TooLarge(ConfigError):
    """A definition file over max_definition_bytes(); it is not read."""

    def __init__(self, what: str, size: int, limit: int):
        super().__init__(f"{what} is too large ({size} bytes; the limit is {limit} bytes)")


def read_limited(handle, what: str) -> bytes:
    """The whole content of an open regular file, refusing files over the limit without reading them."""
    limit = max_definition_bytes()
    size = os.fstat(handle.fileno()).st_size
    if size > limit:
        raise TooLarge(what, size, limit)
    data = handle.read(limit + 1)
    if len(data) > limit:  # grew since fstat
        raise TooLarge(what, len(data), limit)
    return data


@dataclass(frozen=True)
class EnvName:
    org: str
    project: "str | None"
    env: str

    @property
    def full(self) -> str:
        return "/".join(self.segments)

    @property
    def short(self) -> str:
        """The name inside the language (without the organization)."""
        return f"{self.project}/{self.env}" if self.project else self.env

    @property
    def segments(self) -> tuple:
        return (self.org, self.project, self.env) if self.project else (self.org, self.env)

    def __str__(self) -> str:
        return self.full


def _bad_segment(segment: str) -> "str | None":
    """Why a name segment is not acceptable, or None."""
    if not segment:
        return "empty name segment"
    if len(segment) > MAX_SEGMENT_LENGTH:
        return f"a name segment is longer than {MAX_SEGMENT_LENGTH} characters"
    if segment.startswith("."):
        return "a name segment may not start with '.'"
    if segment.startswith("-"):
        return "a name segment may not start with '-'"
    if not _SEGMENT.fullmatch(segment):
        return "names use only the letters A-Z a-z, digits, '-', '_' and '.'"
    return None


def _shown(name: str) -> str:
    """The name as it can be shown in a one-line message (escaped, shortened)."""
    text = name if len(name) <= 80 else name[:77] + "..."
    return repr(text)


def _check_segments(name: str, segments: list) -> None:
    if "\\" in name:
        raise UsageError(f"invalid environment name {_shown(name)}: backslashes are not allowed")
    if name.startswith("/") or os.path.isabs(name):
        raise UsageError(f"invalid environment name {_shown(name)}: absolute paths are not allowed")
    for segment in segments:
        problem = _bad_segment(segment)
        if problem:
            raise UsageError(f"invalid environment name {_shown(name)}: {problem}")


def parse_name(ref: str) -> EnvName:
    """Validate ``ORG/ENV`` or ``ORG/PROJECT/ENV``; raise UsageError (exit 2) otherwise."""
    if not isinstance(ref, str) or not ref:
        raise UsageError("no environment name given (expected ORG/ENV or ORG/PROJECT/ENV)")
    if len(ref) > MAX_NAME_LENGTH:
        raise UsageError(f"invalid environment name {_shown(ref)}: longer than {MAX_NAME_LENGTH} characters")
    segments = ref.split("/")
    _check_segments(ref, segments)
    if len(segments) not in (2, 3):
        raise UsageError(
            f"invalid environment name {_shown(ref)}: expected ORG/ENV or ORG/PROJECT/ENV"
        )
    if len(segments) == 2:
        return EnvName(segments[0], None, segments[1])
    return EnvName(segments[0], segments[1], segments[2])


def parse_org(org: str) -> str:
    """Validate an organization name alone."""
    problem = "contains '/'" if "/" in org or "\\" in org else _bad_segment(org)
    if problem:
        raise UsageError(f"invalid organization name {_shown(org)}: {problem}")
    return org


def resolve_short(org: str, short: str) -> EnvName:
    """A name used inside the language (``ENV`` or ``PROJECT/ENV``) in organization ``org``.

    Raises NotInStore for names that cannot exist (so the language reports "not found")."""
    try:
        if len(short) > MAX_NAME_LENGTH:
            raise UsageError("too long")
        segments = short.split("/")
        _check_segments(short, segments)
    except UsageError as err:
        raise NotInStore(f"environment {short!r} not found (not a valid environment name)") from err
    if len(segments) not in (1, 2):
        raise NotInStore(f"environment {short!r} not found (expected ENV or PROJECT/ENV)")
    return parse_name(f"{org}/{short}")


class Store:
    """One environment store directory."""

    def __init__(self, root: "str | None" = None):
        self.root = os.path.abspath(root or paths.env_dir())

    # -- paths ---------------------------------------------------------------------------------
    def path_of(self, name: EnvName) -> str:
        """The file of ``name``; guaranteed (after resolving symlinks) to lie inside the store."""
        path = os.path.join(self.root, *name.segments[:-1], name.segments[-1] + SUFFIX)
        self._check_inside(path, name)
        return path

    def _check_inside(self, path: str, name: EnvName) -> None:
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise ConfigError(
                f"environment {name.full} resolves outside the environment store (symbolic link?)"
            )

    # -- reading -------------------------------------------------------------------------------
    def exists(self, name: EnvName) -> bool:
        return os.path.isfile(self.path_of(name))

    def read(self, name: EnvName) -> "tuple[bytes, str]":
        """(content, path). Raises NotInStore when there is no such file, TooLarge for a file over
        max_definition_bytes() (the language's own limit)."""
        path = self.path_of(name)
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            raise NotInStore(f"environment {name.short!r} not found") from None
        except NotADirectoryError:
            raise NotInStore(f"environment {name.short!r} not found") from None
        except IsADirectoryError:
            raise NotInStore(f"environment {name.short!r} not found (a directory)") from None
        except PermissionError:
            raise ConfigError(f"cannot read environment {name.full}: permission denied") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise NotInStore(f"environment {name.short!r} not found (not a regular file)")
            return read_limited(handle, f"environment {name.full}"), path

    def list(self, org: "str | None" = None) -> list:
        """Sorted full names of every environment (of one organization when given)."""
        if org is not None:
            parse_org(org)
        orgs = [org] if org is not None else self.organizations()
        names = []
        for o in orgs:
            names += self._list_org(o)
        return sorted(names)

    def organizations(self) -> list:
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [e.name for e in entries if e.is_dir(follow_symlinks=False) and not _bad_segment(e.name)]

    def _list_org(self, org: str) -> list:
        base = os.path.join(self.root, org)
        found = []
        for entry in _scan(base):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(SUFFIX):
                env = entry.name[: -len(SUFFIX)]
                if not _bad_segment(env):
                    found.append(f"{org}/{env}")
            elif entry.is_dir(follow_symlinks=False) and not _bad_segment(entry.name):
                for sub in _scan(entry.path):
                    env = sub.name[: -len(SUFFIX)]
                    if sub.is_file(follow_symlinks=False) and sub.name.endswith(SUFFIX) and not _bad_segment(env):
                        found.append(f"{org}/{entry.name}/{env}")
        return found

    # -- writing -------------------------------------------------------------------------------
    def write(self, name: EnvName, data: bytes) -> str:
        """Atomically replace (or create) the definition of ``name``; returns its path."""
        path = self._prepared_path(name)
        fsutil.write_atomic(path, data)
        return path

    def create(self, name: EnvName, data: bytes) -> str:
        """Create the definition of ``name``; ConfigError if it exists (never overwrites, even racing)."""
        path = self._prepared_path(name)
        try:
            fsutil.create_atomic(path, data)
        except FileExistsError:
            raise ConfigError(f"environment {name.full} already exists; not overwritten",
                              hint=f"edit it: credproc env edit {name.full}") from None
        return path

    def _prepared_path(self, name: EnvName) -> str:
        """The file of ``name``, its directories created (0700) and the path checked again inside."""
        path = self.path_of(name)
        fsutil.make_private_dirs(os.path.dirname(path))
        self._check_inside(path, name)  # again, now that the directories exist
        return path

    def remove(self, name: EnvName) -> None:
        path = self.path_of(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise ConfigError(f"environment {name.full} not found", hint="see `credproc env ls`") from None
        # Tidy an emptied project directory (never the organization or the store root).
        if name.project:
            try:
                os.rmdir(os.path.dirname(path))
            except OSError:
                pass


def _scan(directory: str) -> list:
    try:
        return sorted(os.scandir(directory), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
