"""{login: {...}}: an OIDC token from a person's interactive login (browser with PKCE, or device code).

    oidc:
      token:
        login:
          issuer: https://login.example.com          # discovery at ISSUER/.well-known/openid-configuration
          clientId: credproc                          # a public (native) client, normally
          scopes: [openid, offline_access]            # default; a list or a space-separated string
          audience: sts.amazonaws.com                 # optional: the access token's audience (sent as
                                                      # `audience` and `resource`); the ID token's aud
                                                      # is always the client id
          flow: auto                                  # auto | browser | device (auto: device when there
                                                      # is no browser: SSH, CI, container, no display)
          use: id_token                               # id_token | access_token (a JWT) goes to STS
          clientSecretEnv: VAR                        # confidential clients only: the secret's variable,
          clientSecretKeyring: NAME                   # ... or `keyring set credproc-client-secret NAME`

How a token is found (`fetch`, what `credproc process` does):

1. the cached token (kind "login", 0600) while it has more than TOKEN_MARGIN_SECONDS left;
2. else, under the identity lock (one per issuer + client id, shared by every environment and
   every process using that login), look again (another process may have just refreshed), then
   refresh silently with the saved refresh token (credproc.identity.tokenstore), validate, cache;
3. else a login is needed. Without `--auto-login` and a controlling terminal, LoginRequired at once
   (exit 3, hint `credproc login ORG/ENV`): no network call, no waiting on a person. With them,
   the login talks to /dev/tty only, never to stdout/stderr (botocore swallows stderr).

While an interactive login holds the identity lock it writes a status file beside the lock, so
that a non-interactive caller fails fast with "a login is in progress" instead of waiting for a
person. Every token is validated before use (credproc.identity.oidc.validate_token: signature against the
JWKS, iss, aud, exp, nonce).
"""
import json
import os
import time

from credproc import cache, settings
from credproc.errors import ConfigError, LoginRequired, TokenError
from credproc.identity.tokens.base import TokenSource

CACHE_KIND = "login"
TOKEN_MARGIN_SECONDS = 120          # STS must still accept the token when it arrives
INTERACTIVE_LOCK_TIMEOUT = 300.0    # a person is logging in: wait as long as a login may take
NONINTERACTIVE_LOCK_TIMEOUT = 30.0  # a refresh is a couple of HTTP calls
DEFAULT_SCOPES = ("openid", "offline_access")
FLOWS = ("auto", "browser", "device")
USES = ("id_token", "access_token")
KEYS = ("issuer", "clientId", "scopes", "audience", "flow", "use", "clientSecretEnv", "clientSecretKeyring")
CLIENT_SECRET_KEYRING_SERVICE = "credproc-client-secret"
LOGIN_TIMEOUT_SECONDS = 120.0     # a person at a browser; a countdown is shown meanwhile


