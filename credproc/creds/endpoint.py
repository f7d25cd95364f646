"""A credentials endpoint in the ECS container-credentials protocol, for `credproc serve` and
`credproc run --server`.

An AWS SDK whose environment has AWS_CONTAINER_CREDENTIALS_FULL_URI (this endpoint's URL) and
AWS_CONTAINER_AUTHORIZATION_TOKEN (its token) asks it for credentials with a GET carrying the token
as the `Authorization` header, and asks again before the credentials expire (botocore's
ContainerProvider, the JavaScript SDK v3's fromContainerMetadata / fromHttp, the AWS CLI). The answer:

    200  {"AccessKeyId", "SecretAccessKey", "Token", "Expiration" (ISO 8601 UTC), "AccountId"?}
    401  no Authorization header            403  a wrong token
    404  any other path                     413/431  a body, or more request head than MAX_REQUEST_BYTES
    500  credproc could not get credentials (login required, STS refused, ...)
    503  the same for a transient cause (network, throttling, lock held): try again
    errors carry {"Code", "Message"} (what the JavaScript SDK reads; botocore shows the body)

Each answer comes from ``answer_source`` (the command layer passes the `credproc process` path:
index hit, else a refresh under the refresh lock), so the cache's identity bindings and
definition-file checks apply to every request. Refused requests are logged to stderr without
the token. Stdlib only.
"""
import errno
import hmac
import ipaddress
import json
import os
import secrets
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from credproc.errors import CredprocError, ExitCode, printable

CREDENTIALS_PATH = "/credproc/v1/credentials"
FULL_URI_VARIABLE = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_VARIABLE = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
TOKEN_BYTES = 32                 # 256 random bits, URL-safe base64 (no character an SDK refuses)
MAX_REQUEST_BYTES = 16 * 1024    # request line and headers together; an SDK sends well under 1 KiB
MAX_CONNECTIONS = 128            # served at once; more are closed at once (one thread each)
READ_TIMEOUT_SECONDS = 10        # a client that sends its request slower than this is dropped
STATIC_REFRESH_SECONDS = 3600    # keys without an expiry: the SDKs require one; they ask again then
TRANSIENT_CODES = (ExitCode.TRANSIENT, ExitCode.LOCK_TIMEOUT)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def container_answer(process_answer: bytes, now: "float | None" = None) -> bytes:
    """The container-credentials JSON for a credential_process answer (``SessionToken`` becomes
    ``Token``; static keys get an empty Token and an Expiration an hour ahead: both are required)."""
    doc = json.loads(process_answer.decode("utf-8"))
    expiration = doc.get("Expiration") or _iso_utc((time.time() if now is None else now) + STATIC_REFRESH_SECONDS)
    answer = {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"],
              "Token": doc.get("SessionToken") or "", "Expiration": expiration}
    if doc.get("AccountId"):
        answer["AccountId"] = doc["AccountId"]
    return json.dumps(answer).encode("utf-8")


def _iso_utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class RequestTooLarge(Exception):
    pass


class RequestTimeout(Exception):
    pass


class _HeadReader:
    """The connection's input for one request head: at most ``limit`` bytes (RequestTooLarge; http.server
    alone accepts 100 header lines of 64 KiB each) within READ_TIMEOUT_SECONDS in all (RequestTimeout):
    a socket timeout alone counts only the silence between bytes, so a client trickling one byte a
    second would hold its connection slot for ever."""

    def __init__(self, sock, limit: int):
        self._sock = sock
        self._limit = limit
        self._buffer = bytearray()
        self.start()

    def start(self) -> None:
        """A new request: a fresh budget of bytes and seconds."""
        self._left = self._limit
        self._deadline = time.monotonic() + READ_TIMEOUT_SECONDS

    def readline(self, size=-1):
        limit = self._left + 1 if size is None or size < 0 or size > self._left else size
        while b"\n" not in self._buffer and len(self._buffer) < limit and self._receive():
            pass
        end = self._buffer.find(b"\n")
        taken = end + 1 if 0 <= end < limit else min(len(self._buffer), limit)
        line = bytes(self._buffer[:taken])
        del self._buffer[:taken]
        self._left -= len(line)
        if self._left < 0:
            raise RequestTooLarge()
        return line

    def _receive(self) -> bool:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout()
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(4096)
        except socket.timeout:
            raise RequestTimeout() from None
        self._buffer += chunk
        return bool(chunk)

    def read(self, size=-1):
        raise RequestTooLarge()  # a GET has no body; nothing here reads one

    def close(self):
        pass  # the socket is closed by the server


