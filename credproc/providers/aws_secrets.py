"""`fn::open::aws-secrets` and `fn::open::aws-parameter-store`: values read from AWS Secrets Manager
and SSM Parameter Store with a login's keys (usually `${aws.login}`), with ESC's input schemas::

    fn::open::aws-secrets:
      region: us-west-1
      login: ${aws.login}                     # accessKeyId, secretAccessKey, sessionToken?
      get:
        api-key: {secretId: api-key}          # name or ARN; versionId? versionStage?
    fn::open::aws-parameter-store:
      region: us-west-1
      login: ${aws.login}
      get:
        db-host: {name: /app/db-host}         # NAME, NAME:VERSION or NAME:LABEL; decrypt?

The output is an object NAME -> the value as a string, every member secret. A binary secret comes out
base64-encoded (as `aws secretsmanager get-secret-value` prints it).

Answers are cached (kind "secrets", 0600 files in the private cache) for at most CACHE_SECONDS and
never past the login's `expiration`, under a key that covers the login's keys, the region, the
endpoint and what is asked: another login (another identity, or the same role's next keys) is
another entry, so a cached value never reaches a caller who could not read it with their own keys.
"""
import base64
import os
import time

from credproc import cache
from credproc.errors import ConfigError, StsRefused, TransientError, printable
from credproc.lang.provider import Provider
from credproc.lang.values import Value, contains_unknown
from credproc.providers.aws_login import REGION_SCHEMA, to_plain

CACHE_KIND = "secrets"
#: A secret changed in AWS shows through at most this late (also bounded by the login's expiry).
CACHE_SECONDS = 5 * 60
MAX_ENTRIES = 100  # each entry is one AWS call: a bound on the work one definition can cause

LOGIN_SCHEMA = {
    "type": "object",
    "properties": {
        "accessKeyId": {"type": "string", "minLength": 16, "maxLength": 128},
        "secretAccessKey": {"type": "string", "minLength": 1},
        "sessionToken": {"type": "string", "minLength": 1},
        "expiration": {"type": "string"},
    },
    "required": ["accessKeyId", "secretAccessKey"],
}


def _input_schema(entry_schema: dict) -> dict:
    return {
        "type": "object",
        "properties": {
            "region": REGION_SCHEMA,
            "login": LOGIN_SCHEMA,
            "get": {"type": "object", "additionalProperties": entry_schema},
        },
        "required": ["region", "login", "get"],
    }


SECRET_ENTRY = {
    "type": "object",
    "properties": {
        "secretId": {"type": "string", "minLength": 1, "maxLength": 2048},
        "versionId": {"type": "string", "minLength": 32, "maxLength": 64},
        "versionStage": {"type": "string", "minLength": 1, "maxLength": 256},
    },
    "required": ["secretId"],
}
PARAMETER_ENTRY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 2048},
        "decrypt": {"type": "boolean"},
    },
    "required": ["name"],
}
OUTPUT_SCHEMA = {"type": "object", "additionalProperties": {"type": "string"}}


