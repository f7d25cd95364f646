"""pulumi:ORG/PROJECT/ENV through the real `credproc` command line, against the stand-in Pulumi
service (tests/support/pulumiservice.py), with the official pulumi-esc-sdk as the client."""
import json
import os
import time

import pytest

from tests.support import pulumidata as data

pytestmark = pytest.mark.timeout(120)
REF = data.REF


def _json(result):
    assert result.code == 0, result
    return json.loads(result.stdout)


def test_env_open_shows_values_and_hides_secrets(service, cli):
    shown = _json(cli("env", "open", REF))
    assert shown["aws"]["login"]["accessKeyId"] == data.KEY_ID
    assert shown["aws"]["login"]["secretAccessKey"] == "[secret]"
    assert shown["db"]["password"] == "[secret]"
    assert shown["replicas"] == 3 and shown["region"] == "eu-central-1"
    assert data.SECRET_KEY not in cli("env", "open", REF).stdout.decode()
    revealed = _json(cli("env", "open", REF, "--show-secrets"))
    assert revealed["db"]["password"] == data.DB_PASSWORD
    assert revealed["environmentVariables"]["AWS_SESSION_TOKEN"] == data.SESSION_TOKEN


def test_env_open_keeps_the_secret_flags_and_traces_of_the_open_session(service, cli):
    detailed = _json(cli("env", "open", REF, "--format", "detailed"))
    password = detailed["value"]["db"]["value"]["password"]
    assert password["secret"] is True and password["value"] == "[secret]"
    greeting = detailed["value"]["environmentVariables"]["value"]["GREETING"]
    assert greeting["value"] == "hello from pulumi" and "secret" not in greeting
    assert greeting["trace"]["def"]["environment"] == "proj/dev"


def test_env_open_path_and_dotenv(service, cli):
    assert _json(cli("env", "open", REF, "aws.login.accessKeyId")) == data.KEY_ID
    dotenv = cli("env", "open", REF, "--format", "dotenv")
    assert dotenv.code == 0, dotenv
    assert "GREETING='hello from pulumi'" in dotenv.stdout.decode()


def test_env_get_reports_value_and_definition_from_the_service(service, cli):
    result = cli("env", "get", REF)
    assert result.code == 0, result
    text = result.stdout.decode()
    assert "# Definition" in text and "fn::open::aws-login" in text and "duration: 45m" in text
    assert '"GREETING": "hello from pulumi"' in text
    assert data.DB_PASSWORD not in text  # fn::secret in the definition and the value: both redacted
    value = cli("env", "get", REF, "environmentVariables.GREETING", "--value", "string")
    assert value.stdout == b"hello from pulumi\n"


def test_run_masks_the_secrets_of_the_opened_environment(service, cli):
    result = cli("run", REF, "--", "sh", "-c", 'echo "$DB_PASSWORD|$GREETING|$AWS_ACCESS_KEY_ID"')
    assert result.code == 0, result
    assert result.stdout.decode().strip() == f"[secret]|hello from pulumi|{data.KEY_ID}"


def test_process_prints_the_keys_with_the_derived_expiration(service, cli):
    before = time.time()
    answer = _json(cli("process", REF))
    after = time.time()
    assert (answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]) == \
        (data.KEY_ID, data.SECRET_KEY, data.SESSION_TOKEN)
    from credproc.cache import parse_expiration

    expires = parse_expiration(answer["Expiration"])
    assert int(before) + data.DURATION_SECONDS - 1 <= expires <= after + data.DURATION_SECONDS
    opens = [r for r in service.requests if r["kind"] == "open"]
    assert [r["query"] for r in opens] == [{"duration": [f"{data.DURATION_SECONDS}s"]}]  # the session lasts as long
    assert all(r["authorized"] for r in service.requests)
    assert {r["environment"] for r in service.requests if r["kind"] == "definition"} == \
        {"acme/proj/dev", "acme/default/shared"}  # the root and its import: durations may live in either


