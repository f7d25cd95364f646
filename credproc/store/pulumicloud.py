"""`pulumi:ORG/PROJECT/ENV`: an environment opened by Pulumi Cloud (or a self-hosted Pulumi service).

Read by every command that reads an environment (credproc.store.environments.open_environment sends
these refs here); commands that change one refuse them (credproc.store.store.parse_name).

The login, as the Pulumi CLI has it (resolve_login):
    backend  PULUMI_BACKEND_URL, else the `current` backend of the CLI's credentials.json
             ($PULUMI_HOME, else ~/.pulumi), else https://api.pulumi.com; a base URL (`/api/esc` is
             added); https, or plain http to a loopback IP address or `localhost` only
    token    PULUMI_ACCESS_TOKEN, else credentials.json's accessTokens[backend]; printable ASCII
             without spaces (else TokenError, exit 4)
The token is a secret: it is sent in the Authorization header by the SDK and nowhere else (never in
a message, a log line, an argument or the cache; the cache holds sha256(backend, token) only; a
message quoting the service has it, and its base64 forms, redacted: token_forms).

Opening (the official `pulumi-esc-sdk`, imported here only, on a cache miss):
    GET  /api/esc/environments/ORG/PROJECT/ENV              the YAML definition (and its imports'):
                                                            how long its aws-login credentials live
    POST /api/esc/environments/ORG/PROJECT/ENV/open?duration=...     -> {"id": session}
    GET  /api/esc/environments/ORG/PROJECT/ENV/open/{session}        -> {"properties": {...}}
The opened `properties` (ESC's esc.Value tree: value, secret, unknown, trace) become credproc's
Value, so rendering, masking and credential extraction are those of local environments; AWS secret
keys and session tokens are secret whatever the service's flag says (aws_secret_strings).
Bounds: the whole open within CREDPROC_REFRESH_TIMEOUT (open_at_service); answers read raw and
decoded here within MAX_ANSWER_BYTES (gzip too), parsed within MAX_ANSWER_DEPTH (bounded_json);
definitions read within MAX_DEFINITION_BYTES and parsed by credproc.lang.syntax (no aliases, 256
levels), anything unreadable counting as "cannot be read" (the 1h bound).

Expiry (ESC reports none for AWS keys; see lifetime_of): open time + the shortest aws-login
`oidc.duration` in the definition and its imports (ESC's default 2h when none is given), never more
than DEFAULT_LIFETIME when some definition cannot be read or holds no oidc login, never more than
12h; the open session is requested for exactly that long, so it is never shorter.

Cache: one entry of kind "pulumi" per (ref, backend, sha256 of backend and token), written under
the refresh lock of its key; a fresh entry (the refresh margin left) is used without any request.
"""
import json
import time
import urllib.parse
from dataclasses import dataclass, field

from credproc import cache, settings
from credproc.errors import ConfigError, DiagnosticsError, TokenError, TransientError, printable, redact
from credproc.store.store import PulumiName, parse_pulumi_name

CACHE_KIND = "pulumi"
DEFAULT_BACKEND = "https://api.pulumi.com"
ESC_PATH = "/api/esc"
DEFAULT_LIFETIME = 3600        # seconds: when the aws-login duration cannot be read
ESC_LOGIN_DEFAULT = 2 * 3600   # ESC's aws-login oidc.duration when the definition gives none
MAX_LIFETIME = 12 * 3600       # STS's longest session
MAX_DEFINITIONS = 10           # definitions read (the root and its imports) to find the durations
REQUEST_TIMEOUT = (10.0, 30.0)  # connect, read (seconds), each cut to what is left of the refresh's deadline
MAX_ATTEMPTS = 2               # a 5xx, a 429 or a network failure is tried once more (never after Retry-After)
RETRY_PAUSE = 0.5
MAX_CREDENTIALS_BYTES = 1024 * 1024
MAX_DEFINITION_BYTES = 1024 * 1024  # lang.syntax.MAX_SOURCE_BYTES: nothing larger is an environment
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an answer to open or read, decoded (gzip included)
MAX_ANSWER_DEPTH = 2 * 256 + 8      # JSON nesting of an answer: 256 esc.Value levels (lang.syntax.MAX_DEPTH)


