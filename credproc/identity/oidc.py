"""OpenID Connect client for interactive login: discovery, PKCE, the loopback redirect, the device
authorization grant (RFC 8628), the token endpoint, revocation (RFC 7009) and token validation
against the issuer's JWKS.

HTTP is the standard library's urllib. Signatures (RS256, ES256) are checked with `cryptography`,
imported inside the function that needs it. Nothing here touches the disk or the keyring: that is
credproc.identity.tokens.login and credproc.identity.tokenstore.

Errors: a server that cannot be reached is TransientError (exit 6); an error answer from the
server is OAuthError (a TokenError, exit 4) that keeps the OAuth `error` code so callers can tell
`invalid_grant` (a dead refresh token) from the rest; a token that fails validation is TokenError
naming the claim. No message ever holds a token, a code, a verifier or a client secret.
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from credproc import settings
from credproc.identity import http as endpoint_http
from credproc.identity import jwt
from credproc.errors import ConfigError, TokenError, TransientError, printable, redact

HTTP_TIMEOUT_SECONDS = 15
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_DEVICE_INTERVAL = 5   # RFC 8628 §3.2: when the server sends no `interval`
SLOW_DOWN_STEP_SECONDS = 5    # RFC 8628 §3.5: add 5 seconds after each `slow_down`
SUPPORTED_ALGORITHMS = ("RS256", "ES256")
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "device_authorization_endpoint",
             "revocation_endpoint")
CALLBACK_PATH = "/callback"
BROWSER_CHECK_SECONDS = 2.0   # how long to wait to learn whether a browser could be started
#: How long the browser's redirect waits for credproc's verdict (the code exchange and the token
#: checks) before it is shown a page: the page tells the truth, not "Logged in" before the exchange.
VERDICT_WAIT_SECONDS = 60.0
COUNTDOWN_EVERY_SECONDS = 30.0  # a waiting person is told how long is left this often


class OAuthError(TokenError):
    """An OAuth error answer (`error`, `error_description`) from the authorization server."""

    def __init__(self, message: str, error: "str | None" = None, *, hint: "str | None" = None):
        super().__init__(message, hint=hint)
        self.error = error


# --- HTTP ----------------------------------------------------------------------------------------

#: What one answer of an identity provider may hold at most (memory is bounded for any server).
MAX_RESPONSE_BYTES = 1024 * 1024


def _request(url: str, *, form: "dict | None" = None, auth: "tuple | None" = None, what: str) -> "tuple[int, dict]":
    """(status, JSON object) of a GET (form None) or form POST. Error statuses with a JSON body are
    returned (OAuth errors travel that way); anything else unreadable is an error."""
    data = None
    headers = {"Accept": "application/json", "User-Agent": "credproc"}
    if form is not None:
        data = urllib.parse.urlencode({k: v for k, v in form.items() if v is not None}).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if auth is not None:  # client_secret_basic (RFC 6749 §2.3.1: both parts form-encoded first)
        pair = f"{urllib.parse.quote(auth[0], safe='')}:{urllib.parse.quote(auth[1], safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if form is not None else "GET")
    try:
        with endpoint_http.open_url(request, HTTP_TIMEOUT_SECONDS,
                                          follow_redirects=form is None and auth is None) as response:
            status, body = response.status, response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise TransientError(f"cannot reach the {what} at {_safe_url(url)}: {reason}") from None
    if len(body) > MAX_RESPONSE_BYTES:  # a discovery document or JWKS is a few KiB
        raise TokenError(f"the {what} at {_safe_url(url)} answered more than {MAX_RESPONSE_BYTES // 1024} KiB")
    if status >= 500:  # whatever the body says, the server is having trouble: worth a retry later
        raise TransientError(f"the {what} at {_safe_url(url)} answered HTTP {status}")
    try:
        document = json.loads(body.decode("utf-8")) if body else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise TokenError(f"the {what} at {_safe_url(url)} answered HTTP {status} without a JSON object")
    if status != 200:  # error answers are quoted in messages; a server may echo what it was sent
        document = _redacted_answer(document, _secrets_sent(form, auth))
    return status, document


# Form fields that carry a secret (RFC 6749, 7009, 7636, 8628); the others (grant_type, client_id,
# redirect_uri, scope) are not, and stay readable in an echoed error.
_SECRET_FIELDS = ("code", "code_verifier", "refresh_token", "device_code", "token", "client_secret", "assertion")


def _secrets_sent(form: "dict | None", auth: "tuple | None") -> list:
    secrets = [value for key, value in (form or {}).items() if key in _SECRET_FIELDS]
    return secrets + ([auth[1]] if auth else [])


def _redacted_answer(document: dict, secrets: list) -> dict:
    return {key: redact(value, secrets) if isinstance(value, str) else value for key, value in document.items()}


def _safe_url(url: str) -> str:
    """The URL without its query (which may hold codes or tokens) for messages."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _oauth_error(document: dict, status: int, what: str) -> OAuthError:
    error = document.get("error") if isinstance(document.get("error"), str) else None
    description = document.get("error_description")
    detail = f"{error}" + (f" ({description})" if isinstance(description, str) and description else "")
    return OAuthError(f"the {what} refused the request: {detail or f'HTTP {status}'}", error)


