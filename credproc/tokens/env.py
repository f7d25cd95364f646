"""{env: VAR}: the token is the value of an environment variable."""
import os
import re

from credproc.errors import ConfigError, TokenError
from credproc.tokens.base import TokenSource

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

    def _obtain(self) -> str:
        token = os.environ.get(self.name, "")
        if not token.strip():
            raise TokenError(f"the environment variable {self.name} is not set or empty")
        return token
