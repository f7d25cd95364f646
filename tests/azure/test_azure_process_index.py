"""`process` on an environment that serves AWS and Azure: the AWS answer is indexed (a hit reads no
YAML and calls no provider), bound to the same token sources and expiring with Entra's access token."""
import json
import os

from azurehelp import AUDIENCE, REF, SUBJECT, azure_yaml
from credtest import write_environment
from support.clock import shifted_env
from support.runner import run_credproc

KEY_ID = "AKIAMULTICLOUD000001"
AWS_VARIABLES = f"""\
AWS_ACCESS_KEY_ID: {KEY_ID}
AWS_SECRET_ACCESS_KEY: multicloud-secret-key
ARM_CLIENT_ID: ${{azure.login.clientId}}
"""
ON_A_HIT_NEVER = ("yaml", "credproc.lang", "credproc.providers", "credproc.store", "cryptography")


def _imported(stderr: str) -> set:
    return {line.split("'")[1] for line in stderr.splitlines() if line.startswith("import '")}


def test_a_second_process_is_an_index_hit_and_the_entry_expires_with_entras_token(
        isolated_env, entra, clock_file):
    write_environment(isolated_env.env_dir, REF, azure_yaml(variables=AWS_VARIABLES))
    first = run_credproc("process", REF)
    assert first.code == 0, first
    assert json.loads(first.stdout)["AccessKeyId"] == KEY_ID
    assert len(entra.token_requests()) == 1
    hit = run_credproc("process", REF, PYTHONVERBOSE="1")
    assert hit.code == 0 and hit.stdout == first.stdout, hit
    modules = _imported(hit.stderr)
    assert "credproc.creds.index" in modules
    assert {m for m in modules for bad in ON_A_HIT_NEVER if m == bad or m.startswith(bad + ".")} == set()
    assert len(entra.token_requests()) == 1
    # Entra's token (1 h) now has less than the 20-minute margin left: the index no longer serves, and
    # the miss path exchanges a new token (the AWS keys themselves never expire).
    clock_file.write_text("2500")
    later = run_credproc("process", REF, env=shifted_env(dict(os.environ), offset_file=clock_file))
    assert later.code == 0 and later.stdout == first.stdout, later
    assert len(entra.token_requests()) == 2


def test_a_new_token_is_a_miss(isolated_env, entra):
    """The index carries the azure-login token source's binding: another token, another exchange."""
    import time

    from credproc.identity import issuer

    token_file = isolated_env.home / "azure-token"
    write_environment(isolated_env.env_dir, REF, azure_yaml(
        extra_inputs=f"token:\n  file: {token_file}\n", variables=AWS_VARIABLES))
    for round_ in range(2):
        token_file.write_text(issuer.load().mint(SUBJECT, audience=AUDIENCE, now=time.time() - round_))
        for _ in range(2):
            result = run_credproc("process", REF)
            assert result.code == 0, result
        assert len(entra.token_requests()) == round_ + 1


def test_another_authority_is_never_served_the_indexed_answer(isolated_env, entra, monkeypatch):
    """The index key covers AZURE_AUTHORITY_HOST (and gcp-login's endpoint variables): a caller
    pointed at another authority gets what opening the environment gives it, here a refusal (a
    re-attack found the first authority's answer served)."""
    write_environment(isolated_env.env_dir, REF, azure_yaml(variables=AWS_VARIABLES))
    assert run_credproc("process", REF).code == 0
    elsewhere = run_credproc("process", REF, AZURE_AUTHORITY_HOST="https://127.0.0.1:1")
    assert elsewhere.code != 0 and elsewhere.stdout == b"", elsewhere
    assert len(entra.token_requests()) == 1
