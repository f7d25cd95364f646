"""install/aws/credproc-oidc-role.yaml: valid CloudFormation, and the very trust policy credproc prints."""
import base64
import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, "install", "aws", "credproc-oidc-role.yaml")
BIN = os.path.dirname(sys.executable)
ACCOUNT = "123456789012"


def test_cfn_lint_passes():
    result = subprocess.run([os.path.join(BIN, "cfn-lint"), TEMPLATE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- a small renderer for the intrinsic functions the template uses --------------------------------

class _Tag:
    def __init__(self, name, value):
        self.name, self.value = name, value


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return _Tag(suffix, value)


_CfnLoader.add_multi_constructor("!", _construct)


def load_template():
    with open(TEMPLATE, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)


class Renderer:
    """Evaluates Ref, Sub, Select, Split, Join, If, Equals, Not with concrete parameters."""

    def __init__(self, template, parameters):
        self.template = template
        self.values = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
        self.values.update(parameters)
        self.values.update({"AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::NoValue": None})
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self.render(self.template["Conditions"][name])
        return self.conditions[name]

    def render(self, node):
        if isinstance(node, _Tag):
            return self.function(node.name, node.value)
        if isinstance(node, dict) and len(node) == 1:
            (key, value), = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self.function(key.replace("Fn::", ""), value)
        if isinstance(node, dict):
            return {k: self.render(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.render(v) for v in node]
        return node

    def function(self, name, arg):
        if name == "Ref":
            value = self.values[arg]
            return value.split(",") if self._is_list_param(arg) and isinstance(value, str) else value
        if name == "Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.render(arg[1]))
            scope = dict(self.values, **extra)
            out, i = "", 0
            while i < len(text):
                if text.startswith("${", i):
                    end = text.index("}", i)
                    out += str(scope[text[i + 2:end]])
                    i = end + 1
                else:
                    out += text[i]
                    i += 1
            return out
        if name == "Select":
            index, items = self.render(arg[0]), self.render(arg[1])
            return items[int(index)]
        if name == "Split":
            return self.render(arg[1]).split(arg[0])
        if name == "Join":
            return arg[0].join(self.render(arg[1]))
        if name == "Equals":
            return self.render(arg[0]) == self.render(arg[1])
        if name == "Not":
            return not self.render(arg[0])
        if name == "If":
            return self.render(arg[1] if self.condition(arg[0]) else arg[2])
        raise AssertionError(f"the test's renderer does not know {name}")

    def _is_list_param(self, name):
        spec = self.template["Parameters"].get(name)
        return bool(spec) and spec["Type"] == "CommaDelimitedList"


def rendered_trust_policy(issuer_url, org, project, environment, **more):
    template = load_template()
    params = dict(IssuerUrl=issuer_url, Organization=org, Project=project, Environment=environment, **more)
    renderer = Renderer(template, params)
    role = template["Resources"]["EnvironmentRole"]["Properties"]
    policy = json.loads(renderer.render(role["AssumeRolePolicyDocument"]))
    return policy, renderer, template


def credproc(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "credproc", *args], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def token_subject(org, environment):
    """The `sub` a real token from the local issuer carries for this environment (decoded, not verified)."""
    from credproc.identity.tokens import TokenContext
    from credproc.identity.tokens.local import LocalIssuerTokenSource

    source = LocalIssuerTokenSource(TokenContext(org=org, environment=environment, root_environment=environment))
    token = source.fetch()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.mark.parametrize("ref, project, env_name", [
    ("acme/dev", "default", "dev"),
    ("acme/payments/prod", "payments", "prod"),
])
def test_template_trust_policy_is_what_credproc_prints(ref, project, env_name):
    url = "https://oidc.example.com/credproc"
    credproc("issuer", "init", "--url", url)
    printed = json.loads(credproc("issuer", "trust-policy", ref, "--account", ACCOUNT).stdout)
    policy, renderer, template = rendered_trust_policy(url, "acme", project, env_name)

    # Same claim names (the condition keys), same values, same principal: the same document.
    printed_condition = printed["Statement"][0]["Condition"]["StringEquals"]
    template_condition = policy["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(template_condition) == sorted(printed_condition) == [
        "oidc.example.com/credproc:aud", "oidc.example.com/credproc:sub"]
    assert policy == printed

    # And a token the local issuer mints for this environment carries exactly that sub and aud.
    claims = token_subject("acme", ref.split("/", 1)[1])
    assert claims["sub"] == template_condition["oidc.example.com/credproc:sub"]
    assert claims["aud"] == template_condition["oidc.example.com/credproc:aud"] == "sts.amazonaws.com"
    assert claims["iss"] == url

    # The template's Subject output and provider agree too.
    assert renderer.render(template["Outputs"]["Subject"]["Value"]) == claims["sub"]
    provider = template["Resources"]["OidcProvider"]["Properties"]
    assert renderer.render(provider["Url"]) == url
    assert renderer.render(provider["ClientIdList"]) == ["sts.amazonaws.com"]


def test_template_audience_parameter_reaches_provider_and_policy():
    url = "https://issuer.example.org"
    credproc("issuer", "init", "--url", url, "--audience", "my-audience")
    printed = json.loads(credproc("issuer", "trust-policy", "acme/dev", "--account", ACCOUNT).stdout)
    policy, renderer, template = rendered_trust_policy(url, "acme", "default", "dev", Audience="my-audience")
    assert policy == printed
    assert renderer.render(template["Resources"]["OidcProvider"]["Properties"]["ClientIdList"]) == ["my-audience"]


def test_template_outputs_the_role_arn_and_rejects_a_trailing_slash():
    import re

    template = load_template()
    role_arn = template["Outputs"]["RoleArn"]["Value"]
    assert isinstance(role_arn, _Tag) and role_arn.name == "GetAtt" and role_arn.value == "EnvironmentRole.Arn"
    pattern = re.compile(template["Parameters"]["IssuerUrl"]["AllowedPattern"])
    assert pattern.match("https://oidc.example.com/credproc")
    assert pattern.match("https://oidc.example.com")
    for bad in ("https://oidc.example.com/", "http://oidc.example.com", "oidc.example.com", "https://x.com/a?b"):
        assert not pattern.match(bad), bad
