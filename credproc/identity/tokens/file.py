"""{file: PATH}: read on every fetch, so a file rotated by an agent (Kubernetes projected service
account tokens, for example) is picked up without any cache invalidation. The identity binding is
the digest of the file's bytes: a rotated, replaced or deleted token file is a cache miss (a
rotated token of the same subject costs one STS call; claims are not trusted without a signature)."""
import os

from credproc import cache
from credproc.errors import ConfigError, TokenError
from credproc.identity.tokens.base import TokenSource, expiry_of


class FileTokenSource(TokenSource):
    kind = "file"

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        if not isinstance(value, str) or not value:
            raise ConfigError("oidc.token.file must be a file path")
        self.path = os.path.abspath(os.path.expanduser(value))
        self._token = None  # the token whose digest was bound: the exchange uses exactly this one

    def describe(self) -> str:
        return f"file {self.path}"

    def _identity(self) -> dict:
        return {"path": self.path}

    def _bindings(self) -> list:
        raw = self._read()
        self._token = _text(raw, self.path)
        claims = self.check(self._token.strip())
        return [cache.Binding("file", self.path, cache.sha256_hex(raw), until=expiry_of(claims))]

    def _obtain(self) -> str:
        return self._token if self._token is not None else _text(self._read(), self.path)

    def _read(self) -> bytes:
        if not os.path.exists(self.path):
            raise TokenError(f"the token file {self.path} does not exist")
        data = cache.read_capped(self.path, cache.MAX_TOKEN_BYTES)
        if data is None:
            raise TokenError(f"cannot read the token file {self.path} (it must be a readable regular file)")
        if len(data) > cache.MAX_TOKEN_BYTES:
            raise TokenError(f"the token file {self.path} is larger than {cache.MAX_TOKEN_BYTES // 1024} KiB; "
                             "an OIDC token is a few KiB")
        return data


def _text(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenError(f"the token file {path} is not UTF-8 text") from None
