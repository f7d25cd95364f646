"""`credproc doctor`: check a profile or an environment end to end and say how to fix each problem.

Each check gives a row (check, status, detail, fix). OK and WARN pass, FAIL does not. Offline by
default: the environment is evaluated with a probe in place of `fn::open::aws-login` that builds the
STS request and obtains a token from the token source, but never calls STS. `--online` adds one real
AssumeRoleWithWebIdentity through the real path (the profile's own `credential_process` command, into
a throw-away cache so that a cached answer cannot hide a broken STS set-up) and compares the clock
with STS's `Date` header.

Nothing secret is ever shown: no token, no secret key, no session token; access key ids are masked.
"""
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass

from credproc import paths, settings
from credproc.aws import ini, profilefile
from credproc.aws import processline
from credproc.errors import ConfigError, CredprocError, ExitCode, UsageError, counted

OK, WARN, FAIL = "OK", "WARN", "FAIL"

# Static keys beside credential_process are unused (botocore tries the process first) but confusing;
# the other keys install-profile refuses (ini.conflicting_keys) make the SDKs skip credproc.
STATIC_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# Environment variables that change which credentials an SDK uses.
ENV_KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
ENV_WEB_IDENTITY_VARS = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
CLOCK_WARN_SECONDS = 60
CLOCK_FAIL_SECONDS = 300  # STS rejects signatures and tokens beyond about 5 minutes of skew
ONLINE_TIMEOUT_SECONDS = 60


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


# --- AWS config files -----------------------------------------------------------------------------


def config_file() -> str:
    return profilefile.config_file_path()  # the same path rules as install-profile (and botocore)


def credentials_file() -> str:
    return profilefile.credentials_file_path()


def read_text(path: str) -> "str | None":
    """The file's text (None if absent); undecodable bytes kept as replacement characters."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()
    except OSError as err:
        raise ConfigError(f"{path} cannot be read: {err.strerror}") from None


def profile_sections(text: "str | None") -> dict:
    """profile name -> {key: value} as botocore sees the config file (`[default]`, `[profile NAME]`;
    a later duplicate wins). ConfigError when botocore could not parse the file at all."""
    if text is None:
        return {}
    problem = ini.botocore_parse_problem(text)
    if problem:
        raise ConfigError(f"{config_file()} cannot be parsed by the AWS SDKs: {problem}")
    parser = ini.parse_like_botocore(text)  # botocore's own parser settings, kept in one place
    result = {}
    for header in parser.sections():
        name = ini.profile_name_of(header)
        if name is not None:
            result.setdefault(name, {}).update({k: parser.get(header, k) for k in parser.options(header)})
    return result


def credproc_profiles(profiles: dict) -> dict:
    """name -> ProcessLine for every profile whose credential_process runs credproc."""
    found = {}
    for name, keys in profiles.items():
        line = processline.parse_process_line(keys.get("credential_process", ""))
        if line is not None:
            found[name] = line
    return found


# --- what to check --------------------------------------------------------------------------------


@dataclass
class Target:
    profile: "str | None" = None
    line: "processline.ProcessLine | None" = None
    keys: "dict | None" = None
    ref: "str | None" = None


def resolve_target(arg: "str | None", profiles: dict) -> "tuple[Target, list]":
    """Which profile and environment to check, from PROFILE, ORG/ENV or nothing (then AWS_PROFILE or
    the only credproc profile). Returns the target and rows about how it was chosen."""
    ours = credproc_profiles(profiles)
    rows = []
    if arg and "/" in arg:
        matching = sorted(name for name, line in ours.items() if line.ref == arg)
        if not matching:
            rows.append(Check("profile", WARN, f"no profile in {config_file()} runs `credproc process {arg}`",
                              f"credproc install-profile {arg}"))
            return Target(ref=arg), rows
        name = matching[0]
        if len(matching) > 1:
            rows.append(Check("profile", OK, f"{len(matching)} profiles use {arg}: {', '.join(matching)}; "
                                             f"checking {name}"))
        return Target(name, ours[name], profiles[name], arg), rows
    name = arg
    if not name:  # AWS_PROFILE when it is a credproc profile (someone's work profile is not ours to judge)
        selected = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        name = selected if selected in ours else None
    if not name:
        if len(ours) == 1:
            name = next(iter(ours))
        elif not ours:
            rows.append(Check("profile", WARN, f"no profile in {config_file()} runs credproc",
                              "credproc install-profile ORG/ENV"))
            return Target(), rows
        else:
            raise UsageError(f"several credproc profiles ({', '.join(sorted(ours))}); name one: credproc doctor PROFILE")
    if name not in profiles:
        rows.append(Check("profile", FAIL, f"profile {name!r} is not in {config_file()}",
                          "credproc install-profile ORG/ENV --profile " + name))
        return Target(profile=name), rows
    line = ours.get(name)
    if line is None:
        rows.append(Check("profile", FAIL, f"profile {name!r} has no credential_process that runs credproc",
                          f"credproc install-profile ORG/ENV --profile {name} --force"))
        return Target(profile=name, keys=profiles[name]), rows
    return Target(name, line, profiles[name], line.ref), rows


# --- the profile's wiring -------------------------------------------------------------------------


def _starts(line: processline.ProcessLine) -> "tuple[str, str]":
    """Run the profile's credproc with --version: (version text, problem or "")."""
    argv = line.argv[:line.argv.index("process")] + ["--version"]
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return "", f"it does not start ({type(err).__name__})"
    text = result.stdout.strip()
    if result.returncode != 0 or not text.startswith("credproc "):
        return "", f"`{' '.join(argv[-2:])}` does not answer like credproc (exit {result.returncode})"
    return text, ""


