"""OIDC token sources for `fn::open::aws-login` (`oidc.token`): a small registry.

    resolve(spec, ctx) -> TokenSource      spec: the plain `oidc.token` mapping, or None
    TokenSource.identity() -> dict         what the token depends on (no secret): part of the cache key
    TokenSource.fetch() -> str             a token, shape and claims checked (credproc.identity.jwt)

`spec` holds exactly one *kind* key, plus optional expectations checked before STS:

    (omitted)                       the local issuer (credproc.identity.issuer; `credproc issuer init` first)
    {file: PATH}                    re-read on every refresh (Kubernetes rotates projected tokens)
    {env: VAR}                      an environment variable
    {command: [ARGV...]}            run without a shell; stdout, stripped, is the token;
                                    `timeout` (seconds, default 30)
    {githubActions: {audience: A}}  the GitHub Actions OIDC endpoint (needs `permissions: id-token: write`)
    {login: {...}}                  a person's browser/device login (credproc.identity.tokens.login)
    issuer: URL                     expected `iss` (optional)
    audience: AUD                   expected `aud` (optional; defaults to `oidc.audience` if set)
    bindEnv: [VAR...]               more variables / files the token depends on (for `command`):
    bindFiles: [PATH...]            a cached answer is served only while they read the same

TokenSource.bindings() -> [cache.Binding]   what pins whose token the source gives now (see
                                            credproc.cache, "identity bindings")
"""
import importlib

from credproc.errors import ConfigError
from credproc.identity.tokens.base import TokenContext, TokenSource

KINDS = {
    "file": "credproc.identity.tokens.file:FileTokenSource",
    "env": "credproc.identity.tokens.env:EnvTokenSource",
    "command": "credproc.identity.tokens.command:CommandTokenSource",
    "githubActions": "credproc.identity.tokens.github_actions:GitHubActionsTokenSource",
    "login": "credproc.identity.tokens.login:LoginTokenSource",
}
#: Keys allowed beside the kind key.
MODIFIERS = ("issuer", "audience", "timeout", "bindEnv", "bindFiles")

__all__ = ["KINDS", "TokenContext", "TokenSource", "resolve"]


def _known() -> str:
    return ", ".join(sorted(KINDS))


def _kind_of(spec: dict) -> str:
    kinds = [key for key in spec if key not in MODIFIERS]
    if len(kinds) != 1:
        found = ", ".join(sorted(kinds)) or "none"
        raise ConfigError(f"oidc.token must have exactly one token source kind ({_known()}); found: {found}")
    kind = kinds[0]
    if kind not in KINDS:
        raise ConfigError(f"unknown token source kind {kind!r} in oidc.token; known kinds: {_known()}")
    return kind


def resolve(spec: "dict | None", ctx: TokenContext) -> TokenSource:
    """The token source for a plain `oidc.token` value (None: the local issuer)."""
    if spec is None:
        from credproc.identity.tokens.local import LocalIssuerTokenSource

        return LocalIssuerTokenSource(ctx)
    if not isinstance(spec, dict):
        raise ConfigError(f"oidc.token must be an object with one of: {_known()}")
    kind = _kind_of(spec)
    module, _, attr = KINDS[kind].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(spec[kind], spec, ctx)
