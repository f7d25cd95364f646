"""Helpers of the `credproc run` tests (tests/run is on sys.path: imported as a plain module)."""
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import textwrap
import time

from credproc.commands.run.runner import FORWARDED_SIGNALS  # imported here: preexec_fn must not import

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
PY = sys.executable


def write_env(isolated_env, name, text):
    path = isolated_env.env_dir.joinpath(*name.split("/")).with_suffix(".yaml")
    for parent in reversed(path.relative_to(isolated_env.config_dir).parents):
        (isolated_env.config_dir / parent).mkdir(mode=0o700, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def default_signals():
    """For preexec_fn: credproc starts with default signal dispositions even when the tests run
    under nohup (SIGHUP ignored) or in a background job (SIGINT ignored), which it would inherit."""
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def py(code):
    return [PY, "-c", textwrap.dedent(code)]


class Terminal:
    """A pseudo-terminal for `credproc run` (its stdin, stdout and stderr), read from our side."""

    def __init__(self, rows=37, columns=101):
        self.leader, self.follower = pty.openpty()
        self.resize(rows, columns)
        self.output = b""

    def resize(self, rows, columns):
        import fcntl
        import termios

        fcntl.ioctl(self.follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def start(self, *args):
        def child_setup():
            default_signals()
            os.setsid()  # the terminal becomes credproc's controlling terminal, as in a shell
            import fcntl
            import termios
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        return subprocess.Popen([CREDPROC, "run", *args], stdin=self.follower, stdout=self.follower,
                                stderr=self.follower, preexec_fn=child_setup)

    def read_until(self, needle: bytes, timeout=20) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.output and time.monotonic() < deadline:
            self._read(0.1)
        assert needle in self.output, self.output
        return self.output

    def read_rest(self, proc, timeout=30) -> bytes:
        proc.wait(timeout=timeout)
        while self._read(0.2):
            pass
        return self.output

    def _read(self, wait) -> bool:
        ready, _, _ = select.select([self.leader], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.leader, 4096)
        except OSError:
            return False
        self.output += chunk
        return bool(chunk)

    def settings(self):
        import termios

        return termios.tcgetattr(self.follower)

    def close(self):
        os.close(self.follower)
        os.close(self.leader)
