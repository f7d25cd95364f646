"""`fn::open::gcp-login`: a short-lived Google Cloud access token from an OIDC token (or a static one).

Inputs (ESC's, plus credproc's optional `oidc.token` and `oidc.audience`)::

    project: 123456789012                              # the project *number* (ESC's `project`)
    oidc:
      workloadPoolId: POOL                             # required
      providerId: PROVIDER                             # required
      serviceAccount: NAME@PROJECT.iam.gserviceaccount.com   # required
      region: global                                   # the pool's location (default global)
      tokenLifetime: 1h                                # default 1h; more than 1h only when asked (org policy)
      subjectAttributes: [pulumi.user.login, ...]      # appended to the local issuer's `sub`
      token: {file: PATH} | {env: VAR} | ...           # as aws-login (credproc.identity.tokens); default the
                                                       # local issuer, with audience gcp:ORG
      audience: AUD                                    # the token's audience (local issuer / githubActions)
    accessToken:                                       # instead of oidc: a token you already have
      accessToken: ya29....                            # passed through as is, unless serviceAccount is given:
      serviceAccount: NAME@...                         # then exchanged for that account's token
      tokenLifetime: 1h                                # (generateAccessToken with it as the bearer)

Outputs: project (as given), accessToken (secret), tokenType ("Bearer"), expiry (RFC 3339 UTC,
"YYYY-MM-DDTHH:MM:SSZ", from IAM Credentials' expireTime; absent for a token passed through).

The exchange (credproc.providers.gcp): the token -> Google STS (RFC 8693, audience
//iam.googleapis.com/projects/N/locations/REGION/workloadIdentityPools/P/providers/V) -> IAM Credentials
generateAccessToken for the service account. Results are cached and refreshed exactly as aws-login's
(kind "creds", a key covering the token source's identity bindings, a per-key lock, one deadline,
stale-while-refresh with a back-off); the flow below mirrors AwsLoginProvider's, which is coupled to
AWS's cache entry shape.

The static `accessToken` with `serviceAccount` goes through the same cache, lock and deadline
(GcpStaticRequest: the key holds the token's sha256, never the token). Every answer is checked before
it is cached (_check_expiry, gcp.is_token): a token that is not visible ASCII or an expiry outside
[now + refresh margin, now + tokenLifetime + gcp.EXPIRY_SKEW_SECONDS] is a bad answer (exit 6).

Each OIDC result is appended to `self.opened` (path, environment, cache_key, expiry, stale, and what
`credproc run` needs for its external_account credentials file: audience, service account, lifetime,
the token spec and the token context), see credproc.commands.run.gcpfiles.
"""
import re
import time

from credproc import cache
from credproc.errors import ConfigError, CredprocError, LockTimeout
from credproc.lang.provider import Provider
from credproc.lang.values import Value
from credproc.providers.tokenrequest import TokenBoundRequest
from credproc.providers.aws_login import TOKEN_SCHEMA, _refuse_unknown_keys, _within_deadline, to_plain

CACHE_KIND = "creds"
DEFAULT_LIFETIME = "1h"
# Every pattern is applied with fullmatch: `$` would also accept a trailing newline. [0-9] is ASCII
# only (str.isdigit() would take "¹²³" and "١٢٣").
_DURATION = re.compile(r"(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})s)?")
_ID = {"type": "string", "minLength": 1, "maxLength": 63}
_SERVICE_ACCOUNT = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[a-z]{2,63}")
_POOL_ID = re.compile(r"[a-z0-9-]{4,32}")   # Google's rule for pool and provider ids
_REGION = re.compile(r"[a-z0-9-]{1,63}")
_PROJECT_NUMBER = re.compile(r"[0-9]{1,20}")

OIDC_SCHEMA = {
    "type": "object",
    "properties": {
        "workloadPoolId": _ID,
        "providerId": _ID,
        "serviceAccount": {"type": "string", "minLength": 3, "maxLength": 320},
        "region": {"type": "string", "minLength": 1},
        "tokenLifetime": {"type": "string", "minLength": 2},
        "subjectAttributes": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "token": TOKEN_SCHEMA,
        "audience": {"type": "string", "minLength": 1},
    },
    "required": ["workloadPoolId", "providerId", "serviceAccount"],
}