# --- the login -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PulumiLogin:
    backend: str                         # base URL, e.g. https://api.pulumi.com (no path)
    token: str = field(repr=False)       # never shown
    source: str = ""                     # where the token came from, for messages

    @property
    def identity(self) -> str:
        """sha256 of backend and token: what a cache entry is bound to (never the token itself)."""
        return cache.sha256_hex(b"credproc-pulumi-login\0" + self.backend.encode("utf-8") + b"\0"
                                + self.token.encode("utf-8", "surrogateescape"))

    @property
    def api_url(self) -> str:
        return self.backend + ESC_PATH


def resolve_login() -> PulumiLogin:
    """The backend and token the Pulumi CLI would use; TokenError (exit 4) without a token."""
    from credproc import paths

    token = settings.pulumi_access_token()
    backend_setting = settings.pulumi_backend_url()
    credentials_path = paths.pulumi_credentials_file()
    saved = _saved_logins(credentials_path) if not (token and backend_setting) else {}
    if backend_setting:
        backend = check_backend_url(backend_setting, settings.PULUMI_BACKEND_URL)
    elif isinstance(saved.get("current"), str) and saved["current"]:
        backend = check_backend_url(saved["current"], f"the current login of {credentials_path}")
    else:
        backend = DEFAULT_BACKEND
    if token:
        return PulumiLogin(backend, _checked_token(token, settings.PULUMI_ACCESS_TOKEN, backend),
                           settings.PULUMI_ACCESS_TOKEN)
    token = _saved_token(saved, backend)
    if not token:
        where = f"{credentials_path} has no token for {backend}" if saved else f"no {credentials_path}"
        raise TokenError(f"no Pulumi access token for {backend}: {settings.PULUMI_ACCESS_TOKEN} is not set "
                         f"and {where}", hint=f"set {settings.PULUMI_ACCESS_TOKEN}, or run `pulumi login {backend}`")
    return PulumiLogin(backend, _checked_token(token, f"the token {credentials_path} holds for {backend}", backend),
                       credentials_path)


def _checked_token(token: str, where: str, backend: str) -> str:
    """The token, if it can go into an Authorization header as is: printable ASCII without spaces
    (a Pulumi access token is `pul-` and hex); TokenError (exit 4) otherwise, never showing it."""
    if all("!" <= ch <= "~" for ch in token):
        return token
    raise TokenError(f"{where} is not a Pulumi access token: it holds spaces, control or non-ASCII characters",
                     hint=f"set {settings.PULUMI_ACCESS_TOKEN} to the token itself, or run `pulumi login {backend}`")


def _saved_logins(path: str) -> dict:
    """The Pulumi CLI's credentials.json ({} when there is none); ConfigError when it is not JSON."""
    data = cache.read_capped(path, MAX_CREDENTIALS_BYTES)
    if data is None:
        return {}
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        raise ConfigError(f"cannot read {path}: not JSON", hint="run `pulumi login` again") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"cannot read {path}: not a JSON object", hint="run `pulumi login` again")
    return doc


def _saved_token(saved: dict, backend: str) -> str:
    tokens = saved.get("accessTokens")
    if not isinstance(tokens, dict):
        return ""
    for url, token in tokens.items():
        if isinstance(url, str) and isinstance(token, str) and _normalised(url) == backend:
            return token.strip()
    return ""


def _normalised(url: str) -> "str | None":
    try:
        return check_backend_url(url, "a saved login")
    except ConfigError:  # a login to another kind of backend: never ours
        return None


