"""`fn::open::azure-login`: Azure ids and an OIDC token for workload identity federation (ESC's
schema), plus credproc's extension: the token exchanged at Entra ID for an access token.

Inputs (ESC's, plus credproc's optional `token`, `audience` and `scope`)::

    clientId: 00000000-0000-0000-0000-000000000000       # the app registration's application (client) ID
    tenantId: 00000000-0000-0000-0000-000000000000       # the directory (tenant) ID
    subscriptionId: 00000000-0000-0000-0000-000000000000
    clientSecret: ...                                    # optional, passed through (secret)
    oidc: true                                           # mint an OIDC token (and exchange it, below)
    subjectAttributes: [pulumi.user.login, ...]          # appended to the local issuer's `sub`
    token: {file: PATH} | {env: VAR} | ...               # as aws-login's oidc.token; default the local issuer
    audience: azure:ORG                                  # the token's `aud` (default azure:ORG, as ESC)
    scope: https://management.azure.com/.default         # what the access token is for

Outputs: clientId, tenantId, subscriptionId, clientSecret (secret, when given), and with `oidc: true`
`oidc: {token}` (the JWT, secret), `accessToken` (secret) and `expiresOn` (UTC "YYYY-MM-DDTHH:MM:SSZ").

The exchange (credproc.providers.entra) is cached (credproc.cache, kind "azure") under a key covering
the ids, scope, authority and the token source's identity bindings (whose token it is, read now),
refreshed under the per-key lock within CREDPROC_REFRESH_TIMEOUT, and served stale with a back-off
when Entra fails while the cached token still has more than 10 minutes left, exactly as aws-login's
answers. The JWT itself is minted (or read) again on every open, as ESC does: it is short-lived and
is what a federated token file must hold.

Each open appends a record to `self.opened`, with `valid_until` (epoch seconds: the earlier of the
JWT's `exp` and the access token's expiry): `credproc run` uses it to keep `files` fresh.
"""
import time

from credproc import cache
from credproc.errors import ConfigError, CredprocError, LockTimeout
from credproc.lang.provider import Provider
from credproc.lang.values import Value
from credproc.providers.tokenrequest import TokenBoundRequest
from credproc.providers.aws_login import TOKEN_SCHEMA, _refuse_unknown_keys, _subject_attribute, _within_deadline, \
    to_plain

NAME = "azure-login"
CACHE_KIND = "azure"
_ID = {"type": "string", "minLength": 1, "maxLength": 256}

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "clientId": _ID,
        "tenantId": _ID,
        "subscriptionId": _ID,
        "clientSecret": {"type": "string"},
        "oidc": {"type": "boolean"},
        "subjectAttributes": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "token": TOKEN_SCHEMA,
        "audience": {"type": "string", "minLength": 1},
        "scope": {"type": "string", "minLength": 1},
    },
    "required": ["clientId", "tenantId", "subscriptionId"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "clientId": {"type": "string"},
        "tenantId": {"type": "string"},
        "subscriptionId": {"type": "string"},
        "clientSecret": {"type": "string"},
        "oidc": {"type": "object", "properties": {"token": {"type": "string"}}},
        "accessToken": {"type": "string"},
        "expiresOn": {"type": "string"},
    },
    "required": ["clientId", "tenantId", "subscriptionId"],
}

# Keys that only mean something with `oidc: true`.
_OIDC_ONLY = ("subjectAttributes", "token", "audience", "scope")


