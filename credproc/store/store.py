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

Legacy names: ``ORG/ENV`` is ``ORG/default/ENV`` (as in Pulumi ESC), so both spellings name one
environment and get one local-issuer subject (``credproc:org:ORG:env:default/ENV``). Its file is
either ``<root>/ORG/ENV.yaml`` or ``<root>/ORG/default/ENV.yaml``; both at once is an error naming
both files (AmbiguousEnvironment), wherever a name is resolved: so one subject is one definition.

Trust (a definition can run commands, e.g. ``token: {command: ...}``): every directory walked from
the store root down to a definition, the root included, and the definition file itself must be
owned by you, by root or by an owner declared in $CREDPROC_TRUSTED_STORE_OWNERS (user names or
uids, comma-separated; it lives in your environment, never in the store), and not be writable by
group or others (a sticky bit does not help: others could still create definitions). Otherwise
UntrustedStore (exit 2) names the path and the fix. The walk opens each directory relative to the
previous one with O_NOFOLLOW and checks the opened descriptor (no check-then-open race), so a
symbolic link below the root is refused and what is checked is what is read. The root itself may
be a symbolic link (it is checked where it lands); directories above it are not checked: whoever
can rename one of them can substitute the store only with a directory that passes the same checks.
``--file`` definitions are chosen on the command line and are not checked (their imports are).

Writes are atomic (temp file in the same directory, fsync, os.replace) under an edit lock per
environment (in the private cache dir). Written files get 0600 (they may hold secrets) and new
directories 0700; when root writes into someone else's store, a replaced file keeps its owner and a
new file or directory gets the owner of the directory it is made in.
"""
import contextlib
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass

from credproc import fsutil, paths, settings
from credproc.errors import ConfigError, LockTimeout, UsageError

SUFFIX = ".yaml"
DEFAULT_PROJECT = "default"
EDIT_LOCK_TIMEOUT = 120.0  # seconds; holders only read, check and write one small file
_IS_POSIX = os.name == "posix"
# The trusted walk needs openat (os.open with dir_fd); elsewhere (Windows) files are opened by path
# and ownership is not checked (NTFS ACLs are not modes).
_WALKS = _IS_POSIX and os.open in os.supports_dir_fd
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted as a definition must not hang (it is then refused by fstat).
_FILE_FLAGS = os.O_RDONLY | _O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _O_CLOEXEC
_LINK_ERRNOS = {errno.ELOOP, getattr(errno, "EMLINK", errno.ELOOP), getattr(errno, "EFTYPE", errno.ELOOP)}
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


class UntrustedStore(ConfigError):
    """A store directory or definition someone other than you, root or a declared owner could write."""


class AmbiguousEnvironment(ConfigError):
    """Both ``<root>/ORG/ENV.yaml`` and ``<root>/ORG/default/ENV.yaml`` exist: one environment, two files."""


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

    @property
    def canonical(self) -> str:
        """``ORG/PROJECT/ENV``, a legacy name with its ``default`` project: one string per environment."""
        return f"{self.org}/{self.project or DEFAULT_PROJECT}/{self.env}"

    def spellings(self) -> list:
        """Every name of this environment, the legacy two-part one first."""
        if self.project not in (None, DEFAULT_PROJECT):
            return [self]
        return [EnvName(self.org, None, self.env), EnvName(self.org, DEFAULT_PROJECT, self.env)]

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
    """Validate ``ORG/ENV`` or ``ORG/PROJECT/ENV`` (an environment of the local store); raise
    UsageError (exit 2) otherwise, with its own line for a ``pulumi:`` ref (commands that change
    an environment, or read its file, work on the local store only)."""
    if not isinstance(ref, str) or not ref:
        raise UsageError("no environment name given (expected ORG/ENV or ORG/PROJECT/ENV)")
    if is_pulumi_ref(ref):
        raise UsageError(f"{_shown(ref)} is an environment of Pulumi Cloud: this command works only on "
                         "environments of the local store", hint="change it in Pulumi Cloud (esc env edit ...)")
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


# --- pulumi:ORG/PROJECT/ENV: an environment of Pulumi Cloud (credproc.store.pulumicloud) ------------

PULUMI_PREFIX = "pulumi:"
# The Pulumi service's own limits on the three names (its API refuses longer or shorter ones).
PULUMI_LIMITS = (("organization", 3, 40), ("project", 1, 100), ("environment", 1, 100))


@dataclass(frozen=True)
class PulumiName:
    """``pulumi:ORG/PROJECT/ENV``: opened by the Pulumi service, never read from the store."""
    org: str
    project: str
    env: str

    @property
    def full(self) -> str:
        return f"{PULUMI_PREFIX}{self.org}/{self.project}/{self.env}"

    @property
    def path(self) -> str:
        """``ORG/PROJECT/ENV``, the name Pulumi's own tools use."""
        return f"{self.org}/{self.project}/{self.env}"

    def __str__(self) -> str:
        return self.full