class _Handler(BaseHTTPRequestHandler):
    server_version = "credproc"
    sys_version = ""
    timeout = READ_TIMEOUT_SECONDS

    def setup(self):
        super().setup()
        self.rfile = _HeadReader(self.connection, MAX_REQUEST_BYTES)

    def handle_one_request(self):
        self.rfile.start()
        self.request_version, self.path = "HTTP/1.0", ""  # a refusal before parsing still gets a status line
        try:
            super().handle_one_request()
        except RequestTooLarge:
            self.close_connection = True
            self._refuse(431, "RequestTooLarge", "the request head is too large")
        except RequestTimeout:
            self.close_connection = True
            self.server.owner.log(f"dropped a connection from {self.client_address[0]}: no complete request "
                                  f"within {READ_TIMEOUT_SECONDS} s")

    def do_GET(self):
        self.server.owner.handle(self)

    def do_HEAD(self):
        self._error(405, "MethodNotAllowed", "use GET")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (malformed request, too many headers, unknown method) as JSON."""
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        self._refuse(code, phrase.replace(" ", ""), printable(message or phrase))

    def log_message(self, format, *args):  # noqa: A002 (http.server's name)
        self.server.owner.log(printable(format % args))

    def _refuse(self, status: int, code: str, message: str) -> None:
        self.server.owner.log(f"refused a request from {self.client_address[0]} for "
                              f"{_shown_path(getattr(self, 'path', ''))}: {message}")
        self._error(status, code, message)

    def _error(self, status: int, code: str, message: str) -> None:
        self.send_json(status, json.dumps({"Code": code, "Message": message}).encode("utf-8"))

    def send_json(self, status: int, body: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _shown_path(path: str) -> str:
    return repr(printable(path if len(path) <= 80 else path[:77] + "..."))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, address, owner):
        self.owner = owner
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._refused, self._refusal_logged = 0, None
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        try:
            local = request.getsockname()  # the address the client reached (a wildcard listener has many)
        except OSError:
            local = self.server_address
        uid = peer_uid(client_address, local)
        if uid is not None and uid not in (os.getuid(), 0):  # another local user: not even a slot
            self._log_refusal("a client whose owner is not listed" if uid == UNKNOWN_OWNER else f"uid {uid}")
            self.shutdown_request(request)
            return
        if not self._slots.acquire(blocking=False):  # a flood of connections: no thread for them
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _log_refusal(self, who: str) -> None:
        """One line per REFUSAL_LOG_INTERVAL at most (the accept thread is the only caller): another
        user connecting in a loop would otherwise fill the log, or the terminal of `run --server`."""
        now = time.monotonic()
        self._refused += 1
        if self._refusal_logged is None or now - self._refusal_logged >= REFUSAL_LOG_INTERVAL:
            more = f"; {self._refused - 1} more refused since the last such line" if self._refused > 1 else ""
            self.owner.log(f"refused a connection from {who} (only uid {os.getuid()} may ask{more})")
            self._refused, self._refusal_logged = 0, now

    def report_refusals(self) -> None:
        if self._refused:
            self.owner.log(f"refused {self._refused} more connections from other users since the last such line")
            self._refused = 0

    def handle_error(self, request, client_address):
        """A client that went away mid-answer (BrokenPipe, reset): one line, never a traceback."""
        error = sys.exc_info()[1]
        self.owner.log(f"connection from {client_address[0]} ended early ({type(error).__name__})")

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


REFUSAL_LOG_INTERVAL = 10.0  # seconds between two "refused a connection" lines

#: peer_uid's answer for a client whose socket Linux lists without an owner (closed, orphaned) or,
#: on a loopback listener, does not list at all: refused, never served.
UNKNOWN_OWNER = -1


def peer_uid(client_address, local_address) -> "int | None":
    """The uid owning the client end of a TCP connection to us (``local_address``: our end, as
    getsockname gives it) when that end is a socket of this
    machine (Linux: asked of the kernel by the connection's four addresses through sock_diag,
    else read from /proc/net/tcp and tcp6); UNKNOWN_OWNER when Linux lists it without an owner, or
    a loopback listener's client is not listed at all; None off Linux or for a remote client.

    Every local user can connect to a loopback port, from any of the machine's addresses (a client
    socket bound to 192.0.2.2 reaches 127.0.0.1) and from an IPv6 socket (``::ffff:127.0.0.1``):
    without this, another user could hold all MAX_CONNECTIONS slots without a token and starve the
    SDKs the endpoint is for. The kernel's lookup costs the same however many sockets exist."""
    try:
        client = ipaddress.ip_address(client_address[0].split("%")[0])
        server = ipaddress.ip_address(local_address[0].split("%")[0])
    except ValueError:
        return None
    if not sys.platform.startswith("linux"):
        return None
    scope = client_address[3] if len(client_address) > 3 else 0  # a link-local peer's interface
    owner = _socket_owner(client, client_address[1], server, local_address[1], scope)
    if owner is None and (_unmapped(server).is_loopback or _is_ours(client_address)):
        return UNKNOWN_OWNER  # e.g. a socket bound to a device, which the exact lookup does not find
    return owner


