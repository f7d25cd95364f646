"""Entra ID (Azure AD) token endpoint: an OIDC token -> an access token (client credentials with a
federated `client_assertion`, https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).

    POST {authority}/{tenant}/oauth2/v2.0/token
      grant_type=client_credentials, client_id, scope,
      client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer, client_assertion=JWT

* Authority: AZURE_AUTHORITY_HOST (the variable azure-identity reads; a bare host means https),
  default https://login.microsoftonline.com; plain http only on loopback (tests).
* stdlib urllib: one form POST does not justify MSAL (and its discovery round trips).
* Errors: Entra answers `{"error", "error_description": "AADSTS70021: ...", "error_codes": [70021]}`;
  each known AADSTS code becomes one line naming what to fix (StsRefused, exit 5); 5xx, 429 and
  network failures are retried, then TransientError (exit 6). No message holds the token.
* A 200 answer is checked before anything uses it: an access token of visible ASCII only (what a bearer
  token is made of; no control character reaches a terminal or a cache entry) and an `expires_in` that is
  a whole number of seconds up to MAX_LIFETIME_SECONDS (Entra's tokens live 60-90 minutes, at most a day);
  anything else is a bad answer, TransientError (exit 6), as an outage. (That the token outlasts the
  refresh margin is azure_login's check: it knows the margin and when the token is handed out.)
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

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://management.azure.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ATTEMPTS = 3
HTTP_TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 256 * 1024
MAX_LIFETIME_SECONDS = 24 * 3600
_AADSTS = re.compile(r"AADSTS(\d+)")


def authority() -> str:
    """The authority host URL (no trailing slash), from AZURE_AUTHORITY_HOST or the public cloud's."""
    from credproc.identity.oidc import require_https

    raw = settings.azure_authority_host() or DEFAULT_AUTHORITY
    url = raw if "://" in raw else "https://" + raw  # azure-identity takes a bare host too
    require_https(url, "AZURE_AUTHORITY_HOST")
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"AZURE_AUTHORITY_HOST must be a URL such as {DEFAULT_AUTHORITY}, got {raw!r}")
    return url.rstrip("/")


def token_url(tenant: str, host: "str | None" = None) -> str:
    return f"{host or authority()}/{urllib.parse.quote(tenant, safe='')}/oauth2/v2.0/token"


class Claims:
    """The assertion's non-secret claims, to say what the federated credential must list."""

    def __init__(self, payload: "dict | None"):
        payload = payload if isinstance(payload, dict) else {}
        self.iss, self.sub, self.aud, self.exp = (payload.get(k) for k in ("iss", "sub", "aud", "exp"))

    def federated_credential(self) -> str:
        aud = self.aud[0] if isinstance(self.aud, list) and self.aud else self.aud
        return f"issuer {self.iss!r}, subject {self.sub!r}, audience {aud!r}"


def exchange(*, tenant: str, client_id: str, assertion: str, scope: str, claims: "dict | None",
             host: "str | None" = None, sleep=time.sleep, now=time.time) -> dict:
    """-> {"access_token", "token_type", "expires_in"} (seconds, an int)."""
    url = token_url(tenant, host)
    form = {
        "grant_type": "client_credentials", "client_id": client_id, "scope": scope,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion,
    }
    context = {"tenant": tenant, "client_id": client_id, "scope": scope, "claims": Claims(claims), "url": url,
               "now": now}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            status, document = _post(url, form, assertion)
        except TransientError:
            if attempt == MAX_ATTEMPTS:
                raise
            sleep(0.2 * attempt)
            continue
        if status == 200:
            return _answer(document, url)
        raise map_error(status, document, context)
    raise AssertionError("unreachable")


def _post(url: str, form: dict, assertion: str) -> "tuple[int, dict | None]":
    data = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", "User-Agent": "credproc"})
    try:
        with http.open_url(request, HTTP_TIMEOUT_SECONDS) as response:
            status, body = response.status, response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError) as err:
        reason = redact(str(getattr(err, "reason", err)), [assertion])
        raise TransientError(f"cannot reach the Entra ID token endpoint {url}: {printable(reason)} (hint: check "
                             "the network; AZURE_AUTHORITY_HOST sets the authority host)") from None
    try:
        document = json.loads(body[:MAX_RESPONSE_BYTES].decode("utf-8"))
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = None
    elif status != 200:  # error answers are quoted in messages; a server may echo what it was sent
        document = {k: redact(v, [assertion]) if isinstance(v, str) else v for k, v in document.items()}
    if status >= 500 or status == 429:  # worth a retry, whatever the body says
        raise TransientError(f"the Entra ID token endpoint {url} answered HTTP {status}")
    return status, document


