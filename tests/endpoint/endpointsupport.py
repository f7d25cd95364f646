"""Helpers for the endpoint suite: `credproc serve` as a process, and the real SDK clients (boto3,
the AWS CLI, the JavaScript SDK v3) run with nothing but the container-credentials variables."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import support  # noqa: F401
from credtest import AWS, CREDPROC, PYTHON, python_bytecode_env

HERE = Path(__file__).resolve().parent
BOTO_CLIENT = str(HERE / "boto_client.py")
JS_DIR = HERE / "js_client"
JS_CLIENT = str(JS_DIR / "caller_identity.js")
CONTAINER_VARIABLES = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
# Everything a client could take credentials from, besides the endpoint: none of it may be set.
OTHER_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")


def js_sdk_missing() -> "str | None":
    if not shutil.which("node"):
        return "node is not installed"
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        return "the JavaScript SDK is not installed (run install/dev-setup.sh)"
    return None


def client_env(base: dict, variables: dict) -> dict:
    """``base`` without any other credential source, plus the endpoint's two variables."""
    env = {k: v for k, v in base.items() if k not in OTHER_CREDENTIAL_VARIABLES}
    env.update(variables)
    return python_bytecode_env(env)


class Served:
    """`credproc serve REF` running; .variables holds what it printed (--format json)."""

    def __init__(self, ref: str, *args, env=None):
        self.proc = subprocess.Popen([CREDPROC, "serve", ref, "--format", "json", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=python_bytecode_env(dict(os.environ if env is None else env)))
        self.variables = self._read_variables()
        self.stderr = ""

    def _read_variables(self) -> dict:
        lines = []
        for line in self.proc.stdout:
            lines.append(line.decode())
            if line.rstrip() == b"}":
                return json.loads("".join(lines))
        self.proc.wait(timeout=30)
        raise AssertionError(f"credproc serve printed no variables: {self.proc.stderr.read().decode()[:800]}")

    def stop(self, signum=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        _, err = self.proc.communicate(timeout=30)
        self.stderr = err.decode("utf-8", "replace")
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def boto_identity(env: dict, timeout: float = 60) -> dict:
    """boto3's get_caller_identity and the credentials it used, from a fresh process."""
    out = subprocess.run([PYTHON, BOTO_CLIENT, "once"], env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def aws_cli_identity(env: dict, timeout: float = 60) -> dict:
    out = subprocess.run([AWS, "sts", "get-caller-identity", "--output", "json"], env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def js_identity(env: dict, mode: str = "chain", timeout: float = 60) -> dict:
    out = subprocess.run(["node", JS_CLIENT, mode], env=env, capture_output=True, text=True, timeout=timeout,
                         cwd=str(JS_DIR))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def run_server_argv(ref: str, *command) -> list:
    return [CREDPROC, "run", ref, "--server", "--", *command]


PYTHON_CHILD = [sys.executable]


def json_documents(text: str) -> list:
    """Every JSON document in ``text``, one after another (the AWS CLI prints several lines each)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return found
