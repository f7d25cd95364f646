"""Fixtures for the pulumi:ORG/PROJECT/ENV tests: the stand-in Pulumi service (tests/support/
pulumiservice.py) on 127.0.0.1 holding acme/proj/dev, and the Pulumi CLI's settings pointing at it.

service: the running PulumiService; PULUMI_BACKEND_URL and PULUMI_ACCESS_TOKEN are set (monkeypatch)
cli(*args, env=None): the real `credproc` command line (support.runner.Result)
"""
import pytest

from tests.support import pulumidata
from tests.support.pulumiservice import PulumiService
from tests.support.runner import run_credproc


@pytest.fixture
def service(monkeypatch):
    with PulumiService(pulumidata.TOKEN) as running:
        running.add("acme/proj/dev", pulumidata.DEFINITION, pulumidata.VALUES, pulumidata.SECRETS)
        running.add("acme/default/shared", pulumidata.SHARED, {"region": "eu-central-1"})
        monkeypatch.setenv("PULUMI_BACKEND_URL", running.url)
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", pulumidata.TOKEN)
        yield running


@pytest.fixture
def cli():
    return run_credproc