def check_wiring(target: Target) -> list:
    line = target.line
    if line is None:
        return []
    fix = f"credproc install-profile {line.ref or 'ORG/ENV'} --profile {target.profile} --force"
    rows = []
    exe = line.executable
    if not os.path.isabs(exe):
        rows.append(Check("profile wiring", FAIL, f"credential_process starts {exe!r}, not an absolute path "
                                                  "(found on PATH at run time)", fix))
    elif not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        rows.append(Check("profile wiring", FAIL, f"credential_process starts {exe}, which does not exist or "
                                                  "is not executable", fix))
    elif line.ref is None:
        rows.append(Check("profile wiring", FAIL, "credential_process names no ORG/ENV after `process`", fix))
    else:
        reason = processline.shim_reason(exe)
        version, problem = _starts(line)
        if problem:
            rows.append(Check("profile wiring", FAIL, f"credential_process starts {exe}, but {problem}", fix))
        elif reason:
            rows.append(Check("profile wiring", WARN, f"credential_process starts {exe}: {reason}", fix))
        else:
            rows.append(Check("profile wiring", OK, f"[profile {target.profile}] runs {exe} process {line.ref}"
                                                    f" ({version})"))
    if line.profile_flag is not None and line.profile_flag != target.profile:
        rows.append(Check("profile name", FAIL, f"the command line says --profile {line.profile_flag} but sits in "
                                                f"[profile {target.profile}]", fix))
    else:
        rows.append(Check("profile name", OK, f"{target.profile}"))
    rows += check_launcher(target)
    rows += _split_agreement(line, fix)
    conflicting = ini.conflicting_keys(target.keys or {})  # what install-profile refuses
    static = [k for k in conflicting if k in STATIC_KEYS or k == "aws_security_token"]
    preceding = [k for k in conflicting if k not in static]
    if preceding:
        rows.append(Check("profile conflicts", FAIL, f"the profile also has {', '.join(preceding)}, which AWS "
                                                     "SDKs use before credential_process",
                          f"remove {', '.join(preceding)} from [profile {target.profile}] in {config_file()}"))
    elif static:
        rows.append(Check("profile conflicts", WARN, f"the profile also has {', '.join(static)} (unused while "
                                                     "credential_process is set, but confusing)",
                          f"remove {', '.join(static)} from [profile {target.profile}] in {config_file()}"))
    else:
        rows.append(Check("profile conflicts", OK, "no other credential settings in the profile"))
    return rows


