"""`credproc run`: project an opened environment onto a child process and supervise it.

Stages, each a small piece the command module strings together:

    project(value)                -> Projection: environmentVariables and files (docs/esc-language.md §9) + secrets
    interpolate_arguments(args)   -> arguments with ${path} replaced (as `esc run`), + secrets used
    TempFiles                     -> the `files` entries as 0600 files in a private per-run directory,
                                     swept by the next run if this one is killed
    child_environment(...)        -> the inherited environment, conflicting AWS_* cleared, projections
    masking.secret_leaves(value)  -> every secret leaf of the environment, masked wherever it appears
    supervise(...)                -> runs the child (childio: pipes or a pseudo-terminal), masks its
                                     output, forwards signals

Nothing here prints a secret or puts one into the child's argv: only the user's own `${...}`
arguments can do that, and each one that does gets a warning line (argv_secret_warnings).
"""
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field

from credproc import settings
from credproc.errors import ConfigError, UsageError
from credproc.commands.run.masking import MIN_SECRET_LENGTH, SECRET_MARK, SecretMasker, mask_variants  # noqa: F401

# Variables that would make an AWS SDK use other credentials (or mix them with ours) when the
# environment provides its own keys (docs/background.md §2).
CONFLICTING_AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
)
# With an endpoint (`run --server`): the static keys go, and so does every variable that would make
# an SDK take credentials from elsewhere before its container provider (botocore and the JavaScript
# SDK read a relative URI and a token file before the full URI and the token we set).
ENDPOINT_CONFLICTING_VARIABLES = CONFLICTING_AWS_VARIABLES + (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
# Every signal whose default action ends credproc: each would otherwise kill it before it removes
# the run's secret files, leaving the child running. The child decides what they mean (USR1 and
# USR2 often ask for a reload or a dump, not an exit).
FORWARDED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                                       # whose default also ends credproc: left alone, `kill -PWR` (a UPS
                                       # daemon) or `kill -XCPU` (a batch system's notice) would end us and
                                       # leave the child running without its cleanup
                                       "SIGPWR", "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGSTKFLT", "SIGIO", "SIGSYS",
                                       "SIGABRT")
    if hasattr(signal, name)
) + tuple(range(signal.SIGRTMIN, signal.SIGRTMAX + 1) if hasattr(signal, "SIGRTMIN") else ())
# Not forwarded: KILL and STOP (no process can catch them), and the faults SEGV, BUS, ILL, FPE and
# TRAP, which the kernel sends a process for its own error (a handler that returns would fault again).
# Keys a terminal turns into signals for its whole foreground group (Ctrl-C, Ctrl-\).
TERMINAL_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGQUIT") if hasattr(signal, name))


# --- projections -------------------------------------------------------------------------------

@dataclass
class Projection:
    variables: dict = field(default_factory=dict)  # name -> string form
    files: dict = field(default_factory=dict)      # name -> content (string form)
    secrets: set = field(default_factory=set)      # secret strings to mask in the output


def project(value) -> Projection:
    """environmentVariables and files of an opened environment (docs/esc-language.md §9): the entries that
    `env open --format dotenv` prints (render.projections: scalar entries only, null -> "", arrays
    and objects skipped silently). Secret entries join the mask list."""
    from credproc.store.render import projections

    result = Projection()
    variables, files = projections(value, redact=False)
    for entries, target in ((variables, result.variables), (files, result.files)):
        for name, text, secret in entries:
            target[name] = text
            if secret:
                result.secrets.add(text)
    return result


def _string_form(value) -> str:
    from credproc.lang.values import string_form

    return string_form(value)


def secret_strings(value) -> set:
    """String forms of every secret node in ``value`` (the node itself and its members), so that an
    argument built from an object with a secret member still masks that member."""
    found = set()
    if value is None:
        return found
    if value.secret:
        found.add(_string_form(value))
    children = value.value.values() if isinstance(value.value, dict) else (
        value.value if isinstance(value.value, list) else ())
    for child in children:
        found |= secret_strings(child)
    return found


# --- argument interpolation (esc env run, step 4) ----------------------------------------------

