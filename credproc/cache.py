"""The credential cache on disk. Stdlib only and cheap to import: used on the credential_process hot path.

Layout (all private to the user)::

    <cache_root>/                 0700, owner and mode checked on every use (never chmod-ed silently)
        <kind>/<key>.json         0600, one JSON object per entry ("creds" = STS results, ...)
        <kind>/<key>.idx          0600, the `process` index format (see read_index), no JSON needed
        locks/<key>.lock          refresh locks (credproc.lock)

Writes are atomic (temp file in the same directory, fsync, os.replace), so reads are lock-free: a
reader sees the old entry or the new one, never half of one. Anything odd about an entry (missing,
truncated, corrupt, a symlink, someone else's, group/other-accessible) is a miss: the caller
refreshes and the entry is replaced.

`json` is imported lazily: it pulls in `re` (~9 ms), which the hot path's index format avoids.
"""
import os
import stat
import time

from credproc import fsutil, paths, settings
from credproc.errors import ConfigError

SCHEMA_VERSION = 1
DEFAULT_REFRESH_MARGIN_MINUTES = 20
# botocore re-runs the process before every request once fewer than 15 minutes are left (advisory
# refresh window); 16 keeps a minute of slack.
MIN_REFRESH_MARGIN_MINUTES = 16
# When a refresh fails, credentials with more than this left are still served (with a back-off).
SERVE_STALE_MIN_SECONDS = 600
BACKOFF_SECONDS = (300, 600)  # jittered back-off range after a failed refresh

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_HEX = frozenset("0123456789abcdef")
_IS_POSIX = os.name == "posix"


# --- the directory -----------------------------------------------------------------------------

def cache_root() -> str:
    """The cache directory, created 0700 if absent and verified private on every call."""
    root = paths.cache_dir()
    _ensure_private_dir(root)
    return root


def _ensure_private_dir(path: str) -> None:
    fsutil.ensure_private_dir(path, "cache directory", settings.CACHE_DIR)


def _kind_dir(kind: str, create: bool) -> str:
    if not (kind and kind.isalnum() and kind.isascii() and len(kind) <= 16):
        raise ValueError(f"bad cache kind {kind!r}")
    path = os.path.join(cache_root(), kind)
    if create or os.path.lexists(path):
        _ensure_private_dir(path)
    return path


def _check_key(key: str) -> None:
    if not (0 < len(key) <= 128 and set(key) <= _HEX):
        raise ValueError("cache keys are lowercase hex")


def entry_path(kind: str, key: str, suffix: str = ".json") -> str:
    _check_key(key)
    return os.path.join(_kind_dir(kind, create=False), key + suffix)


# --- keys ----------------------------------------------------------------------------------------

def make_key(material: dict) -> str:
    """sha256 hex of the canonical JSON of ``material`` plus the schema version. No secrets in it."""
    import hashlib
    import json

    doc = {"schema": SCHEMA_VERSION, "material": material}
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# --- raw private files ---------------------------------------------------------------------------

def read_private_bytes(path: str) -> "bytes | None":
    """The file's bytes if it is a regular file we own with no group/other bits; else None.

    O_NOFOLLOW refuses symlinks; the checks run on the opened descriptor (no check-then-open race).
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_BINARY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if _IS_POSIX and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_private_bytes(path: str, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` (mode 0600). No temp file is left behind on error."""
    fsutil.write_atomic(path, data, 0o600)


# --- JSON entries --------------------------------------------------------------------------------

