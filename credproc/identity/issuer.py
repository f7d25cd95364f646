"""credproc's local OpenID Connect issuer: the token source used when `oidc.token` is omitted.

Pulumi Cloud signs ESC's tokens; locally credproc plays that part. `credproc issuer init --url URL`
creates an RSA signing key; the discovery document and JWKS that `credproc issuer show` prints are
published (by the user, e.g. on S3 + CloudFront) at that HTTPS URL, and an IAM OIDC identity provider
for the URL lets roles trust the tokens.

Files, under credproc.paths.config_dir()/issuer/ (directory 0700):
    key.pem      the RSA private key, PKCS#8 PEM, mode 0600
    issuer.json  {"url", "audience", "kid", "previous_keys": [JWK, ...]}  (no secret; 0600 anyway)

Tokens (RS256, header `kid`) live TOKEN_LIFETIME_SECONDS (5 minutes) and carry
    iss   the issuer URL                     aud   the audience (default "sts.amazonaws.com")
    sub   see below                          iat, nbf, exp, jti
    org, current_env, root_env   (informational; trust policies match on aud and sub)

The `sub` claim (STABLE: trust policies, templates and tests depend on it)::

    credproc:org:<ORG>:env:<PROJECT>/<ENV>[:<ATTRIBUTE>:<VALUE>]...

<ORG> is the organization, <PROJECT>/<ENV> the environment that contains the
`fn::open::aws-login` (a legacy two-part name ORG/ENV has project `default`: as in Pulumi ESC, ORG/ENV
and ORG/default/ENV are one environment, and the store (credproc.store.store) resolves both to the one
definition file and refuses to choose when <store>/ORG/ENV.yaml and <store>/ORG/default/ENV.yaml both
exist, so a subject always belongs to exactly one definition). One `:<ATTRIBUTE>:<VALUE>`
pair follows per entry of `oidc.subjectAttributes`, in the order written. In <VALUE>, `%` and `:`
are percent-encoded (`%25`, `%3A`) so that the claim splits unambiguously.
Example: credproc:org:acme:env:default/dev:pulumi.user.login:alice
"""
import json
import os
import secrets
import time
from urllib.parse import urlsplit

from credproc import fsutil, paths
from credproc.errors import ConfigError, UsageError

DEFAULT_AUDIENCE = "sts.amazonaws.com"
TOKEN_LIFETIME_SECONDS = 300
SETUP_HINT = "run `credproc issuer init --url https://YOUR-HOST/PATH`, publish `credproc issuer show` there"
_KEEP_PREVIOUS_KEYS = 2  # retired public keys still listed in the JWKS, so tokens in flight keep verifying


def issuer_dir() -> str:
    return os.path.join(paths.config_dir(), "issuer")


def _key_path() -> str:
    return os.path.join(issuer_dir(), "key.pem")


def _settings_path() -> str:
    return os.path.join(issuer_dir(), "issuer.json")


# --- names --------------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """The issuer URL as it must appear in `iss`: https, a host, no query/fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(f"the issuer URL must be an https:// URL with a host, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"the issuer URL must not have credentials, a query or a fragment: {url!r}")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}"


def host_path(url: str) -> str:
    """What IAM calls the provider: the issuer URL without `https://` (used in condition keys)."""
    return normalize_url(url)[len("https://"):]


def split_environment(name: str) -> "tuple[str, str]":
    """"ORG/ENV" or "ORG/PROJECT/ENV" -> (org, "PROJECT/ENV"); legacy ORG/ENV is project "default"."""
    parts = name.split("/")
    if len(parts) not in (2, 3) or not all(parts) or any(c in name for c in ": \t\n"):
        raise UsageError(f"expected an environment name ORG/ENV or ORG/PROJECT/ENV, got {name!r}")
    return parts[0], qualify_environment("/".join(parts[1:]))


def qualify_environment(environment: str) -> str:
    """"ENV" -> "default/ENV"; "PROJECT/ENV" unchanged (an OpenContext.environment names no org)."""
    return environment if "/" in environment else f"default/{environment}"


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace(":", "%3A")


def subject(org: str, environment: str, attributes: "list[tuple[str, str]] | None" = None) -> str:
    """The `sub` claim (format in the module docstring). environment: "ENV" or "PROJECT/ENV"."""
    text = f"credproc:org:{_escape(org)}:env:{_escape(qualify_environment(environment))}"
    for name, value in attributes or []:
        text += f":{_escape(name)}:{_escape(value)}"
    return text


# --- the issuer ---------------------------------------------------------------------------------


