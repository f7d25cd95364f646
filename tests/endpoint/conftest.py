"""Fixtures for the endpoint suite: `acme/dev` (aws-login with a file token) with STS reached through
the counting, fault-injecting proxy (tests/support/stsproxy.py) in front of moto; the SDK clients
reach moto's STS through the same proxy (AWS_ENDPOINT_URL_STS)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the `support` package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # endpointsupport

import pytest  # noqa: E402

import support  # noqa: E402,F401
from credtest import jwt_token, login_yaml, write_environment, write_token_file  # noqa: E402
from support.stsproxy import StsProxy  # noqa: E402

REF = "acme/dev"


@pytest.fixture
def proxy(moto_server, monkeypatch):
    with StsProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        monkeypatch.setenv("AWS_REGION", "us-east-1")  # the JavaScript SDK reads this one
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # botocore this one
        monkeypatch.delenv("CREDPROC_RUN", raising=False)
        yield p


@pytest.fixture
def login(isolated_env, tmp_path, proxy):
    """acme/dev with a file token that stays valid for a day (the clock moves in some tests)."""
    token_file = write_token_file(tmp_path, jwt_token(lifetime=86400))
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    return proxy
