"""`fn::open::aws-login`: temporary AWS credentials from an OIDC token (or static keys).

Inputs (ESC's, plus credproc's optional `token`, `region` and `audience`)::

    oidc:
      roleArn: arn:aws:iam::123456789012:role/name     # required
      sessionName: name                                # required
      duration: 1h                                     # default 1h; at least 30m, at most 12h
      policyArns: [arn:aws:iam::aws:policy/...]        # session policies
      subjectAttributes: [pulumi.user.login, ...]      # appended to the local issuer's `sub`
      token: {file: PATH} | {env: VAR} | {command: [ARGV...]} | {githubActions: {...}} | {login: {...}}
                                                       # default: the local issuer (credproc.identity.tokens)
      region: eu-west-1                                # STS region (default AWS_REGION, ..., us-east-1)
      audience: sts.amazonaws.com                      # token audience (local issuer / githubActions)
    static: {accessKeyId, secretAccessKey, sessionToken?, region?}

Outputs: accessKeyId, secretAccessKey (secret), sessionToken (secret), expiration (UTC
"YYYY-MM-DDTHH:MM:SSZ", from STS; absent for static keys and for static keys without a token,
sessionToken is absent too), and `region` when the definition names one (`credproc run` passes it
on as AWS_REGION/AWS_DEFAULT_REGION).

OIDC results are cached (credproc.cache, kind "creds") under a key covering everything that changes
the result, the identity bindings of the token source included (whose token it is, read now: see
credproc.identity.tokens), refreshed under a per-key lock within one overall deadline
(CREDPROC_REFRESH_TIMEOUT, default 30 s), and served stale with a back-off when STS fails while the
cached keys still have more than 10 minutes left. A token source that cannot give a token now fails
before the cache is read, exactly as on a cold cache: cached keys never reach such a caller.

Each result is appended to `self.opened` (path, environment, cache_key, access_key_id, expiration,
account_id, region, stale, bindings): `credproc process` matches the credentials it prints to it.
"""
import re
import time

from credproc import cache
from credproc.errors import ConfigError, CredprocError, LockTimeout, counted
from credproc.lang.provider import Provider
from credproc.lang.values import Value
from credproc.providers.tokenrequest import TokenBoundRequest

MIN_DURATION_SECONDS = 30 * 60  # anything shorter would be inside the 20-minute refresh margin at once
MAX_DURATION_SECONDS = 12 * 3600  # STS's limit
DEFAULT_DURATION = "1h"
CACHE_KIND = "creds"

# Unknown keys are refused in open() rather than with `additionalProperties: false`, which ESC's
# validator rejects without any message: a typo deserves a sentence naming it.
_DURATION = re.compile(r"^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$")
# The ARN shapes are checked by role_arn()/_policy_arns() (in check mode too), whose messages show
# what an ARN looks like; a schema minLength would only say "expected a string of at least length 20".
_ARN = {"type": "string", "maxLength": 2048}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", re.S)
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$", re.S)
ROLE_ARN_EXAMPLE = "arn:aws:iam::123456789012:role/NAME"
REGION_SCHEMA = {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$"}

TOKEN_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "minLength": 1},
        "env": {"type": "string", "minLength": 1},
        "command": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "githubActions": {
            "type": "object",
            "properties": {"audience": {"type": "string", "minLength": 1}},
        },
        "login": {"type": "object"},  # checked by credproc.identity.tokens.login.LoginConfig
        "issuer": {"type": "string", "minLength": 1},
        "audience": {"type": "string", "minLength": 1},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
        "bindEnv": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "bindFiles": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
}

OIDC_SCHEMA = {
    "type": "object",
    "properties": {
        "roleArn": _ARN,
        "sessionName": {"type": "string", "minLength": 2, "maxLength": 64, "pattern": "^[A-Za-z0-9_+=,.@-]+$"},
        "duration": {"type": "string", "minLength": 2, "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"},
        "policyArns": {"type": "array", "items": _ARN},
        "subjectAttributes": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "token": TOKEN_SCHEMA,
        "region": REGION_SCHEMA,
        "audience": {"type": "string", "minLength": 1},
    },
    "required": ["roleArn", "sessionName"],
}