def check_backend_url(url: str, where: str) -> str:
    """The service's base URL, normalised (scheme://host[:port]); ConfigError (exit 2) otherwise.
    Plain http only to a loopback address: the token must not cross a network in clear."""
    from urllib.parse import urlsplit

    from credproc.identity.http import is_loopback_host

    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (a bad port raises ValueError here)
    except ValueError:
        raise ConfigError(f"{where} is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ConfigError(f"{where} names a backend without Pulumi ESC ({shown})",
                          hint="log in to Pulumi Cloud or a self-hosted Pulumi service: pulumi login https://...")
    if not host or parts.username is not None or parts.password is not None:
        raise ConfigError(f"{where} must be https://HOST[:PORT] (no user name or password in it)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{where} must be the service's base URL, e.g. {DEFAULT_BACKEND} "
                          f"(credproc adds {ESC_PATH})")
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigError(f"{where} uses plain http to {printable(host)}: the access token would travel "
                          "in clear", hint="use https (plain http is accepted for loopback addresses, e.g. 127.0.0.1, and localhost only)")
    return f"{scheme}://{parts.netloc.lower()}"


# --- opening, with the cache ------------------------------------------------------------------------

@dataclass(frozen=True)
class PulumiOpened:
    """What credproc.store.environments.open_environment turns into its Opened."""
    name: PulumiName
    value: object        # credproc.lang.values.Value
    records: list        # awscreds records: every access key id with the derived expiration
    bindings: list       # [cache.Binding("pulumi", ref)], or [] when the login changed meanwhile


def open_pulumi(ref: str) -> PulumiOpened:
    """``pulumi:ORG/PROJECT/ENV`` opened: from the cache while it has the refresh margin left, else
    at the Pulumi service under the key's refresh lock."""
    from credproc import lock

    name = parse_pulumi_name(ref)
    before = cache.Binding.now("pulumi", name.full)
    login = resolve_login()
    key = cache.make_key({"kind": "pulumi-open", "environment": name.full, "backend": login.backend,
                          "identity": login.identity})
    margin = cache.refresh_margin_seconds()
    entry = _fresh(key, margin)
    if entry is None:
        with lock.refresh_lock(key, environment=name.full):
            entry = _fresh(key, margin)  # opened by another process while we waited?
            if entry is None:
                entry = open_at_service(name, login)
                _store(key, entry)
    # The index binds its answer to the login read before the one used; they must be the same read.
    same_login = cache.binding_digest("pulumi", name.full) == before.digest
    root = {"value": _properties(entry)}
    value = to_value(root, aws_secret_strings(root))
    return PulumiOpened(name, value, credential_records(value, entry["expiration"]), [before] if same_login else [])


def _fresh(key: str, margin: float) -> "dict | None":
    entry = cache.read_entry(CACHE_KIND, key)
    if entry is None or not isinstance(entry.get("expiration"), str) or _properties(entry) is None:
        return None
    return entry if cache.is_fresh(entry, margin) else None


def _properties(entry: dict) -> "dict | None":
    from credproc.lang.values import Number

    try:
        doc = json.loads(entry.get("environment_json") or "", parse_float=Number, parse_int=Number)
    except (TypeError, ValueError):
        return None
    properties = doc.get("properties") if isinstance(doc, dict) else None
    return properties if isinstance(properties, dict) else ({} if isinstance(doc, dict) else None)


def _store(key: str, entry: dict) -> None:
    import sys

    try:
        cache.write_entry(CACHE_KIND, key, entry)
    except (OSError, ValueError) as exc:  # the values are still good; only the next call opens again
        sys.stderr.write(f"credproc: warning: could not cache {entry['environment']} ({type(exc).__name__})\n")


def open_at_service(name: PulumiName, login: PulumiLogin) -> dict:
    """Open the environment and read the open session -> the cache entry (the session's body as
    received, the expiry derived by lifetime_of), all of it (definitions, open, read, the retry)
    within one deadline, CREDPROC_REFRESH_TIMEOUT: no request starts after it, each request's
    timeouts are cut to what is left of it, and a body is read a piece at a time with the deadline
    checked between pieces (a service that trickles its answer a byte at a time is given up)."""
    from credproc import lock

    seconds = lock.refresh_timeout()
    client = _client(login)  # the imports here: a thread left behind must hold no import lock
    import credproc.lang.syntax  # noqa: F401
    deadline = lock.Deadline(seconds)
    return _within(lambda: _open_entry(client, name, login, deadline), deadline, name, login)


