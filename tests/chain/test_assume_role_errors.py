"""sts.assume_role's errors, with a stand-in STS client: one line naming the role and the login,
never the login's secret key or session token (even when STS quotes them back)."""
import pytest
from botocore.exceptions import ClientError

from credproc.errors import StsRefused
from credproc.providers import sts

ROLE = "arn:aws:iam::210987654321:role/deploy"
LOGIN = {"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENVALUE0123456789"}


class RefusingSts:
    def __init__(self, code, message="refused", caller=None):
        self.code, self.message, self.caller = code, message, caller

    def assume_role(self, **request):
        error = {"Error": {"Code": self.code, "Message": self.message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
        raise ClientError(error, "AssumeRole")

    def get_caller_identity(self):
        if self.caller is None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetCallerIdentity")
        return {"Arn": self.caller}


def refused(client) -> StsRefused:
    with pytest.raises(StsRefused) as caught:
        sts.assume_role(login=LOGIN, role_arn=ROLE, request={"RoleSessionName": "s", "DurationSeconds": 3600},
                        region="us-east-1", client_factory=lambda region, login: client)
    return caught.value


def test_access_denied_names_the_role_and_who_asked():
    error = refused(RefusingSts("AccessDenied", caller="arn:aws:sts::123456789012:assumed-role/esc-dev/me"))
    assert str(error).startswith(f"STS denied assuming role {ROLE} (AccessDenied) to "
                                 "arn:aws:sts::123456789012:assumed-role/esc-dev/me")


def test_access_denied_names_the_access_key_when_sts_will_not_say_who_it_is():
    assert f"to access key {LOGIN['accessKeyId']}:" in str(refused(RefusingSts("AccessDenied")))


def test_expired_login_keys_are_named_as_such():
    error = refused(RefusingSts("ExpiredToken", "The security token included in the request is expired"))
    assert "STS did not accept the login keys (access key ASIAIOSFODNN7EXAMPLE)" in str(error)
    assert "(ExpiredToken)" in str(error)


def test_an_echoed_secret_or_session_token_is_redacted():
    echo = f"bad request {LOGIN['secretAccessKey']} {LOGIN['sessionToken']}"
    error = refused(RefusingSts("MalformedPolicyDocument", echo))
    text = f"{error} {error.hint}"
    assert LOGIN["secretAccessKey"] not in text and LOGIN["sessionToken"] not in text
    assert ROLE in text and "\n" not in str(error)
