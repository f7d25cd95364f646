"""`credproc run` with azure-login: the recipe variables, masking, and the federated token file
that run keeps fresh while an Azure SDK program (azure-identity's WorkloadIdentityCredential) runs
past the first token's lifetime (the clock moved as the benchmarks do: tests/support/clock.py)."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from azurehelp import CLIENT, REF, SCOPE, SUBSCRIPTION, TENANT
from credtest import CREDPROC, python_bytecode_env
from entra_standin import ASSERTION_TYPE
from support.clock import shifted_env
from support.runner import run_credproc

CHILD = str(Path(__file__).with_name("azure_child.py"))
DUMP = ("import json, os; p = os.environ['AZURE_FEDERATED_TOKEN_FILE']; "
        "print(json.dumps({**{n: os.environ.get(n) for n in ('ARM_USE_OIDC', 'ARM_CLIENT_ID', 'ARM_TENANT_ID', "
        "'ARM_SUBSCRIPTION_ID', 'ARM_OIDC_TOKEN', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_ACCESS_TOKEN', "
        "'AZURE_FEDERATED_TOKEN_FILE')}, 'content': open(p).read(), 'mode': oct(os.stat(p).st_mode & 0o777)}))")


def _claims(token: str) -> dict:
    from credproc.identity import jwt

    return jwt.decode_unverified(token)[1]


def test_run_hands_the_recipe_variables_and_masks_the_tokens(az_env):
    result = run_credproc("run", REF, "--", sys.executable, "-c", DUMP)
    assert result.code == 0, result
    seen = json.loads(result.stdout)
    assert seen["ARM_USE_OIDC"] == "true"
    assert (seen["ARM_CLIENT_ID"], seen["ARM_TENANT_ID"], seen["ARM_SUBSCRIPTION_ID"]) == (CLIENT, TENANT, SUBSCRIPTION)
    assert (seen["AZURE_CLIENT_ID"], seen["AZURE_TENANT_ID"]) == (CLIENT, TENANT)
    assert seen["ARM_OIDC_TOKEN"] == seen["AZURE_ACCESS_TOKEN"] == seen["content"] == "[secret]"
    assert seen["mode"] == "0o600"
    assert not os.path.exists(seen["AZURE_FEDERATED_TOKEN_FILE"])  # removed when run ends
    (post,) = az_env.token_requests()  # one exchange, by credproc
    assert post.form["client_id"] == CLIENT


@pytest.mark.timeout(240)
def test_the_token_file_stays_fresh_for_an_sdk_running_past_the_first_tokens_lifetime(az_env, clock_file):
    entra = az_env
    started = time.time()
    env = shifted_env(python_bytecode_env(dict(os.environ)), offset_file=clock_file)
    child = subprocess.Popen([CREDPROC, "run", REF, "--", sys.executable, CHILD], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = child.stdout.readline().split()
        assert first[:1] == ["first"], (first, child.stderr.read() if child.poll() is not None else "")
        assert first[2:] == ["0o600", "0o700"]  # the token file and its per-run directory are private
        # An hour and more later (the local issuer's tokens live 5 minutes, Entra's access tokens an hour)
        clock_file.write_text("4000")
        out, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, (out, err)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["second"] != first[1]  # a new access token, obtained with the refreshed file
    assert lines["file"] == "[secret]"  # the new token is masked too
    assert not os.path.exists(lines["path"])
    assert "could not refresh" not in err

    posts = entra.token_requests()
    assertions = [p.form["client_assertion"] for p in posts]
    # credproc's exchange and the SDK's with the first token; after the clock moved, credproc's
    # re-exchange (its cached access token expired) and the SDK's, both with the refreshed token
    assert len(posts) == 4, [p.form.get("client_id") for p in posts]
    assert assertions[0] == assertions[1] != assertions[2] == assertions[3]
    assert _claims(assertions[2])["iat"] >= started + 4000
    assert all(p.form["client_id"] == CLIENT for p in posts)
    for index in (0, 2):  # credproc's own exchanges: exactly these fields
        assert posts[index].form == {"grant_type": "client_credentials", "client_id": CLIENT, "scope": SCOPE,
                                     "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertions[index]}
    assert [i["token"] for i in entra.issued][3:] and len(entra.issued) == 4


def test_an_access_token_interpolated_into_argv_is_warned_about(az_env):
    result = run_credproc("run", REF, "--", sys.executable, "-c", "import sys; print(len(sys.argv[1]))",
                          "${azure.login.accessToken}")
    assert result.code == 0, result
    token = az_env.issued[-1]["token"]
    assert result.stdout.decode().strip() == str(len(token))
    assert result.stderr.splitlines() == [
        f"credproc: warning: argument 3 of {sys.executable} carries a secret (azure.login.accessToken); "
        "any local user can read argv with ps"]
    assert token not in result.stderr


AZ_LOGIN = ('az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" '
            '--federated-token "@$AZURE_FEDERATED_TOKEN_FILE" --skip-subscription-discovery -o none && echo logged-in')


@pytest.mark.skipif(shutil.which("az") is None, reason="the Azure CLI (pip install azure-cli) is not on PATH")
def test_the_readmes_az_recipe_keeps_the_token_out_of_argv(az_env, tmp_path):
    """README "Azure": az reads the token from the file (`@FILE`, az's own expansion of every argument),
    so no JWT is in any argv; az keeps it in AZURE_CONFIG_DIR (service_principal_entries.json, 0600)."""
    config = tmp_path / "azure-config"
    env = dict(os.environ, AZURE_CONFIG_DIR=str(config), AZURE_CORE_INSTANCE_DISCOVERY="false")
    subprocess.run(["az", "cloud", "register", "-n", "StandIn", "--endpoint-active-directory", az_env.url,
                    "--endpoint-resource-manager", "https://127.0.0.1:9/", "--skip-endpoint-discovery",
                    "--endpoint-active-directory-resource-id", "https://management.core.windows.net/"],
                   env=env, check=True, capture_output=True)
    subprocess.run(["az", "cloud", "set", "-n", "StandIn"], env=env, check=True, capture_output=True)
    result = run_credproc("run", REF, "--", "sh", "-c", AZ_LOGIN, env=env, timeout=180)
    assert (result.code, result.stdout) == (0, b"logged-in\n"), result
    assert "carries a secret" not in result.stderr  # nothing interpolated into argv
    credprocs, azs = az_env.token_requests()
    assert azs.form["client_id"] == CLIENT and azs.form["client_assertion_type"] == ASSERTION_TYPE
    assert _claims(azs.form["client_assertion"])["sub"] == _claims(credprocs.form["client_assertion"])["sub"]
    stored = (config / "service_principal_entries.json")
    assert azs.form["client_assertion"] in stored.read_text() and stored.stat().st_mode & 0o077 == 0
