"""Private files and directories: atomic writes, 0700 directories, and the checks that refuse insecure ones.

Stdlib only (os, stat) and cheap to import: modules on the credential_process hot path may use it.

    write_atomic(path, data, mode=0o600)    replace a file; readers see the old or the new one, never a part
                                            (before_replace=check: a last check just before the rename)
    create_atomic(path, data, mode=0o600)   the same, but never replaces: FileExistsError if path exists
    make_private_dirs(directory)            create missing directories, each 0700 whatever the umask
    check_private(path, what, mode)         ConfigError for a symlink, a non-directory, someone else's or a
                                            group/other-accessible path (the one privacy rule)
    ensure_private_dir(path, what)          create it if missing (make_private_dirs), then check_private

How a write works: a temp file in the same directory (so os.replace is a rename on one file system),
opened O_EXCL|O_NOFOLLOW with mode 0600 (a planted file or link is never written through, and the
data is private while it is being written), fsync, then os.replace (or os.link for create_atomic),
then a best-effort fsync of the directory so the rename itself survives a crash. On any error the
temp file is removed.
"""
import os
import stat

from credproc.errors import ConfigError

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_IS_POSIX = os.name == "posix"
_TEMP_ATTEMPTS = 100


# --- files -----------------------------------------------------------------------------------------

def write_atomic(path: str, data: bytes, mode: int = 0o600, *, before_replace=None,
                 owner: "tuple[int, int] | None" = None) -> None:
    """Atomically replace (or create) ``path`` with ``data``; the file ends with exactly ``mode``
    (and, given ``owner`` = (uid, gid), that owner: root writing a file that stays someone else's).
    ``before_replace()`` runs once the data is on disk, just before the rename (the narrowest window
    to check that nobody changed ``path`` meanwhile); if it raises, nothing is replaced."""
    directory = os.path.dirname(path) or "."
    tmp = _written_temp(directory, os.path.basename(path), data, mode, owner)
    try:
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    _fsync_dir(directory)


def create_atomic(path: str, data: bytes, mode: int = 0o600, *, owner: "tuple[int, int] | None" = None) -> None:
    """Create ``path`` with ``data`` whole or not at all; FileExistsError if it exists (even when
    another process creates it at the same moment: os.link never replaces)."""
    directory = os.path.dirname(path) or "."
    tmp = _written_temp(directory, os.path.basename(path), data, mode, owner)
    try:
        os.link(tmp, path)
    finally:
        remove_quietly(tmp)
    _fsync_dir(directory)


def _written_temp(directory: str, base: str, data: bytes, mode: int, owner=None) -> str:
    """A new temp file beside ``base`` holding ``data``, flushed to disk; its path."""
    fd, tmp = _create_temp(directory, base)
    try:
        try:
            if _IS_POSIX and owner is not None:
                os.fchown(fd, *owner)  # before fchmod: chown may clear mode bits
            if _IS_POSIX:
                os.fchmod(fd, mode)  # exact: O_CREAT's mode went through the umask
            _write_fully(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        remove_quietly(tmp)
        raise
    return tmp


def _create_temp(directory: str, base: str) -> "tuple[int, str]":
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        tmp = os.path.join(directory, f".{base}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"could not create a temporary file in {directory}")


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(directory: str) -> None:
    # Makes the rename durable; best effort (not possible on every platform or file system).
    if not _IS_POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path: str) -> None:
    """Remove a file if it is there; any error (already gone, no permission) is not ours to report."""
    try:
        os.unlink(path)
    except OSError:
        pass


# --- directories -----------------------------------------------------------------------------------

def make_private_dirs(directory: str) -> None:
    """Create ``directory`` and its missing parents, each 0700 whatever the umask (os.makedirs' mode
    reaches only the leaf, through the umask), so credproc never leaves a readable ~/.aws or
    ~/.config/credproc behind. Directories that already exist are left as they are."""
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue  # a concurrent process made it first
        if _IS_POSIX:
            os.chmod(path, 0o700)


def check_private(path: str, what: str, mode: int = 0o700, variable: "str | None" = None, info=None) -> None:
    """The one privacy rule for credproc's directories (mode 0o700) and secret files (0o600): refuse
    ``path`` (ConfigError naming it and the fix) if it is a symbolic link, not a directory (0o700),
    not owned by the user, or lets group or others in. ``variable``: the CREDPROC_* setting that
    puts it elsewhere, offered in the hints; ``info``: its lstat, when the caller has it."""
    info = os.lstat(path) if info is None else info
    elsewhere = f" or set {variable} to a private directory" if variable else ""
    kind = "directory" if mode == 0o700 else "file"
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"{what} {path} is a symbolic link; credproc keeps credentials only in a real {kind}",
                          hint=f"remove the link (rm {path}){elsewhere}")
    if kind == "directory" and not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{what} {path} is not a directory", hint=f"remove it{elsewhere}")
    if not _IS_POSIX:
        return
    if info.st_uid != os.getuid():
        raise ConfigError(f"{what} {path} is owned by uid {info.st_uid}, not by you (uid {os.getuid()})",
                          hint=f"set {variable} to a directory you own, or remove this one" if variable
                          else "remove it, or make it yours")
    if info.st_mode & 0o077:
        # shared: sticky (/tmp) or open to everyone (0777); a stray o+w bit (0707) is a mistake to chmod
        shared = kind == "directory" and (info.st_mode & stat.S_ISVTX or info.st_mode & 0o077 == 0o077)
        raise ConfigError(f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):o})",
                          # a shared directory (/tmp): making it private would break every other user of it
                          hint=(f"set {variable} to a new directory below it (credproc creates it 0700)" if variable
                                else "use a private directory instead") if shared else f"chmod {mode:o} {path}")