STATIC_SCHEMA = {
    "type": "object",
    "properties": {
        "accessKeyId": {"type": "string", "minLength": 16, "maxLength": 128},
        "secretAccessKey": {"type": "string", "minLength": 1},
        "sessionToken": {"type": "string", "minLength": 1},
        "region": REGION_SCHEMA,
    },
    "required": ["accessKeyId", "secretAccessKey"],
}

INPUT_SCHEMA = {
    "type": "object",
    "properties": {"oidc": OIDC_SCHEMA, "static": STATIC_SCHEMA},
    "oneOf": [{"required": ["oidc"]}, {"required": ["static"]}],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "accessKeyId": {"type": "string"},
        "secretAccessKey": {"type": "string"},
        "sessionToken": {"type": "string"},
        "expiration": {"type": "string"},
        "region": {"type": "string"},
    },
    "required": ["accessKeyId", "secretAccessKey"],
}


def to_plain(value):
    """Value (or plain) -> plain Python, secrets revealed (they are needed to call STS)."""
    if isinstance(value, Value):
        value = value.value
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def parse_duration(text) -> int:
    """'1h30m' -> 5400 seconds, within [30m, 12h]."""
    match = _DURATION.match(text) if isinstance(text, str) and text else None
    if not match or not any(match.groups()):
        raise ConfigError(f"oidc.duration must look like 1h, 90m or 1h30m, got {text!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < MIN_DURATION_SECONDS:
        raise ConfigError(
            f"oidc.duration {text} is below the minimum of 30m: credentials are refreshed 20 minutes "
            "before they expire, so shorter ones would be refreshed every few minutes"
        )
    if total > MAX_DURATION_SECONDS:
        raise ConfigError(f"oidc.duration {text} is above STS's maximum of 12h")
    return total


class AwsLoginProvider(Provider):
    input_schema = INPUT_SCHEMA
    output_schema = OUTPUT_SCHEMA

    def __init__(self, sts_client_factory=None, now=None, **_options):
        self.opened = []
        self._sts_client_factory = sts_client_factory  # tests inject a fake STS client
        self._now = now or time.time

    def open(self, inputs, ctx):
        plain = _checked_inputs(inputs)
        if "static" in plain:
            return self._open_static(plain["static"], ctx)
        return self._open_oidc(plain["oidc"], ctx)

    def check(self, inputs, ctx):
        """`env check` (and `env set`/`edit`, and `doctor`): what open() would refuse, found without a
        token or an STS call, for fully known inputs. The local issuer's set-up is `doctor`'s to check."""
        plain = _checked_inputs(inputs)
        if "static" in plain:
            _static_keys(plain["static"])
        else:
            request = OidcRequest.parse(plain["oidc"], ctx, resolve_local_issuer=False)
            _check_duration_outlasts_margin(request, cache.refresh_margin_seconds())  # as open() would

    # --- static -------------------------------------------------------------------------------

    def _open_static(self, static, ctx):
        key_id, secret, token = _static_keys(static)
        self._record(ctx, None, key_id, None, None)
        result = {"accessKeyId": Value(key_id), "secretAccessKey": Value(secret, secret=True)}
        if token:
            result["sessionToken"] = Value(token, secret=True)
        if static.get("region"):
            result["region"] = Value(static["region"])
        return Value(result)

    # --- oidc ---------------------------------------------------------------------------------

    def _open_oidc(self, oidc, ctx):
        request = OidcRequest.parse(oidc, ctx)
        request.bind()  # whose token, read now; fails as a cold fetch would (before any cache read)
        margin = cache.refresh_margin_seconds()
        _check_duration_outlasts_margin(request, margin)
        entry = self._cached_or_refreshed(request, margin)
        self._record(ctx, request.cache_key, entry["credentials"]["AccessKeyId"], entry["expiration"],
                     entry.get("account_id"), region=request.explicit_region,
                     stale=not cache.is_fresh(entry, margin, self._now()), bindings=request.bindings)
        return _output(entry, request.explicit_region)

    def _cached_or_refreshed(self, request: "OidcRequest", margin: float) -> dict:
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
                return entry  # the holder is slow; what we have is still good for > 10 minutes
            raise

    def _servable_without_refresh(self, entry: dict, margin: float) -> bool:
        now = self._now()
        if cache.is_fresh(entry, margin, now):
            return True
        # A recent refresh failed: do not hammer STS while the old keys still have > 10 minutes.
        return cache.in_backoff(entry, now) and cache.can_serve_stale(entry, now)

    def _refresh(self, request: "OidcRequest", previous: "dict | None", margin: float) -> dict:
        try:
            entry = _within_deadline(lambda: request.exchange(self._sts_client_factory, self._now()),
                                     request.refresh_deadline(), request.display_name, on_timeout=request.source.abort)
            self._check_lifetime(entry, request, margin)
            if request.source.rebinds_after_fetch:
                request.bind()  # the fetch logged in: the answer belongs to the new login
        except CredprocError:
            if previous and cache.can_serve_stale(previous, self._now()):
                stale = cache.with_backoff(previous, self._now())
                cache.write_entry(CACHE_KIND, request.cache_key, stale)
                return stale
            raise
        cache.write_entry(CACHE_KIND, request.cache_key, entry)
        return entry

    def _check_lifetime(self, entry: dict, request, margin: float) -> None:
        _check_lifetime(entry, request, margin, self._now())

    def _record(self, ctx, cache_key, access_key_id, expiration, account_id, region=None, stale=False,
                bindings=()):
        # stale: served although inside the refresh margin, because a refresh failed (see _refresh)
        self.opened.append({
            "path": ctx.path, "environment": ctx.environment, "cache_key": cache_key,
            "access_key_id": access_key_id, "expiration": expiration, "account_id": account_id,
            "region": region, "stale": stale, "bindings": list(bindings or ()),
        })


def _check_duration_outlasts_margin(request: "OidcRequest", margin: float) -> None:
    """Keys that never have the refresh margin left would be refreshed on every use, and each
    refresh would give keys no better: refused up front, naming both settings."""
    if request.duration <= margin:
        raise ConfigError(
            f"oidc.duration {request.duration // 60}m is not longer than the refresh margin of {int(margin // 60)} "
            "minutes: credproc never hands out keys with less than the margin left, so these could never be used",
            hint="request a longer oidc.duration, or lower CREDPROC_REFRESH_MARGIN (minimum 16)",
        )


class PlanningAwsLogin(AwsLoginProvider):
    """The aws-login provider minus STS, for commands that must see an environment's logins without
    getting credentials (`doctor`, `login`): inputs are checked as open() checks them, each `oidc`
    block goes to ``plan(oidc, ctx)`` (which may parse it, look at its token source, raise for a
    diagnostic), and every output is unknown. Static keys open as usual (no STS call there)."""

    def __init__(self, plan):
        super().__init__()
        self._plan = plan

    def _open_oidc(self, oidc, ctx):
        self._plan(oidc, ctx)
        return unknown_outputs()


def unknown_outputs() -> Value:
    return Value({name: Value(None, unknown=True, secret=name != "accessKeyId")
                  for name in ("accessKeyId", "secretAccessKey", "sessionToken", "expiration")})


def _checked_inputs(inputs) -> dict:
    plain = to_plain(inputs)
    if not isinstance(plain, dict) or ("oidc" in plain) == ("static" in plain):
        raise ConfigError("aws-login needs exactly one of `oidc` or `static`")
    _refuse_unknown_keys(plain, INPUT_SCHEMA, "aws-login")
    return plain


def _static_keys(static) -> tuple:
    if not isinstance(static, dict):
        raise ConfigError("aws-login `static` must be an object")
    _refuse_unknown_keys(static, STATIC_SCHEMA, "aws-login static")
    key_id, secret, token = static.get("accessKeyId"), static.get("secretAccessKey"), static.get("sessionToken")
    if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id or not secret:
        raise ConfigError("aws-login `static` needs string `accessKeyId` and `secretAccessKey`")
    if token is not None and not isinstance(token, str):
        raise ConfigError("aws-login `static.sessionToken` must be a string")
    return key_id, secret, token


def _check_lifetime(entry: dict, request: "OidcRequest", margin: float, now: float) -> None:
    """Fresh keys from STS that are already inside the refresh margin (STS's clock, or this machine's,
    is off) are a failed refresh: served, botocore would re-run credproc before every request, and each
    run would call STS again. They are not cached either."""
    left = cache.seconds_left(entry, now)
    if left is not None and left < margin:
        raise ConfigError(
            f"STS returned credentials for role {request.role_arn} that expire in "
            f"{counted(max(int(left // 60), 0), 'minute')} ({entry['expiration']}), less than the {int(margin // 60)}-minute refresh margin: "
            "this machine's clock or STS's is off",
            hint="check this machine's clock (`credproc doctor`); STS's Expiration is trusted over now + duration",
        )


def _within_deadline(exchange, seconds: float, display_name: str, on_timeout=None):
    """Run the token fetch and the STS call (with its retries) within one overall deadline: an
    endpoint that trickles a byte every few seconds defeats per-read timeouts and would hold the
    refresh lock, and every caller waiting on it, for minutes. On time-out the exchange is left
    behind in a daemon thread whose result is discarded (nothing it does reaches the cache)."""
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = exchange()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread as is
            outcome["error"] = err

    worker = threading.Thread(target=target, name="credproc-refresh", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        from credproc.errors import TransientError

        if on_timeout is not None:
            on_timeout()  # e.g. kill the token command, which would hold our stderr open

        raise TransientError(
            f"refreshing the credentials for {display_name} took longer than {seconds:g}s "
            "(the token source and STS together)",
            hint="check the network and the token source; CREDPROC_REFRESH_TIMEOUT sets the limit",
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _usable(entry: "dict | None") -> "dict | None":
    """A cache entry with everything _output needs, else None (treated as a miss)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("expiration"), str):
        return None
    creds = entry.get("credentials")
    if not isinstance(creds, dict):
        return None
    if not all(isinstance(creds.get(k), str) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")):
        return None
    return entry


def _output(entry: dict, region: "str | None" = None) -> Value:
    """The provider's output; `region` only when the definition named one (it is what the
    environment says, for `run` and profiles, not the STS region credproc happened to pick)."""
    creds = entry["credentials"]
    output = {
        "accessKeyId": Value(creds["AccessKeyId"]),
        "secretAccessKey": Value(creds["SecretAccessKey"], secret=True),
        "sessionToken": Value(creds["SessionToken"], secret=True),
        "expiration": Value(entry["expiration"]),
    }
    if region:
        output["region"] = Value(region)
    return Value(output)


class OidcRequest(TokenBoundRequest):
    """The parsed `oidc` block, its token source and its cache key."""

    def __init__(self, oidc: dict, ctx, resolve_local_issuer: bool = True):
        from credproc.identity import issuer
        from credproc.providers import sts
        from credproc.identity import tokens

        self.role_arn = role_arn(oidc)
        self.session_name = _string(oidc, "sessionName")
        self.duration = parse_duration(oidc.get("duration", DEFAULT_DURATION))
        self.policy_arns = sorted(_policy_arns(oidc))
        self.explicit_region = _optional_string(oidc, "region")
        self.region = sts.resolve_region(self.explicit_region)
        self.org = _organization(ctx)
        self.environment = issuer.qualify_environment(ctx.environment)
        self.root_environment = issuer.qualify_environment(ctx.root_environment)
        self.display_name = f"{self.org}/{ctx.root_environment}"
        self.subject_attributes = tuple(
            (name, _subject_attribute(name, ctx)) for name in _string_list(oidc, "subjectAttributes")
        )
        token_context = tokens.TokenContext(
            org=self.org, environment=ctx.environment, root_environment=ctx.root_environment,
            subject_attributes=self.subject_attributes, audience=_optional_string(oidc, "audience"),
        )
        if oidc.get("token") is None and not resolve_local_issuer:
            self.source = None  # checking the definition only: the issuer's set-up is not part of it
            return
        self.source = tokens.resolve(oidc.get("token"), token_context)
        self.material = {
            "provider": "aws-login",
            "org": self.org,
            "environment": self.environment,
            "root_environment": self.root_environment,
            "role": self.role_arn,
            "session_name": self.session_name,
            "duration": self.duration,
            "policy_arns": self.policy_arns,
            "subject_attributes": [list(pair) for pair in self.subject_attributes],
            "sts": sts.endpoint_identity(self.region),
            "token_source": self.source.identity(),
        }
        self.bindings = None

    @classmethod
    def parse(cls, oidc, ctx, resolve_local_issuer: bool = True) -> "OidcRequest":
        if not isinstance(oidc, dict):
            raise ConfigError("aws-login `oidc` must be an object")
        _refuse_unknown_keys(oidc, OIDC_SCHEMA, "aws-login oidc")
        return cls(oidc, ctx, resolve_local_issuer)

    def exchange(self, client_factory, now: float) -> dict:
        """Token -> STS -> a cache entry (expiration from STS's answer, never now + duration)."""
        from credproc.providers import sts

        token = self.source.fetch()
        result = sts.assume_role_with_web_identity(
            role_arn=self.role_arn, session_name=self.session_name, token=token,
            duration_seconds=self.duration, region=self.region, policy_arns=self.policy_arns,
            claims=getattr(self.source, "claims", None), client_factory=client_factory,
        )
        return {
            "credentials": {
                "AccessKeyId": result["access_key_id"],
                "SecretAccessKey": result["secret_access_key"],
                "SessionToken": result["session_token"],
            },
            "expiration": result["expiration"],
            "account_id": result["account_id"],
            "role_arn": self.role_arn,
            "assumed_role_arn": result["assumed_role_arn"],
            "created": cache.format_expiration(now),
            "material": self.material,
        }


# --- input helpers --------------------------------------------------------------------------------


def _refuse_unknown_keys(obj: dict, schema: dict, where: str) -> None:
    known = schema["properties"]
    unknown = sorted(k for k in obj if k not in known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(known), n=1)
        guess = f" (did you mean `{close[0]}`?)" if close else ""
        raise ConfigError(f"unknown key `{unknown[0]}` in {where}{guess}; known keys: {', '.join(sorted(known))}")


def _string(oidc: dict, name: str) -> str:
    value = oidc.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"aws-login `oidc.{name}` is required and must be a string")
    return value


def role_arn(oidc: dict) -> str:
    value = _string(oidc, "roleArn")
    if not _ROLE_ARN.match(value):
        from credproc.errors import printable

        raise ConfigError(f"aws-login `oidc.roleArn` must be an IAM role ARN such as {ROLE_ARN_EXAMPLE} "
                          f"(12-digit account id), got {printable(repr(value[:100]))}")
    return value


def _policy_arns(oidc: dict) -> list:
    arns = _string_list(oidc, "policyArns")
    for arn in arns:
        if not _POLICY_ARN.match(arn):
            from credproc.errors import printable

            raise ConfigError("aws-login `oidc.policyArns` entries must be IAM policy ARNs such as "
                              f"arn:aws:iam::aws:policy/ReadOnlyAccess, got {printable(repr(arn[:100]))}")
    return arns


def _optional_string(oidc: dict, name: str) -> "str | None":
    value = oidc.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"aws-login `oidc.{name}` must be a non-empty string")
    return value


def _string_list(oidc: dict, name: str) -> list:
    value = oidc.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"aws-login `oidc.{name}` must be a list of strings")
    return list(value)


