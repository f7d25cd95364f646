"""`credproc install-profile ORG/ENV` and `credproc uninstall-profile NAME`.

install-profile writes `[profile esc-<env>]` with `credential_process = <credproc> process ORG/ENV`
into the AWS config file (credproc.aws.config does the careful line editing), after checking that
the environment exists and yields AWS credentials, and refuses to clobber or be shadowed.
"""
import contextlib
import os
import sys
import time

from credproc.aws import config as awsconfig
from credproc.aws import processline
from credproc.errors import ConfigError, DiagnosticsError, LockTimeout, counted, printable

# Another program (aws configure, an editor) may write the config file while we edit it: we start
# again from its new content up to this many times before giving up (exit 7).
EDIT_ATTEMPTS = 5
RETRY_PAUSE_SECONDS = 0.05


def register(subparsers) -> None:
    install = subparsers.add_parser(
        "install-profile",
        help="add an AWS config profile whose credential_process runs credproc",
        description="Add [profile NAME] (default esc-<env>) with credential_process = <credproc> process "
        "ORG/ENV to the AWS config file (AWS_CONFIG_FILE or ~/.aws/config), keeping everything else "
        "in the file as it was. A backup of the previous file is kept as <config>.credproc.bak.",
        epilog="exit codes: 0 installed or already installed; 2 bad arguments, an environment that yields no "
        "AWS credentials, or a conflict (the message names it; --force replaces it); 7 another credproc "
        "held the config file's lock too long, or another program kept changing the file.",
    )
    install.add_argument("ref", metavar="ORG/ENV", help="the environment, e.g. acme/dev")
    install.add_argument("--profile", metavar="NAME", help="profile name (default: esc-<env>)")
    install.add_argument("--region", metavar="R", help="also write region = R")
    install.add_argument("--output", metavar="FMT", help="also write output = FMT (json, text, table, yaml)")
    install.add_argument("--dry-run", action="store_true", help="print the change as a diff; write nothing")
    install.add_argument("--force", action="store_true",
                         help="replace conflicting settings in the profile; accept a shadowing credentials-file section")
    install.set_defaults(func=_install_command)

    uninstall = subparsers.add_parser(
        "uninstall-profile",
        help="remove what install-profile wrote",
        description="Remove the credential_process line credproc wrote for profile NAME, and the whole "
        "section when it holds nothing else. Refuses profiles whose credential_process is not credproc's.",
        epilog="exit codes: 0 removed or nothing to remove; 2 the profile's credential_process is not "
        "credproc's, or it is defined twice; 7 another credproc held the config file's lock too long, "
        "or another program kept changing the file.",
    )
    uninstall.add_argument("name", metavar="NAME", help="profile name, e.g. esc-dev")
    uninstall.add_argument("--dry-run", action="store_true", help="print the change as a diff; write nothing")
    uninstall.set_defaults(func=_uninstall_command)


def _install_command(args) -> int:
    return install_profile(args.ref, profile=args.profile, region=args.region, output=args.output,
                           dry_run=args.dry_run, force=args.force)


def _uninstall_command(args) -> int:
    return uninstall_profile(args.name, dry_run=args.dry_run)


# ---------------------------------------------------------------------------------- install

def install_profile(ref, *, profile=None, region=None, output=None, dry_run=False, force=False,
                    check_environment=None, launcher=None, out=None, err=None) -> int:
    """The command; `check_environment(ref)` and `launcher()` are injectable for tests."""
    out, err = out or sys.stdout, err or sys.stderr
    ref = validate_ref(ref)
    name = awsconfig.validate_profile_name(profile if profile is not None else default_profile_name(ref))
    region = awsconfig.validate_region(region) if region is not None else None
    output = awsconfig.validate_output(output) if output is not None else None
    command_line = processline.join_command_line((launcher or credproc_launcher)() + ["process", ref])
    (check_environment or check_environment_yields_aws)(ref)
    for warning in _credentials_file_warnings(name, force):
        err.write(printable(f"credproc: warning: {warning}") + "\n")

    config = awsconfig.config_file_path()
    target = awsconfig.real_target(config)

    def plan(text):
        return awsconfig.plan_install(text or "", name, command_line, region=region, output=output, force=force,
                                      source=config, previous=awsconfig.load_record(target, name))

    edit = _edit_config(target, plan, dry_run, out, err)
    _report_install(edit, name, config, command_line, dry_run, out)
    return 0


