"""AWS credentials out of an opened environment (used by `credproc process` and `credproc export`).

Where they come from, in order:
  1. ``--path P``: the value at property path P (e.g. ``aws.login``): an aws-login output object
     (accessKeyId/secretAccessKey/sessionToken/expiration) or an object of AWS_* variables.
  2. the environment's ``environmentVariables`` AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
     AWS_SESSION_TOKEN, when it sets AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY;
  3. else its one aws-login output object anywhere in the values (two or more: `--path` decides).

Expiration and account id come from the aws-login provider's record of what it opened in this
process (``opened``: dicts with "access_key_id", "expiration", "account_id", "cache_key" and
optionally "stale": True when it served them after a failed refresh), matched
by access key id: the provider read them from STS's answer, so they are the truth, not the value
the definition happens to pass on. Credentials that no record claims are static (no Expiration).

Nothing here puts a secret into a message: errors name paths and variable names only.
"""
from dataclasses import dataclass

from credproc.errors import ConfigError

ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
LOGIN_KEYS = ("accessKeyId", "secretAccessKey", "sessionToken")


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: "str | None" = None
    expiration: "str | None" = None      # "YYYY-MM-DDTHH:MM:SSZ"; None = static, never refreshed
    account_id: "str | None" = None
    source: str = ""                     # where they were found, e.g. "environmentVariables"
    stale: bool = False                  # served by the provider after a failed refresh

    def process_json(self) -> str:
        """The credential_process answer: one JSON object and a newline, keys in AWS's order."""
        import json

        doc = {"Version": 1, "AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key}
        if self.session_token:
            doc["SessionToken"] = self.session_token
        if self.expiration:
            doc["Expiration"] = self.expiration
        if self.account_id:
            doc["AccountId"] = self.account_id
        return json.dumps(doc) + "\n"

    def __repr__(self) -> str:  # never show the secret parts
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, expiration={self.expiration!r}, source={self.source!r})"


def extract(ref: str, value, *, path: "str | None" = None, records=()) -> AwsCredentials:
    """The credentials of opened environment ``ref`` (value: its Value, or None when empty)."""
    props = _members(value) or {}
    if path:
        target = _at_path(ref, value, path)
        found = _from_login_object(ref, target, path) if _looks_like_login(target) else None
        if found is None and isinstance(_members(target), dict) and set(_members(target)) & set(ENV_KEYS):
            found = _from_env_object(ref, target, path)
        if found is None:
            raise ConfigError(
                f"{ref}: the value at {path} holds no AWS credentials",
                hint="point --path at an fn::open::aws-login value or an object of AWS_* variables",
            )
    elif _has_env_credentials(props.get("environmentVariables")):
        found = _from_env_object(ref, props["environmentVariables"], "environmentVariables")
    else:
        found = _only_login_value(ref, value)
    return _with_provider_record(found, records)


# --- finding them --------------------------------------------------------------------------------

def _members(value):
    return value.value if value is not None and isinstance(getattr(value, "value", None), (dict, list)) else None


def _at_path(ref: str, value, path: str):
    """The value at ``path``, read exactly as `env open ORG/ENV PATH` reads it (one parser, one walk)."""
    from credproc.store.render import parse_property_path, select

    found = select(value, parse_property_path(path))
    if found is None:
        raise ConfigError(f"{ref}: no value at --path {path}", hint="use dots between property names, e.g. aws.login")
    return found


def _looks_like_login(value) -> bool:
    members = _members(value)
    return isinstance(members, dict) and "accessKeyId" in members and "secretAccessKey" in members


def _has_env_credentials(variables) -> bool:
    members = _members(variables)
    return isinstance(members, dict) and ("AWS_ACCESS_KEY_ID" in members or "AWS_SECRET_ACCESS_KEY" in members)


