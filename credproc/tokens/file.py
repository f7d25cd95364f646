"""{file: PATH}: read on every fetch, so a file rotated by an agent (Kubernetes projected service
account tokens, for example) is picked up without any cache invalidation."""
import os

from credproc.errors import ConfigError, TokenError
from credproc.tokens.base import TokenSource


class FileTokenSource(TokenSource):
    kind = "file"

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        if not isinstance(value, str) or not value:
            raise ConfigError("oidc.token.file must be a file path")
        self.path = os.path.abspath(os.path.expanduser(value))

    def describe(self) -> str:
        return f"file {self.path}"

    def _identity(self) -> dict:
        return {"path": self.path}

    def _obtain(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            raise TokenError(f"the token file {self.path} does not exist") from None
        except (OSError, UnicodeDecodeError) as err:
            raise TokenError(f"cannot read the token file {self.path}: {type(err).__name__}") from None
