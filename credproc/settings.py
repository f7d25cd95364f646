"""Every CREDPROC_* environment variable credproc reads (and the cloud SDK variables it honours), each read by one function here.

Stdlib only and cheap (the credential_process hot path reads some). A function returns the raw
setting (stripped text, or a flag for variables that are on only when exactly "1"); a module that
needs a parsed value (seconds, minutes, uids) parses it and words its own error. tests/conftest.py
clears exactly READ before every test, and tests/arch checks that no other module reads one.
"""
import os

CACHE_DIR = "CREDPROC_CACHE_DIR"
CONFIG_DIR = "CREDPROC_CONFIG_DIR"
ENV_DIR = "CREDPROC_ENV_DIR"
REFRESH_MARGIN = "CREDPROC_REFRESH_MARGIN"
LOCK_TIMEOUT = "CREDPROC_LOCK_TIMEOUT"
REFRESH_TIMEOUT = "CREDPROC_REFRESH_TIMEOUT"
AUTO_LOGIN = "CREDPROC_AUTO_LOGIN"  # set by `credproc process --auto-login` for the code deep inside
CHAIN = "CREDPROC_CHAIN"  # the environments of the credproc processes that started this one
CONFORMANCE = "CREDPROC_CONFORMANCE"
DEBUG = "CREDPROC_DEBUG"
TOKEN_STORE = "CREDPROC_TOKEN_STORE"
TRUSTED_STORE_OWNERS = "CREDPROC_TRUSTED_STORE_OWNERS"
DEVICE_SLOW_DOWN_SECONDS = "CREDPROC_DEVICE_SLOW_DOWN_SECONDS"  # tests only: shortens RFC 8628's 5 s
RUN = "CREDPROC_RUN"  # set in `credproc run`'s child to ORG/ENV: "already inside run"
# Not credproc's own: the variable azure-identity reads, so that one setting moves both (sovereign
# clouds, tests). Listed in READ so that the test fixture isolates it like the others.
AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"

READ = (CACHE_DIR, CONFIG_DIR, ENV_DIR, REFRESH_MARGIN, LOCK_TIMEOUT, REFRESH_TIMEOUT, AUTO_LOGIN, CHAIN,
        CONFORMANCE, DEBUG, TOKEN_STORE, TRUSTED_STORE_OWNERS, DEVICE_SLOW_DOWN_SECONDS, RUN,
        AZURE_AUTHORITY_HOST)


def _text(name: str, environ=None) -> str:
    return (os.environ if environ is None else environ).get(name, "").strip()


def cache_dir() -> str:
    return _text(CACHE_DIR)


def config_dir() -> str:
    return _text(CONFIG_DIR)


def env_dir() -> str:
    return _text(ENV_DIR)


def refresh_margin() -> str:
    return _text(REFRESH_MARGIN)


def lock_timeout() -> str:
    return _text(LOCK_TIMEOUT)


def refresh_timeout() -> str:
    return _text(REFRESH_TIMEOUT)


def auto_login(environ=None) -> bool:
    return _text(AUTO_LOGIN, environ) == "1"


def chain(environ=None) -> list:
    return [ref for ref in _text(CHAIN, environ).split(",") if ref]


def conformance() -> bool:
    return _text(CONFORMANCE) == "1"


def debug() -> bool:
    return bool(_text(DEBUG))


def token_store() -> str:
    return _text(TOKEN_STORE).lower()


def trusted_store_owners() -> list:
    return [item.strip() for item in _text(TRUSTED_STORE_OWNERS).split(",") if item.strip()]


def device_slow_down_seconds() -> str:
    return _text(DEVICE_SLOW_DOWN_SECONDS)


def inside_run(environ=None) -> str:
    """The ORG/ENV of the `credproc run` this process runs inside, or ""."""
    return _text(RUN, environ)


def azure_authority_host() -> str:
    """The Entra ID authority host (azure-identity's AZURE_AUTHORITY_HOST), or "" for the default."""
    return _text(AZURE_AUTHORITY_HOST)