def test_repeated_process_opens_once_and_another_token_opens_again(service, cli):
    first = cli("process", REF)
    assert first.code == 0, first
    for _ in range(3):
        assert cli("process", REF).stdout == first.stdout
    assert (service.count("open"), service.count("read")) == (1, 1)
    service.tokens.add(data.OTHER_TOKEN)
    other = cli("process", REF, env=dict(os.environ, PULUMI_ACCESS_TOKEN=data.OTHER_TOKEN))
    assert other.code == 0, other
    assert service.count("open") == 2  # another identity: never the first token's entry
    again = cli("process", REF)
    assert again.stdout == first.stdout and service.count("open") == 2  # the first token's entry still serves
    export = cli("export", REF, "--format", "env")
    assert f"export AWS_ACCESS_KEY_ID='{data.KEY_ID}'" in export.stdout.decode()
    assert service.count("open") == 2


def test_env_open_after_process_uses_the_cached_open(service, cli):
    assert cli("process", REF).code == 0
    assert cli("env", "open", REF).code == 0
    assert cli("run", REF, "--", "true").code == 0
    assert service.count("open") == 1


def imported(stderr: str) -> set:
    return {line.split("'")[1] for line in stderr.splitlines() if line.startswith("import '")}


FORBIDDEN_ON_HIT = ("pulumi_esc_sdk", "pydantic", "urllib3", "yaml", "json", "filelock", "credproc.store",
                    "credproc.lang", "credproc.providers")


@pytest.mark.parametrize("login", ["variable", "credentials.json"])
def test_a_hit_imports_neither_the_sdk_nor_json(service, cli, isolated_env, monkeypatch, login):
    if login == "credentials.json":
        monkeypatch.delenv("PULUMI_ACCESS_TOKEN")
        monkeypatch.delenv("PULUMI_BACKEND_URL")
        _save_login(isolated_env.home, service.url, data.TOKEN)
    assert cli("process", REF).code == 0
    hit = cli("process", REF, PYTHONVERBOSE="1")
    assert hit.code == 0, hit
    modules = imported(hit.stderr)
    assert "credproc.creds.index" in modules
    assert {m for m in modules for bad in FORBIDDEN_ON_HIT if m == bad or m.startswith(bad + ".")} == set()
    assert service.count("open") == 1


def _save_login(home, url, token, current=None):
    folder = home / ".pulumi"
    folder.mkdir(mode=0o700, exist_ok=True)
    doc = {"current": current or url, "accessTokens": {url: token},
           "accounts": {url: {"accessToken": token, "username": "tester", "lastValidatedAt": "2026-01-01T00:00:00Z"}}}
    (folder / "credentials.json").write_text(json.dumps(doc, indent=4))
    os.chmod(folder / "credentials.json", 0o600)
    return folder / "credentials.json"


