"""A keyring backend for tests, selected in child processes with
PYTHON_KEYRING_BACKEND=test_keyring_backend.JsonFileKeyring (and PYTHONPATH=tests/login): it keeps
passwords in the JSON file named by TEST_KEYRING_FILE. Also checks that credproc uses it end to end."""
import json
import os

from keyring.backend import KeyringBackend


class JsonFileKeyring(KeyringBackend):
    priority = 1

    def _path(self):
        return os.environ["TEST_KEYRING_FILE"]

    def _load(self):
        try:
            with open(self._path()) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, items):
        with open(self._path(), "w") as f:
            json.dump(items, f)

    def get_password(self, service, username):
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service, username, password):
        items = self._load()
        items[f"{service}\0{username}"] = password
        self._save(items)

    def delete_password(self, service, username):
        items = self._load()
        del items[f"{service}\0{username}"]
        self._save(items)


def test_login_keeps_the_refresh_token_in_the_os_keyring(oidc_server, login_env, monkeypatch, tmp_path):
    from loginhelp import (browser_login, expire_tokens_and_credentials, grants, process_json, run_credproc,
                           write_login_env)

    keyring_file = tmp_path / "keyring.json"
    monkeypatch.delenv("CREDPROC_TOKEN_STORE")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "test_keyring_backend.JsonFileKeyring")
    monkeypatch.setenv("TEST_KEYRING_FILE", str(keyring_file))
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(os.path.abspath(__file__)))
    write_login_env("acme/dev", oidc_server.issuer)
    code, stderr, _ = browser_login()
    assert code == 0, stderr
    assert "refresh token kept in the OS keyring" in stderr and "warning" not in stderr
    [(name, value)] = json.loads(keyring_file.read_text()).items()
    assert name.startswith("credproc\0oidc-login:") and json.loads(value)["sub"] == "alice"
    logins = os.path.join(os.environ["CREDPROC_CONFIG_DIR"], "logins")
    # no file copy of the token: the index and the login's marker (which holds no secret)
    names = sorted(os.listdir(logins))
    assert names[-1] == "index.json" and len(names) == 2 and names[0].endswith(".login")
    assert set(json.loads(open(os.path.join(logins, names[0])).read())) == {"login_id", "sub"}
    expire_tokens_and_credentials()
    mark = oidc_server.mark()
    process_json()
    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 200, None)]
    assert json.loads(keyring_file.read_text())[name] != value  # the rotated token replaced the old one
    done = run_credproc("logout", "acme/dev")
    assert done.returncode == 0 and "revoked at the server and forgotten" in done.stderr
    assert json.loads(keyring_file.read_text()) == {}