class AzureLoginProvider(Provider):
    input_schema = INPUT_SCHEMA
    output_schema = OUTPUT_SCHEMA

    def __init__(self, now=None, **_options):
        self.opened = []
        self._now = now or time.time
        self.index_safe = True  # every answer is cached and bound to its token source (see _record)

    def open(self, inputs, ctx):
        plain = _checked_inputs(inputs)
        output = _ids(plain)
        if not plain.get("oidc"):
            self._record(ctx, None, None)
            return Value(output)
        request = AzureRequest(plain, ctx)
        request.bind()  # whose token, read now; fails as a cold fetch would (before any cache read)
        entry, token = self._cached_or_refreshed(request, cache.refresh_margin_seconds())
        claims = getattr(request.source, "claims", None) or {}
        self._record(ctx, request.cache_key, _valid_until(entry, claims), bindings=request.bindings,
                     expires=cache.parse_expiration(entry["expiration"]))
        output["oidc"] = Value({"token": Value(token, secret=True)})
        output["accessToken"] = Value(entry["access_token"], secret=True)
        output["expiresOn"] = Value(entry["expiration"])
        return Value(output)

    def check(self, inputs, ctx):
        """`env check`: what open() would refuse, found without a token or a call to Entra ID."""
        plain = _checked_inputs(inputs)
        if plain.get("oidc"):
            AzureRequest(plain, ctx, resolve_local_issuer=False)

    def _cached_or_refreshed(self, request: "AzureRequest", margin: float) -> "tuple[dict, str]":
        """(cache entry, the JWT to output): a fresh entry is served with a newly fetched token."""
        from credproc import lock

        entry = _usable(cache.read_entry(CACHE_KIND, request.cache_key))
        if entry and self._servable(entry, margin):
            return entry, request.fetch_token()
        try:
            with lock.refresh_lock(request.cache_key, lock.lock_timeout(), environment=request.display_name):
                entry = _usable(cache.read_entry(CACHE_KIND, request.cache_key))  # someone may have refreshed
                if entry and self._servable(entry, margin):
                    return entry, request.fetch_token()
                return self._refresh(request, entry, margin)
        except LockTimeout:
            if entry and cache.can_serve_stale(entry, self._now()):
                return entry, request.fetch_token()
            raise

    def _servable(self, entry: dict, margin: float) -> bool:
        now = self._now()
        return cache.is_fresh(entry, margin, now) or (cache.in_backoff(entry, now) and cache.can_serve_stale(entry, now))

    def _refresh(self, request: "AzureRequest", previous: "dict | None", margin: float) -> "tuple[dict, str]":
        try:
            entry, token = _in_time(request, lambda: request.exchange(self._now()))
            _check_lifetime(entry, request, margin, self._now())
        except CredprocError:
            if previous and cache.can_serve_stale(previous, self._now()):
                stale = cache.with_backoff(previous, self._now())
                cache.write_entry(CACHE_KIND, request.cache_key, stale)
                return stale, request.fetch_token()
            raise
        cache.write_entry(CACHE_KIND, request.cache_key, entry)
        return entry, token

    def _record(self, ctx, cache_key, valid_until, bindings=(), expires=None):
        """`valid_until`: until when what this open gave (the JWT included) holds, for run's fresh
        files; `bindings` and `expires`: whose token the cached access token was made for and until
        when it is served, for `process`'s index."""
        self.opened.append({"path": ctx.path, "environment": ctx.environment, "cache_key": cache_key,
                            "valid_until": valid_until, "bindings": list(bindings), "expires": expires})


class PlanningAzureLogin(AzureLoginProvider):
    """azure-login minus Entra ID and the token, for commands that look at an environment without
    getting credentials (`doctor`): inputs are checked as `env check` checks them; the ids are known,
    every secret output is unknown."""

    def __init__(self, probe=None, **options):
        super().__init__(**options)
        self.probe = probe  # probe(make_request, uses_local_issuer, ctx): doctor looks at the token source

    def open(self, inputs, ctx):
        self.check(inputs, ctx)
        plain = _checked_inputs(inputs)
        output = _ids(plain)
        if plain.get("oidc") and self.probe is not None:
            self.probe(lambda: AzureRequest(plain, ctx), plain.get("token") is None, ctx)
        if plain.get("oidc"):
            output["oidc"] = Value({"token": Value(None, unknown=True, secret=True)})
            output["accessToken"] = Value(None, unknown=True, secret=True)
            output["expiresOn"] = Value(None, unknown=True)
        return Value(output)


def _checked_inputs(inputs) -> dict:
    plain = to_plain(inputs)
    if not isinstance(plain, dict):
        raise ConfigError(f"{NAME} needs an object with clientId, tenantId and subscriptionId")
    _refuse_unknown_keys(plain, INPUT_SCHEMA, NAME)
    for name in INPUT_SCHEMA["required"]:
        if not isinstance(plain.get(name), str) or not plain[name].strip():
            raise ConfigError(f"{NAME} `{name}` is required and must be a non-empty string")
    if not isinstance(plain.get("oidc", False), bool):
        raise ConfigError(f"{NAME} `oidc` must be true or false")
    if not plain.get("oidc"):
        extra = [k for k in _OIDC_ONLY if k in plain]
        if extra:
            raise ConfigError(f"{NAME} `{extra[0]}` only applies with `oidc: true`", hint="add `oidc: true`")
    return plain


def _ids(plain: dict) -> dict:
    output = {name: Value(plain[name]) for name in ("clientId", "tenantId", "subscriptionId")}
    if isinstance(plain.get("clientSecret"), str):
        output["clientSecret"] = Value(plain["clientSecret"], secret=True)
    return output


def _usable(entry: "dict | None") -> "dict | None":
    """A cache entry to serve, else None (a miss): an entry an older credproc cached from an answer
    that is refused now (a token with control characters) is not served either."""
    from credproc.providers.entra import visible_ascii

    if not isinstance(entry, dict) or not isinstance(entry.get("expiration"), str):
        return None
    token = entry.get("access_token")
    return entry if isinstance(token, str) and token and visible_ascii(token) else None


def _check_lifetime(entry: dict, request: "AzureRequest", margin: float, now: float) -> None:
    """An access token is never handed out (nor cached) with less than the refresh margin left: one
    that Entra gives for less would be fetched again on every open, and every few seconds by run's
    fresh files. A bad answer, as an outage (exit 6); a cached token with time left is served meanwhile."""
    if not cache.is_fresh(entry, margin, now):
        from credproc.errors import TransientError

        left = max(0, int(cache.seconds_left(entry, now) or 0))
        raise TransientError(
            f"Entra ID gave {request.display_name} an access token valid for {left}s, less than the refresh "
            f"margin of {int(margin)}s; not used (hint: check the app's token lifetime policy, or lower "
            "CREDPROC_REFRESH_MARGIN, minimum 16 minutes)")