class LocalIssuer:
    def __init__(self, url: str, audience: str, kid: str, private_key, previous_keys: "list | None" = None):
        self.url = url
        self.audience = audience
        self.kid = kid
        self._private_key = private_key
        self.previous_keys = list(previous_keys or [])

    def jwks(self) -> dict:
        from credproc.identity.jwt import public_jwk

        return {"keys": [public_jwk(self._private_key.public_key(), self.kid)] + self.previous_keys}

    def jwks_uri(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_uri(),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "claims_supported": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "org", "current_env", "root_env"],
        }

    def mint(self, sub: str, *, audience: "str | None" = None, extra: "dict | None" = None,
             now: "float | None" = None) -> str:
        from credproc.identity.jwt import encode_rs256

        issued = int(time.time() if now is None else now)
        claims = dict(extra or {})
        claims.update(
            iss=self.url, aud=audience or self.audience, sub=sub, iat=issued, nbf=issued,
            exp=issued + TOKEN_LIFETIME_SECONDS, jti=secrets.token_urlsafe(16),
        )
        return encode_rs256(claims, self._private_key, self.kid)

    def trust_policy(self, account: str, sub: str, *, audience: "str | None" = None, partition: str = "aws") -> dict:
        """An IAM role trust policy admitting exactly the tokens with this `sub` and audience."""
        provider = host_path(self.url)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:{partition}:iam::{account}:oidc-provider/{provider}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{provider}:aud": audience or self.audience, f"{provider}:sub": sub}
                    },
                }
            ],
        }


def _kid_for(public_key) -> str:
    """RFC 7638 thumbprint: stable for a key, different for the next one."""
    import hashlib

    from credproc.identity.jwt import b64url_encode, public_jwk

    jwk = public_jwk(public_key, "")
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())[:16]


def init(url: str, *, audience: "str | None" = None, force: bool = False) -> LocalIssuer:
    """Create the signing key and settings. An existing issuer is kept unless `force` (key rotation:
    the old public key stays in the JWKS for a while)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    url = normalize_url(url)
    previous = []
    if os.path.exists(_settings_path()):
        if not force:
            raise ConfigError(
                f"the issuer is already set up in {issuer_dir()}",
                hint="`credproc issuer show` prints it; `credproc issuer init --force` rotates the key",
            )
        old = load()
        previous = old.jwks()["keys"][:_KEEP_PREVIOUS_KEYS]  # the retiring key first
    fsutil.ensure_private_dir(paths.config_dir(), "config directory")
    fsutil.ensure_private_dir(issuer_dir(), "issuer directory")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = _kid_for(key.public_key())
    settings = {"url": url, "audience": audience or DEFAULT_AUDIENCE, "kid": kid, "previous_keys": previous}
    fsutil.write_atomic(_key_path(), pem)
    fsutil.write_atomic(_settings_path(), (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode())
    return LocalIssuer(url, settings["audience"], kid, key, previous)


def load_settings() -> dict:
    """issuer.json (url, audience, kid): no key and no cryptography import; ConfigError if not set up."""
    settings_path = _settings_path()
    if not os.path.exists(settings_path) or not os.path.exists(_key_path()):
        raise ConfigError(
            "the local OIDC issuer is not set up (it signs the tokens when `oidc.token` is omitted)", hint=SETUP_HINT
        )
    try:
        with open(settings_path, encoding="utf-8") as handle:
            settings = json.load(handle)
        for name in ("url", "audience", "kid"):
            if not isinstance(settings[name], str):
                raise TypeError(name)
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"the issuer settings {settings_path} are unreadable", hint="rerun `credproc issuer init --force`"
        ) from None
    return settings


def identity_files() -> list:
    """The files whose bytes decide which issuer signs (its key, its URL and audience): a cached
    answer made from one of its tokens is bound to their digests, so `issuer init --force` ends it."""
    return [_key_path(), _settings_path()]


def load() -> LocalIssuer:
    """The configured issuer with its key, or a ConfigError that says how to set one up."""
    settings = load_settings()
    key_path = _key_path()
    fsutil.check_private(issuer_dir(), "issuer directory", 0o700)
    fsutil.check_private(key_path, "issuer key", 0o600)
    from cryptography.hazmat.primitives import serialization

    try:
        with open(key_path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError, TypeError):
        raise ConfigError(f"the issuer key {key_path} is unreadable", hint="rerun `credproc issuer init --force`") from None
    return LocalIssuer(settings["url"], settings["audience"], settings["kid"], key, settings.get("previous_keys") or [])