def is_pulumi_ref(ref) -> bool:
    return isinstance(ref, str) and ref.startswith(PULUMI_PREFIX)


def parse_pulumi_name(ref: str) -> PulumiName:
    """Validate ``pulumi:ORG/PROJECT/ENV`` (exactly three segments: Pulumi names every environment
    with its project); UsageError (exit 2) otherwise."""
    rest = ref[len(PULUMI_PREFIX):]
    segments = rest.split("/")
    if len(segments) != 3:
        raise UsageError(f"invalid environment name {_shown(ref)}: expected pulumi:ORG/PROJECT/ENV")
    for segment, (what, low, high) in zip(segments, PULUMI_LIMITS):
        if segment and not _SEGMENT.fullmatch(segment):
            raise UsageError(f"invalid environment name {_shown(ref)}: names use only the letters A-Z a-z, "
                             "digits, '-', '_' and '.', and start with a letter, digit or '_'")
        if not low <= len(segment) <= high:
            raise UsageError(f"invalid environment name {_shown(ref)}: a Pulumi {what} name has "
                             f"{low} to {high} characters")
    return PulumiName(*segments)


def parse_ref(ref: str) -> "EnvName | PulumiName":
    """Every command that reads an environment parses its ref here: ``ORG/ENV``, ``ORG/PROJECT/ENV``
    (the local store) or ``pulumi:ORG/PROJECT/ENV`` (Pulumi Cloud)."""
    if is_pulumi_ref(ref):
        return parse_pulumi_name(ref)
    return parse_name(ref)


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


# --- trust ---------------------------------------------------------------------------------------

def trusted_owners() -> frozenset:
    """The uids whose store directories and definitions are trusted: you, root and the declared ones."""
    owners = {os.geteuid(), 0} if _IS_POSIX else set()
    for item in settings.trusted_store_owners():
        owners.add(_uid_of(item))
    return frozenset(owners)


def _uid_of(user: str) -> int:
    if user.isascii() and user.isdigit():
        return int(user)
    try:
        import pwd

        return pwd.getpwnam(user).pw_uid
    except (ImportError, KeyError):
        raise ConfigError(f"{settings.TRUSTED_STORE_OWNERS}: unknown user {user[:40]!r}",
                          hint="list user names or numeric uids, separated by commas") from None


def check_trusted(info, path: str, what: str, owners: frozenset) -> None:
    """UntrustedStore unless ``info`` (an fstat) is owned by a trusted uid and not group/other-writable."""
    if not _IS_POSIX:
        return
    if info.st_uid not in owners:
        raise UntrustedStore(
            f"refusing {what}: {path} is owned by uid {info.st_uid}, not by you (uid {os.geteuid()}), "
            "root or a trusted owner",
            hint=f"if you trust uid {info.st_uid} with your credentials, set {settings.TRUSTED_STORE_OWNERS}="
                 f"{info.st_uid}; else use a store of your own (CREDPROC_ENV_DIR)")
    if info.st_mode & 0o022:
        raise UntrustedStore(
            f"refusing {what}: {path} is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})",
            hint=f"chmod go-w {path}")


