"""AssumeRoleWithWebIdentity through boto3: unsigned, regional, with botocore's standard retries.

* Unsigned (botocore.UNSIGNED): no credentials are resolved at all, so no ambient keys are used and
  no `credential_process` (possibly credproc itself) is ever started from here.
* The botocore session ignores AWS_PROFILE/AWS_DEFAULT_PROFILE (it uses the `default` profile, which
  may be absent): AWS_PROFILE may name the very profile whose credential_process runs credproc, and
  a profile that does not exist would fail the client.
  Environment settings still apply as botocore reads them natively: AWS_ENDPOINT_URL_STS,
  AWS_ENDPOINT_URL, AWS_CA_BUNDLE, HTTPS_PROXY/NO_PROXY.
* Region: `oidc.region`, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1; always the
  regional endpoint (sts.REGION.amazonaws.com).
* Errors become credproc.errors subclasses whose one-line messages name the role and say what to
  check: StsRefused (exit 5) for refusals, TransientError (exit 6) after retries.

The client factory is injectable (`client_factory(region) -> client`) for tests.
"""
import os

from credproc.errors import ConfigError, CredprocError, StsRefused, TransientError, printable, redact, redact_error

DEFAULT_REGION = "us-east-1"
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
TOKEN_MARK = "<token>"  # what an echoed web identity token is replaced with in messages


def resolve_region(explicit: "str | None" = None) -> str:
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def endpoint_identity(region: str) -> dict:
    """What decides where the call goes, for the cache key (an endpoint override changes the result)."""
    return {
        "region": region,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL") or None,
    }


def make_client(region: str):
    """An unsigned STS client for `region` (boto3 imported here: only on a cache miss)."""
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    # No AWS_PROFILE/AWS_DEFAULT_PROFILE: the profile is "default", tolerated when absent.
    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("sts_regional_endpoints", "regional")
    config = Config(
        signature_version=UNSIGNED,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        user_agent_extra="credproc",
    )
    return session.create_client("sts", region_name=region, config=config)


class Claims:
    """The token's non-secret claims, to explain refusals (a trust policy matches aud and sub)."""

    def __init__(self, payload: "dict | None"):
        payload = payload or {}
        self.iss, self.aud, self.sub = payload.get("iss"), payload.get("aud"), payload.get("sub")

    def text(self) -> str:
        return f"iss={self.iss!r}, aud={self.aud!r}, sub={self.sub!r}"


def assume_role_with_web_identity(
    *,
    role_arn: str,
    session_name: str,
    token: str,
    duration_seconds: int,
    region: str,
    policy_arns: "list | None" = None,
    claims: "dict | None" = None,
    client_factory=None,
) -> dict:
    """Call STS; return {access_key_id, secret_access_key, session_token, expiration (UTC
    "YYYY-MM-DDTHH:MM:SSZ" from STS's answer), assumed_role_arn, account_id}."""
    client = (client_factory or make_client)(region)
    request = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "WebIdentityToken": token,
        "DurationSeconds": int(duration_seconds),
    }
    if policy_arns:
        request["PolicyArns"] = [{"arn": arn} for arn in policy_arns]
    try:
        response = client.assume_role_with_web_identity(**request)
    except Exception as err:  # noqa: BLE001 - every botocore failure is mapped below
        mapped = map_error(err, role_arn, Claims(claims), region, duration_seconds, token=token,
                           endpoint=getattr(getattr(client, "meta", None), "endpoint_url", None))
        # An endpoint (or proxy) may echo the request anywhere in its answer, the error code included.
        raise (redact_error(mapped, [token], TOKEN_MARK) if isinstance(mapped, CredprocError) else mapped) from None
    try:
        return _result(response, role_arn)
    except (KeyError, TypeError, AttributeError, ValueError):  # a 200 without usable Credentials
        raise _unreadable_answer(role_arn, region) from None


def _unreadable_answer(role_arn: str, region: str) -> TransientError:
    # Never quote the body: a half-readable answer may hold the secret key or session token.
    return TransientError(
        f"STS in {region} sent an answer for role {role_arn} that credproc cannot read",
        hint="check that AWS_ENDPOINT_URL_STS (or a proxy) really leads to STS; retry later",
    )


def _result(response: dict, role_arn: str) -> dict:
    import datetime

    creds = response["Credentials"]
    expiration = creds["Expiration"]
    if isinstance(expiration, datetime.datetime):
        if expiration.tzinfo is not None:
            expiration = expiration.astimezone(datetime.timezone.utc)
        expiration = expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    assumed_arn = (response.get("AssumedRoleUser") or {}).get("Arn")
    return {
        "access_key_id": creds["AccessKeyId"],
        "secret_access_key": creds["SecretAccessKey"],
        "session_token": creds["SessionToken"],
        "expiration": expiration,
        "assumed_role_arn": assumed_arn,
        "account_id": account_from_arn(assumed_arn) or account_from_arn(role_arn),
    }


