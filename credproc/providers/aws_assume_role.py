"""`fn::open::aws-assume-role`: role chaining, a credproc extension of ESC.

It takes another provider's keys as input, as ESC's `aws-secrets` takes `login`::

    fn::open::aws-assume-role:
      login: ${aws.login}                          # accessKeyId, secretAccessKey, sessionToken (+ expiration)
      roleArn: arn:aws:iam::210987654321:role/deploy   # required
      sessionName: deploy                          # required
      duration: 1h                                 # default 1h; AWS caps chained sessions at 1h
      externalId: ...                              # optional, as the trust policy asks
      policyArns: [arn:aws:iam::aws:policy/...]    # session policies
      policy: {Version: ..., Statement: [...]}     # inline session policy (object or JSON string)
      tags: {team: web}                            # session tags
      transitiveTagKeys: [team]
      sourceIdentity: alice
      region: eu-west-1                            # STS region; also an output

Outputs: accessKeyId, secretAccessKey (secret), sessionToken (secret), expiration (UTC
"YYYY-MM-DDTHH:MM:SSZ", never later than the login's), and `region` when given. Its output has the
shape of its `login`, so chains of several hops work.

STS AssumeRole is signed with the login's keys (credproc.providers.sts.assume_role). Results are cached
and refreshed under a lock exactly as aws-login's (this provider reuses its machinery), under a key that
covers a digest of the login's keys: a caller with another login never gets these credentials.
"""
import json
import re
import types

from credproc import cache
from credproc.errors import ConfigError
from credproc.lang.values import Value, contains_unknown
from credproc.providers.aws_login import (
    _ARN,
    _DURATION,
    REGION_SCHEMA,
    AwsLoginProvider,
    _organization,
    _output,
    _refuse_unknown_keys,
    to_plain,
)

NAME = "aws-assume-role"
MAX_CHAINED_SECONDS = 3600  # AWS's limit for a session assumed with another role session's keys
MIN_SECONDS = 15 * 60  # STS's minimum DurationSeconds
DEFAULT_DURATION = "1h"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$")

LOGIN_SCHEMA = {
    "type": "object",
    "properties": {
        "accessKeyId": {"type": "string", "minLength": 16, "maxLength": 128},
        "secretAccessKey": {"type": "string", "minLength": 1},
        "sessionToken": {"type": "string", "minLength": 1},
        "expiration": {"type": "string"},  # aws-login's output: the chained keys never outlive it
        "region": {"type": "string"},
    },
}
_STRING_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "login": LOGIN_SCHEMA,
        "roleArn": _ARN,
        "sessionName": {"type": "string", "minLength": 2, "maxLength": 64, "pattern": "^[A-Za-z0-9_+=,.@-]+$"},
        "duration": {"type": "string", "minLength": 2, "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"},
        "externalId": {"type": "string", "minLength": 2, "maxLength": 1224},
        "policyArns": {"type": "array", "items": _ARN},
        "policy": {"oneOf": [{"type": "object"}, {"type": "string"}]},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "transitiveTagKeys": _STRING_LIST,
        "sourceIdentity": {"type": "string", "minLength": 2, "maxLength": 64},
        "region": REGION_SCHEMA,
    },
    "required": ["login", "roleArn", "sessionName"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in
                   ("accessKeyId", "secretAccessKey", "sessionToken", "expiration", "region")},
    "required": ["accessKeyId", "secretAccessKey", "sessionToken", "expiration"],
}

# What aws-login's refresh machinery asks of a token source: a chained request has none.
_NO_TOKEN_SOURCE = types.SimpleNamespace(abort=None, rebinds_after_fetch=False)


