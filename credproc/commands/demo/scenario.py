"""`credproc demo`: the whole path, on this machine, with no AWS account and no network.

moto plays AWS (STS and EC2) on 127.0.0.1; everything else is real: credproc's own command line (run
as subprocesses, exactly as a user would type it), the local OIDC issuer, the environment store, an
`~/.aws/config` profile written by `install-profile`, the AWS CLI and boto3 from the same virtual
environment. It all happens in a throwaway home that is removed at the end (unless `--keep`).

Every step prints what it is about and the exact command it runs. A failing step ends the demo with
one line naming the step (exit 1: in a self-contained demo a failure is a bug worth reporting).
Secrets (secret keys, session tokens, OIDC tokens) are never printed.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from credproc import settings
from credproc.errors import ConfigError, CredprocError, ExitCode

ORG_ENV = "demo/dev"
PROFILE = "esc-dev"
REGION = "eu-central-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/esc-dev"
ISSUER_URL = "https://issuer.demo.invalid"
SESSION_NAME = "credproc-demo"
STEP_TIMEOUT_SECONDS = 90
INSTALL_MANIFEST = "install-manifest"  # install/install.sh's record, beside the venv it made


def install_hint() -> str:
    """How to add the `demo` extra (moto, the AWS CLI) to *this* installation of credproc."""
    if os.path.isfile(os.path.join(os.path.dirname(sys.prefix), INSTALL_MANIFEST)):
        return "rerun install/install.sh --extras demo from your credproc checkout"
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    if os.path.isfile(os.path.join(checkout, "install", "dev-setup.sh")) and sys.prefix.startswith(checkout):
        return f"run {os.path.join(checkout, 'install', 'dev-setup.sh')}"
    if f"{os.sep}pipx{os.sep}" in sys.prefix:
        return "pipx install --force 'credproc[demo]' (or install/install.sh --extras demo from a checkout)"
    return f"{sys.executable} -m pip install 'credproc[demo]'"

ENVIRONMENT_YAML = f"""\
# {ORG_ENV}: written by `credproc demo`.
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: {ROLE_ARN}
          sessionName: {SESSION_NAME}
          duration: 1h
          # no `token:` given, so tokens come from credproc's local issuer
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
    AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
    AWS_SESSION_TOKEN: ${{aws.login.sessionToken}}
    AWS_REGION: {REGION}
"""


class DemoStepFailed(CredprocError):
    """A step of the demo failed; the message names the step."""

    exit_code = ExitCode.INTERNAL


# --- prerequisites ------------------------------------------------------------------------------


def find_tools() -> "tuple[str, list]":
    """(aws executable, argv prefix that starts credproc), both from this interpreter's environment.

    The AWS CLI must be the one installed next to this Python (the `demo` extra), not whatever is on
    PATH: Debian's v2 ignores AWS_ENDPOINT_URL and would try to reach real AWS.
    """
    try:
        import moto.server  # noqa: F401  (import check only; started later)
    except ImportError:
        raise ConfigError("the demo needs moto, which is not installed", hint=install_hint()) from None
    bin_dir = os.path.dirname(sys.executable)
    aws = os.path.join(bin_dir, "aws")
    if not os.access(aws, os.X_OK):
        raise ConfigError(f"the demo needs the AWS CLI in {bin_dir}, which is missing", hint=install_hint())
    credproc = os.path.join(bin_dir, "credproc")
    prefix = [credproc] if os.access(credproc, os.X_OK) else [sys.executable, "-m", "credproc"]
    return aws, prefix


# --- the throwaway home -------------------------------------------------------------------------


def hermetic_environment(home: str, endpoint: "str | None") -> dict:
    """The process environment for every command of the demo: nothing of the user's own set-up leaks in
    (no AWS_* credentials or profile, no CREDPROC_* settings), and every file lives under `home`."""
    keep_debug = os.environ.get(settings.DEBUG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CREDPROC_", "XDG_"))}
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, ".config"),
        XDG_CACHE_HOME=os.path.join(home, ".cache"),
        XDG_DATA_HOME=os.path.join(home, ".local", "share"),
        XDG_STATE_HOME=os.path.join(home, ".local", "state"),
        CREDPROC_CONFIG_DIR=os.path.join(home, ".config", "credproc"),
        CREDPROC_CACHE_DIR=os.path.join(home, ".cache", "credproc"),
        CREDPROC_ENV_DIR=os.path.join(home, ".config", "credproc", "environments"),
        AWS_CONFIG_FILE=os.path.join(home, ".aws", "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, ".aws", "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
    )
    # The commands shown as `aws ...` and `credproc ...` resolve to this virtual environment.
    bin_dir = os.path.dirname(sys.executable)
    path = env.get("PATH", os.defpath)
    if path.split(os.pathsep)[0] != bin_dir:
        env["PATH"] = os.pathsep.join([bin_dir, path])
    # moto is local: a proxy the user needs for the internet must not see these requests.
    for name in ("NO_PROXY", "no_proxy"):
        existing = [h for h in env.get(name, "").split(",") if h.strip()]
        env[name] = ",".join(dict.fromkeys(["127.0.0.1", "localhost"] + existing))
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    if keep_debug:
        env[settings.DEBUG] = keep_debug
    return env


class ProcessEnvironment:
    """This process's own os.environ, made hermetic for the demo and restored afterwards.

    moto runs in this process and imports its service backends on first use, which builds boto3
    sessions: with the user's AWS_PROFILE (or AWS_CONFIG_FILE) those would read the user's files,
    or fail when the profile is not there. The in-process boto3 set-up call needs the same."""

    def __init__(self):
        self.saved = None

    def use(self, env: dict) -> None:
        if self.saved is None:
            self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)

    def restore(self) -> None:
        if self.saved is not None:
            os.environ.clear()
            os.environ.update(self.saved)
            self.saved = None


class MotoServer:
    """moto in server mode, in this process, on 127.0.0.1 and a free port."""

    def __init__(self):
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log in the narration
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def assume_role_calls(self) -> int:
        """How many AssumeRole* calls STS has answered (moto's state API; AWRWI is the only kind here)."""
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=10) as response:
            data = json.load(response)
        return len(data.get("sts", {}).get("AssumedRole", []))

    def stop(self) -> None:
        self._server.stop()


