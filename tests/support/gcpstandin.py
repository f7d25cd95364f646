"""A stand-in for Google STS (token exchange) and IAM Credentials (generateAccessToken) on 127.0.0.1.

No emulator of these services exists in the registries we reach, so this speaks the documented
protocols and checks each request as Google does, answering Google-shaped errors:

* POST /v1/token (STS, RFC 8693): form fields grant_type, audience, scope, requested_token_type,
  subject_token, subject_token_type. The audience names a configured workload identity pool provider
  (//iam.googleapis.com/projects/N/locations/L/workloadIdentityPools/P/providers/V); the subject token's
  RS256 signature is checked against the provider's JWKS, its iss against the provider's issuer URI,
  its aud against the allowed audiences (default: https://iam.googleapis.com/<provider name>, as
  Google's), exp/iat against the clock, and the attribute condition (a callable on the claims).
  Answer: {access_token, issued_token_type, token_type, expires_in}; errors {error, error_description}.
* POST /v1/projects/-/serviceAccounts/SA:generateAccessToken (IAM Credentials): bearer = a federated
  token from STS; the federated principal (principal://.../subject/SUB) must hold
  roles/iam.workloadIdentityUser on SA (``grants``); body {scope: [...], lifetime: "Ns"}, lifetime at
  most 3600s unless SA is in ``extended_lifetime`` (the org policy constraint). Answer {accessToken,
  expireTime "YYYY-MM-DDTHH:MM:SSZ"}; errors {"error": {code, message, status, details}}.
* GET /v1/projects/N (a protected resource, as Cloud Resource Manager): 200 for a live access token.

``requests`` records every call (path, form or JSON body, authorization); ``now`` is the stand-in's
clock (tests move it with the clients' clock). ``override[kind]`` ("sts" or "iam") replaces the
answers of that endpoint, for hostile-server tests: a function of the real answer (status, document)
returning another, or ("trickle", seconds) for a 200 whose body arrives one byte at a time.
"""
import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from support.httpserver import LoopbackServer, answer

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
FEDERATED_LIFETIME = 3600


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify_rs256(token: str, jwks: dict) -> "dict | None":
    """The claims of ``token`` if its RS256 signature verifies against a key of ``jwks``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        head, body, signature = token.split(".")
        header = json.loads(_b64decode(head))
        claims = json.loads(_b64decode(body))
    except ValueError:
        return None
    if header.get("alg") != "RS256":
        return None
    for key in jwks.get("keys", []):
        if key.get("kid") != header.get("kid"):
            continue
        numbers = rsa.RSAPublicNumbers(int.from_bytes(_b64decode(key["e"]), "big"),
                                       int.from_bytes(_b64decode(key["n"]), "big"))
        try:
            numbers.public_key().verify(_b64decode(signature), f"{head}.{body}".encode(), padding.PKCS1v15(),
                                        hashes.SHA256())
            return claims
        except InvalidSignature:
            return None
    return None


class WorkloadProvider:
    def __init__(self, project: str, pool: str, provider: str, issuer: str, jwks: dict, location: str = "global",
                 allowed_audiences=None, condition=None):
        self.project, self.pool, self.provider, self.location = project, pool, provider, location
        self.issuer, self.jwks = issuer, jwks
        self.name = f"projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}"
        self.allowed_audiences = list(allowed_audiences or [f"https://iam.googleapis.com/{self.name}"])
        self.condition = condition

    @property
    def audience(self) -> str:
        return f"//iam.googleapis.com/{self.name}"

    def principal(self, subject: str) -> str:
        return (f"principal://iam.googleapis.com/projects/{self.project}/locations/{self.location}"
                f"/workloadIdentityPools/{self.pool}/subject/{subject}")


class GoogleStandIn(LoopbackServer):
    def __init__(self):
        super().__init__(_Handler)
        self.providers = {}            # audience -> WorkloadProvider
        self.service_accounts = set()
        self.grants = {}               # service account -> {principal, ...} with roles/iam.workloadIdentityUser
        self.extended_lifetime = set()  # accounts listed in the lifetime-extension org policy
        self.requests = []
        self.federated = {}            # federated token -> (principal, expires)
        self.access_tokens = {}        # access token -> (account, expires)
        self.now = time.time
        self.fail_next = []            # statuses to answer the next calls with (e.g. 503)
        self.override = {}             # "sts" | "iam" -> f(status, document) -> (status, document), or ("trickle", s)
        self._lock = threading.Lock()

    def add_provider(self, provider: WorkloadProvider) -> WorkloadProvider:
        self.providers[provider.audience] = provider
        return provider

    def add_service_account(self, account: str, *principals) -> None:
        self.service_accounts.add(account)
        self.grants.setdefault(account, set()).update(principals)

    @property
    def sts_url(self) -> str:
        return f"{self.url}/v1/token"

    @property
    def iam_url(self) -> str:
        return f"{self.url}/v1"

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r["kind"] == kind)

    # --- STS ------------------------------------------------------------------------------------

    def token_exchange(self, headers, body: bytes):
        if not (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return 400, _oauth("invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        self.requests.append({"kind": "sts", "form": form})
        if form.get("grant_type") != GRANT:
            return 400, _oauth("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}.")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return 400, _oauth("invalid_request", "Invalid requested_token_type.")
        if form.get("subject_token_type") not in SUBJECT_TYPES:
            return 400, _oauth("invalid_request", "Invalid subject_token_type.")
        if form.get("scope") and not set(form["scope"].split()) & {SCOPE, IAM_SCOPE}:
            return 400, _oauth("invalid_scope", "Invalid scope.")
        provider = self.providers.get(form.get("audience"))
        if provider is None:
            return 400, _oauth("invalid_target", 'The target service indicated by the "audience" parameters is '
                               "invalid. This might either be because the pool or provider is disabled or deleted or "
                               "because it doesn't exist.")
        claims = _verify_rs256(form.get("subject_token") or "", provider.jwks)
        if claims is None:
            return 400, _oauth("invalid_grant", "Invalid JWT signature or malformed token.")
        if claims.get("iss") != provider.issuer:
            return 400, _oauth("invalid_grant", f"The issuer in ID Token {claims.get('iss')} does not match the "
                               "expected ISSUER.")
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        if not set(audiences) & set(provider.allowed_audiences):
            return 400, _oauth("invalid_grant", f"The audience in ID Token [{claims.get('aud')}] does not match "
                               "the expected audience.")
        now = self.now()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now:
            return 400, _oauth("invalid_grant", "ID Token has expired.")
        if isinstance(claims.get("iat"), (int, float)) and claims["iat"] > now + 60:
            return 400, _oauth("invalid_grant", "ID Token issued at a future time.")
        if provider.condition is not None and not provider.condition(claims):
            return 400, _oauth("unauthorized_client", "The given credential is rejected by the attribute condition.")
        token = "fed." + secrets.token_urlsafe(24)
        with self._lock:
            self.federated[token] = (provider.principal(claims.get("sub")), now + FEDERATED_LIFETIME)
        return 200, {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                     "expires_in": FEDERATED_LIFETIME}

    # --- IAM Credentials ------------------------------------------------------------------------

    def generate_access_token(self, account: str, headers, body: bytes):
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = None
        self.requests.append({"kind": "iam", "account": account, "json": document, "bearer": bearer})
        principal, expires = self.federated.get(bearer, (None, 0))
        if principal is None or expires < self.now():
            return 401, _google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                                "OAuth 2 access token, login cookie or other valid authentication credential.")
        if not isinstance(document, dict):
            return 400, _google(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        scope = document.get("scope")
        if not isinstance(scope, list) or not scope or not all(isinstance(s, str) for s in scope):
            return 400, _google(400, "INVALID_ARGUMENT", "Scope required.")
        lifetime = document.get("lifetime", "3600s")
        if not (isinstance(lifetime, str) and lifetime.endswith("s") and lifetime[:-1].isdigit()):
            return 400, _google(400, "INVALID_ARGUMENT", f"Invalid value at 'lifetime' ({lifetime!r}).")
        seconds = int(lifetime[:-1])
        if account not in self.service_accounts:
            return 404, _google(404, "NOT_FOUND", f"Not found; Gaia id not found for email {account}")
        if principal not in self.grants.get(account, set()):
            return 403, _google(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on "
                                "resource (or it may not exist).", reason="IAM_PERMISSION_DENIED",
                                metadata={"permission": "iam.serviceAccounts.getAccessToken"})
        limit = 43200 if account in self.extended_lifetime else 3600
        if not 1 <= seconds <= limit:
            return 400, _google(400, "INVALID_ARGUMENT", f"The lifetime parameter must be between 1 and {limit} "
                                "seconds.")
        now = self.now()
        token = "ya29.standin-" + secrets.token_urlsafe(24)
        with self._lock:
            self.access_tokens[token] = (account, now + seconds)
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now + seconds)))
        return 200, {"accessToken": token, "expireTime": expire}

    def resource(self, headers):
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
        account, expires = self.access_tokens.get(bearer, (None, 0))
        self.requests.append({"kind": "resource", "bearer": bearer})
        if account is None or expires < self.now():
            return 401, _google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        return 200, {"serviceAccount": account}


def _oauth(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}


def _google(code: int, status: str, message: str, reason: "str | None" = None, metadata=None) -> dict:
    error = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "iam.googleapis.com", "metadata": metadata or {}}]
    return {"error": error}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, document: dict) -> None:
        answer(self, status, "application/json; charset=UTF-8", json.dumps(document).encode())

    def do_POST(self):  # noqa: N802
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if owner.fail_next:
            self._send(owner.fail_next.pop(0), _google(503, "UNAVAILABLE", "The service is currently unavailable."))
            return
        path = urllib.parse.urlsplit(self.path).path
        prefix, suffix = "/v1/projects/-/serviceAccounts/", ":generateAccessToken"
        if path == "/v1/token":
            self._answer("sts", owner.token_exchange(self.headers, body))
        elif path.startswith(prefix) and path.endswith(suffix):
            account = urllib.parse.unquote(path[len(prefix):-len(suffix)])
            self._answer("iam", owner.generate_access_token(account, self.headers, body))
        else:
            self._send(404, _google(404, "NOT_FOUND", f"no such method {path}"))

    def _answer(self, kind: str, real) -> None:
        override = self.server.owner.override.get(kind)
        if isinstance(override, tuple) and override[0] == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(600):  # bounded: at most 600 bytes
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(override[1])
            except OSError:  # the client gave up
                pass
            return
        self._send(*(override(*real) if override else real))

    def do_GET(self):  # noqa: N802
        if urllib.parse.urlsplit(self.path).path.startswith("/v1/projects/"):
            self._send(*self.server.owner.resource(self.headers))
        else:
            self._send(404, _google(404, "NOT_FOUND", "not found"))


class Signer:
    """An RS256 key of a third-party OIDC issuer, for tests that bring their own token."""

    def __init__(self, issuer: str = "https://issuer.gcp-standin.invalid", kid: str = "k1"):
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.issuer, self.kid = issuer, kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        numbers = self._key.public_key().public_numbers()

        def b64(number: int) -> str:
            raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": b64(numbers.n),
                          "e": b64(numbers.e)}]}

    def mint(self, sub: str, aud: str, lifetime: int = 600, now: "float | None" = None, **claims) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        issued = int(time.time() if now is None else now)
        payload = {"iss": self.issuer, "sub": sub, "aud": aud, "iat": issued, "exp": issued + lifetime, **claims}

        def part(obj) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        signing_input = f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': self.kid})}.{part(payload)}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