ACCESS_TOKEN_SCHEMA = {
    "type": "object",
    "properties": {
        "accessToken": {"type": "string", "minLength": 1},
        "serviceAccount": {"type": "string", "minLength": 3, "maxLength": 320},
        "tokenLifetime": {"type": "string", "minLength": 2},
    },
    "required": ["accessToken"],
}

INPUT_SCHEMA = {
    "type": "object",
    "properties": {"project": {}, "oidc": OIDC_SCHEMA, "accessToken": ACCESS_TOKEN_SCHEMA},
    "required": ["project"],
    "oneOf": [{"required": ["oidc"]}, {"required": ["accessToken"]}],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "project": {},
        "accessToken": {"type": "string"},
        "tokenType": {"type": "string"},
        "expiry": {"type": "string"},
    },
    "required": ["project", "accessToken", "tokenType"],
}


class GcpLoginProvider(Provider):
    input_schema = INPUT_SCHEMA
    output_schema = OUTPUT_SCHEMA

    def __init__(self, now=None, **_options):
        self.opened = []
        self._now = now or time.time
        # Every open so far gave a cached answer bound to its token source (its record says which and
        # until when): `process` may then index an AWS answer of the same environment.
        self.index_safe = True  # a static token passed through is the definition's own value

    def open(self, inputs, ctx):
        try:
            plain = _checked_inputs(inputs)
            project = _project(plain.get("project"))
            if "accessToken" in plain:
                return self._open_static(project, plain["accessToken"], plain.get("project"), ctx)
            return self._open_oidc(project, plain["oidc"], ctx, plain.get("project"))
        except CredprocError as err:
            raise _with_hint(err) from None

    def check(self, inputs, ctx):
        """What open() would refuse, found without a token or a network call (`env check`)."""
        plain = _checked_inputs(inputs)
        project = _project(plain.get("project"))
        if "accessToken" in plain:
            _static_token(plain["accessToken"])
        else:
            GcpOidcRequest.parse(project, plain["oidc"], ctx, resolve_local_issuer=False)

    # --- accessToken --------------------------------------------------------------------------

    def _open_static(self, project: str, static, given_project, ctx):
        token, account, lifetime = _static_token(static)
        if not account:
            return _output(given_project, token, None)  # passed through: the definition's own value
        request = GcpStaticRequest(project, token, account, lifetime, ctx)
        margin = cache.refresh_margin_seconds()
        _check_lifetime_outlasts_margin(request, margin, "accessToken.tokenLifetime")
        entry = self._cached_or_refreshed(request, margin)
        # Cached under a key bound to the token's sha256 (the token comes from the definition, whose
        # file the process index is bound to): `process` may index it, expiring with it.
        self.opened.append({
            "path": ctx.path, "environment": ctx.environment, "cache_key": request.cache_key, "static": True,
            "expiry": entry["expiration"], "stale": not cache.is_fresh(entry, margin, self._now()),
            "bindings": [], "expires": cache.parse_expiration(entry["expiration"]),
        })
        return _output(given_project, entry["credentials"]["AccessToken"], entry["expiration"])

    # --- oidc ---------------------------------------------------------------------------------

    def _open_oidc(self, project: str, oidc, ctx, given_project):
        request = GcpOidcRequest.parse(project, oidc, ctx)
        request.bind()  # whose token, read now; fails as a cold fetch would (before any cache read)
        margin = cache.refresh_margin_seconds()
        _check_lifetime_outlasts_margin(request, margin)
        entry = self._cached_or_refreshed(request, margin)
        self.opened.append({
            "path": ctx.path, "environment": ctx.environment, "cache_key": request.cache_key,
            "expiry": entry["expiration"], "stale": not cache.is_fresh(entry, margin, self._now()),
            "bindings": list(request.bindings), "expires": cache.parse_expiration(entry["expiration"]),
            **request.run_record(),
        })
        return _output(given_project, entry["credentials"]["AccessToken"], entry["expiration"])

    def _cached_or_refreshed(self, request: "GcpOidcRequest", margin: float) -> dict:
        from credproc import lock

        entry = _usable(cache.read_entry(CACHE_KIND, request.cache_key))
        if entry and self._servable_without_refresh(entry, margin):
            return entry
        try:
            with lock.refresh_lock(request.cache_key, lock.lock_timeout(), environment=request.display_name):
                entry = _usable(cache.read_entry(CACHE_KIND, request.cache_key))  # someone may have refreshed
                if entry and self._servable_without_refresh(entry, margin):
                    return entry
                return self._refresh(request, entry, margin)
        except LockTimeout:
            if entry and cache.can_serve_stale(entry, self._now()):
                return entry
            raise

    def _servable_without_refresh(self, entry: dict, margin: float) -> bool:
        now = self._now()
        if cache.is_fresh(entry, margin, now):
            return True
        return cache.in_backoff(entry, now) and cache.can_serve_stale(entry, now)

    def _refresh(self, request: "GcpOidcRequest", previous: "dict | None", margin: float) -> dict:
        try:
            entry = _within_deadline(lambda: request.exchange(self._now()), request.refresh_deadline(),
                                     request.display_name, on_timeout=request.abort)
            _check_expiry(entry, request, margin, self._now())
            if request.source is not None and request.source.rebinds_after_fetch:
                request.bind()
        except CredprocError:
            if previous and cache.can_serve_stale(previous, self._now()):
                stale = cache.with_backoff(previous, self._now())
                cache.write_entry(CACHE_KIND, request.cache_key, stale)
                return stale
            raise
        cache.write_entry(CACHE_KIND, request.cache_key, entry)
        return entry


