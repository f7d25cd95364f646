"""Any local user can connect to a loopback port. The endpoint closes a connection from another uid
at once (not even a slot of the MAX_CONNECTIONS), so another user can neither try tokens nor hold
every slot without one and starve the SDKs the endpoint is for; the owner is served meanwhile."""
import http.client
import io
import json
import os
import socket
import time

import pytest

from credproc.creds.endpoint import (CREDENTIALS_PATH, MAX_CONNECTIONS, UNKNOWN_OWNER, CredentialsEndpoint,
                                     peer_uid)

PROCESS_ANSWER = (b'{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret-part-1234", '
                  b'"SessionToken": "session-part-5678", "Expiration": "2030-01-01T00:00:00Z"}\n')
NOBODY = 65534

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux's /proc/net/tcp")]


def owner_get(endpoint) -> int:
    host, port = endpoint.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", CREDENTIALS_PATH, headers={"Authorization": endpoint.token})
    status = conn.getresponse().status
    conn.close()
    return status


def own_address() -> "str | None":
    """An address of this machine that is not loopback (a route's source address), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def connect(address, family):
    if family == socket.AF_INET6:  # an IPv6 socket reaching the IPv4 listener: ::ffff:127.0.0.1
        s = socket.socket(socket.AF_INET6)
        s.settimeout(5)
        s.connect((f"::ffff:{address[0]}", address[1]))
        return s
    if family == "own-address":  # from the machine's own non-loopback address to 127.0.0.1, over lo
        s = socket.socket()
        s.settimeout(5)
        s.bind((own_address(), 0))
        s.connect(address)
        return s
    return socket.create_connection(address, timeout=5)


def as_another_user(connections: int, address, hold_seconds: float, family=socket.AF_INET) -> "tuple[int, int]":
    """In a forked child running as `nobody`: open ``connections`` idle connections that send half a
    request, hold them, then try one full request with the right token's shape. Returns (how many
    connections were closed by the endpoint at once, the status of the full request or 0 if refused)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            socks = []
            for _ in range(connections):
                s = connect(address, family)
                s.sendall(b"GET /credproc/v1/credentials HTTP/1.1\r\n")
                socks.append(s)
            closed = 0
            for s in socks:
                s.settimeout(2)
                try:
                    closed += s.recv(1) == b""
                except OSError:
                    closed += 1
            time.sleep(hold_seconds)
            status = 0
            try:
                conn = http.client.HTTPConnection(*address, timeout=5)
                conn.sock = connect(address, family)
                conn.request("GET", CREDENTIALS_PATH, headers={"Authorization": "x" * 43})
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException):
                status = 0
            os.write(write_end, json.dumps([closed, status]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data = b""
        while chunk := os.read(read_end, 4096):
            data += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return tuple(json.loads(data))


@pytest.mark.skipif(os.getuid() != 0, reason="becoming another user needs root")
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6, "own-address"],
                         ids=["ipv4", "ipv6-mapped", "from-a-non-loopback-address"])
def test_another_users_connections_are_closed_and_the_owner_is_served(family):
    if family == "own-address" and own_address() is None:
        pytest.skip("this machine has no address but loopback")
    log = io.StringIO()
    with CredentialsEndpoint(lambda: PROCESS_ANSWER, log_stream=log) as endpoint:
        address = endpoint.httpd.server_address[:2]
        closed, status = as_another_user(MAX_CONNECTIONS + 20, address, hold_seconds=0.2, family=family)
        assert closed == MAX_CONNECTIONS + 20 and status == 0
        assert owner_get(endpoint) == 200
    assert f"refused a connection from uid {NOBODY}" in log.getvalue()
    assert endpoint.token not in log.getvalue()


def test_the_owner_of_a_loopback_connection_is_found():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with server, socket.create_connection(server.getsockname()) as client:
        conn, address = server.accept()
        with conn:
            assert peer_uid(address, server.getsockname()) == os.getuid()
    assert peer_uid(("10.0.0.5", 4000), ("0.0.0.0", 80)) is None  # a remote client: not a local user's