def account_from_arn(arn: "str | None") -> "str | None":
    """arn:PARTITION:sts::ACCOUNT:assumed-role/... -> ACCOUNT (12 digits), else None."""
    parts = (arn or "").split(":")
    if len(parts) >= 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


# --- error mapping -----------------------------------------------------------------------------

_TRANSIENT_CODES = {
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "ServiceUnavailable", "InternalFailure", "InternalError", "RequestTimeout", "IDPCommunicationError",
}


def map_error(err: Exception, role_arn: str, claims: Claims, region: str, duration: int,
              token: "str | None" = None, endpoint: "str | None" = None) -> Exception:
    """The credproc error for a failed call; `token` (the web identity token sent) is redacted by
    value from anything of the answer that is quoted; `endpoint` is the URL the client called."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError as BotoConnectionError,
        HTTPClientError,
        ParamValidationError,
    )

    if isinstance(err, ClientError):
        return _map_client_error(err, role_arn, claims, duration, token)
    if isinstance(err, ParamValidationError):
        # botocore checks lengths client-side (e.g. RoleArn >= 20, token >= 4): a config problem
        return ConfigError(f"the STS request for role {role_arn} is invalid: {_first_line(str(err), token)}")
    if isinstance(err, (BotoConnectionError, HTTPClientError)):
        return _unreachable(err, role_arn, region, endpoint)
    if isinstance(err, BotoCoreError):
        return TransientError(f"STS call for role {role_arn} failed: {type(err).__name__}")
    from botocore.parsers import ResponseParserError

    if isinstance(err, (ResponseParserError, ValueError, KeyError, TypeError)):  # botocore's parser quotes the body
        return _unreadable_answer(role_arn, region)
    return err


def _unreachable(err: Exception, role_arn: str, region: str, endpoint: "str | None") -> TransientError:
    """Names the URL tried and the variable that chose it, so that a stale AWS_ENDPOINT_URL is seen."""
    url = safe_url(endpoint or getattr(err, "kwargs", {}).get("endpoint_url") or "")
    variable = endpoint_variable()
    where = f" at {url}" if url else ""
    where += f" (from {variable})" if variable else ""
    hint = (f"check that {variable} is meant to be set (unset it to use the regional STS endpoint)" if variable
            else "check the network and proxy settings (HTTPS_PROXY); AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL "
                 "would send the call elsewhere")
    return TransientError(
        f"cannot reach STS in {region} for role {role_arn} after {MAX_ATTEMPTS} attempts ({type(err).__name__})"
        f"{where}", hint=hint)


def endpoint_variable() -> "str | None":
    """The environment variable that sets the STS endpoint, as botocore picks it (the specific one first)."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"):
        if os.environ.get(name, "").strip():
            return name
    return None