def check_launcher(target: Target) -> list:
    """The `python -IS` launcher install-profile writes: present, private, and what this credproc
    writes now. A line that starts the console script instead still works, only slower."""
    from credproc.aws import launcher
    from credproc.commands import profile

    exe, ref = target.line.executable, target.line.ref or "ORG/ENV"
    fix = f"credproc install-profile {ref} --profile {target.profile}"
    if os.name != "posix":
        return []
    if not launcher.is_launcher(exe):
        if profile.credproc_command() == profile.credproc_launcher():
            return []  # no launcher possible here (interpreter path with spaces, or too long)
        return [Check("launcher", WARN, f"the profile starts {exe}; the launcher install-profile now writes "
                                        "answers a cached call about twice as fast", fix)]
    expected = profile.expected_launcher_source(exe) if os.path.isfile(exe) else None
    problem = launcher.problem(exe, expected or "")
    if problem and "writable" in problem:
        return [Check("launcher", FAIL, f"{problem}: anyone who can change it runs code on every AWS call",
                      f"chmod go-w {os.path.dirname(exe)} {exe}; {fix}")]
    if problem:
        return [Check("launcher", FAIL if "missing" in problem or "owned" in problem or "link" in problem
                      else WARN, problem, fix)]
    return [Check("launcher", OK, f"{exe} is current and private")]


def _split_agreement(line: processline.ProcessLine, fix: str) -> list:
    """botocore splits the line with shlex on POSIX and with MSVCRT rules on Windows: a line that splits
    differently works here and breaks when the same config is used on the other system."""

    if processline.windows_split(line.raw) == line.argv:
        return []
    return [Check("profile portability", WARN, "credential_process splits differently on Windows (quoting)", fix)]


def check_credentials_file(target: Target) -> list:

    if target.profile is None:
        return []
    path = credentials_file()
    try:
        text = read_text(path)
    except ConfigError as err:
        return [Check("credentials file", FAIL, str(err), f"fix or move {path}")]
    keys = ini.credentials_file_shadow(text, target.profile) if text is not None else []
    if not keys:
        return [Check("credentials file", OK, f"no [{target.profile}] credentials in {path}")]
    return [Check("credentials file", FAIL, f"[{target.profile}] in {path} has {', '.join(keys)}: AWS "
                                            "SDKs use it instead of credproc (it shadows the profile)",
                  f"remove the [{target.profile}] section from {path}")]


def check_environment_variables(target: Target) -> list:
    rows = []
    set_keys = [name for name in ENV_KEY_VARS if os.environ.get(name)]
    web = [name for name in ENV_WEB_IDENTITY_VARS if os.environ.get(name)]
    selected = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    if web:
        rows.append(Check("environment variables", FAIL, f"{' and '.join(web)} set: SDKs assume that role from the "
                                                         "token file before trying the profile",
                          "unset " + " ".join(web)))
    if set_keys:
        rows.append(Check("environment variables", WARN, f"{', '.join(set_keys)} set: they win over AWS_PROFILE "
                                                         "(an explicit --profile still works)",
                          "unset " + " ".join(set_keys)))
    if selected and target.profile and selected != target.profile:
        rows.append(Check("environment variables", WARN, f"AWS_PROFILE={selected}: commands without --profile "
                                                         f"use that, not {target.profile}",
                          f"export AWS_PROFILE={target.profile}"))
    if not rows:
        where = f"AWS_PROFILE={selected}" if selected else "no AWS_PROFILE"
        rows.append(Check("environment variables", OK, f"no AWS_* variable overrides the profile ({where})"))
    return rows


# --- the cache directory --------------------------------------------------------------------------


def check_cache_dir() -> list:
    path = paths.cache_dir()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return [Check("cache directory", OK, f"{path} (created 0700 on first use)")]
    except OSError as err:
        return [Check("cache directory", FAIL, f"{path}: {err.strerror}", "set CREDPROC_CACHE_DIR to a private directory")]
    problem, fix = _private_dir_problem(path, st)
    if problem:
        return [Check("cache directory", FAIL, problem, fix)]
    loose = _loose_files(path)
    if loose:
        return [Check("cache directory", WARN, f"{counted(len(loose), 'file')} readable by others, e.g. {loose[0]} "
                                               "(credproc ignores them)", f"credproc cache clear; chmod 600 {loose[0]}")]
    return [Check("cache directory", OK, f"{path} is private (mode {stat.S_IMODE(st.st_mode):o})")]


