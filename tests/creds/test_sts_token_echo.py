"""A web identity token that STS (or a proxy in front of it) echoes in its error answer never reaches
an error message, whatever the token looks like: redaction is by value, not by the `eyJ` shape.

The STS stand-in here answers every AssumeRoleWithWebIdentity with a real STS error document whose
message quotes the token it was sent: whole, URL-encoded, split at dots, truncated, glued to other text."""
import base64
import http.server
import os
import secrets
import subprocess
import urllib.parse
from xml.sax.saxutils import escape

import pytest

from credproc.providers import sts
from credproc.errors import ExitCode, StsRefused, TransientError, redact
from support.httpserver import LoopbackServer, answer
from credtest import CREDPROC, ROLE_ARN, login_yaml, python_bytecode_env, write_environment, write_token_file

RUN = 16  # redact() promises: no piece of the token this long survives


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def spaced_jwt() -> str:
    """A valid JWT whose header and payload JSON start with a space: base64 `IHsi...`, no `eyJ` anywhere."""
    header = b' {"alg": "RS256", "typ": "JWT", "kid": "k1"}'
    payload = b' {"iss": "https://issuer.example.com", "aud": "sts.amazonaws.com", "sub": "repo:acme/app", ' \
              b'"exp": 4102444800, "iat": 1700000000}'
    token = ".".join([_b64url(header), _b64url(payload), _b64url(secrets.token_bytes(64))])
    assert "eyJ" not in token
    return token


def opaque_token() -> str:
    """An opaque access token (standard base64 with + / =, so its URL-encoded form differs)."""
    while True:
        token = base64.b64encode(secrets.token_bytes(48)).decode()
        if "+" in token or "/" in token:
            return token


TOKENS = {"spaced-jwt": spaced_jwt, "opaque": opaque_token,
          "opaque-urlsafe": lambda: "tok_" + secrets.token_urlsafe(40)}
ECHOES = {
    "whole": lambda t: f"Invalid token {t}",
    "url-encoded": lambda t: f"bad request body WebIdentityToken={urllib.parse.quote(t, safe='')}&Action=x",
    "form-encoded": lambda t: f"could not parse {urllib.parse.quote_plus(t)}",
    "parts": lambda t: "parts: " + " | ".join(reversed(t.split("."))),
    "truncated": lambda t: f"token '{t[7:47]}...' is not valid",
    "glued": lambda t: f"token=<{t}>;reason=signature",
}
CODES = ["InvalidIdentityToken", "IDPRejectedClaim", "SomethingNew", "InternalFailure"]


def pieces(token: str) -> set:
    """Every RUN-character piece of the token and of its URL-encoded forms."""
    forms = {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
    return {form[i:i + RUN] for form in forms for i in range(len(form) - RUN + 1)}


def leaks(text: str, token: str) -> "list[str]":
    text = text or ""
    found = [piece for piece in pieces(token) if piece in text]
    found += [part for part in token.split(".") if len(part) >= 8 and part in text]
    return found


class _Refusal(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        token = dict(urllib.parse.parse_qsl(body)).get("WebIdentityToken", "")
        owner.received.append(token)
        xml = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
               f"<Code>{escape(owner.code)}</Code><Message>{escape(owner.echo(token))}</Message></Error>"
               "<RequestId>r1</RequestId></ErrorResponse>").encode()
        answer(self, owner.status, "text/xml", xml)


class EchoingSts(LoopbackServer):
    """STS on 127.0.0.1 that refuses every call with `code` and a message quoting the token."""

    def __init__(self, code: str, echo, status: int = 400):
        self.code, self.echo, self.status, self.received = code, echo, status, []
        super().__init__(_Refusal)


def call_sts(token: str):
    return sts.assume_role_with_web_identity(role_arn=ROLE_ARN, session_name="dev", token=token,
                                             duration_seconds=3600, region="eu-west-1",
                                             claims={"iss": "https://issuer.example.com", "sub": "repo:acme/app"})


@pytest.mark.parametrize("echo", sorted(ECHOES))
@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_an_echoed_token_of_any_shape_is_redacted(monkeypatch, kind, echo):
    token = TOKENS[kind]()
    with EchoingSts("InvalidIdentityToken", ECHOES[echo]) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        with pytest.raises(StsRefused) as info:
            call_sts(token)
    assert server.received == [token]  # STS really got (and echoed) this token
    message, hint = str(info.value), info.value.hint
    assert leaks(message, token) == [] and leaks(hint, token) == []
    assert ROLE_ARN in message and "InvalidIdentityToken" in message  # still says what went wrong
    assert sts.TOKEN_MARK in message


@pytest.mark.parametrize("code", CODES)
def test_every_error_code_path_redacts_the_echo(monkeypatch, code):
    token = opaque_token()
    status = 500 if code == "InternalFailure" else 400
    with EchoingSts(code, ECHOES["glued"], status) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        with pytest.raises((StsRefused, TransientError)) as info:
            call_sts(token)
    assert leaks(str(info.value), token) == [] and leaks(info.value.hint, token) == []
    assert code in str(info.value)


def test_a_token_echoed_in_the_error_code_is_redacted(monkeypatch):
    token = opaque_token()
    with EchoingSts(f"Bad{token}", ECHOES["whole"]) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        with pytest.raises(StsRefused) as info:
            call_sts(token)
    assert leaks(str(info.value), token) == []


def test_redact_keeps_text_that_is_not_the_secret():
    token = opaque_token()
    text = f"role {ROLE_ARN} refused: {token} (see https://docs.aws.amazon.com/STS/latest/APIReference)"
    assert redact(text, [token]) == \
        f"role {ROLE_ARN} refused: <redacted> (see https://docs.aws.amazon.com/STS/latest/APIReference)"
    assert redact(text, []) == text and redact(text, [None, ""]) == text


def test_process_with_an_echoing_sts_prints_no_piece_of_the_token(isolated_env, tmp_path):
    """The real CLI: `credproc process` with a token file holding a JWT that does not start with eyJ."""
    token = spaced_jwt()
    token_file = write_token_file(tmp_path, token)
    write_environment(isolated_env.env_dir, "acme/dev", login_yaml(f"{{file: {token_file}}}"))
    with EchoingSts("InvalidIdentityToken", lambda t: f"{ECHOES['whole'](t)}; {ECHOES['url-encoded'](t)}") as server:
        env = python_bytecode_env(dict(os.environ, AWS_ENDPOINT_URL_STS=server.url))
        result = subprocess.run([CREDPROC, "process", "acme/dev"], capture_output=True, text=True, env=env,
                                timeout=60, stdin=subprocess.DEVNULL)
    assert server.received and server.received[0] == token
    assert result.returncode == ExitCode.STS_REFUSED, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert "InvalidIdentityToken" in result.stderr and sts.TOKEN_MARK in result.stderr
    assert leaks(result.stderr, token) == []
