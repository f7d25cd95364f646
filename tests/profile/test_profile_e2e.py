"""End to end, real components: the real `credproc` CLI with a real environment in a temp store,
a temp AWS_CONFIG_FILE, then the real AWS CLI (.venv/bin/aws) and botocore's own config loader."""
import os
import shlex
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from profilehelp import read_bytes, write_bytes  # noqa: E402

from credproc.commands import profile  # noqa: E402

BIN = os.path.dirname(sys.executable)
AWS = os.path.join(BIN, "aws")
CREDPROC = os.path.join(BIN, "credproc")

ENV_WITH_LOGIN = b"""values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: arn:aws:iam::123456789012:role/esc-dev
          sessionName: credproc
          duration: 1h
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
"""
ENV_WITHOUT_AWS = b"""values:
  greeting: hello
  environmentVariables:
    GREETING: ${greeting}
"""
ENV_WITH_ERRORS = b"""values:
  a: ${does.not.exist}
"""
STATIC_ENV = b"""values:
  environmentVariables:
    AWS_ACCESS_KEY_ID: AKIASTATICEXAMPLE123
    AWS_SECRET_ACCESS_KEY: notreallysecretnotreallysecret
"""
BEFORE = b"# my settings\r\n[default]\r\nregion = us-east-1\r\n\r\n[profile other]\r\noutput=text"


def _open_environment_available() -> bool:
    try:
        from credproc.store.environments import open_environment  # noqa: F401
    except ImportError:
        return False
    return True


needs_environments = pytest.mark.skipif(not _open_environment_available(),
                                        reason="credproc.store.environments.open_environment is not implemented yet")


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


def aws_get(key, profile_name="esc-dev"):
    result = run([AWS, "configure", "get", key, "--profile", profile_name])
    assert result.returncode == 0, result.stderr
    return result.stdout.rstrip("\n")


def store_environment(env_dir, name, data):
    path = os.path.join(str(env_dir), *name.split("/")) + ".yaml"
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_bytes(path, data)


@pytest.mark.timeout(120)
def test_aws_cli_and_botocore_see_the_installed_line(isolated_env):
    write_bytes(isolated_env.config_file, BEFORE)
    assert profile.install_profile("acme/dev", check_environment=lambda ref: None) == 0
    settings = __import__("botocore.session").session.Session(profile="esc-dev").get_scoped_config()
    line = settings["credential_process"]
    assert aws_get("credential_process") == line
    argv = shlex.split(line)
    assert argv[1:] == ["process", "acme/dev"] and os.path.isabs(argv[0])
    launcher = os.path.join(str(isolated_env.config_dir), "launchers")
    assert os.path.dirname(os.path.dirname(argv[0])) == launcher and os.path.basename(argv[0]) == "credproc"
    version = run([argv[0], "--version"])  # the line starts this very credproc, through its launcher
    assert version.returncode == 0 and version.stdout.startswith("credproc ")
    assert aws_get("output", "other") == "text"  # the rest of the file still reads the same


@needs_environments
@pytest.mark.timeout(120)
def test_real_cli_install_then_uninstall(isolated_env):
    store_environment(isolated_env.env_dir, "acme/dev", ENV_WITH_LOGIN)
    write_bytes(isolated_env.config_file, BEFORE, mode=0o600)
    result = run([CREDPROC, "install-profile", "acme/dev", "--region", "eu-central-1"])
    assert result.returncode == 0, result.stderr
    assert "installed profile esc-dev" in result.stdout
    line = aws_get("credential_process")
    assert shlex.split(line)[1:] == ["process", "acme/dev"]
    assert aws_get("region") == "eu-central-1"
    import botocore.session

    assert botocore.session.Session(profile="esc-dev").get_scoped_config()["credential_process"] == line
    again = run([CREDPROC, "install-profile", "acme/dev", "--region", "eu-central-1"])
    assert again.returncode == 0 and "already installed" in again.stdout
    result = run([CREDPROC, "uninstall-profile", "esc-dev"])
    assert result.returncode == 0, result.stderr
    assert read_bytes(isolated_env.config_file) == BEFORE


@needs_environments
@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, data, message", [
    ("acme/plain", ENV_WITHOUT_AWS, "yields no AWS credentials"),
    ("acme/broken", ENV_WITH_ERRORS, "error"),
    ("acme/missing", None, "not found"),
])
def test_real_cli_refuses_environments_without_aws_credentials(isolated_env, name, data, message):
    if data is not None:
        store_environment(isolated_env.env_dir, name, data)
    result = run([CREDPROC, "install-profile", name])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not os.path.exists(isolated_env.config_file)


@needs_environments
@pytest.mark.timeout(120)
def test_real_cli_uninstall_of_the_only_profile_leaves_no_config_backup_or_lock(isolated_env):
    store_environment(isolated_env.env_dir, "acme/dev", ENV_WITH_LOGIN)
    config = str(isolated_env.config_file)
    assert run([CREDPROC, "install-profile", "acme/dev"]).returncode == 0
    result = run([CREDPROC, "uninstall-profile", "esc-dev"])
    assert result.returncode == 0, result.stderr
    assert f"removed {config}" in result.stdout
    assert os.listdir(os.path.dirname(config)) == []


