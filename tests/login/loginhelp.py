"""Helpers for the login tests: the oidc-provider server process, a headless "person" who logs in
through the server's own HTML pages, environments that use `oidc.token.login`, and credproc runs."""
import html.parser
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/esc-dev"
SESSION = "credproc-login"
PUBLIC_CLIENT = "credproc-test"
CONFIDENTIAL_CLIENT = "credproc-confidential"
CONFIDENTIAL_SECRET = "credproc-test-secret-0123456789abcdef"
REF = "acme/dev"
SERVER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oidc_server")

ENV_TEMPLATE = """\
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: {role}
          sessionName: {session}
          duration: 1h
          token:
            login:
{login}
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
    AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
    AWS_SESSION_TOKEN: ${{aws.login.sessionToken}}
"""


def write_login_env(ref: str, issuer: str, *, role: str = ROLE, **login) -> None:
    """An environment in the store whose aws-login token is `login: {issuer, clientId, ...}`."""
    from credproc.store.store import Store, parse_name

    settings = {"issuer": issuer, "clientId": PUBLIC_CLIENT, **login}
    lines = "\n".join(f"              {key}: {json.dumps(value)}" for key, value in settings.items())
    text = ENV_TEMPLATE.format(role=role, session=SESSION, login=lines)
    Store().write(parse_name(ref), text.encode())


# --- the server --------------------------------------------------------------------------------

class OidcServer:
    """`node server.js` on 127.0.0.1 and a free port; token-endpoint calls logged to a file."""

    def __init__(self, workdir, **settings):
        self.log_path = os.path.join(str(workdir), "token-log.jsonl")
        env = {**os.environ, "TOKEN_LOG": self.log_path, **{k: str(v) for k, v in settings.items()}}
        self.process = subprocess.Popen(["node", "server.js"], cwd=SERVER_DIR, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=open(os.path.join(str(workdir), "server.err"), "wb"))
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the oidc test server did not start: " + open(os.path.join(str(workdir), "server.err")).read())
        self.issuer = json.loads(line)["issuer"]
        deadline = time.monotonic() + 10
        while True:
            try:
                self.discovery = get_json(self.issuer + "/.well-known/openid-configuration")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def token_calls(self, since: int = 0) -> list:
        """Token-endpoint and revocation calls logged by the server, from line ``since`` on."""
        try:
            with open(self.log_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines[since:] if line.strip()]

    def mark(self) -> int:
        return len(self.token_calls())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


# --- a headless person -------------------------------------------------------------------------

