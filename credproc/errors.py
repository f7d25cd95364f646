"""Errors that leave credproc, and the exit codes they map to.

Stdlib only: imported on the credential_process hot path.

The tree::

    CredprocError                 exit 1  unexpected internal failure (a bug; message still one line)
    ├── UsageError                exit 2  bad arguments, bad environment name, bad input file
    ├── ConfigError               exit 2  configuration problem: missing environment, insecure cache dir,
    │   │                                 environment with error diagnostics, issuer not set up, ...
    │   └── DiagnosticsError      exit 2  an environment evaluated with error diagnostics
    ├── LoginRequired             exit 3  an interactive login is needed and the caller is not interactive
    ├── TokenError                exit 4  the OIDC token could not be obtained or failed validation
    │                                     (or the Pulumi access token: missing, or refused with 401/403)
    ├── StsRefused                exit 5  STS refused the exchange (AccessDenied, InvalidIdentityToken, ...)
    ├── TransientError            exit 6  network, throttling or 5xx after retries
    ├── LockTimeout               exit 7  another credproc held the refresh lock for too long
    └── RecursionDetected         exit 8  credproc was started by itself for the same environment

Every message is one line, names what is wrong and, where one helps, carries a ``hint``
(printed after the message). No message may contain a secret (``redact`` removes known secrets by
value) or a raw terminal control character (``printable`` escapes them where lines are printed).
"""


class ExitCode:
    OK = 0
    INTERNAL = 1
    USAGE = 2  # also configuration errors and environments with error diagnostics
    LOGIN_REQUIRED = 3
    TOKEN = 4
    STS_REFUSED = 5
    TRANSIENT = 6
    LOCK_TIMEOUT = 7
    RECURSION = 8
    INTERRUPTED = 130


EXIT_CODE_TABLE = (
    (ExitCode.OK, "success"),
    (ExitCode.INTERNAL, "unexpected internal error (please report it)"),
    (ExitCode.USAGE, "usage or configuration error, or the environment has error diagnostics"),
    (ExitCode.LOGIN_REQUIRED, "login required: run `credproc login ORG/ENV`"),
    (ExitCode.TOKEN, "the OIDC token (or Pulumi access token) could not be obtained or was refused"),
    (ExitCode.STS_REFUSED, "STS refused the token or the role (AccessDenied, InvalidIdentityToken, ...)"),
    (ExitCode.TRANSIENT, "network, throttling or server error after retries"),
    (ExitCode.LOCK_TIMEOUT, "timed out waiting for another credproc's refresh lock"),
    (ExitCode.RECURSION, "credproc was invoked recursively for the same environment"),
    (ExitCode.INTERRUPTED, "interrupted"),
)


class CredprocError(Exception):
    """Base of every error credproc reports; ``str()`` is the one-line message."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: "str | None" = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(CredprocError):
    exit_code = ExitCode.USAGE


class ConfigError(CredprocError):
    exit_code = ExitCode.USAGE


class DiagnosticsError(ConfigError):
    """An environment has error diagnostics; ``diagnostics`` holds the formatted lines."""

    def __init__(self, message: str, diagnostics: "list[str] | None" = None, *, hint: "str | None" = None):
        super().__init__(message, hint=hint)
        self.diagnostics = list(diagnostics or [])


class LoginRequired(CredprocError):
    exit_code = ExitCode.LOGIN_REQUIRED


class TokenError(CredprocError):
    exit_code = ExitCode.TOKEN


class StsRefused(CredprocError):
    exit_code = ExitCode.STS_REFUSED


class TransientError(CredprocError):
    exit_code = ExitCode.TRANSIENT


class LockTimeout(CredprocError):
    exit_code = ExitCode.LOCK_TIMEOUT


class RecursionDetected(CredprocError):
    exit_code = ExitCode.RECURSION


def counted(number: int, singular: str, plural: "str | None" = None) -> str:
    """'1 profile', '2 profiles', '0 warnings': messages never say '1 profiles' or 'warning(s)'."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def format_error_line(err: CredprocError) -> str:
    """The first stderr line for an error: ``credproc: MESSAGE (hint: ...)``, newlines folded, other
    control characters escaped (see printable)."""
    text = err.message if not err.hint else f"{err.message} (hint: {err.hint})"
    return "credproc: " + printable(" ".join(text.split("\n")))


