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


def _paste_into_sh(text: str, tmp_path) -> list:
    """Run ``text`` in a real `sh` with a stub `gcloud` first on PATH; returns the argument lists
    the stub was called with (one JSON line each)."""
    import os
    import subprocess
    import sys

    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    calls = tmp_path / "gcloud-calls"
    stub = stub_dir / "gcloud"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
    stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{stub_dir}:/usr/bin:/bin", MARK_DIR=str(tmp_path))
    ran = subprocess.run(["sh"], input=text.encode(), env=env, capture_output=True, timeout=60, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


@pytest.mark.parametrize("value", [
    "bob\ntouch \"$MARK_DIR/pwned\" #",                # a newline ending the comment line
    "bob'; touch \"$MARK_DIR/pwned\"; echo '",          # quotes
    "bob$(touch \"$MARK_DIR/pwned\")`touch \"$MARK_DIR/pwned\"`",  # substitutions
    "bob\" && touch \"$MARK_DIR/pwned\" #",
])
def test_the_printed_commands_run_in_sh_run_gcloud_and_nothing_else(google, tmp_path, value):
    result = run_credproc("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--project-number", PROJECT,
                          "--pool", POOL, "--provider", PROVIDER, "--service-account", SA,
                          "--subject-attribute", f"pulumi.user.login={value}")
    if "\n" in value:
        assert result.code == 2 and result.stdout == b""
        assert result.stderr.count("\n") == 1
        assert result.first_line.startswith("credproc: --subject-attribute #1 contains a control character: ")
        return
    assert result.code == 0, result
    calls = _paste_into_sh(result.stdout.decode(), tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert [call[:5] for call in calls] == [["iam", "workload-identity-pools", "providers", "create-oidc", PROVIDER],
                                            ["iam", "service-accounts", "add-iam-policy-binding", SA,
                                             "--role=roles/iam.workloadIdentityUser"]]
    subject = "credproc:org:acme:env:default/dev:pulumi.user.login:" + value.replace("%", "%25").replace(":", "%3A")
    assert f"--attribute-condition=assertion.sub == {json.dumps(subject)}" in calls[0]
    assert calls[1][-1] == f"--member=principal://iam.googleapis.com/projects/{PROJECT}/locations/global/" \
                           f"workloadIdentityPools/{POOL}/subject/{subject}"


def test_no_comment_line_holds_user_text(google):
    result = run_credproc("issuer", "trust-policy", "acme/dev", "--cloud", "gcp",
                          "--subject-attribute", "pulumi.user.login=bob-the-builder")
    assert result.code == 0, result
    comments = [line for line in result.stdout.decode().splitlines() if line.lstrip().startswith("#")]
    assert comments and not any("bob-the-builder" in line or "acme" in line for line in comments)


@pytest.mark.parametrize("option, value, expected", [
    ("--subject-attribute", "pulumi.user.login=b\x1b]52;c;aGk=\x07ob", "--subject-attribute #1 contains a control character: "),
    ("--location", "global\x1b[2J", "--location contains a control character: 'global\\x1b[2J'"),
    ("--audience", "gcp:acme\r", "--audience contains a control character: "),
    ("--project-number", "¹²³", "--project-number must be a project number (digits, e.g. 123456789012) (as gcp-login "
                                "requires), got '¹²³'"),
    ("--project-number", "my-project", "--project-number must be a project number"),
    ("--pool", "Credproc_Pool", "--pool must be a workload identity pool id"),
    ("--provider", "x", "--provider must be a provider id"),
    ("--location", "us central1", "--location must be a location such as global"),
    ("--service-account", "deploy", "--service-account must be a service account e-mail"),
    ("--service-account", "a@b.iam.gserviceaccount.com\n", "--service-account contains a control character"),
])
def test_options_gcp_login_would_refuse_are_refused(google, option, value, expected):
    result = run_credproc("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", option, value)
    assert result.code == 2 and result.stdout == b""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.first_line.startswith("credproc: " + expected), result.first_line
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


@pytest.mark.parametrize("name", ["ac,me/dev", "acme/$(id)", "acme/de`v`", "ac;me/dev"])
def test_a_name_env_init_would_refuse_is_refused(google, name):
    """The local issuer mints for environments of the local store: their name rule holds here too
    (a comma split gcloud's audience list in two)."""
    result = run_credproc("issuer", "trust-policy", name, "--cloud", "gcp", "--project-number", "123",
                          "--pool", "pool1", "--provider", "prov1",
                          "--service-account", "sa@x.iam.gserviceaccount.com")
    assert result.code == 2 and result.stdout == b"", result
    assert result.first_line.startswith(f"credproc: invalid environment name {name!r}"), result.first_line
