"""`fn::open::azure-login` through the real command line (`credproc env open`) against the Entra
stand-in: outputs, the exact request Entra received, caching bound to the token, and errors."""
import json
import os
import time

from azurehelp import AUDIENCE, CLIENT, ISSUER_URL, REF, SCOPE, SUBJECT, SUBSCRIPTION, TENANT, azure_yaml
from credtest import jwt_token, write_environment
from entra_standin import ASSERTION_TYPE, FederatedCredential
from support.runner import assert_clean_failure, run_credproc


def _open(ref=REF, *extra):
    result = run_credproc("env", "open", ref, "--show-secrets", *extra)
    assert result.code == 0, result
    return json.loads(result.stdout)


def _claims(token: str) -> dict:
    from credproc.identity import jwt

    return jwt.decode_unverified(token)[1]


def test_env_open_exchanges_the_local_issuers_token_at_entra(az_env, isolated_env):
    before = time.time()
    opened = _open()
    login = opened["azure"]["login"]
    assert (login["clientId"], login["tenantId"], login["subscriptionId"]) == (CLIENT, TENANT, SUBSCRIPTION)
    claims = _claims(login["oidc"]["token"])
    assert (claims["iss"], claims["sub"], claims["aud"]) == (ISSUER_URL, SUBJECT, AUDIENCE)
    assert login["accessToken"] == az_env.issued[-1]["token"]
    from credproc import cache

    assert before + 3600 - 5 <= cache.parse_expiration(login["expiresOn"]) <= time.time() + 3600 + 1
    (post,) = az_env.token_requests()
    assert post.path == f"/{TENANT}/oauth2/v2.0/token"
    assert post.form == {"grant_type": "client_credentials", "client_id": CLIENT, "scope": SCOPE,
                         "client_assertion_type": ASSERTION_TYPE, "client_assertion": login["oidc"]["token"]}
    assert [r.method for r in az_env.requests] == ["POST"]  # no discovery round trip
    assert opened["environmentVariables"]["ARM_OIDC_TOKEN"] == login["oidc"]["token"]


def test_secrets_are_redacted_without_show_secrets(az_env):
    result = run_credproc("env", "open", REF)
    assert result.code == 0, result
    login = json.loads(result.stdout)["azure"]["login"]
    assert login["oidc"]["token"] == login["accessToken"] == "[secret]"
    assert login["clientId"] == CLIENT


def test_a_second_open_is_served_from_the_cache_with_a_new_token(az_env):
    first = _open()["azure"]["login"]
    second = _open()["azure"]["login"]
    assert len(az_env.token_requests()) == 1
    assert second["accessToken"] == first["accessToken"]
    assert second["expiresOn"] == first["expiresOn"]
    # the JWT is minted again on every open (as ESC does): what a federated token file needs
    assert _claims(second["oidc"]["token"])["jti"] != _claims(first["oidc"]["token"])["jti"]


def test_another_token_is_another_exchange(isolated_env, entra, tmp_path):
    token_file = tmp_path / "token.jwt"
    entra.jwks = None  # hand-made tokens below carry no real signature
    entra.add_app(TENANT, CLIENT, FederatedCredential("https://ci.example", "repo:acme/app:ref:main", [AUDIENCE]),
                  FederatedCredential("https://ci.example", "repo:acme/app:ref:dev", [AUDIENCE]))
    write_environment(isolated_env.env_dir, REF, azure_yaml(f"token: {{file: {token_file}}}\n"))
    token_file.write_text(jwt_token(iss="https://ci.example", sub="repo:acme/app:ref:main", aud=AUDIENCE))
    main = _open()["azure"]["login"]
    assert _open()["azure"]["login"]["accessToken"] == main["accessToken"]  # same token file: cached
    token_file.write_text(jwt_token(iss="https://ci.example", sub="repo:acme/app:ref:dev", aud=AUDIENCE))
    dev = _open()["azure"]["login"]
    assert dev["accessToken"] != main["accessToken"]
    assert [r.form["client_assertion"] for r in entra.token_requests()] == [main["oidc"]["token"],
                                                                            dev["oidc"]["token"]]


def test_scope_and_audience_inputs(isolated_env, entra):
    entra.add_app(TENANT, CLIENT, FederatedCredential(ISSUER_URL, SUBJECT, ["api://AzureADTokenExchange"]))
    write_environment(isolated_env.env_dir, REF, azure_yaml(
        "audience: api://AzureADTokenExchange\nscope: https://vault.azure.net/.default\n"))
    login = _open()["azure"]["login"]
    assert _claims(login["oidc"]["token"])["aud"] == "api://AzureADTokenExchange"
    assert entra.token_requests()[-1].form["scope"] == "https://vault.azure.net/.default"


def test_without_oidc_only_the_ids_and_the_secret_pass_through(isolated_env, entra):
    write_environment(isolated_env.env_dir, REF, (
        "values:\n  azure:\n    login:\n      fn::open::azure-login:\n"
        f"        clientId: {CLIENT}\n        tenantId: {TENANT}\n        subscriptionId: {SUBSCRIPTION}\n"
        "        clientSecret: not-really-a-secret\n"))
    shown = _open()["azure"]["login"]
    assert shown == {"clientId": CLIENT, "tenantId": TENANT, "subscriptionId": SUBSCRIPTION,
                     "clientSecret": "not-really-a-secret"}
    redacted = json.loads(run_credproc("env", "open", REF).stdout)["azure"]["login"]
    assert redacted["clientSecret"] == "[secret]"
    assert entra.requests == []