class _AwsReadProvider(Provider):
    """What both providers share: inputs, the signed client, the cache and the error wording."""

    name = ""               # the provider's name in fn::open::NAME
    service = ""            # botocore service name
    service_title = ""      # for messages
    what = ""               # "secret" / "parameter"
    entry_keys = ()         # allowed keys of one `get` entry

    def __init__(self, client_factory=None, now=None, **_options):
        self._client_factory = client_factory or signed_client  # tests may inject a fake client
        self._now = now or time.time

    checks_unknown_inputs = True  # `login` is another provider's output, unknown when checking

    def check(self, inputs, ctx):
        """`env check`: the shape errors of `get` that open() would raise, without calling AWS."""
        wanted = inputs.value.get("get") if isinstance(inputs, Value) and isinstance(inputs.value, dict) else None
        if isinstance(wanted, Value) and not contains_unknown(wanted):
            self._check_get(to_plain(wanted))

    def open(self, inputs, ctx):
        region, login, wanted = self._checked(inputs)
        key = cache.make_key({"provider": self.service, "region": region, "endpoint": endpoint_of(self.service),
                              "login": cache.sha256_hex(_login_material(login)), "get": wanted})
        entry = cache.read_entry(CACHE_KIND, key)
        if not _fresh(entry, self._now()):
            entry = {"expiration": cache.format_expiration(_expiry(login, self._now())),
                     "environment": _environment_name(ctx), "provider": self.name,
                     "values": self._fetch_all(region, login, wanted)}
            cache.write_entry(CACHE_KIND, key, entry)
        return Value({name: Value(text, secret=True) for name, text in entry["values"].items()})

    # --- inputs ------------------------------------------------------------------------------------

    def _checked(self, inputs):
        plain = to_plain(inputs)
        self._check_get(plain["get"])
        return plain["region"], plain["login"], plain["get"]

    def _check_get(self, wanted: dict) -> None:
        if len(wanted) > MAX_ENTRIES:
            raise ConfigError(f"get has {len(wanted)} entries; at most {MAX_ENTRIES} are read in one fn::open")
        for name, entry in wanted.items():
            unknown = sorted(set(entry) - set(self.entry_keys))
            if unknown:
                raise ConfigError(f"get.{name}: unknown key {unknown[0]!r} (expected one of {', '.join(self.entry_keys)})")

    # --- AWS ---------------------------------------------------------------------------------------

    def _fetch_all(self, region: str, login: dict, wanted: dict) -> dict:
        client = self._client_factory(self.service, region, login)
        values = {}
        for name in sorted(wanted):
            try:
                values[name] = self._fetch(client, wanted[name])
            except Exception as err:  # noqa: BLE001 - every botocore failure is mapped to one line
                raise self._map_error(err, name, wanted[name], region) from None
        return values

    def _fetch(self, client, entry: dict) -> str:
        raise NotImplementedError

    def _subject(self, entry: dict) -> str:
        raise NotImplementedError

    def _map_error(self, err: Exception, name: str, entry: dict, region: str) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        where = f"get.{name}: {self.what} {self._subject(entry)!r}"
        if isinstance(err, ClientError):
            code = str(err.response.get("Error", {}).get("Code") or "")
            message = _one_line(err.response.get("Error", {}).get("Message") or "")
            if code in NOT_FOUND_CODES:
                return ConfigError(f"{where} not found in {region}",
                                   hint=f"check the name and the region (the {self.what} must be in {region})")
            if code in DENIED_CODES:
                return StsRefused(f"{where}: access denied ({code}: {message})",
                                  hint=f"the login's role needs {self.permission} on this {self.what}")
            if code in THROTTLED_CODES:
                from credproc.providers.sts import MAX_ATTEMPTS

                return TransientError(f"{where}: {self.service_title} throttled the request after "
                                      f"{MAX_ATTEMPTS} attempts ({code})", hint="try again in a moment")
            return StsRefused(f"{where}: {self.service_title} refused the request ({code}: {message})")
        if isinstance(err, EndpointConnectionError):
            return TransientError(f"{where}: cannot reach {self.service_title} at {_one_line(str(err.kwargs.get('endpoint_url', '')))}",
                                  hint=f"check the network and {endpoint_variables(self.service)}")
        if isinstance(err, BotoCoreError):
            return TransientError(f"{where}: the {self.service_title} call failed ({type(err).__name__})")
        return err