def _in_time(request: "AzureRequest", work):
    """``work()`` within CREDPROC_REFRESH_TIMEOUT; a time-out says so in its message, fix included
    (a diagnostic of `env open` and `run` shows only the message, never the hint)."""
    from credproc import settings
    from credproc.errors import TransientError

    seconds = request.refresh_deadline()
    try:
        return _within_deadline(work, seconds, request.display_name, on_timeout=request.source.abort)
    except TransientError as err:
        if not (err.hint and settings.REFRESH_TIMEOUT in err.hint):  # not the time-out (aws_login._within_deadline)
            raise
        raise TransientError(
            f"refreshing the Entra ID access token for {request.display_name} took longer than {seconds:g}s (the "
            f"token source and Entra ID together; check the network and the token source, "
            f"{settings.REFRESH_TIMEOUT} sets the limit)") from None


def _valid_until(entry: dict, claims: dict) -> "float | None":
    """The earlier of the access token's expiry and the JWT's `exp`: what run's fresh files follow."""
    times = [cache.parse_expiration(entry["expiration"])]
    if isinstance(claims.get("exp"), (int, float)) and not isinstance(claims.get("exp"), bool):
        times.append(claims["exp"])
    return float(min(times))


class AzureRequest(TokenBoundRequest):
    """The parsed inputs, the token source and the cache key of one `oidc: true` open."""

    def __init__(self, plain: dict, ctx, resolve_local_issuer: bool = True):
        from credproc.identity import issuer, tokens
        from credproc.providers import entra

        self.client_id, self.tenant_id = plain["clientId"].strip(), plain["tenantId"].strip()
        self.scope = _optional_string(plain, "scope") or entra.DEFAULT_SCOPE
        self.authority = entra.authority()
        self.org = _organization(ctx)
        self.display_name = f"{self.org}/{ctx.root_environment}"
        self.subject_attributes = tuple((name, _attribute(name, ctx)) for name in _string_list(plain, "subjectAttributes"))
        spec = plain.get("token")
        audience = _optional_string(plain, "audience")
        if audience is None and (spec is None or (isinstance(spec, dict) and "githubActions" in spec)):
            audience = f"azure:{self.org}"  # ESC's convention, for the sources that mint on request
        token_context = tokens.TokenContext(
            org=self.org, environment=ctx.environment, root_environment=ctx.root_environment,
            subject_attributes=self.subject_attributes, audience=audience,
        )
        if spec is None and not resolve_local_issuer:
            self.source = None  # checking the definition only
            return
        self.source = tokens.resolve(spec, token_context)
        self.material = {
            "provider": NAME, "org": self.org,
            "environment": issuer.qualify_environment(ctx.environment),
            "root_environment": issuer.qualify_environment(ctx.root_environment),
            "tenant": self.tenant_id, "client": self.client_id, "scope": self.scope, "authority": self.authority,
            "subject_attributes": [list(pair) for pair in self.subject_attributes],
            "token_source": self.source.identity(),
        }
        self.bindings = None

    def fetch_token(self) -> str:
        """A token for the output (a cache hit still hands out a current one), within the deadline."""
        return _in_time(self, self.source.fetch)

    def exchange(self, now: float) -> "tuple[dict, str]":
        from credproc.providers import entra

        token = self.source.fetch()
        answer = entra.exchange(tenant=self.tenant_id, client_id=self.client_id, assertion=token, scope=self.scope,
                                claims=getattr(self.source, "claims", None), host=self.authority)
        entry = {
            "access_token": answer["access_token"], "token_type": answer["token_type"],
            "expiration": cache.format_expiration(now + answer["expires_in"]),
            "created": cache.format_expiration(now), "material": self.material,
        }
        return entry, token


# --- input helpers --------------------------------------------------------------------------------

def _optional_string(plain: dict, name: str) -> "str | None":
    value = plain.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{NAME} `{name}` must be a non-empty string")
    return value.strip() if value else None


def _string_list(plain: dict, name: str) -> list:
    value = plain.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{NAME} `{name}` must be a list of strings")
    return list(value)


def _organization(ctx) -> str:
    pulumi = (ctx.exec_context or {}).get("pulumi") or {}
    org = (pulumi.get("organization") or {}).get("login") if isinstance(pulumi, dict) else None
    if not isinstance(org, str) or not org:
        raise ConfigError(f"{NAME} needs the organization (context pulumi.organization.login); open the "
                          "environment by its ORG/ENV name")
    return org


def _attribute(name: str, ctx) -> str:
    """aws-login's subject attributes (one rule), its messages naming this provider."""
    try:
        return _subject_attribute(name, ctx)
    except ConfigError as err:
        raise ConfigError(str(err).replace("aws-login", NAME, 1), hint=err.hint) from None