def _private_dir_problem(path: str, st) -> "tuple[str, str]":
    """The same rule credproc applies before every cache use (credproc.fsutil.check_private), as (problem, fix)."""
    from credproc import fsutil

    try:
        fsutil.check_private(path, "cache directory", 0o700, settings.CACHE_DIR, st)
    except ConfigError as err:
        return str(err), err.hint or f"chmod 700 {path}"
    return "", ""


def _loose_files(root: str) -> list:
    loose = []
    if os.name != "posix":
        return loose
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            try:
                if os.lstat(full).st_mode & 0o077:
                    loose.append(full)
            except OSError:
                continue
    return loose


# --- the environment, its token source and the issuer ---------------------------------------------


def _make_probe():
    """The aws-login stand-in that does everything but call STS, recording a probe per `oidc` block
    (built lazily: imports the provider)."""
    from credproc.identity import issuer
    from credproc.providers.aws_login import OidcRequest, PlanningAwsLogin

    probes = []

    def probe(oidc, ctx):
        found = {"path": ctx.path, "local": isinstance(oidc, dict) and oidc.get("token") is None}
        probes.append(found)
        if found["local"]:
            try:
                issuer.load_settings()
            except ConfigError as err:  # a token-source problem, reported on its own row
                found["error"] = err
                return
        request = OidcRequest.parse(oidc, ctx)  # bad inputs: an environment diagnostic
        found.update(source=request.source.describe(), role=request.role_arn, region=request.region,
                     duration=request.duration)
        _fetch_claims(request.source, found)

    provider = PlanningAwsLogin(probe)
    provider.probes = probes
    return provider


def _other_cloud_probe(probes: list, provider: str):
    """The probe azure-login's and gcp-login's planning stand-ins call per `oidc` open: the token
    source is read (the token dropped at once) and described, nothing is exchanged."""
    from credproc.identity import issuer

    def probe(make_request, local: bool, ctx):
        found = {"path": ctx.path, "local": local, "provider": provider}
        probes.append(found)
        if local:
            try:
                issuer.load_settings()
            except ConfigError as err:
                found["error"] = err
                return
        request = make_request()  # bad inputs: an environment diagnostic
        found["source"] = request.source.describe()
        _fetch_claims(request.source, found)

    return probe


def _fetch_claims(source, found: dict) -> None:
    try:
        source.fetch()  # the token itself is dropped at once
        claims = getattr(source, "claims", {}) or {}
        found["claims"] = {k: claims.get(k) for k in ("iss", "aud", "sub", "exp")}
    except CredprocError as err:
        found["error"] = err


def check_environment(ref: "str | None") -> "tuple[list, list]":
    """Rows for the environment and its token source(s), and the probes (for the issuer check)."""
    if ref is None:
        return [Check("environment", WARN, "no environment to check", "credproc doctor ORG/ENV")], []
    from credproc import providers
    from credproc.store.environments import conformance_enabled, open_environment
    from credproc.store.store import is_pulumi_ref

    probe = _make_probe()
    registry = providers.providers(conformance=conformance_enabled())
    registry.substitute("aws-login", probe)
    from credproc.providers.azure_login import PlanningAzureLogin
    from credproc.providers.gcp_login import PlanningGcpLogin

    # doctor gets no credentials, from Google or Entra ID neither; it looks at their token sources
    registry.substitute("gcp-login", PlanningGcpLogin(probe=_other_cloud_probe(probe.probes, "gcp-login")))
    registry.substitute("azure-login", PlanningAzureLogin(probe=_other_cloud_probe(probe.probes, "azure-login")))
    remote = is_pulumi_ref(ref)  # changed in Pulumi Cloud: env init/edit refuse it
    try:
        opened = open_environment(ref, providers=registry)
    except CredprocError as err:
        fix = err.hint or (f"credproc env check {ref}" if remote else f"credproc env init {ref}")
        return [Check("environment", FAIL, f"{ref}: {err}", fix)], probe.probes
    errors = opened.error_lines()
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        edit = f"esc env edit {ref[len('pulumi:'):]}" if remote else f"credproc env edit {ref}"
        rows = [Check("environment", FAIL, errors[0] + more, f"credproc env check {ref}; {edit}")]
    else:
        warnings = [line for line in opened.lines() if line not in errors]
        status, detail = (WARN, warnings[0]) if warnings else (OK, f"{ref} evaluates without errors")
        rows = [Check("environment", status, detail, f"credproc env check {ref}" if warnings else "")]
    rows += _pulumi_rows() if getattr(opened, "remote", False) else \
        _token_rows(ref, probe.probes, has_env_errors=bool(errors))
    return rows, probe.probes


