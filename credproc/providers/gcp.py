"""Google Cloud's two calls behind `fn::open::gcp-login`, over the standard library (urllib):

1. STS token exchange (RFC 8693) at https://sts.googleapis.com/v1/token: the OIDC token for a
   federated access token of the workload identity pool provider named by the audience
   //iam.googleapis.com/projects/N/locations/REGION/workloadIdentityPools/P/providers/V;
2. IAM Credentials `generateAccessToken` for the service account, with the federated token as
   bearer: the access token handed out, with its expireTime.

Endpoints: CREDPROC_GCP_STS_URL (the token endpoint's full URL) and CREDPROC_GCP_IAM_CREDENTIALS_URL
(the service's base URL up to /v1, to which /projects/-/serviceAccounts/SA:generateAccessToken is
appended); https, plain http only on loopback. Connection failures, 429 and 5xx are retried
(MAX_ATTEMPTS); every refusal becomes one line naming what to fix (StsRefused, exit 5), with the
token (and the federated token) removed wherever the answer echoes it.
"""
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from credproc import settings
from credproc.identity import http
from credproc.errors import ConfigError, StsRefused, TransientError, printable, redact

DEFAULT_STS_URL = "https://sts.googleapis.com/v1/token"
DEFAULT_IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com/v1"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
DEFAULT_REGION = "global"
DEFAULT_LIFETIME_SECONDS = 3600            # IAM Credentials' default and its maximum without the policy
MAX_LIFETIME_SECONDS = 12 * 3600           # with constraints/iam.allowServiceAccountCredentialLifetimeExtension
LIFETIME_CONSTRAINT = "constraints/iam.allowServiceAccountCredentialLifetimeExtension"
MAX_ATTEMPTS = 3
TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 1024 * 1024
TOKEN_MARK = "<token>"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_EXPIRE_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z")
_TOKEN = re.compile(r"[\x21-\x7e]{1,16384}")  # visible ASCII: what an Authorization header and a cache entry carry
EXPIRY_SKEW_SECONDS = 300  # how far Google's clock may run ahead of this machine's (an expireTime's slack)