# --- discovery -----------------------------------------------------------------------------------

def discover(issuer: str) -> dict:
    """The issuer's OpenID configuration; its `issuer` must be exactly ours (OIDC Discovery §4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    status, document = _request(url, what="OpenID discovery document")
    if status != 200:
        raise TokenError(f"the OpenID discovery document at {url} answered HTTP {status}",
                         hint="check oidc.token.login.issuer")
    if document.get("issuer") != issuer:
        raise TokenError(f"the OpenID discovery document at {url} names the issuer {document.get('issuer')!r}, "
                         f"not {issuer!r}", hint="set oidc.token.login.issuer to exactly the issuer it names")
    for name in ("token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise TokenError(f"the OpenID discovery document at {url} has no {name}")
    for name in ENDPOINTS:  # tokens and codes travel there: never in clear over a network
        if isinstance(document.get(name), str):
            require_https(document[name], f"{name} (from {url})")
    return document


class Client:
    """An OAuth client: its id and, for a confidential client only, its secret (sent with HTTP Basic)."""

    def __init__(self, client_id: str, secret: "str | None" = None):
        self.client_id = client_id
        self.secret = secret

    def form(self, **fields) -> dict:
        return {**fields, "client_id": self.client_id}

    def auth(self) -> "tuple | None":
        return (self.client_id, self.secret) if self.secret else None


def token_request(meta: dict, client: Client, form: dict, what: str = "token endpoint") -> "tuple[int, dict]":
    return _request(meta["token_endpoint"], form=client.form(**form), auth=client.auth(), what=what)


def _token_response(status: int, document: dict, what: str) -> dict:
    if status != 200:
        raise _oauth_error(document, status, what)
    if not isinstance(document.get("access_token"), str):
        raise TokenError(f"the {what} answered without an access_token")
    return document


def refresh(meta: dict, client: Client, refresh_token: str) -> dict:
    """The refresh_token grant (RFC 6749 §6). OAuthError with error "invalid_grant" when the refresh
    token is expired, revoked or already used (rotation)."""
    status, document = token_request(meta, client, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                                     what="token endpoint (refresh)")
    return _token_response(status, document, "token endpoint (refresh)")


def revoke(meta: dict, client: Client, token: str, hint: str = "refresh_token") -> bool:
    """Revoke at the server (RFC 7009). False when the server has no revocation endpoint."""
    endpoint = meta.get("revocation_endpoint")
    if not isinstance(endpoint, str):
        return False
    status, document = _request(endpoint, form=client.form(token=token, token_type_hint=hint),
                                auth=client.auth(), what="revocation endpoint")
    if status != 200:
        raise _oauth_error(document, status, "revocation endpoint")
    return True


# --- PKCE and the authorization request ----------------------------------------------------------

def pkce_pair() -> "tuple[str, str]":
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1-4.2: 64 unreserved characters."""
    verifier = secrets.token_urlsafe(48)
    challenge = jwt.b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


