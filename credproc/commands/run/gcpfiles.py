"""GCP for long-running children of `credproc run`, and `credproc gcp-token SPEC` behind it.

`gcp-login`'s accessToken lives at most as long as its tokenLifetime (1 h by default): a child that
runs longer (Terraform, a notebook) would fail with it. So when the environment opened exactly one
`gcp-login` with `oidc`, `run` also writes, in its private per-run directory (0700, files 0600,
removed when the run ends):

* a token spec: the login's token source and the context its token is made for (no secret: the
  `token:` block and the names the subject is made of);
* an `external_account` credentials file (Google's "executable-sourced credentials") whose
  credential source is `credproc gcp-token SPEC`, with the same audience, token_url
  (CREDPROC_GCP_STS_URL) and service_account_impersonation_url (CREDPROC_GCP_IAM_CREDENTIALS_URL) as
  gcp-login's own exchange;

and sets GOOGLE_APPLICATION_CREDENTIALS to that file and GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1
(google-auth and Go's oauth2/google run an executable only when it is set). Application Default
Credentials (google-auth, the Google Cloud client libraries, Terraform's google provider without
an access_token) then refresh on their own: each time their token nears its expiry they run
`credproc gcp-token`, which prints a fresh OIDC token in the executable-response format, and do
the STS and IAM Credentials calls themselves. Nothing is written when the environment sets
GOOGLE_APPLICATION_CREDENTIALS itself, or opens no or several OIDC gcp-logins.

Each token `gcp-token` mints is a secret `run` has not seen (another process minted it), yet the
child prints it readily (google-auth's HTTP debug log shows `subject_token=...`). So the spec also
names a feed: an empty 0600 file in the same private directory, which `run`'s masker watches
(masking.LiveSecrets.watch). `gcp-token` appends the token to it, as one line, before it prints the
token; the masker looks at the feed's size before it masks each chunk of the child's output, so it
knows the token before any output that can hold it arrives. If the feed cannot be written,
`gcp-token` fails rather than hand out a token the masker does not know. Outside `run` (a spec
without a feed) there is nothing to tell.
"""
import json
import sys

from credproc.errors import ConfigError, CredprocError

CREDENTIALS_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
ALLOW_EXECUTABLES = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"
EXECUTABLE_TIMEOUT_MILLIS = 60000  # google-auth allows 5 s to 120 s; a refresh may take CREDPROC_REFRESH_TIMEOUT
MAX_SPEC_BYTES = 64 * 1024


def records(registry) -> list:
    """The `opened` records of the gcp-login provider, if evaluation built it."""
    provider = registry.built().get("gcp-login")
    return [r for r in getattr(provider, "opened", None) or () if isinstance(r, dict) and not r.get("static")]


def external_account(gcp_records, projection, files) -> "tuple[dict, str | None]":
    """(variables for the child (name -> value), the path of the token feed the masker must watch)
    after writing the feed, spec and credentials files with ``files`` (runner.TempFiles); ({}, None)
    when there is nothing to write (see the module docstring)."""
    if CREDENTIALS_VARIABLE in projection.variables or CREDENTIALS_VARIABLE in projection.files:
        return {}, None
    logins = {json.dumps(_spec(r), sort_keys=True): r for r in gcp_records}
    if len(logins) != 1:
        return {}, None
    record = next(iter(logins.values()))
    feed = files.write("gcp-token-feed", "")
    spec_path = files.write("gcp-token-spec", json.dumps({**_spec(record), "feed": feed}, sort_keys=True))
    credentials = files.write("gcp-credentials", json.dumps(credentials_file(record, spec_path), indent=2))
    return {CREDENTIALS_VARIABLE: credentials, ALLOW_EXECUTABLES: "1"}, feed


def _spec(record: dict) -> dict:
    return {"audience": record["audience"], "token": record.get("token"), "context": record["token_context"],
            "service_account": record["service_account"], "lifetime": record["lifetime"]}


