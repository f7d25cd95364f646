"""`credproc issuer trust-policy ORG/ENV --cloud gcp`: the gcloud commands it prints configure a
provider (here the stand-in, set up from the printed flags) that admits exactly ORG/ENV."""
import json
import shlex

import pytest

from credtest import CREDPROC
from support import gcpenv
from support.gcpenv import POOL, PROJECT, PROVIDER, SA, definition
from support.gcpstandin import WorkloadProvider
from support.runner import run_credproc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def google(isolated_env, monkeypatch):
    standin, provider = gcpenv.start(isolated_env, monkeypatch, CREDPROC)
    try:
        yield gcpenv.GcpWorld(isolated_env, standin, provider)
    finally:
        standin.__exit__(None, None, None)


def printed_flags(*extra) -> dict:
    result = run_credproc("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--project-number", PROJECT,
                          "--pool", POOL, "--provider", PROVIDER, "--service-account", SA, *extra)
    assert result.code == 0, result
    words = shlex.split(result.stdout.decode().replace("\\\n", " "), comments=True)
    flags = {}
    for word in words:
        name, sep, value = word.partition("=")
        if sep and name.startswith("--"):
            flags[name] = value
    assert words[:5] == ["gcloud", "iam", "workload-identity-pools", "providers", "create-oidc"]
    return flags


def test_the_printed_provider_admits_exactly_this_environment(google):
    flags = printed_flags()
    assert flags["--issuer-uri"] == gcpenv.ISSUER
    assert flags["--allowed-audiences"] == "gcp:acme"
    assert flags["--attribute-mapping"] == "google.subject=assertion.sub"
    assert flags["--attribute-condition"] == 'assertion.sub == "credproc:org:acme:env:default/dev"'
    assert flags["--role"] == "roles/iam.workloadIdentityUser"
    # The stand-in, configured from exactly what was printed (the condition's one string literal):
    subject = json.loads(flags["--attribute-condition"].split("== ", 1)[1])
    standin = google.standin
    standin.providers.clear()
    standin.grants.clear()
    provider = standin.add_provider(WorkloadProvider(
        flags["--project"], flags["--workload-identity-pool"], PROVIDER, flags["--issuer-uri"],
        google.provider.jwks, location=flags["--location"], allowed_audiences=[flags["--allowed-audiences"]],
        condition=lambda claims: claims.get("sub") == subject))
    standin.add_service_account(SA, flags["--member"])
    assert flags["--member"] == provider.principal(subject)
    google.define(definition())
    assert run_credproc("env", "open", "acme/dev").code == 0
    google.define(definition(), ref="acme/other")
    other = run_credproc("run", "acme/other", "--", "true")
    assert other.code == 5 and "attribute condition" in other.stderr


def test_subject_attributes_and_audience_are_those_of_the_definition(google):
    flags = printed_flags("--subject-attribute", "pulumi.user.login=alice", "--audience", "gcp:custom")
    assert flags["--allowed-audiences"] == "gcp:custom"
    assert flags["--attribute-condition"] == \
        'assertion.sub == "credproc:org:acme:env:default/dev:pulumi.user.login:alice"'


def test_aws_stays_the_default_and_still_needs_an_account(google):
    result = run_credproc("issuer", "trust-policy", "acme/dev")
    assert result.code == 2
    assert result.first_line == ("credproc: --account is required with --cloud aws (the 12-digit account id of "
                                 "the IAM OIDC provider) (hint: credproc issuer trust-policy --help)")
    aws = run_credproc("issuer", "trust-policy", "acme/dev", "--account", "123456789012")
    assert json.loads(aws.stdout)["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_env_init_template_gcp_is_a_valid_environment_that_opens(google):
    made = run_credproc("env", "init", "acme/dev", "--template", "gcp")
    assert made.code == 0, made
    assert "edit project, workloadPoolId, providerId and serviceAccount" in made.stderr
    assert run_credproc("env", "check", "acme/dev").code == 0
    path = google.env.env_dir / "acme" / "dev.yaml"
    text = path.read_text()
    assert "credproc issuer trust-policy acme/dev --cloud gcp" in text and "@@" not in text
    # With the stand-in's names filled in, it opens and runs as written.
    path.write_text(text.replace("123456789012", PROJECT).replace("credproc-pool", POOL)
                    .replace("credproc-oidc", PROVIDER).replace("deploy@my-project-id.iam.gserviceaccount.com", SA))
    result = run_credproc("run", "acme/dev", "--", "sh", "-c", 'echo "$CLOUDSDK_CORE_PROJECT $GOOGLE_CLOUD_PROJECT"')
    assert result.code == 0, result
    assert result.stdout.decode() == f"my-project-id {PROJECT}\n"