@needs_environments
@pytest.mark.timeout(120)
def test_real_cli_writes_a_private_current_launcher_that_serves_credentials(isolated_env):
    """install-profile runs the `python -IS` launcher: private, refreshed on every install, and the
    line works through the AWS CLI (a static-key environment: no STS needed)."""
    store_environment(isolated_env.env_dir, "acme/static", STATIC_ENV)
    assert run([CREDPROC, "install-profile", "acme/static", "--profile", "esc-static"]).returncode == 0
    exe = shlex.split(aws_get("credential_process", "esc-static"))[0]
    assert os.stat(exe).st_mode & 0o777 == 0o700 and os.stat(os.path.dirname(exe)).st_mode & 0o777 == 0o700
    assert open(exe).readline().rstrip().endswith(" -IS")
    with open(exe, "a") as handle:
        handle.write("# tampered\n")
    assert run([CREDPROC, "install-profile", "acme/static", "--profile", "esc-static"]).returncode == 0
    assert "tampered" not in open(exe).read()  # refreshed although the profile was already installed
    import botocore.session  # botocore starts the line itself, as every AWS SDK call does

    for _ in range(2):  # a miss, then a cache hit through the launcher
        creds = botocore.session.Session(profile="esc-static").get_credentials().get_frozen_credentials()
        assert creds.access_key == "AKIASTATICEXAMPLE123"


@pytest.mark.timeout(60)
def test_an_old_console_script_line_is_upgraded_to_the_launcher(isolated_env):
    old = f"[profile esc-dev]\ncredential_process = {CREDPROC} process acme/dev\n"
    write_bytes(isolated_env.config_file, old.encode())
    assert profile.install_profile("acme/dev", check_environment=lambda ref: None) == 0
    line = aws_get("credential_process")
    assert line != f"{CREDPROC} process acme/dev" and shlex.split(line)[1:] == ["process", "acme/dev"]
    assert "/launchers/" in line


@needs_environments
@pytest.mark.timeout(120)
def test_uninstalling_the_last_profile_that_runs_the_launcher_removes_it(isolated_env):
    store_environment(isolated_env.env_dir, "acme/static", STATIC_ENV)
    for name in ("one", "two"):
        assert run([CREDPROC, "install-profile", "acme/static", "--profile", name]).returncode == 0
    exe = shlex.split(aws_get("credential_process", "one"))[0]
    assert run([CREDPROC, "uninstall-profile", "one"]).returncode == 0
    assert os.path.exists(exe)  # profile two still runs it
    result = run([CREDPROC, "uninstall-profile", "two"])
    assert result.returncode == 0 and "removed the launcher" in result.stdout
    assert not os.path.exists(os.path.join(str(isolated_env.config_dir), "launchers"))


@needs_environments
@pytest.mark.timeout(120)
def test_uninstall_all_removes_every_credproc_profile_and_only_those(isolated_env):
    store_environment(isolated_env.env_dir, "acme/static", STATIC_ENV)
    write_bytes(isolated_env.config_file, b"[profile mine]\ncredential_process = /usr/bin/other-helper\n")
    for name in ("one", "two"):
        assert run([CREDPROC, "install-profile", "acme/static", "--profile", name]).returncode == 0
    result = run([CREDPROC, "uninstall-profile", "--all"])
    assert result.returncode == 0, result.stderr
    assert "one" in result.stdout and "two" in result.stdout
    assert read_bytes(isolated_env.config_file) == b"[profile mine]\ncredential_process = /usr/bin/other-helper\n"
    bad = run([CREDPROC, "uninstall-profile", "one", "--all"])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


@pytest.mark.timeout(60)
def test_install_refuses_to_write_the_launcher_into_a_directory_others_can_write(isolated_env):
    from credproc.errors import ConfigError

    assert profile.install_profile("acme/dev", check_environment=lambda ref: None) == 0
    launchers = os.path.join(str(isolated_env.config_dir), "launchers")
    installed = read_bytes(isolated_env.config_file)
    os.chmod(launchers, 0o777)
    with pytest.raises(ConfigError, match="accessible by group or others"):
        profile.install_profile("acme/prod", check_environment=lambda ref: None)
    assert read_bytes(isolated_env.config_file) == installed  # the profile was not pointed at it


@pytest.mark.timeout(120)
def test_install_without_a_region_says_the_aws_cli_will_need_one(isolated_env, monkeypatch):
    """`aws --profile esc-dev ...` stops with "You must specify a region" when neither the profile
    nor AWS_REGION names one ([default]'s region does not apply to a named profile)."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    store_environment(isolated_env.env_dir, "acme/dev", ENV_WITH_LOGIN)
    write_bytes(isolated_env.config_file, BEFORE, mode=0o600)
    bare = run([CREDPROC, "install-profile", "acme/dev"])
    assert bare.returncode == 0, bare.stderr
    assert "names no region" in bare.stdout and "--region R" in bare.stdout
    cli = run([AWS, "configure", "get", "region", "--profile", "esc-dev"])
    assert cli.stdout.strip() == ""  # what the note warns of: the AWS CLI finds no region either
    again = run([CREDPROC, "install-profile", "acme/dev", "--region", "eu-central-1"])
    assert again.returncode == 0 and "names no region" not in again.stdout
    with_variable = run([CREDPROC, "install-profile", "acme/dev", "--profile", "other-dev"],
                        env=dict(os.environ, AWS_REGION="eu-west-1"))
    assert with_variable.returncode == 0 and "names no region" not in with_variable.stdout
