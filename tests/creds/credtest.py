"""Helpers for the end-to-end credential tests: JWT-shaped tokens, environments on disk, AWS profiles,
moto's recorder, and a stdlib counting/fault-injecting proxy in front of moto.

Imported by tests in this directory (pytest puts the directory on sys.path).
"""
import base64
import http.client
import http.server
import json
import os
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from support.httpserver import serving_thread  # tests/ is on sys.path (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]
CREDPROC = str(REPO / ".venv" / "bin" / "credproc")
PYTHON = str(REPO / ".venv" / "bin" / "python")
AWS = str(REPO / ".venv" / "bin" / "aws")
ROLE_ARN = "arn:aws:iam::123456789012:role/esc-dev"
SESSION = "credproc-test"
ASSUMED_ARN = "arn:aws:sts::123456789012:assumed-role/esc-dev/credproc-test"


# --- tokens and environments ---------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_token(lifetime: int = 3600, **claims) -> str:
    """A JWT-shaped token (RS256 header, dummy signature): moto does not verify tokens."""
    now = int(time.time())
    payload = {"iss": "https://issuer.credproc.test", "aud": "sts.amazonaws.com", "sub": "org:acme:env:dev",
               "iat": now, "exp": now + lifetime, "jti": f"t{now}{os.getpid()}"}
    payload.update(claims)
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    return ".".join([_b64url(json.dumps(header).encode()), _b64url(json.dumps(payload).encode()),
                     _b64url(b"not-a-real-signature")])


def login_yaml(token_yaml: str, role_arn: str = ROLE_ARN, comment: str = "", extra: str = "") -> str:
    return (
        f"# {comment}\n"
        "values:\n"
        "  aws:\n"
        "    login:\n"
        "      fn::open::aws-login:\n"
        "        oidc:\n"
        f"          roleArn: {role_arn}\n"
        f"          sessionName: {SESSION}\n"
        f"          token: {token_yaml}\n"
        "  environmentVariables:\n"
        "    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
        "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n"
        "    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n"
        + extra
    )


def write_environment(env_dir, ref: str, text: str) -> Path:
    path = Path(env_dir).joinpath(*ref.split("/")).with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for parent in (path.parent, Path(env_dir)):
        os.chmod(parent, 0o700)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def write_token_file(directory, token: str) -> Path:
    path = Path(directory) / "token.jwt"
    path.write_text(token)
    os.chmod(path, 0o600)
    return path


def write_profile(config_file, profile: str, ref: str, region: str = "us-east-1") -> None:
    """A profile whose only credential source is `credproc process REF` (absolute entry point)."""
    path = Path(config_file)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as f:
        f.write(f"[profile {profile}]\nregion = {region}\noutput = json\n"
                f"credential_process = {CREDPROC} process {ref}\n\n")


# --- moto's recorder -----------------------------------------------------------------------------

class Recorder:
    """moto's request recorder (docs/background.md §3): every request, with headers and form body."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")

    def _post(self, what: str) -> None:
        req = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{what}", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def start(self) -> "Recorder":
        self._post("reset-recording")
        self._post("start-recording")
        return self

    def stop(self) -> None:
        self._post("stop-recording")

    def requests(self) -> list:
        """[(action, headers)] in arrival order."""
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/recorder/download-recording", timeout=10) as resp:
            text = resp.read().decode()
        result = []
        for line in text.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            form = urllib.parse.parse_qs(body)
            action = (form.get("Action") or [None])[0]
            result.append((action, {k.lower(): v for k, v in entry.get("headers", {}).items()}))
        return result


def signing_key_id(headers: dict) -> "str | None":
    """The access key id in a SigV4 Authorization header (None when unsigned)."""
    auth = headers.get("authorization", "")
    marker = "Credential="
    if marker not in auth:
        return None
    return auth.split(marker, 1)[1].split("/", 1)[0]


# --- counting / fault-injecting proxy ------------------------------------------------------------

class FaultProxy:
    """A reverse proxy to moto on 127.0.0.1: counts requests by form `Action=`, and replays queued
    faults to the next matching requests: ("status", code, xml), ("delay", seconds), ("drop",)."""

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.counts = {}
        self.faults = {}
        self.always = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                proxy._handle(self)

            def do_GET(self):
                proxy._handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = serving_thread(self.server)

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def count(self, action: str) -> int:
        with self.lock:
            return self.counts.get(action, 0)

    def queue(self, action: str, *faults) -> None:
        with self.lock:
            self.faults.setdefault(action, []).extend(faults)

    def fail_always(self, action: str, fault) -> None:
        with self.lock:
            self.always[action] = fault

    def _handle(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        action = (urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1
            pending = self.faults.get(action)
            fault = pending.pop(0) if pending else self.always.get(action)
        if fault is not None:
            self._fault(handler, fault, body)
            return
        self._forward(handler, body)

    def _fault(self, handler, fault, body: bytes) -> None:
        """("drop",): close the connection; ("delay", s): forward after s seconds;
        ("status", code, xml): answer with that instead of moto; ("trickle", s): a 200 whose body
        arrives one byte every s seconds (no single read ever times out) until the client leaves."""
        kind = fault[0]
        if kind == "drop":
            handler.close_connection = True
            handler.connection.close()
        elif kind == "delay":
            time.sleep(fault[1])
            self._forward(handler, body)
        elif kind == "trickle":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/xml")
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            try:
                for _ in range(600):  # bounded: at most 600 bytes
                    handler.wfile.write(b" ")
                    handler.wfile.flush()
                    time.sleep(fault[1])
            except OSError:  # the client gave up: the point of the test
                pass
        elif kind == "status":
            data = fault[2].encode()
            handler.send_response(fault[1])
            handler.send_header("Content-Type", "text/xml")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def _forward(self, handler, body: bytes, transform=None) -> None:
        """Pass the request to moto and its answer back; ``transform(data)`` may rewrite a 200 body."""
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if transform is not None and resp.status == 200:
            data = transform(data)
        handler.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        conn.close()


def sts_error_xml(code: str, message: str) -> str:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
    )


def python_bytecode_env(env: dict) -> dict:
    """Users run with bytecode caches; this machine sets PYTHONDONTWRITEBYTECODE (docs/background.md §4)."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env



def age_sts_cache(seconds_left: int) -> str:
    """Make the provider's one STS cache entry expire in ``seconds_left``; forget the process index."""
    from credproc import cache

    (key, entry), = cache.list_entries("creds")
    entry = dict(entry, expiration=cache.format_expiration(time.time() + seconds_left))
    entry.pop("backoff_until", None)
    cache.write_entry("creds", key, entry)
    cache.clear_kind("env")
    return entry["expiration"]
