"""The stand-in for Google STS and IAM Credentials, proved with Google's own client first: google-auth's
identity_pool.Credentials (a token file, a custom token_url and service_account_impersonation_url)
gets an access token from it, the stand-in records exactly the requests Google documents, and
google-auth's refusals come back with Google's error shapes."""
import json
import urllib.request

import pytest

pytest.importorskip("google.auth")  # the test extra installs it (pyproject.toml)
from google.auth import exceptions, identity_pool  # noqa: E402
from google.auth.transport.requests import Request  # noqa: E402

from support.gcpstandin import GoogleStandIn, Signer, WorkloadProvider  # noqa: E402

SA = "deploy@acme-prod.iam.gserviceaccount.com"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def google(tmp_path):
    signer = Signer()
    with GoogleStandIn() as standin:
        provider = standin.add_provider(WorkloadProvider("123456789012", "ci-pool", "ci-oidc", signer.issuer,
                                                         signer.jwks()))
        standin.add_service_account(SA, provider.principal("repo:acme/app"))
        yield standin, provider, signer, tmp_path


def credentials(standin, provider, token_file, account=SA, audience=None):
    return identity_pool.Credentials.from_info({
        "type": "external_account",
        "audience": audience or provider.audience,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": standin.sts_url,
        "service_account_impersonation_url": f"{standin.iam_url}/projects/-/serviceAccounts/{account}:generateAccessToken",
        "credential_source": {"file": str(token_file)},
    }, scopes=["https://www.googleapis.com/auth/cloud-platform"])


def write_token(tmp_path, token: str):
    path = tmp_path / "token.jwt"
    path.write_text(token)
    return path


def test_google_auth_gets_a_token_that_the_resource_accepts(google):
    standin, provider, signer, tmp_path = google
    token = signer.mint("repo:acme/app", f"https://iam.googleapis.com/{provider.name}")
    creds = credentials(standin, provider, write_token(tmp_path, token))
    creds.refresh(Request())
    assert creds.token.startswith("ya29.standin-") and creds.valid
    sts, iam = standin.requests
    assert sts["form"] == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "audience": provider.audience,
        "scope": "https://www.googleapis.com/auth/iam",  # google-auth's scope when it impersonates next
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    }
    assert iam["account"] == SA and iam["json"] == {"scope": ["https://www.googleapis.com/auth/cloud-platform"],
                                                    "lifetime": "3600s", "delegates": None}
    assert iam["bearer"].startswith("fed.")
    request = urllib.request.Request(f"{standin.url}/v1/projects/123456789012",
                                     headers={"Authorization": f"Bearer {creds.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response) == {"serviceAccount": SA}


@pytest.mark.parametrize("case, expected", [
    ("unknown provider", "invalid_target"),
    ("wrong audience", "The audience in ID Token"),
    ("wrong issuer", "The issuer in ID Token"),
    ("expired", "ID Token has expired"),
    ("not granted", "PERMISSION_DENIED"),
    ("unknown account", "NOT_FOUND"),
])
def test_google_auth_sees_googles_refusals(google, case, expected):
    standin, provider, signer, tmp_path = google
    audience, account, sub, aud = None, SA, "repo:acme/app", f"https://iam.googleapis.com/{provider.name}"
    lifetime, issuer = 600, signer
    if case == "unknown provider":
        audience = provider.audience.replace("ci-oidc", "other")
    elif case == "wrong audience":
        aud = "gcp:acme"
    elif case == "wrong issuer":
        issuer = Signer(issuer="https://elsewhere.invalid")
        issuer._key = signer._key  # same key, other iss
    elif case == "expired":
        lifetime = -120
    elif case == "not granted":
        sub = "repo:acme/other"
    elif case == "unknown account":
        account = "nobody@acme-prod.iam.gserviceaccount.com"
    token = issuer.mint(sub, aud, lifetime=lifetime)
    creds = credentials(standin, provider, write_token(tmp_path, token), account=account, audience=audience)
    with pytest.raises(exceptions.GoogleAuthError) as err:
        creds.refresh(Request())
    assert expected in str(err.value)
