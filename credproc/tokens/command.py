"""{command: [ARGV...]}: run a program (no shell) whose stdout, stripped, is the token.

stdin is closed (credproc never reads or hands on its own stdin), stderr passes through, and the
program gets `timeout` seconds (default 30). Its output is never put in a message: it may hold the
token even when the program fails.
"""
import subprocess

from credproc.errors import ConfigError, TokenError
from credproc.tokens.base import TokenSource

DEFAULT_TIMEOUT_SECONDS = 30.0


class CommandTokenSource(TokenSource):
    kind = "command"

    def __init__(self, value, spec, ctx):
        super().__init__(value, spec, ctx)
        if not isinstance(value, list) or not value or not all(isinstance(a, str) and a for a in value):
            raise ConfigError("oidc.token.command must be a non-empty list of strings (the argv, no shell)")
        self.argv = list(value)
        self.timeout = _timeout(spec.get("timeout", DEFAULT_TIMEOUT_SECONDS))

    def describe(self) -> str:
        return f"command {self.argv[0]!r}"

    def _identity(self) -> dict:
        return {"argv": self.argv}

    def _obtain(self) -> str:
        try:
            done = subprocess.run(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            raise TokenError(f"the token command {self.argv[0]!r} was not found") from None
        except PermissionError:
            raise TokenError(f"the token command {self.argv[0]!r} is not executable") from None
        except subprocess.TimeoutExpired:
            raise TokenError(f"the token command {self.argv[0]!r} timed out after {self.timeout:g}s") from None
        if done.returncode != 0:
            raise TokenError(f"the token command {self.argv[0]!r} failed with exit code {done.returncode}")
        try:
            return done.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError(f"the token command {self.argv[0]!r} printed something that is not UTF-8") from None


def _timeout(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"oidc.token.timeout must be a number of seconds between 0 and 3600, got {value!r}")
    return seconds
