"""Fixtures for the Azure tests: the Entra ID stand-in (https on 127.0.0.1, its self-signed
certificate trusted through SSL_CERT_FILE for urllib and REQUESTS_CA_BUNDLE for azure-identity),
credproc's local issuer, and an environment `acme/az` whose app trusts exactly that issuer's tokens
for acme/az."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the `support` package

import pytest  # noqa: E402

import support  # noqa: E402,F401
from credtest import write_environment  # noqa: E402
from azurehelp import AUDIENCE, CLIENT, ISSUER_URL, REF, SUBJECT, TENANT, azure_yaml  # noqa: E402
from entra_standin import EntraStandIn, FederatedCredential, make_certificate  # noqa: E402

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
