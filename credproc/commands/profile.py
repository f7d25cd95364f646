"""`credproc install-profile ORG/ENV` and `credproc uninstall-profile NAME`.

install-profile writes `[profile esc-<env>]` with `credential_process = <credproc> process ORG/ENV`
into the AWS config file (credproc.aws.edits plans the careful line edits), after checking that
the environment exists and yields AWS credentials, and refuses to clobber or be shadowed.
"""
import contextlib
import os
import sys
import time

from credproc.aws import edits, ini, launcher, profilefile
from credproc.aws import processline
from credproc.errors import ConfigError, DiagnosticsError, LockTimeout, UsageError, counted, printable

# Another program (aws configure, an editor) may write the config file while we edit it: we start
# again from its new content up to this many times before giving up (exit 7).
EDIT_ATTEMPTS = 5
RETRY_PAUSE_SECONDS = 0.05


def register(subparsers) -> None:
    install = subparsers.add_parser(
        "install-profile",
        help="add an AWS config profile whose credential_process runs credproc",
        description="Add [profile NAME] (default esc-<env>) with credential_process = <launcher> process "
        "ORG/ENV to the AWS config file (AWS_CONFIG_FILE or ~/.aws/config), keeping everything else "
        "in the file as it was. A backup of the previous file is kept as <config>.credproc.bak. The launcher "
        "is a small script credproc writes (and rewrites on every install) into <config dir>/launchers/: it "
        "starts this credproc's Python without `site`, so a cached answer comes back about twice as fast as "
        "through the `credproc` command. A line written by an earlier credproc is upgraded in place.",
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
        "section when it holds nothing else. Refuses profiles whose credential_process is not credproc's. "
        "A config file left with nothing in it is removed (with credproc's backup of it; the edit lock is in "
        "credproc's cache, under locks/, where `credproc cache clear` removes it once unused), and so is "
        "the launcher once no profile runs it. --all removes every profile that runs credproc.",
        epilog="exit codes: 0 removed or nothing to remove; 2 the profile's credential_process is not "
        "credproc's, or it is defined twice; 7 another credproc held the config file's lock too long, "
        "or another program kept changing the file.",
    )
    uninstall.add_argument("name", metavar="NAME", nargs="?", help="profile name, e.g. esc-dev")
    uninstall.add_argument("--all", action="store_true",
                           help="remove every profile whose credential_process runs credproc (install.sh --uninstall does)")
    uninstall.add_argument("--dry-run", action="store_true", help="print the change as a diff; write nothing")
    uninstall.set_defaults(func=_uninstall_command)


def _install_command(args) -> int:
    return install_profile(args.ref, profile=args.profile, region=args.region, output=args.output,
                           dry_run=args.dry_run, force=args.force)


def _uninstall_command(args) -> int:
    if args.all == (args.name is not None):
        raise UsageError("name one profile or use --all", hint="credproc uninstall-profile esc-dev")
    if args.all:
        return uninstall_all_profiles(dry_run=args.dry_run)
    return uninstall_profile(args.name, dry_run=args.dry_run)


def uninstall_all_profiles(*, dry_run=False, out=None) -> int:
    """uninstall-profile for every profile in the AWS config file that runs credproc."""
    out = out or sys.stdout
    config = profilefile.config_file_path()
    text, _ = profilefile.read_text(profilefile.real_target(config))
    names = [name for name in credproc_profile_names(text or "")]
    if not names:
        out.write(f"no profile in {config} runs credproc\n")
    for name in names:
        uninstall_profile(name, dry_run=dry_run, out=out)
    return 0


def credproc_profile_names(text: str) -> "list[str]":
    """Profiles whose credential_process runs credproc, as botocore reads the file."""
    problem = ini.botocore_parse_problem(text)
    if problem:
        raise ConfigError(f"{profilefile.config_file_path()} cannot be read by the AWS CLI and SDKs ({problem})",
                          hint="fix it, then run credproc uninstall-profile --all again")
    parser = ini.parse_like_botocore(text)
    names = []
    for header in parser.sections():
        name = ini.profile_name_of(header)
        value = parser.get(header, "credential_process", fallback="")
        if name and processline.parse_process_line(value) is not None and name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------------------------- install

