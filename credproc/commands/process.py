"""`credproc process ORG/ENV` (AWS credential_process) and `credproc export ORG/ENV --format F`.

Every AWS call made through a credproc profile starts `credproc process` as a new process, so its
cache hit is the hot path: it imports only the standard library (no yaml, boto3, botocore, filelock,
platformdirs or argparse) and does no YAML work:

    index key  = sha256 of (ref, store dir, config dir, --path, and every environment variable that
                 changes the result: endpoints, region, CA bundle, proxies, the user name that
                 `pulumi.user.login` reads, CREDPROC_CONFORMANCE)
    index      = <cache>/env/<key>.idx: sha256 of every definition file that produced the answer,
                 the identity bindings of its token sources (cache.Binding), the answer's expiry,
                 and the credential_process JSON exactly as printed
    hit        = index readable, every recorded file still hashes the same, every token source
                 read now names the same identity (the same token file or variable, the same
                 GitHub Actions job, the same issuer key, the same saved login), and the
                 credentials have at least the refresh margin left (CREDPROC_REFRESH_MARGIN)

On a miss: recursion guard (CREDPROC_CHAIN), the refresh lock for the index key, a second look at
the index (another process may have refreshed it while we waited), then the environment is opened
with the providers (the aws-login provider keeps its own STS cache under its own lock) and the
answer is printed and indexed.

stdout carries exactly one JSON object, written once, and only on success. Errors are one line on
stderr through the cli boundary (`credproc: MESSAGE (hint: ...)`) with the exit codes of
credproc.errors. It never prompts and never reads stdin.
"""
import os
import sys
import time

from credproc import cache, fsutil, settings
from credproc.creds import index
from credproc.errors import ConfigError, UsageError, counted

USAGE = "credproc process ORG/ENV [--path PATH]"
MAX_CHAIN_DEPTH = 3




# --- the command ---------------------------------------------------------------------------------

def main(argv: list) -> int:
    """The hot path (`--help` goes through the cli's full parser instead)."""
    argv = _take_auto_login(argv)
    ref, path = parse_arguments(argv)
    _write_stdout(credential_answer(ref, path))
    return 0


def parse_arguments(argv: list) -> "tuple[str, str | None]":
    """Hand-parsed `ORG/ENV [--path PATH]` (argparse costs ~12 ms on every AWS call)."""
    ref = path = None
    positional_only = False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not positional_only and arg == "--":
            positional_only = True
        elif not positional_only and arg == "--path":
            if not args:
                raise UsageError("--path needs a value", hint=f"usage: {USAGE}")
            path = args.pop(0)
        elif not positional_only and arg.startswith("--path="):
            path = arg[len("--path="):]
        elif not positional_only and arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {_shown(arg)} for credproc process", hint=f"usage: {USAGE}")
        elif ref is None:
            ref = arg
        else:
            raise UsageError(f"unexpected argument {_shown(arg)} for credproc process", hint=f"usage: {USAGE}")
    if ref is None:
        raise UsageError("credproc process needs an environment name", hint=f"usage: {USAGE}")
    if path is not None and not path.strip():
        raise UsageError("--path is empty", hint=f"usage: {USAGE}")
    return ref, path


def _take_auto_login(argv: list) -> list:
    """`--auto-login`: an interactive login token source (credproc.identity.tokens.login) may log in, talking
    to the controlling terminal only. Passed on through the environment (it is read deep inside
    evaluation); waiters then allow for a person taking minutes, not seconds."""
    if "--auto-login" not in argv:
        return argv
    os.environ[settings.AUTO_LOGIN] = "1"
    os.environ.setdefault(settings.LOCK_TIMEOUT, "300")
    return [arg for arg in argv if arg != "--auto-login"]


def _shown(arg: str) -> str:
    return repr(arg if len(arg) <= 40 else arg[:37] + "...")


def _write_stdout(answer: bytes) -> None:
    # One write of the complete answer, after all work is done: a reader never sees half of it.
    fsutil.keep_stdout_private()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:
        sys.stdout.write(answer.decode("utf-8"))
    else:
        out.write(answer)
    sys.stdout.flush()


# --- hit or miss ---------------------------------------------------------------------------------

