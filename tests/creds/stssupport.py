"""Shared fakes for the aws-login/token/STS tests (no tests here).

* make_token(**claims): an RS256-shaped JWT (random signature; moto never checks it)
* FakeSts: a tiny STS on 127.0.0.1 answering AssumeRoleWithWebIdentity; queue errors with
  .fail(status, code, message) or drop connections with .fail(0); records every request.
* GitHubActionsTokenService: plays ACTIONS_ID_TOKEN_REQUEST_URL; checks the bearer and audience.
"""
import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.httpserver import LoopbackServer

ACCOUNT = "123456789012"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(**claims) -> str:
    now = int(time.time())
    payload = {"iss": "https://issuer.example.com", "aud": "sts.amazonaws.com", "sub": "repo:acme/app",
               "iat": now, "exp": now + 300}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()),
                     _b64(secrets.token_bytes(64))])


_Server = LoopbackServer


_SUCCESS = """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{akid}</AccessKeyId>
<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>
<Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser>
<Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn><AssumedRoleId>AROAEXAMPLE:{session}</AssumedRoleId>
</AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId>
</ResponseMetadata></AssumeRoleWithWebIdentityResponse>"""

_ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>"""


class _StsHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = dict(urllib.parse.parse_qsl(body))
        owner.requests.append({"headers": dict(self.headers), "form": form})
        fault = owner.faults.pop(0) if owner.faults else None
        if fault is not None:
            status, code, message = fault
            if status == 0:  # drop the connection
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self._send(status, _ERROR.format(code=code, message=message))
        role = form.get("RoleArn", "").rsplit("/", 1)[-1]
        duration = int(form.get("DurationSeconds") or 3600)
        expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + duration))
        owner.issued += 1
        self._send(200, _SUCCESS.format(
            akid=f"ASIAFAKE{owner.issued:012d}", secret=secrets.token_hex(20), token=secrets.token_hex(40),
            expiration=expiration, account=ACCOUNT, role=role, session=form.get("RoleSessionName", "")))

    def _send(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeSts(_Server):
    def __init__(self):
        super().__init__(_StsHandler)
        self.requests = []
        self.faults = []
        self.issued = 0

    def fail(self, status, code="", message="", times=1):
        self.faults.extend([(status, code, message)] * times)

    def calls(self, action="AssumeRoleWithWebIdentity"):
        return [r for r in self.requests if r["form"].get("Action") == action]


class _ActionsHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        owner.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                               "query": query})
        if self.headers.get("Authorization") != f"Bearer {owner.bearer}":
            return self._send(401, {"message": "bad bearer"})
        if query.get("api-version") != "2.0" or "audience" not in query:
            return self._send(400, {"message": "missing audience"})
        self._send(200, {"value": make_token(iss="https://token.actions.githubusercontent.com",
                                             aud=query["audience"], sub="repo:acme/app:ref:refs/heads/main")})

    def _send(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class GitHubActionsTokenService(_Server):
    def __init__(self):
        super().__init__(_ActionsHandler)
        self.bearer = secrets.token_hex(16)
        self.requests = []

    def env(self):
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.bearer}