def interpolate_arguments(arguments, value, carried: "list | None" = None):
    """-> (arguments, secrets): each `${path}` replaced by the string form of the value at that path
    (missing -> ""), `$$` -> `$`; an argument whose interpolation does not parse is kept unchanged.
    ``carried`` (a list) receives (N, path) for each argument N (1-based) that now holds a secret."""
    out, secrets = [], set()
    for number, argument in enumerate(arguments, start=1):
        parts = _parse_argument(argument)
        if parts is None:
            out.append(argument)
            continue
        pieces = []
        for text, accessors in parts:
            pieces.append(text)
            target = None if accessors is None else lookup(value, accessors)
            if target is not None:
                pieces.append(_string_form(target))
                found = secret_strings(target)
                secrets |= found
                if found and carried is not None:
                    carried.append((number, _path_text(accessors)))
        out.append("".join(pieces))
    return out, secrets


def argv_secret_warnings(command: str, carried) -> list:
    """One warning line per argument that carries a secret (its path, never its value): argv is
    readable by every local user (`ps`, /proc/PID/cmdline) for as long as the command runs."""
    from credproc.errors import printable

    return [f"credproc: warning: argument {number} of {printable(command)} carries a secret ({printable(path)}); "
            "any local user can read argv with ps" for number, path in carried]


def _path_text(accessors) -> str:
    from credproc.store.yamledit import format_path

    return format_path(list(accessors))


def _parse_argument(argument: str):
    """Adapter over the language's own parser (one grammar, one place): [(text, accessors|None)]
    with accessors as str keys and int indexes, or None when the argument has syntax errors."""
    from credproc.lang.interpolate import parse_interpolation

    parsed = parse_interpolation(argument)
    if parsed.errors:
        return None
    return [(part.text, None if part.access is None else [a.value for a in part.access])
            for part in parsed.parts]


def lookup(value, accessors):
    """The Value at ``accessors`` (a list of str keys and int indexes), or None when missing: the
    same rule as the PATH of `credproc env open ORG/ENV PATH` (one implementation, in render)."""
    from credproc.store.render import select

    return select(value, accessors)


# --- the child's environment --------------------------------------------------------------------

@dataclass
class AwsContext:
    expiration: "str | None" = None  # UTC "YYYY-MM-DDTHH:MM:SSZ" of the credentials the env provides
    region: "str | None" = None


def provides_aws_credentials(variables: dict) -> bool:
    return bool(variables.get("AWS_ACCESS_KEY_ID")) and bool(variables.get("AWS_SECRET_ACCESS_KEY"))


def aws_context(variables: dict, records=()) -> AwsContext:
    """Expiration and region of the credentials in ``variables``, from the aws-login provider's
    records of what it opened (its `opened` list: access_key_id, expiration, region, ...). The
    region is the one the environment gave the provider (`oidc.region`, `region`), never a default
    STS fell back to: that would override the region the user configured for the command. A region
    the environment sets itself wins."""
    context = AwsContext(region=variables.get("AWS_REGION") or variables.get("AWS_DEFAULT_REGION") or None)
    key_id = variables.get("AWS_ACCESS_KEY_ID")
    for record in records:
        if isinstance(record, dict) and key_id and record.get("access_key_id") == key_id:
            context.expiration = record.get("expiration") or context.expiration
            context.region = context.region or record.get("region")
    return context


def child_environment(inherited: dict, projection: Projection, file_paths: dict, ref: str,
                      aws_records=(), endpoint_variables: "dict | None" = None) -> dict:
    """The inherited environment, minus conflicting AWS variables when the environment brings its
    own credentials, then the projections (later wins, as esc appends them). With
    ``endpoint_variables`` (run --server) those replace the static keys and their expiry."""
    env = dict(inherited)
    variables = dict(projection.variables)
    if endpoint_variables:
        env, variables = _served(env, variables, aws_records, endpoint_variables)
    elif provides_aws_credentials(variables):
        for name in CONFLICTING_AWS_VARIABLES:
            env.pop(name, None)
        context = aws_context(variables, aws_records)
        if context.expiration and "AWS_CREDENTIAL_EXPIRATION" not in variables:
            variables["AWS_CREDENTIAL_EXPIRATION"] = context.expiration
        if context.region:
            variables.setdefault("AWS_REGION", context.region)
            variables.setdefault("AWS_DEFAULT_REGION", context.region)
    env.update(variables)
    env.update(file_paths)
    env[settings.RUN] = ref
    for name in list(variables) + list(file_paths):
        _check_variable(name, env[name])
    return env