# --- terminal safety ------------------------------------------------------------------------------

# Characters a terminal acts on instead of showing: C0 controls (ESC starts CSI/OSC sequences that
# clear the screen or set the clipboard, CR overwrites the line), DEL, C1 controls (0x9b is a
# one-byte CSI), the Unicode bidi overrides, isolates and marks that make text display in another
# order, and the invisible format characters that hide or join text (zero-width spaces and joiners,
# the soft hyphen, BOM, line and paragraph separators, interlinear annotations).
_UNSAFE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
           0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), 0x2028, 0x2029, *range(0x2060, 0x2065), 0xFEFF,
           *range(0xFFF9, 0xFFFC)]
_ESCAPES = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _UNSAFE}


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: each unsafe character as a visible escape (ESC as \\x1b,
    U+202E as \\u202e). Names, keys, values and YAML errors from a definition reach error messages and
    diagnostics; printed raw, their escape sequences would act on the user's terminal."""
    return text.translate(_ESCAPES)


# --- redaction by value ---------------------------------------------------------------------------

REDACTED = "<redacted>"
_MIN_SECRET = 4  # shorter values are not redacted (nothing credproc holds as a secret is that short)
_MIN_PART = 8  # a dot-separated part of a secret (a JWT's header, payload, signature) redacted alone
_MIN_RUN = 16  # any run this long that also occurs in a secret (a truncated or re-wrapped echo)


def redact(text: "str | None", secrets, marker: str = REDACTED) -> "str | None":
    """``text`` with every known secret value replaced by ``marker``, whatever its shape: the value,
    its URL-encoded forms, its dot-separated parts, and any 16+ character piece of any of those (a
    server that echoes a token may quote it truncated, encoded or split). Servers echo what they were
    sent; matching by value catches what a pattern such as "starts with eyJ" misses."""
    if not text:
        return text
    forms = _secret_forms(secrets)
    if not forms:
        return text
    covered = bytearray(len(text))
    for form in forms:
        _cover_occurrences(text, form, covered)
    _cover_shared_runs(text, forms, covered)
    return _replace_covered(text, covered, marker)


def _secret_forms(secrets) -> "set[str]":
    forms = set()
    for secret in secrets or ():
        if isinstance(secret, str) and len(secret.strip()) >= _MIN_SECRET:
            forms |= _forms_of(secret.strip())
    return forms


def _forms_of(secret: str) -> "set[str]":
    """The secret as sent and as a server may quote it (URL-encoded for a path, a query or a form,
    backslash-escaped), and the long dot-separated parts of each."""
    from urllib.parse import quote, quote_plus

    whole = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
             secret.encode("unicode_escape").decode("ascii")}
    return whole | {part for form in whole for part in form.split(".") if len(part) >= _MIN_PART}


def _cover_occurrences(text: str, form: str, covered: bytearray) -> None:
    start = text.find(form)
    while start >= 0:
        covered[start:start + len(form)] = b"\x01" * len(form)
        start = text.find(form, start + 1)


def _cover_shared_runs(text: str, forms, covered: bytearray) -> None:
    pieces = {form[i:i + _MIN_RUN] for form in forms for i in range(len(form) - _MIN_RUN + 1)}
    for i in range(len(text) - _MIN_RUN + 1):
        if text[i:i + _MIN_RUN] in pieces:
            covered[i:i + _MIN_RUN] = b"\x01" * _MIN_RUN


def _replace_covered(text: str, covered: bytearray, marker: str) -> str:
    from itertools import groupby

    runs = groupby(zip(text, covered), key=lambda pair: pair[1])
    return "".join(marker if secret else "".join(char for char, _ in run) for secret, run in runs)


def redact_error(err: CredprocError, secrets, marker: str = REDACTED) -> CredprocError:
    """``err`` itself (same class and exit code) with ``secrets`` redacted from its message and hint."""
    err.message, err.hint = redact(err.message, secrets, marker), redact(err.hint, secrets, marker)
    err.args = (err.message,)
    return err
