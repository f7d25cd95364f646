"""One stand-in for "plan, don't call STS": `doctor` and `login` both look at an environment's
aws-login blocks through credproc.providers.aws_login.PlanningAwsLogin (each had its own copy, one
returning placeholders, the other unknown values), and neither reaches STS or the STS cache."""
import pytest

from credproc.commands import login
from credproc.commands.doctor import checks as doctor
from credproc.providers import aws_login
from credproc.store.store import Store, parse_name

ENV = """values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: arn:aws:iam::123456789012:role/deploy
          sessionName: planning
          token:
            login:
              issuer: https://login.example.com
              clientId: credproc-test
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
"""


@pytest.fixture
def planned(monkeypatch):
    Store().write(parse_name("acme/plan"), ENV.encode())
    made = []
    real_init = aws_login.PlanningAwsLogin.__init__

    def counting_init(self, plan):
        made.append(self)
        real_init(self, plan)

    def no_sts(*_args, **_kwargs):
        raise AssertionError("a planning command reached the STS path")

    monkeypatch.setattr(aws_login.PlanningAwsLogin, "__init__", counting_init)
    monkeypatch.setattr(aws_login.AwsLoginProvider, "_cached_or_refreshed", no_sts)
    return made


def test_login_plans_through_the_stand_in(planned):
    requests = login.login_requests("acme/plan")
    assert [r.role_arn for r in requests] == ["arn:aws:iam::123456789012:role/deploy"]
    assert len(planned) == 1


def test_doctor_plans_through_the_same_stand_in(planned):
    rows, probes = doctor.check_environment("acme/plan")
    assert [p["role"] for p in probes] == ["arn:aws:iam::123456789012:role/deploy"]
    assert len(planned) == 1
    assert rows


def test_the_stand_in_answers_unknown_outputs():
    outputs = aws_login.unknown_outputs().value
    assert sorted(outputs) == ["accessKeyId", "expiration", "secretAccessKey", "sessionToken"]
    assert all(v.unknown for v in outputs.values())
