"""{env: VAR}: the token is the value of an environment variable. The identity binding is the
digest of the variable's value: another token, an unset variable or garbage is a cache miss."""
import os
import re

from credproc import cache
from credproc.errors import ConfigError, TokenError
from credproc.identity.tokens.base import TokenSource, expiry_of

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvTokenSource(TokenSource):
    kind = "env"

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        if not isinstance(value, str) or not _NAME.match(value):
            raise ConfigError(f"oidc.token.env must be an environment variable name, got {value!r}")
        self.name = value

    def describe(self) -> str:
        return f"environment variable {self.name}"

    def _identity(self) -> dict:
        return {"env": self.name}

    def _bindings(self) -> list:
        claims = self.check(self._obtain().strip())
        return [cache.Binding.now("env", self.name, until=expiry_of(claims))]

    def _obtain(self) -> str:
        token = os.environ.get(self.name, "")
        if not token.strip():
            raise TokenError(f"the environment variable {self.name} is not set or empty")
        if len(token) > cache.MAX_TOKEN_BYTES:
            raise TokenError(f"the environment variable {self.name} is longer than "
                             f"{cache.MAX_TOKEN_BYTES // 1024} KiB; an OIDC token is a few KiB")
        return token
