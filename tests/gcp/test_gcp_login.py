"""fn::open::gcp-login through the real command line against the Google stand-in (proved with
google-auth in test_standin_google_auth.py): the exact requests, caching bound to the token,
and each refusal as one line naming what to fix."""
import calendar
import json
import re
import time

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


# --- hostile review: the static exchange, expiries, tokens, input ---------------------------------

def _federated(google) -> str:
    """A token that may impersonate SA (a federated one, straight from the stand-in's STS)."""
    import urllib.parse
    import urllib.request

    form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": google.provider.audience,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token": _local_token(google), "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}
    with urllib.request.urlopen(google.standin.sts_url, urllib.parse.urlencode(form).encode(), timeout=10) as answer:
        return json.load(answer)["access_token"]


def _static(token: str, variables: str = "") -> str:
    return ("values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: 123\n"
            f"        accessToken:\n          accessToken: {{fn::secret: {token}}}\n          serviceAccount: {SA}\n"
            + (f"  environmentVariables:\n{variables}" if variables else ""))


def test_a_trickling_iam_is_cut_at_the_refresh_deadline_for_a_static_token_too(google):
    google.define(_static("ya29.mine"))
    google.standin.override["iam"] = ("trickle", 1.0)
    result = run_credproc("run", "acme/dev", "--", "true", CREDPROC_REFRESH_TIMEOUT="3", timeout=100)
    assert_clean_failure(result, 6)
    assert "refreshing the credentials for acme/dev took longer than 3s" in result.first_line, result


def test_a_static_exchange_is_cached_under_the_tokens_hash_never_the_token(google):
    mine = _federated(google)
    google.define(_static(mine))
    first = open_json()["gcp"]["login"]
    assert open_json()["gcp"]["login"] == first
    assert google.standin.count("iam") == 1
    stored = b"".join(p.read_bytes() for p in google.env.cache_dir.rglob("*") if p.is_file())
    assert first["accessToken"].encode() in stored and mine.encode() not in stored
    other = _federated(google)  # another token: another exchange
    google.define(_static(other))
    assert open_json()["gcp"]["login"]["accessToken"] != first["accessToken"]
    assert google.standin.count("iam") == 2 and google.standin.requests[-1]["bearer"] == other


def test_process_indexes_an_aws_answer_beside_a_cached_static_exchange(google):
    google.define(_static(_federated(google), "    AWS_ACCESS_KEY_ID: AKIAMULTICLOUD000003\n"
                                              "    AWS_SECRET_ACCESS_KEY: multicloud-secret\n"
                                              "    CLOUDSDK_AUTH_ACCESS_TOKEN: ${gcp.login.accessToken}\n"))
    first = run_credproc("process", "acme/dev")
    assert first.code == 0 and json.loads(first.stdout)["AccessKeyId"] == "AKIAMULTICLOUD000003", first
    hit = run_credproc("process", "acme/dev", PYTHONVERBOSE="1")
    assert hit.code == 0 and hit.stdout == first.stdout, hit
    imported = {line.split("'")[1] for line in hit.stderr.splitlines() if line.startswith("import '")}
    assert not {m for m in imported if m == "yaml" or m.startswith(("credproc.providers", "credproc.lang"))}
    assert google.standin.count("iam") == 1


def _expiring_at(text):
    return lambda status, document: (status, dict(document, expireTime=text(document)))


@pytest.mark.parametrize("expire, message", [
    (lambda d: "9999-12-31T23:59:59Z", "later than the 3600s lifetime asked for"),
    (lambda d: "2100-01-01T00:00:00.123456789Z", "later than the 3600s lifetime asked for"),
    (lambda d: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 13 * 3600)), "later than the 3600s"),
    (lambda d: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120)), "less than the 20-minute refresh margin"),
    (lambda d: "2001-01-01T00:00:00Z", "less than the 20-minute refresh margin"),
])
@pytest.mark.parametrize("static", [False, True])
def test_an_implausible_expiry_is_a_bad_answer_never_cached(google, expire, message, static):
    google.define(_static(_federated(google)) if static else definition())
    google.standin.override["iam"] = _expiring_at(expire)
    result = run_credproc("run", "acme/dev", "--", "true")
    assert_clean_failure(result, 6)
    assert message in result.first_line, result.first_line
    google.standin.override.clear()
    login = open_json()["gcp"]["login"]
    left = calendar.timegm(time.strptime(login["expiry"], "%Y-%m-%dT%H:%M:%SZ")) - time.time()
    assert 3000 < left <= 3600


@pytest.mark.parametrize("endpoint, field", [("sts", "access_token"), ("iam", "accessToken")])
@pytest.mark.parametrize("bad", ["ya29.a\x00b", "ya29.a\nb", "ya29.a b", "ya29.\u00e9", "ya29.\x1b[2J", ""])
def test_a_token_that_is_not_visible_ascii_is_a_bad_answer_never_cached(google, endpoint, field, bad):
    google.define(definition())
    google.standin.override[endpoint] = lambda status, document: (status, dict(document, **{field: bad}))
    result = run_credproc("run", "acme/dev", "--", "true")
    assert_clean_failure(result, 6)
    assert "that credproc cannot read" in result.first_line, result.first_line
    assert "\x1b" not in result.stderr
    google.standin.override.clear()
    assert open_json()["gcp"]["login"]["accessToken"].startswith("ya29.standin-")
    assert google.standin.count("iam") == (2 if endpoint == "iam" else 1)


@pytest.mark.parametrize("project, shown", [
    ('"¹²³"', "'¹²³'"), ('"١٢٣"', "'١٢٣'"), ("-5", "-5"), ("1.5", "1.5"), ("{a: 1}", "{a: 1}"),
    ("[1, x]", "[1, 'x']"), ("true", "true"), ('"123\\n"', "'123\\n'"),
])
def test_a_project_that_is_not_ascii_digits_is_refused_as_written(google, project, shown):
    google.define(definition().replace(f"project: {PROJECT}", f"project: {project}"))
    result = run_credproc("env", "check", "acme/dev")
    assert result.code == 2
    text = result.stdout.decode() + result.stderr
    assert f"gcp-login `project` must be the project number (digits, e.g. 123456789012), got {shown}" in text, text
    assert "Number(" not in text


@pytest.mark.parametrize("oidc_extra, serviceaccount, expected", [
    ("", '"deploy@acme-prod.iam.gserviceaccount.com\\n"', "gcp-login `oidc.serviceAccount` must be a service account"),
    ('          tokenLifetime: "1h\\n"\n', SA, "gcp-login `oidc.tokenLifetime` must look like 1h, 45m or 3600s, got '1h\\n'"),
    ('          region: "global\\n"\n', SA, "gcp-login `oidc.region` must be a location such as global"),
])
def test_a_trailing_newline_is_not_accepted(google, oidc_extra, serviceaccount, expected):
    google.define(definition(oidc_extra).replace(f"serviceAccount: {SA}", f"serviceAccount: {serviceaccount}"))
    result = run_credproc("env", "check", "acme/dev")
    assert result.code == 2, result
    assert expected in result.stdout.decode() + result.stderr


def test_a_static_token_with_a_control_character_is_refused(google):
    google.define("values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: 123\n"
                  '        accessToken:\n          accessToken: "ya29.a\\u0000b"\n')
    result = run_credproc("env", "check", "acme/dev")
    assert result.code == 2
    assert "gcp-login `accessToken.accessToken` is not an access token" in result.stdout.decode() + result.stderr