def credentials_file(record: dict, spec_path: str) -> dict:
    import shlex

    from credproc.commands.profile import credproc_launcher
    from credproc.providers import gcp

    return {
        "type": "external_account",
        "audience": record["audience"],
        "subject_token_type": gcp.JWT_TOKEN_TYPE,
        "token_url": gcp.sts_url(),
        "service_account_impersonation_url": gcp.generate_access_token_url(record["service_account"]),
        "service_account_impersonation": {"token_lifetime_seconds": record["lifetime"]},
        "credential_source": {
            "executable": {
                "command": shlex.join(credproc_launcher() + ["gcp-token", spec_path]),
                "timeout_millis": EXECUTABLE_TIMEOUT_MILLIS,
            },
        },
    }


# --- credproc gcp-token SPEC ----------------------------------------------------------------------

DESCRIPTION = """\
Print a fresh OIDC token for the gcp-login that SPEC describes, as Google's executable-sourced
credentials expect ({"version": 1, "success": true, "token_type": ..., "id_token": ...,
"expiration_time": ...}). `credproc run` writes SPEC (0600, in its private run directory) and an
external_account credentials file naming this command, for GOOGLE_APPLICATION_CREDENTIALS: you do
not run it yourself. When SPEC names a feed (run's masker watches it), the token is appended to it
before it is printed. On failure it prints {"success": false, "code", "message"} and exits with
credproc's exit code."""


def register(subparsers) -> None:
    # No help=: plumbing for `credproc run`, not listed among the commands of `credproc --help`.
    parser = subparsers.add_parser("gcp-token", description=DESCRIPTION)
    parser.add_argument("spec", metavar="SPEC", help="the token spec file `credproc run` wrote")
    parser.set_defaults(func=run_gcp_token)


def run_gcp_token(args) -> int:
    import os

    from credproc import fsutil
    from credproc.providers import gcp

    try:
        fsutil.keep_stdout_private()  # a token goes there
        spec = _read_spec(args.spec)
        feed = open_feed(spec["feed"]) if spec.get("feed") else None
        try:
            token, claims = _fetch(spec)
            if feed is not None:  # run's masker knows the token before anyone can print it
                tell_masker(feed, spec["feed"], token)
        finally:
            if feed is not None:
                os.close(feed)
    except CredprocError as err:
        _failure(int(err.exit_code), str(err))
        raise
    except Exception:  # a bug: google-auth still gets its failure answer; the cli prints one line
        _failure(1, "internal error in credproc gcp-token")
        raise
    answer = {"version": 1, "success": True, "token_type": gcp.JWT_TOKEN_TYPE, "id_token": token}
    if isinstance(claims.get("exp"), int):
        answer["expiration_time"] = claims["exp"]
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


def open_feed(feed: str) -> int:
    """The feed of the `credproc run` that wrote the spec, opened for appending before any token is
    minted (a feed that is gone or not private fails first): an existing regular 0600 file of ours
    (O_APPEND, O_NOFOLLOW, O_NONBLOCK: a FIFO put in its place never blocks; checked on the opened
    descriptor)."""
    import os

    return _open_own_regular(feed, os.O_WRONLY | os.O_APPEND, _feed_refusal(feed))


def tell_masker(fd: int, feed: str, token: str) -> None:
    """Append ``token`` as one line (one write(2)) to the feed, before the token is printed."""
    import os

    line = (token + "\n").encode("utf-8", "surrogateescape")
    try:
        if os.write(fd, line) != len(line):
            raise ConfigError(f"{_feed_refusal(feed)}: short write")
    except OSError as err:
        raise ConfigError(f"{_feed_refusal(feed)}: {err.strerror or type(err).__name__}") from None


