"""An authorization server that echoes the secrets it was sent (refresh token, device code, client
secret, the token being revoked) in its OAuth error answer: credproc's messages quote the error but
never those secrets, whatever their shape."""
import http.server
import json
import secrets
import urllib.parse

import pytest

from credproc.identity import oidc
from credproc.errors import TokenError
from support.httpserver import LoopbackServer, answer

RUN = 16


def leaks(text: str, secret: str) -> bool:
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return any(form[i:i + RUN] in (text or "") for form in forms for i in range(len(form) - RUN + 1))


class _Echo(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        echoed = f"{body} auth={self.headers.get('Authorization')}"
        fields = dict(urllib.parse.parse_qsl(body))
        echoed += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        answer(self, 400, "application/json",
               json.dumps({"error": "invalid_grant", "error_description": echoed}).encode())


class EchoingTokenEndpoint(LoopbackServer):
    """Refuses every request with 400 invalid_grant, quoting every form field and the Basic credentials."""

    def __init__(self):
        super().__init__(_Echo)
        self.url += "/token"


@pytest.fixture
def endpoint():
    with EchoingTokenEndpoint() as server:
        yield {"issuer": "https://issuer.example.com", "token_endpoint": server.url, "revocation_endpoint": server.url}


def opaque() -> str:
    return "rt/" + secrets.token_urlsafe(40) + "+="  # not JWT-shaped; / + = change under URL encoding


def message_of(info) -> str:
    return f"{info.value} {info.value.hint or ''}"


def test_refresh_error_quotes_the_error_but_not_the_refresh_token_or_client_secret(endpoint):
    refresh_token, client_secret = opaque(), "cs-" + secrets.token_urlsafe(24)
    with pytest.raises(TokenError) as info:
        oidc.refresh(endpoint, oidc.Client("my-cli", client_secret), refresh_token)
    text = message_of(info)
    assert "invalid_grant" in text and "my-cli" in text and "<redacted>" in text
    assert not leaks(text, refresh_token) and not leaks(text, client_secret)


def test_revocation_error_does_not_quote_the_token_being_revoked(endpoint):
    token = opaque()
    with pytest.raises(TokenError) as info:
        oidc.revoke(endpoint, oidc.Client("my-cli"), token)
    assert "invalid_grant" in message_of(info) and not leaks(message_of(info), token)


def test_device_poll_error_does_not_quote_the_device_code(endpoint):
    device = {"device_code": opaque(), "interval": 0.01, "expires_in": 30}
    with pytest.raises(TokenError) as info:
        oidc.poll_device(endpoint, oidc.Client("my-cli"), device, sleep=lambda s: None, slow_down_step=0)
    assert "invalid_grant" in message_of(info) and not leaks(message_of(info), device["device_code"])
