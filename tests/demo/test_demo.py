"""`credproc demo` as the README runs it: `.venv/bin/credproc demo`, a real subprocess, real moto, real aws."""
import os
import re
import subprocess
import sys
import sysconfig

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
DEMO_TIMEOUT = 180


def run_demo(tmp_path, *args):
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    # TMPDIR: the demo's throwaway home is created in here, so the test can see what is left behind.
    # AWS_ACCESS_KEY_ID and AWS_PROFILE: ambient settings the demo must not let through.
    env = dict(os.environ, TMPDIR=str(scratch), AWS_ACCESS_KEY_ID="AKIAAMBIENTSHOULDNOTLEAK",
               AWS_SECRET_ACCESS_KEY="ambient-secret", AWS_PROFILE="someone-elses-profile")
    result = subprocess.run([CREDPROC, "demo", *args], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=DEMO_TIMEOUT, stdin=subprocess.DEVNULL)
    return result, scratch


@pytest.mark.timeout(DEMO_TIMEOUT + 20)
def test_demo_runs_the_whole_path_and_leaves_nothing_behind(tmp_path):
    result, scratch = run_demo(tmp_path)
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"

    # Every step is narrated with the command it runs.
    for command in ("$ credproc issuer init --url https://issuer.demo.invalid",
                    "$ credproc install-profile demo/dev --region eu-central-1",
                    "$ credproc process demo/dev",
                    "$ aws --profile esc-dev ec2 stop-instances --instance-ids i-",
                    "$ credproc run demo/dev -- aws sts get-caller-identity"):
        assert command in out

    # The instance went from running to stopped, through the real AWS CLI and the credproc profile.
    match = re.search(r"instance (i-[0-9a-f]+): (\w+) -> (\w+)", out)
    assert match, out
    assert match.group(2, 3) == ("running", "stopped")
    assert f'"InstanceId": "{match.group(1)}"' in out  # stop-instances' own JSON answer

    # The first `credproc process` called STS, the second did not (the cache), nor did the aws calls.
    assert re.search(r"call 1: \d+ ms, called STS \(1 AssumeRoleWithWebIdentity\)", out), out
    assert re.search(r"call 2: \d+ ms, cache hit: no STS call", out), out
    assert "STS calls during these 3 AWS CLI commands: 0" in out

    # get-caller-identity (as printed by aws itself, inside `credproc run`) is the assumed role.
    assert re.search(r'"Arn": "arn:aws:sts::123456789012:assumed-role/esc-dev/credproc-demo"', out), out

    # No secret shown, and the ambient credentials did not leak into the demo's commands.
    assert re.search(r'"SessionToken": "<\d+ characters, not shown>"', out)
    assert "eyJ" not in out  # no OIDC token
    assert not re.search(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", out)  # no secret access key
    assert "AKIAAMBIENTSHOULDNOTLEAK" not in out and "AKIAAMBIENTSHOULDNOTLEAK" not in result.stderr

    # The temporary home is gone.
    removed = re.search(r"removed (\S*credproc-demo-\S+)", out)
    assert removed and not os.path.exists(removed.group(1))
    assert os.listdir(scratch) == []


@pytest.mark.timeout(DEMO_TIMEOUT + 20)
def test_demo_keep_leaves_the_home_and_says_how_to_look(tmp_path):
    result, scratch = run_demo(tmp_path, "--keep")
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    kept = os.listdir(scratch)
    assert len(kept) == 1 and kept[0].startswith("credproc-demo-")
    home = scratch / kept[0]
    assert (home / ".aws" / "config").read_text().count("[profile esc-dev]") == 1
    assert (home / ".config" / "credproc" / "environments" / "demo" / "dev.yaml").exists()
    export = next(line for line in result.stdout.splitlines() if line.strip().startswith("export "))
    assert f"AWS_CONFIG_FILE={home}/.aws/config" in export
    assert f"CREDPROC_ENV_DIR={home}/.config/credproc/environments" in export


def test_missing_aws_cli_is_a_clear_error(tmp_path):
    """A Python without the AWS CLI beside it: one line saying how to install the demo extra."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    python = fake_bin / "python"
    python.symlink_to(sys.executable)  # sys.executable's directory then has no `aws`
    # The symlinked interpreter still finds credproc and moto (this venv's site-packages, on PYTHONPATH).
    path = os.pathsep.join([REPO, sysconfig.get_paths()["purelib"]])
    result = subprocess.run([str(python), "-m", "credproc", "demo"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env=dict(os.environ, PYTHONPATH=path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0].startswith(f"credproc: the demo needs the AWS CLI in {fake_bin}")
    assert "pip install 'credproc[demo]'" in result.stderr
    assert result.stdout == ""


def test_missing_moto_is_a_clear_error(tmp_path):
    shadow = tmp_path / "shadow" / "moto"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('moto is not installed (simulated)')\n")
    path = os.pathsep.join([str(tmp_path / "shadow"), REPO])
    result = subprocess.run([sys.executable, "-m", "credproc", "demo"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env=dict(os.environ, PYTHONPATH=path))
    assert result.returncode == 2, result.stderr
    # This venv is the checkout's own (dev-setup.sh made it): the hint is the script that adds the extras.
    assert result.stderr.splitlines() == [
        "credproc: the demo needs moto, which is not installed "
        f"(hint: run {os.path.join(REPO, 'install', 'dev-setup.sh')})"
    ]
    assert result.stdout == ""


def test_a_failing_step_is_one_line_naming_it_and_nothing_is_left(tmp_path):
    """moto that cannot start (a stand-in package on PYTHONPATH): step 2 fails, the home is removed."""
    shadow = tmp_path / "shadow" / "moto"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    (shadow / "server.py").write_text(
        "class ThreadedMotoServer:\n"
        "    def __init__(self, **kwargs):\n"
        "        pass\n"
        "    def start(self):\n"
        "        raise RuntimeError('port in use (simulated)')\n"
    )
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), REPO]), TMPDIR=str(scratch))
    result = subprocess.run([sys.executable, "-m", "credproc", "demo"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "credproc: demo step 2 (Start moto, a local stand-in for AWS (STS and EC2)) failed: "
        "moto did not start (RuntimeError)"
    ]
    assert "[1/12] A throwaway home" in result.stdout and "[3/12]" not in result.stdout
    assert os.listdir(scratch) == []