def test_the_pulumi_cli_saved_login_is_used_without_variables(service, cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN")
    monkeypatch.delenv("PULUMI_BACKEND_URL")
    saved = _save_login(isolated_env.home, service.url, data.TOKEN)
    assert _json(cli("process", REF))["AccessKeyId"] == data.KEY_ID
    assert all(r["authorized"] for r in service.requests)
    # The CLI rewrites the file (a new lastValidatedAt): a miss of the index, but the same login,
    # so the opened environment is still cached: nothing is opened again.
    doc = json.loads(saved.read_text())
    doc["accounts"][service.url]["lastValidatedAt"] = "2026-02-02T00:00:00Z"
    saved.write_text(json.dumps(doc))
    assert cli("process", REF).code == 0
    assert service.count("open") == 1
    # Another token saved for the backend: another identity, another open.
    service.tokens.add(data.OTHER_TOKEN)
    _save_login(isolated_env.home, service.url, data.OTHER_TOKEN)
    assert cli("process", REF).code == 0
    assert service.count("open") == 2


def test_pulumi_home_moves_the_saved_login(service, cli, tmp_path, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN")
    monkeypatch.delenv("PULUMI_BACKEND_URL")
    home = tmp_path / "elsewhere"
    home.mkdir()
    _save_login(home, service.url, data.TOKEN)
    (home / ".pulumi" / "credentials.json").rename(home / "credentials.json")
    assert cli("process", REF, PULUMI_HOME=str(home)).code == 0


def test_backend_from_the_variable_token_from_the_saved_login(service, cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN")
    _save_login(isolated_env.home, service.url, data.TOKEN, current="https://api.pulumi.com")
    assert cli("process", REF).code == 0  # PULUMI_BACKEND_URL chooses the backend, its token comes from the file


def test_cache_ls_and_clear(service, cli):
    assert cli("process", REF).code == 0
    listing = cli("cache", "ls", "--json")
    rows = json.loads(listing.stdout)
    assert {(r["kind"], r["environment"]) for r in rows if r["kind"] != "lock"} == {("env", REF), ("pulumi", REF)}
    assert data.SECRET_KEY not in listing.stdout.decode()
    cleared = cli("cache", "clear", REF)
    assert cleared.stdout.decode().strip() == f"removed 2 cache entries for {REF}"
    assert cli("process", REF).code == 0
    assert service.count("open") == 2


def test_the_token_is_nowhere_on_disk_and_secrets_only_in_private_files(service, cli, isolated_env):
    assert cli("process", REF).code == 0
    assert cli("run", REF, "--", "true").code == 0
    for root, _, files in os.walk(isolated_env.cache_dir):
        for name in files:
            path = os.path.join(root, name)
            assert data.TOKEN.encode() not in open(path, "rb").read()
            if data.SECRET_KEY.encode() in open(path, "rb").read():
                assert os.stat(path).st_mode & 0o077 == 0


def test_doctor_checks_a_pulumi_environment(service, cli):
    result = cli("doctor", REF, COLUMNS="250")
    text = result.stdout.decode()
    assert f"{REF} evaluates without errors" in text, result
    assert f"Pulumi login           OK      {service.url} (access token from PULUMI_ACCESS_TOKEN)" in text
    assert data.TOKEN not in text + result.stderr


def test_a_cached_open_serves_env_open_without_importing_the_sdk(service, cli):
    assert cli("env", "open", REF).code == 0
    again = cli("env", "open", REF, PYTHONVERBOSE="1")
    assert again.code == 0, again
    modules = imported(again.stderr)
    assert "credproc.store.pulumicloud" in modules
    assert {m for m in modules if m.split(".")[0] in ("pulumi_esc_sdk", "pydantic", "urllib3")} == set()
    assert service.count("open") == 1


def test_concurrent_cold_calls_open_once(service):
    import subprocess
    import sys

    credproc = os.path.join(os.path.dirname(sys.executable), "credproc")
    procs = [subprocess.Popen([credproc, "process", REF], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for _ in range(4)]
    outputs = [proc.communicate(timeout=90) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert len({out for out, _ in outputs}) == 1
    assert service.count("open") == 1  # the refresh lock: one opened, the others waited and read its answer


def test_process_path_picks_the_login_object(service, cli):
    by_path = _json(cli("process", REF, "--path", "aws.login"))
    by_variables = _json(cli("process", REF))
    assert by_path == by_variables  # the same keys, and the same derived expiration
    missing = cli("process", REF, "--path", "no.such")
    assert missing.code == 2 and missing.first_line.startswith(f"credproc: {REF}: no value at --path no.such")
    assert service.count("open") == 1


def test_env_check_opens_it_and_reports_nothing_wrong(service, cli):
    result = cli("env", "check", REF)
    assert (result.code, result.stdout, result.stderr) == (0, b"", ""), result
    assert service.count("open") == 1


FETCH = ("import json, os, urllib.request; "
         "req = urllib.request.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], "
         "headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']}); "
         "body = json.load(urllib.request.urlopen(req, timeout=10)); "
         "print(body['AccessKeyId'], body['Expiration'], 'AWS_ACCESS_KEY_ID' in os.environ)")


def test_run_server_hands_the_opened_keys_to_the_child_through_the_endpoint(service, cli):
    result = cli("run", REF, "--server", "--", "python3", "-c", FETCH)
    assert result.code == 0, result
    key_id, expiration, static_keys = result.stdout.decode().split()
    answer = _json(cli("process", REF))
    assert (key_id, expiration, static_keys) == (data.KEY_ID, answer["Expiration"], "False")
    assert service.count("open") == 1  # run opened it; process found it cached
