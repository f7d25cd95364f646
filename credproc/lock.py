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

from credproc import cache, fsutil, settings
from credproc.errors import ConfigError, LockTimeout

#: A refresh (token source, STS attempts and retries) ends within this many seconds.
DEFAULT_REFRESH_TIMEOUT = 30.0
#: Waiting for another process's refresh: longer than that refresh may take, so a waiter does not
#: give up just before the holder's answer arrives.
DEFAULT_TIMEOUT = DEFAULT_REFRESH_TIMEOUT + 15.0
#: Keys whose lock this process holds. An interactive login (credproc.identity.tokens.login) marks them all
#: as "waiting on a person" (a status file beside each lock) while it waits.
HELD: set = set()


def lock_path(key: str) -> str:
    cache._check_key(key)
    directory = os.path.join(cache.cache_root(), "locks")
    fsutil.ensure_private_dir(directory, "cache directory", settings.CACHE_DIR)
    return os.path.join(directory, key + ".lock")


def _seconds_setting(name: str, raw: str, default: float) -> float:
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ConfigError(f"{name} must be a number of seconds more than 0 and at most 3600, got {raw[:20]!r}",
                          hint=f"unset {name} for the default of {default:g}")
    return value


def lock_timeout() -> float:
    """CREDPROC_LOCK_TIMEOUT: seconds to wait for another process's refresh (every lock site)."""
    return _seconds_setting(settings.LOCK_TIMEOUT, settings.lock_timeout(), DEFAULT_TIMEOUT)


def refresh_timeout() -> float:
    """CREDPROC_REFRESH_TIMEOUT: the overall deadline of one refresh (token, STS, retries)."""
    return _seconds_setting(settings.REFRESH_TIMEOUT, settings.refresh_timeout(), DEFAULT_REFRESH_TIMEOUT)


class Deadline:
    """One budget of seconds shared by several waits, so that two waits never add up to twice it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return max(self.seconds - self.elapsed(), 0.0)


class TimedOut(Exception):
    """exclusive() waited its whole timeout; ``waited`` is how long, for the caller's message."""

    def __init__(self, waited: float):
        super().__init__(f"lock still held after {waited:.0f}s")
        self.waited = waited


@contextlib.contextmanager
def exclusive(path: str, timeout: float, *, when_busy=None):
    """Hold an exclusive kernel lock on ``path`` (created 0600, never deleted) for the ``with`` block.

    The one lock primitive of credproc: refresh locks, environment edit locks and ~/.aws/config
    edits all take it. ``when_busy`` runs once if the lock is held when we first try (to fail fast,
    or to tell a person why we wait). Raises TimedOut after ``timeout`` seconds; OSError (a
    foreign or unwritable lock file) passes to the caller, which knows what the lock protects."""
    import filelock

    handle = filelock.FileLock(path, timeout=timeout, mode=0o600, **_lock_options(filelock))
    started = time.monotonic()
    try:
        try:
            handle.acquire(timeout=0)
        except filelock.Timeout:
            if when_busy is not None:
                when_busy()
            handle.acquire()
    except filelock.Timeout:
        raise TimedOut(time.monotonic() - started) from None
    try:
        yield path
    finally:
        handle.release()


def is_held(path: str) -> bool:
    """Whether some process holds the lock on ``path`` now (a probe that takes and drops it). Not
    POSIX, or the file cannot be opened: answers True, so a caller deciding whether to remove a
    lock file leaves it alone."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases our probe lock
    return False


@contextlib.contextmanager
def refresh_lock(key: str, timeout: "float | None" = None, *, environment: "str | None" = None,
                 waited=None, logging_in: bool = False):
    """Hold the refresh lock for ``key``; LockTimeout after ``timeout`` seconds of waiting.
    ``waited``: a callable giving the seconds this caller has waited in all (for the message).
    ``logging_in``: this caller is itself a person's login (told so if another login holds it)."""
    timeout = lock_timeout() if timeout is None else timeout
    path = lock_path(key)
    started = time.monotonic()
    waited = waited or (lambda: time.monotonic() - started)
    held = contextlib.ExitStack()
    try:  # only taking the lock is guarded: an error inside the block is the caller's own
        held.enter_context(exclusive(
            path, timeout, when_busy=lambda: _fail_fast_if_a_person_holds_it(path, environment, logging_in=logging_in)))
    except TimedOut:
        raise _timeout_error(environment, waited(), path) from None
    except PermissionError:
        raise ConfigError(
            f"cannot open the refresh lock {path}: permission denied",
            hint=f"the lock must belong to you; remove it (rm {path}) if another user created it",
        ) from None
    except OSError as err:  # e.g. a read-only file system: a clear error, not an internal one
        raise ConfigError(
            f"cannot open the refresh lock {path}: {err.strerror or type(err).__name__}",
            hint="credproc needs a writable private cache directory; set CREDPROC_CACHE_DIR to one",
        ) from None
    with held:
        HELD.add(key)
        try:
            yield path
        finally:
            HELD.discard(key)


def wait_until_free(key: str, timeout: "float | None" = None, *, environment: "str | None" = None) -> None:
    """Wait, with the standard library only, until nobody holds the refresh lock for ``key`` (or
    ``timeout`` passes); then return without holding it.

    When a hundred `aws` calls start at once on a cold cache, ninety-nine of them only need the
    answer the first one is fetching: they wait here, read the cache again and print it, without
    importing filelock, yaml or boto3 at all (the caller takes refresh_lock() only if the cache is
    still cold). A shared flock waits for the holder's exclusive one (filelock uses flock on POSIX);
    elsewhere this returns at once and refresh_lock() does the waiting."""
    try:
        import fcntl
    except ImportError:
        return
    timeout = lock_timeout() if timeout is None else timeout
    path = lock_path(key)
    try:  # no lock file yet: nobody has ever refreshed this key, so nobody holds it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return  # missing, or a problem refresh_lock() reports with its own message
    try:
        deadline = time.monotonic() + timeout
        checked_for_a_person = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not checked_for_a_person:
                    _fail_fast_if_a_person_holds_it(path, environment)
                    checked_for_a_person = True
                if time.monotonic() >= deadline:
                    return  # refresh_lock() raises LockTimeout if it is still held
                time.sleep(0.01)
    finally:
        os.close(fd)  # releases the shared lock


def status_path(key: str) -> str:
    """Beside the lock: {pid, kind: "interactive"} while its holder waits for a person to log in."""
    return lock_path(key)[: -len(".lock")] + ".status"


def _fail_fast_if_a_person_holds_it(path: str, environment: "str | None", logging_in: bool = False) -> None:
    """A caller that cannot log in itself (no `--auto-login`) must not wait minutes for a person;
    nor may a second `credproc login` wait behind the first."""
    if settings.auto_login() and not logging_in:
        return
    data = cache.read_private_bytes(path[: -len(".lock")] + ".status")
    if not data:  # the usual case: nobody is logging in (and json stays unimported)
        return
    import json

    try:
        status = json.loads(data) if data else None
    except ValueError:
        status = None
    if not isinstance(status, dict) or status.get("kind") != "interactive" or not _alive(status.get("pid")):
        return
    from credproc.errors import LoginRequired

    what = f" for {environment}" if environment else ""
    if logging_in:
        raise LoginRequired(f"another login{what} is already in progress in another terminal (pid {status['pid']})",
                            hint=f"finish it there, or stop it (kill {status['pid']}) and run this command again")
    raise LoginRequired(f"login required{what}: a login is in progress in another terminal (pid {status['pid']})",
                        hint=f"finish that login, or run `credproc login {environment or 'ORG/ENV'}`")


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


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
