"""A stand-in for the Pulumi service's ESC API on 127.0.0.1 (tests/pulumi).

It implements the three requests credproc makes, as Pulumi's published API and the official
`pulumi-esc-sdk` (0.14) describe them (paths under /api/esc, `Authorization: token TOKEN`):

    GET  /api/esc/environments/{org}/{project}/{env}                 the YAML definition
                                                                     (Content-Type application/x-yaml)
    POST /api/esc/environments/{org}/{project}/{env}/open[?duration=D]   -> OpenEnvironment {"id"}
    GET  /api/esc/environments/{org}/{project}/{env}/open/{openSessionID} -> Environment {"properties"}

`properties` is ESC's esc.Value tree: every node {"value", "secret"?, "trace": {"def": Range}};
object members and array items are esc.Values too; secrets are revealed (the open session is the
place values are read) and flagged `"secret": true`. Errors are the API's Error {"message", "code"}
(401 without a valid token, 404 for an unknown environment or session). Every request is recorded
(`requests`, `count`), with whether its Authorization header was right, never the header itself.

For the hostile cases: ``retry_after`` adds that header to every failure answer; ``flag_secrets``
False leaves out every `secret` flag; ``custom[kind] = function(handler)`` answers a request of that
kind (after the token check) as the function writes it (see hang and trickle, which end when the
service stops).
"""
import json
import threading
import uuid
from urllib.parse import parse_qs, urlsplit

from http.server import BaseHTTPRequestHandler

from .httpserver import LoopbackServer, answer

PREFIX = "/api/esc/environments/"


def _position(line: int, column: int) -> dict:
    return {"line": line, "column": column, "byte": 0}


def esc_value(obj, environment: str, secrets=(), path=(), line=None) -> dict:
    """The wire esc.Value of a plain Python value; ``secrets``: dotted paths whose values are secret."""
    where = {"def": {"environment": environment, "begin": _position(line or 2 + len(path), 3),
                     "end": _position(line or 2 + len(path), 20)}}
    if isinstance(obj, dict):
        inner = {k: esc_value(v, environment, secrets, path + (k,)) for k, v in obj.items()}
    elif isinstance(obj, list):
        inner = [esc_value(v, environment, secrets, path + (str(i),)) for i, v in enumerate(obj)]
    else:
        inner = obj
    node = {"value": inner}
    if ".".join(path) in secrets:
        node["secret"] = True
    node["trace"] = where
    return node


class Environment:
    def __init__(self, definition: str, values: dict, secrets=()):
        self.definition = definition
        self.values = values
        self.secrets = tuple(secrets)


class PulumiService:
    """``with PulumiService(token) as service:`` -- service.url is the backend URL (PULUMI_BACKEND_URL)."""

    def __init__(self, token: str = "pul-0123456789abcdef0123456789abcdef01234567"):
        self.tokens = {token}
        self.environments = {}          # "org/project/env" -> Environment
        self.sessions = {}              # id -> "org/project/env"
        self.requests = []              # dicts: method, kind, environment, query, authorized
        self.fail = {}                  # kind ("definition", "open", "read") -> HTTP status to answer
        self.fail_times = {}            # kind -> how many more requests of it fail (absent: all of them)
        self.diagnostics = []           # EnvironmentDiagnostics items answered with a 400 to open
        self.retry_after = None         # a Retry-After header for every failure answer
        self.flag_secrets = True        # False: no `secret` flag in any answer
        self.custom = {}                # kind -> function(handler) writing the whole answer
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.server = LoopbackServer(_Handler)
        self.server.httpd.service = self
        self.url = self.server.url

    def add(self, name: str, definition: str, values: dict, secrets=()) -> None:
        self.environments[name] = Environment(definition, values, secrets)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r["kind"] == kind)

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.stopping.set()  # hang and trickle end
        self.server.__exit__(*exc)


