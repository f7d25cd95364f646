"""Fixtures for the fault suite: an environment `acme/dev` whose aws-login token is a file, with STS
reached through the counting, fault-injecting proxy (tests/support/stsproxy.py) in front of moto."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the `support` package

import pytest  # noqa: E402

import support  # noqa: E402,F401
from credtest import jwt_token, login_yaml, write_environment, write_token_file  # noqa: E402
from support.stsproxy import StsProxy  # noqa: E402

REF = "acme/dev"


@pytest.fixture
def token_file(tmp_path):
    return write_token_file(tmp_path, jwt_token())


@pytest.fixture
def proxy(moto_server, monkeypatch):
    with StsProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        yield p


@pytest.fixture
def login(isolated_env, token_file, proxy):
    """acme/dev with a file token, STS through ``proxy``; yields the proxy."""
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    return proxy
