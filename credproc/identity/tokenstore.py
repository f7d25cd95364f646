"""Where refresh tokens live between logins: the OS keyring when a usable backend exists, else a
0600 file under the config dir (with a one-time warning, since a file is only as safe as the disk).

    <config_dir>/logins/                 0700
        index.json                       0600, no secret: identity key -> {issuer, client_id, store,
                                         client_secret: {env|keyring: NAME} for a confidential client}
        <identity key>.json              0600, only when the keyring is not usable: the record
        <identity key>.login             0600, no secret: {"login_id", "sub"}, new at each login,
                                         gone at logout; cached answers made from the login are
                                         bound to its digest (credproc.cache, identity bindings)
        .file-store-warned               marker: the fallback warning was shown once

A record is {"refresh_token", "sub", "nonce"} (sub and nonce let a refreshed ID token be checked
against the login it continues, OIDC Core §12.2). It is stored under the identity (issuer and
client id): one login serves every environment that uses the same identity provider client.

CREDPROC_TOKEN_STORE=keyring|file forces a store (`file` for machines whose keyring prompts; tests).
Import cost: `keyring` (~0.3 s) is imported only when a refresh token is read or written.
"""
import json
import os
import stat

from credproc import cache, fsutil, paths, settings
from credproc.errors import ConfigError

KEYRING_SERVICE = "credproc"
_IS_POSIX = os.name == "posix"


def logins_dir(create: bool = True) -> str:
    directory = os.path.join(paths.config_dir(), "logins")
    if create:
        fsutil.ensure_private_dir(directory, "logins directory")
    return directory


def _record_path(key: str) -> str:
    cache._check_key(key)
    return os.path.join(logins_dir(), key + ".json")


def usable_keyring():
    """The keyring backend if one is usable (not the `fail`/`null` backends), else None."""
    forced = settings.token_store()
    if forced == "file":
        return None
    if forced not in ("", "keyring"):
        raise ConfigError(f"{settings.TOKEN_STORE} must be `keyring` or `file`, got {forced!r}")
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        if forced == "keyring":
            raise ConfigError(f"{settings.TOKEN_STORE}=keyring but the `keyring` package is not installed") from None
        return None
    try:
        backend = keyring.get_keyring()
        priority = backend.priority
    except Exception:  # a broken backend configuration: treat as none rather than fail the login
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__.endswith(".null") or priority <= 0:
        if forced == "keyring":
            raise ConfigError(f"{settings.TOKEN_STORE}=keyring but no usable keyring backend was found")
        return None
    return backend


def _account(key: str) -> str:
    return "oidc-login:" + key


# --- the non-secret index ------------------------------------------------------------------------

def _index_path() -> str:
    return os.path.join(logins_dir(), "index.json")


def known() -> dict:
    """identity key -> {issuer, client_id, store} for every saved login."""
    data = cache.read_private_bytes(_index_path()) if os.path.isdir(logins_dir(create=False)) else None
    try:
        index = json.loads(data.decode("utf-8")) if data else {}
    except ValueError:
        index = {}
    return {k: v for k, v in index.items() if isinstance(v, dict)} if isinstance(index, dict) else {}


def _write_index(index: dict) -> None:
    body = json.dumps(index, sort_keys=True, indent=1).encode("utf-8")
    cache.write_private_bytes(_index_path(), body)


# --- records -------------------------------------------------------------------------------------

def load(key: str, again: str = "credproc login ORG/ENV") -> "dict | None":
    """The saved record for an identity, or None. An insecure record file is refused, not used."""
    backend = usable_keyring()
    if backend is not None:
        try:
            text = backend.get_password(KEYRING_SERVICE, _account(key))
        except Exception:  # locked or unreachable keyring: as if nothing were saved
            text = None
        record = _decode(text)
        if record is not None:
            return record
    return _load_file(key, again)