# --- refusals: one line naming what to fix ---------------------------------------------------------

def test_no_matching_federated_credential_names_what_it_must_list(isolated_env, entra):
    entra.add_app(TENANT, CLIENT, FederatedCredential(ISSUER_URL, "credproc:org:acme:env:default/other", [AUDIENCE]))
    write_environment(isolated_env.env_dir, REF, azure_yaml())
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert (f"Entra ID found no federated identity credential on application {CLIENT} matching the token "
            f"(issuer '{ISSUER_URL}', subject '{SUBJECT}', audience '{AUDIENCE}'): AADSTS70021") in result.stderr
    assert "credproc issuer trust-policy ORG/ENV --cloud azure" in result.stderr
    assert "eyJ" not in result.stderr  # never the token
    ran = run_credproc("run", REF, "--", "true")  # run keeps the provider's exit code: Entra refused (5)
    assert_clean_failure(ran, 5)


def test_unknown_app_and_tenant(isolated_env, entra):
    write_environment(isolated_env.env_dir, REF, azure_yaml().replace(CLIENT, "00000000-0000-0000-0000-00000000000a"))
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert f"Entra ID has no application 00000000-0000-0000-0000-00000000000a in tenant {TENANT}" in result.stderr
    write_environment(isolated_env.env_dir, REF, azure_yaml().replace(TENANT, "contoso.invalid"))
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert "Entra ID has no tenant contoso.invalid: AADSTS90002" in result.stderr


def test_a_clock_far_off_is_named(az_env, clock_file):
    clock_file.write_text("7200")  # Entra's clock is two hours ahead of ours
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert "outside its valid time range" in result.stderr and "AADSTS700024" in result.stderr


def test_an_outage_is_transient_and_a_cached_token_is_served_meanwhile(az_env):
    entra = az_env
    entra.fail_next = [503] * 3
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert "answered HTTP 503" in result.stderr
    assert len(entra.token_requests()) == 3  # retried
    entra.fail_next = [503] * 3
    assert_clean_failure(run_credproc("run", REF, "--", "true"), 6)  # transient
    first = _open()["azure"]["login"]
    from credproc import cache

    # age the cached answer into the refresh margin (but > 10 minutes left): a failed refresh serves it
    (key, entry), = cache.list_entries("azure")
    cache.write_entry("azure", key, dict(entry, expiration=cache.format_expiration(time.time() + 900)))
    entra.fail_next = [503] * 3
    assert _open()["azure"]["login"]["accessToken"] == first["accessToken"]


def test_http_authority_is_refused_except_on_loopback(az_env, monkeypatch):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "http://login.example.com")
    result = run_credproc("env", "open", REF)
    assert_clean_failure(result, 2)
    assert "AZURE_AUTHORITY_HOST must be an https URL" in result.stderr


def test_cache_files_are_private(az_env, isolated_env):
    _open()
    entries = list((isolated_env.cache_dir).rglob("*.json"))
    assert entries
    for path in entries:
        assert os.stat(path).st_mode & 0o077 == 0


def test_cache_ls_lists_the_azure_answer_and_clear_removes_it(az_env):
    _open()
    listed = run_credproc("cache", "ls", "--json")
    assert listed.code == 0, listed
    rows = [row for row in json.loads(listed.stdout) if row["kind"] == "azure"]
    assert [row["environment"] for row in rows] == [REF]
    assert az_env.issued[-1]["token"] not in listed.stdout.decode()
    assert run_credproc("cache", "clear", REF).code == 0
    _open()
    assert len(az_env.token_requests()) == 2  # cleared: exchanged again


def test_parallel_opens_on_a_cold_cache_make_one_exchange(az_env):
    import subprocess

    from credtest import CREDPROC

    children = [subprocess.Popen([CREDPROC, "env", "open", REF, "--show-secrets"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for _ in range(6)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * 6, outputs
    tokens = {json.loads(out)["azure"]["login"]["accessToken"] for out, _ in outputs}
    assert len(az_env.token_requests()) == 1  # the refresh lock: one caller exchanged, the others read its answer
    assert tokens == {az_env.issued[0]["token"]}


def test_subject_attributes_extend_the_subject(isolated_env, entra):
    subject = SUBJECT + ":rootEnvironment.name:default/az"
    entra.add_app(TENANT, CLIENT, FederatedCredential(ISSUER_URL, subject, [AUDIENCE]))
    write_environment(isolated_env.env_dir, REF, azure_yaml("subjectAttributes: [rootEnvironment.name]\n"))
    login = _open()["azure"]["login"]
    assert _claims(login["oidc"]["token"])["sub"] == subject
    assert len(entra.issued) == 1


def test_a_bare_authority_host_means_https(az_env, monkeypatch):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"127.0.0.1:{az_env.port}")  # as azure-identity accepts it
    assert _open()["azure"]["login"]["accessToken"] == az_env.issued[-1]["token"]


def test_doctor_checks_an_azure_environment_without_calling_entra(az_env):
    import re

    result = run_credproc("doctor", REF, COLUMNS="1000")  # one line per row
    assert result.code in (0, 1), result  # warnings elsewhere (no AWS profile) are not this test's
    out = result.stdout.decode()
    assert re.search(r"^environment +OK ", out, flags=re.M), result
    assert re.search(rf"^token source +OK .*gave a token \(sub {re.escape(SUBJECT)}, aud {AUDIENCE},", out, flags=re.M), out
    assert re.search(r"^local issuer +OK .*, used by this environment", out, flags=re.M), out
    assert az_env.requests == []