def _open_own_regular(path: str, flags: int, refusal: str) -> int:
    """``path`` opened with ``flags`` and O_NONBLOCK (a FIFO put in its place never blocks),
    O_NOFOLLOW (no symlink), O_CLOEXEC; checked on the opened descriptor, so no check-then-open race:
    a regular file of ours that group and others cannot use. ConfigError "REFUSAL: why" otherwise."""
    import os
    import stat

    flags |= os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise ConfigError(f"{refusal}: {err.strerror or type(err).__name__}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{refusal}: not a regular file")
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            raise ConfigError(f"{refusal}: mode {stat.S_IMODE(st.st_mode):04o}, owner uid {st.st_uid}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _feed_refusal(feed: str) -> str:
    from credproc.errors import printable

    return f"could not tell `credproc run` the new token ({printable(repr(feed[:200]))})"


def _failure(code: int, message: str) -> None:
    """google-auth's executable-response for a failure, on stdout (it reads nothing else)."""
    sys.stdout.write(json.dumps({"version": 1, "success": False, "code": f"credproc-exit-{code}",
                                 "message": message}) + "\n")
    sys.stdout.flush()


def _read_private_spec(path: str) -> bytes:
    """The spec's bytes, read only if it is a regular file of ours, mode 0600, at most MAX_SPEC_BYTES.
    O_NONBLOCK: opening a FIFO does not wait for a writer; O_NOFOLLOW: no symlink; the checks run on
    the opened descriptor (no check-then-open race), and the size before anything is read."""
    import os

    from credproc.errors import printable

    shown = printable(repr(path[:200]))
    refusal = (f"{shown} is not a private token spec (a regular file of yours, mode 0600, at most "
               f"{MAX_SPEC_BYTES // 1024} KiB, as `credproc run` writes)")
    fd = _open_own_regular(path, os.O_RDONLY, refusal)
    try:
        st = os.fstat(fd)
        if st.st_size > MAX_SPEC_BYTES:
            raise ConfigError(f"{refusal}: {st.st_size} bytes")
        chunks, size = [], 0
        while size <= MAX_SPEC_BYTES:
            chunk = os.read(fd, MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SPEC_BYTES:  # grew since fstat
            raise ConfigError(f"{refusal}: more than {MAX_SPEC_BYTES} bytes")
        return b"".join(chunks)
    except OSError as err:
        raise ConfigError(f"{refusal}: {err.strerror or type(err).__name__}") from None
    finally:
        os.close(fd)


def _read_spec(path: str) -> dict:
    import os

    from credproc.errors import printable

    data = _read_private_spec(os.path.abspath(path))
    try:
        spec = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the interpreter's stack
        raise ConfigError(f"{printable(repr(path[:200]))} is not a token spec written by `credproc run`: not JSON") \
            from None
    problem = _spec_problem(spec)
    if problem:
        raise ConfigError(f"{printable(repr(path[:200]))} is not a token spec written by `credproc run`: {problem}")
    context = spec["context"]
    spec["context"] = {**context, "subject_attributes": tuple(tuple(p) for p in context["subject_attributes"])}
    asked = os.environ.get("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE")
    if asked and asked != spec["audience"]:
        raise ConfigError(f"the credentials file asks for a token for {printable(asked[:300])}, but "
                          f"{printable(path[:200])} is for {printable(spec['audience'])}")
    return spec


def _spec_problem(spec) -> "str | None":
    """What is wrong with a parsed spec (the shape _spec writes), or None."""
    def text(value) -> bool:
        return isinstance(value, str) and bool(value)

    if not isinstance(spec, dict):
        return "not a JSON object"
    if not text(spec.get("audience")):
        return "`audience` must be a non-empty string"
    if not text(spec.get("service_account")):
        return "`service_account` must be a non-empty string"
    lifetime = spec.get("lifetime")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        return "`lifetime` must be a positive integer"
    if spec.get("token") is not None and not isinstance(spec.get("token"), dict):
        return "`token` must be an object or null"
    context = spec.get("context")
    if not isinstance(context, dict):
        return "`context` must be an object"
    for name in ("org", "environment", "root_environment"):
        if not text(context.get(name)):
            return f"`context.{name}` must be a non-empty string"
    if spec.get("feed") is not None and not text(spec.get("feed")):
        return "`feed` must be a non-empty string or null"
    if context.get("audience") is not None and not text(context.get("audience")):
        return "`context.audience` must be a non-empty string or null"
    pairs = context.get("subject_attributes")
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and text(p[0])
                                              and isinstance(p[1], str) for p in pairs):
        return "`context.subject_attributes` must be a list of [name, value] string pairs"
    return None


def _fetch(spec: dict) -> "tuple[str, dict]":
    from credproc.identity import tokens

    context = spec["context"]
    source = tokens.resolve(spec.get("token"), tokens.TokenContext(
        org=context["org"], environment=context["environment"], root_environment=context["root_environment"],
        subject_attributes=context["subject_attributes"], audience=context.get("audience")))
    token = source.fetch()
    return token, getattr(source, "claims", None) or {}