def read_entry(kind: str, key: str) -> "dict | None":
    """The entry, or None for a miss (missing, truncated, corrupt, symlink, not ours, not private)."""
    data = read_private_bytes(entry_path(kind, key))
    if data is None:
        return None
    import json

    try:
        entry = json.loads(data.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and truncated JSON
        return None
    if not isinstance(entry, dict) or entry.get("schema") != SCHEMA_VERSION:
        return None
    return entry.get("data") if isinstance(entry.get("data"), dict) else None


def write_entry(kind: str, key: str, data: dict) -> None:
    import json

    _check_key(key)
    directory = _kind_dir(kind, create=True)
    body = json.dumps({"schema": SCHEMA_VERSION, "data": data}, sort_keys=True, separators=(",", ":"))
    write_private_bytes(os.path.join(directory, key + ".json"), body.encode("utf-8"))


def remove_entry(kind: str, key: str) -> bool:
    """Remove an entry (JSON or index form). True if something was removed."""
    removed = False
    for suffix in (".json", ".idx"):
        try:
            os.unlink(entry_path(kind, key, suffix))
            removed = True
        except FileNotFoundError:
            pass
    return removed


def list_entries(kind: str) -> list:
    """[(key, dict)] of every readable entry of ``kind``, sorted by key. Index entries are decoded
    to {"expiration", "files", "bindings"} (their stored answer holds secrets and is left out)."""
    directory = _kind_dir(kind, create=False)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    result = []
    for name in sorted(names):
        key, dot, suffix = name.partition(".")
        if name.startswith(".") or not key or not set(key) <= _HEX:
            continue
        if suffix == "json":
            entry = read_entry(kind, key)
        elif suffix == "idx":
            index = read_index(kind, key)
            entry = None if index is None else {"expiration": index.expiration, "files": index.files,
                                                "bindings": [b.material() for b in index.bindings]}
        else:
            continue
        if entry is not None:
            result.append((key, entry))
    return result


def clear_kind(kind: str) -> int:
    """Remove every entry of ``kind`` (and stale temp files); returns how many entries went."""
    directory = _kind_dir(kind, create=False)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    count = 0
    for name in names:
        if name.endswith((".json", ".idx", ".tmp")):
            fsutil.remove_quietly(os.path.join(directory, name))
            count += not name.endswith(".tmp")
    return count


# --- the `process` index: a header and the stored answer, readable without json/re ---------------
#
#   credproc-index 2\n                      (1: before identity bindings; never served)
#   expires <unix seconds or ->\n
#   expiration <YYYY-MM-DDTHH:MM:SSZ or ->\n
#   file <sha256 hex> <absolute path>\n          (one per definition file)
#   bind <file|env> <digest> <until or -> <arg>\n (one per identity binding, see binding_digest)
#   answer <byte length>\n
#   <the credential_process JSON, exactly as printed>
#
# The length makes a truncated file a miss; the magic line makes any other file a miss.

_INDEX_MAGIC = b"credproc-index 2"


class IndexEntry:
    __slots__ = ("expires", "expiration", "files", "answer", "bindings")

    def __init__(self, expires, expiration, files, answer, bindings=()):
        self.expires = expires        # int unix seconds, or None (never expires)
        self.expiration = expiration  # "YYYY-MM-DDTHH:MM:SSZ" or None
        self.files = files            # {absolute path: sha256 hex}
        self.answer = answer          # bytes, printed as is
        self.bindings = list(bindings)  # [Binding]: whose token the answer was made for


def read_index(kind: str, key: str) -> "IndexEntry | None":
    data = read_private_bytes(entry_path(kind, key, ".idx"))
    if data is None:
        return None
    try:
        return _decode_index(data)
    except (ValueError, UnicodeDecodeError, IndexError):
        return None


def _decode_index(data: bytes) -> "IndexEntry | None":
    head, sep, rest = data.partition(b"\nanswer ")
    if not sep:
        return None
    length_text, sep, answer = rest.partition(b"\n")
    if not sep or len(answer) != int(length_text):
        return None
    lines = head.decode("utf-8").split("\n")
    if lines[0].encode() != _INDEX_MAGIC:
        return None
    expires = expiration = None
    files = {}
    bindings = []
    for line in lines[1:]:
        word, _, value = line.partition(" ")
        if word == "expires":
            expires = None if value == "-" else int(value)
        elif word == "expiration":
            expiration = None if value == "-" else value
        elif word == "file":
            digest, _, path = value.partition(" ")
            if len(digest) != 64 or not path:
                return None
            files[path] = digest
        elif word == "bind":
            kind, digest, until, arg = value.split(" ", 3)
            bindings.append(Binding(kind, arg, digest, None if until == "-" else int(until)))
        else:
            return None
    return IndexEntry(expires, expiration, files, answer, bindings)


def write_index(kind: str, key: str, entry: IndexEntry) -> None:
    _check_key(key)
    lines = [_INDEX_MAGIC.decode()]
    lines.append("expires " + ("-" if entry.expires is None else str(int(entry.expires))))
    lines.append("expiration " + (entry.expiration or "-"))
    for path, digest in sorted(entry.files.items()):
        if "\n" in path or "\r" in path:
            raise ValueError("definition paths with line breaks cannot be indexed")
        lines.append(f"file {digest} {path}")
    for binding in entry.bindings:
        lines.append(binding.index_line())
    head = ("\n".join(lines) + f"\nanswer {len(entry.answer)}\n").encode("utf-8")
    directory = _kind_dir(kind, create=True)
    write_private_bytes(os.path.join(directory, key + ".idx"), head + entry.answer)


# --- identity bindings -----------------------------------------------------------------------------
#
# A cached answer is served only to a caller whose token source, read now, names the identity the
# answer was made for. Each token source says which cheap reads pin that identity (a token file, a
# variable holding the token or the GitHub Actions request token, the local issuer's key, a saved
# login's marker); the digest of what each read yields now is compared with the digest recorded
# when the answer was made. Reading a file or a variable costs microseconds, so the hot path stays
# stdlib-only and cheap; a mismatch is a miss, and the miss path then fails exactly as a cold cache
# would (a missing token: exit 4).

BINDING_KINDS = ("file", "env", "private", "absent", "pulumi")
#   file     the bytes of a file (a token file, a bindFiles entry)
#   env      the value of a variable
#   private  the bytes of a file that must also be ours and private (the issuer key, a login marker):
#            a cold call refuses an insecure one, so a hit must not serve past it either
#   absent   a path that must not exist (the other spelling of an ORG/ENV name: both would be ambiguous)
#   pulumi   the Pulumi login a pulumi:ORG/PROJECT/ENV answer was opened with (arg: the ref), see
#            pulumi_login_digest
ABSENT = "absent"  # the digest of a variable that is unset or a file that cannot be read
OVERSIZE = "oversize"  # a file larger than MAX_TOKEN_BYTES: never a match
#: What a token source reads at most (a JWT is a few KiB; /dev/zero must not exhaust memory).
MAX_TOKEN_BYTES = 256 * 1024


class Binding:
    __slots__ = ("kind", "arg", "digest", "until")

    def __init__(self, kind: str, arg: str, digest: str, until: "int | None" = None):
        if kind not in BINDING_KINDS or not arg or any(ch in arg for ch in "\n\r\0"):
            raise ValueError("bad binding")
        self.kind, self.arg, self.digest, self.until = kind, arg, digest, until

    @classmethod
    def now(cls, kind: str, arg: str, until: "int | None" = None) -> "Binding":
        return cls(kind, arg, binding_digest(kind, arg), until)

    def holds(self, now: float) -> bool:
        """Does the source still name the same identity (and is its token still unexpired)?"""
        if self.until is not None and now >= self.until:
            return False
        if self.kind == "absent":
            return not os.path.lexists(self.arg)
        return self.digest not in (ABSENT, OVERSIZE) and binding_digest(self.kind, self.arg) == self.digest

    def material(self) -> list:
        return [self.kind, self.arg, self.digest]

    def index_line(self) -> str:
        return f"bind {self.kind} {self.digest} {'-' if self.until is None else int(self.until)} {self.arg}"

    def _fields(self) -> tuple:
        return (self.kind, self.arg, self.digest, self.until)

    def __eq__(self, other):
        return isinstance(other, Binding) and self._fields() == other._fields()

    def __hash__(self):
        return hash(self._fields())

    def __repr__(self):  # digests only: never a token
        return f"Binding({self.kind}, {self.arg!r}, {self.digest[:12]}, until={self.until})"


def binding_digest(kind: str, arg: str) -> str:
    """sha256 hex of the variable's value or the file's bytes now; ABSENT or OVERSIZE otherwise."""
    if kind == "env":
        value = os.environ.get(arg)
        return ABSENT if value is None else sha256_hex(value.encode("utf-8", "surrogateescape"))
    if kind == "absent":
        return ABSENT if not os.path.lexists(arg) else "present"
    if kind == "private":
        data = read_private_bytes(arg)
        return ABSENT if data is None else sha256_hex(data)
    if kind == "pulumi":
        return pulumi_login_digest()
    data = read_capped(arg, MAX_TOKEN_BYTES)
    if data is None:
        return ABSENT
    return OVERSIZE if len(data) > MAX_TOKEN_BYTES else sha256_hex(data)


def pulumi_login_digest() -> str:
    """What names the Pulumi login now, hashed (stdlib, no JSON: the cache-hit path reads it): exactly
    what resolves the backend and the token (credproc.store.pulumicloud.resolve_login), i.e.
    PULUMI_ACCESS_TOKEN and PULUMI_BACKEND_URL when both are set; otherwise the bytes of the Pulumi
    CLI's credentials.json too (where PULUMI_HOME puts it: its `current` chooses the backend when
    PULUMI_BACKEND_URL is unset, its tokens the token when PULUMI_ACCESS_TOKEN is). Any change to
    that file is a miss; the cold path then works out the exact login and finds its opened
    environment still cached when only unrelated fields changed. ABSENT when nothing names a token."""
    backend = settings.pulumi_backend_url().encode("utf-8", "surrogateescape")
    token = settings.pulumi_access_token()
    if token:
        token_bytes = token.encode("utf-8", "surrogateescape")
        if backend:
            return sha256_hex(b"token\0" + backend + b"\0" + token_bytes)
        data = read_capped(paths.pulumi_credentials_file(), MAX_TOKEN_BYTES)
        if data is None:  # no file: the default backend, unless a file appears
            return sha256_hex(b"token-nofile\0" + token_bytes)
        if len(data) > MAX_TOKEN_BYTES:
            return OVERSIZE
        return sha256_hex(b"token-file\0" + token_bytes + b"\0" + data)
    data = read_capped(paths.pulumi_credentials_file(), MAX_TOKEN_BYTES)
    if data is None:
        return ABSENT
    return OVERSIZE if len(data) > MAX_TOKEN_BYTES else sha256_hex(b"file\0" + backend + b"\0" + data)


def read_capped(path: str, limit: int, *, definition: bool = False) -> "bytes | None":
    """At most limit + 1 bytes of a regular file (symlinks followed: Kubernetes projects tokens
    through them); None if it cannot be read or is no regular file (a FIFO would block for ever, a
    directory has no bytes to bind). A caller seeing limit + 1 bytes knows the file is too large.
    ``definition``: read it only as the store would accept a definition now (no symbolic link,
    owned by us or root, writable by nobody else); the store's trusted owners are the cold path's."""
    nofollow = _O_NOFOLLOW if definition else 0
    try:
        fd = os.open(path, os.O_RDONLY | _O_BINARY | nofollow | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if definition and _IS_POSIX and (info.st_uid not in (os.getuid(), 0) or info.st_mode & 0o022):
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def sha256_hex(data: bytes) -> str:
    return _sha256_constructor()(data).hexdigest()


def _sha256_constructor():
    # hashlib loads OpenSSL's _hashlib (~2-7 ms, a tenth of a cache hit); CPython's own builtin
    # SHA-256 module gives the same digest for the few small files a hit hashes.
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # CPython 3.10, 3.11
        except ImportError:  # other interpreters
            from hashlib import sha256
    return sha256


# --- freshness -----------------------------------------------------------------------------------

def refresh_margin_seconds() -> int:
    """CREDPROC_REFRESH_MARGIN (minutes), default 20, at least 16."""
    raw = settings.refresh_margin()
    if not raw:
        return DEFAULT_REFRESH_MARGIN_MINUTES * 60
    try:
        minutes = int(raw)
    except ValueError:
        raise ConfigError(
            f"CREDPROC_REFRESH_MARGIN must be a whole number of minutes, got {raw[:20]!r}",
            hint=f"set it to {DEFAULT_REFRESH_MARGIN_MINUTES} or unset it",
        ) from None
    if minutes < MIN_REFRESH_MARGIN_MINUTES:
        raise ConfigError(
            f"CREDPROC_REFRESH_MARGIN={minutes} is below the minimum of {MIN_REFRESH_MARGIN_MINUTES} minutes "
            "(botocore re-runs the credential process before every request once fewer than 15 minutes are left)",
            hint=f"set it to at least {MIN_REFRESH_MARGIN_MINUTES}",
        )
    return minutes * 60


def parse_expiration(text: str) -> int:
    """'YYYY-MM-DDTHH:MM:SSZ' -> unix seconds. ValueError on any other form."""
    if len(text) != 20 or text[4] != "-" or text[7] != "-" or text[10] != "T" or text[13] != ":" \
            or text[16] != ":" or text[19] != "Z":
        raise ValueError(f"expiration not in YYYY-MM-DDTHH:MM:SSZ form: {text!r}")
    import calendar

    fields = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(f.isdigit() for f in fields):
        raise ValueError(f"expiration not in YYYY-MM-DDTHH:MM:SSZ form: {text!r}")
    year, month, day, hour, minute, second = (int(f) for f in fields)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"expiration out of range: {text!r}")
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def format_expiration(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def seconds_left(entry: dict, now: "float | None" = None) -> "float | None":
    """Seconds until entry["expiration"]; None if it never expires. A malformed expiration counts as 0."""
    expiration = entry.get("expiration")
    if expiration is None:
        return None
    now = time.time() if now is None else now
    try:
        return parse_expiration(expiration) - now
    except (TypeError, ValueError):
        return 0.0


def is_fresh(entry: dict, margin: float, now: "float | None" = None) -> bool:
    left = seconds_left(entry, now)
    return left is None or left >= margin


# --- stale-while-refresh -------------------------------------------------------------------------

def in_backoff(entry: dict, now: "float | None" = None) -> bool:
    """True while a recent refresh failure asked us not to try again yet."""
    until = entry.get("backoff_until")
    now = time.time() if now is None else now
    return isinstance(until, (int, float)) and now < until


def can_serve_stale(entry: dict, now: "float | None" = None) -> bool:
    """A refresh failed: may the cached credentials still be served? (more than 10 minutes left)"""
    left = seconds_left(entry, now)
    return left is None or left > SERVE_STALE_MIN_SECONDS


def with_backoff(entry: dict, now: "float | None" = None, rng=None) -> dict:
    """A copy of ``entry`` with a jittered back-off (5-10 minutes) recorded in "backoff_until"."""
    import random

    now = time.time() if now is None else now
    low, high = BACKOFF_SECONDS
    delay = (rng or random).uniform(low, high)
    return dict(entry, backoff_until=int(now + delay))