def is_token(value) -> bool:
    """A token as Google issues them: visible ASCII (no space, no control character), at most 16 KiB.
    Anything else (a NUL, a newline) would be cached and then break every request it is sent in."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


# --- endpoints ----------------------------------------------------------------------------------

def _checked_url(value: str, variable: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return value
    raise ConfigError(f"{variable} must be an https URL (plain http only on 127.0.0.1/localhost), "
                      f"got {printable(repr(value[:200]))}", hint=f"unset {variable} to use Google's endpoint")


def sts_url() -> str:
    value = settings.gcp_sts_url()
    return _checked_url(value, settings.GCP_STS_URL) if value else DEFAULT_STS_URL


def iam_credentials_url() -> str:
    value = settings.gcp_iam_credentials_url()
    return _checked_url(value, settings.GCP_IAM_CREDENTIALS_URL).rstrip("/") if value else DEFAULT_IAM_CREDENTIALS_URL


def generate_access_token_url(service_account: str) -> str:
    return (f"{iam_credentials_url()}/projects/-/serviceAccounts/"
            f"{urllib.parse.quote(service_account, safe='@')}:generateAccessToken")


def endpoint_identity() -> dict:
    """Where the calls go, for the cache key (an endpoint override changes the result)."""
    return {"sts": sts_url(), "iam_credentials": iam_credentials_url()}


class Target:
    """The workload identity provider and the service account an exchange is for."""

    def __init__(self, project: str, pool: str, provider: str, service_account: str,
                 region: str = DEFAULT_REGION, lifetime: int = DEFAULT_LIFETIME_SECONDS):
        self.project, self.pool, self.provider = project, pool, provider
        self.service_account, self.region, self.lifetime = service_account, region, lifetime

    @property
    def provider_name(self) -> str:
        return (f"projects/{self.project}/locations/{self.region}/workloadIdentityPools/{self.pool}"
                f"/providers/{self.provider}")

    @property
    def audience(self) -> str:
        """STS's `audience` parameter: the provider's full resource name."""
        return f"//iam.googleapis.com/{self.provider_name}"

    def principal(self, subject: str) -> str:
        """The IAM principal of a federated identity with google.subject = ``subject``."""
        return (f"principal://iam.googleapis.com/projects/{self.project}/locations/{self.region}"
                f"/workloadIdentityPools/{self.pool}/subject/{subject}")


# --- HTTP ---------------------------------------------------------------------------------------

def _call(url: str, data: bytes, headers: dict, what: str) -> "tuple[int, object]":
    """(status, parsed JSON or None) of a POST; retried on connection failures, 429 and 5xx."""
    request_headers = {"Accept": "application/json", "User-Agent": "credproc", **headers}
    last = None
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(0.2 * 2 ** attempt)
        request = urllib.request.Request(url, data=data, headers=request_headers, method="POST")
        try:
            with http.open_url(request, TIMEOUT_SECONDS) as response:
                status, body = response.status, response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read(MAX_RESPONSE_BYTES + 1)
        except (urllib.error.URLError, OSError) as err:
            last = f"cannot reach {what} at {url}: {getattr(err, 'reason', err)}"
            continue
        if status == 429 or status >= 500:
            last = f"{what} at {url} answered HTTP {status}"
            continue
        if len(body) > MAX_RESPONSE_BYTES:
            raise TransientError(f"{what} at {url} answered more than {MAX_RESPONSE_BYTES // 1024} KiB")
        try:
            return status, json.loads(body.decode("utf-8"))
        except ValueError:
            return status, None
    raise TransientError(f"{last} (after {MAX_ATTEMPTS} attempts)",
                         hint="check the network, or the URL in CREDPROC_GCP_STS_URL / CREDPROC_GCP_IAM_CREDENTIALS_URL")


def _text(value, secrets) -> str:
    return printable(redact(str(value), secrets, TOKEN_MARK))[:300]


# --- 1. STS ---------------------------------------------------------------------------------------

def exchange_token(token: str, target: Target, claims: "dict | None" = None) -> str:
    """The OIDC token -> a federated access token (STS's `access_token`)."""
    form = {
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "audience": target.audience,
        "scope": SCOPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "subject_token": token,
        "subject_token_type": JWT_TOKEN_TYPE,
    }
    status, document = _call(sts_url(), urllib.parse.urlencode(form).encode("ascii"),
                             {"Content-Type": "application/x-www-form-urlencoded"}, "Google STS")
    if status == 200 and isinstance(document, dict) and is_token(document.get("access_token")):
        return document["access_token"]
    if status == 200:
        raise TransientError(f"Google STS sent an answer for {target.audience} that credproc cannot read",
                             hint="check that CREDPROC_GCP_STS_URL (or a proxy) really leads to Google STS")
    raise sts_error(status, document, target, claims or {}, [token])


def sts_error(status: int, document, target: Target, claims: dict, secrets) -> StsRefused:
    error = document.get("error") if isinstance(document, dict) else None
    description = document.get("error_description") if isinstance(document, dict) else None
    error = _text(error, secrets) if isinstance(error, str) else f"HTTP {status}"
    detail = _text(description, secrets) if isinstance(description, str) else ""
    where = f"the workload identity provider {target.audience}"
    if error == "invalid_target":
        return StsRefused(
            f"Google STS does not know {where}: {detail or error}",
            hint="check `project` (the project number, not its id), oidc.workloadPoolId, oidc.providerId and "
                 "oidc.region; the pool and the provider must exist and be enabled")
    if error == "invalid_grant" and "audience" in detail.lower():
        return StsRefused(
            f"Google STS refused the token for {where}: its audience {claims.get('aud')!r} is not one the provider "
            f"allows ({detail})",
            hint="add it to the provider's allowed audiences (`credproc issuer trust-policy ORG/ENV --cloud gcp` "
                 "prints the command), or set oidc.audience to one it allows")
    if error == "unauthorized_client":
        return StsRefused(
            f"Google STS refused the token for {where}: sub={claims.get('sub')!r} does not pass the provider's "
            f"attribute condition ({detail or error})",
            hint="compare the provider's --attribute-condition with the token's claims "
                 "(`credproc issuer trust-policy ORG/ENV --cloud gcp` prints one that admits this environment)")
    return StsRefused(
        f"Google STS refused the token for {where}: {error}" + (f" ({detail})" if detail else ""),
        hint=f"check that the provider's issuer URI is the token's issuer ({claims.get('iss')!r}) and that its JWKS "
             "is published there (`credproc issuer show`)")


# --- 2. IAM Credentials ---------------------------------------------------------------------------

def generate_access_token(bearer: str, target: Target, claims: "dict | None" = None,
                          secrets: "list | None" = None, federated: bool = True) -> "tuple[str, str]":
    """(accessToken, expiry "YYYY-MM-DDTHH:MM:SSZ") for target.service_account, called with ``bearer``."""
    body = json.dumps({"scope": [SCOPE], "lifetime": f"{target.lifetime}s"}).encode("utf-8")
    status, document = _call(generate_access_token_url(target.service_account), body,
                             {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"},
                             "IAM Credentials")
    if status == 200 and isinstance(document, dict):
        token, expiry = document.get("accessToken"), _expiry(document.get("expireTime"))
        if is_token(token) and expiry:
            return token, expiry
        raise TransientError(f"IAM Credentials sent an answer for {target.service_account} that credproc cannot read",
                             hint="check that CREDPROC_GCP_IAM_CREDENTIALS_URL (or a proxy) really leads to IAM Credentials")
    raise iam_error(status, document, target, claims or {}, [bearer] + list(secrets or []), federated)


def _expiry(text) -> "str | None":
    """Google's RFC 3339 expireTime (fractional seconds allowed) -> "YYYY-MM-DDTHH:MM:SSZ"."""
    import datetime

    match = _EXPIRE_TIME.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    try:
        datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:  # 2026-13-45T...: shaped like a time, but none
        return None
    return f"{match.group(1)}Z"


def iam_error(status: int, document, target: Target, claims: dict, secrets, federated: bool = True) -> StsRefused:
    error = document.get("error") if isinstance(document, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("status") if isinstance(error.get("status"), str) else f"HTTP {status}"
    message = _text(error.get("message"), secrets) if isinstance(error.get("message"), str) else ""
    account = target.service_account
    said = f"{code}" + (f" ({message})" if message else "")
    if code == "PERMISSION_DENIED" and not federated:
        return StsRefused(f"the access token's identity may not impersonate {account}: {said}",
                          hint=f"grant it roles/iam.serviceAccountTokenCreator on {account}")
    if code == "PERMISSION_DENIED":
        subject = claims.get("sub") or "SUBJECT"
        return StsRefused(
            f"the federated identity may not impersonate {account}: {said}",
            hint=f"grant roles/iam.workloadIdentityUser on {account} to {target.principal(subject)}, and enable the "
                 "IAM Service Account Credentials API (iamcredentials.googleapis.com) in its project")
    if code == "NOT_FOUND":
        return StsRefused(f"service account {account} not found: {said}",
                          hint="check oidc.serviceAccount (the account's e-mail address)")
    if code == "INVALID_ARGUMENT" and target.lifetime > DEFAULT_LIFETIME_SECONDS:
        return StsRefused(
            f"IAM Credentials refused a token lifetime of {target.lifetime}s for {account}: {said}",
            hint=f"lifetimes over 1h need the organization policy constraint {LIFETIME_CONSTRAINT} to list "
                 f"{account}; or lower tokenLifetime to 1h")
    if code == "UNAUTHENTICATED":
        return StsRefused(f"IAM Credentials did not accept the federated token for {account}: {said}",
                          hint="check that CREDPROC_GCP_STS_URL and CREDPROC_GCP_IAM_CREDENTIALS_URL belong together")
    return StsRefused(f"IAM Credentials refused an access token for {account}: {said}")
