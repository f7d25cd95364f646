"""{githubActions: {audience: A}}: the GitHub Actions OIDC token service.

The runner exposes ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only to jobs with
`permissions: id-token: write`. GET URL&audience=A with `Authorization: Bearer TOKEN` answers
`{"value": "<JWT>"}`. Default audience: sts.amazonaws.com (as aws-actions/configure-aws-credentials).

Identity binding: the job's own request URL and request token (both per job), so a later job, or
one without `id-token: write`, never gets an earlier job's cached credentials.
"""
import json
import os
from urllib.parse import quote

from credproc import cache
from credproc.errors import ConfigError, TokenError, TransientError
from credproc.identity.tokens.base import TokenSource

DEFAULT_AUDIENCE = "sts.amazonaws.com"
URL_VAR = "ACTIONS_ID_TOKEN_REQUEST_URL"
TOKEN_VAR = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
REQUEST_TIMEOUT_SECONDS = 10
_HINT = "run inside a GitHub Actions job whose workflow grants `permissions: id-token: write`"


class GitHubActionsTokenSource(TokenSource):
    kind = "githubActions"

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        if value is None:
            value = {}
        if not isinstance(value, dict) or set(value) - {"audience"}:
            raise ConfigError("oidc.token.githubActions must be an object with an optional `audience`")
        self.audience = value.get("audience") or ctx.audience or DEFAULT_AUDIENCE
        if not isinstance(self.audience, str):
            raise ConfigError("oidc.token.githubActions.audience must be a string")
        # The token is requested for this audience, so it must carry it.
        self.expected_audience = self.expected_audience or self.audience

    def describe(self) -> str:
        return "GitHub Actions"

    def _identity(self) -> dict:
        return {"audience": self.audience}

    def _bindings(self) -> list:
        _request_settings()
        return [cache.Binding.now("env", URL_VAR), cache.Binding.now("env", TOKEN_VAR)]

    def _obtain(self) -> str:
        url, bearer = _request_settings()
        separator = "&" if "?" in url else "?"
        return _request(f"{url}{separator}audience={quote(self.audience, safe='')}", bearer)


def _request_settings() -> "tuple[str, str]":
    url, bearer = os.environ.get(URL_VAR), os.environ.get(TOKEN_VAR)
    if not url or not bearer:
        missing = " and ".join(v for v, s in ((URL_VAR, url), (TOKEN_VAR, bearer)) if not s)
        raise TokenError(f"cannot get a GitHub Actions OIDC token: {missing} not set", hint=_HINT)
    return url, bearer


def _request(url: str, bearer: str) -> str:
    import urllib.error
    import urllib.request

    from credproc.identity import http

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"})
    try:
        with http.open_url(request, REQUEST_TIMEOUT_SECONDS) as response:
            body = response.read(cache.MAX_TOKEN_BYTES + 1)
    except urllib.error.HTTPError as err:
        if err.code >= 500 or err.code == 429:
            raise TransientError(f"the GitHub Actions token service answered HTTP {err.code}") from None
        raise TokenError(f"the GitHub Actions token service refused the request (HTTP {err.code})", hint=_HINT) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise TransientError(f"cannot reach the GitHub Actions token service: {type(reason).__name__}") from None
    if len(body) > cache.MAX_TOKEN_BYTES:
        raise TokenError(f"the GitHub Actions token service answered more than {cache.MAX_TOKEN_BYTES // 1024} KiB")
    try:
        value = json.loads(body)["value"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("the GitHub Actions token service answered without a `value`") from None
    if not isinstance(value, str):
        raise TokenError("the GitHub Actions token service answered without a `value`")
    return value