class AwsAssumeRoleProvider(AwsLoginProvider):
    input_schema = INPUT_SCHEMA
    output_schema = OUTPUT_SCHEMA
    checks_unknown_inputs = True  # `env check` sees a too long duration although `login` is unknown there

    def open(self, inputs, ctx):
        request = AssumeRoleRequest(_checked_inputs(inputs), ctx)
        margin = cache.refresh_margin_seconds()
        _check_duration_outlasts_margin(request.duration, margin)
        entry = self._cached_or_refreshed(request, margin)
        self._record(ctx, request.cache_key, entry["credentials"]["AccessKeyId"], entry["expiration"],
                     entry.get("account_id"), region=request.explicit_region,
                     stale=not cache.is_fresh(entry, margin, self._now()))
        return _output(entry, request.explicit_region)

    def check(self, inputs, ctx):
        """What open() would refuse, for the inputs known when checking (`login` is usually not)."""
        plain = _checked_inputs(inputs)
        if plain.get("duration") is not None:  # refused as open() refuses it, margin included
            _check_duration_outlasts_margin(parse_duration(plain["duration"]), cache.refresh_margin_seconds())
        if plain.get("roleArn") is not None:
            role_arn(plain["roleArn"])
        if isinstance(plain.get("login"), dict) and not _has_unknown(inputs, "login"):
            login_keys(plain["login"])
        if isinstance(plain.get("policy"), (dict, str)) and not _has_unknown(inputs, "policy"):
            session_policy(plain["policy"])

    def _check_lifetime(self, entry, request, margin):
        """Keys capped at the login's expiration may be short (a login served after a failed
        refresh); STS's own answer is still checked against the clock."""
        if not entry.get("capped_by_login"):
            super()._check_lifetime(entry, request, margin)


class AssumeRoleRequest:
    """The parsed inputs and the cache key; ``exchange`` is what aws-login's refresh calls."""

    def __init__(self, plain: dict, ctx):
        from credproc.providers import sts

        self.login = login_keys(plain.get("login"))
        self.role_arn = role_arn(_required_string(plain, "roleArn"))
        self.session_name = _required_string(plain, "sessionName")
        self.duration = parse_duration(plain.get("duration") or DEFAULT_DURATION)
        self.explicit_region = plain.get("region") or None
        self.region = sts.resolve_region(self.explicit_region)
        self.parameters = _request_parameters(plain, self.session_name, self.duration)
        self.display_name = f"{_organization(ctx)}/{ctx.root_environment}"
        self.source, self.bindings = _NO_TOKEN_SOURCE, ()
        self.material = {
            "provider": NAME, "org": _organization(ctx), "root_environment": ctx.root_environment,
            "environment": ctx.environment, "role": self.role_arn, "parameters": self.parameters,
            "sts": sts.endpoint_identity(self.region), "login": login_digest(self.login),
        }

    @property
    def cache_key(self) -> str:
        return cache.make_key(self.material)

    def refresh_deadline(self) -> float:
        from credproc import lock

        return lock.refresh_timeout()

    def exchange(self, client_factory, now: float) -> dict:
        """Login keys -> STS AssumeRole -> a cache entry, its expiration capped at the login's."""
        from credproc.providers import sts

        result = sts.assume_role(login=self.login, role_arn=self.role_arn, request=self.parameters,
                                 region=self.region, client_factory=client_factory)
        expiration, capped = _capped(result["expiration"], self.login.get("expiration"))
        return {
            "credentials": {"AccessKeyId": result["access_key_id"], "SecretAccessKey": result["secret_access_key"],
                            "SessionToken": result["session_token"]},
            "expiration": expiration, "capped_by_login": capped, "account_id": result["account_id"],
            "role_arn": self.role_arn, "assumed_role_arn": result["assumed_role_arn"],
            "created": cache.format_expiration(now), "material": self.material,
        }


# --- inputs --------------------------------------------------------------------------------------

def _checked_inputs(inputs) -> dict:
    plain = to_plain(inputs)
    if not isinstance(plain, dict):
        raise ConfigError(f"{NAME} needs an object of inputs (login, roleArn, sessionName, ...)")
    _refuse_unknown_keys(plain, INPUT_SCHEMA, NAME)
    return plain


def _has_unknown(inputs, name: str) -> bool:
    member = inputs.value.get(name) if isinstance(inputs, Value) and isinstance(inputs.value, dict) else None
    return contains_unknown(member)


def login_keys(login) -> dict:
    """The `login` object: string accessKeyId and secretAccessKey, optional sessionToken/expiration."""
    if not isinstance(login, dict):
        raise ConfigError(f"{NAME} `login` must be an object with accessKeyId and secretAccessKey "
                          "(usually ${{aws.login}})")
    _refuse_unknown_keys(login, LOGIN_SCHEMA, f"{NAME} login")
    missing = [k for k in ("accessKeyId", "secretAccessKey") if not isinstance(login.get(k), str) or not login[k]]
    if missing:
        raise ConfigError(f"{NAME} `login` has no {' or '.join(missing)}",
                          hint="point login at an aws-login (or aws-assume-role) value, e.g. login: ${aws.login}")
    for name in ("sessionToken", "expiration"):
        if login.get(name) is not None and not isinstance(login[name], str):
            raise ConfigError(f"{NAME} `login.{name}` must be a string")
    if login.get("expiration"):
        _expiration_epoch(login["expiration"])
    return {k: login[k] for k in ("accessKeyId", "secretAccessKey", "sessionToken", "expiration") if login.get(k)}


