"""`install-profile` runs racing on one ~/.aws/config: none of them loses another's edit, the file is
never half-written, the user's own content stays byte for byte, and no temp file is left."""
import configparser
import os
import subprocess

import pytest

from credtest import CREDPROC, python_bytecode_env, write_environment

pytestmark = pytest.mark.timeout(90)

STATIC = ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n"
          "          accessKeyId: AKIAIOSFODNN7EXAMPLE\n          secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
          "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
          "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n")
USER_CONTENT = ("# my settings: keep them\n[default]\nregion = eu-west-1   ; odd spacing\n\n"
                "[profile work]\nsso_session = corp\n\n[sso-session corp]\nsso_region = eu-west-1\n")


def start_install(ref: str, profile: str):
    return subprocess.Popen([CREDPROC, "install-profile", ref, "--profile", profile],
                            env=python_bytecode_env(os.environ), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_racing_installs_keep_every_profile_and_the_users_content(isolated_env):
    for env in ("a", "b", "c"):
        write_environment(isolated_env.env_dir, f"acme/{env}", STATIC)
    config = isolated_env.config_file
    config.parent.mkdir(mode=0o700)
    config.write_text(USER_CONTENT)
    os.chmod(config, 0o600)
    for round_ in range(3):
        # distinct profiles, and the same profile twice, all at once
        procs = [start_install("acme/a", f"esc-a{round_}"), start_install("acme/b", f"esc-b{round_}"),
                 start_install("acme/c", "esc-c"), start_install("acme/c", "esc-c")]
        results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
        assert [code for code, _, _ in results] == [0] * 4, [err for _, _, err in results]
        assert not any(b"Traceback" in err for _, _, err in results)
        text = config.read_text()
        assert text.startswith(USER_CONTENT)  # the user's lines, byte for byte, first
        parser = configparser.RawConfigParser()
        parser.read_string(text)  # never half-written: it parses
        for r in range(round_ + 1):
            for env in ("a", "b"):
                section = f"profile esc-{env}{r}"
                assert parser.has_section(section), text
                assert parser.get(section, "credential_process").endswith(f" process acme/{env}")
        assert text.count("[profile esc-c]") == 1  # the same profile twice is still one section
    assert oct(os.stat(config).st_mode & 0o777) == "0o600"
    leftovers = [p.name for p in config.parent.iterdir() if p.name.endswith(".tmp") or ".tmp" in p.name]
    assert leftovers == []
