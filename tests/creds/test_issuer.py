import json
import os
import stat
import time

import pytest

from credproc import cli
from credproc.identity import issuer
from credproc.identity import jwt
from credproc.identity import tokens
from credproc.errors import ConfigError, UsageError

URL = "https://oidc.example.com/credproc"


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_creates_private_key_and_settings(isolated_env):
    local = issuer.init(URL + "/")
    assert local.url == URL  # trailing slash dropped: `iss` must match the IAM provider URL exactly
    directory = isolated_env.config_dir / "issuer"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(isolated_env.config_dir).st_mode) == 0o700
    key = directory / "key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    settings = json.loads((directory / "issuer.json").read_text())
    assert settings["url"] == URL and settings["audience"] == "sts.amazonaws.com"
    assert not [p for p in os.listdir(directory) if p.endswith(".tmp")]


def test_init_refuses_http_and_second_init():
    with pytest.raises(UsageError, match="https://"):
        issuer.init("http://oidc.example.com")
    with pytest.raises(UsageError, match="query"):
        issuer.init("https://oidc.example.com/?a=b")
    issuer.init(URL)
    with pytest.raises(ConfigError, match="already set up") as info:
        issuer.init(URL)
    assert "--force" in info.value.hint


def test_not_set_up_says_how():
    with pytest.raises(ConfigError) as info:
        issuer.load()
    assert "not set up" in str(info.value)
    assert "credproc issuer init --url https://" in info.value.hint
    with pytest.raises(ConfigError, match="not set up"):
        tokens.resolve(None, tokens.TokenContext(org="acme", environment="dev", root_environment="dev"))


def test_cli_not_set_up_is_exit_2(capsys):
    code, out, err = run_cli(capsys, "issuer", "show")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith("credproc: the local OIDC issuer is not set up")
    assert "credproc issuer init --url" in err


def test_insecure_key_is_refused(isolated_env):
    issuer.init(URL)
    key = isolated_env.config_dir / "issuer" / "key.pem"
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match="is accessible by group or others") as info:
        issuer.load()
    assert info.value.hint == f"chmod 600 {key}"


def test_minted_token_claims_and_signature_verify_against_published_jwks():
    local = issuer.init(URL, audience="my-aud")
    before = int(time.time())
    sub = issuer.subject("acme", "proj/dev", [("pulumi.user.login", "al:ice")])
    token = local.mint(sub)
    payload = jwt.verify_rs256(token, local.jwks())
    header, _ = jwt.decode_unverified(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": local.kid}
    assert payload["iss"] == URL and payload["aud"] == "my-aud"
    assert payload["sub"] == "credproc:org:acme:env:proj/dev:pulumi.user.login:al%3Aice"
    assert before <= payload["iat"] <= payload["exp"] - 300 + 1
    assert payload["exp"] - payload["iat"] == issuer.TOKEN_LIFETIME_SECONDS
    assert len(payload["jti"]) >= 16 and payload["jti"] != jwt.decode_unverified(local.mint(sub))[1]["jti"]


def test_subject_format_is_stable():
    assert issuer.subject("acme", "dev") == "credproc:org:acme:env:default/dev"
    assert issuer.subject("acme", "web/prod", [("team", "a"), ("x", "50%")]) == \
        "credproc:org:acme:env:web/prod:team:a:x:50%25"
    assert issuer.split_environment("acme/dev") == ("acme", "default/dev")
    assert issuer.split_environment("acme/web/prod") == ("acme", "web/prod")
    with pytest.raises(UsageError):
        issuer.split_environment("acme")


def test_show_prints_discovery_and_jwks_that_verify_tokens(capsys):
    assert run_cli(capsys, "issuer", "init", "--url", URL)[0] == 0
    code, out, _ = run_cli(capsys, "issuer", "show", "--discovery-only")
    discovery = json.loads(out)
    assert code == 0 and discovery["issuer"] == URL
    assert discovery["jwks_uri"].startswith(URL + "/")
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    code, out, _ = run_cli(capsys, "issuer", "show", "--jwks-only")
    jwks = json.loads(out)
    source = tokens.resolve(None, tokens.TokenContext(org="acme", environment="dev", root_environment="dev"))
    token = source.fetch()
    assert jwt.verify_rs256(token, jwks)["sub"] == "credproc:org:acme:env:default/dev"
    code, out, _ = run_cli(capsys, "issuer", "show")
    both = json.loads(out)
    assert both["jwks"] == jwks and both["discovery"] == discovery


def test_force_rotation_keeps_the_old_public_key_published():
    old = issuer.init(URL)
    token = old.mint("s")
    new = issuer.init(URL, force=True)
    assert new.kid != old.kid
    jwks = issuer.load().jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new.kid, old.kid]
    assert jwt.verify_rs256(token, jwks)["sub"] == "s"  # tokens in flight still verify


