"""The secret providers' error mapping, with a fake client (moto does not enforce IAM or throttle)."""
import pytest
from botocore.exceptions import ClientError

from credproc.errors import ConfigError, StsRefused, TransientError
from credproc.lang.provider import OpenContext
from credproc.lang.values import Value
from credproc.providers.aws_secrets import AwsParameterStoreProvider, AwsSecretsProvider

LOGIN = {"accessKeyId": Value("AKIAFAKECLIENT00001"), "secretAccessKey": Value("fake-secret-key-xyz", secret=True)}
CTX = OpenContext(environment="dev", root_environment="dev", path="s",
                  exec_context={"pulumi": {"organization": {"login": "acme"}}})


class FailingClient:
    def __init__(self, code, message):
        self.error = ClientError({"Error": {"Code": code, "Message": message}}, "Get")

    def get_secret_value(self, **_):
        raise self.error

    def get_parameter(self, **_):
        raise self.error


def _open(provider_class, code, message, entry):
    provider = provider_class(client_factory=lambda *_: FailingClient(code, message))
    inputs = Value({"region": Value("eu-central-1"), "login": Value(dict(LOGIN)),
                    "get": Value({"db": Value({k: Value(v) for k, v in entry.items()})})})
    with pytest.raises(Exception) as caught:
        provider.open(inputs, CTX)
    return caught.value


@pytest.mark.parametrize("code, kind, words", [
    ("AccessDeniedException", StsRefused, "access denied"),
    ("ThrottlingException", TransientError, "throttled"),
    ("ResourceNotFoundException", ConfigError, "not found in eu-central-1"),
    ("DecryptionFailure", StsRefused, "refused the request (DecryptionFailure"),
])
def test_secrets_errors_name_the_entry_and_what_went_wrong(code, kind, words):
    err = _open(AwsSecretsProvider, code, "User: arn:aws:sts::1:assumed-role/r/s is not authorized", {"secretId": "prod-db"})
    assert isinstance(err, kind)
    assert str(err).startswith("get.db: secret 'prod-db'")
    assert words in str(err)
    assert "fake-secret-key-xyz" not in str(err) and "\n" not in str(err)


def test_parameter_store_access_denied_names_the_permissions():
    err = _open(AwsParameterStoreProvider, "AccessDeniedException", "no", {"name": "/app/x", "decrypt": True})
    assert isinstance(err, StsRefused)
    assert "ssm:GetParameter" in (err.hint or "")