def _is_ours(client_address) -> bool:
    """Whether the client's address is one of this machine's (a wildcard listener's local client)."""
    family = socket.AF_INET6 if ":" in client_address[0] else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((client_address[0], 0, *client_address[2:4]) if family == socket.AF_INET6
                       else (client_address[0], 0))
        return True
    except OSError:
        return False


def _unmapped(address):
    """``::ffff:127.0.0.1`` as 127.0.0.1 (Python 3.11 does not count the mapped form as loopback)."""
    return getattr(address, "ipv4_mapped", None) or address


def _socket_owner(client, client_port, server, server_port, interface=0) -> "int | None":
    """The owner of the local socket whose ends are (client, server); None when there is none."""
    try:
        found = _ask_sock_diag(client, client_port, server, server_port, interface)
    except OSError:  # no netlink here (a container without it): the tables say the same, slower
        found = _read_proc_tables(client, client_port, server, server_port)
    if found is None:
        return None
    uid, inode = found
    return uid if inode else UNKNOWN_OWNER  # inode 0: closed or orphaned, shown as uid 0


_SOCK_DIAG_BY_FAMILY = 20
_NETLINK_SOCK_DIAG = 4
_NLMSG_ERROR = 2


def _ask_sock_diag(client, client_port, server, server_port, interface=0) -> "tuple[int, int] | None":
    """(uid, inode) of the TCP socket with these ends, by the kernel's exact lookup (what `ss`
    uses); None when there is none (ENOENT). The v4 lookup also finds an IPv6 socket's v4-mapped
    connection. OSError when netlink cannot answer."""
    family = socket.AF_INET if server.version == 4 else socket.AF_INET6

    def packed(address):
        raw = address.packed
        return raw + bytes(16 - len(raw))

    sockid = (struct.pack("!HH", client_port, server_port) + packed(client) + packed(server)
              + struct.pack("=III", interface, 0xFFFFFFFF, 0xFFFFFFFF))  # no cookie
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    message = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, 1, 1, 0) + request  # NLM_F_REQUEST
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as netlink:
        netlink.settimeout(1)
        netlink.sendto(message, (0, 0))
        answer = netlink.recv(8192)
    if len(answer) < 20:
        raise OSError("short sock_diag answer")
    kind = struct.unpack_from("=H", answer, 4)[0]
    if kind == _NLMSG_ERROR:
        error = -struct.unpack_from("=i", answer, 16)[0]
        if error == errno.ENOENT:
            return None
        raise OSError(error, os.strerror(error))
    # inet_diag_msg after the 16-byte header: 4 bytes of state, the 48-byte socket id, expires and
    # the two queue lengths (12 bytes), then idiag_uid and idiag_inode
    if len(answer) < 16 + 64 + 8 or kind != _SOCK_DIAG_BY_FAMILY:
        raise OSError("unexpected sock_diag answer")
    return struct.unpack_from("=II", answer, 16 + 64)


