"""Every CREDPROC_* environment variable credproc reads (and the cloud SDK variables it honours), each
read by one function here, and the Pulumi CLI's own settings that `pulumi:ORG/PROJECT/ENV` refs honour
(PULUMI_READ).

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
GCP_STS_URL = "CREDPROC_GCP_STS_URL"  # gcp-login: the full URL of Google STS's token endpoint
GCP_IAM_CREDENTIALS_URL = "CREDPROC_GCP_IAM_CREDENTIALS_URL"  # gcp-login: IAM Credentials' base URL (.../v1)

# Not credproc's own: the variable azure-identity reads, so that one setting moves both (sovereign
# clouds, tests). Listed in READ so that the test fixture isolates it like the others.
AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"

READ = (CACHE_DIR, CONFIG_DIR, ENV_DIR, REFRESH_MARGIN, LOCK_TIMEOUT, REFRESH_TIMEOUT, AUTO_LOGIN, CHAIN,
        CONFORMANCE, DEBUG, TOKEN_STORE, TRUSTED_STORE_OWNERS, DEVICE_SLOW_DOWN_SECONDS, RUN)
READ += (GCP_STS_URL, GCP_IAM_CREDENTIALS_URL, AZURE_AUTHORITY_HOST)


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


# --- the Pulumi CLI's settings (pulumi:ORG/PROJECT/ENV refs; credproc.store.pulumicloud) -------------
# Read as the Pulumi CLI reads them; tests/conftest.py unsets them (tests/arch/test_env_isolation.py).

PULUMI_ACCESS_TOKEN = "PULUMI_ACCESS_TOKEN"
PULUMI_BACKEND_URL = "PULUMI_BACKEND_URL"
PULUMI_HOME = "PULUMI_HOME"  # where the CLI keeps credentials.json (default ~/.pulumi)

PULUMI_READ = (PULUMI_ACCESS_TOKEN, PULUMI_BACKEND_URL, PULUMI_HOME)


def pulumi_access_token(environ=None) -> str:
    """The access token (a secret: never printed, logged or put into a cache key)."""
    return _text(PULUMI_ACCESS_TOKEN, environ)


def pulumi_backend_url(environ=None) -> str:
    return _text(PULUMI_BACKEND_URL, environ)


def pulumi_home(environ=None) -> str:
    return _text(PULUMI_HOME, environ)


def gcp_sts_url() -> str:
    """gcp-login's STS token endpoint (full URL), or "" for Google's."""
    return _text(GCP_STS_URL)


def gcp_iam_credentials_url() -> str:
    """gcp-login's IAM Credentials base URL (up to /v1), or "" for Google's."""
    return _text(GCP_IAM_CREDENTIALS_URL)


def azure_authority_host() -> str:
    """The Entra ID authority host (azure-identity's AZURE_AUTHORITY_HOST), or "" for the default."""
    return _text(AZURE_AUTHORITY_HOST)