def ensure_private_dir(path: str, what: str, variable: "str | None" = None) -> None:
    """``path`` exists as a private directory (created 0700 with its missing parents if absent);
    ConfigError otherwise, also when it cannot be created (a read-only file system)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        _create_private_dir(path, what, variable)
        info = os.lstat(path)
    check_private(path, what, 0o700, variable, info)


def _create_private_dir(path: str, what: str, variable: "str | None") -> None:
    try:
        make_private_dirs(path)
    except OSError as err:  # a read-only file system, a parent we may not write: say so, not "internal error"
        raise ConfigError(f"cannot create the {what} {path}: {err.strerror or type(err).__name__}",
                          hint=f"credproc needs a writable private {what}" + (f"; set {variable} to one" if variable else "")) from None


def _anonymous_pipe(fd: int) -> bool:
    """A shell's `|` (Linux names it `pipe:[N]`), not a FIFO in the file system that anyone the
    mode lets in may open. Where /proc cannot tell, a pipe counts as anonymous: `sudo credproc
    process | jq` must go on working."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
    except OSError:
        return True


def keep_stdout_private() -> None:
    """Secrets are about to go to stdout. When stdout is a regular file that other users may read
    (`credproc serve ORG/ENV > endpoint.env` under the usual umask 022 creates it 0644), give it the
    owner-only mode every file credproc writes itself has, first; refuse when that cannot be done.

    The file is chmod-ed in place, not replaced: a replacement would cut off the shell's own copy of
    the descriptor (`2>&1`, `{ ...; } > f`, `exec > log`), whose later output then went to a file
    without a name. A reader who opened it in the moment between the shell creating it and this
    chmod keeps it (the README says to create such files under umask 077). A named pipe others may
    open is refused: writing waits for a reader, so a chmod would come after theirs. A file or named
    pipe another user owns is refused whatever its mode (even for root, who could chmod it): its
    owner reads it. An anonymous pipe, a terminal or /dev/null is left alone."""
    try:
        info = os.fstat(1)
    except OSError:
        return
    mode = stat.S_IMODE(info.st_mode)
    fifo = stat.S_ISFIFO(info.st_mode) and not _anonymous_pipe(1)
    if not (stat.S_ISREG(info.st_mode) or fifo):
        return
    kind = "a named pipe" if fifo else "a file"
    if info.st_uid != os.getuid():
        raise ConfigError(f"stdout is {kind} owned by uid {info.st_uid}, not by you (uid {os.getuid()}): "
                          f"credproc writes no secret there",
                          hint="redirect to a file of your own (credproc makes it 0600)")
    if not mode & 0o077:
        return
    if fifo:
        raise ConfigError(f"stdout is a named pipe other users may open (mode {mode:04o}): credproc writes no "
                          f"secret there", hint="chmod 600 the pipe first, or use a file or a shell pipe")
    try:
        os.fchmod(1, mode & 0o700)
        if stat.S_IMODE(os.fstat(1).st_mode) & 0o077:  # a file system that ignores chmod (vfat "quiet")
            raise PermissionError("the mode did not change")
    except OSError:
        raise ConfigError(f"stdout is a file other users can read (mode {mode:04o}) and not yours to make private: "
                          f"credproc writes no secret there",
                          hint="redirect to a file of your own (credproc makes it 0600), or chmod 600 it first") from None
