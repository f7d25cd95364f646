"""fn::open::gcp-login through the real command line against the Google stand-in (proved with
google-auth in test_standin_google_auth.py): the exact requests, caching bound to the token,
and each refusal as one line naming what to fix."""
import json
import re

import pytest

from credtest import CREDPROC
from support import gcpenv
from support.gcpenv import PROJECT, SA, SUBJECT, definition
from support.runner import assert_clean_failure, run_credproc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def google(isolated_env, monkeypatch):
    standin, provider = gcpenv.start(isolated_env, monkeypatch, CREDPROC)
    try:
        yield gcpenv.GcpWorld(isolated_env, standin, provider)
    finally:
        standin.__exit__(None, None, None)


def open_json(*extra, **env):
    result = run_credproc("env", "open", "acme/dev", "--show-secrets", *extra, **env)
    assert result.code == 0, result
    return json.loads(result.stdout)


def test_env_open_exchanges_the_local_issuers_token_and_hands_out_the_access_token(google):
    google.define(definition())
    login = open_json()["gcp"]["login"]
    assert login["project"] == int(PROJECT) and login["tokenType"] == "Bearer"
    assert login["accessToken"].startswith("ya29.standin-")
    assert login["expiry"].endswith("Z") and len(login["expiry"]) == 20
    sts, iam = google.standin.requests
    token = sts["form"].pop("subject_token")
    assert sts["form"] == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "audience": f"//iam.googleapis.com/projects/{PROJECT}/locations/global/workloadIdentityPools/"
                    "credproc-pool/providers/credproc-oidc",
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    }
    claims = json.loads(_b64(token.split(".")[1]))
    assert claims["aud"] == "gcp:acme" and claims["sub"] == SUBJECT and claims["iss"] == gcpenv.ISSUER
    assert iam["account"] == SA and iam["json"] == {"scope": ["https://www.googleapis.com/auth/cloud-platform"],
                                                    "lifetime": "3600s"}
    assert iam["bearer"].startswith("fed.")


def test_without_show_secrets_the_token_is_hidden(google):
    google.define(definition())
    result = run_credproc("env", "open", "acme/dev")
    assert result.code == 0, result
    assert json.loads(result.stdout)["gcp"]["login"]["accessToken"] == "[secret]"


def test_a_second_open_is_served_from_the_cache(google):
    google.define(definition())
    first = open_json()["gcp"]["login"]["accessToken"]
    second = open_json()["gcp"]["login"]["accessToken"]
    assert first == second
    assert google.standin.count("sts") == 1 and google.standin.count("iam") == 1


def test_another_token_is_another_exchange(google, tmp_path):
    signer_token = _local_token(google)
    token_file = tmp_path / "token.jwt"
    token_file.write_text(signer_token)
    google.define(definition(oidc_extra=f"          token: {{file: {token_file}}}\n"))
    first = open_json()["gcp"]["login"]["accessToken"]
    assert open_json()["gcp"]["login"]["accessToken"] == first
    token_file.write_text(_local_token(google))  # a new token of the same subject
    assert open_json()["gcp"]["login"]["accessToken"] != first
    assert google.standin.count("sts") == 2 and google.standin.count("iam") == 2


def test_a_lifetime_over_an_hour_is_asked_for_and_the_refusal_names_the_org_policy(google):
    google.define(definition(oidc_extra="          tokenLifetime: 2h\n"))
    result = run_credproc("run", "acme/dev", "--", "true")
    assert_clean_failure(result, 5)
    assert google.standin.requests[-1]["json"]["lifetime"] == "7200s"
    assert "constraints/iam.allowServiceAccountCredentialLifetimeExtension" in result.stderr
    google.standin.extended_lifetime.add(SA)
    assert open_json()["gcp"]["login"]["accessToken"].startswith("ya29.")