def install_profile(ref, *, profile=None, region=None, output=None, dry_run=False, force=False,
                    check_environment=None, launcher=None, out=None, err=None) -> int:
    """The command; `check_environment(ref)` and `launcher()` are injectable for tests."""
    out, err = out or sys.stdout, err or sys.stderr
    ref = validate_ref(ref)
    name = edits.validate_profile_name(profile if profile is not None else default_profile_name(ref))
    region = edits.validate_region(region) if region is not None else None
    output = edits.validate_output(output) if output is not None else None
    prefix = (launcher or credproc_command)()
    command_line = processline.join_command_line(prefix + ["process", ref])
    (check_environment or check_environment_yields_aws)(ref)
    for warning in _credentials_file_warnings(name, force):
        err.write(printable(f"credproc: warning: {warning}") + "\n")

    config = profilefile.config_file_path()
    target = profilefile.real_target(config)

    def plan(text):
        edit = edits.plan_install(text or "", name, command_line, region=region, output=output, force=force,
                                  source=config, previous=profilefile.load_record(target, name))
        if not dry_run:  # refreshed on every install, before the profile may point at it
            _refresh_launcher(prefix[0])
        return edit

    edit = _edit_config(target, plan, dry_run, out, err)
    _report_install(edit, name, config, command_line, dry_run, out)
    return 0


def _credentials_file_warnings(name, force) -> "list[str]":
    """Refuse (or, with --force, warn about) a credentials-file section that would shadow the profile."""
    path = profilefile.credentials_file_path()
    text, _ = profilefile.read_text(path)
    keys = ini.credentials_file_shadow(text or "", name)
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
        text, _ = profilefile.read_text(target)
        edit = plan(text)
        _print_warnings(edit, err)
        if edit.changed:
            out.write(edits.unified_diff(text or "", edit.new_text, target))
        return edit
    profilefile.ensure_parent_dir(target)
    with _os_errors_as_config_errors(target), profilefile.locked(target):
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
        text, mode = profilefile.read_text(target)
        edit = plan(text)
        if not should_write(edit, text):
            return edit, False
        try:
            profilefile.save_with_backup(target, text, edit.new_text, mode)
            return edit, True
        except profilefile.ConfigChanged:
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
        profilefile.save_record(target, edit.profile, edit.record)
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
    if not _profile_has_region(edit.new_text, name):
        out.write(f"note: profile {name} names no region and AWS_REGION is unset: aws and boto3 will stop with "
                  f"\"You must specify a region\"; run install-profile again with --region R (credproc cannot "
                  f"give one: a credential_process carries no region)\n")


def _profile_has_region(text: str, name: str) -> bool:
    """What the AWS CLI and boto3 will find for `--profile NAME`: its own `region` (they do not fall
    back to [default]'s) or AWS_REGION / AWS_DEFAULT_REGION."""
    import configparser

    if os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        return True
    try:
        return bool((ini.botocore_profile(text, name) or {}).get("region"))
    except configparser.Error:  # a file botocore cannot parse was already reported; a note would only add noise
        return True


def validate_ref(ref: str) -> str:
    """The store's name rules (2 or 3 plain segments, or pulumi:ORG/PROJECT/ENV), so the name is
    also a plain shell word."""
    from credproc.store.store import parse_ref

    return parse_ref(ref).full


def default_profile_name(ref: str) -> str:
    """esc-<env>: the last segment of the environment name (acme/dev and acme/proj/dev: esc-dev)."""
    return "esc-" + ref.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------- launcher

def credproc_command(executable: "str | None" = None) -> "list[str]":
    """What a profile's line starts: on POSIX the `python -IS` launcher in credproc's launcher
    directory (a cache hit about twice as fast as through the console script), else, or when the
    launcher's #! line could not work (spaces, too long), the console script (credproc_launcher)."""
    if os.name != "posix":
        return credproc_launcher(executable)
    python = _interpreter(executable)
    source = _launcher_source_for(python)
    if source is None:
        return credproc_launcher(executable)
    return [launcher.launcher_path(python)]


def _launcher_source_for(python: str) -> "str | None":
    from credproc.commands.process import launcher_source

    try:
        source = launcher_source(python)
    except ConfigError:  # an interpreter path with spaces cannot go on a #! line
        return None
    return source if launcher.shebang_fits(source) else None


def _refresh_launcher(executable: str) -> None:
    """(Re)write the launcher a line starts (nothing for a console script or an injected path)."""
    if not launcher.is_launcher(executable):
        return
    source = _launcher_source_for(_interpreter())
    if source is not None:
        launcher.write(executable, source)