def credential_answer(ref: str, path: "str | None" = None) -> bytes:
    """The credential_process JSON (bytes, newline-terminated) for ``ref``: from the index or fresh."""
    margin = cache.refresh_margin_seconds()
    key = index.index_key(ref, path)
    answer = index.cached_answer(key, margin)
    if answer is not None:
        return answer
    return _refresh(ref, path, key, margin)


# --- the miss ------------------------------------------------------------------------------------

def _refresh(ref: str, path: "str | None", key: str, margin: float) -> bytes:
    from credproc.errors import LockTimeout
    from credproc.lock import Deadline, lock_timeout, wait_until_free

    previous_chain = os.environ.get(settings.CHAIN)
    enter_chain(ref)  # before any waiting: a credproc started by its own refresh must not wait for it
    deadline = Deadline(lock_timeout())  # one wait in all, however many locks it takes
    try:
        # Most callers on a cold cache only need the one refresh already under way: they wait for it
        # with the standard library and print its answer (no filelock, yaml or boto3 imported).
        wait_until_free(key, timeout=deadline.remaining(), environment=ref)
        answer = index.cached_answer(key, margin)
        if answer is not None:
            return answer
        ensure_site_packages()
        from credproc.store import store
        from credproc.lock import refresh_lock

        store.parse_ref(ref)  # a bad name is a usage error before the lock or any evaluation
        with refresh_lock(key, timeout=deadline.remaining(), environment=ref, waited=deadline.elapsed):
            answer = index.cached_answer(key, margin)  # refreshed by another process while we waited?
            if answer is not None:
                return answer
            return _evaluate(ref, path, key, margin)
    except LockTimeout:
        # The holder is slow or stuck: keys that still have more than the floor left are served,
        # as a failed refresh would serve them; otherwise the timeout (exit 7) stands.
        answer = index.stale_answer(key)
        if answer is None:
            raise
        sys.stderr.write(f"credproc: warning: {ref}: another credproc has held the refresh lock for "
                         f"{deadline.elapsed():.0f}s; serving the cached credentials meanwhile\n")
        return answer
    finally:  # in-process callers (export, run) get their environment back
        if previous_chain is None:
            os.environ.pop(settings.CHAIN, None)
        else:
            os.environ[settings.CHAIN] = previous_chain


def ensure_site_packages() -> None:
    """A launcher may start Python with -S (no `site`): that skips the .pth processing that is half of
    a cache hit's cost. A miss needs site-packages (yaml, boto3, filelock), so `site` runs now."""
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


def launcher_source(python: "str | None" = None) -> str:
    """A script that runs `credproc process` with `python -IS`: no `site` at start-up, so a cache hit
    costs about half of what the console script costs (measured by benchmarks/cache_hit.py); a miss
    runs `site` itself (ensure_site_packages). install-profile writes it (credproc.aws.launcher: 0700,
    in credproc's private launcher directory) with the path of the interpreter credproc is installed
    in (a venv's bin/python), and the profile's credential_process runs it; doctor compares it with this text."""
    import credproc

    python = python or sys.executable
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(credproc.__file__)))
    if any(ch in python for ch in " \t\n"):
        raise ConfigError(f"cannot write a launcher for an interpreter path with spaces: {python}")
    return (f"#!{python} -IS\n"
            "# credproc credential_process launcher: Python without `site` on the cache-hit path\n"
            "import sys\n"
            f"sys.path.insert(0, {package_parent!r})\n"
            "if sys.argv[1:2] != ['process']:  # other commands import from site-packages at once\n"
            "    import site\n"
            "    site.main()\n"
            "from credproc.cli import main\n"
            "sys.exit(main())\n")