def _served(env: dict, variables: dict, aws_records, endpoint_variables: dict) -> "tuple[dict, dict]":
    context = aws_context(variables, aws_records)
    for name in ENDPOINT_CONFLICTING_VARIABLES:
        env.pop(name, None)
        variables.pop(name, None)
    if context.region:
        variables.setdefault("AWS_REGION", context.region)
        variables.setdefault("AWS_DEFAULT_REGION", context.region)
    variables.update(endpoint_variables)
    return env, variables


def endpoint_secrets(endpoint_variables) -> set:
    """The endpoint's token, masked in the child's output like the keys it stands for."""
    from credproc.creds.endpoint import TOKEN_VARIABLE

    token = (endpoint_variables or {}).get(TOKEN_VARIABLE)
    return {token} if token else set()


def _check_variable(name: str, value: str) -> None:
    """exec cannot pass these; say which entry is wrong (never its value) instead of failing later."""
    if not name or "=" in name or "\0" in name:
        raise ConfigError(f"environmentVariables/files key {name!r} cannot be an environment variable name",
                          hint="rename the key")
    if "\0" in value:
        raise ConfigError(f"the value of {name} contains a NUL character, which cannot be passed to a program")


def refuse_nesting(inherited: dict, ref: str, nested: bool) -> None:
    outer = settings.inside_run(inherited)
    if outer and not nested:
        raise UsageError(
            f"already inside `credproc run {outer}`; running {ref} inside it would mix two environments",
            hint="pass --nested to do it anyway",
        )


def resolve_command(command: str, env: dict) -> str:
    """The executable the child will run, looked up on the child's PATH (as exec would)."""
    import shutil

    if os.sep in command or (os.altsep and os.altsep in command):
        if os.path.isfile(command) and os.access(command, os.X_OK):
            return command
        raise UsageError(f"resolving command: {command} is not an executable file")
    found = shutil.which(command, path=env.get("PATH", os.defpath))
    if not found:
        raise UsageError(f"resolving command: {command!r} not found on PATH")
    return found


# --- files ---------------------------------------------------------------------------------------

RUN_DIRECTORY_WHAT = "run directory"
_RUN_NAME = re.compile(r"(\d+)-([0-9a-f]{8})-")  # <pid of the credproc run>-<pid scope>-<random>


def run_directory() -> str:
    """Where runs keep their files: $XDG_RUNTIME_DIR/credproc/run (a per-user tmpfs, emptied at
    logout) when it exists, else <cache dir>/run. Never /tmp: a run killed by SIGKILL cannot
    clean up, and what it leaves must stay private and be found again by the next run."""
    from credproc import paths

    return os.path.join(paths.runtime_dir(), "run")


def ensure_run_directory() -> str:
    """The run directory, created 0700; refused (with the chmod that fixes it) when it, or the
    credproc directory it is in, is a link, someone else's, or open to group or others."""
    from credproc import fsutil

    directory = run_directory()
    fsutil.make_private_dirs(directory)
    fsutil.check_private(os.path.dirname(directory), RUN_DIRECTORY_WHAT, 0o700)
    fsutil.check_private(directory, RUN_DIRECTORY_WHAT, 0o700)
    return directory


def sweep_stale_runs() -> int:
    """Remove what earlier runs left behind when they could not clean up (SIGKILL, power loss):
    the per-run directories whose credproc process is gone (each `run` and `env edit` sweeps, and so
    does `cache clear`). A live run's directory is never touched. Nothing is created here, and a
    directory that fails the privacy check is left to the error TempFiles reports. Returns how many
    directories went."""
    from credproc import fsutil

    directory = run_directory()
    try:
        fsutil.check_private(directory, RUN_DIRECTORY_WHAT)  # never delete through a link or in another's
        entries = list(os.scandir(directory))
    except (OSError, ConfigError):
        return 0
    scope, removed = pid_scope(), 0
    for entry in entries:
        match = _RUN_NAME.match(entry.name)
        if not match or match.group(2) != scope or not entry.is_dir(follow_symlinks=False):
            continue
        if not _process_alive(int(match.group(1))):
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
            removed += not os.path.lexists(entry.path)
    return removed