def _credentials_file_warnings(name, force) -> "list[str]":
    """Refuse (or, with --force, warn about) a credentials-file section that would shadow the profile."""
    path = awsconfig.credentials_file_path()
    text, _ = awsconfig.read_text(path)
    keys = awsconfig.credentials_file_shadow(text or "", name)
    if not keys:
        return []
    message = (f"[{name}] in {path} sets {', '.join(keys)}, which the AWS CLI and SDKs use before "
               "credential_process")
    if not force:
        raise ConfigError(message, hint="remove that section (credproc never edits the credentials file), "
                          "choose another --profile NAME, or use --force")
    return [message + "; the profile will not be used until you remove it"]


def _edit_config(target, plan, dry_run, out, err):
    """Read, plan and (unless dry-run) write under the config lock. A dry run creates nothing, not
    even the lock file or ~/.aws."""
    if dry_run:
        text, _ = awsconfig.read_text(target)
        edit = plan(text)
        _print_warnings(edit, err)
        if edit.changed:
            out.write(awsconfig.unified_diff(text or "", edit.new_text, target))
        return edit
    awsconfig.ensure_parent_dir(target)
    with _os_errors_as_config_errors(target), awsconfig.locked(target):
        edit, written = _read_plan_write(target, plan, lambda edit, text: edit.changed or text is None)
        _print_warnings(edit, err)
        if written:
            _save_record(target, edit, err)
    return edit


def _read_plan_write(target, plan, should_write):
    """Read, plan and write (when should_write(edit, text)) under the lock; when another program
    changed the file between our read and our replace, start again from its new content, so its
    write is kept. Returns (edit, whether the file was written)."""
    for attempt in range(EDIT_ATTEMPTS):
        text, mode = awsconfig.read_text(target)
        edit = plan(text)
        if not should_write(edit, text):
            return edit, False
        try:
            awsconfig.save_with_backup(target, text, edit.new_text, mode)
            return edit, True
        except awsconfig.ConfigChanged:
            time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))  # let the other writer finish
    raise LockTimeout(f"{target} kept changing while credproc was editing it ({EDIT_ATTEMPTS} attempts); "
                      "it was not changed by credproc", hint="let the other program that writes it finish, then retry")


@contextlib.contextmanager
def _os_errors_as_config_errors(target):
    """A directory we may not write to (or a path through a file) is a configuration problem."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(f"cannot update {target}: {exc.strerror or type(exc).__name__}") from None


def _print_warnings(edit, err) -> None:
    for warning in edit.warnings:
        err.write(printable(f"credproc: warning: {warning}") + "\n")


def _save_record(target, edit, err) -> None:
    try:
        awsconfig.save_record(target, edit.profile, edit.record)
    except OSError as exc:  # the config is written; only a later uninstall is less precise
        err.write(f"credproc: warning: could not record what credproc wrote ({exc.strerror}); "
                  f"uninstall-profile {edit.profile} will guess from the file\n")


def _report_install(edit, name, config, command_line, dry_run, out) -> None:
    if edit.status == "unchanged":
        out.write(f"profile {name} is already installed in {config}\n")
        return
    if dry_run:
        out.write(f"dry run: {config} was not changed\n")
        return
    verb = "installed" if edit.status == "added" else "updated"
    removed = f" (removed {', '.join(edit.removed_keys)})" if edit.removed_keys else ""
    out.write(f"{verb} profile {name} in {config}{removed}: credential_process = {command_line}\n")
    out.write(f"try: aws sts get-caller-identity --profile {name}\n")


def validate_ref(ref: str) -> str:
    """The store's name rules (2 or 3 plain segments), so the name is also a plain shell word."""
    from credproc.store.store import parse_name

    return parse_name(ref).full


def default_profile_name(ref: str) -> str:
    """esc-<env>: the last segment of the environment name (acme/dev and acme/proj/dev: esc-dev)."""
    return "esc-" + ref.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------- launcher

def credproc_launcher(executable: "str | None" = None) -> "list[str]":
    """The absolute argv prefix that starts this credproc directly: the `credproc` console script
    next to the running interpreter, else `<python> -m credproc`.

    The interpreter path is never resolved through its own symlink: in a virtual environment
    bin/python is a symlink to the base interpreter, and following it would leave the venv (and its
    site-packages). Only the directory part is made canonical. Version-manager shims are refused:
    they cost over 100 ms on every AWS call."""
    executable = executable if executable is not None else sys.executable
    if not executable:
        raise ConfigError("cannot tell which Python runs credproc (sys.executable is empty)",
                          hint="run credproc from its virtual environment or installed script")
    bin_dir = os.path.realpath(os.path.dirname(os.path.abspath(executable)))
    python = os.path.join(bin_dir, os.path.basename(executable))
    if _looks_like_shim(python):
        raise ConfigError(f"{python} is a version-manager shim, which would add 100+ ms to every AWS call",
                          hint="run credproc from its virtual environment, e.g. /path/to/venv/bin/credproc")
    script = _console_script(bin_dir)
    return [script] if script else [python, "-m", "credproc"]