class LoginConfig:
    """The parsed `login` mapping."""

    def __init__(self, value):
        if not isinstance(value, dict):
            raise ConfigError("oidc.token.login must be an object with at least `issuer` and `clientId`")
        if "clientSecret" in value:
            raise ConfigError("oidc.token.login.clientSecret must not be written in an environment",
                              hint="use clientSecretEnv: VARIABLE, or clientSecretKeyring: NAME "
                                   f"(`keyring set {CLIENT_SECRET_KEYRING_SERVICE} NAME`)")
        unknown = sorted(k for k in value if k not in KEYS)
        if unknown:
            raise ConfigError(f"unknown key `{unknown[0]}` in oidc.token.login; known keys: {', '.join(KEYS)}")
        from credproc.identity import oidc

        self.issuer = _required(value, "issuer")
        oidc.require_https(self.issuer, "oidc.token.login.issuer")
        self.client_id = _required(value, "clientId")
        self.scopes = _scopes(value.get("scopes", list(DEFAULT_SCOPES)))
        self.audience = _optional(value, "audience")
        self.flow = _choice(value, "flow", FLOWS)
        self.use = _choice(value, "use", USES)
        if self.use == "id_token" and "openid" not in self.scopes:
            raise ConfigError("oidc.token.login.scopes must include `openid` to get an ID token (use: id_token)")
        self.secret_env = _optional(value, "clientSecretEnv")
        self.secret_keyring = _optional(value, "clientSecretKeyring")
        if self.secret_env and self.secret_keyring:
            raise ConfigError("oidc.token.login takes clientSecretEnv or clientSecretKeyring, not both")

    @property
    def expected_audience(self) -> str:
        return self.audience if self.use == "access_token" and self.audience else self.client_id

    def identity_key(self) -> str:
        """One login (refresh token, lock) per issuer and client."""
        return cache.make_key({"login": {"issuer": self.issuer, "client_id": self.client_id}})

    def token_key(self) -> str:
        """The cached token also depends on what was asked for."""
        return cache.make_key({"login-token": {"issuer": self.issuer, "client_id": self.client_id,
                                               "scopes": self.scopes, "audience": self.audience, "use": self.use}})

    def client(self):
        from credproc.identity import oidc

        return oidc.Client(self.client_id, self._secret())

    def secret_source(self) -> "dict | None":
        """Where the client secret is read from (a name, never the secret), for the saved login."""
        if self.secret_env:
            return {"env": self.secret_env}
        if self.secret_keyring:
            return {"keyring": self.secret_keyring}
        return None

    @classmethod
    def of_saved_login(cls, meta: dict) -> "LoginConfig":
        """The config a saved login was made with (tokenstore's index), enough to revoke it."""
        value = {"issuer": meta.get("issuer"), "clientId": meta.get("client_id")}
        source = meta.get("client_secret") or {}
        if isinstance(source.get("env"), str):
            value["clientSecretEnv"] = source["env"]
        elif isinstance(source.get("keyring"), str):
            value["clientSecretKeyring"] = source["keyring"]
        return cls(value)

    def _secret(self) -> "str | None":
        if self.secret_env:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise ConfigError(f"oidc.token.login.clientSecretEnv names {self.secret_env}, which is not set")
            return secret
        if self.secret_keyring:
            try:
                import keyring

                secret = keyring.get_password(CLIENT_SECRET_KEYRING_SERVICE, self.secret_keyring)
            except Exception:
                secret = None
            if not secret:
                raise ConfigError(f"no client secret {self.secret_keyring!r} in the OS keyring",
                                  hint=f"keyring set {CLIENT_SECRET_KEYRING_SERVICE} {self.secret_keyring}")
            return secret
        return None

    def extra_parameters(self) -> dict:
        if self.use == "access_token" and self.audience:
            return {"audience": self.audience, "resource": self.audience}
        return {}


def _required(value: dict, name: str) -> str:
    text = value.get(name)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"oidc.token.login.{name} is required and must be a string")
    return text.strip()


def _optional(value: dict, name: str) -> "str | None":
    text = value.get(name)
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"oidc.token.login.{name} must be a non-empty string")
    return text.strip()


def _choice(value: dict, name: str, choices: tuple) -> str:
    chosen = value.get(name, choices[0])
    if chosen not in choices:
        raise ConfigError(f"oidc.token.login.{name} must be one of {', '.join(choices)}, got {chosen!r}")
    return chosen


def _scopes(value) -> list:
    scopes = value.split() if isinstance(value, str) else value
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ConfigError("oidc.token.login.scopes must be a list of scope names (or one space-separated string)")
    return list(dict.fromkeys(scopes))


# --- talking to the person -----------------------------------------------------------------------