class AwsSecretsProvider(_AwsReadProvider):
    input_schema = _input_schema(SECRET_ENTRY)
    output_schema = OUTPUT_SCHEMA
    name = "aws-secrets"
    service = "secretsmanager"
    service_title = "Secrets Manager"
    what = "secret"
    permission = "secretsmanager:GetSecretValue"
    entry_keys = ("secretId", "versionId", "versionStage")

    def _fetch(self, client, entry: dict) -> str:
        request = {"SecretId": entry["secretId"]}
        if "versionId" in entry:
            request["VersionId"] = entry["versionId"]
        if "versionStage" in entry:
            request["VersionStage"] = entry["versionStage"]
        answer = client.get_secret_value(**request)
        if "SecretString" in answer:
            return answer["SecretString"]
        return base64.b64encode(answer.get("SecretBinary") or b"").decode("ascii")

    def _subject(self, entry: dict) -> str:
        return entry["secretId"]


class AwsParameterStoreProvider(_AwsReadProvider):
    input_schema = _input_schema(PARAMETER_ENTRY)
    output_schema = OUTPUT_SCHEMA
    name = "aws-parameter-store"
    service = "ssm"
    service_title = "Parameter Store"
    what = "parameter"
    permission = "ssm:GetParameter (and kms:Decrypt for a SecureString)"
    entry_keys = ("name", "decrypt")

    def _fetch(self, client, entry: dict) -> str:
        # NAME:VERSION and NAME:LABEL are GetParameter's own selector syntax: passed as written.
        answer = client.get_parameter(Name=entry["name"], WithDecryption=bool(entry.get("decrypt", False)))
        return answer["Parameter"]["Value"]

    def _subject(self, entry: dict) -> str:
        return entry["name"]


NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound",
                             "ParameterVersionLabelNotFound"})
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
                          "InvalidClientTokenId", "ExpiredTokenException", "KMSAccessDeniedException"})
THROTTLED_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                             "ThrottledException", "RequestLimitExceeded"})


def signed_client(service: str, region: str, login: dict):
    """A botocore client signed with the login's keys only (sts.make_signed_client): no profile, no
    ambient credentials; AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL apply as botocore reads them."""
    from credproc.providers import sts

    return sts.make_signed_client(region, login, service=service)


def endpoint_variables(service: str) -> str:
    return f"{_ENDPOINT_VARIABLE[service]} or AWS_ENDPOINT_URL"


def endpoint_of(service: str) -> "str | None":
    """The endpoint override in effect (part of the cache key: another endpoint, another answer)."""
    return os.environ.get(_ENDPOINT_VARIABLE[service]) or os.environ.get("AWS_ENDPOINT_URL") or None


_ENDPOINT_VARIABLE = {"secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER", "ssm": "AWS_ENDPOINT_URL_SSM"}


def _login_material(login: dict) -> bytes:
    parts = (login["accessKeyId"], login["secretAccessKey"], login.get("sessionToken") or "")
    return "\0".join(parts).encode("utf-8", "surrogateescape")


def _expiry(login: dict, now: float) -> float:
    """CACHE_SECONDS from now, and never past the login's own expiry."""
    limit = now + CACHE_SECONDS
    text = login.get("expiration")
    if isinstance(text, str) and text:
        try:
            limit = min(limit, cache.parse_expiration(text))
        except (ValueError, TypeError):
            limit = now  # an expiry we cannot read: do not keep the answer
    return limit


def _fresh(entry, now: float) -> bool:
    if not (isinstance(entry, dict) and isinstance(entry.get("values"), dict)
            and all(isinstance(v, str) for v in entry["values"].values())):
        return False
    left = cache.seconds_left(entry, now)
    return left is not None and left > 0


def _environment_name(ctx) -> "str | None":
    """ORG/ENV of the root environment, so `cache ls` and `cache clear ORG/ENV` find the entry."""
    pulumi = (ctx.exec_context or {}).get("pulumi")
    org = (pulumi.get("organization") or {}).get("login") if isinstance(pulumi, dict) else None
    return f"{org}/{ctx.root_environment}" if isinstance(org, str) and org else None


def _one_line(text: str) -> str:
    return printable(" ".join(str(text).split()))[:300]
