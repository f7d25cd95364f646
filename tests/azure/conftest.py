"""Fixtures for the Azure tests: the Entra ID stand-in (https on 127.0.0.1, its self-signed
certificate trusted through SSL_CERT_FILE for urllib and REQUESTS_CA_BUNDLE for azure-identity),
credproc's local issuer, and an environment `acme/az` whose app trusts exactly that issuer's tokens
for acme/az."""
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the `support` package

import pytest  # noqa: E402

import support  # noqa: E402,F401
from credtest import write_environment  # noqa: E402
from entra_standin import EntraStandIn, FederatedCredential, make_certificate  # noqa: E402

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
ISSUER_URL = "https://issuer.azure-test.invalid"
REF = "acme/az"
SUBJECT = "credproc:org:acme:env:default/az"
AUDIENCE = "azure:acme"
SCOPE = "https://management.azure.com/.default"


def azure_yaml(extra_inputs: str = "", variables: str = "", files: str = "") -> str:
    text = textwrap.dedent(f"""\
        values:
          azure:
            login:
              fn::open::azure-login:
                clientId: {CLIENT}
                tenantId: {TENANT}
                subscriptionId: {SUBSCRIPTION}
                oidc: true
        """)
    text += textwrap.indent(textwrap.dedent(extra_inputs), " " * 8)
    if variables:
        text += "  environmentVariables:\n" + textwrap.indent(textwrap.dedent(variables), " " * 4)
    if files:
        text += "  files:\n" + textwrap.indent(textwrap.dedent(files), " " * 4)
    return text


@pytest.fixture(scope="session")
def entra_certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("entra-tls"))


@pytest.fixture
def clock_file(tmp_path):
    """The fake clock's offset (seconds) for credproc children and the stand-in (support.clock)."""
    path = tmp_path / "clock-offset"
    path.write_text("0")
    return path


@pytest.fixture
def issuer(isolated_env):
    from credproc.identity import issuer as local_issuer

    return local_issuer.init(ISSUER_URL)


@pytest.fixture
def entra(entra_certificate, clock_file, issuer, monkeypatch):
    """The stand-in, trusted and named by AZURE_AUTHORITY_HOST, with app CLIENT in TENANT whose one
    federated credential admits the local issuer's tokens for acme/az (audience azure:acme)."""
    import time

    cert, key = entra_certificate

    def clock() -> float:
        return time.time() + float(clock_file.read_text() or 0)

    with EntraStandIn(cert, key, clock=clock, jwks=issuer.jwks()) as standin:
        standin.add_app(TENANT, CLIENT, FederatedCredential(ISSUER_URL, SUBJECT, [AUDIENCE]))
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", standin.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        yield standin


@pytest.fixture
def az_env(isolated_env, entra):
    """acme/az: azure-login with oidc (local issuer), the usual recipe variables and a token file."""
    write_environment(isolated_env.env_dir, REF, azure_yaml(
        variables="""\
            ARM_USE_OIDC: "true"
            ARM_CLIENT_ID: ${azure.login.clientId}
            ARM_TENANT_ID: ${azure.login.tenantId}
            ARM_SUBSCRIPTION_ID: ${azure.login.subscriptionId}
            ARM_OIDC_TOKEN: ${azure.login.oidc.token}
            AZURE_CLIENT_ID: ${azure.login.clientId}
            AZURE_TENANT_ID: ${azure.login.tenantId}
            AZURE_ACCESS_TOKEN: ${azure.login.accessToken}
            """,
        files="""\
            AZURE_FEDERATED_TOKEN_FILE: ${azure.login.oidc.token}
            """))
    return entra