def _read_proc_tables(client, client_port, server, server_port) -> "tuple[int, int] | None":
    """The same from /proc/net/tcp and tcp6 (an IPv6 socket's v4-mapped connection is in tcp6)."""
    for table, spell in (("/proc/net/tcp", _v4_only), ("/proc/net/tcp6", _as_v6)):
        ends = [(spell(client), client_port), (spell(server), server_port)]
        if any(address is None for address, _ in ends):
            continue
        wanted = " ".join(_proc_address(address, port) for address, port in ends).encode()
        try:
            with open(table, "rb") as handle:
                data = handle.read(64 * 1024 * 1024)
        except OSError:
            continue
        at = data.find(b" " + wanted + b" ")
        if at >= 0:
            fields = data[at:data.find(b"\n", at)].split()
            try:
                return int(fields[6]), int(fields[8])  # the ends, st, queues, tr:tm, retrnsmt, uid, timeout, inode
            except (IndexError, ValueError):
                return None
    return None


def _v4_only(address):
    address = _unmapped(address)
    return address if address.version == 4 else None


def _as_v6(address):
    return ipaddress.IPv6Address(f"::ffff:{address}") if address.version == 4 else address


def _proc_address(address, port: int) -> str:
    """/proc/net/tcp's spelling: the address as native-endian 32-bit words in hex, a colon, the port."""
    packed = address.packed
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


class CredentialsEndpoint:
    """The endpoint on ``host``:``port`` (port 0: a free one), answering with ``answer_source()``
    (credential_process JSON bytes). ``start()`` serves from a daemon thread; ``serve_forever()``
    from the caller's; ``close()`` stops either."""

    def __init__(self, answer_source, *, host: str = "127.0.0.1", port: int = 0, token: "str | None" = None,
                 name: str = "credproc", log_stream=None):
        self.answer_source = answer_source
        self.token = token or new_token()
        self.name = name
        self.log_stream = log_stream
        self._log_lock = threading.Lock()
        self.httpd = _Server((host, port), self)
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{url_host(bound_host)}:{bound_port}{CREDENTIALS_PATH}"
        self._thread = None

    def variables(self) -> list:
        """[(name, value)] for the SDK's environment."""
        return [(FULL_URI_VARIABLE, self.url), (TOKEN_VARIABLE, self.token)]

    def start(self) -> "CredentialsEndpoint":
        self._thread = threading.Thread(target=self.serve_forever, name="credproc-endpoint", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()
        self.httpd.report_refusals()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # --- one request ----------------------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        presented = request.headers.get("Authorization")
        if presented is None:
            return request._refuse(401, "Unauthorized", "no authorization token")
        if not self._token_matches(presented):
            return request._refuse(403, "Forbidden", "wrong authorization token")
        if request.path != CREDENTIALS_PATH:
            return request._error(404, "NotFound", f"no such path; credentials are at {CREDENTIALS_PATH}")
        self._answer(request)

    def _token_matches(self, presented: str) -> bool:
        # Constant time in the token's content; header values arrive decoded as Latin-1.
        return hmac.compare_digest(presented.encode("latin-1", "replace"), self.token.encode("ascii"))

    def _answer(self, request: _Handler) -> None:
        try:
            body = container_answer(self.answer_source())
        except CredprocError as err:  # messages are secret-free by contract (credproc.errors)
            self.log(f"could not get credentials: {printable(err.message)}")
            status = 503 if err.exit_code in TRANSIENT_CODES else 500
            return request._error(status, type(err).__name__, err.message)
        except Exception as exc:  # a bug: its text could hold anything, so only the type is told
            self.log(f"internal error ({type(exc).__name__}) while getting credentials")
            return request._error(500, "InternalError", "credproc failed; see its stderr")
        request.send_json(200, body)

    def log(self, line: str) -> None:
        stream = self.log_stream or sys.stderr
        with self._log_lock:
            stream.write(f"{self.name}: {line}\n")
            stream.flush()
