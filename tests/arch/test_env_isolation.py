"""The autouse fixture (tests/conftest.py) isolates every environment variable credproc reads:
a test fails here when credproc starts reading one the fixture does not set or unset."""
import ast
import os

from credproc import settings
from support import envvars

# Reads whose variable is not in the source: each named here with why the fixture need not know it.
DYNAMIC_READS = {
    ("credproc.cache", "binding_digest"): "a variable an environment's token binds (oidc.token.env): the test names it",
    ("credproc.identity.tokens.env", "_obtain"): "the variable an environment names in oidc.token.env: the test names it",
    ("credproc.identity.tokens.login", "_secret"): "the clientSecret variable an environment names: the test names it",
    ("credproc.providers.aws_secrets", "endpoint_of"): "AWS_ENDPOINT_URL_SECRETS_MANAGER/_SSM (a table), which the "
                                                        "fixture unsets with every AWS_ENDPOINT_URL* name",
    ("credproc.paths", "_xdg"): "called with XDG_CACHE_HOME/XDG_CONFIG_HOME/XDG_DATA_HOME/XDG_STATE_HOME, all set",
}


def _isolated() -> frozenset:
    return envvars.unset_by_fixture(os.environ) | envvars.SET_BY_FIXTURE


def test_every_variable_credproc_reads_is_isolated_by_the_fixture():
    named = {name for *_, names in envvars.reads() if names for name in names}
    assert named, "the scanner found no reads at all"
    assert sorted(named - _isolated() - envvars.AMBIENT) == []


def test_every_prefixed_name_credproc_writes_is_isolated():
    assert sorted(envvars.named_variables() - _isolated()) == []


def test_settings_are_all_isolated():
    assert set(settings.READ) <= _isolated()


def test_the_pulumi_cli_settings_are_isolated():
    """PULUMI_ACCESS_TOKEN, PULUMI_BACKEND_URL, PULUMI_HOME (credproc.settings.PULUMI_READ, read as
    the Pulumi CLI reads them for pulumi:ORG/PROJECT/ENV): a developer's own Pulumi login must never
    reach a test (HOME, and with it ~/.pulumi/credentials.json, is the test's own)."""
    assert settings.PULUMI_READ == ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_HOME")
    assert set(settings.PULUMI_READ) <= _isolated()
    assert "HOME" in envvars.SET_BY_FIXTURE


def test_every_read_the_scanner_cannot_name_is_explained():
    dynamic = {(module, function) for module, function, _, names in envvars.reads() if names is None}
    assert dynamic == set(DYNAMIC_READS)


def test_xdg_is_only_called_with_variables_the_fixture_sets():
    tree = dict(envvars.modules())["credproc.paths"]
    args = {call.args[0].value for call in ast.walk(tree) if isinstance(call, ast.Call)
            and getattr(call.func, "id", None) == "_xdg"}
    assert args and args <= envvars.SET_BY_FIXTURE


def test_no_isolated_variable_reaches_a_test(isolated_env):
    leaked = sorted(envvars.unset_by_fixture(os.environ) & set(os.environ))
    assert leaked == []
    assert os.environ["CREDPROC_CACHE_DIR"] == str(isolated_env.cache_dir)


SAMPLE = '''
import os
from credproc import settings
NAME = "ONE"
GROUP = ("TWO", "THREE")
def reads(environ, var):
    os.environ.get(NAME)
    environ.get("FOUR")
    os.environ["FIVE"]
    os.getenv("SIX")
    "SEVEN" in os.environ
    os.environ.setdefault(settings.DEBUG, "1")
    [environ.get(name) for name in GROUP]
    for other in ("EIGHT",):
        os.environ.get(other)
    os.environ.get(var)
'''


def test_the_scanner_finds_every_form_of_read():
    found = envvars._Reads("sample", ast.parse(SAMPLE)).collect()
    names = [sorted(n) if n else None for *_, n in found]
    assert names == [["ONE"], ["FOUR"], ["FIVE"], ["SIX"], ["SEVEN"], [settings.DEBUG], ["THREE", "TWO"],
                     ["EIGHT"], None]



def test_the_cloud_sdk_variables_credproc_honours_are_isolated():
    # AZURE_AUTHORITY_HOST is azure-identity's variable, read by credproc too (settings): a value on
    # the machine running the tests must not send an azure-login exchange elsewhere
    assert settings.AZURE_AUTHORITY_HOST in settings.READ
    assert settings.AZURE_AUTHORITY_HOST in _isolated()