@pytest.mark.parametrize("change, code, expected", [
    ("providerId: credproc-oidc", 5, "Google STS does not know the workload identity provider "
     f"//iam.googleapis.com/projects/{PROJECT}/locations/global/workloadIdentityPools/credproc-pool/providers/other-oidc"),
    ("audience", 5, "its audience 'gcp:other' is not one the provider allows"),
    ("serviceAccount", 5, "service account nobody@acme-prod.iam.gserviceaccount.com not found"),
    ("grant", 5, f"the federated identity may not impersonate {SA}: PERMISSION_DENIED"),
    ("condition", 5, "does not pass the provider's attribute condition"),
])
def test_refusals_are_one_line_naming_what_to_fix(google, change, code, expected):
    text = definition()
    if change.startswith("providerId"):
        text = text.replace("providerId: credproc-oidc", "providerId: other-oidc")
    elif change == "audience":
        text = definition(oidc_extra="          audience: gcp:other\n")
    elif change == "serviceAccount":
        text = text.replace(SA, "nobody@acme-prod.iam.gserviceaccount.com")
    elif change == "grant":
        google.standin.grants[SA].clear()
    elif change == "condition":
        google.provider.condition = lambda claims: False
    google.define(text)
    result = run_credproc("run", "acme/dev", "--", "true")  # exits with the provider's own code
    assert_clean_failure(result, code)
    line = result.stderr.splitlines()[0]
    assert expected in line and "(hint: " in line, line
    assert "eyJ" not in result.stderr  # no token in the message


def test_the_permission_hint_names_the_principal_to_grant(google):
    google.standin.grants[SA].clear()
    google.define(definition())
    result = run_credproc("env", "open", "acme/dev")
    principal = google.provider.principal(SUBJECT)
    assert f"grant roles/iam.workloadIdentityUser on {SA} to {principal}" in result.stderr


def test_a_server_error_is_retried(google):
    google.define(definition())
    google.standin.fail_next = [503, 503]
    assert open_json()["gcp"]["login"]["accessToken"].startswith("ya29.")


def test_a_closed_endpoint_is_a_transient_error_naming_it(google):
    google.define(definition())
    result = run_credproc("run", "acme/dev", "--", "true", CREDPROC_GCP_STS_URL="http://127.0.0.1:9/v1/token")
    assert_clean_failure(result, 6)
    assert "cannot reach Google STS at http://127.0.0.1:9/v1/token" in result.stderr


def test_a_static_access_token_passes_through(google):
    google.define("values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: '123'\n"
                  "        accessToken:\n          accessToken: {fn::secret: ya29.mine}\n")
    login = open_json()["gcp"]["login"]
    assert login == {"project": "123", "accessToken": "ya29.mine", "tokenType": "Bearer"}
    assert google.standin.requests == []


def test_env_check_finds_a_bad_definition_without_calling_google(google):
    google.define(definition().replace(f"project: {PROJECT}", "project: my-project-id"))
    result = run_credproc("env", "check", "acme/dev")
    assert result.code == 2
    assert "gcp-login `project` must be the project number" in result.stdout.decode() + result.stderr
    assert google.standin.requests == []


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _local_token(google) -> str:
    from credproc.identity import issuer

    return issuer.load().mint(SUBJECT, audience="gcp:acme")


def test_cache_ls_and_clear_know_gcp_answers(google):
    google.define(definition())
    open_json()
    listed = run_credproc("cache", "ls")
    assert listed.code == 0, listed
    assert "acme/dev" in listed.stdout.decode() + listed.stderr
    cleared = run_credproc("cache", "clear", "acme/dev")
    assert cleared.code == 0, cleared
    open_json()
    assert google.standin.count("sts") == 2


def test_doctor_checks_a_gcp_environment_without_calling_google(google):
    google.define(definition())
    result = run_credproc("doctor", "acme/dev", COLUMNS="1000")  # one line per row
    assert result.code == 0, result
    out = result.stdout.decode()
    assert re.search(r"^environment +OK ", out, flags=re.M), result
    assert re.search(rf"^token source +OK .*gave a token \(sub {re.escape(SUBJECT)}, aud gcp:acme,", out, flags=re.M), out
    assert re.search(r"^local issuer +OK .*, used by this environment", out, flags=re.M), out
    assert google.standin.requests == []