def pid_scope() -> str:
    """Where our pids mean something: this host and pid namespace. A home directory shared with a
    container or another machine holds runs whose pids are not ours to check: they are left to
    a run of their own scope."""
    import hashlib
    import socket

    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's (pid reused)
        return True
    return True


class TempFiles:
    """A per-run directory (0700, named after our pid, in the private run directory) of 0600 files,
    removed with everything in it on close(); sweep_stale_runs() removes it if we cannot."""

    def __init__(self):
        self.directory = None

    def write_all(self, files: dict) -> dict:
        """name -> content written to files; returns name -> path."""
        return {name: self.write(name, content) for name, content in files.items()}

    def write(self, name: str, content: str) -> str:
        import tempfile

        if self.directory is None:
            prefix = f"{os.getpid()}-{pid_scope()}-"  # what sweep_stale_runs() checks
            self.directory = tempfile.mkdtemp(prefix=prefix, dir=ensure_run_directory())  # 0700
        fd, path = tempfile.mkstemp(prefix="file-", dir=self.directory)  # O_EXCL, mode 0600
        try:
            _write_fully(fd, content.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
        return path

    def close(self) -> None:
        if self.directory is not None:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _gcp_credentials(gcp_records, projection: Projection, files: TempFiles) -> "tuple[dict, str | None]":
    """(variables, the token feed to watch or None): see gcpfiles.external_account."""
    if not gcp_records:
        return {}, None
    from credproc.commands.run import gcpfiles

    return gcpfiles.external_account(gcp_records, projection, files)


# --- supervision --------------------------------------------------------------------------------

def exit_status(returncode: int) -> int:
    """The child's exit code; a child killed by signal N (returncode -N) gives 128+N, as shells do."""
    return 128 - returncode if returncode < 0 else returncode


class SignalForwarder:
    """While installed, the FORWARDED_SIGNALS go to the child instead of ending credproc.

    A signal that arrives before the child exists is remembered: the caller then does not start
    it (and cleans up). SIGINT (and SIGQUIT) from a terminal already reached the child, which shares our
    foreground process group: forwarding it too would make it a double Ctrl-C (terraform, for one,
    treats a second interrupt as "abort now"), so it is forwarded only when we are not the
    terminal's foreground group (e.g. `kill -INT` from elsewhere, or no terminal at all). When the
    child runs on a pseudo-terminal of its own, our terminal is raw and sends no signal: Ctrl-C
    reaches the child as a key, and a SIGINT we receive came from elsewhere, so it is forwarded.
    """

    def __init__(self):
        self.child = None
        self.pending = []
        self.terminal_is_raw = False
        self._previous = {}

    def install(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers (tests calling from threads)
        for signum in FORWARDED_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue  # ignored by whoever started us (nohup): the child inherits that, keep it
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def attach(self, child):
        self.child = child
        for signum in self.pending:
            self._send(signum)

    def _handle(self, signum, frame):
        if self.child is None:
            self.pending.append(signum)
        elif self.terminal_is_raw or not (signum in TERMINAL_SIGNALS and _terminal_delivered_sigint()):
            self._send(signum)

    def _send(self, signum):
        if self.child is not None and self.child.returncode is None:
            try:
                self.child.send_signal(signum)
            except ProcessLookupError:
                pass


def _terminal_delivered_sigint() -> bool:
    if not hasattr(os, "tcgetpgrp"):
        return False
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except OSError:
            continue
    return False


def supervise(argv: list, executable: str, env: dict, *, secrets, mask: bool, forwarder: SignalForwarder) -> int:
    """Run the child to completion and return credproc's exit status for it: its output masked
    through pipes, or through a pseudo-terminal of its own when stdin is a terminal (childio);
    passed through untouched with -i or when there is nothing to mask."""
    from credproc.commands.run import childio

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if not (mask and (secrets or getattr(secrets, "watching", False))):
        returncode = childio.run_direct(argv, executable, env, forwarder)
    elif childio.owns_terminal(0):
        returncode = childio.run_on_terminal(argv, executable, env, secrets, forwarder)
    else:
        returncode = childio.run_piped(argv, executable, env, secrets, forwarder)
    return exit_status(returncode)


def masked_secrets(value, projection: Projection, argument_secrets: set, definitions=()) -> set:
    """Every secret leaf of the environment, wherever the child may print it (inside a larger
    string, a JSON document, a file), the whole projected and interpolated secret strings, and every
    literal `fn::secret` of the definition files (inline in fn::join, say, it is no leaf)."""
    from credproc.commands.run.masking import definition_secrets, secret_leaves

    return secret_leaves(value) | projection.secrets | argument_secrets | definition_secrets(definitions)


# --- the whole run ------------------------------------------------------------------------------

def run(ref: str, value, command: list, *, interactive: bool = False, nested: bool = False,
        inherited: "dict | None" = None, aws_records=(), definitions=(), endpoint_variables=None,
        gcp_records=(), reopen=None, valid_until: "float | None" = None) -> int:
    """Project ``value`` (an opened environment) onto ``command`` and run it; returns the exit status.
    aws_records: the aws-login provider's `opened` records from opening ``value``;
    endpoint_variables: the container-credentials variables that replace static keys (run --server);
    gcp_records: the gcp-login provider's `opened` records (an external_account file, see gcpfiles);
    reopen, valid_until: keep the `files` fresh until the command ends (freshfiles.FreshFiles)."""
    inherited = dict(os.environ if inherited is None else inherited)
    refuse_nesting(inherited, ref, nested)
    if not command:
        raise UsageError("no command specified", hint=f"credproc run {ref} -- COMMAND [ARGS...]")
    projection = project(value)
    carried = []
    arguments, argument_secrets = interpolate_arguments(command[1:], value, carried)
    for line in argv_secret_warnings(command[0], list(dict.fromkeys(carried))):
        sys.stderr.write(line + "\n")
    secrets = masked_secrets(value, projection, argument_secrets, definitions)
    secrets |= endpoint_secrets(endpoint_variables)
    if reopen is not None and valid_until is not None and projection.files:
        from credproc.commands.run.masking import LiveSecrets

        secrets = LiveSecrets(secrets)  # the fresh files' new tokens are masked too
    sweep_stale_runs()
    forwarder = SignalForwarder().install()
    try:
        with TempFiles() as files:
            paths = files.write_all(projection.files)
            gcp_variables, feed = _gcp_credentials(gcp_records, projection, files)
            paths.update(gcp_variables)
            if feed is not None:  # the tokens `credproc gcp-token` mints for the child are masked too
                from credproc.commands.run.masking import LiveSecrets

                secrets = secrets if isinstance(secrets, LiveSecrets) else LiveSecrets(secrets)
                secrets.watch(feed)
            env = child_environment(inherited, projection, paths, ref, aws_records, endpoint_variables)
            executable = resolve_command(command[0], env)
            if forwarder.pending:  # interrupted before the child started: do not start it
                return exit_status(-forwarder.pending[0])
            keeper = _fresh_files(ref, paths, projection, reopen, valid_until, secrets, definitions)
            try:
                return supervise([command[0]] + arguments, executable, env, secrets=secrets,
                                 mask=not interactive, forwarder=forwarder)
            finally:
                keeper.stop()  # before TempFiles removes the directory
    except OSError as err:
        raise ConfigError(f"could not run {command[0]}: {err.strerror or type(err).__name__}") from None
    finally:
        forwarder.restore()


def _fresh_files(ref: str, paths: dict, projection: Projection, reopen, valid_until, secrets, definitions):
    """The thread keeping ``paths`` fresh (started only when something in them expires)."""
    from credproc.commands.run.freshfiles import FreshFiles

    def project_again(value):
        again = project(value)
        return again.files, masked_secrets(value, again, set(), definitions)

    grow = getattr(secrets, "grow", lambda more: None)
    return FreshFiles(ref, paths if reopen is not None else {}, projection.files, reopen, valid_until,
                      project=project_again, on_secrets=grow).start()