def _load_file(key: str, again: str) -> "dict | None":
    path = _record_path(key)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if _IS_POSIX and (stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077):
        raise ConfigError(f"the saved login {path} is readable by others or not yours "
                          f"(mode {stat.S_IMODE(st.st_mode):o}); credproc will not use it",
                          hint=f"rm {path} and run `{again}` again")
    data = cache.read_private_bytes(path)
    return _decode(data.decode("utf-8", "replace") if data else None)


def _decode(text: "str | None") -> "dict | None":
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("refresh_token"), str):
        return None
    return record


def save(key: str, record: dict, *, issuer: str, client_id: str, can_warn: bool = True,
         secret_source: "dict | None" = None) -> "tuple[str, str | None]":
    """Keep ``record`` -> (where: "keyring" or the file path, a warning to show once or None).
    ``can_warn``: the caller can show the warning (a silent refresh cannot: it stays pending)."""
    text = json.dumps(record, sort_keys=True)
    warning = None
    where = None
    backend = usable_keyring()
    if backend is not None:
        try:
            backend.set_password(KEYRING_SERVICE, _account(key), text)
            where = "keyring"
        except Exception as exc:
            warning = (f"could not save the refresh token in the OS keyring ({type(exc).__name__}); "
                       "kept in a private file instead")
    if where is None:
        path = _record_path(key)
        cache.write_private_bytes(path, text.encode("utf-8"))
        where = path
        if can_warn:
            warning = warning or _file_store_warning_once(path)
        else:
            warning = None
    else:
        _unlink(_record_path(key))  # an older file copy must not outlive a keyring login
    index = known()
    index[key] = {"issuer": issuer, "client_id": client_id, "store": "keyring" if where == "keyring" else "file"}
    if secret_source:  # where the client secret comes from (names only), so `logout --all` can revoke
        index[key]["client_secret"] = dict(secret_source)
    _write_index(index)
    return where, warning


def _file_store_warning_once(path: str) -> "str | None":
    marker = os.path.join(logins_dir(), ".file-store-warned")
    if os.path.exists(marker):
        return None
    cache.write_private_bytes(marker, b"shown\n")
    return (f"no usable OS keyring: the refresh token is kept in {path} (mode 0600). Anyone who can read "
            "your files can use it; install a keyring backend to keep it there instead "
            "(this warning is shown once)")


# --- the login marker: which login a cached answer came from -------------------------------------

def marker_path(key: str) -> str:
    cache._check_key(key)
    return os.path.join(logins_dir(create=False), key + ".login")


def start_login(key: str, sub: "str | None") -> None:
    """A new login of this identity: a new marker, so answers cached for the previous one end."""
    import secrets

    logins_dir()
    body = json.dumps({"login_id": secrets.token_hex(16), "sub": sub}, sort_keys=True).encode("utf-8")
    cache.write_private_bytes(marker_path(key), body)


def ensure_marker(key: str) -> str:
    """The marker's path, creating one if this identity has none (a login saved before markers
    existed, or none at all: a cold fetch then asks for a login as before)."""
    path = marker_path(key)
    if cache.read_private_bytes(path) is None:
        logins_dir()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:  # another process made it first (or it is not ours: a miss each time)
            return path
        import secrets

        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps({"login_id": secrets.token_hex(16), "sub": None}).encode("utf-8"))
    return path


def forget(key: str) -> bool:
    """Remove the record from the keyring, the file and the index, and end the login (its marker).
    True if a saved login was removed (the marker alone does not count: a fetch may have made it)."""
    _unlink(marker_path(key))
    removed = False
    backend = usable_keyring()
    if backend is not None:
        try:
            if backend.get_password(KEYRING_SERVICE, _account(key)) is not None:
                backend.delete_password(KEYRING_SERVICE, _account(key))
                removed = True
        except Exception:
            pass
    removed = _unlink(_record_path(key)) or removed
    index = known()
    if index.pop(key, None) is not None:
        _write_index(index)
        removed = True
    return removed


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