def open_terminal():
    """A writer on the controlling terminal (/dev/tty), or None when there is none (POSIX only)."""
    if os.name != "posix":
        return None
    try:
        fd = os.open("/dev/tty", os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")


def auto_login_requested(environ=None) -> bool:
    return settings.auto_login(environ)


# --- the token source ----------------------------------------------------------------------------

class LoginTokenSource(TokenSource):
    kind = "login"
    rebinds_after_fetch = True

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        self.config = LoginConfig(value)
        self.expected_issuer = spec.get("issuer") or self.config.issuer
        self.expected_audience = spec.get("audience") or self.config.expected_audience
        self.ref = f"{ctx.org}/{ctx.root_environment}"
        self._meta = None
        self._jwks = None

    def describe(self) -> str:
        return f"the login at {self.config.issuer}"

    def _identity(self) -> dict:
        c = self.config
        return {"issuer": c.issuer, "client_id": c.client_id, "scopes": c.scopes, "audience": c.audience, "use": c.use}

    def _bindings(self) -> list:
        """The saved login's marker: a new login, a logout or a revoked refresh token ends every
        answer cached from this login (credproc.identity.tokenstore)."""
        from credproc.identity import tokenstore

        return [cache.Binding.now("private", tokenstore.ensure_marker(self.config.identity_key()))]

    def _obtain(self) -> str:
        token = self.cached_token()
        if token is not None:
            return token
        interactive = auto_login_requested()
        terminal = open_terminal() if interactive else None
        try:
            with self._identity_lock(interactive=terminal is not None) as held:
                token = self.cached_token()  # another process may have refreshed or logged in meanwhile
                if token is not None:
                    return token
                token, reason = self._refreshed()
                if token is not None:
                    return token
                if terminal is None:
                    raise self._login_required(reason)
                held.announce_interactive()
                say = _say_to(terminal)
                say(f"credproc: {self.ref} needs a login to {self.config.issuer}.")
                result = self.login_interactively(say=say)
                if result["warning"]:
                    say(f"credproc: warning: {result['warning']}")
                say(f"credproc: logged in as {result['claims'].get('sub')!r}.")
                return self.cached_token(margin=0) or self._missing_after_login()
        finally:
            if terminal is not None:
                terminal.close()

    # --- pieces ----------------------------------------------------------------------------------

    def _login_required(self, reason: str) -> LoginRequired:
        return LoginRequired(f"login required for {self.ref}: {reason}", hint=f"credproc login {self.ref}")

    def _missing_after_login(self):
        raise TokenError(f"the login at {self.config.issuer} succeeded but left no usable token")

    def cached_token(self, margin: float = TOKEN_MARGIN_SECONDS) -> "str | None":
        entry = cache.read_entry(CACHE_KIND, self.config.token_key())
        if not entry or not isinstance(entry.get("token"), str) or not isinstance(entry.get("exp"), (int, float)):
            return None
        if entry["exp"] - time.time() <= margin:
            return None
        return entry["token"]

    def metadata(self) -> dict:
        from credproc.identity import oidc

        if self._meta is None:
            self._meta = oidc.discover(self.config.issuer)
            self._jwks = oidc.Jwks(self._meta["jwks_uri"])
        return self._meta

    def _refreshed(self) -> "tuple[str | None, str]":
        """(token, "") after a silent refresh, or (None, why a login is needed)."""
        from credproc.identity import oidc
        from credproc.identity import tokenstore

        key = self.config.identity_key()
        record = tokenstore.load(key, again=f"credproc login {self.ref}")
        if record is None:
            return None, f"no saved login for {self.config.issuer}"
        meta = self.metadata()
        try:
            response = oidc.refresh(meta, self.config.client(), record["refresh_token"])
        except oidc.OAuthError as err:
            if err.error == "invalid_grant":  # expired, revoked, or a rotated one used twice
                tokenstore.forget(key)
                return None, f"the saved login for {self.config.issuer} has expired or was revoked"
            raise
        token, claims = self.accept(response, previous=record)
        self._keep_refresh_token(response, record, claims)
        return token, ""

    def accept(self, response: dict, *, nonce: "str | None" = None, previous: "dict | None" = None) -> "tuple[str, dict]":
        """Validate the token to use from a token response and cache it -> (token, claims)."""
        from credproc.identity import oidc

        self.metadata()
        config = self.config
        name = config.use
        token = response.get(name)
        if not isinstance(token, str) or not token:
            extra = " (is `openid` in scopes?)" if name == "id_token" else ""
            raise TokenError(f"the token endpoint of {config.issuer} sent no {name}{extra}")
        what = "ID token" if name == "id_token" else "access token"
        if previous is not None and name == "id_token":
            # A refreshed ID token continues the original login (OIDC Core §12.2): same sub, and a
            # nonce, if it carries one, equal to the original's.
            claims = oidc.validate_token(token, self._jwks, issuer=config.issuer, audience=config.expected_audience,
                                         what=what, client_id=config.client_id)
            if previous.get("sub") and claims.get("sub") != previous["sub"]:
                raise TokenError(f"the refreshed ID token from {config.issuer} names another subject than the login")
            if "nonce" in claims and previous.get("nonce") and claims["nonce"] != previous["nonce"]:
                raise TokenError(f"the refreshed ID token from {config.issuer} has the wrong `nonce`")
        else:
            claims = oidc.validate_token(token, self._jwks, issuer=config.issuer, audience=config.expected_audience,
                                         what=what, nonce=nonce if name == "id_token" else None,
                                         client_id=config.client_id if name == "id_token" else None)
        cache.write_entry(CACHE_KIND, config.token_key(), {
            "token": token, "exp": claims["exp"], "issuer": config.issuer, "client_id": config.client_id,
            "identity_key": config.identity_key(), "use": name,
        })
        return token, claims

    def _keep_refresh_token(self, response: dict, previous: "dict | None", claims: dict,
                            nonce: "str | None" = None) -> "tuple[str | None, str | None]":
        """Save a new (or rotated) refresh token -> (where, one-time warning)."""
        from credproc.identity import tokenstore

        refresh_token = response.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            return None, None  # not rotated: the saved one stays valid
        record = {"refresh_token": refresh_token, "sub": claims.get("sub") or (previous or {}).get("sub"),
                  "nonce": nonce if nonce is not None else (previous or {}).get("nonce")}
        return tokenstore.save(self.config.identity_key(), record, issuer=self.config.issuer,
                               client_id=self.config.client_id, can_warn=previous is None,
                               secret_source=self.config.secret_source())

    def login_interactively(self, *, say, flow: "str | None" = None, open_browser: bool = True,
                            timeout: float = LOGIN_TIMEOUT_SECONDS) -> dict:
        """Run the browser or device flow, validate, cache the token, save the refresh token.
        The caller holds the identity lock. Returns {claims, store, warning}."""
        from credproc.identity import oidc

        meta = self.metadata()
        client = self.config.client()
        flow = flow or self.config.flow
        if flow == "auto":
            flow = "browser" if oidc.browser_available() else "device"
        extra = self.config.extra_parameters()
        nonce = None
        again = f"credproc login {self.ref}"
        accepted = {}
        if flow == "browser":
            if open_browser and not oidc.graphical_browser_possible():
                say(f"No graphical browser here (no DISPLAY or WAYLAND_DISPLAY): open the URL below where a "
                    f"browser can reach this machine's 127.0.0.1, or stop and run `{again} --device`.")
                open_browser = False
            response, nonce = oidc.browser_login(
                meta, client, scopes=self.config.scopes, say=say, open_browser=open_browser, timeout=timeout,
                extra=extra, again=again,
                accept=lambda answer, sent_nonce: accepted.update(result=self.accept(answer, nonce=sent_nonce)))
        else:
            response = oidc.device_login(meta, client, scopes=self.config.scopes, say=say, extra=extra, again=again)
        _token, claims = accepted.get("result") or self.accept(response, nonce=nonce)
        from credproc.identity import tokenstore

        replaced = tokenstore.load(self.config.identity_key(), again=f"credproc login {self.ref}")
        where, warning = self._keep_refresh_token(response, None, claims, nonce=nonce)
        revoked = self._revoke_replaced(replaced, response.get("refresh_token"))

        if where is None:
            tokenstore.forget(self.config.identity_key())  # an older login's refresh token is not this one
        tokenstore.start_login(self.config.identity_key(), claims.get("sub"))
        return {"claims": claims, "store": where, "warning": warning, "flow": flow, "revoked": revoked}

    def _revoke_replaced(self, replaced: "dict | None", new_refresh_token) -> "str | None":
        """Revoke the refresh token a new login replaces: a person who logs in again (as someone
        else, say) must not leave the old login usable at the server. -> a line to show, or None."""
        old = (replaced or {}).get("refresh_token")
        if not isinstance(old, str) or not old or old == new_refresh_token:
            return None
        from credproc.identity import oidc
        from credproc.errors import CredprocError

        try:
            if not oidc.revoke(self.metadata(), self.config.client(), old):
                return ("the previous login's refresh token was not revoked (the server has no revocation "
                        "endpoint): it stays valid at the server until it expires")
        except CredprocError as err:
            return (f"the previous login's refresh token could not be revoked ({err.message}): it stays valid at "
                    "the server until it expires")
        return "the previous login's refresh token was revoked at the server"

    # --- the identity lock -----------------------------------------------------------------------

    def _identity_lock(self, *, interactive: bool):
        return identity_lock(self.config, interactive=interactive, ref=self.ref)


def _say_to(stream):
    def say(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()
    return say


class identity_lock:
    """The per-identity lock (issuer + client id), through credproc.lock. `interactive`: this holder
    may itself wait for a person, so it waits longer for others. A holder about to wait for a person
    calls announce_interactive(): every lock this process holds (the identity's, and the
    environment's refresh locks around it) gets a status file, so a non-interactive caller that
    finds one of them busy fails fast with "login in progress" (credproc.lock) instead of waiting."""

    def __init__(self, config: LoginConfig, *, interactive: bool, ref: str, logging_in: bool = False):
        self.config = config
        self.interactive = interactive
        self.logging_in = logging_in  # `credproc login` itself: a second one is told, not made to wait
        self.ref = ref
        self.key = config.identity_key()
        self._lock = None
        self._announced = []

    def __enter__(self):
        from credproc import lock

        timeout = INTERACTIVE_LOCK_TIMEOUT if self.interactive else NONINTERACTIVE_LOCK_TIMEOUT
        self._lock = lock.refresh_lock(self.key, timeout=timeout, environment=self.ref, logging_in=self.logging_in)
        self._lock.__enter__()
        return self

    def announce_interactive(self) -> None:
        from credproc import lock

        status = json.dumps({"pid": os.getpid(), "kind": "interactive", "started": time.time()}).encode()
        for key in sorted(lock.HELD):
            path = lock.status_path(key)
            cache.write_private_bytes(path, status)
            self._announced.append(path)

    def __exit__(self, *exc):
        for path in self._announced:
            try:
                os.unlink(path)
            except OSError:
                pass
        return self._lock.__exit__(*exc)