def _open_entry(client, name: PulumiName, login: PulumiLogin, deadline) -> dict:
    """MAX_ATTEMPTS for a 5xx, a 429 or a network failure; the pause never sleeps past the deadline
    and a Retry-After is not waited for (the deadline would pass first)."""
    lifetime, why = lifetime_of(client, name, deadline)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        opened_at = time.time()  # before the request: the credentials cannot be older than this
        try:
            raw = _open_and_read(client, name, login, lifetime, deadline)
            break
        except TransientError:
            if attempt == MAX_ATTEMPTS or deadline.remaining() <= RETRY_PAUSE:
                raise
            time.sleep(RETRY_PAUSE)
    return {"environment": name.full, "backend": login.backend, "opened_at": int(opened_at),
            "expiration": cache.format_expiration(opened_at + lifetime), "lifetime": lifetime,
            "lifetime_from": why, "environment_json": raw}


class DeadlinePassed(Exception):
    """The refresh's deadline passed: no further request, no further read."""


DEADLINE_GRACE = 3.0  # seconds the worker gets past the deadline to notice it (each wait ends by then)


def _within(work, deadline, name: PulumiName, login: PulumiLogin):
    """``work()`` (which keeps ``deadline`` itself) in a daemon thread, so that nothing it does can
    hold the refresh lock past the deadline: a worker still running DEADLINE_GRACE after it (a name
    lookup that hangs) is left behind, its result discarded (nothing it does reaches the cache)."""
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = work()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread as is
            outcome["error"] = err

    worker = threading.Thread(target=target, name=WORKER, daemon=True)
    worker.credproc_sockets = []
    _track_sockets()
    worker.start()
    worker.join(deadline.seconds + DEADLINE_GRACE)
    if worker.is_alive():
        _shut(worker.credproc_sockets)  # a read it is stuck in (headers trickling in) fails at once...
        worker.join(DEADLINE_GRACE)  # ...so that it is not still running while the interpreter shuts down
    if worker.is_alive() or isinstance(outcome.get("error"), DeadlinePassed) or (
            "error" in outcome and deadline.remaining() <= 0):
        raise TransientError(f"{name.full}: opening it at the Pulumi service at {login.backend} took longer "
                             f"than {deadline.seconds:g}s", hint=f"check the network; {settings.REFRESH_TIMEOUT} sets the limit")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


WORKER = "credproc-pulumi-open"


def _track_sockets() -> None:
    """Every socket urllib3 opens (through urllib3.util.connection.create_connection, wrapped here
    once per process) in a thread with a ``credproc_sockets`` list is added to that list."""
    import threading

    from urllib3.util import connection

    opener = connection.create_connection
    if getattr(opener, "credproc_tracks", False):
        return

    def create_connection(*args, **kwargs):
        sock = opener(*args, **kwargs)
        sockets = getattr(threading.current_thread(), "credproc_sockets", None)
        if sockets is not None:
            sockets.append(sock)
        return sock

    create_connection.credproc_tracks = True
    connection.create_connection = create_connection


def _shut(sockets: list) -> None:
    import socket

    for sock in list(sockets):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _timeout(deadline) -> tuple:
    """(connect, read) seconds for one request: the usual ones, cut to what is left of the deadline
    (DeadlinePassed when nothing is)."""
    left = deadline.remaining()
    if left <= 0:
        raise DeadlinePassed()
    return (min(REQUEST_TIMEOUT[0], left), min(REQUEST_TIMEOUT[1], left))


def _client(login: PulumiLogin):
    import pulumi_esc_sdk as esc
    import urllib3

    configuration = esc.Configuration(host=login.backend, access_token=login.token)
    # No retry, redirect or Retry-After wait of urllib3's own: open_at_service retries once, within
    # its deadline (urllib3 would sleep for as long as a 429's Retry-After says, and multiply tries).
    configuration.retries = urllib3.Retry(total=0, redirect=False, raise_on_redirect=False,
                                          respect_retry_after_header=False)
    from credproc.identity.http import is_loopback_host

    if is_loopback_host(urllib.parse.urlsplit(login.backend).hostname or ""):
        # Plain http is allowed only because the token stays on this machine: never via a proxy
        # (HTTP_PROXY & co.), which may be elsewhere. "" (not None) turns the SDK's lookup off.
        configuration.proxy = ""
    return esc.EscClient(configuration)  # adds /api/esc


