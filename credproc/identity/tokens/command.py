"""{command: [ARGV...]}: run a program (no shell) whose stdout, stripped, is the token.

stdin is closed (credproc never reads or hands on its own stdin), stderr passes through, and the
program gets `timeout` seconds (default 30) and at most MAX_TOKEN_BYTES of output. Its output is
never put in a message: it may hold the token even when the program fails.

Identity binding: credproc cannot know whose token a program would print without running it, and
running it on every cache hit would cost what the cache saves. A cached answer is bound to the
argv (part of the definition) and to what `bindEnv`/`bindFiles` name (variables or files the
program reads: `bindEnv: [VAULT_TOKEN]` serves the answer only while VAULT_TOKEN is the same).
"""
import os
import subprocess
import time

from credproc import cache
from credproc.errors import ConfigError, TokenError
from credproc.identity.tokens.base import TokenSource

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

    def _bindings(self) -> list:
        return []

    def abort(self) -> None:
        """The refresh deadline passed (another thread): end the command and its process group now."""
        child = getattr(self, "_child", None)
        if child is not None:
            _kill(child)

    def _obtain(self) -> str:
        name = self.argv[0]
        try:
            # its own process group: a time-out kills the command and whatever it started, so nothing
            # keeps credproc's stderr (and the caller reading it) open after credproc gave up
            child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     start_new_session=os.name == "posix")
        except FileNotFoundError:
            raise TokenError(f"the token command {name!r} was not found") from None
        except PermissionError:
            raise TokenError(f"the token command {name!r} is not executable") from None
        except OSError as err:
            raise TokenError(f"the token command {name!r} could not be started ({type(err).__name__})") from None
        self._child = child
        try:
            with child:
                output = _read_bounded(child, self.timeout, name)
        finally:
            self._child = None
        if child.returncode != 0:
            raise TokenError(f"the token command {name!r} failed with exit code {child.returncode}")
        try:
            return output.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError(f"the token command {name!r} printed something that is not UTF-8") from None


def _read_bounded(child, timeout: float, name: str) -> bytes:
    """The child's stdout, at most MAX_TOKEN_BYTES within ``timeout``; the child is killed otherwise."""
    import selectors

    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    fd = child.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                _kill(child)
                raise TokenError(f"the token command {name!r} timed out after {timeout:g}s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cache.MAX_TOKEN_BYTES:
                _kill(child)
                raise TokenError(f"the token command {name!r} printed more than "
                                 f"{cache.MAX_TOKEN_BYTES // 1024} KiB; an OIDC token is a few KiB")
    try:
        child.wait(max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        _kill(child)
        raise TokenError(f"the token command {name!r} timed out after {timeout:g}s") from None
    return b"".join(chunks)


def _kill(child) -> None:
    if os.name == "posix":
        import signal

        try:
            os.killpg(child.pid, signal.SIGKILL)  # the command and what it started (its own group)
        except OSError:
            pass
    try:
        child.kill()
    except OSError:
        pass
    child.wait()


def _timeout(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"oidc.token.timeout must be a number of seconds between 0 and 3600, got {value!r}")
    return seconds
