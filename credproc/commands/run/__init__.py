"""`credproc run ORG/ENV [-i] [--nested] -- COMMAND [ARGS...]`: run a command inside an environment."""
import sys

from credproc.errors import ConfigError, CredprocError, ExitCode, UsageError

DESCRIPTION = """\
Run COMMAND with the environment's `environmentVariables` and `files` (each file written to a
0600 file in a private per-run directory under $XDG_RUNTIME_DIR/credproc/run, else
<cache dir>/run, removed afterwards, and by the next run or `cache clear` if this one is killed;
its variable holds the path), appended over the inherited environment, with ${path} in the ARGS
replaced by the string form of the value at that path (missing -> empty, $$ -> $), as `esc run`
does; an argument that then holds a secret is named in a warning on stderr (any local user can
read argv with ps): pass secrets in variables or files instead.
A `files` entry whose value expires (azure-login's oidc.token, for AZURE_FEDERATED_TOKEN_FILE)
is rewritten in place, atomically, before it expires, for as long as COMMAND runs.

When the environment provides AWS credentials, AWS_PROFILE, AWS_DEFAULT_PROFILE and stale AWS
keys/role variables are removed, and AWS_CREDENTIAL_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION
are set when known. CREDPROC_RUN=ORG/ENV is set in the child.

When the environment opens one fn::open::gcp-login with `oidc`, GOOGLE_APPLICATION_CREDENTIALS is
set to an external_account credentials file (in the same private directory) whose credential source
is `credproc gcp-token`, and GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1: Application Default
Credentials (google-auth, Terraform's google provider) refresh on their own however long the command
runs. Not when the environment sets GOOGLE_APPLICATION_CREDENTIALS itself.

Every secret value of the environment (3 characters or longer, counted in characters) is replaced
by [secret] wherever it appears in the command's stdout and stderr: alone or inside a larger
string, JSON document or file, line by line when it has several, JSON-escaped, percent-encoded
or in base64. When stdin is a terminal the command runs on a terminal of its own (same settings
and window size; yours is in raw mode meanwhile and restored afterwards) whose output is masked
too; otherwise its stdout and stderr are pipes and stdin is passed through. -i turns masking off:
the command then uses your stdin, stdout and stderr directly. SIGINT, SIGTERM and SIGHUP sent to
credproc are forwarded to the command (a terminal's Ctrl-C reaches it directly, and only once),
window size changes too. credproc returns when the command exits, even if a background process
it started still holds its output open."""

EPILOG = """\
exit status: the command's own; 128+N when it died of signal N. credproc's own failures:
  2  bad arguments, nested run without --nested, environment with error diagnostics (printed
     as ORG/ENV:LINE:COL: SUMMARY; the command is not run), or `resolving command: ...` when
     COMMAND is not an executable on PATH
  3-7  a provider failed while opening the environment (login required, token, STS refused,
     transient, lock timeout: see `credproc --help`); its diagnostics are printed as above"""

_OWN_OPTIONS = {"-i": "interactive", "--interactive": "interactive", "--nested": "nested", "--server": "server"}


def register(subparsers) -> None:
    import argparse

    parser = subparsers.add_parser(
        "run",
        help="run a command with the environment's variables and files, secrets masked",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-i", "--interactive", action="store_true",
                        help="do not mask the command's output: it uses your terminal directly")
    parser.add_argument("--nested", action="store_true",
                        help="allow running inside another `credproc run`")
    parser.add_argument("--server", action="store_true",
                        help="give the command a credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI and "
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN, as `credproc serve`) for its lifetime instead of "
                             "static AWS keys: it keeps getting fresh keys however long it runs")
    parser.add_argument("environment", metavar="ORG/ENV")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    parser.set_defaults(func=run_command)


def split_command(args) -> list:
    """The command after ORG/ENV. Options may also come after ORG/ENV, before `--` or the command:
    argparse's REMAINDER keeps them (and keeps or drops the `--` depending on the Python version)."""
    rest = list(args.command)
    while rest:
        token = rest[0]
        if token == "--":
            return rest[1:]
        if token in _OWN_OPTIONS:
            setattr(args, _OWN_OPTIONS[token], True)
            rest.pop(0)
            continue
        if token.startswith("-") and token != "-":
            _check_environment_given(args.environment)  # `run -- ls -la`: the environment was forgotten
            raise UsageError(f"unknown option {token!r} for run", hint="put the command after `--`")
        return rest
    return rest


def _check_environment_given(name: str) -> None:
    from credproc.errors import CredprocError
    from credproc.store.store import parse_ref

    try:
        parse_ref(name)
    except CredprocError:
        raise UsageError(f"{name!r} is not an environment name; the environment comes first",
                         hint="credproc run ORG/ENV -- COMMAND [ARGS...]") from None


def run_command(args) -> int:
    from credproc import providers as registry
    from credproc.commands.run import runner
    from credproc.store.environments import conformance_enabled, open_environment

    command = split_command(args)
    if not command:
        raise UsageError("no command specified", hint=f"credproc run {args.environment} -- COMMAND [ARGS...]")
    import functools
    import os

    runner.refuse_nesting(os.environ, args.environment, args.nested)  # before any STS call
    providers = registry.providers(conformance=conformance_enabled())
    opened = open_environment(args.environment, mode="eval", providers=providers)
    if opened.has_errors:
        lines = opened.error_lines()
        for line in lines:
            sys.stderr.write(line + "\n")
        plural = "s" if len(lines) != 1 else ""
        sys.stderr.write(f"credproc: environment {args.environment} has {len(lines)} error{plural}; "
                         f"{command[0]} was not run\n")
        return diagnostics_exit_code(opened)
    from credproc.commands.run import freshfiles, gcpfiles
    from credproc.creds import awscreds

    run = functools.partial(runner.run, args.environment, opened.value, command, interactive=args.interactive,
                            nested=args.nested, aws_records=awscreds.provider_records(providers),  # expiry, region
                            definitions=list(opened.files), gcp_records=gcpfiles.records(providers),
                            reopen=functools.partial(_reopen, args.environment),
                            valid_until=freshfiles.valid_until(providers))
    if not args.server:
        return run()
    from credproc.commands.serve import open_endpoint

    with open_endpoint(args.environment, None, name=f"credproc run {args.environment} --server") as endpoint:
        return run(endpoint_variables=dict(endpoint.variables()))


def _reopen(ref: str):
    """Open ``ref`` again as run_command did (for the files run keeps fresh) -> (value, valid_until);
    an environment with errors raises the first one."""
    from credproc import providers as registry
    from credproc.commands.run import freshfiles
    from credproc.store.environments import conformance_enabled, open_environment

    providers = registry.providers(conformance=conformance_enabled())
    opened = open_environment(ref, mode="eval", providers=providers)
    if opened.has_errors:
        for diagnostic in opened.diagnostics:
            cause = getattr(diagnostic, "cause", None)
            if isinstance(cause, CredprocError):
                raise cause
        raise ConfigError(opened.error_lines()[0])
    return opened.value, freshfiles.valid_until(providers)


def diagnostics_exit_code(opened) -> int:
    """2 for an environment with errors, unless a provider failed with one of credproc's own errors
    (login required 3, token 4, STS refused 5, transient 6, lock timeout 7): then that code, as
    `credproc process` does, so scripts can tell "fix the definition" from "log in" or "retry"."""
    from credproc.errors import CredprocError

    for diagnostic in opened.diagnostics:
        cause = getattr(diagnostic, "cause", None)
        if getattr(diagnostic, "severity", "error") == "error" and isinstance(cause, CredprocError):
            return cause.exit_code
    return ExitCode.USAGE