def _open_and_read(client, name: PulumiName, login: PulumiLogin, lifetime: int, deadline) -> str:
    import pulumi_esc_sdk as esc

    opened, _ = _answer("open", name, login, lambda: client.esc_api.open_environment_without_preload_content(
        name.org, name.project, name.env, duration=f"{lifetime}s", _request_timeout=_timeout(deadline)), deadline)
    session = _call("open", name, login, lambda: esc.OpenEnvironment.from_dict(opened).id)
    if not isinstance(session, str) or not session:
        raise _unreadable("open", name, login, "no session id")
    doc, data = _answer("read", name, login, lambda: client.esc_api.read_open_environment_without_preload_content(
        name.org, name.project, name.env, session, _request_timeout=_timeout(deadline)), deadline)
    _call("read", name, login, lambda: esc.Environment.from_dict(doc))  # as the ESC SDK models it
    return data.decode("utf-8")


def _answer(what: str, name: PulumiName, login: PulumiLogin, request, deadline) -> "tuple[dict, bytes]":
    """(JSON object, body) answered to ``what`` (status 200): ``request()`` gives the unread
    response, read here within MAX_ANSWER_BYTES and parsed within MAX_ANSWER_DEPTH; a failure status
    is api_error's, anything else an answer the SDK cannot read (exit 6)."""
    from pulumi_esc_sdk.exceptions import ApiException

    status, data = _call(what, name, login, lambda: _body(request(), MAX_ANSWER_BYTES, deadline))
    if status != 200:
        raise api_error(what, name, login, ApiException(status=status, reason="", body=data.decode("utf-8", "replace")))
    try:
        doc = bounded_json(data)
    except ValueError as err:
        raise _unreadable(what, name, login, str(err)) from None
    if not isinstance(doc, dict):
        raise _unreadable(what, name, login, "not a JSON object")
    return doc, data


def _unreadable(what: str, name: PulumiName, login: PulumiLogin, why: str) -> TransientError:
    return TransientError(f"{name.full}: the Pulumi service at {login.backend} gave an answer to {what} that the "
                          f"ESC SDK cannot read ({why})")


class AnswerTooLarge(ValueError):
    pass


def _body(response, limit: int, deadline=None) -> "tuple[int, bytes]":
    """(status, body) of an unread urllib3 response: at most ``limit`` bytes after decoding, read raw
    and decompressed here with that bound (a gzip bomb never grows past it); AnswerTooLarge beyond.
    Read as it arrives (read1), the deadline checked between pieces (DeadlinePassed)."""
    import zlib

    try:
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        chunks, size = [], 0
        inflate = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        elif encoding != "identity":
            raise ValueError(f"Content-Encoding {printable(encoding)[:20]}")
        read = getattr(response, "read1", response.read)
        while True:
            if deadline is not None and deadline.remaining() <= 0:
                raise DeadlinePassed()
            raw = read(1 << 16, decode_content=False)
            if not raw:
                break
            if inflate is None:
                piece = raw
            else:
                piece = inflate.decompress(raw, limit + 1 - size)
                if inflate.unconsumed_tail:
                    raise AnswerTooLarge(limit)
            chunks.append(piece)
            size += len(piece)
            if size > limit:
                raise AnswerTooLarge(limit)
        return response.status, b"".join(chunks)
    finally:
        response.release_conn()


def bounded_json(data: bytes):
    """json.loads of a service answer with its nesting bounded (MAX_ANSWER_DEPTH): an answer nested
    deeper is refused before anything walks it recursively. ValueError for anything unreadable."""
    import re

    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        ch = token.group()
        if ch in "[{":
            depth += 1
            if depth > MAX_ANSWER_DEPTH:
                raise ValueError(f"nested deeper than {MAX_ANSWER_DEPTH} levels")
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen below MAX_ANSWER_DEPTH; never an internal error either
        raise ValueError("nested too deep") from None


