"""Fixtures for the login tests.

oidc_server (session)
    The npm `oidc-provider` server (tests/login/oidc_server/server.js) under Node.js on 127.0.0.1 and
    a free port, started once and ready when its discovery document answers. Device polls are
    shortened for speed: interval 1 s, with `slow_down` for polls closer than 1.5 s. Skipped, with
    the reason, only when node is missing or the npm install (install/dev-setup.sh) has not run.

login_env (function)
    Settings for credproc child processes: the test's isolated environment plus
    CREDPROC_TOKEN_STORE=file (no desktop keyring here), a 1-second device slow_down step and
    AWS_ENDPOINT_URL_STS pointing at moto.
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loginhelp import SERVER_DIR, OidcServer  # noqa: E402


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the login tests need Node.js for the npm oidc-provider server")
    if not os.path.isdir(os.path.join(SERVER_DIR, "node_modules", "oidc-provider")):
        pytest.skip("tests/login/oidc_server/node_modules is missing: run install/dev-setup.sh "
                    "(it runs `npm ci` there when npm exists)")
    server = OidcServer(tmp_path_factory.mktemp("oidc"), DEVICE_INTERVAL=1, DEVICE_MIN_INTERVAL=1.5)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def login_env(monkeypatch, moto_server):
    monkeypatch.setenv("CREDPROC_TOKEN_STORE", "file")
    monkeypatch.setenv("CREDPROC_DEVICE_SLOW_DOWN_SECONDS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "CI", "SSH_CLIENT", "SSH_TTY", "SSH_CONNECTION", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    return os.environ