class PlanningGcpLogin(GcpLoginProvider):
    """gcp-login minus Google, for commands that look at an environment without getting credentials
    (`doctor`): inputs are checked as `env check` checks them, every output is unknown."""

    def __init__(self, probe=None, **options):
        super().__init__(**options)
        self.probe = probe  # probe(make_request, uses_local_issuer, ctx): doctor looks at the token source

    def open(self, inputs, ctx):
        self.check(inputs, ctx)
        plain = _checked_inputs(inputs)
        if "oidc" in plain and self.probe is not None and isinstance(plain["oidc"], dict):
            project = _project(plain.get("project"))
            self.probe(lambda: GcpOidcRequest.parse(project, plain["oidc"], ctx), plain["oidc"].get("token") is None, ctx)
        return Value({name: Value(None, unknown=True, secret=name == "accessToken")
                      for name in ("project", "accessToken", "tokenType", "expiry")})


# --- checks and helpers ---------------------------------------------------------------------------

def _with_hint(err: CredprocError) -> CredprocError:
    """The error with its hint moved into the message: a diagnostic (what `env open` and `run` print)
    shows only the message, and the hint is what says how to fix a refusal."""
    if err.hint:
        err.message = f"{err.message} (hint: {err.hint})"
        err.args, err.hint = (err.message,), None
    return err


def _checked_inputs(inputs) -> dict:
    plain = to_plain(inputs)
    if not isinstance(plain, dict) or ("oidc" in plain) == ("accessToken" in plain):
        raise ConfigError("gcp-login needs exactly one of `oidc` or `accessToken`")
    _refuse_unknown_keys(plain, INPUT_SCHEMA, "gcp-login")
    return plain


def _project(value, what: str = "gcp-login `project`") -> str:
    """ESC's `project` is the project *number*: a number, or a string of (ASCII) digits."""
    text = str(value) if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) else ""
    if not valid_project_number(text):
        raise ConfigError(f"{what} must be the project number (digits, e.g. 123456789012), got {shown(value)}",
                          hint="`gcloud projects describe PROJECT_ID --format='value(projectNumber)'` prints it")
    return text


# --- the rules, shared with `credproc issuer trust-policy --cloud gcp` -----------------------------

def valid_project_number(text) -> bool:
    return isinstance(text, str) and _PROJECT_NUMBER.fullmatch(text) is not None


def valid_pool_id(text) -> bool:
    """A workload identity pool or provider id."""
    return isinstance(text, str) and _POOL_ID.fullmatch(text) is not None


def valid_region(text) -> bool:
    return isinstance(text, str) and _REGION.fullmatch(text) is not None


def valid_service_account(text) -> bool:
    return isinstance(text, str) and len(text) <= 320 and _SERVICE_ACCOUNT.fullmatch(text) is not None


