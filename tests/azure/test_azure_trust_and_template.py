"""`credproc issuer trust-policy --cloud azure` (the Entra ID federated credential) and
`credproc env init --template azure`, through the real command line."""
import json

from azurehelp import AUDIENCE, CLIENT, ISSUER_URL, REF, SUBJECT, TENANT, azure_yaml
from credtest import write_environment
from entra_standin import FederatedCredential
from support.runner import assert_clean_failure, run_credproc


def test_the_federated_credential_lists_exactly_what_entra_matches(issuer):
    result = run_credproc("issuer", "trust-policy", REF, "--cloud", "azure")
    assert result.code == 0, result
    assert json.loads(result.stdout) == {
        "name": "credproc-acme-default-az", "issuer": ISSUER_URL, "subject": SUBJECT, "audiences": [AUDIENCE],
        "description": "credproc environment acme/az",
    }


def test_subject_attributes_and_audience(issuer):
    result = run_credproc("issuer", "trust-policy", "acme/proj/prod", "--cloud", "azure", "--audience",
                          "api://AzureADTokenExchange", "--subject-attribute", "pulumi.user.login=alice")
    credential = json.loads(result.stdout)
    assert credential["subject"] == "credproc:org:acme:env:proj/prod:pulumi.user.login:alice"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["name"] == "credproc-acme-proj-prod"


def test_what_it_prints_is_what_the_stand_in_then_accepts(isolated_env, entra):
    """The printed credential, configured as is, admits the environment's tokens (and nothing else)."""
    entra.tenants[TENANT][CLIENT] = []
    write_environment(isolated_env.env_dir, REF, azure_yaml())
    assert run_credproc("env", "open", REF).code == 2  # no federated credential yet: AADSTS70021
    printed = json.loads(run_credproc("issuer", "trust-policy", REF, "--cloud", "azure").stdout)
    entra.add_app(TENANT, CLIENT, FederatedCredential(printed["issuer"], printed["subject"], printed["audiences"]))
    assert run_credproc("env", "open", REF).code == 0


def test_aws_output_is_unchanged_and_still_needs_an_account(issuer):
    expected = json.dumps(issuer.trust_policy("123456789012", "credproc:org:acme:env:default/dev"),
                          indent=2, sort_keys=True) + "\n"
    for extra in ((), ("--cloud", "aws")):
        result = run_credproc("issuer", "trust-policy", "acme/dev", "--account", "123456789012", *extra)
        assert result.code == 0 and result.stdout.decode() == expected, result
    missing = run_credproc("issuer", "trust-policy", "acme/dev")
    assert_clean_failure(missing, 2)
    assert "--account is required with --cloud aws" in missing.first_line


def test_aws_options_are_refused_with_azure(issuer):
    result = run_credproc("issuer", "trust-policy", REF, "--cloud", "azure", "--account", "123456789012")
    assert_clean_failure(result, 2)
    assert "--account applies to --cloud aws, not --cloud azure" in result.first_line


def test_env_init_template_azure_is_a_valid_environment_with_the_recipes(isolated_env):
    made = run_credproc("env", "init", "acme/cloud", "--template", "azure")
    assert made.code == 0, made
    assert "edit clientId, tenantId and subscriptionId" in made.stderr
    checked = run_credproc("env", "check", "acme/cloud")
    assert checked.code == 0, checked
    text = (isolated_env.env_dir / "acme" / "cloud.yaml").read_text()
    assert "fn::open::azure-login:" in text and "@@" not in text
    for name in ("ARM_USE_OIDC", "ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID", "AZURE_CLIENT_ID",
                 "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH"):
        assert f"    {name}: " in text
    assert "credproc issuer trust-policy acme/cloud --cloud azure" in text
