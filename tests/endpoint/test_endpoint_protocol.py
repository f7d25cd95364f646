"""The endpoint itself (credproc.creds.endpoint), in process with a stand-in answer source: the answer
the SDKs' container providers expect, the status codes for every refusal, bounded requests, parallel
clients, and a log that never holds the token."""
import http.client
import io
import json
import socket
import threading
import time

import pytest

from credproc.creds.endpoint import (CREDENTIALS_PATH, MAX_REQUEST_BYTES, CredentialsEndpoint, container_answer,
                                     new_token)
from credproc.errors import LoginRequired, TransientError

PROCESS_ANSWER = (b'{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret-part-1234", '
                  b'"SessionToken": "session-part-5678", "Expiration": "2030-01-01T00:00:00Z", '
                  b'"AccountId": "123456789012"}\n')

pytestmark = pytest.mark.timeout(60)


class Source:
    """Answers like `credproc process`, or raises what it is told to; counts its calls."""

    def __init__(self, answer=PROCESS_ANSWER):
        self.answer, self.calls = answer, 0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def served():
    log = io.StringIO()
    source = Source()
    with CredentialsEndpoint(source, log_stream=log) as endpoint:
        endpoint.source, endpoint.log_text = source, log
        yield endpoint


def get(endpoint, path=CREDENTIALS_PATH, token="<right>", headers=None) -> "tuple[int, dict]":
    host, port = endpoint.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = endpoint.token if token == "<right>" else token
    conn.request("GET", path, headers=sent)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, json.loads(body) if body else {}


def test_the_answer_has_exactly_the_fields_the_container_providers_read(served):
    status, body = get(served)
    assert status == 200
    assert body == {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret-part-1234",
                    "Token": "session-part-5678", "Expiration": "2030-01-01T00:00:00Z", "AccountId": "123456789012"}


def test_the_url_is_loopback_with_a_random_port_and_the_token_is_long_and_random(served):
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith(CREDENTIALS_PATH)
    assert served.httpd.server_address[1] != 0
    assert len(served.token) >= 43 and served.token != new_token()  # 256 bits, base64url


def test_static_keys_get_an_empty_token_and_an_expiration_an_hour_ahead():
    body = json.loads(container_answer(b'{"Version": 1, "AccessKeyId": "AKIA1", "SecretAccessKey": "s3cr3t"}',
                                       now=0))
    assert body == {"AccessKeyId": "AKIA1", "SecretAccessKey": "s3cr3t", "Token": "",
                    "Expiration": "1970-01-01T01:00:00Z"}


@pytest.mark.parametrize("token, status", [(None, 401), ("wrong", 403), ("", 403), ("<right>x", 403)])
def test_a_request_without_the_right_token_is_refused_and_logged_without_it(served, token, status):
    presented = served.token + "x" if token == "<right>x" else token
    got, body = get(served, token=presented)
    assert got == status
    assert set(body) == {"Code", "Message"}
    assert served.source.calls == 0  # refused before any credentials are looked at
    logged = served.log_text.getvalue()
    assert "refused a request from 127.0.0.1" in logged
    assert served.token not in logged and "secret-part" not in logged


def test_the_right_token_on_a_wrong_path_is_404(served):
    for path in ("/", "/credproc/v1/credentials/", CREDENTIALS_PATH + "?x=1", "/v2/credentials"):
        status, body = get(served, path=path)
        assert status == 404, path
        assert body["Code"] == "NotFound"
    assert served.source.calls == 0


def test_a_wrong_token_on_a_wrong_path_says_nothing_about_the_path(served):
    assert get(served, path="/", token="wrong")[0] == 403


@pytest.mark.parametrize("error, status", [(LoginRequired("acme/dev: log in first", hint="credproc login"), 500),
                                           (TransientError("STS throttled the call"), 503)])
def test_a_failed_refresh_is_a_json_error_the_sdks_report(served, error, status):
    served.source.answer = error
    got, body = get(served)
    assert got == status
    assert body == {"Code": type(error).__name__, "Message": error.message}
    assert error.message in served.log_text.getvalue()


def test_an_unexpected_failure_tells_only_its_type(served):
    served.source.answer = RuntimeError("secret-part-1234 leaked in a bug's message")
    status, body = get(served)
    assert status == 500 and body["Code"] == "InternalError"
    assert "secret-part" not in json.dumps(body) + served.log_text.getvalue()


def test_other_methods_are_refused(served):
    host, port = served.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", CREDENTIALS_PATH, body=b"x", headers={"Authorization": served.token})
    assert conn.getresponse().status == 405


def test_a_request_head_over_the_limit_is_refused_with_431(served):
    status, _ = get(served, headers={"X-Padding": "a" * MAX_REQUEST_BYTES})
    assert status == 431
    many = {f"X-H{i}": "v" * 100 for i in range(200)}
    assert get(served, headers=many)[0] == 431
    assert get(served)[0] == 200  # the endpoint still answers


def test_a_client_that_never_finishes_its_request_does_not_block_others(served):
    host, port = served.httpd.server_address[:2]
    stalled = socket.create_connection((host, port), timeout=10)
    stalled.sendall(b"GET " + CREDENTIALS_PATH.encode() + b" HTTP/1.1\r\n")  # and nothing more
    try:
        assert get(served)[0] == 200
    finally:
        stalled.close()


def test_fifty_parallel_clients_all_get_credentials(served):
    results = []

    def fetch():
        results.append(get(served)[0])

    threads = [threading.Thread(target=fetch) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 50
    assert served.source.calls == 50  # each request asks the cache: its bindings are checked every time


def test_close_stops_serving(served):
    host, port = served.httpd.server_address[:2]
    served.close()
    time.sleep(0.05)
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()


def test_a_client_trickling_its_request_is_dropped_after_the_read_timeout_in_all(served, monkeypatch):
    from credproc.creds import endpoint as endpoint_module

    monkeypatch.setattr(endpoint_module, "READ_TIMEOUT_SECONDS", 1.0)
    host, port = served.httpd.server_address[:2]
    trickler = socket.create_connection((host, port), timeout=10)
    trickler.sendall(b"GET " + CREDENTIALS_PATH.encode() + b" HTTP/1.1\r\n")
    started = time.monotonic()
    dropped = False
    try:
        while time.monotonic() - started < 5:  # one byte every 0.2 s: never silent for a whole second
            try:
                trickler.sendall(b"X")
            except OSError:
                dropped = True
                break
            time.sleep(0.2)
        if not dropped:
            trickler.settimeout(0.5)
            dropped = trickler.recv(1) == b""
    except OSError:
        dropped = True
    finally:
        trickler.close()
    assert dropped and time.monotonic() - started < 5
    assert "no complete request within" in served.log_text.getvalue()


def test_clients_that_hang_up_leave_one_line_each_and_no_traceback(served):
    host, port = served.httpd.server_address[:2]
    for _ in range(5):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(b"GET " + CREDENTIALS_PATH.encode() + b" HTTP/1.1\r\n\r\n")
        sock.close()
    big = socket.create_connection((host, port), timeout=10)
    big.sendall(b"GET " + b"/" * 70000 + b" HTTP/1.1\r\n\r\n")
    answer = big.recv(200)
    big.close()
    assert answer.startswith(b"HTTP/1.0 431") or answer.startswith(b"HTTP/1.1 431")
    assert get(served)[0] == 200
    time.sleep(0.3)
    log = served.log_text.getvalue()
    assert "Traceback" not in log and "AttributeError" not in log