def _organization(ctx) -> str:
    pulumi = (ctx.exec_context or {}).get("pulumi") or {}
    org = (pulumi.get("organization") or {}).get("login") if isinstance(pulumi, dict) else None
    if not isinstance(org, str) or not org:
        raise ConfigError("aws-login needs the organization (context pulumi.organization.login); open the "
                          "environment by its ORG/ENV name")
    return org


_SPECIAL_ATTRIBUTES = {
    "currentEnvironment.name": lambda ctx: ctx.environment,
    "rootEnvironment.name": lambda ctx: ctx.root_environment,
}


def _subject_attribute(name: str, ctx) -> str:
    """An attribute's value: the environment names, else a dotted path in the execution context
    (e.g. pulumi.user.login, pulumi.organization.login)."""
    from credproc.identity import issuer

    if name in _SPECIAL_ATTRIBUTES:
        return issuer.qualify_environment(_SPECIAL_ATTRIBUTES[name](ctx))
    node = ctx.exec_context or {}
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, Value):
        node = to_plain(node)
    if isinstance(node, bool) or not isinstance(node, (str, int, float)) or node == "":
        known = ", ".join(sorted(_SPECIAL_ATTRIBUTES) + ["pulumi.user.login", "pulumi.organization.login"])
        raise ConfigError(f"aws-login subject attribute {name!r} has no value in the execution context "
                          f"(known: {known})")
    return str(node)
