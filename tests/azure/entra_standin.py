"""A stand-in for Entra ID's token service on 127.0.0.1, over https with a self-signed certificate.

No emulator of Entra ID exists in the registries we can reach, so this speaks the documented
protocol (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow and
workload-identity-federation) as far as azure-identity/MSAL and credproc use it:

    GET  /{tenant}/v2.0/.well-known/openid-configuration    tenant discovery (MSAL)
    GET  /common/discovery/instance                         instance discovery (MSAL, when not disabled)
    POST /{tenant}/oauth2/v2.0/token                        client credentials with a client_assertion

The token endpoint checks what Entra checks for a federated credential: the tenant and the app
exist, the grant and assertion type, the assertion's signature (against the issuer's JWKS, when
one is configured), its time range (exp, nbf, with Entra's 5-minute skew), and that some federated
identity credential of the app lists exactly its iss, sub and one of its aud. Refusals are Entra's
JSON errors (`error`, `error_description` "AADSTSnnnn: ...", `error_codes`, trace ids). Every
request is recorded (`requests`) for the tests to assert on. Time comes from `clock()` (the fake
clock file of tests/support/clock.py when given).
"""
import datetime
import ipaddress
import json
import ssl
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from support.httpserver import LoopbackServer, answer

SKEW_SECONDS = 300  # Entra accepts assertions up to 5 minutes past exp
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def make_certificate(directory: Path) -> "tuple[Path, Path]":
    """A self-signed certificate for 127.0.0.1/localhost (also the CA to trust) -> (cert, key) PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra stand-in")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "entra-cert.pem", directory / "entra-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class FederatedCredential:
    issuer: str
    subject: str
    audiences: list = field(default_factory=lambda: ["api://AzureADTokenExchange"])


@dataclass
class Request:
    method: str
    path: str
    form: dict  # one value per field (the token endpoint's form)


def _real_time() -> float:
    import time

    return time.time()


class EntraStandIn:
    def __init__(self, cert: Path, key: Path, *, clock=_real_time, jwks: "dict | None" = None, lifetime: int = 3600):
        self.tenants = {}  # tenant -> {client_id: [FederatedCredential]}
        self.clock = clock
        self.jwks = jwks
        self.lifetime = lifetime
        self.requests = []
        self.issued = []  # access tokens handed out
        self.fail_next = []  # HTTP statuses to answer the next token requests with (outage)
        self.answer_next = []  # documents to answer the next token requests with (HTTP 200): bad answers
        self.stalled = threading.Event()  # set: token requests wait (at most a minute) until it is cleared
        self._lock = threading.Lock()
        self.server = LoopbackServer(_Handler)
        self.server.owner = self
        self.server.httpd.owner = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.httpd.socket = context.wrap_socket(self.server.httpd.socket, server_side=True)
        self.port = self.server.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"

    def add_app(self, tenant: str, client_id: str, *credentials: FederatedCredential) -> None:
        self.tenants.setdefault(tenant, {})[client_id] = list(credentials)

    def token_requests(self) -> list:
        return [r for r in self.requests if r.method == "POST"]

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    # --- the protocol ----------------------------------------------------------------------------

    def discovery(self, tenant: str) -> "tuple[int, dict]":
        if tenant not in self.tenants:
            return 400, _error("invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                                                        "the correct tenant ID and are signing into the correct cloud.")
        base = f"{self.url}/{tenant}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{self.url}/{tenant}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }

    def instance_discovery(self, query: dict) -> "tuple[int, dict]":
        endpoint = (query.get("authorization_endpoint") or [""])[0]
        tenant = urllib.parse.urlsplit(endpoint).path.strip("/").split("/")[0] or "common"
        return 200, {"tenant_discovery_endpoint": f"{self.url}/{tenant}/v2.0/.well-known/openid-configuration",
                     "api-version": "1.1", "metadata": []}

    def token(self, tenant: str, form: dict) -> "tuple[int, dict]":
        import time

        waited = 0
        while self.stalled.is_set() and waited < 600:  # an Entra that does not answer (released by the test)
            time.sleep(0.1)
            waited += 1
        with self._lock:
            if self.answer_next:
                return 200, self.answer_next.pop(0)
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "temporarily_unavailable",
                                               "error_description": "AADSTS90033: A transient error has occurred."}
        if tenant not in self.tenants:
            return 400, _error("invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                                                         "the correct tenant ID and are signing into the correct cloud.")
        if form.get("grant_type") != "client_credentials":
            return 400, _error("unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = form.get("client_id", "")
        apps = self.tenants[tenant]
        if client_id not in apps:
            return 400, _error("unauthorized_client", 700016,
                               f"Application with identifier '{client_id}' was not found in the directory "
                               f"'{tenant}'. This can happen if the application has not been installed by the "
                               "administrator of the tenant.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return 400, _error("invalid_scope", 1002012,
                               f"The provided value for scope {scope} is not valid. Client credential flows must "
                               "have a scope value with /.default suffixed to the resource identifier.")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return 401, _error("invalid_client", 7000218, "The request body must contain the following parameter: "
                                                          "'client_assertion' or 'client_secret'.")
        return self._federated(tenant, client_id, form["client_assertion"])

    def _federated(self, tenant: str, client_id: str, assertion: str) -> "tuple[int, dict]":
        from credproc.errors import TokenError
        from credproc.identity import jwt

        try:
            payload = jwt.verify_rs256(assertion, self.jwks) if self.jwks else jwt.decode_unverified(assertion)[1]
        except TokenError:
            return 401, _error("invalid_client", 700027, "Client assertion failed signature validation.")
        now = self.clock()
        exp, nbf = payload.get("exp", 0), payload.get("nbf", payload.get("iat", 0))
        if exp + SKEW_SECONDS < now or nbf - SKEW_SECONDS > now:
            return 400, _error("invalid_client", 700024,
                               f"Client assertion is not within its valid time range. Current time: {_iso(now)}, "
                               f"assertion valid from {_iso(nbf)}, expiry time of assertion {_iso(exp)}.")
        audiences = payload.get("aud") if isinstance(payload.get("aud"), list) else [payload.get("aud")]
        for credential in self.tenants[tenant][client_id]:
            if credential.issuer == payload.get("iss") and credential.subject == payload.get("sub") and \
                    any(a in credential.audiences for a in audiences):
                return 200, self._issue(tenant, client_id)
        return 400, _error("invalid_client", 70021,
                           "No matching federated identity record found for presented assertion. Assertion "
                           f"Issuer: '{payload.get('iss')}'. Assertion Subject: '{payload.get('sub')}'. "
                           f"Assertion Audience: '{','.join(str(a) for a in audiences)}'.")

    def _issue(self, tenant: str, client_id: str) -> dict:
        token = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{uuid.uuid4().hex}{uuid.uuid4().hex}.standin"
        with self._lock:
            self.issued.append({"token": token, "tenant": tenant, "client_id": client_id, "at": self.clock()})
        return {"token_type": "Bearer", "expires_in": self.lifetime, "ext_expires_in": self.lifetime,
                "access_token": token}


def _iso(seconds) -> str:
    return datetime.datetime.fromtimestamp(float(seconds), datetime.timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


def _error(error: str, code: int, text: str) -> dict:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
                             "Timestamp: 2026-01-01 00:00:00Z",
        "error_codes": [code], "timestamp": "2026-01-01 00:00:00Z", "trace_id": trace,
        "correlation_id": correlation, "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, document: dict) -> None:
        answer(self, status, "application/json; charset=utf-8", json.dumps(document).encode())

    def do_GET(self):
        owner = self.server.owner
        parts = urllib.parse.urlsplit(self.path)
        owner.requests.append(Request("GET", parts.path, {}))
        segments = parts.path.strip("/").split("/")
        if parts.path == "/common/discovery/instance":
            return self._send(*owner.instance_discovery(urllib.parse.parse_qs(parts.query)))
        if len(segments) == 4 and segments[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._send(*owner.discovery(segments[0]))
        return self._send(404, {"error": "not_found"})

    def do_POST(self):
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        owner.requests.append(Request("POST", self.path, form))
        segments = self.path.strip("/").split("/")
        if len(segments) == 4 and segments[1:] == ["oauth2", "v2.0", "token"]:
            return self._send(*owner.token(segments[0], form))
        return self._send(404, {"error": "not_found"})