def _only_login_value(ref: str, value) -> AwsCredentials:
    found = []
    _collect_logins(value, "", found)
    if not found:
        raise ConfigError(
            f"{ref} provides no AWS credentials",
            hint="set environmentVariables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, "
                 "or open fn::open::aws-login in the environment",
        )
    if len(found) > 1:
        paths = ", ".join(p for p, _ in found)
        raise ConfigError(f"{ref} has several aws-login values ({paths})", hint="pick one with --path PATH")
    path, login = found[0]
    return _from_login_object(ref, login, path)


def _collect_logins(value, path: str, found: list) -> None:
    if _looks_like_login(value):
        found.append((path or "(root)", value))
        return
    members = _members(value)
    if isinstance(members, dict):
        for name, member in members.items():
            _collect_logins(member, f"{path}.{name}" if path else name, found)
    elif isinstance(members, list):
        for index, member in enumerate(members):
            _collect_logins(member, f"{path}[{index}]", found)


def _string(ref: str, obj, key: str, where: str, required: bool) -> "str | None":
    member = _members(obj).get(key)
    if member is None or (member.value is None and not member.unknown):
        if required:
            raise ConfigError(f"{ref}: {where}.{key} is missing", hint="the environment must set it")
        return None
    if member.unknown:
        raise ConfigError(f"{ref}: {where}.{key} is unknown after evaluation",
                          hint=f"check the environment with `credproc env check {ref}`")
    if not required and member.value == "":
        return None
    if not isinstance(member.value, str) or not member.value:
        raise ConfigError(f"{ref}: {where}.{key} is not a non-empty string")
    text = member.value
    if any(ch in text for ch in "\r\n\0"):
        raise ConfigError(f"{ref}: {where}.{key} contains a line break or NUL")
    return text


def _from_env_object(ref: str, obj, where: str) -> AwsCredentials:
    key_id = _string(ref, obj, "AWS_ACCESS_KEY_ID", where, True)
    secret = _string(ref, obj, "AWS_SECRET_ACCESS_KEY", where, True)
    token = _string(ref, obj, "AWS_SESSION_TOKEN", where, False)
    return AwsCredentials(key_id, secret, token, source=where)


def _from_login_object(ref: str, obj, where: str) -> AwsCredentials:
    key_id = _string(ref, obj, "accessKeyId", where, True)
    secret = _string(ref, obj, "secretAccessKey", where, True)
    token = _string(ref, obj, "sessionToken", where, False)
    return AwsCredentials(key_id, secret, token, source=where)


# --- what the provider knows ---------------------------------------------------------------------

CREDENTIAL_PROVIDERS = ("aws-login", "aws-assume-role")


def provider_records(registry) -> list:
    """The ``opened`` records of the AWS credential providers evaluation built (aws-login, then the
    roles chained from it), in that order."""
    built = registry.built()
    return [r for name in CREDENTIAL_PROVIDERS
            for r in getattr(built.get(name), "opened", None) or () if isinstance(r, dict)]


def _with_provider_record(creds: AwsCredentials, records) -> AwsCredentials:
    from dataclasses import replace

    for record in reversed(list(records)):  # the latest open wins
        if record.get("access_key_id") == creds.access_key_id:
            return replace(
                creds,
                expiration=_normalised_expiration(record.get("expiration")),
                account_id=record.get("account_id") or None,
                stale=bool(record.get("stale")) or _backing_off(record.get("cache_key")),
            )
    return creds


def _backing_off(cache_key) -> bool:
    """Did the provider serve these after a failed refresh? Its STS cache entry then carries a back-off."""
    from credproc import cache

    if not isinstance(cache_key, str):
        return False
    try:
        entry = cache.read_entry("creds", cache_key)
    except ValueError:
        return False
    return bool(entry) and cache.in_backoff(entry)


def _normalised_expiration(text) -> "str | None":
    if not text:
        return None
    from credproc import cache

    try:
        return cache.format_expiration(cache.parse_expiration(text))
    except ValueError:
        raise ConfigError(f"the aws-login provider reported an expiration in an unexpected form ({text[:40]})") from None
