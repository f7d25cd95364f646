"""`credproc login ORG/ENV [--device] [--no-browser]` and `credproc logout ORG/ENV | --all`.

`login` finds the interactive login token sources (`oidc.token.login`) of ORG/ENV by evaluating
the environment with a stand-in aws-login provider that records each `oidc` block instead of
calling STS, then logs in once per identity (issuer + client id), under that identity's lock:

    browser (default with a display)   authorization code + PKCE S256, redirect to 127.0.0.1:PORT;
                                       the URL is printed and opened in the browser
    --no-browser                       the same, the URL only printed (open it yourself)
    --device (or no browser: SSH, CI)  device authorization grant: a code and a URL to visit

Messages go to stderr (stdout stays empty: nothing here is meant for a pipe). The environment's
cached STS credentials are dropped, so the next `credproc process` uses the new login.

`logout` revokes the saved refresh token at the server when it has a revocation endpoint, forgets
it (keyring or file), and drops the cached ID/access tokens and STS credentials made with it.
"""
import sys

from credproc.errors import ConfigError, CredprocError, UsageError


def register(subparsers) -> None:
    login = subparsers.add_parser(
        "login", help="log in to the identity provider of ORG/ENV (browser with PKCE, or device code)",
        description="Log in interactively for the `oidc.token.login` token sources of ORG/ENV. The refresh token "
                    "is kept in the OS keyring (else a 0600 file), so `credproc process` refreshes silently.")
    login.add_argument("ref", metavar="ORG/ENV")
    how = login.add_mutually_exclusive_group()
    how.add_argument("--device", action="store_true", help="use the device authorization grant (code + URL)")
    how.add_argument("--no-browser", action="store_true",
                     help="browser flow, but only print the URL (do not start a browser)")
    login.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                       help="how long to wait for the browser redirect (default 120; the time left is shown)")
    login.set_defaults(func=login_command)

    logout = subparsers.add_parser(
        "logout", help="revoke and forget the saved login of ORG/ENV (or of all)",
        description="Revoke the saved refresh token at the server (where it supports revocation), forget it, "
                    "and drop the cached tokens and STS credentials made with it.")
    logout.add_argument("ref", metavar="ORG/ENV", nargs="?")
    logout.add_argument("--all", action="store_true", help="every saved login")
    logout.set_defaults(func=logout_command)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- finding the login sources of an environment -------------------------------------------------

def login_requests(ref: str) -> list:
    """[OidcRequest] of ORG/ENV whose token source is an interactive login."""
    from credproc.store import store
    from credproc.commands import process
    from credproc.creds import index
    from credproc.providers.aws_login import OidcRequest, PlanningAwsLogin
    from credproc.store.environments import open_environment

    store.parse_name(ref)
    requests = []

    def keep_logins(oidc, ctx):  # other token sources (the local issuer...) are not ours to parse
        token = oidc.get("token") if isinstance(oidc, dict) else None
        if isinstance(token, dict) and "login" in token:
            requests.append(OidcRequest.parse(oidc, ctx))

    opened = open_environment(ref, providers={"aws-login": PlanningAwsLogin(keep_logins)})
    if opened.has_errors:
        raise process.diagnostics_error(ref, opened)
    found = [r for r in requests if getattr(r.source, "kind", None) == "login"]
    if not found:
        raise ConfigError(f"{ref} has no interactive login token source (oidc.token.login); nothing to log in to")
    return found


def _by_identity(requests: list) -> dict:
    identities = {}
    for request in requests:
        identities.setdefault(request.source.config.identity_key(), request.source)
    return identities


def _drop_credentials(identity_keys) -> int:
    """Forget every STS answer and `process` index entry made from these logins: each is bound to
    its login's marker file (credproc.identity.tokenstore), whatever environment it was made for."""
    from credproc import cache
    from credproc.identity import tokenstore
    from credproc.commands import process
    from credproc.creds import index

    markers = {tokenstore.marker_path(key) for key in identity_keys}
    dropped = 0
    for key, entry in cache.list_entries("creds"):
        bound = (entry.get("material") or {}).get("token_binding") or []
        if any(isinstance(b, list) and len(b) == 3 and b[1] in markers for b in bound):
            dropped += cache.remove_entry("creds", key)
    for key, entry in cache.list_entries(index.INDEX_KIND):
        if any(binding[1] in markers for binding in entry.get("bindings") or ()):
            dropped += cache.remove_entry(index.INDEX_KIND, key)
    return dropped


# --- login ---------------------------------------------------------------------------------------

