"""The default token source: credproc's local OIDC issuer (credproc.identity.issuer) mints a 5-minute token
whose `sub` names the organization and environment (format in credproc.identity.issuer).

Identity binding, computed without signing: the digests of the issuer's key and settings files
(a new key or URL is another issuer), while the subject and its attributes are part of the cache
key itself (the user name that pulumi.user.login reads is in `credproc process`'s index key)."""
from credproc import cache
from credproc.identity import issuer
from credproc.identity.tokens.base import TokenSource


class LocalIssuerTokenSource(TokenSource):
    kind = "local"

    def __init__(self, ctx):
        super().__init__(None, {}, ctx)
        self.settings = issuer.load_settings()  # json only: no key, no cryptography, until a token is minted
        self.audience = ctx.audience or self.settings["audience"]
        self.expected_issuer = self.settings["url"]
        self.expected_audience = self.audience
        self.subject = issuer.subject(ctx.org, ctx.environment, list(ctx.subject_attributes))

    def describe(self) -> str:
        return f"the local issuer {self.settings['url']}"

    def _identity(self) -> dict:
        return {"url": self.settings["url"], "sub": self.subject, "kid": self.settings["kid"]}

    def _bindings(self) -> list:
        key, settings = issuer.identity_files()
        # the key must be private: a cold call refuses an insecure one, so a hit must not serve past it
        bindings = [cache.Binding.now("private", key), cache.Binding.now("file", settings)]
        if any(b.digest in (cache.ABSENT, cache.OVERSIZE) for b in bindings):
            issuer.load()  # raises the error a cold fetch gives (not set up, unreadable key)
        return bindings

    def _obtain(self) -> str:
        extra = {
            "org": self.ctx.org,
            "current_env": issuer.qualify_environment(self.ctx.environment),
            "root_env": issuer.qualify_environment(self.ctx.root_environment),
        }
        return issuer.load().mint(self.subject, audience=self.audience, extra=extra)