def _pulumi_rows() -> list:
    """For pulumi:ORG/PROJECT/ENV: the Pulumi service and where its token came from (never the token);
    the environment's own logins run in Pulumi Cloud, not here."""
    from credproc.store.pulumicloud import resolve_login

    login = resolve_login()
    return [Check("Pulumi login", OK, f"{login.backend} (access token from {login.source})")]


def _token_rows(ref: str, probes: list, has_env_errors: bool) -> list:
    if not probes:
        if has_env_errors:
            return []
        return [Check("token source", OK, "no cloud login with an OIDC token in the environment (nothing to fetch)")]
    rows = []
    for probe in probes:
        where = f"{probe['path']}: " if len(probes) > 1 else ""
        err = probe.get("error")
        if err is not None:
            rows.append(Check("token source", FAIL, f"{where}{probe.get('source', 'token source')}: {err}",
                              err.hint or "see the token source's settings in the environment"))
        elif "claims" in probe:
            claims = probe["claims"]
            left = int(claims["exp"] - time.time()) if isinstance(claims.get("exp"), (int, float)) else None
            life = f", {left} s left" if left is not None else ""
            rows.append(Check("token source", OK, f"{where}{probe['source']} gave a token (sub {claims.get('sub')}, "
                                                  f"aud {claims.get('aud')}{life})"))
    return rows


def check_issuer(probes: list) -> list:
    """The local issuer's files, when an environment uses it (or when none is being checked)."""
    from credproc.identity import issuer

    uses_local = any(p.get("local") for p in probes)
    directory = issuer.issuer_dir()
    if not os.path.exists(directory):
        if uses_local:
            return [Check("local issuer", FAIL, f"not set up ({directory} is missing)", issuer.SETUP_HINT)]
        return [Check("local issuer", OK, "not set up (not used by this environment)")]
    try:
        local = issuer.load()  # reads the settings, checks the directory and key modes, loads the key
    except CredprocError as err:
        return [Check("local issuer", FAIL if uses_local else WARN, str(err), err.hint or issuer.SETUP_HINT)]
    used = "used by this environment" if uses_local else "not used by this environment"
    return [Check("local issuer", OK, f"{local.url}, key {local.kid}, {used}")]


# --- clock and STS --------------------------------------------------------------------------------


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def sts_endpoint(region: str) -> str:
    return (os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL")
            or f"https://sts.{region}.amazonaws.com")


def check_clock(online: bool, region: str) -> list:
    now = time.time()
    if not online:
        return [Check("clock", OK, f"UTC now {_utc(now)} (--online compares it with STS)")]
    import email.utils
    import urllib.error
    import urllib.request

    endpoint = sts_endpoint(region)
    try:
        try:
            with urllib.request.urlopen(endpoint, timeout=10) as response:
                date = response.headers.get("Date")
        except urllib.error.HTTPError as err:  # STS answers a bare GET with an error; its Date still counts
            date = err.headers.get("Date")
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or type(err).__name__
        return [Check("clock", WARN, f"UTC now {_utc(now)}; could not reach {endpoint} ({reason})",
                      "check the network or proxy settings")]
    if not date:
        return [Check("clock", WARN, f"UTC now {_utc(now)}; {endpoint} sent no Date header", "")]
    remote = email.utils.parsedate_to_datetime(date).timestamp()
    skew = now - remote
    detail = f"UTC now {_utc(now)}, STS says {_utc(remote)} (skew {skew:+.0f} s)"
    if abs(skew) >= CLOCK_FAIL_SECONDS:
        return [Check("clock", FAIL, detail, "synchronise the clock (e.g. timedatectl set-ntp true)")]
    if abs(skew) >= CLOCK_WARN_SECONDS:
        return [Check("clock", WARN, detail, "synchronise the clock (e.g. timedatectl set-ntp true)")]
    return [Check("clock", OK, detail)]