def expected_launcher_source(path: str) -> "str | None":
    """What this credproc would write at a launcher path: the launcher for the interpreter its #!
    line names (None when the file is unreadable or names none)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(4096).decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!") or not first.rstrip().endswith(" -IS"):
        return None
    return _launcher_source_for(first[2:].rstrip()[:-len(" -IS")])


def _interpreter(executable: "str | None" = None) -> str:
    """The interpreter running credproc, its directory made canonical (see credproc_launcher)."""
    executable = executable if executable is not None else sys.executable
    if not executable:
        raise ConfigError("cannot tell which Python runs credproc (sys.executable is empty)",
                          hint="run credproc from its virtual environment or installed script")
    bin_dir = os.path.realpath(os.path.dirname(os.path.abspath(executable)))
    python = os.path.join(bin_dir, os.path.basename(executable))
    if _looks_like_shim(python):
        raise ConfigError(f"{python} is a version-manager shim, which would add 100+ ms to every AWS call",
                          hint="run credproc from its virtual environment, e.g. /path/to/venv/bin/credproc")
    return python


def credproc_launcher(executable: "str | None" = None) -> "list[str]":
    """The absolute argv prefix that starts this credproc directly: the `credproc` console script
    next to the running interpreter, else `<python> -m credproc`.

    The interpreter path is never resolved through its own symlink: in a virtual environment
    bin/python is a symlink to the base interpreter, and following it would leave the venv (and its
    site-packages). Only the directory part is made canonical. Version-manager shims are refused:
    they cost over 100 ms on every AWS call."""
    python = _interpreter(executable)
    script = _console_script(os.path.dirname(python))
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
    return processline.shim_reason(path) is not None


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
    name = edits.validate_profile_name(name)
    config = profilefile.config_file_path()
    target = profilefile.real_target(config)
    if not os.path.exists(target):
        out.write(f"profile {name} is not installed: {config} does not exist\n")
        return 0

    def plan(text):
        return edits.plan_uninstall(text or "", name, profilefile.load_record(target, name), source=config)

    edit = _edit_uninstall(target, plan, dry_run, out, err)
    if not dry_run and edit.status != "absent":
        _retire_launcher(edit.old_text, name, out)
    if edit.status == "absent":
        out.write(f"profile {name} has no credential_process in {config}; nothing to remove\n")
    elif dry_run:
        out.write(f"dry run: {config} was not changed\n")
    else:
        what = "profile" if edit.status == "removed-section" else "credential_process of profile"
        out.write(f"removed {what} {name} from {config}\n")
        if _emptied(edit):
            out.write(f"removed {config}: nothing else was left in it (nor its backup)\n")
    return 0


def _retire_launcher(old_text: str, name: str, out) -> None:
    """Remove the launcher the removed line ran once no profile credproc knows of still runs it."""
    line = processline.parse_process_line((_profile_settings(old_text, name) or {}).get("credential_process", ""))
    if line is None or not launcher.is_launcher(line.executable) or _launcher_in_use(line.executable):
        return
    launcher.remove(line.executable)
    out.write(f"removed the launcher {line.executable} (no profile uses it any more)\n")


def _launcher_in_use(path: str) -> bool:
    """Some profile, in any AWS config file credproc has edited (its install records), runs path."""
    for config in profilefile.recorded_config_files() + [profilefile.real_target(profilefile.config_file_path())]:
        text, _ = profilefile.read_text(config)
        profiles = _all_profile_settings(text or "")
        if profiles is None:
            return True  # a file we cannot read as botocore does: it may run it
        for settings in profiles:
            line = processline.parse_process_line(settings.get("credential_process", ""))
            if line is not None and line.executable == path:
                return True
    return False


def _profile_settings(text: str, name: str) -> "dict | None":
    try:
        return ini.botocore_profile(text, name)
    except Exception:  # configparser errors: a file botocore cannot read runs nothing
        return None


def _all_profile_settings(text: str) -> "list | None":
    try:
        parser = ini.parse_like_botocore(text)
    except Exception:  # configparser errors
        return None
    return [dict(parser.items(header)) for header in parser.sections()]


def _edit_uninstall(target, plan, dry_run, out, err):
    if dry_run:
        text, _ = profilefile.read_text(target)
        edit = plan(text)
        if edit.changed:
            out.write(edits.unified_diff(text or "", edit.new_text, target))
        return edit
    with _os_errors_as_config_errors(target), profilefile.locked(target):
        edit, _ = _read_plan_write(target, plan, lambda edit, text: edit.changed)
        if _emptied(edit):
            profilefile.remove_emptied(target)  # a file holding nothing is no config worth a backup
        elif edit.status != "absent":
            _save_record(target, edit, err)
    return edit


def _emptied(edit) -> bool:
    """The uninstall left nothing but blank lines: what a user expects then is no file at all."""
    return edit.status != "absent" and not edit.new_text.strip()
