"""The index of `credproc process` answers: the stdlib-only cache-hit path (see
credproc.commands.process for the whole story). An answer is found by index_key, served by
cached_answer while every definition file still hashes the same and every token source still names
the identity it was made for, and by stale_answer when a refresh cannot be had.
Split out of credproc.commands.process.
"""
import os
import time

from credproc import cache, paths, settings

INDEX_KIND = "env"

# Environment variables that change what evaluation yields (where STS is, how it is reached,
# which providers exist). Anything else a provider reads is covered by its own cache key.
KEY_VARIABLES = (
    "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT", "AWS_CA_BUNDLE",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
    settings.CONFORMANCE,
    # the other clouds' endpoints: an environment that also opens azure-login or gcp-login is indexed,
    # and another authority or STS would give (or refuse) other tokens
    settings.AZURE_AUTHORITY_HOST, settings.GCP_STS_URL, settings.GCP_IAM_CREDENTIALS_URL,
    # the execution context's pulumi.user.login (getpass.getuser reads them in this order): it may
    # be a subject attribute of the local issuer's token, or interpolated into any input
    "LOGNAME", "USER", "LNAME", "USERNAME",
)


def index_key(ref: str, path: "str | None", environ=None) -> str:
    """sha256 over everything that changes the answer. NUL-separated (no JSON on the hot path):
    NUL cannot occur in arguments or environment values, so the encoding is unambiguous."""
    environ = os.environ if environ is None else environ
    parts = ["credproc-index-key", str(cache.SCHEMA_VERSION), ref, path if path is not None else "\1",
             os.path.abspath(paths.env_dir()), os.path.abspath(paths.config_dir())]
    for name in KEY_VARIABLES:
        value = environ.get(name)
        parts.append(name + ("\1" if value is None else "=" + value))
    return _sha256("\0".join(parts).encode("utf-8", "surrogateescape"))


def cached_answer(key: str, margin: float, now: "float | None" = None) -> "bytes | None":
    """The indexed answer if it is still the answer for this caller, with ``margin`` seconds left."""
    return _answer(key, now, lambda left: left >= margin)


def stale_answer(key: str, now: "float | None" = None) -> "bytes | None":
    """When the refresh lock cannot be had: the indexed answer if it still applies to this caller
    and has more than the serve-stale floor (10 minutes) left, as a failed refresh would serve."""
    return _answer(key, now, lambda left: left > cache.SERVE_STALE_MIN_SECONDS)


def _answer(key: str, now: "float | None", enough) -> "bytes | None":
    entry = cache.read_index(INDEX_KIND, key)
    now = time.time() if now is None else now
    if entry is None or not _still_applies(entry, now):
        return None
    if entry.expires is not None and not enough(entry.expires - now):
        return None
    return entry.answer


def _still_applies(entry, now: float) -> bool:
    """Same definition bytes, and every token source still names the identity it was made for. An
    answer for pulumi:ORG/PROJECT/ENV has no definition file: its Pulumi login binding stands in."""
    if not entry.files and not any(binding.kind == "pulumi" for binding in entry.bindings):
        return False
    for file_path, digest in entry.files.items():
        if _file_sha256(file_path) != digest:
            return False
    return all(binding.holds(now) for binding in entry.bindings)


def _sha256(data: bytes) -> str:
    return cache.sha256_hex(data)


def _file_sha256(path: str) -> "str | None":
    """The digest of a definition file as the store would accept it now, else None (a miss, after
    which the cold path says what is wrong), read no further than the language's limit
    (lang.syntax.MAX_SOURCE_BYTES: nothing larger is ever evaluated)."""
    data = cache.read_capped(path, _MAX_DEFINITION_BYTES, definition=True)
    if data is None or len(data) > _MAX_DEFINITION_BYTES:
        return None
    return _sha256(data)


_MAX_DEFINITION_BYTES = 1024 * 1024  # lang.syntax.MAX_SOURCE_BYTES, without importing the language