def _process_argv(target: Target) -> list:
    """The real path: the profile's own credential_process command, else this credproc."""
    if target.line is not None and os.path.isabs(target.line.executable):
        return list(target.line.argv)
    return [sys.executable, "-m", "credproc", "process", target.ref]


def _process_failure_fix(code: int, ref: str) -> str:
    """What to do next, by credproc's documented exit code (the message says what went wrong)."""
    from credproc.errors import ExitCode

    fixes = {
        ExitCode.USAGE: f"see the message; `credproc env check {ref}` shows what is wrong in the definition",
        ExitCode.LOGIN_REQUIRED: f"log in: `credproc login {ref}`",
        ExitCode.TOKEN: "see the message: the token source gave no usable token",
        ExitCode.STS_REFUSED: f"see the message; `credproc issuer trust-policy {ref} --account ACCOUNT` shows what "
                              "the role must trust",
        ExitCode.TRANSIENT: "check the network, proxy and AWS_ENDPOINT_URL* settings, then retry",
        ExitCode.LOCK_TIMEOUT: "another credproc holds the refresh lock: retry, or raise CREDPROC_LOCK_TIMEOUT",
    }
    return fixes.get(code, "see the message")


def check_sts(target: Target) -> list:
    """One AssumeRoleWithWebIdentity through `credproc process`, into a throw-away cache directory (a
    cached answer would prove nothing about STS, and the user's cache is left as it was)."""
    import json
    import tempfile

    if target.ref is None:
        return [Check("STS", WARN, "no environment to exchange a token for", "credproc doctor ORG/ENV --online")]
    with tempfile.TemporaryDirectory(prefix="credproc-doctor-") as scratch:
        env = dict(os.environ, CREDPROC_CACHE_DIR=os.path.join(scratch, "cache"))
        try:
            result = subprocess.run(_process_argv(target), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, timeout=ONLINE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            return [Check("STS", FAIL, f"`credproc process {target.ref}` took over {ONLINE_TIMEOUT_SECONDS} s",
                          "check the network, proxy and AWS_ENDPOINT_URL* settings")]
        except OSError as err:
            return [Check("STS", FAIL, f"could not start credproc: {err.strerror}",
                          f"credproc install-profile {target.ref} --force")]
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["(no message)"])[0]  # credproc's lines hold no secret
        return [Check("STS", FAIL, f"`credproc process {target.ref}` exited {result.returncode}: {first}",
                      _process_failure_fix(result.returncode, target.ref))]
    try:
        answer = json.loads(result.stdout)
        key_id, expiration = answer["AccessKeyId"], answer.get("Expiration")
    except (ValueError, KeyError, TypeError):
        return [Check("STS", FAIL, "`credproc process` printed something that is not credential_process JSON",
                      "report this as a bug")]
    masked = f"{key_id[:4]}...{key_id[-4:]}" if isinstance(key_id, str) and len(key_id) > 8 else "(short key id)"
    account = f", account {answer['AccountId']}" if answer.get("AccountId") else ""
    until = f", expires {expiration}" if expiration else " (static keys, no expiration)"
    return [Check("STS", OK, f"credentials for {target.ref}: key {masked}{account}{until}")]


# --- all of it --------------------------------------------------------------------------------------