def _call(what: str, name: PulumiName, login: PulumiLogin, request):
    """One SDK request; every failure becomes a one-line CredprocError without the token."""
    import urllib3
    from pulumi_esc_sdk.exceptions import ApiException, OpenApiException

    try:
        return request()
    except ApiException as err:
        raise api_error(what, name, login, err) from None
    except AnswerTooLarge as err:
        raise TransientError(f"{name.full}: the Pulumi service at {login.backend} answered {what} with more than "
                             f"{err.args[0] // (1024 * 1024)} MiB (credproc's limit)") from None
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise TransientError(f"{name.full}: cannot reach the Pulumi service at {login.backend} "
                             f"({type(err).__name__})", hint="check the network, or PULUMI_BACKEND_URL") from None
    except (OpenApiException, ValueError, UnicodeDecodeError, zlib_error()) as err:  # pydantic's ValidationError too
        raise _unreadable(what, name, login, type(err).__name__) from None


def zlib_error():
    import zlib

    return zlib.error


def api_error(what: str, name: PulumiName, login: PulumiLogin, err):
    status = err.status or 0
    at = f"the Pulumi service at {login.backend}"
    fix = f"set {settings.PULUMI_ACCESS_TOKEN} to a valid token, or run `pulumi login {login.backend}`"
    if status == 401:
        return TokenError(f"{name.full}: {at} refused the access token from {login.source} (401 Unauthorized)",
                          hint=fix)
    if status == 403:
        return TokenError(f"{name.full}: {at} does not let the access token from {login.source} open this "
                          "environment (403 Forbidden)", hint="ask for access, or " + fix)
    if status == 404:
        return ConfigError(f"environment {name.full} not found at {login.backend}",
                           hint=f"check the name (esc env ls {name.org})")
    if status == 400 and what == "open":
        return _diagnostics_error(name, login, err.body)
    if status == 0:
        return TransientError(f"{name.full}: cannot reach {at} ({_first_line(err.reason)})")
    if status == 429 or status >= 500:
        return TransientError(f"{name.full}: {at} answered {what} with HTTP {status}",
                              hint="try again later")
    return ConfigError(f"{name.full}: {at} answered {what} with HTTP {status}")


def _first_line(text) -> str:
    return printable(str(text or "").split("\n", 1)[0])[:80]


def _diagnostics_error(name: PulumiName, login: PulumiLogin, body) -> DiagnosticsError:
    """A 400 to open: the environment has errors; ESC lists them as EnvironmentDiagnostics."""
    try:
        doc = bounded_json(body or "")
    except (TypeError, ValueError):
        doc = None
    diagnostics = doc.get("diagnostics") if isinstance(doc, dict) else None
    lines = [_diagnostic_line(name, login, d) for d in diagnostics or () if isinstance(d, dict)]
    first = lines[0] if lines else f"{name.full}: the Pulumi service could not open the environment (400)"
    return DiagnosticsError(first, lines, hint=f"see `esc env check {name.path}`")


def _diagnostic_line(name: PulumiName, login: PulumiLogin, diagnostic: dict) -> str:
    """``pulumi:ORG/PROJECT/ENV:LINE:COL: SUMMARY``, as credproc prints a local diagnostic."""
    where = diagnostic.get("range")
    begin = where.get("begin") if isinstance(where, dict) else None
    at = f":{begin['line']}:{begin.get('column', 0)}" if isinstance(begin, dict) and isinstance(begin.get("line"), int) else ""
    summary = " ".join(str(diagnostic.get("summary", "")).split())
    return printable(redact(f"{name.full}{at}: {summary}", token_forms(login.token)))


