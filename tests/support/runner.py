"""Run the real `credproc` entry point (as botocore does: no stdin, a timeout) and check failures."""
import os
import subprocess
from pathlib import Path

import support  # noqa: F401
from credtest import CREDPROC, python_bytecode_env

from .text import first_line


class Result:
    def __init__(self, code: int, stdout: bytes, stderr: str, argv):
        self.code, self.stdout, self.stderr, self.argv = code, stdout, stderr, argv

    @property
    def first_line(self) -> str:
        return first_line(self.stderr)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, stdout={self.stdout[:200]!r}, stderr={self.stderr[:600]!r})"


def credproc_process(*args, env=None, text: bool = False, timeout: float = 60, stdin=subprocess.DEVNULL,
                     cwd=None) -> subprocess.CompletedProcess:
    """The real command line: `credproc ARGS...` (the venv's console script) with exactly ``env``
    (os.environ when None), stdin /dev/null, output captured (bytes, or str when ``text``)."""
    argv = [CREDPROC, *[str(a) for a in args]]
    return subprocess.run(argv, env=env, stdin=stdin, capture_output=True, text=text, timeout=timeout, cwd=cwd)


def run_credproc(*args, env=None, timeout: float = 60, stdin=subprocess.DEVNULL, cwd=None, **extra) -> Result:
    """Run `credproc ARGS...` with os.environ (+ ``extra``), or exactly ``env``."""
    base = dict(os.environ) if env is None else dict(env)
    base.update({k: str(v) for k, v in extra.items()})
    proc = credproc_process(*args, env=python_bytecode_env(base), timeout=timeout, stdin=stdin, cwd=cwd)
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"), proc.args)


def assert_clean_failure(result: Result, code: "int | None" = None) -> None:
    """A failure the way credproc promises: the exit code, a `credproc: ...` or diagnostic first line,
    no traceback, nothing on stdout."""
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    assert "Traceback (most recent call last)" not in result.stderr, result
    assert result.first_line, result


def tree_snapshot(*roots) -> dict:
    """{path: (size, mtime_ns, mode)} of every file under ``roots`` (to prove nothing was written)."""
    snap = {}
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                st = path.stat()
                snap[str(path)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return snap


def temp_leftovers(*roots) -> list:
    """Temporary files credproc's atomic writes would leave behind if interrupted."""
    found = []
    for root in roots:
        root = Path(root)
        if root.exists():
            found += [str(p) for p in root.rglob("*.tmp")] + [str(p) for p in root.rglob(".*.tmp")]
    return sorted(set(found))
