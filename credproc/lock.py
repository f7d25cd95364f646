"""Per-key refresh lock: single-flight refresh across processes.

Only a cache miss takes it (filelock costs ~80 ms to import, so it is imported inside the function).
The lock is a kernel advisory lock (flock on POSIX): a holder killed with SIGKILL releases it at
once. Lock files are never deleted: unlinking a held lock file would let a second process lock a
new file of the same name, and two refreshers would run.

Usage (double-checked locking)::

    entry = cache.read_entry("creds", key)           # lock-free
    if not fresh(entry):
        with refresh_lock(key, environment="org/env"):
            entry = cache.read_entry("creds", key)   # someone may have refreshed while we waited
            if not fresh(entry):
                entry = refresh(); cache.write_entry("creds", key, entry)
"""
import contextlib
import os
import time

from credproc import cache
from credproc.errors import ConfigError, LockTimeout

DEFAULT_TIMEOUT = 30.0


def lock_path(key: str) -> str:
    cache._check_key(key)
    directory = os.path.join(cache.cache_root(), "locks")
    cache._ensure_private_dir(directory)
    return os.path.join(directory, key + ".lock")


@contextlib.contextmanager
def refresh_lock(key: str, timeout: float = DEFAULT_TIMEOUT, *, environment: "str | None" = None):
    """Hold the refresh lock for ``key``; LockTimeout after ``timeout`` seconds of waiting."""
    import filelock

    path = lock_path(key)
    lock = filelock.FileLock(path, timeout=timeout, mode=0o600, **_lock_options(filelock))
    started = time.monotonic()
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _timeout_error(environment, time.monotonic() - started, path) from None
    except PermissionError:
        raise ConfigError(
            f"cannot open the refresh lock {path}: permission denied",
            hint=f"the lock must belong to you; remove it (rm {path}) if another user created it",
        ) from None
    try:
        yield path
    finally:
        lock.release()


def _lock_options(filelock) -> dict:
    """Options that exist only in newer filelock releases: keep the lock file, never fall back to
    a soft (pid-file) lock silently."""
    import inspect

    params = inspect.signature(filelock.FileLock.__init__).parameters
    options = {}
    if "preserve_lock_file" in params:
        options["preserve_lock_file"] = True
    if "fallback_to_soft" in params:
        options["fallback_to_soft"] = False
    return options


def _timeout_error(environment, waited: float, path: str) -> LockTimeout:
    what = f"credentials for {environment}" if environment else "credentials"
    return LockTimeout(
        f"timed out after {waited:.0f}s waiting for another credproc to refresh {what}",
        hint=(
            "another credproc is still refreshing (a slow token source or STS?); retry, or find the "
            f"holder with `fuser {path}`"
        ),
    )