def shown(value) -> str:
    """``value`` as the definition spells it, for an error message: a number as its digits, a string
    quoted, a list or object in flow style; terminal-safe and at most 100 characters."""
    from credproc.errors import printable
    from credproc.lang.values import Number

    def text(v) -> str:
        if isinstance(v, Number):
            return str(v)
        if isinstance(v, str):
            return repr(v[:100])
        if v is None or isinstance(v, bool):
            return {None: "null", True: "true", False: "false"}[v]
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(text(item) for item in v[:10]) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {text(item)}" for k, item in list(v.items())[:10]) + "}"
        return type(v).__name__

    return printable(text(value))[:100]


def parse_lifetime(text, where: str) -> int:
    """'1h', '90m', '3600s', '1h30m' -> seconds, at most 12h."""
    from credproc.providers import gcp

    match = _DURATION.fullmatch(text) if isinstance(text, str) and text else None
    if not match or not any(match.groups()):
        raise ConfigError(f"gcp-login `{where}` must look like 1h, 45m or 3600s, got {shown(text)}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > gcp.MAX_LIFETIME_SECONDS or total == 0:
        raise ConfigError(f"gcp-login `{where}` {text} is outside IAM Credentials' range (1s to 12h; over 1h only "
                          f"with the organization policy constraint {gcp.LIFETIME_CONSTRAINT})")
    return total


def _static_token(static) -> tuple:
    if not isinstance(static, dict):
        raise ConfigError("gcp-login `accessToken` must be an object")
    _refuse_unknown_keys(static, ACCESS_TOKEN_SCHEMA, "gcp-login accessToken")
    token, account = static.get("accessToken"), static.get("serviceAccount")
    if not isinstance(token, str) or not token:
        raise ConfigError("gcp-login `accessToken.accessToken` is required and must be a string")
    from credproc.providers import gcp

    if not gcp.is_token(token):
        raise ConfigError("gcp-login `accessToken.accessToken` is not an access token: it must be visible ASCII "
                          "(no space, newline or control character), at most 16 KiB")
    if account is not None:
        _service_account(account, "accessToken.serviceAccount")
    lifetime = parse_lifetime(static.get("tokenLifetime", DEFAULT_LIFETIME), "accessToken.tokenLifetime")
    return token, account, lifetime


def _service_account(value, where: str) -> str:
    if not valid_service_account(value):
        raise ConfigError(f"gcp-login `{where}` must be a service account e-mail such as "
                          f"deploy@my-project.iam.gserviceaccount.com, got {shown(value)}")
    return value


def _check_lifetime_outlasts_margin(request, margin: float, where: str = "oidc.tokenLifetime") -> None:
    if request.target.lifetime <= margin:
        raise ConfigError(
            f"{where} {request.target.lifetime // 60}m is not longer than the refresh margin of "
            f"{int(margin // 60)} minutes: credproc never hands out a token with less than the margin left, so this "
            "one could never be used",
            hint=f"request a longer {where}, or lower CREDPROC_REFRESH_MARGIN (minimum 16)")


def _check_expiry(entry: dict, request, margin: float, now: float) -> None:
    """IAM Credentials' expireTime must fit the lifetime asked for: at least the refresh margin away
    (else the token could not be handed out even once) and at most the requested lifetime plus
    gcp.EXPIRY_SKEW_SECONDS (never beyond 12 h + that skew, the longest IAM Credentials grants). Any
    other expiry is a bad answer: refused (exit 6), never cached."""
    from credproc.errors import TransientError
    from credproc.providers import gcp

    left = cache.seconds_left(entry, now)
    account, expiration = request.target.service_account, entry["expiration"]
    if left is None or left < margin:
        raise TransientError(
            f"IAM Credentials returned a token for {account} that expires in {max(int((left or 0) // 60), 0)} min "
            f"({expiration}), less than the {int(margin // 60)}-minute refresh margin: this machine's clock or "
            "Google's is off", hint="check this machine's clock (`credproc doctor`)")
    if left > min(request.target.lifetime, gcp.MAX_LIFETIME_SECONDS) + gcp.EXPIRY_SKEW_SECONDS:
        raise TransientError(
            f"IAM Credentials returned a token for {account} that expires at {expiration}, later than the "
            f"{request.target.lifetime}s lifetime asked for: this machine's clock or Google's is off, or the answer "
            "is not Google's", hint="check this machine's clock (`credproc doctor`) and CREDPROC_GCP_IAM_CREDENTIALS_URL")


def _usable(entry: "dict | None") -> "dict | None":
    if not isinstance(entry, dict) or not isinstance(entry.get("expiration"), str):
        return None
    from credproc.providers import gcp

    creds = entry.get("credentials")
    if not isinstance(creds, dict) or not gcp.is_token(creds.get("AccessToken")):
        return None
    return entry


def _output(project, token: str, expiry: "str | None") -> Value:
    output = {"project": Value(project), "accessToken": Value(token, secret=True), "tokenType": Value("Bearer")}
    if expiry:
        output["expiry"] = Value(expiry)
    return Value(output)


def _organization(ctx) -> str:
    pulumi = (ctx.exec_context or {}).get("pulumi") or {}
    org = (pulumi.get("organization") or {}).get("login") if isinstance(pulumi, dict) else None
    if not isinstance(org, str) or not org:
        raise ConfigError("gcp-login needs the organization (context pulumi.organization.login); open the "
                          "environment by its ORG/ENV name")
    return org


def _subject_attribute(name: str, ctx) -> str:
    from credproc.providers.aws_login import _subject_attribute as attribute

    try:
        return attribute(name, ctx)
    except ConfigError as err:
        raise ConfigError(err.message.replace("aws-login", "gcp-login", 1), hint=err.hint) from None


class GcpOidcRequest(TokenBoundRequest):
    """The parsed `oidc` block, its token source and its cache key."""

    def __init__(self, project: str, oidc: dict, ctx, resolve_local_issuer: bool = True):
        from credproc.identity import issuer, tokens
        from credproc.providers import gcp

        region = oidc.get("region") or gcp.DEFAULT_REGION
        self.target = gcp.Target(
            project, _pool_id(oidc, "workloadPoolId"), _pool_id(oidc, "providerId"),
            _service_account(oidc.get("serviceAccount"), "oidc.serviceAccount"), _region(region),
            parse_lifetime(oidc.get("tokenLifetime", DEFAULT_LIFETIME), "oidc.tokenLifetime"),
        )
        self.org = _organization(ctx)
        self.display_name = f"{self.org}/{ctx.root_environment}"
        attributes = oidc.get("subjectAttributes") or []
        if not isinstance(attributes, list) or not all(isinstance(a, str) and a for a in attributes):
            raise ConfigError("gcp-login `oidc.subjectAttributes` must be a list of strings")
        self.subject_attributes = tuple((name, _subject_attribute(name, ctx)) for name in attributes)
        explicit = oidc.get("audience")
        if explicit is not None and (not isinstance(explicit, str) or not explicit):
            raise ConfigError("gcp-login `oidc.audience` must be a non-empty string")
        self.token_spec = oidc.get("token")
        self.token_context = tokens.TokenContext(
            org=self.org, environment=ctx.environment, root_environment=ctx.root_environment,
            subject_attributes=self.subject_attributes, audience=self._audience(explicit),
        )
        if self.token_spec is None and not resolve_local_issuer:
            self.source = None
            return
        self.source = tokens.resolve(self.token_spec, self.token_context)
        t = self.target
        self.material = {
            "provider": "gcp-login",
            "org": self.org,
            "environment": issuer.qualify_environment(ctx.environment),
            "root_environment": issuer.qualify_environment(ctx.root_environment),
            "audience": t.audience,
            "service_account": t.service_account,
            "lifetime": t.lifetime,
            "subject_attributes": [list(pair) for pair in self.subject_attributes],
            "endpoints": gcp.endpoint_identity(),
            "token_source": self.source.identity(),
        }
        self.bindings = None

    def _audience(self, explicit: "str | None") -> "str | None":
        """The token's audience: `audience` if given; else ESC's gcp:ORG for the local issuer, and the
        provider's default allowed audience (https://iam.googleapis.com/<provider>) for GitHub Actions,
        as google-github-actions/auth asks; other sources' tokens are not checked for one."""
        if explicit:
            return explicit
        if self.token_spec is None:
            return f"gcp:{self.org}"
        if isinstance(self.token_spec, dict) and "githubActions" in self.token_spec:
            return f"https://iam.googleapis.com/{self.target.provider_name}"
        return None

    @classmethod
    def parse(cls, project: str, oidc, ctx, resolve_local_issuer: bool = True) -> "GcpOidcRequest":
        if not isinstance(oidc, dict):
            raise ConfigError("gcp-login `oidc` must be an object")
        _refuse_unknown_keys(oidc, OIDC_SCHEMA, "gcp-login oidc")
        return cls(project, oidc, ctx, resolve_local_issuer)

    def abort(self) -> None:
        self.source.abort()

    def exchange(self, now: float) -> dict:
        """Token -> STS -> IAM Credentials -> a cache entry (expiry from IAM Credentials' expireTime)."""
        from credproc.providers import gcp

        token = self.source.fetch()
        claims = getattr(self.source, "claims", None) or {}
        federated = gcp.exchange_token(token, self.target, claims)
        access_token, expiry = gcp.generate_access_token(federated, self.target, claims, secrets=[token])
        return {
            "credentials": {"AccessToken": access_token},
            "expiration": expiry,
            "service_account": self.target.service_account,
            "created": cache.format_expiration(now),
            "material": self.material,
        }

    def run_record(self) -> dict:
        """What `credproc run` writes into an external_account credentials file (no secret)."""
        c = self.token_context
        return {
            "audience": self.target.audience, "service_account": self.target.service_account,
            "lifetime": self.target.lifetime, "token": self.token_spec,
            "token_context": {"org": c.org, "environment": c.environment, "root_environment": c.root_environment,
                              "subject_attributes": [list(p) for p in c.subject_attributes], "audience": c.audience},
        }


class GcpStaticRequest:
    """`accessToken` with `serviceAccount`: the token -> IAM Credentials generateAccessToken, cached as
    an OIDC answer is (same lock, deadline and stale-while-refresh) under a key bound to the token's
    sha256 (never the token itself), the account, the lifetime and the endpoints."""

    source = None

    def __init__(self, project: str, token: str, account: str, lifetime: int, ctx):
        import hashlib

        from credproc.identity import issuer
        from credproc.providers import gcp

        self.target = gcp.Target(project, "-", "-", account, lifetime=lifetime)
        self._token = token
        pulumi = (ctx.exec_context or {}).get("pulumi") or {}
        org = (pulumi.get("organization") or {}).get("login") if isinstance(pulumi, dict) else None
        org = org if isinstance(org, str) and org else None
        self.display_name = f"{org}/{ctx.root_environment}" if org else str(ctx.root_environment)
        self.material = {
            "provider": "gcp-login",
            "input": "accessToken",
            "org": org,
            "environment": issuer.qualify_environment(ctx.environment),
            "root_environment": issuer.qualify_environment(ctx.root_environment),
            "token_sha256": hashlib.sha256(token.encode("utf-8")).hexdigest(),
            "service_account": account,
            "lifetime": lifetime,
            "endpoints": gcp.endpoint_identity(),
        }
        self.cache_key = cache.make_key(self.material)

    def abort(self) -> None:
        pass  # nothing to stop: the IAM call is left behind in its daemon thread

    def refresh_deadline(self) -> float:
        from credproc import lock

        return lock.refresh_timeout()

    def exchange(self, now: float) -> dict:
        from credproc.providers import gcp

        access_token, expiry = gcp.generate_access_token(self._token, self.target, federated=False)
        return {
            "credentials": {"AccessToken": access_token},
            "expiration": expiry,
            "service_account": self.target.service_account,
            "created": cache.format_expiration(now),
            "material": self.material,
        }


def _pool_id(oidc: dict, name: str) -> str:
    value = oidc.get(name)
    if not valid_pool_id(value):
        raise ConfigError(f"gcp-login `oidc.{name}` must be a workload identity pool or provider id (4 to 32 "
                          f"lower-case letters, digits and dashes), got {shown(value)}")
    return value


def _region(value) -> str:
    if not valid_region(value):
        raise ConfigError(f"gcp-login `oidc.region` must be a location such as global, got {shown(value)}")
    return value
