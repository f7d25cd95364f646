"""The expiry credproc derives for an environment of Pulumi Cloud (ESC gives none for AWS keys):
open time + the shortest aws-login oidc.duration of the definition and its imports, ESC's 2h when
a login gives none, at most 1h when something cannot be read, never over 12h; the open session is
requested for exactly that long."""
import json
import time

import pytest

from credproc.cache import parse_expiration
from credproc.store.pulumicloud import go_duration_seconds, scan_definition
from tests.support import pulumidata as data

pytestmark = pytest.mark.timeout(120)

LOGIN = """values:
  aws:
    login:
      fn::open::aws-login:
{inputs}
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
    AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
"""
OIDC = "        oidc:\n          roleArn: arn:aws:iam::123456789012:role/esc\n          sessionName: esc\n"


def definition(inputs: str, imports=()) -> str:
    head = "imports:\n" + "".join(f"  - {i}\n" for i in imports) if imports else ""
    return head + LOGIN.format(inputs=inputs.rstrip("\n"))


def lifetime(service, cli, text: str, **others) -> int:
    """The open duration credproc asked for, after checking the expiry it printed matches it."""
    service.add("acme/proj/dev", text, data.VALUES, data.SECRETS)
    for name, other in others.items():
        service.add(f"acme/{name.replace('__', '/')}", other, {})
    before = time.time()
    result = cli("process", data.REF)
    assert result.code == 0, result
    opens = [r for r in service.requests if r["kind"] == "open"]
    seconds = int(opens[-1]["query"]["duration"][0].rstrip("s"))
    expires = parse_expiration(json.loads(result.stdout)["Expiration"])
    assert int(before) + seconds - 1 <= expires <= time.time() + seconds
    return seconds


def test_the_login_duration(service, cli):
    assert lifetime(service, cli, definition(OIDC + "          duration: 1h30m\n")) == 5400


def test_esc_default_when_the_login_gives_no_duration(service, cli):
    assert lifetime(service, cli, definition(OIDC)) == 7200


def test_the_shortest_duration_of_an_import(service, cli):
    imported = definition(OIDC + "          duration: 50m\n")
    assert lifetime(service, cli, definition(OIDC + "          duration: 2h\n", imports=["base/login"]),
                    base__login=imported) == 3000


def test_default_project_imports_are_read_too(service, cli):
    imported = definition(OIDC + "          duration: 40m\n")
    assert lifetime(service, cli, definition(OIDC, imports=["login"]), default__login=imported) == 2400


def test_an_import_that_cannot_be_read_bounds_it_by_the_default(service, cli):
    assert lifetime(service, cli, definition(OIDC + "          duration: 2h\n", imports=["gone"])) == 3600


def test_static_keys_get_the_default(service, cli):
    static = "        static:\n          accessKeyId: AKIASTATIC\n          secretAccessKey: s\n"
    assert lifetime(service, cli, definition(static)) == 3600


def test_a_definition_that_cannot_be_read_gives_the_default(service, cli):
    service.fail["definition"] = 403
    assert lifetime(service, cli, definition(OIDC + "          duration: 3h\n")) == 3600


def test_a_duration_that_is_not_a_literal_is_bounded_by_the_default(service, cli):
    assert lifetime(service, cli, definition(OIDC + "          duration: ${length}\n")) == 3600


def test_never_more_than_twelve_hours(service, cli):
    assert lifetime(service, cli, definition(OIDC + "          duration: 36h\n")) == 12 * 3600


def test_the_long_form_of_fn_open_counts():
    doc = {"values": {"a": {"fn::open": {"provider": "aws-login", "inputs": {"oidc": {"duration": "20m"}}}},
                      "b": [{"fn::open::aws-login": {"oidc": {"duration": "1h"}}}]},
           "imports": ["x", "p/y", {"z": {"merge": False}}]}
    assert scan_definition(doc) == ([1200.0, 3600.0], [("default", "x"), ("p", "y"), ("default", "z")], False)


@pytest.mark.parametrize("text, seconds", [
    ("1h", 3600), ("90m", 5400), ("1h30m", 5400), ("1.5h", 5400), ("3600s", 3600), ("2h45m0s", 9900),
    ("300ms", 0.3), ("0s", None), ("-1h", None), ("1d", None), ("", None), ("h", None), (3600, None),
])
def test_go_durations(text, seconds):
    assert go_duration_seconds(text) == seconds
