"""Output of the `env` commands that evaluate an environment: diagnostics on stderr, the value on
stdout, and the error that ends the command (exit 2) when there is an error diagnostic.

Used by credproc.commands.env and credproc.commands.rotate (which cannot import env: env registers it).
"""
import sys

from credproc.errors import DiagnosticsError


def print_diagnostics(opened) -> None:
    for line in opened.lines():
        sys.stderr.write(line + "\n")


def errors_of(opened, what: str = "has") -> DiagnosticsError:
    lines = opened.error_lines()
    plural = "s" if len(lines) != 1 else ""
    return DiagnosticsError(f"environment {opened.name} {what} {len(lines)} error{plural}", lines)


def warn(message: str) -> None:
    sys.stderr.write(f"credproc: warning: {message}\n")


def write_stdout(text: str, *, secrets: bool = False) -> None:
    """``secrets``: the text shows secrets (--show-secrets), so a file it goes to is made private."""
    if secrets:
        from credproc import fsutil

        fsutil.keep_stdout_private()
    sys.stdout.write(text)
    sys.stdout.flush()