def safe_url(url: str) -> str:
    """The URL without user:password, query or fragment (any of them may hold a secret)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return printable(urlunsplit((parts.scheme, host + port, parts.path, "", "")))


_JWT_LIKE = None


def _first_line(text: str, token: "str | None" = None) -> str:
    """One line, at most 300 characters, with the token (by value, before it could be cut) and
    anything else shaped like a JWT replaced: an endpoint that echoes the request would otherwise
    put the web identity token into the message."""
    global _JWT_LIKE
    if _JWT_LIKE is None:
        import re

        _JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?")
    return _JWT_LIKE.sub(TOKEN_MARK, " ".join(redact(text, [token], TOKEN_MARK).split()))[:300]


def _map_client_error(err, role_arn: str, claims: Claims, duration: int, token: "str | None") -> Exception:
    error = err.response.get("Error") or {}
    code = error.get("Code") or "Unknown"
    message = _first_line(error.get("Message") or "", token)
    status = (err.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    if code in _TRANSIENT_CODES or status >= 500:
        what = "could not reach the identity provider" if code == "IDPCommunicationError" else "failed"
        return TransientError(
            f"STS {what} for role {role_arn} after {MAX_ATTEMPTS} attempts ({code})",
            hint="retry later" if code != "IDPCommunicationError" else
            "STS must be able to fetch the issuer's discovery document and JWKS over HTTPS",
        )
    if code == "AccessDenied" or code == "AccessDeniedException":
        return StsRefused(
            f"STS denied assuming role {role_arn} (AccessDenied): the role's trust policy must allow "
            f"sts:AssumeRoleWithWebIdentity for the token's issuer and match its claims ({claims.text()})",
            hint=f"compare the trust policy's :aud and :sub conditions with aud={claims.aud!r} sub={claims.sub!r}",
        )
    if code == "InvalidIdentityToken":
        return StsRefused(
            f"STS rejected the token for role {role_arn} (InvalidIdentityToken: {message}); token claims: "
            f"{claims.text()}",
            hint="the IAM OIDC provider for the issuer must exist and the published JWKS must hold the signing key",
        )
    if code == "ExpiredTokenException":
        return StsRefused(
            f"STS says the token for role {role_arn} has expired (ExpiredTokenException); token claims: {claims.text()}",
            hint="check the clock of this machine and of the token's issuer",
        )
    if code == "IDPRejectedClaim":
        return StsRefused(
            f"the identity provider's claims were rejected for role {role_arn} (IDPRejectedClaim: {message}); "
            f"token claims: {claims.text()}",
            hint="the IAM OIDC provider's audience (client ID) list must include the token's aud",
        )
    if code == "ValidationError" and ("DurationSeconds" in message or "MaxSessionDuration" in message
                                      or "session duration" in message.lower()):
        return StsRefused(
            f"the requested duration {duration}s exceeds the maximum session duration of role {role_arn} "
            f"(ValidationError: {message})",
            hint="lower oidc.duration (e.g. 1h), or raise the role's MaxSessionDuration "
            f"(aws iam update-role --role-name {role_arn.rsplit('/', 1)[-1]} --max-session-duration {duration})",
        )
    if code == "PackedPolicyTooLarge" or code == "MalformedPolicyDocument":
        return StsRefused(f"STS refused the session policies for role {role_arn} ({code}: {message})",
                          hint="check oidc.policyArns")
    return StsRefused(f"STS refused assuming role {role_arn} ({code}: {message})")


# --- AssumeRole (role chaining: fn::open::aws-assume-role) ----------------------------------------

def make_signed_client(region: str, login: dict, service: str = "sts"):
    """A client (STS unless ``service`` says otherwise) signed with exactly the login's keys: they are
    handed to the client, so botocore's credential chain (and any credential_process, possibly
    credproc) is never consulted. Profile, endpoint and retry settings as in make_client."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("sts_regional_endpoints", "regional")
    config = Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        user_agent_extra="credproc",
    )
    return session.create_client(
        service, region_name=region, config=config, aws_access_key_id=login["accessKeyId"],
        aws_secret_access_key=login["secretAccessKey"], aws_session_token=login.get("sessionToken"),
    )


def assume_role(*, login: dict, role_arn: str, request: dict, region: str, client_factory=None) -> dict:
    """STS AssumeRole signed with ``login`` ({accessKeyId, secretAccessKey, sessionToken?});
    ``request`` holds the other AssumeRole parameters (RoleSessionName, DurationSeconds, ...).
    Returns what assume_role_with_web_identity returns. Errors name the role and the login's
    identity; the login's secret key and session token never reach a message."""
    client = (client_factory or make_signed_client)(region, login)
    secrets = [login.get("secretAccessKey"), login.get("sessionToken")]
    try:
        response = client.assume_role(RoleArn=role_arn, **request)
    except Exception as err:  # noqa: BLE001 - every botocore failure is mapped below
        mapped = _map_assume_role_error(err, client, login, role_arn, region, request.get("DurationSeconds"))
        raise (redact_error(mapped, secrets) if isinstance(mapped, CredprocError) else mapped) from None
    try:
        return _result(response, role_arn)
    except (KeyError, TypeError, AttributeError, ValueError):  # a 200 without usable Credentials
        raise _unreadable_answer(role_arn, region) from None


def _map_assume_role_error(err, client, login: dict, role_arn: str, region: str, duration) -> Exception:
    from botocore.exceptions import ClientError

    code = (err.response.get("Error") or {}).get("Code") if isinstance(err, ClientError) else None
    if code in ("AccessDenied", "AccessDeniedException"):
        source = _caller_identity(client, login)
        return StsRefused(
            f"STS denied assuming role {role_arn} (AccessDenied) to {source}: the role's trust policy must "
            "allow sts:AssumeRole for it, and its own policies must allow sts:AssumeRole on the role",
            hint="compare the role's trust policy (Principal, sts:ExternalId, tags) with the login it chains from",
        )
    if code in ("ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        return StsRefused(
            f"STS did not accept the login keys (access key {login['accessKeyId']}) to assume role {role_arn} "
            f"({code}): they have expired or are not valid keys",
            hint="check what `login` points at (usually ${aws.login}); reopen the environment",
        )
    return map_error(err, role_arn, Claims(None), region, duration or 0)


def _caller_identity(client, login: dict) -> str:
    """Who the login is (its ARN), to name it in a refusal; its access key id when STS will not say."""
    try:
        return client.get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - only used to explain another error
        return f"access key {login['accessKeyId']}"
