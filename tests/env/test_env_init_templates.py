"""`credproc env init --template SOURCE`: a commented template for each token source, each one a
valid environment that `env check` accepts as written."""
import os
import subprocess
import sys

import pytest

from credproc.commands.env import TOKEN_TEMPLATES

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")


def credproc(*args):
    return subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("template", sorted(TOKEN_TEMPLATES))
def test_each_template_is_a_valid_environment_with_its_token_source(template, isolated_env):
    made = credproc("env", "init", "acme/dev", "--template", template)
    assert made.returncode == 0, made.stderr
    assert made.stderr.startswith("Created acme/dev (")
    checked = credproc("env", "check", "acme/dev")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (isolated_env.env_dir / "acme" / "dev.yaml").read_text()
    active = [line.strip() for line in text.splitlines() if line.strip().startswith("token:")]
    if template == "local":
        assert active == []  # the local issuer is the default: no token key
    else:
        assert len(active) == 1
    assert "@@" not in text
    for other in set(TOKEN_TEMPLATES) - {template}:
        assert other in text  # the others are named, so a person can find them


def test_the_login_template_says_what_to_run_next(isolated_env):
    made = credproc("env", "init", "acme/me", "--template", "login")
    assert "then `credproc login acme/me`." in made.stderr
    assert "credproc login acme/me" in (isolated_env.env_dir / "acme" / "me.yaml").read_text()


def test_an_unknown_template_is_a_usage_error(isolated_env):
    made = credproc("env", "init", "acme/dev", "--template", "kerberos")
    assert made.returncode == 2 and "invalid choice: 'kerberos'" in made.stderr
    assert not (isolated_env.env_dir / "acme" / "dev.yaml").exists()
