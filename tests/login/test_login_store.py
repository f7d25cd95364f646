"""Where refresh tokens are kept (credproc.identity.tokenstore): the OS keyring when a usable backend exists,
else a 0600 file with a warning shown once; insecure files refused; forget removes every copy.
And the `login` configuration's refusals."""
import os
import stat

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from credproc.identity import tokenstore
from credproc.errors import ConfigError, LoginRequired
from credproc.identity.tokens.base import TokenContext
from credproc.identity.tokens.login import LoginConfig, LoginTokenSource

KEY = "ab" * 32
RECORD = {"refresh_token": "rt-secret-value", "sub": "alice", "nonce": "n"}


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.items = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        del self.items[(service, username)]


@pytest.fixture
def memory_keyring(monkeypatch):
    monkeypatch.delenv("CREDPROC_TOKEN_STORE", raising=False)
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.delenv("CREDPROC_TOKEN_STORE", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_keyring_is_used_when_usable(memory_keyring, isolated_env):
    where, warning = tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")
    assert (where, warning) == ("keyring", None)
    assert tokenstore.load(KEY) == RECORD
    assert ("credproc", "oidc-login:" + KEY) in memory_keyring.items
    assert not os.path.exists(os.path.join(tokenstore.logins_dir(), KEY + ".json"))
    index_text = open(os.path.join(tokenstore.logins_dir(), "index.json")).read()
    assert "rt-secret-value" not in index_text and "https://idp" in index_text
    assert tokenstore.forget(KEY) is True
    assert tokenstore.load(KEY) is None and memory_keyring.items == {}
    assert tokenstore.known() == {}


def test_file_fallback_is_private_and_warns_once(no_keyring, isolated_env):
    where, warning = tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")
    assert where == os.path.join(str(isolated_env.config_dir), "logins", KEY + ".json")
    assert "no usable OS keyring" in warning and "shown once" in warning and "rt-secret-value" not in warning
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(where)).st_mode) == 0o700
    assert tokenstore.load(KEY) == RECORD
    assert tokenstore.save(KEY, {**RECORD, "refresh_token": "rotated"}, issuer="https://idp", client_id="cli")[1] is None
    assert tokenstore.load(KEY)["refresh_token"] == "rotated"
    assert [n for n in os.listdir(os.path.dirname(where)) if n.endswith(".tmp")] == []


def test_insecure_file_is_refused(no_keyring, isolated_env):
    where, _ = tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")
    os.chmod(where, 0o644)
    with pytest.raises(ConfigError, match=r"is readable by others or not yours \(mode 644\)") as caught:
        tokenstore.load(KEY)
    assert f"rm {where}" in caught.value.hint


def test_keyring_login_replaces_an_older_file_copy(no_keyring, isolated_env, monkeypatch):
    tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    tokenstore.save(KEY, {**RECORD, "refresh_token": "new"}, issuer="https://idp", client_id="cli")
    assert not os.path.exists(os.path.join(tokenstore.logins_dir(), KEY + ".json"))
    assert tokenstore.load(KEY)["refresh_token"] == "new"


def test_forced_file_store(memory_keyring, monkeypatch, isolated_env):
    monkeypatch.setenv("CREDPROC_TOKEN_STORE", "file")
    where, _ = tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")
    assert where.endswith(KEY + ".json") and memory_keyring.items == {}
    monkeypatch.setenv("CREDPROC_TOKEN_STORE", "vault")
    with pytest.raises(ConfigError, match="must be `keyring` or `file`"):
        tokenstore.load(KEY)


# --- configuration ---------------------------------------------------------------------------------

BASE = {"issuer": "https://idp.example.com", "clientId": "cli"}


@pytest.mark.parametrize("value,message", [
    ({"clientId": "cli"}, "oidc.token.login.issuer is required"),
    ({"issuer": "https://idp.example.com"}, "oidc.token.login.clientId is required"),
    ({**BASE, "issuer": "http://idp.example.com"}, "must be an https URL (plain http only on 127.0.0.1/localhost)"),
    ({**BASE, "flow": "popup"}, "flow must be one of auto, browser, device, got 'popup'"),
    ({**BASE, "use": "refresh_token"}, "use must be one of id_token, access_token"),
    ({**BASE, "scopes": ["email"]}, "scopes must include `openid`"),
    ({**BASE, "scopes": []}, "scopes must be a list of scope names"),
    ({**BASE, "clientSecret": "hunter2"}, "clientSecret must not be written in an environment"),
    ({**BASE, "clientSecretEnv": "A", "clientSecretKeyring": "B"}, "clientSecretEnv or clientSecretKeyring, not both"),
    ({**BASE, "clientid": "x"}, "unknown key `clientid` in oidc.token.login"),
    ("https://idp.example.com", "must be an object"),
])
def test_bad_configuration_is_refused(value, message):
    with pytest.raises(ConfigError) as caught:
        LoginConfig(value)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_configuration_defaults_and_identity():
    config = LoginConfig({**BASE, "scopes": "openid email"})
    assert (config.flow, config.use, config.scopes) == ("auto", "id_token", ["openid", "email"])
    assert LoginConfig(BASE).scopes == ["openid", "offline_access"]
    assert config.expected_audience == "cli"
    assert LoginConfig({**BASE, "use": "access_token", "audience": "sts.amazonaws.com"}).expected_audience \
        == "sts.amazonaws.com"
    # One login per issuer + client, whatever else differs; the cached token depends on the rest too.
    other = LoginConfig({**BASE, "scopes": ["openid"], "flow": "device"})
    assert config.identity_key() == other.identity_key()
    assert config.token_key() != other.token_key()
    assert LoginConfig({**BASE, "clientId": "cli2"}).identity_key() != config.identity_key()


def test_missing_client_secret_variable(monkeypatch):
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    with pytest.raises(ConfigError, match="clientSecretEnv names NO_SUCH_SECRET, which is not set"):
        LoginConfig({**BASE, "clientSecretEnv": "NO_SUCH_SECRET"}).client()


def test_client_secret_from_the_keyring(memory_keyring):
    memory_keyring.set_password("credproc-client-secret", "corp", "from-keyring")
    assert LoginConfig({**BASE, "clientSecretKeyring": "corp"}).client().secret == "from-keyring"
    with pytest.raises(ConfigError, match="no client secret 'other' in the OS keyring"):
        LoginConfig({**BASE, "clientSecretKeyring": "other"}).client()


def test_no_saved_login_needs_no_network(no_keyring, isolated_env, monkeypatch):
    """Without a refresh token the source says "login required" before any discovery request."""
    source = LoginTokenSource({"issuer": "https://idp.invalid", "clientId": "cli"}, {},
                              TokenContext(org="acme", environment="dev", root_environment="dev"))
    monkeypatch.setattr(source, "metadata", lambda: pytest.fail("no network call expected"))
    with pytest.raises(LoginRequired) as caught:
        source.fetch()
    assert str(caught.value) == "login required for acme/dev: no saved login for https://idp.invalid"
    assert caught.value.hint == "credproc login acme/dev"


def test_a_silent_save_leaves_the_warning_for_later(no_keyring, isolated_env):
    assert tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli", can_warn=False)[1] is None
    assert "no usable OS keyring" in tokenstore.save(KEY, RECORD, issuer="https://idp", client_id="cli")[1]
