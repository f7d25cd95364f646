"""Run the credproc command line inside the test process, for tests that run many rows.

The function called is the one the installed `credproc` console script calls (found through the
package's entry point, not imported by hand), with what the script gives it: sys.argv, sys.exit's
rule for the exit status, stdin at /dev/null, and stdout/stderr captured as a child's are by
subprocess.run(text=True): UTF-8 bytes (stderr with backslashreplace, as CPython's own stderr),
decoded with universal newlines. The result is a subprocess.CompletedProcess, so a check written
for the real command line reads it unchanged. tests/arch/test_inprocess.py proves both paths agree.
"""
import contextlib
import functools
import io
import os
import subprocess
import sys
from importlib import metadata


@functools.lru_cache(maxsize=None)
def console_script_function():
    """The function behind the `credproc` console script ([project.scripts] in pyproject.toml)."""
    (entry,) = metadata.entry_points(group="console_scripts", name="credproc")
    return entry.load()


def run_in_process(args, env_updates: "dict | None" = None) -> subprocess.CompletedProcess:
    """`credproc ARGS...` in this process, with os.environ updated by ``env_updates`` for the call."""
    argv = ["credproc", *map(str, args)]
    stdout, stderr = _capture("strict"), _capture("backslashreplace")
    main = console_script_function()
    with _environment(env_updates or {}), _standard_streams(argv, stdout, stderr):
        status = _exit_status(main())  # the script's `sys.exit(main())`
    return subprocess.CompletedProcess(argv, status, _read_back(stdout), _read_back(stderr))


def _exit_status(code) -> int:
    """What sys.exit(code) makes the process's exit status (a non-int is printed and gives 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _capture(errors: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors=errors, write_through=True)


def _read_back(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer.getvalue()
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="strict").read()


@contextlib.contextmanager
def _standard_streams(argv, stdout, stderr):
    saved = sys.argv, sys.stdin, sys.stdout, sys.stderr
    with open(os.devnull, encoding="utf-8") as devnull:
        sys.argv, sys.stdin, sys.stdout, sys.stderr = argv, devnull, stdout, stderr
        try:
            yield
        finally:
            sys.argv, sys.stdin, sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def _environment(updates: dict):
    """os.environ as the child would get it; restored whole afterwards (credproc sets some itself)."""
    saved = dict(os.environ)
    os.environ.update({name: str(value) for name, value in updates.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