class _Forms(html.parser.HTMLParser):
    """Every <form> with its action and inputs; buttons outside a form join it through form=ID."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._current = None
        self._buttons = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"id": attrs.get("id"), "action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name"):
            self._current["fields"][attrs["name"]] = attrs.get("value") or ""
        elif tag == "button" and attrs.get("name"):
            self._buttons.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None

    def buttons_for(self, form) -> list:
        return [b for b in self._buttons if b.get("form") == form["id"]]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Person:
    """Logs in through the server's pages with plain HTTP: keeps cookies, follows redirects by hand,
    fills the login form (any login and password), approves consent, enters device codes."""

    def __init__(self, login: str = "alice"):
        self.login = login
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
        self.pages = []

    def _open(self, url: str, form: "dict | None" = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            response = self.opener.open(urllib.request.Request(url, data=data), timeout=10)
        except urllib.error.HTTPError as err:
            response = err
        body = response.read().decode("utf-8", "replace")
        self.pages.append((url, response.status if hasattr(response, "status") else response.code))
        return response.status if hasattr(response, "status") else response.code, response.headers, body

    def walk(self, url: str, *, stop=None, user_code: "str | None" = None,
             deny: bool = False, max_steps: int = 20) -> str:
        """Follow redirects and submit forms from ``url``. Returns the first redirect target for
        which ``stop(target)`` is true (not fetched), else the URL of the last page (no form left)."""
        form = None
        aborted = False
        for _ in range(max_steps):
            status, headers, body = self._open(url, form)
            form = None
            if aborted:  # the server shows its "aborted" page (with a fresh input form): done
                return url
            if status in (301, 302, 303, 307, 308):
                target = urllib.parse.urljoin(url, headers["Location"])
                if stop is not None and stop(target):
                    return target
                url = target
                continue
            parser = _Forms()
            parser.feed(body)
            if status != 200 or not parser.forms:
                if status >= 400:
                    raise AssertionError(f"the server answered {status} at {url}: {body[:300]}")
                return url
            page_form = parser.forms[0]
            fields = dict(page_form["fields"])
            if "login" in fields:
                fields.update(login=self.login, password="any password")
            if "user_code" in fields and user_code is not None and not fields["user_code"]:
                fields["user_code"] = user_code
            if deny:
                for button in parser.buttons_for(page_form):
                    if button.get("name") == "abort":
                        fields["abort"] = button.get("value", "yes")
                        aborted = True
            url = urllib.parse.urljoin(url, page_form["action"])
            form = fields
        raise AssertionError("too many steps through the login pages")

    def authorize(self, authorization_url: str, *, tamper=None) -> str:
        """Log in and consent; deliver the redirect to the 127.0.0.1 listener -> the callback URL.
        ``tamper(url) -> url`` may change the callback before it is delivered (state tests)."""
        callback = self.walk(authorization_url, stop=lambda target: urllib.parse.urlsplit(target).path == "/callback")
        if urllib.parse.urlsplit(callback).path != "/callback":
            raise AssertionError(f"expected the redirect to the loopback callback, got {callback}")
        if tamper is not None:
            callback = tamper(callback)
        try:
            urllib.request.urlopen(callback, timeout=10).read()
        except urllib.error.HTTPError:
            pass  # the listener answers 400 for a refused callback; credproc reports why
        return callback

    def approve_device(self, verification_uri: str, user_code: str, deny: bool = False) -> str:
        return self.walk(verification_uri, user_code=user_code, deny=deny)


# --- credproc runs -----------------------------------------------------------------------------

def credproc_argv(*args) -> list:
    return [sys.executable, "-m", "credproc", *args]


class Running:
    """A credproc child whose stderr is read line by line in a thread (no buffering surprises)."""

    def __init__(self, *args, env=None):
        import queue
        import threading

        self.proc = subprocess.Popen(credproc_argv(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=True)
        self.lines = []
        self._queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, predicate, timeout: float = 20.0) -> str:
        import queue

        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"no matching stderr line within {timeout}s; read: {self.lines}")
            if predicate(line):
                return line

    def finish(self, timeout: float = 30.0) -> "tuple[int, str, str]":
        """(exit code, stdout, all of stderr)."""
        out = self.proc.stdout.read()
        self.proc.wait(timeout)
        self._reader.join(timeout)
        return self.proc.returncode, out, "\n".join(self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_credproc(*args, env=None) -> Running:
    return Running(*args, env=env)


def run_credproc(*args, env=None, timeout: float = 60) -> subprocess.CompletedProcess:
    # imported here: fake_browser.py imports this module without tests/ on sys.path
    from support.runner import credproc_process

    return credproc_process(*args, env=env, text=True, timeout=timeout)


# --- helpers for "the tokens have expired" ---------------------------------------------------------

def expire_tokens_and_credentials():
    """As if an hour had passed: the cached ID tokens are past their exp, the STS keys are gone."""
    from credproc import cache
    from credproc.identity.tokens import login as login_source

    for key, entry in cache.list_entries(login_source.CACHE_KIND):
        cache.write_entry(login_source.CACHE_KIND, key, {**entry, "exp": int(time.time()) - 5})
    cache.clear_kind("creds")
    cache.clear_kind("env")


def saved_login(issuer, client_id="credproc-test"):
    from credproc.identity import tokenstore
    from credproc.identity.tokens.login import LoginConfig

    return tokenstore.load(LoginConfig({"issuer": issuer, "clientId": client_id}).identity_key())


def grants(calls):
    return [(c["endpoint"], c["grant_type"], c["status"], c["error"]) for c in calls]


# --- logging in and getting credentials -----------------------------------------------------------

def browser_login(ref=REF, person=None, tamper=None, extra_args=()):
    """`credproc login REF --no-browser`, with a person driving the printed URL -> (exit code, stderr)."""
    proc = start_credproc("login", ref, "--no-browser", "--timeout", "30", *extra_args)
    try:
        url = proc.wait_line(lambda line: line.startswith("http"))
        (person or Person()).authorize(url, tamper=tamper)
        code, _out, stderr = proc.finish()
    finally:
        proc.kill()
    return code, stderr, url


def process_json(ref=REF, *args):
    done = run_credproc("process", ref, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