def test_a_static_token_with_a_service_account_is_exchanged_for_the_accounts_token(google):
    import urllib.parse
    import urllib.request

    # A token that may impersonate SA: here a federated one, straight from the stand-in's STS.
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": google.provider.audience,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token": _local_token(google), "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}
    with urllib.request.urlopen(google.standin.sts_url, urllib.parse.urlencode(form).encode(), timeout=10) as answer:
        mine = json.load(answer)["access_token"]
    google.define("values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: 123\n"
                  f"        accessToken:\n          accessToken: {mine}\n          serviceAccount: {SA}\n"
                  "          tokenLifetime: 30m\n")
    login = open_json()["gcp"]["login"]
    assert login["accessToken"].startswith("ya29.standin-") and login["expiry"]
    iam = google.standin.requests[-1]
    assert iam["bearer"] == mine and iam["json"]["lifetime"] == "1800s" and iam["account"] == SA


def test_parallel_cold_opens_make_one_exchange(google):
    import subprocess

    google.define(definition())
    procs = [subprocess.Popen([CREDPROC, "env", "open", "acme/dev", "--show-secrets"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(5)]
    tokens = set()
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        tokens.add(json.loads(out)["gcp"]["login"]["accessToken"])
    assert len(tokens) == 1
    assert google.standin.count("sts") == 1 and google.standin.count("iam") == 1


def test_github_actions_tokens_are_asked_for_the_providers_default_audience(google):
    from credproc.lang.provider import OpenContext
    from credproc.providers.gcp_login import GcpOidcRequest

    ctx = OpenContext("dev", "dev", "gcp.login", {"pulumi": {"organization": {"login": "acme"}}})
    oidc = {"workloadPoolId": "credproc-pool", "providerId": "credproc-oidc", "serviceAccount": SA,
            "token": {"githubActions": {}}}
    request = GcpOidcRequest.parse(PROJECT, oidc, ctx)
    assert request.source.audience == (f"https://iam.googleapis.com/projects/{PROJECT}/locations/global/"
                                       "workloadIdentityPools/credproc-pool/providers/credproc-oidc")
    explicit = GcpOidcRequest.parse(PROJECT, dict(oidc, audience="my-aud"), ctx)
    assert explicit.source.audience == "my-aud"
    local = GcpOidcRequest.parse(PROJECT, {k: v for k, v in oidc.items() if k != "token"}, ctx)
    assert local.source.audience == "gcp:acme"


def test_process_indexes_an_aws_answer_beside_a_gcp_login(google):
    """An environment serving AWS and Google: the second `process` is an index hit (no YAML read, no
    provider imported, no exchange)."""
    google.define(definition(variables="    AWS_ACCESS_KEY_ID: AKIAMULTICLOUD000002\n"
                                       "    AWS_SECRET_ACCESS_KEY: multicloud-secret\n"
                                       "    GOOGLE_OAUTH_ACCESS_TOKEN: ${gcp.login.accessToken}\n"))
    first = run_credproc("process", "acme/dev")
    assert first.code == 0 and json.loads(first.stdout)["AccessKeyId"] == "AKIAMULTICLOUD000002", first
    hit = run_credproc("process", "acme/dev", PYTHONVERBOSE="1")
    assert hit.code == 0 and hit.stdout == first.stdout, hit
    imported = {line.split("'")[1] for line in hit.stderr.splitlines() if line.startswith("import '")}
    assert "credproc.creds.index" in imported
    assert not {m for m in imported if m == "yaml" or m.startswith(("yaml.", "credproc.providers", "credproc.lang"))}
    assert google.standin.count("sts") == 1