def _error(handler, status: int, message: str) -> None:
    body = json.dumps({"message": message, "code": status}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    if handler.server.service.retry_after is not None:
        handler.send_header("Retry-After", str(handler.server.service.retry_after))
    handler.end_headers()
    handler.wfile.write(body)


def hang(handler) -> None:
    """Answer nothing until the service stops."""
    handler.server.service.stopping.wait(120)


def trickle(handler) -> None:
    """Headers for a 1 MB JSON answer, then one byte every 0.1 s until the service stops."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    handler.wfile.write(b'{"id": "')
    while not handler.server.service.stopping.wait(0.1):
        try:
            handler.wfile.write(b"a")
            handler.wfile.flush()
        except OSError:
            return


def trickle_headers(handler) -> None:
    """A status line, then a header one byte every 0.1 s until the service stops (no per-read
    timeout ever fires)."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not handler.server.service.stopping.wait(0.1):
        try:
            handler.wfile.write(b"a")
            handler.wfile.flush()
        except OSError:
            return


def raw_answer(body: bytes, encoding: "str | None" = None, status: int = 200):
    """A custom answer: ``body`` as is, with a Content-Encoding header when given."""
    def write(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except OSError:  # the client stopped reading: what the test wants
            pass
    return write


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    @property
    def service(self) -> PulumiService:
        return self.server.service

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method: str):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urlsplit(self.path)
        kind, name, session = _parse(method, url.path)
        authorization = self.headers.get("Authorization") or ""
        authorized = authorization.startswith("token ") and authorization[len("token "):] in self.service.tokens
        with self.service.lock:
            self.service.requests.append({"method": method, "kind": kind, "environment": name,
                                          "query": parse_qs(url.query), "authorized": authorized,
                                          "accept": self.headers.get("Accept")})
        if kind is None:
            return _error(self, 404, f"no route for {method} {url.path}")
        if not authorized:
            return _error(self, 401, "Unauthorized: No credentials provided or are invalid.")
        if kind in self.service.fail and self.service.fail_times.get(kind, 1) > 0:
            status = self.service.fail[kind]
            if kind in self.service.fail_times:
                self.service.fail_times[kind] -= 1
            if status == 400 and kind == "open":  # the environment has errors: ESC's EnvironmentDiagnostics
                body = json.dumps({"diagnostics": self.service.diagnostics}).encode()
                return answer(self, 400, "application/json", body)
            return _error(self, status, f"stand-in failure {status}")
        if kind in self.service.custom:
            return self.service.custom[kind](self)
        environment = self.service.environments.get(name)
        if environment is None:
            return _error(self, 404, f"Environment '{name}' not found")
        if kind == "definition":
            return answer(self, 200, "application/x-yaml", environment.definition.encode())
        if kind == "open":
            session_id = str(uuid.uuid4())
            with self.service.lock:
                self.service.sessions[session_id] = name
            return answer(self, 200, "application/json", json.dumps({"id": session_id}).encode())
        if self.service.sessions.get(session) != name:
            return _error(self, 404, f"open session '{session}' not found")
        short = name.split("/", 1)[1]
        secrets = environment.secrets if self.service.flag_secrets else ()
        properties = {k: esc_value(v, short, secrets, (k,)) for k, v in environment.values.items()}
        body = {"properties": properties, "executionContext": {"context": {"pulumi": {"user": {"login": "tester"}}}}}
        return answer(self, 200, "application/json", json.dumps(body).encode())


def _parse(method: str, path: str):
    """(kind, "org/project/env", session id) of a request credproc may make; kind None otherwise."""
    if not path.startswith(PREFIX):
        return None, None, None
    parts = path[len(PREFIX):].split("/")
    if len(parts) == 3 and method == "GET":
        return "definition", "/".join(parts), None
    if len(parts) == 4 and parts[3] == "open" and method == "POST":
        return "open", "/".join(parts[:3]), None
    if len(parts) == 5 and parts[3] == "open" and method == "GET":
        return "read", "/".join(parts[:3]), parts[4]
    return None, None, None
