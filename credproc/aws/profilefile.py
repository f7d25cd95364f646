"""The AWS config files on disk: where they are (botocore's rules), reading them byte-exact, the
lock credproc takes while editing, the atomic write with a backup, and the records of what credproc
wrote (for uninstall).
"""
import contextlib
import hashlib
import json
import os

from credproc import fsutil
from credproc.aws.ini import encode
from credproc.errors import ConfigError, LockTimeout

BACKUP_SUFFIX = ".credproc.bak"
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
    """Exclusive lock on ``path``'s edits while reading, planning and writing, so two credproc runs
    never interleave their edits. The lock is credproc.lock's, in the private cache (keyed by the
    config's real path), so nothing of credproc's is left beside the user's config file."""
    from credproc import lock

    material = f"credproc-aws-config\0{real_target(path)}".encode("utf-8", "surrogateescape")
    lock_path = lock.lock_path(hashlib.sha256(material).hexdigest())
    seconds = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    held = contextlib.ExitStack()
    try:  # only taking the lock is guarded: an error inside the block is the caller's own
        held.enter_context(lock.exclusive(lock_path, seconds))
    except lock.TimedOut:
        raise LockTimeout(f"timed out after {seconds:.0f}s waiting for another credproc editing {path}",
                          hint=f"find it with `fuser {lock_path}`") from None
    except OSError as err:
        raise ConfigError(f"cannot open the lock {lock_path}: {err.strerror or type(err).__name__}") from None
    with held:
        yield


def remove_emptied(path: str) -> None:
    """Remove a config file that uninstall left without content, with the backup credproc made
    beside it (call holding the lock): nothing of the user's is in them."""
    for leftover in (path, path + BACKUP_SUFFIX):
        fsutil.remove_quietly(leftover)
    fsutil.remove_quietly(_records_path(path))


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


def recorded_config_files() -> "list[str]":
    """Every AWS config file credproc has install records for (where its profiles may still be)."""
    from credproc.paths import config_dir

    directory = os.path.join(config_dir(), "aws-profiles")
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except OSError:
        return []
    found = []
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                config = json.load(handle).get("config")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(config, str):
            found.append(config)
    return found

