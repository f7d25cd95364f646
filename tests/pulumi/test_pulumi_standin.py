"""The stand-in Pulumi service answers as the official SDK's models describe the API: its answers
parse into pulumi_esc_sdk's OpenEnvironment, Environment (a properties tree of esc.Values, each with
its trace) and Error, requested through the SDK's own client with `Authorization: token ...`."""
import pulumi_esc_sdk as esc
import pytest
from pulumi_esc_sdk.exceptions import ApiException

from tests.support import pulumidata as data


def client(service, token=data.TOKEN):
    return esc.EscClient(esc.Configuration(host=service.url, access_token=token))


def test_open_then_read_parse_into_the_sdk_models(service):
    sdk = client(service)
    session = sdk.open_environment("acme", "proj", "dev")
    assert isinstance(session, esc.OpenEnvironment) and session.id
    environment, values, raw = sdk.read_open_environment("acme", "proj", "dev", session.id)
    assert isinstance(environment, esc.Environment)
    password = environment.properties["db"].value["password"]
    assert password["secret"] is True and password["value"] == data.DB_PASSWORD
    assert esc.Value.from_dict(password).trace.var_def.environment == "proj/dev"
    assert values["environmentVariables"]["GREETING"] == "hello from pulumi"  # the SDK's own conversion
    assert [r["kind"] for r in service.requests] == ["open", "read"]
    assert all(r["authorized"] for r in service.requests)


def test_the_definition_is_yaml_the_sdk_reads(service):
    definition, raw = client(service).get_environment("acme", "proj", "dev")
    assert isinstance(definition, esc.EnvironmentDefinition)
    assert definition.imports == ["shared"]
    assert b"fn::open::aws-login" in raw


@pytest.mark.parametrize("token, status", [(data.OTHER_TOKEN, 401), ("", 401)])
def test_a_wrong_or_missing_token_is_refused(service, token, status):
    with pytest.raises(ApiException) as caught:
        client(service, token or None).open_environment("acme", "proj", "dev")
    assert caught.value.status == status
    assert esc.Error.from_json(caught.value.body).code == status


def test_an_unknown_environment_or_session_is_404(service):
    sdk = client(service)
    with pytest.raises(ApiException) as caught:
        sdk.open_environment("acme", "proj", "nope")
    assert caught.value.status == 404
    with pytest.raises(ApiException) as caught:
        sdk.read_open_environment("acme", "proj", "dev", "no-such-session")
    assert caught.value.status == 404