def test_trust_policy_admits_exactly_one_environment(capsys):
    issuer.init(URL)
    code, out, err = run_cli(capsys, "issuer", "trust-policy", "acme/web/prod", "--account", "123456789012",
                             "--subject-attribute", "pulumi.user.login=alice")
    assert code == 0, err
    policy = json.loads(out)
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/credproc"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        "oidc.example.com/credproc:aud": "sts.amazonaws.com",
        "oidc.example.com/credproc:sub": "credproc:org:acme:env:web/prod:pulumi.user.login:alice",
    }}
    # the sub matches what the local token source mints for that environment
    source = tokens.resolve(None, tokens.TokenContext(
        org="acme", environment="web/prod", root_environment="web/prod",
        subject_attributes=(("pulumi.user.login", "alice"),)))
    source.fetch()
    assert source.claims["sub"] == statement["Condition"]["StringEquals"]["oidc.example.com/credproc:sub"]
    assert source.claims["aud"] == "sts.amazonaws.com"


def test_trust_policy_bad_arguments(capsys):
    issuer.init(URL)
    code, out, err = run_cli(capsys, "issuer", "trust-policy", "acme/dev", "--account", "12")
    assert code == 2 and out == "" and err.startswith("credproc: --account must be a 12-digit")
    code, out, err = run_cli(capsys, "issuer", "trust-policy", "acme", "--account", "123456789012")
    assert code == 2 and "ORG/ENV" in err


def test_local_source_identity_has_no_secret_and_no_key_import(isolated_env):
    issuer.init(URL)
    source = tokens.resolve(None, tokens.TokenContext(org="acme", environment="dev", root_environment="dev",
                                                      audience="aud-2"))
    identity = source.identity()
    assert identity["kind"] == "local" and identity["url"] == URL
    assert identity["sub"] == "credproc:org:acme:env:default/dev"
    assert identity["audience"] == "aud-2"
    key_text = (isolated_env.config_dir / "issuer" / "key.pem").read_text()
    assert "PRIVATE" not in json.dumps(identity) and key_text[40:80] not in json.dumps(identity)
    source.fetch()
    assert source.claims["aud"] == "aud-2"


def test_show_publishes_no_private_key_material(capsys):
    issuer.init(URL)
    code, out, _ = run_cli(capsys, "issuer", "show")
    (key,) = json.loads(out)["jwks"]["keys"]
    assert code == 0 and set(key) == {"kty", "alg", "use", "kid", "n", "e"}  # no d, p, q, dp, dq, qi
    assert "PRIVATE" not in out


def test_init_refuses_a_config_dir_others_can_read(isolated_env):
    isolated_env.config_dir.mkdir(mode=0o755)
    os.chmod(isolated_env.config_dir, 0o755)
    with pytest.raises(ConfigError, match="config directory .* is accessible by group or others") as info:
        issuer.init(URL)
    assert info.value.hint == f"chmod 700 {isolated_env.config_dir}"
    assert not (isolated_env.config_dir / "issuer").exists()