def _answer(document: "dict | None", url: str) -> dict:
    document = document or {}
    token, expires_in = document.get("access_token"), document.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit() and expires_in.isascii() and len(expires_in) <= 40:
        expires_in = int(expires_in)  # Entra's v1 endpoint sends a string
    if not isinstance(token, str) or not token or isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise TransientError(f"the Entra ID token endpoint {url} answered without an access_token and expires_in")
    if not visible_ascii(token):
        raise TransientError(f"the Entra ID token endpoint {url} answered an access_token with characters no bearer "
                             "token holds (control, space or non-ASCII); not used")
    if not 0 < expires_in <= MAX_LIFETIME_SECONDS:
        shown = str(expires_in) if len(str(expires_in)) <= 12 else str(expires_in)[:12] + "..."
        raise TransientError(f"the Entra ID token endpoint {url} answered an expires_in of {shown} seconds, outside "
                             f"1..{MAX_LIFETIME_SECONDS} (24 hours); not used")
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":  # a PoP token is no bearer token
        raise TransientError(f"the Entra ID token endpoint {url} answered a token_type other than Bearer "
                             f"({printable(repr(str(token_type)[:20]))}); not used")
    return {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}


def visible_ascii(text: str) -> bool:
    """Only the characters from `!` to `~`: every token character RFC 6750 allows, and no escape sequence."""
    return all("!" <= ch <= "~" for ch in text)


# --- errors ---------------------------------------------------------------------------------------

def _code(document: dict) -> "int | None":
    codes = document.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = _AADSTS.search(str(document.get("error_description") or ""))
    return int(match.group(1)) if match else None


def _first_sentence(document: dict) -> str:
    text = str(document.get("error_description") or document.get("error") or "").strip()
    text = text.split("\r\n")[0].split("\n")[0]
    return printable(text[:300])


def _utc(seconds) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if isinstance(seconds, (int, float)) else "?"


# AADSTS code -> (message template, hint template): fields tenant, client_id, scope, cred (what the
# federated credential must list), exp, now, detail (Entra's own first sentence).
_MESSAGES = {
    70021: ("Entra ID found no federated identity credential on application {client_id} matching the token "
            "({cred})",
            "add one with exactly these values to the app registration (`credproc issuer trust-policy ORG/ENV "
            "--cloud azure` prints it for the local issuer)"),
    700211: ("Entra ID found no federated identity credential on application {client_id} for the token's issuer "
             "({cred})", "the federated credential's issuer must be the token's `iss` exactly"),
    700212: ("Entra ID found no federated identity credential on application {client_id} for the token's audience "
             "({cred})", "list the token's `aud` in the federated credential's audiences, or set `audience` in "
             "azure-login to the one it lists"),
    700213: ("Entra ID found no federated identity credential on application {client_id} for the token's subject "
             "({cred})", "the federated credential's subject must be the token's `sub` exactly"),
    700016: ("Entra ID has no application {client_id} in tenant {tenant}",
             "check clientId (the application (client) ID of the app registration) and tenantId"),
    90002: ("Entra ID has no tenant {tenant}", "check tenantId (the directory (tenant) ID, a GUID)"),
    900023: ("{tenant} is not a valid Entra ID tenant", "check tenantId (the directory (tenant) ID, a GUID)"),
    700024: ("Entra ID refused the token as outside its valid time range (it expires {exp}; it is now {now} here)",
             "check this machine's clock (`credproc doctor`) and the token source"),
    700027: ("Entra ID could not verify the token's signature with its issuer's published keys ({cred})",
             "publish the issuer's current JWKS (`credproc issuer show --jwks-only`) at its jwks_uri"),
    50166: ("Entra ID could not fetch the token issuer's OpenID configuration ({cred})",
            "publish `credproc issuer show --discovery-only` at ISSUER/.well-known/openid-configuration, reachable "
            "from the internet"),
    70011: ("Entra ID refused the scope {scope!r}", "use a resource's `/.default` scope, e.g. " + DEFAULT_SCOPE),
    1002012: ("Entra ID refused the scope {scope!r}", "client credentials need a resource's `/.default` scope, "
              "e.g. " + DEFAULT_SCOPE),
    500011: ("Entra ID knows no resource for the scope {scope!r} in tenant {tenant}",
             "check `scope` (the resource must exist in the tenant)"),
    7000215: ("Entra ID refused the client secret of application {client_id}", "check clientSecret"),
}


def map_error(status: int, document: "dict | None", context: dict) -> Exception:
    document = document or {}
    code = _code(document)
    claims = context["claims"]
    fields = {"tenant": context["tenant"], "client_id": context["client_id"], "scope": context["scope"],
              "cred": claims.federated_credential(), "exp": _utc(claims.exp), "now": _utc(context["now"]())}
    if code in _MESSAGES:
        message, hint = _MESSAGES[code]
        # the fix is part of the one line: as a diagnostic (env open, run) only the message is printed
        return StsRefused(printable(f"{message.format(**fields)}: AADSTS{code} (hint: {hint.format(**fields)})"))
    if document.get("error") == "invalid_request" and "audience" in str(document.get("error_description")).lower():
        return StsRefused(printable(f"Entra ID refused the token's audience ({fields['cred']}): "
                                    f"{_first_sentence(document)} (hint: the token's `aud` must be one of the "
                                    "federated credential's audiences)"))
    detail = _first_sentence(document) or f"HTTP {status}"
    return StsRefused(f"Entra ID refused the token exchange for application {printable(context['client_id'])} in "
                      f"tenant {printable(context['tenant'])}: {detail}")