def enter_chain(ref: str, environ=None) -> None:
    """Refuse a credproc started (through some token source or profile) by itself for the same
    environment, or nested too deep; then record ``ref`` for any child we start."""
    from credproc.errors import RecursionDetected

    environ = os.environ if environ is None else environ
    chain = settings.chain(environ)
    shown = " -> ".join(chain + [ref])
    if ref in chain:
        raise RecursionDetected(
            f"credproc process {ref} was started by itself (chain: {shown})",
            hint="a token source or command of this environment uses an AWS profile whose credential_process "
                 "is credproc for the same environment; give it other credentials",
        )
    if len(chain) + 1 > MAX_CHAIN_DEPTH:
        raise RecursionDetected(
            f"credproc processes nested more than {MAX_CHAIN_DEPTH} deep (chain: {shown})",
            hint="environments whose token sources call credproc again form a chain; shorten it",
        )
    environ[settings.CHAIN] = ",".join(chain + [ref])


def open_credentials(ref: str, path: "str | None"):
    """Open the environment and pick its AWS credentials -> (AwsCredentials, Opened, registry)."""
    from credproc.creds import awscreds
    from credproc.store.environments import open_environment
    from credproc.providers import providers

    registry = providers(conformance=settings.conformance())
    opened = open_environment(ref, providers=registry)
    if opened.has_errors:
        raise diagnostics_error(ref, opened)
    records = awscreds.provider_records(registry) + list(getattr(opened, "records", ()))  # pulumi: refs
    creds = awscreds.extract(ref, opened.value, path=path, records=records)
    return creds, opened, registry


def diagnostics_error(ref: str, opened):
    """The error for an environment with error diagnostics: a provider's own CredprocError (it has
    the right exit code: token 4, STS 5, transient 6, ...), else DiagnosticsError (exit 2)."""
    from credproc.errors import CredprocError, DiagnosticsError

    errors = [d for d in opened.diagnostics if getattr(d, "severity", "error") == "error"]
    for diagnostic in errors:
        cause = getattr(diagnostic, "cause", None)
        if isinstance(cause, CredprocError):
            return cause
    lines = list(opened.error_lines())
    first = lines[0] if lines else f"{ref}: the environment has errors"
    more = f"{counted(len(lines) - 1, 'more error')}; " if len(lines) > 1 else ""
    return DiagnosticsError(first, lines, hint=f"{more}see `credproc env open {ref}`")


def _evaluate(ref: str, path: "str | None", key: str, margin: float) -> bytes:
    creds, opened, registry = open_credentials(ref, path)
    answer = creds.process_json().encode("utf-8")
    expires = None
    if creds.expiration:
        expires = cache.parse_expiration(creds.expiration)
        left = expires - time.time()
        if left < margin:
            if creds.stale and left > cache.SERVE_STALE_MIN_SECONDS:
                return answer  # a refresh failed; the provider chose to serve these (not indexed)
            raise too_short_error(ref, creds, left, margin)
    if _cacheable(opened, registry):
        from credproc.creds import awscreds

        others = _other_cloud_records(registry)
        expires = _earliest([expires] + [record.get("expires") for record in others])
        entry = cache.IndexEntry(expires, creds.expiration, dict(opened.files), answer,
                                 _bindings(awscreds.provider_records(registry) + others)
                                 + _unambiguous(opened.files) + list(getattr(opened, "bindings", ())))
        try:
            cache.write_index(index.INDEX_KIND, key, entry)
        except (OSError, ValueError) as exc:  # the answer is still good; only the next call is slower
            sys.stderr.write(f"credproc: warning: could not write the cache index ({type(exc).__name__})\n")
    return answer


#: Providers whose answers are cached, bound to their token source and expiring (their records say
#: how): an AWS answer of an environment that also opens them may be indexed, expiring with theirs.
OTHER_CLOUD_LOGINS = ("azure-login", "gcp-login")


def _other_cloud_records(registry) -> list:
    built = registry.built()
    return [r for name in OTHER_CLOUD_LOGINS for r in getattr(built.get(name), "opened", None) or ()
            if isinstance(r, dict)]


def _earliest(times) -> "int | None":
    known = [int(t) for t in times if isinstance(t, (int, float)) and not isinstance(t, bool)]
    return min(known) if known else None


def _bindings(records: list) -> list:
    """Every identity binding of every token source the evaluation used, each once: the answer is
    served again only while all of them hold."""
    return list(dict.fromkeys(binding for record in records for binding in record.get("bindings") or ()))


