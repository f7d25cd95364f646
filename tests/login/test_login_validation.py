"""Token validation (credproc.identity.oidc.validate_token) with tokens signed here and a tiny local JWKS
server: each of wrong aud, wrong iss, bad signature, expired, nonce mismatch, unknown key and
unsupported algorithm is refused with a message naming the problem (never the token); RS256 and
ES256 tokens that are right pass. Also the redirect checks and the device-flow poll loop."""
import http.server
import os
import json
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from credproc.identity import jwt
from credproc.identity import oidc
from credproc.errors import TokenError, TransientError
from support.httpserver import serving_thread

ISSUER = "https://idp.example.com"
CLIENT = "credproc-cli"


def _b64int(value: int, length: "int | None" = None) -> str:
    length = length or (value.bit_length() + 7) // 8
    return jwt.b64url_encode(value.to_bytes(length, "big"))


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": _b64int(rn.n), "e": _b64int(rn.e)},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": _b64int(en.x, 32), "y": _b64int(en.y, 32)},
        ]}

    def sign(self, claims: dict, *, alg="RS256", kid="rsa-1", key=None) -> str:
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        signing_input = ".".join(jwt.b64url_encode(json.dumps(p).encode()) for p in (header, claims))
        data = signing_input.encode()
        if alg == "RS256":
            signature = (key or self.rsa).sign(data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature((key or self.ec).sign(data, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            signature = b""
        return signing_input + "." + jwt.b64url_encode(signature)


class JsonServer:
    """A one-route JSON server on 127.0.0.1: every GET answers ``status`` and ``respond()``; counts fetches."""

    def __init__(self, respond, status: int = 200):
        server = self
        self.fetches = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.fetches += 1
                body = json.dumps(respond()).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        serving_thread(self.httpd).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class JwksServer(JsonServer):
    """Serves a JWKS document that a test may change; counts fetches."""

    def __init__(self, document: dict):
        self.document = document
        super().__init__(lambda: self.document)
        self.url = self.base + "/jwks"


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture
def jwks_server(keys):
    server = JwksServer(keys.jwks())
    yield server
    server.close()


def claims(**changes):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "alice", "exp": now + 600, "iat": now, "nonce": "n-123"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def validate(token, jwks_server, **kwargs):
    options = {"issuer": ISSUER, "audience": CLIENT, "nonce": "n-123", "client_id": CLIENT}
    options.update(kwargs)
    return oidc.validate_token(token, oidc.Jwks(jwks_server.url), **options)


@pytest.mark.parametrize("alg,kid", [("RS256", "rsa-1"), ("ES256", "ec-1")])
def test_good_tokens_pass(keys, jwks_server, alg, kid):
    assert validate(keys.sign(claims(), alg=alg, kid=kid), jwks_server)["sub"] == "alice"


@pytest.mark.parametrize("change,message", [
    ({"aud": "someone-else"}, "has the wrong `aud`: expected 'credproc-cli', got 'someone-else'"),
    ({"iss": "https://evil.example.com"}, "has the wrong `iss`: expected 'https://idp.example.com', "
                                          "got 'https://evil.example.com'"),
    ({"exp": int(time.time()) - 3600}, "has expired: `exp` is"),
    ({"nonce": "n-456"}, "has the wrong `nonce`: it was not issued for the login credproc started"),
    ({"nonce": None}, "has the wrong `nonce`"),
    ({"azp": "another-client", "aud": [CLIENT, "another-client"]}, "was issued to another client: `azp`"),
])
def test_wrong_claims_are_refused(keys, jwks_server, change, message):
    token = keys.sign(claims(**change))
    with pytest.raises(TokenError) as caught:
        validate(token, jwks_server)
    assert message in str(caught.value)
    assert token not in str(caught.value) and token.split(".")[1] not in str(caught.value)


def test_bad_signature_is_refused(keys, jwks_server):
    forged = keys.sign(claims(), key=keys.other_rsa)  # right kid, wrong key
    with pytest.raises(TokenError, match=r"has a bad signature: it does not verify against the issuer's JWKS"):
        validate(forged, jwks_server)
    good = keys.sign(claims())
    header, payload, signature = good.split(".")
    tampered_payload = jwt.b64url_encode(json.dumps(claims(sub="mallory")).encode())
    with pytest.raises(TokenError, match="bad signature"):
        validate(f"{header}.{tampered_payload}.{signature}", jwks_server)
    es = keys.sign(claims(), alg="ES256", kid="ec-1", key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(TokenError, match="bad signature"):
        validate(es, jwks_server)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512"])
def test_unsupported_algorithms_are_refused(keys, jwks_server, alg):
    unsigned = keys.sign(claims(), alg=alg)  # header.payload. (empty signature)
    with pytest.raises(TokenError, match="is not a signed JWT: its signature part is empty"):
        validate(unsigned, jwks_server)
    token = unsigned + "c2ln"  # some bytes where the signature goes
    with pytest.raises(TokenError, match=rf"is signed with '{alg}'; credproc accepts only RS256, ES256"):
        validate(token, jwks_server)


def test_unknown_key_is_refetched_once_then_refused(keys, jwks_server):
    token = keys.sign(claims(), kid="rotated-2")
    with pytest.raises(TokenError, match=r"kid 'rotated-2'\) that is not in the issuer's JWKS"):
        validate(token, jwks_server)
    assert jwks_server.fetches == 1  # fetched fresh for this check: no second fetch needed
    # A key the issuer rotated in after our first fetch is found by the one re-fetch.
    jwks = oidc.Jwks(jwks_server.url)
    oidc.validate_token(keys.sign(claims()), jwks, issuer=ISSUER, audience=CLIENT)
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = new_key.public_key().public_numbers()
    jwks_server.document = {"keys": keys.jwks()["keys"] + [
        {"kty": "RSA", "kid": "rsa-2", "n": _b64int(numbers.n), "e": _b64int(numbers.e)}]}
    assert oidc.validate_token(keys.sign(claims(), kid="rsa-2", key=new_key), jwks,
                               issuer=ISSUER, audience=CLIENT)["sub"] == "alice"


def test_jwks_unreachable_is_transient(keys):
    jwks = oidc.Jwks("http://127.0.0.1:9/jwks")
    with pytest.raises(TransientError, match="cannot reach the JWKS endpoint"):
        oidc.validate_token(keys.sign(claims()), jwks, issuer=ISSUER, audience=CLIENT)


# --- the authorization response --------------------------------------------------------------------

def test_state_must_match():
    with pytest.raises(TokenError, match="the login redirect carried the wrong `state`"):
        oidc.check_authorization_response({"code": "c", "state": "other"}, "expected", ISSUER)
    with pytest.raises(TokenError, match="wrong `state`"):
        oidc.check_authorization_response({"code": "c"}, "expected", ISSUER)
    assert oidc.check_authorization_response({"code": "c", "state": "s"}, "s", ISSUER) == "c"


def test_error_and_mixed_up_issuer_in_the_redirect():
    with pytest.raises(oidc.OAuthError, match="the login was not completed: access_denied") as caught:
        oidc.check_authorization_response({"error": "access_denied", "state": "s"}, "s", ISSUER)
    assert caught.value.error == "access_denied"
    with pytest.raises(TokenError, match="came from issuer 'https://other.example.com'"):
        oidc.check_authorization_response({"code": "c", "state": "s", "iss": "https://other.example.com"}, "s", ISSUER)


def test_pkce_pair_is_s256():
    import base64
    import hashlib

    verifier, challenge = oidc.pkce_pair()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert challenge == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert oidc.pkce_pair()[0] != verifier


def test_loopback_listener_is_one_shot_on_127_0_0_1():
    import urllib.error
    import urllib.request

    listener = oidc.LoopbackListener()
    try:
        assert listener.redirect_uri.startswith("http://127.0.0.1:") and listener.redirect_uri.endswith("/callback")
        with pytest.raises(urllib.error.HTTPError):  # a browser's favicon request is not the redirect
            urllib.request.urlopen(f"http://127.0.0.1:{listener.port}/favicon.ico", timeout=5)
        import threading

        pages = []
        browser = threading.Thread(target=lambda: pages.append(
            urllib.request.urlopen(listener.redirect_uri + "?code=abc&state=xyz", timeout=5).read()))
        browser.start()
        assert listener.wait(5) == {"code": "abc", "state": "xyz"}
        assert not pages  # the browser is answered only with the verdict (after the code exchange)
        listener.answer(True, "You can close this window.")
        browser.join(5)
        assert b"<h2>Logged in</h2>" in pages[0]
        with pytest.raises(urllib.error.HTTPError):  # one shot: a second callback is not accepted
            urllib.request.urlopen(listener.redirect_uri + "?code=evil&state=xyz", timeout=5)
        assert listener.result == {"code": "abc", "state": "xyz"}
    finally:
        listener.close()


@pytest.mark.parametrize("environ,platform,expected", [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({}, "linux", False),
    ({"DISPLAY": ":0", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", False),
    ({"DISPLAY": ":0", "CI": "true"}, "linux", False),
    ({}, "darwin", True),
    ({"SSH_TTY": "/dev/pts/1"}, "darwin", False),
])
def test_browser_detection(environ, platform, expected, monkeypatch):
    monkeypatch.setattr(oidc.os.path, "exists", lambda path: False if path == "/.dockerenv" else True)
    assert oidc.browser_available(environ, platform) is expected


# --- the device-flow poll loop (RFC 8628 §3.5) against a scripted token endpoint ---------------------

class ScriptedTokenEndpoint:
    def __init__(self, answers):
        endpoint = self
        self.answers = list(answers)
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers["Content-Length"])
                endpoint.requests.append(self.rfile.read(length).decode())
                status, body = endpoint.answers.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.meta = {"token_endpoint": f"http://127.0.0.1:{self.httpd.server_address[1]}/token"}
        serving_thread(self.httpd).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def poll(answers, device=None):
    endpoint = ScriptedTokenEndpoint(answers)
    clock = FakeClock()
    try:
        result = oidc.poll_device(endpoint.meta, oidc.Client("cli"), device or {"device_code": "dc", "interval": 2,
                                                                               "expires_in": 60},
                                  sleep=clock.sleep, clock=clock)
        return result, clock, endpoint
    finally:
        endpoint.close()


def test_device_poll_honours_interval_and_slow_down():
    pending = (400, {"error": "authorization_pending"})
    slow = (400, {"error": "slow_down"})
    result, clock, endpoint = poll([pending, slow, pending, slow, (200, {"access_token": "at", "id_token": "x"})])
    assert result["access_token"] == "at"
    assert clock.sleeps == [2, 2, 7, 7, 12]  # +5 s after each slow_down (RFC 8628 §3.5)
    assert all("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in r for r in endpoint.requests)


@pytest.mark.parametrize("answer,message", [
    ((400, {"error": "expired_token"}), "the device code expired before the login was approved"),
    ((400, {"error": "access_denied"}), "the login was denied at the identity provider"),
    ((400, {"error": "invalid_client", "error_description": "no such client"}),
     "refused the request: invalid_client (no such client)"),
])
def test_device_poll_stops_on_errors(answer, message):
    import re

    with pytest.raises(TokenError, match=re.escape(message)):
        poll([(400, {"error": "authorization_pending"}), answer])


def test_device_poll_gives_up_at_expires_in():
    answers = [(400, {"error": "authorization_pending"})] * 10
    with pytest.raises(TokenError, match="the device code expired"):
        poll(answers, {"device_code": "dc", "interval": 5, "expires_in": 12})


def test_a_launched_browser_does_not_inherit_stdout_or_stderr(tmp_path, monkeypatch):
    """Under credential_process, stdout is botocore's pipe: a browser that kept it open would make
    the caller wait for EOF. The browser ($BROWSER, through webbrowser) must see /dev/null on fds
    0, 1 and 2, get the URL as its argument, and not hold up the login while it runs."""
    import sys

    if not os.path.exists("/proc/self/fd/1"):
        pytest.skip("needs /proc")
    report = tmp_path / "fds"
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n"
                       "import os, sys, time\n"
                       "fds = ' '.join(os.readlink(f'/proc/self/fd/{fd}') for fd in (0, 1, 2))\n"
                       f"open({str(report)!r} + '.tmp', 'w').write(sys.argv[1] + ' ' + fds)\n"
                       f"os.replace({str(report)!r} + '.tmp', {str(report)!r})\n"
                       "time.sleep(30)\n")  # a browser that lives on: webbrowser's GenericBrowser waits for it
    browser.chmod(0o700)
    monkeypatch.setenv("BROWSER", str(browser))
    said = []
    started = time.monotonic()
    oidc._open_browser("http://127.0.0.1:1/x?state=s", said.append)
    assert time.monotonic() - started < oidc.BROWSER_CHECK_SECONDS + 1
    deadline = time.monotonic() + 10
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert report.read_text() == "http://127.0.0.1:1/x?state=s /dev/null /dev/null /dev/null"
    assert said == []


def test_no_browser_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER", str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("PATH", str(tmp_path))  # and no xdg-open, www-browser, ... either
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    said = []
    oidc._open_browser("http://127.0.0.1:1/x", said.append)
    assert said == ["(could not open a browser: open the URL above yourself)"]


class DiscoveryServer(JsonServer):
    """Serves one discovery document (and a fixed status) at /.well-known/openid-configuration."""

    def __init__(self, make_document, status=200):
        super().__init__(lambda: make_document(self.issuer), status)
        self.issuer = self.base


def test_discovery_refuses_endpoints_in_clear():
    from credproc.errors import ConfigError

    server = DiscoveryServer(lambda issuer: {"issuer": issuer, "token_endpoint": "http://idp.example.com/token",
                                             "jwks_uri": issuer + "/jwks"})
    try:
        with pytest.raises(ConfigError, match=r"token_endpoint \(from .*\) must be an https URL"):
            oidc.discover(server.issuer)
    finally:
        server.close()


def test_server_errors_are_transient():
    server = DiscoveryServer(lambda issuer: {"error": "temporarily_unavailable"}, status=503)
    try:
        with pytest.raises(TransientError, match="answered HTTP 503"):
            oidc.discover(server.issuer)
    finally:
        server.close()