def _open_at(parent_fd: "int | None", entry: str, path: str, flags: int, what: str) -> int:
    """os.open of one path component (relative to ``parent_fd``); NotInStore when it is absent."""
    try:
        return os.open(entry if parent_fd is not None else path, flags, dir_fd=parent_fd)
    except (FileNotFoundError, NotADirectoryError):
        raise NotInStore("") from None
    except PermissionError:
        raise ConfigError(f"cannot read {what}: permission denied ({path})") from None
    except OSError as err:
        if err.errno in _LINK_ERRNOS:
            raise UntrustedStore(f"refusing {what}: {path} is a symbolic link",
                                 hint="the store follows no links below its root; replace the link with the file") from None
        if err.errno == errno.ENXIO:  # a socket
            raise NotInStore(" (not a regular file)") from None
        raise ConfigError(f"cannot read {what}: {err.strerror or type(err).__name__} ({path})") from None


def _checked_fd(fd: int, path: str, what: str, owners: frozenset):
    """fstat of ``fd``, checked; the descriptor is closed when the check fails."""
    try:
        info = os.fstat(fd)
        check_trusted(info, path, what, owners)
    except BaseException:
        os.close(fd)
        raise
    return info


class Store:
    """One environment store directory."""

    def __init__(self, root: "str | None" = None):
        self.root = os.path.abspath(root or paths.env_dir())

    # -- paths ---------------------------------------------------------------------------------
    def path_of(self, name: EnvName) -> str:
        """The file of ``name``'s environment: of the spelling whose file exists (ORG/ENV or
        ORG/default/ENV), else of ``name`` itself; guaranteed (after resolving symlinks) to lie
        inside the store. AmbiguousEnvironment when both files exist."""
        return self._target(name)[1]

    def _inside_path(self, name: EnvName) -> str:
        """The file of exactly this spelling, checked to lie inside the store."""
        path = self._raw_path(name)
        self._check_inside(path, name)
        return path

    def _check_inside(self, path: str, name: EnvName) -> None:
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise ConfigError(
                f"environment {name.full} resolves outside the environment store (symbolic link?)"
            )

    def other_spelling(self, path: str) -> "str | None":
        """For a definition file of the store, the file of the other spelling of its environment
        (`ORG/ENV.yaml` <-> `ORG/default/ENV.yaml`), whose appearance would make the name ambiguous;
        None for a file outside the store or of a project other than `default`."""
        relative = os.path.relpath(os.path.abspath(path), self.root)
        parts = relative.split(os.sep)
        if relative.startswith("..") or not parts[-1].endswith(SUFFIX):
            return None
        if len(parts) == 2:
            return os.path.join(self.root, parts[0], DEFAULT_PROJECT, parts[1])
        if len(parts) == 3 and parts[1] == DEFAULT_PROJECT:
            return os.path.join(self.root, parts[0], parts[2])
        return None

    def _raw_path(self, name: EnvName) -> str:
        return os.path.join(self.root, *name.segments[:-1], name.segments[-1] + SUFFIX)

    def _target(self, name: EnvName) -> "tuple[EnvName, str]":
        """The spelling of ``name`` whose file exists (else ``name`` itself) and its checked path;
        AmbiguousEnvironment when the legacy and the ``default``-project files both exist."""
        present = [n for n in name.spellings() if os.path.lexists(self._raw_path(n))]
        if len(present) > 1:
            raise self._ambiguity(*present)
        target = present[0] if present else name
        return target, self._inside_path(target)

    def _ambiguity(self, legacy: EnvName, qualified: EnvName) -> AmbiguousEnvironment:
        return AmbiguousEnvironment(
            f"{legacy.full} and {qualified.full} are one environment, but both {self._raw_path(legacy)} "
            f"and {self._raw_path(qualified)} exist",
            hint="remove one of them (a legacy ORG/ENV is ORG/default/ENV, as in Pulumi ESC)")

    # -- the trusted walk ----------------------------------------------------------------------
    def _directory_fd(self, name: EnvName, what: str, owners: frozenset) -> int:
        """Descriptor of the directory holding the file of ``name``; every directory from the root
        down is opened relative to the one above (no links followed below the root) and checked.
        NotInStore at the first missing one (those above it are checked by then)."""
        fd = _open_at(None, self.root, self.root, _DIR_FLAGS, what)
        _checked_fd(fd, self.root, what, owners)
        path = self.root
        for segment in name.segments[:-1]:
            path = os.path.join(path, segment)
            try:
                child = _open_at(fd, segment, path, _DIR_FLAGS | _O_NOFOLLOW, what)
            finally:
                os.close(fd)
            fd = child
            _checked_fd(fd, path, what, owners)
        return fd

    def _read_trusted(self, name: EnvName, path: str, what: str) -> bytes:
        owners = trusted_owners()
        if _WALKS:
            directory = self._directory_fd(name, what, owners)
            try:
                fd = _open_at(directory, name.env + SUFFIX, path, _FILE_FLAGS, what)
            finally:
                os.close(directory)
        else:
            fd = _open_at(None, path, path, _FILE_FLAGS, what)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise NotInStore(" (a directory)" if stat.S_ISDIR(info.st_mode) else " (not a regular file)")
            check_trusted(info, path, what, owners)
            return read_limited(handle, what)

    # -- reading -------------------------------------------------------------------------------
    def exists(self, name: EnvName) -> bool:
        return os.path.isfile(self._target(name)[1])

    def read(self, name: EnvName) -> "tuple[bytes, str]":
        """(content, path) of the definition of ``name`` (either spelling of a legacy name), checked
        trusted. Raises NotInStore when there is no such file, TooLarge for a file over
        max_definition_bytes() (the language's own limit), UntrustedStore, AmbiguousEnvironment."""
        target, path = self._target(name)
        try:
            return self._read_trusted(target, path, f"environment {name.full}"), path
        except NotInStore as err:
            raise NotInStore(f"environment {name.short!r} not found{err}") from None

    def list(self, org: "str | None" = None) -> list:
        """Sorted full names of every environment (of one organization when given)."""
        if org is not None:
            parse_org(org)
        orgs = [org] if org is not None else self.organizations()
        names = []
        for o in orgs:
            names += self._list_org(o)
        return sorted(names)

    def ambiguities(self, names: list) -> list:
        """The AmbiguousEnvironment of each environment listed under both of its spellings."""
        listed = set(names)
        found = []
        for full in names:
            name = parse_name(full)
            legacy, qualified = name.spellings() if name.project is None else (None, None)
            if legacy is not None and qualified.full in listed:
                found.append(self._ambiguity(legacy, qualified))
        return found

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

    # -- writing (callers hold edit_lock) --------------------------------------------------------
    @contextlib.contextmanager
    def edit_lock(self, name: EnvName):
        """The edit lock of ``name``'s environment (both spellings share it), in the private cache
        dir: read, check and replace under it, and no credproc edit of yours is lost."""
        from credproc import lock

        self._target(name)  # a name that escapes the store (or is ambiguous) is refused before any lock file
        material = f"credproc-env-edit\0{os.path.realpath(self.root)}\0{name.canonical}"
        path = lock.lock_path(sha256_hex(material.encode("utf-8", "surrogateescape")))
        held = contextlib.ExitStack()
        try:  # only taking the lock is guarded: an error inside the block is the caller's own
            held.enter_context(lock.exclusive(path, EDIT_LOCK_TIMEOUT))
        except lock.TimedOut:
            raise LockTimeout(f"timed out after {EDIT_LOCK_TIMEOUT:.0f}s waiting for another credproc "
                              f"editing {name.full}", hint=f"find it with `fuser {path}`") from None
        except OSError as err:
            raise ConfigError(f"cannot open the edit lock {path}: {err.strerror or type(err).__name__}") from None
        with held:
            yield path

    def write(self, name: EnvName, data: bytes) -> str:
        """Atomically replace (or create) the definition of ``name``; returns its path."""
        target, path = self._target(name)
        self._prepare(target)
        mode, owner = _mode_and_owner_for(path)
        fsutil.write_atomic(path, data, mode, owner=owner)
        return path

    def create(self, name: EnvName, data: bytes) -> str:
        """Create the definition of ``name``; ConfigError if it exists under either spelling (never
        overwrites, even racing)."""
        target, path = self._target(name)
        if os.path.lexists(path):
            raise self._exists_error(name, target, path)
        self._prepare(target)
        mode, owner = _mode_and_owner_for(path)
        try:
            fsutil.create_atomic(path, data, mode, owner=owner)
        except FileExistsError:
            raise self._exists_error(name, target, path) from None
        return path

    def _exists_error(self, name: EnvName, target: EnvName, path: str) -> ConfigError:
        where = "" if target == name else f" as {path}"
        return ConfigError(f"environment {name.full} already exists{where}; not overwritten",
                           hint=f"edit it: credproc env edit {name.full}")

    def _prepare(self, name: EnvName) -> None:
        """The directories of ``name``'s file exist, trusted: those already there are checked before
        anything is made in them, and all of them again after."""
        owners, what = trusted_owners(), f"environment {name.full}"
        if _WALKS:
            with contextlib.suppress(NotInStore):
                os.close(self._directory_fd(name, what, owners))
        fsutil.make_private_dirs(self.root)
        parent = self.root
        for segment in name.segments[:-1]:
            parent = _make_dir_like_parent(os.path.join(parent, segment), parent)
        if _WALKS:
            os.close(self._directory_fd(name, what, owners))
        self._inside_path(name)  # inside the store, again, now that the directories exist

    def remove(self, name: EnvName) -> None:
        target, path = self._target(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise ConfigError(f"environment {name.full} not found", hint="see `credproc env ls`") from None
        _remove_emptied_directories(path, levels=len(target.segments) - 1)


def _remove_emptied_directories(path: str, levels: int) -> None:
    """Remove the project and organization directories of ``path`` that the removal left empty,
    innermost first (``levels`` of them: never the store root). `env ls` would otherwise show an
    organization that holds nothing."""
    directory = os.path.dirname(path)
    for _ in range(levels):
        try:
            os.rmdir(directory)  # only an empty directory: never anything else's files
        except OSError:
            return
        directory = os.path.dirname(directory)


def _owner_for(info) -> "tuple[int, int] | None":
    """(uid, gid) to give what root writes into someone else's store (so it stays theirs); else None."""
    if not _IS_POSIX or os.geteuid() != 0 or info.st_uid == 0:
        return None
    return info.st_uid, info.st_gid


def _mode_and_owner_for(path: str) -> "tuple[int, tuple | None]":
    """0600 (a definition may hold secrets: `env set --secret`), and when root writes, the owner of
    the file replaced, else of its directory: root editing your store never leaves you a file you
    cannot read."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        info = os.stat(os.path.dirname(path))
    return 0o600, _owner_for(info)


def _make_dir_like_parent(path: str, parent: str) -> str:
    """mkdir 0700 (whatever the umask), owned like ``parent`` when root makes it; an existing one is kept."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return path
    if _IS_POSIX:
        os.chmod(path, 0o700)
        owner = _owner_for(os.stat(parent))
        if owner:
            os.chown(path, *owner, follow_symlinks=False)
    return path


def _scan(directory: str) -> list:
    try:
        return sorted(os.scandir(directory), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
