"""The Entra stand-in, proven with the official client first: azure-identity's
ClientAssertionCredential and WorkloadIdentityCredential (MSAL underneath) get tokens from it over
https (AZURE_AUTHORITY_HOST, the self-signed certificate trusted through REQUESTS_CA_BUNDLE), and
its refusals reach them as Entra's own AADSTS errors."""
import pytest

from azurehelp import AUDIENCE, CLIENT, SCOPE, SUBJECT, TENANT
from entra_standin import ASSERTION_TYPE

azure_identity = pytest.importorskip("azure.identity")


def _mint(issuer, sub=SUBJECT, audience=AUDIENCE, **kwargs):
    return issuer.mint(sub, audience=audience, **kwargs)


def test_client_assertion_credential_gets_a_token(entra, issuer):
    assertion = _mint(issuer)
    credential = azure_identity.ClientAssertionCredential(TENANT, CLIENT, lambda: assertion,
                                                          authority=entra.url, disable_instance_discovery=True)
    token = credential.get_token(SCOPE)
    assert token.token == entra.issued[-1]["token"]
    (post,) = entra.token_requests()
    assert post.path == f"/{TENANT}/oauth2/v2.0/token"
    assert post.form["grant_type"] == "client_credentials"
    assert post.form["client_id"] == CLIENT
    assert post.form["client_assertion_type"] == ASSERTION_TYPE
    assert post.form["client_assertion"] == assertion
    assert SCOPE in post.form["scope"].split()


def test_workload_identity_credential_reads_the_token_file_and_authority_from_the_environment(
        entra, issuer, tmp_path, monkeypatch):
    token_file = tmp_path / "federated-token"
    token_file.write_text(_mint(issuer))
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    credential = azure_identity.WorkloadIdentityCredential(disable_instance_discovery=True)
    assert credential.get_token(SCOPE).token == entra.issued[-1]["token"]
    assert entra.token_requests()[-1].form["client_assertion"] == token_file.read_text()


@pytest.mark.parametrize("change, code", [
    ({"sub": "credproc:org:acme:env:default/other"}, "AADSTS70021"),
    ({"audience": "api://AzureADTokenExchange"}, "AADSTS70021"),
    ({"lifetime": -3600}, "AADSTS700024"),
])
def test_refusals_reach_azure_identity_as_aadsts_errors(entra, issuer, change, code):
    from azure.core.exceptions import ClientAuthenticationError

    kwargs = {"sub": change.get("sub", SUBJECT), "audience": change.get("audience", AUDIENCE)}
    if "lifetime" in change:
        import time

        kwargs["now"] = time.time() + change["lifetime"]  # minted an hour ago: expired
    assertion = issuer.mint(kwargs.pop("sub"), **kwargs)
    credential = azure_identity.ClientAssertionCredential(TENANT, CLIENT, lambda: assertion,
                                                          authority=entra.url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(SCOPE)
    assert code in str(caught.value)
    assert entra.issued == []


def test_unknown_app_and_tenant(entra, issuer):
    from azure.core.exceptions import ClientAuthenticationError

    assertion = _mint(issuer)
    credential = azure_identity.ClientAssertionCredential(TENANT, "00000000-0000-0000-0000-000000000000",
                                                          lambda: assertion, authority=entra.url,
                                                          disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        credential.get_token(SCOPE)
    other = azure_identity.ClientAssertionCredential("00000000-1111-2222-3333-444444444444", CLIENT,
                                                     lambda: assertion, authority=entra.url,
                                                     disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="90002|not found"):
        other.get_token(SCOPE)


@pytest.mark.parametrize("instance_discovery", [False, True])
def test_msal_finds_the_token_endpoint_through_tenant_discovery(entra, issuer, instance_discovery):
    """azure-identity's credentials post to AUTHORITY/TENANT/oauth2/v2.0/token directly; MSAL (which
    it ships with, and which other Azure tools use) first reads the tenant's discovery document."""
    msal = pytest.importorskip("msal")
    assertion = _mint(issuer)
    app = msal.ConfidentialClientApplication(CLIENT, authority=f"{entra.url}/{TENANT}",
                                             client_credential={"client_assertion": lambda: assertion},
                                             instance_discovery=instance_discovery and
                                             f"{entra.url}/common/discovery/instance")
    result = app.acquire_token_for_client(scopes=[SCOPE])
    assert result.get("access_token") == entra.issued[-1]["token"], result
    first = [("GET", "/common/discovery/instance")] if instance_discovery else []
    assert [(r.method, r.path) for r in entra.requests] == first + [
        ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration"), ("POST", f"/{TENANT}/oauth2/v2.0/token")]
    assert entra.token_requests()[0].form["client_assertion"] == assertion
