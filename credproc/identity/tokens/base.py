"""The TokenSource interface and what a source learns about the environment that asks."""
from dataclasses import dataclass, field

import os

from credproc import cache
from credproc.identity import jwt
from credproc.errors import ConfigError


@dataclass(frozen=True)
class TokenContext:
    org: str                      # organization login
    environment: str              # environment holding the fn::open ("ENV" or "PROJECT/ENV")
    root_environment: str         # environment being opened
    subject_attributes: tuple = ()  # ((name, value), ...) resolved from oidc.subjectAttributes
    audience: "str | None" = None   # oidc.audience, if set
    extra: dict = field(default_factory=dict)


class TokenSource:
    """One way to get an OIDC token. Subclasses set `kind` and implement `_identity`, `_obtain` and
    `_bindings` (what pins the identity of the token the source would give now; see bindings())."""

    kind = "?"
    #: True when fetching may change the identity (an interactive login makes a new login).
    rebinds_after_fetch = False

    def __init__(self, value, spec: dict, ctx: TokenContext):
        self.value = value
        self.ctx = ctx
        self.expected_issuer = spec.get("issuer")
        self.expected_audience = spec.get("audience") or ctx.audience
        self.extra_bindings = _extra_bindings(spec)

    def bindings(self) -> list:
        """[cache.Binding]: cheap reads whose digests, taken now, pin whose token this source gives
        (plus the `bindEnv`/`bindFiles` the definition adds). A cached answer is served only while
        every one of them reads the same. Raises the error a cold fetch would raise when the source
        cannot give a token now (an unset variable, a missing file, an expired token: exit 4)."""
        extra = [_extra_binding(kind, arg) for kind, arg in self.extra_bindings]
        return self._bindings() + extra

    def _bindings(self) -> list:
        raise NotImplementedError

    def abort(self) -> None:
        """Called from another thread when the refresh deadline passed: stop whatever the fetch
        started (a token command). Most sources have nothing to stop."""

    def describe(self) -> str:
        """Where tokens come from, for messages (never the token)."""
        return self.kind

    def _identity(self) -> dict:
        raise NotImplementedError

    def _obtain(self) -> str:
        raise NotImplementedError

    def identity(self) -> dict:
        """Everything the token depends on, for the cache key. No secrets."""
        result = {"kind": self.kind, **self._identity()}
        if self.expected_issuer:
            result["issuer"] = self.expected_issuer
        if self.expected_audience:
            result["audience"] = self.expected_audience
        return result

    def fetch(self) -> str:
        """A token whose shape, exp (and iss/aud where configured) have been checked."""
        token = self._obtain().strip()
        self.claims = self.check(token)
        return token

    def check(self, token: str) -> dict:
        source = self.describe()
        _header, payload = jwt.decode_unverified(token, source=source)
        jwt.check_claims(payload, issuer=self.expected_issuer, audience=self.expected_audience, source=source)
        return payload


def _extra_bindings(spec: dict) -> list:
    """`bindEnv: [VAR, ...]` and `bindFiles: [PATH, ...]`: more inputs a token depends on (what a
    `command` reads, say), so that a cached answer is served only while they read the same."""
    result = []
    for key, kind in (("bindEnv", "env"), ("bindFiles", "file")):
        names = spec.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) and n and "\n" not in n and "\0" not in n
                                                  for n in names):
            raise ConfigError(f"oidc.token.{key} must be a list of {'variable names' if kind == 'env' else 'paths'}")
        for name in names:
            result.append((kind, os.path.abspath(os.path.expanduser(name)) if kind == "file" else name))
    return result


def expiry_of(claims: dict) -> "int | None":
    """Until when the token is accepted (its `exp` plus the skew check_claims allows): a cached
    answer is not served to the holder of an expired token, as a cold fetch would refuse it."""
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None
    return int(exp) + jwt.CLOCK_SKEW_SECONDS


def _extra_binding(kind: str, arg: str):
    binding = cache.Binding.now(kind, arg)
    if kind == "file" and os.path.lexists(arg) and binding.digest in (cache.ABSENT, cache.OVERSIZE):
        # bound by its bytes, so it must be a readable regular file of at most MAX_TOKEN_BYTES: else
        # every state of it would look the same and the binding would bind nothing
        raise ConfigError(f"oidc.token.bindFiles names {arg}, which is not a readable regular file of at most "
                          f"{cache.MAX_TOKEN_BYTES // 1024} KiB: credproc binds a file by its bytes",
                          hint="bind a smaller file that changes with the identity (a session or config file)")
    return binding
