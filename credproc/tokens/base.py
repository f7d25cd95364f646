"""The TokenSource interface and what a source learns about the environment that asks."""
from dataclasses import dataclass, field

from credproc import jwt


@dataclass(frozen=True)
class TokenContext:
    org: str                      # organization login
    environment: str              # environment holding the fn::open ("ENV" or "PROJECT/ENV")
    root_environment: str         # environment being opened
    subject_attributes: tuple = ()  # ((name, value), ...) resolved from oidc.subjectAttributes
    audience: "str | None" = None   # oidc.audience, if set
    extra: dict = field(default_factory=dict)


class TokenSource:
    """One way to get an OIDC token. Subclasses set `kind` and implement `_identity` and `_obtain`."""

    kind = "?"

    def __init__(self, value, spec: dict, ctx: TokenContext):
        self.value = value
        self.ctx = ctx
        self.expected_issuer = spec.get("issuer")
        self.expected_audience = spec.get("audience") or ctx.audience

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