def login_digest(login: dict) -> str:
    """Which login this is, without keeping its secret: the cache key (and entry) hold only this."""
    keys = [login.get(k) for k in ("accessKeyId", "secretAccessKey", "sessionToken")]
    return cache.sha256_hex(json.dumps(keys).encode("utf-8"))


def parse_duration(text) -> int:
    """'45m' -> 2700 seconds, within [15m, 1h]."""
    match = _DURATION.match(text) if isinstance(text, str) and text else None
    if not match or not any(match.groups()):
        raise ConfigError(f"{NAME} `duration` must look like 1h, 45m or 50m30s, got {text!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > MAX_CHAINED_SECONDS:
        raise ConfigError(
            f"{NAME} `duration` {text} is above 1h: AWS caps role-chaining sessions (a role assumed with "
            "another role session's keys) at 1 hour", hint="use duration: 1h or less")
    if total < MIN_SECONDS:
        raise ConfigError(f"{NAME} `duration` {text} is below STS's minimum of 15m")
    return total


def _check_duration_outlasts_margin(duration: int, margin: float) -> None:
    if duration <= margin:
        raise ConfigError(
            f"{NAME} `duration` {duration // 60}m is not longer than the refresh margin of {int(margin // 60)} "
            "minutes: credproc never hands out keys with less than the margin left, so these could never be used",
            hint="request a longer duration (up to 1h), or lower CREDPROC_REFRESH_MARGIN (minimum 16)")


def role_arn(text) -> str:
    if not isinstance(text, str) or not _ROLE_ARN.match(text):
        shown = repr(text)[:80] if isinstance(text, str) else type(text).__name__
        raise ConfigError(f"{NAME} `roleArn` {shown} is not an IAM role ARN",
                          hint="it looks like arn:aws:iam::123456789012:role/NAME")
    return text


def _required_string(plain: dict, name: str) -> str:
    value = plain.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{NAME} `{name}` is required and must be a string")
    return value


def session_policy(policy) -> str:
    """The inline session policy as the JSON text STS takes (an object is serialised)."""
    if isinstance(policy, str):
        try:
            json.loads(policy)
        except ValueError:
            raise ConfigError(f"{NAME} `policy` is a string but not JSON") from None
        return policy
    return json.dumps(policy, separators=(",", ":"), sort_keys=True)


def _request_parameters(plain: dict, session_name: str, duration: int) -> dict:
    """AssumeRole's parameters besides RoleArn, in STS's names (also part of the cache key)."""
    parameters = {"RoleSessionName": session_name, "DurationSeconds": duration}
    optional = {"externalId": "ExternalId", "sourceIdentity": "SourceIdentity"}
    parameters.update({api: plain[name] for name, api in optional.items() if plain.get(name)})
    if plain.get("policyArns"):
        parameters["PolicyArns"] = [{"arn": arn} for arn in sorted(plain["policyArns"])]
    if plain.get("policy"):
        parameters["Policy"] = session_policy(plain["policy"])
    if plain.get("tags"):
        parameters["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(plain["tags"].items())]
    if plain.get("transitiveTagKeys"):
        parameters["TransitiveTagKeys"] = sorted(plain["transitiveTagKeys"])
    return parameters


def _capped(expiration: str, login_expiration: "str | None") -> tuple:
    """(expiration, capped?): the earlier of STS's answer and the login's expiration."""
    if not login_expiration:
        return expiration, False
    limit = _expiration_epoch(login_expiration)
    if cache.parse_expiration(expiration) <= limit:
        return expiration, False
    return cache.format_expiration(limit), True


def _expiration_epoch(text: str) -> int:
    try:
        return cache.parse_expiration(text)
    except ValueError:
        raise ConfigError(f"{NAME} `login.expiration` is not a UTC time such as 2030-01-01T00:00:00Z") from None