def test_an_ipv6_socket_reaching_an_ipv4_listener_is_found_in_tcp6():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with server, connect(server.getsockname(), socket.AF_INET6):
        conn, address = server.accept()
        with conn:
            assert peer_uid(address, server.getsockname()) == os.getuid()


def test_a_loopback_client_linux_does_not_list_is_refused():
    # no socket has these ends: the endpoint fails closed rather than serving an unknown owner
    log = io.StringIO()
    with CredentialsEndpoint(lambda: PROCESS_ANSWER, log_stream=log) as endpoint:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with listener, socket.create_connection(listener.getsockname()):
            request, _ = listener.accept()
            assert peer_uid(("127.0.0.1", 1), request.getsockname()) == UNKNOWN_OWNER
            endpoint.httpd.process_request(request, ("127.0.0.1", 1))
            assert request.fileno() == -1  # closed, no thread started
    assert "refused a connection from a client whose owner is not listed" in log.getvalue()


def test_a_client_that_already_closed_is_not_taken_for_root():
    # Linux lists a closed client's socket (FIN_WAIT) with uid 0 and no inode
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with server:
        client = socket.create_connection(server.getsockname())
        client.close()
        conn, address = server.accept()
        with conn:
            assert peer_uid(address, conn.getsockname()) == UNKNOWN_OWNER


@pytest.mark.parametrize("where", ["sock_diag", "proc"])
def test_the_kernels_lookup_and_the_tables_agree(monkeypatch, where):
    from credproc.creds import endpoint

    if where == "proc":
        monkeypatch.setattr(endpoint, "_ask_sock_diag", lambda *a: (_ for _ in ()).throw(OSError("no netlink")))
    listeners = [("127.0.0.1", socket.AF_INET, "127.0.0.1"), ("127.0.0.1", socket.AF_INET6, "::ffff:127.0.0.1"),
                 ("::1", socket.AF_INET6, "::1"), ("::", socket.AF_INET, "127.0.0.1")]
    for host, family, target in listeners:
        server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        server.bind((host, 0))
        server.listen()
        with server, socket.socket(family) as client:
            client.connect((target, server.getsockname()[1]))
            conn, address = server.accept()
            with conn:
                assert peer_uid(address, conn.getsockname()) == os.getuid(), (host, target)
    assert peer_uid(("127.0.0.1", 1), ("127.0.0.1", 80)) == UNKNOWN_OWNER
    assert peer_uid(("10.0.0.5", 4000), ("10.0.0.1", 80)) is None  # remote: not a socket of this machine


def test_refusals_are_logged_once_per_interval_with_a_count(monkeypatch):
    from credproc.creds import endpoint

    clock = [1000.0]
    monkeypatch.setattr(endpoint.time, "monotonic", lambda: clock[0])
    log = io.StringIO()
    with CredentialsEndpoint(lambda: PROCESS_ANSWER, log_stream=log) as served:
        for _ in range(500):  # another user connecting in a loop
            served.httpd._log_refusal(f"uid {NOBODY}")
        clock[0] += endpoint.REFUSAL_LOG_INTERVAL
        served.httpd._log_refusal(f"uid {NOBODY}")
        served.httpd._log_refusal(f"uid {NOBODY}")
    lines = [line for line in log.getvalue().splitlines() if "refused" in line]
    assert lines == [
        f"credproc: refused a connection from uid {NOBODY} (only uid {os.getuid()} may ask)",
        f"credproc: refused a connection from uid {NOBODY} (only uid {os.getuid()} may ask; "
        f"499 more refused since the last such line)",
        "credproc: refused 1 more connections from other users since the last such line",
    ]


def test_on_a_wildcard_listener_a_local_address_without_a_socket_is_refused():
    # a socket bound to a device is not found by the exact lookup: one of our own addresses that
    # the kernel does not list is a local client of unknown owner, not a remote one
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    assert peer_uid((address, 1), (address, 80)) == UNKNOWN_OWNER
    assert peer_uid(("203.0.113.9", 4000), (address, 80)) is None  # remote: only the token guards