def run_checks(arg: "str | None", online: bool = False) -> list:
    rows = []
    try:
        profiles = profile_sections(read_text(config_file()))
        rows.append(Check("AWS config", OK, f"{config_file()} ({counted(len(profiles), 'profile')})"
                                            if os.path.exists(config_file()) else f"{config_file()} (absent)"))
    except ConfigError as err:
        profiles = {}
        rows.append(Check("AWS config", FAIL, str(err), f"fix {config_file()} (credproc install-profile will not "
                                                        "edit a file the SDKs cannot read)"))
    target, chosen = resolve_target(arg, profiles)
    rows += chosen
    rows += check_wiring(target)
    rows += check_credentials_file(target)
    rows += check_environment_variables(target)
    rows += check_cache_dir()
    env_rows, probes = check_environment(target.ref)
    rows += env_rows
    rows += check_issuer(probes)
    region = next((p["region"] for p in probes if p.get("region")), None) or _profile_region(target)
    rows += check_clock(online, region)
    if online:
        rows += check_sts(target)
    return rows


def _profile_region(target: Target) -> str:
    from credproc.providers import sts

    return (target.keys or {}).get("region") or sts.resolve_region()


HEADERS = ("CHECK", "STATUS", "DETAIL", "FIX")
GAP = "  "
MIN_TEXT_ROOM = 40  # below this (DETAIL plus FIX) the table turns into one block per check


def render(rows: list, width: int = 80) -> str:
    """The table, fitted to ``width`` columns: DETAIL and FIX wrap at spaces, never inside a word, so
    a path stays whole (one longer than its cell gets a line of its own and overflows it). On a
    terminal too narrow for four columns each check becomes a block: name and status, then its text."""
    table = [(r.name, r.status, r.detail, r.fix or "-") for r in rows]
    name_width = max(len(cell[0]) for cell in [HEADERS] + table)
    room = width - name_width - len("STATUS") - 3 * len(GAP)
    if room < MIN_TEXT_ROOM:
        return _render_blocks(table, width)
    widths = (name_width, len("STATUS"), *_text_widths(table, room))
    lines = []
    for row in [HEADERS] + table:
        lines += _table_lines(row, widths)
    return "\n".join(lines)


def _text_widths(table: list, room: int) -> "tuple[int, int]":
    """DETAIL and FIX widths sharing ``room``: FIX gets up to 2/5, DETAIL the rest (neither wider than
    its longest text needs)."""
    detail_needs = max([len(HEADERS[2])] + [len(row[2]) for row in table])
    fix_needs = max([len(HEADERS[3])] + [len(row[3]) for row in table])
    fix = min(fix_needs, max(room * 2 // 5, room - detail_needs))
    return min(detail_needs, room - fix), fix


def _wrap(text: str, width: int) -> list:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _table_lines(row: tuple, widths: tuple) -> list:
    """A row's lines; a DETAIL line longer than its cell (a long path) has the line to itself, and FIX
    continues on the next ones, so that no FIX text is pushed out of its column."""
    detail, fix = _wrap(row[2], widths[2]), iter(_wrap(row[3], widths[3]))
    pairs = [(text, "" if len(text) > widths[2] else next(fix, "")) for text in detail]
    pairs += [("", text) for text in fix]
    lines = []
    for i, (detail_text, fix_text) in enumerate(pairs):
        cells = (row[0] if i == 0 else "", row[1] if i == 0 else "", detail_text, fix_text)
        lines.append(GAP.join(cell.ljust(widths[n]) for n, cell in enumerate(cells)).rstrip())
    return lines


def _render_blocks(table: list, width: int) -> str:
    indent = "    "
    lines = []
    for name, status, detail, fix in table:
        lines.append(f"{name}: {status}")
        lines += [indent + line for line in _wrap(detail, max(width - len(indent), 1))]
        if fix != "-":
            lines += [indent + line for line in _wrap("fix: " + fix, max(width - len(indent), 1))]
    return "\n".join(lines)


def exit_status(rows: list) -> int:
    return ExitCode.USAGE if any(r.status == FAIL for r in rows) else ExitCode.OK


def summary(rows: list) -> str:
    failed = sum(r.status == FAIL for r in rows)
    warned = sum(r.status == WARN for r in rows)
    if failed:
        return f"{counted(failed, 'check')} failed, {counted(warned, 'warning')}: see FIX"
    return f"all checks passed ({counted(warned, 'warning')})" if warned else "all checks passed"