# --- narration ----------------------------------------------------------------------------------


class Narrator:
    def __init__(self, out, total_steps: int):
        self.out = out
        self.total = total_steps
        self.number = 0
        self.title = ""

    def step(self, title: str, *explanation: str) -> None:
        self.number += 1
        self.title = title
        self.say("")
        self.say(f"[{self.number}/{self.total}] {title}")
        for line in explanation:
            self.note(line)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.say(f"      {text}")

    def command(self, display: str) -> None:
        self.say(f"      $ {display}")

    def output(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            self.say(f"        {line}")

    def fail(self, reason: str) -> DemoStepFailed:
        return DemoStepFailed(f"demo step {self.number} ({self.title}) failed: {reason}")


def redacted_process_output(stdout: str) -> str:
    """`credproc process` output with the secrets replaced, for display."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return "(not JSON)"
    shown = {}
    for key, value in data.items():
        if key in ("SecretAccessKey", "SessionToken"):
            shown[key] = f"<{len(str(value))} characters, not shown>"
        elif key == "AccessKeyId" and isinstance(value, str):
            shown[key] = value[:4] + "..." + value[-4:]
        else:
            shown[key] = value
    return json.dumps(shown, indent=2)


# --- the demo -----------------------------------------------------------------------------------


class Demo:
    TOTAL_STEPS = 12

    def __init__(self, out, keep: bool = False):
        self.say = Narrator(out, self.TOTAL_STEPS)
        self.keep = keep
        self.home = None
        self.moto = None
        self.env = None
        self.aws = None
        self.credproc = None
        self.process_env = ProcessEnvironment()

    # one command, shown and run
    def run(self, argv: list, display: str, *, extra_env: "dict | None" = None, show_output: bool = True,
            check: bool = True) -> "tuple[subprocess.CompletedProcess, float]":
        self.say.command(display)
        env = dict(self.env)
        env.update(extra_env or {})
        started = time.perf_counter()
        try:
            result = subprocess.run(
                argv, env=env, cwd=self.home, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=STEP_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise self.say.fail(f"`{display}` did not finish within {STEP_TIMEOUT_SECONDS} s") from None
        except OSError as err:
            raise self.say.fail(f"`{display}` could not start ({err.strerror})") from None
        elapsed = time.perf_counter() - started
        if show_output and result.stdout.strip():
            self.say.output(result.stdout)
        if check and result.returncode != 0:
            if result.stderr.strip():
                self.say.output(result.stderr)
            first = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise self.say.fail(f"`{display}` exited with {result.returncode}: {first}")
        return result, elapsed

    def credproc_cmd(self, *args: str, **kwargs):
        return self.run(self.credproc + list(args), "credproc " + shlex.join(args), **kwargs)

    def aws_cmd(self, *args: str, **kwargs):
        return self.run([self.aws, *args], "aws " + shlex.join(args), **kwargs)

    # --- steps --------------------------------------------------------------------------------

    def step_home(self) -> None:
        self.say.step("A throwaway home", "nothing here touches your own ~/.aws, credproc settings or cache")
        self.home = tempfile.mkdtemp(prefix="credproc-demo-")  # mode 0700
        os.makedirs(os.path.join(self.home, ".aws"), mode=0o700)
        self.process_env.use(hermetic_environment(self.home, None))
        self.say.note(f"HOME, XDG_*, CREDPROC_*_DIR, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE: all in {self.home}")

    def step_moto(self) -> None:
        self.say.step("Start moto, a local stand-in for AWS (STS and EC2)")
        try:
            self.moto = MotoServer()
        except Exception as err:  # moto's own errors vary by version
            raise self.say.fail(f"moto did not start ({type(err).__name__})") from None
        self.env = hermetic_environment(self.home, self.moto.endpoint)
        self.process_env.use(self.env)
        self.say.note(f"listening on {self.moto.endpoint}; AWS_ENDPOINT_URL points every AWS call there")
        self.say.note("your ambient AWS_* credentials and profile are removed for the demo's commands")

    def step_issuer(self) -> None:
        self.say.step(
            "Set up credproc's local OIDC issuer",
            "it signs short-lived tokens that STS exchanges for AWS keys (in real life you publish its",
            "discovery document at the URL and tell IAM to trust it; moto trusts anything)",
        )
        self.credproc_cmd("issuer", "init", "--url", ISSUER_URL)
        self.say.note("the trust policy a real role would need for this environment:")
        self.credproc_cmd("issuer", "trust-policy", ORG_ENV, "--account", ACCOUNT)

    def step_environment(self) -> None:
        store = self.env[settings.ENV_DIR]
        path = os.path.join(store, *ORG_ENV.split("/")) + ".yaml"
        self.say.step(f"Write the environment {ORG_ENV}", f"file {path}:")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(ENVIRONMENT_YAML)
        self.say.output(ENVIRONMENT_YAML)
        self.say.note("check it without calling any provider:")
        self.credproc_cmd("env", "check", ORG_ENV)
        self.say.note("no diagnostics: the environment is valid")

    def step_profile(self) -> None:
        self.say.step(
            f"Install the AWS profile {PROFILE}",
            "from now on every AWS CLI and SDK call with this profile asks credproc for credentials",
        )
        self.credproc_cmd("install-profile", ORG_ENV, "--region", REGION)
        self.say.note(f"{self.env['AWS_CONFIG_FILE']} now reads:")
        with open(self.env["AWS_CONFIG_FILE"], encoding="utf-8") as handle:
            self.say.output(handle.read())

    def step_doctor(self) -> None:
        self.say.step(
            "Check the set-up with credproc doctor",
            "wiring, shadowing, cache permissions, the environment and a token from the issuer (no STS call)",
        )
        self.credproc_cmd("doctor", PROFILE)

    def step_credentials(self) -> None:
        self.say.step(
            "Credentials on demand, and the cache",
            "what the AWS CLI runs behind the scenes; secrets are not shown here",
        )
        timings = []
        for attempt in (1, 2):
            before = self.moto.assume_role_calls()
            result, elapsed = self.credproc_cmd("process", ORG_ENV, show_output=False)
            calls = self.moto.assume_role_calls() - before
            if attempt == 1:
                self.say.output(redacted_process_output(result.stdout))
            what = f"called STS ({calls} AssumeRoleWithWebIdentity)" if calls else "cache hit: no STS call"
            self.say.note(f"call {attempt}: {elapsed * 1000:.0f} ms, {what}")
            timings.append((elapsed, calls))
        if timings[1][1] != 0:
            raise self.say.fail("the second `credproc process` called STS again instead of using the cache")

    def step_instance(self) -> str:
        self.say.step(
            "Launch an EC2 instance in moto",
            "(setup only: boto3 with throwaway keys, straight at moto; not through credproc)",
        )
        try:
            import boto3

            ec2 = boto3.session.Session().client(
                "ec2", region_name=REGION, endpoint_url=self.moto.endpoint,
                aws_access_key_id="demo-setup", aws_secret_access_key="demo-setup",
            )
            images = ec2.describe_images(Filters=[{"Name": "name", "Values": ["amzn2-ami-hvm*"]}])["Images"]
            image = images[0]["ImageId"] if images else ec2.describe_images()["Images"][0]["ImageId"]
            reply = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
        except Exception as err:  # botocore's errors; the message may be long
            raise self.say.fail(f"moto refused RunInstances ({type(err).__name__})") from None
        instance_id = reply["Instances"][0]["InstanceId"]
        self.say.note(f"instance {instance_id} from image {image}")
        return instance_id

    def instance_state(self, instance_id: str) -> str:
        result, _ = self.aws_cmd(
            "--profile", PROFILE, "ec2", "describe-instances", "--instance-ids", instance_id,
            "--query", "Reservations[0].Instances[0].State.Name", "--output", "text",
        )
        return result.stdout.strip()

    def step_stop(self, instance_id: str) -> None:
        self.say.step(
            "Stop it with the real AWS CLI and the credproc profile",
            "each `aws` below runs `credproc process` for its credentials",
        )
        before_calls = self.moto.assume_role_calls()
        before = self.instance_state(instance_id)
        self.aws_cmd("--profile", PROFILE, "ec2", "stop-instances", "--instance-ids", instance_id)
        after = self.instance_state(instance_id)
        calls = self.moto.assume_role_calls() - before_calls
        self.say.note(f"instance {instance_id}: {before} -> {after}")
        self.say.note(f"STS calls during these 3 AWS CLI commands: {calls} (credentials came from credproc's cache)")
        if (before, after) != ("running", "stopped"):
            raise self.say.fail(f"expected the instance to go from running to stopped, saw {before} -> {after}")

    def step_sdk(self) -> None:
        self.say.step("Any SDK works the same way: boto3 with AWS_PROFILE")
        code = 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])'
        self.run([sys.executable, "-c", code], f"AWS_PROFILE={PROFILE} python -c {shlex.quote(code)}",
                 extra_env={"AWS_PROFILE": PROFILE})

    def step_run(self) -> None:
        self.say.step(
            "Or hand the environment's variables to any command: credproc run",
            "the command sees AWS_ACCESS_KEY_ID etc. from the environment (secrets masked in its output)",
        )
        result, _ = self.credproc_cmd("run", ORG_ENV, "--", "aws", "sts", "get-caller-identity")
        arn = ""
        try:
            arn = json.loads(result.stdout).get("Arn", "")
        except ValueError:
            pass
        if ":assumed-role/esc-dev/" not in arn:
            raise self.say.fail("get-caller-identity did not print the assumed-role ARN")
        self.say.note(f"the command ran as {arn}")

    def step_cleanup(self) -> None:
        self.say.step("Clean up")
        self.stop_moto()
        self.say.note("moto stopped")
        if self.keep:
            self.print_kept()
        else:
            self.remove_home()

    def stop_moto(self) -> None:
        if self.moto is not None:
            try:
                self.moto.stop()
            finally:
                self.moto = None

    def remove_home(self) -> None:
        if self.home and os.path.isdir(self.home):
            shutil.rmtree(self.home, ignore_errors=True)
            self.say.note(f"removed {self.home}")
        self.home = None

    def print_kept(self) -> None:
        env = hermetic_environment(self.home, None)
        names = (settings.CONFIG_DIR, settings.CACHE_DIR, settings.ENV_DIR, "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE")
        self.say.note(f"kept {self.home} (--keep):")
        for name in names:
            self.say.note(f"  {name:<28} {env[name]}")
        self.say.note("to look around (moto is gone, so AWS calls will not work; the files are there):")
        self.say.note("  export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in names))
        self.say.note("then try: credproc cache ls; credproc env get demo/dev; credproc doctor esc-dev")
        self.say.note(f"remove it with: rm -rf {shlex.quote(self.home)}")

    # --- all of it ----------------------------------------------------------------------------

    def main(self) -> int:
        self.aws, self.credproc = find_tools()
        started = time.perf_counter()
        self.say.say("credproc demo: short-lived AWS credentials from an ESC environment, end to end.")
        self.say.say("No AWS account and no network: moto plays AWS on 127.0.0.1. Everything else is real.")
        try:
            self.step_home()
            self.step_moto()
            self.step_issuer()
            self.step_environment()
            self.step_profile()
            self.step_doctor()
            self.step_credentials()
            instance_id = self.step_instance()
            self.step_stop(instance_id)
            self.step_sdk()
            self.step_run()
            self.step_cleanup()
        except CredprocError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as err:  # still one line, naming the step
            raise self.say.fail(f"{type(err).__name__}: {err}") from None
        finally:
            self.stop_moto()
            self.process_env.restore()
            if not self.keep:
                self.remove_home()
        self.say.say("")
        self.say.say(f"demo finished in {time.perf_counter() - started:.1f} s: all steps passed.")
        return ExitCode.OK


def run_demo(keep: bool = False, out=None) -> int:
    return Demo(out or sys.stdout, keep=keep).main()
