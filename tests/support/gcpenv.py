"""A GCP world for credproc tests: the local issuer set up, the Google stand-in trusting it, and
acme/dev holding an fn::open::gcp-login."""
import os
import subprocess
import textwrap

from support.gcpstandin import GoogleStandIn, WorkloadProvider
from support.store import define

PROJECT = "123456789012"
POOL, PROVIDER = "credproc-pool", "credproc-oidc"
SA = "deploy@acme-prod.iam.gserviceaccount.com"
ISSUER = "https://issuer.gcp-test.invalid"
SUBJECT = "credproc:org:acme:env:default/dev"


def definition(oidc_extra: str = "", variables: str = "", top: str = "") -> str:
    text = textwrap.dedent(f"""\
        values:
          gcp:
            login:
              fn::open::gcp-login:
                project: {PROJECT}
                oidc:
                  workloadPoolId: {POOL}
                  providerId: {PROVIDER}
                  serviceAccount: {SA}
        """) + oidc_extra
    text += "  environmentVariables:\n" + (variables or (
        "    GOOGLE_CLOUD_PROJECT: ${gcp.login.project}\n"
        "    GOOGLE_OAUTH_ACCESS_TOKEN: ${gcp.login.accessToken}\n"
        "    CLOUDSDK_AUTH_ACCESS_TOKEN: ${gcp.login.accessToken}\n"))
    return top + text


class GcpWorld:
    def __init__(self, isolated_env, standin: GoogleStandIn, provider: WorkloadProvider):
        self.env, self.standin, self.provider = isolated_env, standin, provider

    def define(self, text: str, ref: str = "acme/dev"):
        return define(self.env, text, ref)


def start(isolated_env, monkeypatch, credproc: str) -> "tuple[GoogleStandIn, WorkloadProvider]":
    """Issuer init (through the real command line), the stand-in started (caller closes it), the
    endpoint variables set; returns (standin, provider)."""
    for directory in (isolated_env.config_dir, isolated_env.env_dir):
        directory.mkdir(mode=0o700, exist_ok=True)
    init = subprocess.run([credproc, "issuer", "init", "--url", ISSUER], capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    from credproc.identity import issuer

    standin = GoogleStandIn().__enter__()
    provider = standin.add_provider(WorkloadProvider(PROJECT, POOL, PROVIDER, ISSUER, issuer.load().jwks(),
                                                     allowed_audiences=["gcp:acme"],
                                                     condition=lambda claims: claims.get("sub") == SUBJECT))
    standin.add_service_account(SA, provider.principal(SUBJECT))
    monkeypatch.setenv("CREDPROC_GCP_STS_URL", standin.sts_url)
    monkeypatch.setenv("CREDPROC_GCP_IAM_CREDENTIALS_URL", standin.iam_url)
    monkeypatch.delenv("CREDPROC_RUN", raising=False)
    assert os.environ["CREDPROC_GCP_STS_URL"].startswith("http://127.0.0.1:")
    return standin, provider
