"""The one HTTP rule for token endpoints (credproc.identity.http): no redirect is followed (a bearer
token would be resent to the Location, past the https/loopback check), and plain http to loopback
never goes through a proxy. A hostile review found gcp-login and azure-login following redirects."""
import http.server
import threading
import urllib.error
import urllib.request

import pytest

from credproc.identity import http as endpoint_http


class _Recorder(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self):
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        if self.server.location:
            self.send_response(302)
            self.send_header("Location", self.server.location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer


@pytest.fixture
def server():
    started = []

    def start(location=None):
        srv = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
        srv.seen, srv.location = [], location
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def _url(srv, path="/token"):
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def test_a_redirect_is_the_answer_and_the_bearer_goes_nowhere_else(server):
    elsewhere = server()
    redirecting = server(location=_url(elsewhere, "/stolen"))
    request = urllib.request.Request(_url(redirecting), data=b"x", headers={"Authorization": "Bearer SECRET"})
    with pytest.raises(urllib.error.HTTPError) as info:
        endpoint_http.open_url(request, 5)
    assert info.value.code == 302
    assert redirecting.seen == [("POST", "/token", "Bearer SECRET")] and elsewhere.seen == []


def test_a_get_without_credentials_may_follow_when_asked(server):
    target = server()
    redirecting = server(location=_url(target, "/moved"))
    with endpoint_http.open_url(urllib.request.Request(_url(redirecting, "/doc")), 5, follow_redirects=True) as answer:
        assert answer.read() == b"ok"
    assert [path for _, path, _ in target.seen] == ["/moved"]


def test_plain_http_to_loopback_bypasses_any_proxy(server, monkeypatch):
    proxy, endpoint = server(), server()
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with endpoint_http.open_url(urllib.request.Request(_url(endpoint)), 5) as answer:
        assert answer.read() == b"ok"
    assert proxy.seen == [] and len(endpoint.seen) == 1
    # an opener built from these variables as urllib builds its default one does use the proxy
    # (urlopen's own opener is built once per process, so it may predate the variables)
    via = urllib.request.build_opener(urllib.request.ProxyHandler())
    with via.open(urllib.request.Request(_url(endpoint, "/via")), timeout=5) as answer:
        answer.read()
    assert [path for _, path, _ in proxy.seen] == [_url(endpoint, "/via")]


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("localhost.", False), ("10.0.0.1", False),
                                            ("example.com", False)])
def test_loopback_hosts(host, loopback):
    assert endpoint_http.is_loopback_host(host) is loopback