def login_command(args) -> int:
    from credproc.identity.tokens import login as login_source

    requests = login_requests(args.ref)
    flow = "device" if args.device else ("browser" if args.no_browser else None)
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    for source in _by_identity(requests).values():
        with login_source.identity_lock(source.config, interactive=True, ref=args.ref, logging_in=True) as held:
            held.announce_interactive()
            result = source.login_interactively(say=_say, flow=flow, open_browser=not args.no_browser,
                                                timeout=args.timeout)
        if result["warning"]:
            _say(f"credproc: warning: {result['warning']}")
        kept = {None: "no refresh token was issued: you will have to log in again when the token expires",
                "keyring": "refresh token kept in the OS keyring"}.get(result["store"], f"refresh token kept in {result['store']}")
        _say(f"Logged in to {source.config.issuer} as {result['claims'].get('sub')!r} ({kept}).")
        if result.get("revoked"):
            _say(result["revoked"][0].upper() + result["revoked"][1:] + ".")
    _drop_credentials(_by_identity(requests))
    return 0


# --- logout --------------------------------------------------------------------------------------

def logout_command(args) -> int:
    from credproc.identity import tokenstore

    if args.all == bool(args.ref):
        raise UsageError("logout needs ORG/ENV or --all (not both)", hint="credproc logout ORG/ENV")
    if args.all:
        identities = {key: (meta.get("issuer"), meta.get("client_id"), _config_of_saved(meta))
                      for key, meta in tokenstore.known().items()}
        identities.update({key: (i, c, None) for key, (i, c) in _cached_identities().items() if key not in identities})
    else:
        requests = login_requests(args.ref)
        identities = {key: (s.config.issuer, s.config.client_id, s.config) for key, s in _by_identity(requests).items()}
    if not identities:
        _say("Not logged in anywhere: nothing to do.")
    for key, (issuer, client_id, config) in sorted(identities.items(), key=lambda item: str(item[1][0])):
        _say(_logout_locked(key, issuer, client_id, config, args.ref or "ORG/ENV"))
    _drop_credentials(identities)
    if args.all:
        _drop_all_login_credentials()
    return 0


def _logout_locked(key: str, issuer: str, client_id: str, config, ref: str) -> str:
    """Under the identity's lock: a refresh running meanwhile must not save a rotated refresh token
    after we forgot the old one."""
    from credproc.identity.tokens import login as login_source

    config = config if config is not None else _config_for(issuer, client_id)
    if config is None or config.identity_key() != key:
        return _logout_one(key, issuer, client_id, config)
    with login_source.identity_lock(config, interactive=False, ref=ref):
        return _logout_one(key, issuer, client_id, config)


def _config_for(issuer, client_id):
    from credproc.identity.tokens import login as login_source

    try:
        return login_source.LoginConfig({"issuer": issuer, "clientId": client_id})
    except ConfigError:
        return None


def _config_of_saved(meta: dict):
    """The config a saved login was made with: its client secret's source included (a confidential
    client must authenticate to revoke)."""
    from credproc.identity.tokens import login as login_source

    try:
        return login_source.LoginConfig.of_saved_login(meta)
    except ConfigError:
        return None


def _logout_one(key: str, issuer: str, client_id: str, config) -> str:
    from credproc.identity import oidc
    from credproc.identity import tokenstore

    record = tokenstore.load(key)
    revoked = ""
    if record is not None:
        try:
            client = config.client() if config is not None else oidc.Client(client_id)
            meta = oidc.discover(issuer)
            revoked = ("revoked at the server and " if oidc.revoke(meta, client, record["refresh_token"])
                       else "(the server has no revocation endpoint: the refresh token stays valid there until "
                            "it expires) ")
        except CredprocError as err:  # forget it locally anyway: the person asked to be logged out
            revoked = (f"NOT revoked at the server ({err.message}; the refresh token stays valid there until it "
                       "expires or is revoked by an administrator) and ")
    forgotten = tokenstore.forget(key)
    dropped = _drop_cached_tokens(key)
    if record is None and not forgotten and not dropped:
        return f"Not logged in to {issuer} ({client_id})."
    return f"Logged out of {issuer} ({client_id}): saved login {revoked}forgotten."


def _cached_identities() -> dict:
    """identity key -> (issuer, client id) of cached ID/access tokens (also after the refresh token went)."""
    from credproc import cache
    from credproc.identity.tokens import login as login_source

    found = {}
    for _key, entry in cache.list_entries(login_source.CACHE_KIND):
        if isinstance(entry.get("identity_key"), str):
            found[entry["identity_key"]] = (entry.get("issuer"), entry.get("client_id"))
    return found


def _drop_cached_tokens(identity_key: str) -> int:
    from credproc import cache
    from credproc.identity.tokens import login as login_source

    dropped = 0
    for key, entry in cache.list_entries(login_source.CACHE_KIND):
        if entry.get("identity_key") == identity_key:
            dropped += cache.remove_entry(login_source.CACHE_KIND, key)
    return dropped


def _drop_all_login_credentials() -> None:
    """After `logout --all`, also STS answers made from a login whose identity is no longer known
    (its saved login went before this logout): any entry whose token source was a login."""
    from credproc import cache

    for key, entry in cache.list_entries("creds"):
        source = (entry.get("material") or {}).get("token_source") or {}
        if source.get("kind") == "login":
            cache.remove_entry("creds", key)