def authorization_url(meta: dict, client: Client, *, redirect_uri: str, scopes: list, state: str, nonce: str,
                      code_challenge: str, extra: "dict | None" = None, again: str = "credproc login ORG/ENV") -> str:
    endpoint = meta.get("authorization_endpoint")
    if not isinstance(endpoint, str):
        raise TokenError(f"the issuer {meta.get('issuer')} has no authorization_endpoint (no browser login)",
                         hint=f"use the device flow: `flow: device` in the environment, or `{again} --device`")
    methods = meta.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise TokenError(f"the issuer {meta.get('issuer')} does not support PKCE with S256")
    query = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
        "scope": " ".join(scopes), "state": state, "nonce": nonce,
        "code_challenge": code_challenge, "code_challenge_method": "S256", **(extra or {}),
    }
    separator = "&" if urllib.parse.urlsplit(endpoint).query else "?"
    return endpoint + separator + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)


# --- the loopback redirect listener (RFC 8252 §7.3) ----------------------------------------------

_PAGE = ("<!doctype html><meta charset=utf-8><title>credproc</title>"
         "<body style='font-family:sans-serif'><h2>{title}</h2><p>{text}</p></body>")


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 and a random port for the authorization response.

    The first request to /callback ends it (whatever it carries: a mismatched `state` is refused,
    not waited past); other paths (a browser's /favicon.ico) get 404 and are ignored. The browser's
    request is held until credproc has the verdict (answer()): the page then says what really
    happened (a wrong client secret fails the exchange: the page says so, not "Logged in")."""

    def __init__(self):
        import http.server
        import threading

        listener = self
        self.result = None
        self._arrived = threading.Event()
        self._answered = threading.Event()
        self._verdict = (False, "credproc stopped before it finished the login.")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urllib.parse.urlsplit(self.path)
                if parts.path != CALLBACK_PATH or listener._arrived.is_set():
                    self.send_error(404)
                    return
                listener.result = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                listener._arrived.set()
                listener._answered.wait(VERDICT_WAIT_SECONDS)
                ok, text = listener._verdict
                self._page(200 if ok else 400, "Logged in" if ok else "Login failed", text)

            def _page(self, status: int, title: str, text: str) -> None:
                import html

                body = _PAGE.format(title=title, text=html.escape(text)).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the terminal clean (and the code out of any log)
                pass

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> "dict | None":
        """The callback's query parameters, or None after ``timeout`` seconds."""
        self._arrived.wait(timeout)
        return self.result

    def answer(self, ok: bool, text: str) -> None:
        """What the browser is shown (no secret: it is one of credproc's own messages)."""
        if not self._answered.is_set():
            self._verdict = (ok, text)
            self._answered.set()

    def close(self) -> None:
        self.answer(False, "credproc stopped before it finished the login: see the terminal.")
        self._server.shutdown()
        self._server.server_close()


def browser_available(environ=None, platform: "str | None" = None) -> bool:
    """False where a browser on this machine cannot reach our loopback listener or does not exist:
    an SSH session, CI, a container, or Linux without DISPLAY/WAYLAND_DISPLAY."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("CI") or any(environ.get(v) for v in ("SSH_CLIENT", "SSH_TTY", "SSH_CONNECTION")):
        return False
    if os.path.exists("/.dockerenv"):
        return False
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True


def graphical_browser_possible(environ=None, platform: "str | None" = None) -> bool:
    """Could a browser opened here show a page? On Linux and the BSDs only with a display (else
    Python's webbrowser falls back to a text-mode browser, or none, and still reports success);
    a $BROWSER the person set is taken at its word."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("BROWSER"):
        return True
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True


def browser_login(meta: dict, client: Client, *, scopes: list, say, open_browser: bool,
                  timeout: float, extra: "dict | None" = None, accept=None,
                  again: str = "credproc login ORG/ENV") -> "tuple[dict, str]":
    """Authorization code + PKCE S256 through the loopback listener -> (token response, nonce).

    ``say(text)`` shows a line to the person (the terminal). ``accept(response, nonce)`` checks the
    tokens before the browser is told the outcome. ``again``: the command a person would run again."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    listener = LoopbackListener()
    try:
        url = authorization_url(meta, client, redirect_uri=listener.redirect_uri, scopes=scopes, state=state,
                                nonce=nonce, code_challenge=challenge, extra=extra, again=again)
        preflight_authorization(url, listener.redirect_uri, again)
        say("Log in at this URL" + (" (opening it in your browser)" if open_browser else "") + ":")
        say(url)
        if open_browser:
            _open_browser(url, say)
        params = _wait_with_countdown(listener, timeout, say, again)
        if params is None:
            raise TokenError(f"no login arrived at the redirect listener within {timeout:g}s",
                             hint=f"run `{again}` again, or `{again} --device` on a machine without a browser")
        try:
            response = _exchange_code(meta, client, params, state, listener.redirect_uri, verifier, again)
            if accept is not None:
                accept(response, nonce)
        except TokenError as err:
            listener.answer(False, f"The login failed: {err.message}. See the terminal.")
            raise
        listener.answer(True, "You can close this window and return to the terminal.")
    finally:
        listener.close()
    return response, nonce


def _exchange_code(meta: dict, client: Client, params: dict, state: str, redirect_uri: str, verifier: str,
                   again: str) -> dict:
    code = check_authorization_response(params, state, meta.get("issuer"), again)
    status, document = token_request(meta, client, {"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": redirect_uri, "code_verifier": verifier})
    return _token_response(status, document, "token endpoint")


def _wait_with_countdown(listener: LoopbackListener, timeout: float, say, again: str) -> "dict | None":
    """Wait for the redirect, telling the person how long is left (no silent five-minute waits)."""
    deadline = time.monotonic() + timeout
    every = min(COUNTDOWN_EVERY_SECONDS, max(timeout / 4, 1.0))
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        params = listener.wait(min(left, every))
        if params is not None:
            return params
        left = deadline - time.monotonic()
        if left > 0:
            say(f"Still waiting for the login in the browser: {left:.0f}s left "
                f"(no browser here? Ctrl-C, then `{again} --device`).")


def preflight_authorization(url: str, redirect_uri: str, again: str) -> None:
    """Ask the authorization endpoint ourselves before sending a person there: an unknown client id
    or a refused redirect URI is a 4xx at once (the identity provider cannot redirect that error to
    us), and an error it can redirect (a bad scope) comes back in the Location. Either is a one-line
    error now instead of a person staring at an error page while credproc waits for minutes."""
    try:
        with endpoint_http.open_url(urllib.request.Request(url, method="GET"), HTTP_TIMEOUT_SECONDS) as response:
            status, location = response.status, response.headers.get("Location") or ""
    except urllib.error.HTTPError as err:
        status, location = err.code, err.headers.get("Location") or ""
    except (urllib.error.URLError, OSError):
        return  # unreachable from here (a proxy only the browser knows?): let the browser try
    if location.startswith(redirect_uri):
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if "error" in params:
            detail = params["error"] + (f" ({params['error_description']})" if params.get("error_description") else "")
            raise OAuthError(f"the identity provider refused the login request: {detail}", params["error"],
                             hint="check oidc.token.login.scopes and audience")
    if 400 <= status < 500:
        raise TokenError(f"the identity provider refused the login request (HTTP {status}) before any login "
                         "page: an unknown oidc.token.login.clientId, or a client that does not allow the "
                         f"redirect URI http://127.0.0.1:PORT{CALLBACK_PATH}",
                         hint=f"check clientId and the client's redirect URIs, or try `{again} --device`")


def check_authorization_response(params: dict, state: str, issuer: "str | None",
                                 again: str = "credproc login ORG/ENV") -> str:
    """The code from the redirect, after checking `state` (CSRF, RFC 6749 §10.12) and, when sent,
    `iss` (RFC 9207, mix-up attacks)."""
    if not secrets.compare_digest(str(params.get("state", "")), state):
        raise TokenError("the login redirect carried the wrong `state`: it does not answer the login credproc "
                         "started (a stale browser tab, or a forged request); nothing was accepted",
                         hint=f"run `{again}` again")
    if "iss" in params and issuer and params["iss"] != issuer:
        raise TokenError(f"the login redirect came from issuer {params['iss']!r}, expected {issuer!r}")
    if "error" in params:
        description = params.get("error_description")
        detail = params["error"] + (f" ({description})" if description else "")
        raise OAuthError(f"the login was not completed: {detail}", params["error"])
    if not params.get("code"):
        raise TokenError("the login redirect carried no authorization code")
    return params["code"]


def _open_browser(url: str, say) -> None:
    """Open ``url`` with the user's browser (webbrowser, honouring $BROWSER) from a helper process
    whose stdin/stdout/stderr are /dev/null, in its own session.

    Why a helper: a browser (or a $BROWSER command webbrowser waits for) can live for hours. Under
    credential_process, our stdout is the caller's pipe: a browser inheriting it would make botocore
    wait for EOF, and its chatter would corrupt the JSON. Nor may the wait block the login. The URL
    goes through a pipe, not argv."""
    import subprocess

    script = ("import os, sys, webbrowser\n"
              "url = sys.stdin.readline().strip()\n"
              "os.dup2(os.open(os.devnull, os.O_RDONLY), 0)\n"
              "sys.exit(0 if webbrowser.open(url) else 1)\n")
    try:
        helper = subprocess.Popen([sys.executable, "-I", "-c", script], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                  close_fds=True)
        helper.stdin.write((url + "\n").encode("utf-8"))
        helper.stdin.close()
        failed = helper.wait(timeout=BROWSER_CHECK_SECONDS) != 0
    except subprocess.TimeoutExpired:
        failed = False  # still running: a browser that webbrowser waits for
    except OSError:
        failed = True
    if failed:
        say("(could not open a browser: open the URL above yourself)")


# --- the device authorization grant (RFC 8628) ---------------------------------------------------

def device_login(meta: dict, client: Client, *, scopes: list, say, extra: "dict | None" = None,
                 sleep=time.sleep, clock=time.monotonic, slow_down_step: "float | None" = None,
                 again: str = "credproc login ORG/ENV") -> dict:
    """Start a device authorization, show the code and URL, poll as the server asks -> token response."""
    endpoint = meta.get("device_authorization_endpoint")
    if not isinstance(endpoint, str):
        raise TokenError(f"the issuer {meta.get('issuer')} does not support the device flow",
                         hint="log in with the browser flow (flow: browser) on a machine with a browser")
    status, device = _request(endpoint, form=client.form(scope=" ".join(scopes), **(extra or {})),
                              auth=client.auth(), what="device authorization endpoint")
    if status != 200:
        raise _oauth_error(device, status, "device authorization endpoint")
    for name in ("device_code", "user_code", "verification_uri"):
        if not isinstance(device.get(name), str):
            raise TokenError(f"the device authorization endpoint answered without {name}")
    # the server's strings reach a terminal: escape control characters (errors.printable)
    say(printable(f"To log in, open {device['verification_uri']} and enter the code: {device['user_code']}"))
    if isinstance(device.get("verification_uri_complete"), str):
        say(printable(f"(or open {device['verification_uri_complete']})"))
    return poll_device(meta, client, device, sleep=sleep, clock=clock, slow_down_step=slow_down_step, again=again)


def poll_device(meta: dict, client: Client, device: dict, *, sleep=time.sleep, clock=time.monotonic,
                slow_down_step: "float | None" = None, again: str = "credproc login ORG/ENV") -> dict:
    interval = _positive(device.get("interval"), DEFAULT_DEVICE_INTERVAL)
    step = _slow_down_step() if slow_down_step is None else slow_down_step
    deadline = clock() + _positive(device.get("expires_in"), 600)
    form = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"]}
    while True:
        sleep(interval)
        if clock() > deadline:
            raise TokenError("the device code expired before the login was approved",
                             hint=f"run `{again} --device` again and approve it in time")
        status, document = token_request(meta, client, form)
        if status == 200:
            return _token_response(status, document, "token endpoint")
        error = document.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":  # the server wants fewer polls: permanently longer interval
            interval += step
            continue
        if error == "expired_token":
            raise TokenError("the device code expired before the login was approved",
                             hint=f"run `{again} --device` again and approve it in time")
        if error == "access_denied":
            raise OAuthError("the login was denied at the identity provider", error)
        raise _oauth_error(document, status, "token endpoint")


def _slow_down_step() -> float:
    # Tests shorten RFC 8628's fixed 5 seconds; nothing else should set this.
    return _positive(settings.device_slow_down_seconds(), SLOW_DOWN_STEP_SECONDS)


def _positive(value, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


# --- token validation ----------------------------------------------------------------------------

class Jwks:
    """The issuer's signing keys, fetched on first use and once more when a `kid` is unknown
    (the issuer rotated its keys)."""

    def __init__(self, uri: str):
        self.uri = uri
        self._keys = None
        self._refetched = False

    def _fetch(self) -> list:
        status, document = _request(self.uri, what="JWKS endpoint")
        keys = document.get("keys") if status == 200 else None
        if not isinstance(keys, list):
            raise TokenError(f"the JWKS at {self.uri} answered HTTP {status} without a `keys` list")
        return [k for k in keys if isinstance(k, dict)]

    def key_for(self, header: dict) -> "dict | None":
        fetched_now = self._keys is None
        if fetched_now:
            self._keys = self._fetch()
        key = _select_key(self._keys, header)
        if key is None and not fetched_now and not self._refetched:
            self._keys, self._refetched = self._fetch(), True
            key = _select_key(self._keys, header)
        return key


_KTY = {"RS256": "RSA", "ES256": "EC"}


def _select_key(keys: list, header: dict) -> "dict | None":
    alg = header.get("alg")
    candidates = [k for k in keys if k.get("kty") == _KTY.get(alg) and k.get("use", "sig") == "sig"
                  and k.get("alg", alg) == alg]
    kid = header.get("kid")
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
    elif len(candidates) > 1:  # no kid and several keys: ambiguous, refuse rather than guess
        return None
    return candidates[0] if candidates else None


def verify_signature(token: str, header: dict, jwk: dict) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes

    signing_input, _, signature_text = token.rpartition(".")
    try:
        signature = jwt.b64url_decode(signature_text)
        if header["alg"] == "RS256":
            from cryptography.hazmat.primitives.asymmetric import padding, rsa

            public = rsa.RSAPublicNumbers(_jwk_int(jwk, "e"), _jwk_int(jwk, "n")).public_key()
            public.verify(signature, signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        else:  # ES256: the JWS signature is r || s (RFC 7518 §3.4), cryptography wants DER
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

            if jwk.get("crv") != "P-256" or len(signature) != 64:
                return False
            public = ec.EllipticCurvePublicNumbers(_jwk_int(jwk, "x"), _jwk_int(jwk, "y"), ec.SECP256R1()).public_key()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def _jwk_int(jwk: dict, name: str) -> int:
    return int.from_bytes(jwt.b64url_decode(jwk[name]), "big")


def validate_token(token: str, jwks: Jwks, *, issuer: str, audience: str, what: str = "ID token",
                   nonce: "str | None" = None, client_id: "str | None" = None, now: "float | None" = None) -> dict:
    """Check signature (RS256/ES256 against the JWKS), `iss`, `aud`, `exp` (and `nbf`), and, when
    given, `nonce` and `azp`; return the claims. TokenError names what is wrong, never the token."""
    source = f"{issuer} ({what})"
    header, payload = jwt.decode_unverified(token, source=source)
    alg = header.get("alg")
    if alg not in SUPPORTED_ALGORITHMS:
        raise TokenError(f"the {what} from {issuer} is signed with {alg!r}; credproc accepts only "
                         f"{', '.join(SUPPORTED_ALGORITHMS)}")
    key = jwks.key_for(header)
    if key is None:
        raise TokenError(f"the {what} from {issuer} is signed with a key (kid {header.get('kid')!r}) that is "
                         f"not in the issuer's JWKS ({jwks.uri})")
    if not verify_signature(token, header, key):
        raise TokenError(f"the {what} from {issuer} has a bad signature: it does not verify against the "
                         f"issuer's JWKS ({jwks.uri})")
    jwt.check_claims(payload, issuer=issuer, audience=audience, now=now, source=source)
    if nonce is not None and not secrets.compare_digest(str(payload.get("nonce", "")), nonce):
        raise TokenError(f"the {what} from {issuer} has the wrong `nonce`: it was not issued for the login "
                         "credproc started (a replayed or substituted token); nothing was accepted")
    azp = payload.get("azp")
    if client_id is not None and azp is not None and azp != client_id:
        raise TokenError(f"the {what} from {issuer} was issued to another client: `azp` is {azp!r}, "
                         f"expected {client_id!r}")
    return payload


def require_https(url: str, what: str) -> None:
    """Refuse plain http except on loopback (RFC 8252 §8.3): tokens must not cross a network in clear."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    raise ConfigError(f"{what} must be an https URL (plain http only on 127.0.0.1/localhost), got {url!r}")