def _unambiguous(files) -> list:
    """The answer stands only while no definition gains a second spelling (ORG/ENV.yaml beside
    ORG/default/ENV.yaml): a cold call would refuse to choose between the two."""
    from credproc.store.store import Store

    store = Store()
    others = (store.other_spelling(path) for path in files)
    return [cache.Binding("absent", other, cache.ABSENT) for other in others if other]


def too_short_error(ref: str, creds, left: float, margin: float):
    minutes = int(left // 60)
    when = "have already expired" if left <= 0 else f"expire in {counted(minutes, 'minute')}"
    return ConfigError(
        f"{ref}: the credentials from {creds.source or 'the environment'} {when}, less than the "
        f"{int(margin // 60)}-minute refresh margin (the aws-login provider should have refreshed them)",
        hint="request a longer oidc.duration (1h or more), or lower CREDPROC_REFRESH_MARGIN (minimum 16)",
    )


def _cacheable(opened, registry) -> bool:
    """Index only answers that depend on nothing but the recorded files (and the aws-login and
    aws-assume-role STS caches, whose expiry the index carries: a chained role's is never later than
    its login's, and the azure-login and gcp-login caches, whose bindings and expiry it carries too): any other provider could return something new at each open. An environment of
    Pulumi Cloud depends on its Pulumi login alone (its binding; none when the login changed while
    it was opened), and its index entry expires with what credproc derived for it."""
    if getattr(opened, "remote", False):
        return bool(getattr(opened, "bindings", ())) and not registry.built()
    if not getattr(opened, "files", None):
        return False
    built = registry.built()
    others = set(built) - {"aws-login", "aws-assume-role"}  # a chained role lives no longer
    return others <= set(OTHER_CLOUD_LOGINS) and all(getattr(built[name], "index_safe", False) for name in others)


# --- export --------------------------------------------------------------------------------------

# --- argparse registration (for `credproc --help` and `credproc export`) -------------------------

def register(subparsers) -> None:
    from credproc.creds.export import EXPORT_FORMATS

    process = subparsers.add_parser(
        "process",
        help="print AWS credential_process JSON for ORG/ENV (from the cache, or a fresh STS call)",
        description="Print the credentials of ORG/ENV as AWS credential_process JSON (Version 1). "
                    "Meant for `credential_process = /abs/path/credproc process ORG/ENV` in ~/.aws/config. "
                    "Never prompts, never reads stdin; errors are one line on stderr.",
    )
    process.add_argument("ref", metavar="ORG/ENV")
    process.add_argument("--path", help="property path of the credentials to use, e.g. aws.login "
                                        "(default: environmentVariables AWS_*, else the one aws-login value)")
    process.add_argument("--auto-login", action="store_true",
                         help="if a login token source needs a person to log in and there is a controlling "
                              "terminal, log in there (/dev/tty) instead of failing with exit code 3")
    # no func: the cli answers `process` itself (hot path) and comes here only for --help

    export = subparsers.add_parser(
        "export",
        help="print the credentials of ORG/ENV: credential_process JSON (default) or shell variables (--format env)",
        description="Print the same credentials as `credproc process`, in the formats of `aws configure "
                    "export-credentials`, whose default it keeps: without --format the output is the "
                    "credential_process JSON. For shell variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                    "AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION) choose --format env (or env-no-export, fish, "
                    "powershell, windows-cmd, dotenv); values are quoted so that eval'ing them runs nothing.",
    )
    export.add_argument("ref", metavar="ORG/ENV")
    export.add_argument("--path", help="property path of the credentials to use, e.g. aws.login")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="process", metavar="FORMAT",
                        help="process (the default: credential_process JSON, byte-identical to `credproc "
                             "process`); env (`export NAME='value'` lines for bash, zsh, sh); env-no-export "
                             "(`NAME='value'`); fish (`set -gx`); powershell (`$Env:NAME='value'`); windows-cmd "
                             "(`set \"NAME=value\"`); dotenv (`NAME=\"value\"`); json (the variables as one "
                             "JSON object)")
    export.set_defaults(func=_run_export)


def _run_export(args) -> int:
    from credproc.creds.export import format_export

    text = format_export(credential_answer(args.ref, args.path), args.format)
    _write_stdout(text.encode("utf-8"))
    return 0