def _console_script(bin_dir: str) -> "str | None":
    """credproc's console script in bin_dir, if it belongs to that same environment."""
    for candidate in (os.path.join(bin_dir, "credproc"), os.path.join(bin_dir, "credproc.exe")):
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)) or _looks_like_shim(candidate):
            continue
        if candidate.endswith(".exe") or _shebang_dir(candidate) == bin_dir:
            return candidate
    return None


def _shebang_dir(path: str) -> "str | None":
    """The canonical directory of the interpreter a script's #! line names (None for `env python`)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    interpreter = first[2:].strip().split(b" ")[0].decode("utf-8", "replace")
    if not os.path.isabs(interpreter) or os.path.basename(interpreter) == "env":
        return None
    return os.path.realpath(os.path.dirname(interpreter))


def _looks_like_shim(path: str) -> bool:
    return awsconfig.shim_reason(path) is not None


# ------------------------------------------------------------------------ environment check

def check_environment_yields_aws(ref: str) -> None:
    """The environment exists, evaluates (check mode: no provider is called) without errors, and
    yields AWS credentials: environmentVariables.AWS_ACCESS_KEY_ID or an aws-login output."""
    from credproc.store.environments import open_environment

    opened = open_environment(ref, mode="check")
    if opened.has_errors:
        lines = opened.error_lines()
        first = lines[0] if lines else "error diagnostics"
        raise DiagnosticsError(f"environment {ref} has {counted(len(lines), 'error')}, first: {first}", lines,
                               hint=f"run `credproc env check {ref}`")
    if not yields_aws_credentials(opened.value):
        raise ConfigError(f"environment {ref} yields no AWS credentials (no environmentVariables.AWS_ACCESS_KEY_ID "
                          "and no fn::open::aws-login)", hint="add fn::open::aws-login to the environment")


def yields_aws_credentials(value) -> bool:
    """True when the (check-mode) value has environmentVariables.AWS_ACCESS_KEY_ID or contains an
    aws-login output (accessKeyId/secretAccessKey, known or still unknown with that schema)."""
    top = getattr(value, "value", None)
    if not isinstance(top, dict):
        return False
    variables = top.get("environmentVariables")
    if variables is not None and "AWS_ACCESS_KEY_ID" in _keys_of(variables):
        return True
    return _has_aws_login(value, depth=0)


def _keys_of(value) -> set:
    inner = getattr(value, "value", None)
    if isinstance(inner, dict):
        return set(inner)
    schema = getattr(value, "schema", None)
    if getattr(value, "unknown", False) and isinstance(schema, dict):
        return set(schema.get("properties", {}) or {})
    return set()


def _has_aws_login(value, depth: int) -> bool:
    if depth > 64:
        return False
    if {"accessKeyId", "secretAccessKey"} <= _keys_of(value):
        return True
    inner = getattr(value, "value", None)
    children = inner.values() if isinstance(inner, dict) else inner if isinstance(inner, list) else ()
    return any(_has_aws_login(child, depth + 1) for child in children)


# -------------------------------------------------------------------------------- uninstall

def uninstall_profile(name, *, dry_run=False, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    name = awsconfig.validate_profile_name(name)
    config = awsconfig.config_file_path()
    target = awsconfig.real_target(config)
    if not os.path.exists(target):
        out.write(f"profile {name} is not installed: {config} does not exist\n")
        return 0

    def plan(text):
        return awsconfig.plan_uninstall(text or "", name, awsconfig.load_record(target, name), source=config)

    edit = _edit_uninstall(target, plan, dry_run, out, err)
    if edit.status == "absent":
        out.write(f"profile {name} has no credential_process in {config}; nothing to remove\n")
    elif dry_run:
        out.write(f"dry run: {config} was not changed\n")
    else:
        what = "profile" if edit.status == "removed-section" else "credential_process of profile"
        out.write(f"removed {what} {name} from {config}\n")
    return 0


def _edit_uninstall(target, plan, dry_run, out, err):
    if dry_run:
        text, _ = awsconfig.read_text(target)
        edit = plan(text)
        if edit.changed:
            out.write(awsconfig.unified_diff(text or "", edit.new_text, target))
        return edit
    with _os_errors_as_config_errors(target), awsconfig.locked(target):
        edit, _ = _read_plan_write(target, plan, lambda edit, text: edit.changed)
        if edit.status != "absent":
            _save_record(target, edit, err)
    return edit