def token_forms(token: str) -> list:
    """The token and its base64 forms (standard and URL-safe, with and without padding, also as the
    middle of a longer base64 text that holds it at any alignment), for errors.redact: a service
    may echo the token encoded (a decoded Basic header, a JWT-like blob)."""
    import base64

    forms = [token]
    raw = token.encode("utf-8", "surrogateescape")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        inner = encoded[(shift * 4 + 2) // 3:]  # the characters that depend on the token alone...
        if shift or len(raw) % 3:
            inner = inner.rstrip("=")
            inner = inner[:len(inner) - 1] if (shift + len(raw)) % 3 else inner  # ...not on what follows
        for text in {encoded, encoded.rstrip("="), inner}:
            forms += [text, text.translate(_URLSAFE)]
    return forms


_URLSAFE = str.maketrans("+/", "-_")


# --- how long the credentials live --------------------------------------------------------------------

def lifetime_of(client, name: PulumiName, deadline=None) -> "tuple[int, str]":
    """(seconds, why): the shortest aws-login oidc.duration of the definition and its imports (ESC's
    2h default when one gives none), with DEFAULT_LIFETIME as a bound when a definition cannot be
    read, a duration is not a literal, or no oidc login was found; never over MAX_LIFETIME."""
    durations, unsure = [], False
    todo, seen = [(name.project, name.env)], set()
    while todo and len(seen) < MAX_DEFINITIONS:
        project, env = todo.pop(0)
        if (project, env) in seen:
            continue
        seen.add((project, env))
        if deadline is not None and deadline.remaining() <= 0:
            raise DeadlinePassed()
        doc = _definition(client, name.org, project, env, deadline)
        if doc is None:
            unsure = True
            continue
        found, imports, odd = scan_definition(doc)
        durations += found
        unsure = unsure or odd
        todo += imports
    unsure = unsure or bool(todo) or not durations
    candidates = durations + ([DEFAULT_LIFETIME] if unsure else [])
    lifetime = int(min(min(candidates), MAX_LIFETIME))
    why = "aws-login duration" if not unsure else ("default" if not durations else "aws-login duration and default")
    return lifetime, why


def _definition(client, org: str, project: str, env: str, deadline=None) -> "dict | None":
    """The YAML definition, parsed with the bounds of a local one (credproc.lang.syntax: 1 MiB, 256
    levels, no aliases); None when it cannot be had or read (the default bound then applies)."""
    try:
        status, data = _definition_bytes(client, org, project, env, deadline)
    except Exception:  # no definition is no error: the open that follows says what is wrong
        return None
    if status != 200 or not data:
        return None
    from credproc.lang.syntax import parse_yaml, plain

    root, diagnostics = parse_yaml(f"{org}/{project}/{env}", data)
    if root is None or any(d.severity == "error" for d in diagnostics):
        return None
    doc = plain(root)
    return doc if isinstance(doc, dict) else None


def _definition_bytes(client, org: str, project: str, env: str, deadline=None) -> "tuple[int, bytes]":
    """(HTTP status, body) of GET .../ORG/PROJECT/ENV: the body unparsed (the SDK's model of a
    definition refuses some valid ones, e.g. a non-string environmentVariables entry), read within
    MAX_DEFINITION_BYTES (AnswerTooLarge beyond)."""
    timeout = REQUEST_TIMEOUT if deadline is None else _timeout(deadline)
    return _body(client.esc_api.get_environment_without_preload_content(org, project, env, _request_timeout=timeout),
                 MAX_DEFINITION_BYTES, deadline)


def scan_definition(doc: dict) -> "tuple[list, list, bool]":
    """(aws-login durations in seconds, imports as (project, env), odd): odd when a login's duration
    is not a literal credproc can read."""
    durations, odd = [], False
    from credproc.lang.syntax import provider_inputs

    for inputs in provider_inputs(doc.get("values"), "aws-login"):
        seconds = _login_seconds(inputs)
        if seconds is None:
            odd = True
        elif seconds:
            durations.append(seconds)
    return durations, _imports(doc.get("imports")), odd


def _login_seconds(inputs) -> "float | None":
    """An aws-login's oidc.duration in seconds (ESC's default when absent); 0 for static keys (no
    duration); None when it cannot be read."""
    if not isinstance(inputs, dict):
        return None
    oidc = inputs.get("oidc")
    if oidc is None and "static" in inputs:
        return 0
    if not isinstance(oidc, dict):
        return None
    raw = oidc.get("duration")
    return ESC_LOGIN_DEFAULT if raw is None else go_duration_seconds(raw)


def _imports(items) -> list:
    """(project, env) of each import: ``ENV`` (the default project) or ``PROJECT/ENV``, or a
    one-key map ``{NAME: {merge: ...}}``; interpolated names are not followed."""
    found = []
    for item in items if isinstance(items, list) else ():
        text = next(iter(item)) if isinstance(item, dict) and len(item) == 1 else item
        if isinstance(text, str) and text and "${" not in text:
            project, _, env = text.rpartition("/")
            found.append((project or "default", env))
    return found


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration_seconds(text) -> "float | None":
    """Go's time.ParseDuration (what ESC reads), positive values only; None otherwise."""
    import re

    if not isinstance(text, str) or not text:
        return None
    parts = re.findall(r"([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|μs|ms|s|m|h)", text)
    if "".join(number + unit for number, unit in parts) != text:
        return None
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return seconds if seconds > 0 else None


# --- the opened values ------------------------------------------------------------------------------

def to_value(node, secret_strings=frozenset()):
    """ESC's wire esc.Value (``{"value", "secret", "unknown", "trace"}``, members and items being
    esc.Values too) -> credproc.lang.values.Value. Anything else is a bad answer (TransientError).
    A string in ``secret_strings`` is secret whatever its flag says (aws_secret_strings)."""
    from credproc.lang.values import Number, Value

    if not isinstance(node, dict):
        raise TransientError("the Pulumi service answered with a value that is not an ESC value")
    inner = node.get("value")
    if isinstance(inner, dict):
        inner = {str(k): to_value(v, secret_strings) for k, v in inner.items()}
    elif isinstance(inner, list):
        inner = [to_value(v, secret_strings) for v in inner]
    elif not (inner is None or isinstance(inner, (bool, str, Number))):
        inner = Number(json.dumps(inner))
    trace = node.get("trace")
    if isinstance(trace, dict) and trace.get("base") is not None:
        trace = dict(trace, base=to_value(trace["base"], secret_strings))
    secret = node.get("secret") is True or (isinstance(inner, str) and not isinstance(inner, Number)
                                            and inner in secret_strings)
    return Value(inner, secret=secret, unknown=node.get("unknown") is True,
                 trace=trace if isinstance(trace, dict) else None)


SECRET_MEMBERS = ("secretAccessKey", "sessionToken")          # beside an accessKeyId, as aws-login gives them
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def aws_secret_strings(node) -> frozenset:
    """The AWS secret keys and session tokens of an opened environment: the string values of
    secretAccessKey/sessionToken beside an accessKeyId, and of AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN
    anywhere. A local environment gets them from aws-login, which always marks them secret; ESC does
    too, but credproc does not rely on the service's flag for them: each is secret wherever it occurs."""
    found, todo = set(), [node]
    while todo:
        current = todo.pop()
        inner = current.get("value") if isinstance(current, dict) else None
        if isinstance(inner, list):
            todo += inner
        if not isinstance(inner, dict):
            continue
        names = SECRET_VARIABLES + (SECRET_MEMBERS if "accessKeyId" in inner else ())
        for key, member in inner.items():
            text = member.get("value") if isinstance(member, dict) else None
            if key in names and isinstance(text, str) and text:
                found.add(text)
            todo.append(member)
    return frozenset(found)


def credential_records(value, expiration: str) -> list:
    """awscreds records giving every access key id of the opened values the derived expiration."""
    records = []
    _collect_key_ids(value, records, expiration)
    return records


def _collect_key_ids(value, records: list, expiration: str) -> None:
    inner = getattr(value, "value", None)
    items = inner.items() if isinstance(inner, dict) else enumerate(inner) if isinstance(inner, list) else ()
    for key, member in items:
        if key in ("accessKeyId", "AWS_ACCESS_KEY_ID") and isinstance(member.value, str):
            records.append({"access_key_id": member.value, "expiration": expiration})
        else:
            _collect_key_ids(member, records, expiration)


def definition_text(ref: str) -> bytes:
    """The environment's YAML definition as the service keeps it (for `env get`'s report)."""
    from pulumi_esc_sdk.exceptions import ApiException

    name = parse_pulumi_name(ref)
    login = resolve_login()
    client = _client(login)
    status, data = _call("get", name, login, lambda: _definition_bytes(client, name.org, name.project, name.env))
    if status != 200:
        raise api_error("get", name, login, ApiException(status=status, reason="", body=data.decode("utf-8", "replace")))
    return data
