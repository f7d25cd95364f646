"""pulumi:ORG/PROJECT/ENV against a hostile or broken Pulumi service and odd logins (a hostile
review's findings), through the real `credproc` command line and the stand-in service."""
import base64
import gzip
import json
import os

import pytest

from tests.support import pulumidata as data
from tests.support.pulumiservice import PulumiService, esc_value, hang, raw_answer, trickle, trickle_headers
from tests.support.runner import assert_clean_failure

pytestmark = pytest.mark.timeout(150)
REF = data.REF
OTHER_KEY_ID = "ASIAPULUMIOTHERBACK02"


def failed(result, code: int, line: str):
    assert_clean_failure(result, code)
    assert result.stdout == b""
    assert result.first_line.startswith(line), result.first_line
    assert data.TOKEN not in result.stderr
    return result


def _save_current(home, current: str, tokens: dict):
    folder = home / ".pulumi"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "credentials.json").write_text(json.dumps({"current": current, "accessTokens": tokens}))


# --- 1. the binding covers what chooses the backend ---------------------------------------------------

def test_switching_the_current_backend_opens_at_the_new_one(service, cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_BACKEND_URL")  # the token from the variable, the backend from the file
    with PulumiService(data.TOKEN) as other:
        other.add("acme/proj/dev", data.DEFINITION, dict(data.VALUES, environmentVariables=dict(
            data.VALUES["environmentVariables"], AWS_ACCESS_KEY_ID=OTHER_KEY_ID)), data.SECRETS)
        _save_current(isolated_env.home, service.url, {})
        first = cli("process", REF)
        assert json.loads(first.stdout)["AccessKeyId"] == data.KEY_ID, first
        assert cli("process", REF).stdout == first.stdout and service.count("open") == 1  # a hit
        _save_current(isolated_env.home, other.url, {})
        switched = cli("process", REF)
        assert switched.code == 0, switched
        assert json.loads(switched.stdout)["AccessKeyId"] == OTHER_KEY_ID
        assert other.count("open") == 1 and service.count("open") == 1
        export = cli("export", REF, "--format", "env")
        assert f"AWS_ACCESS_KEY_ID='{OTHER_KEY_ID}'" in export.stdout.decode()


def test_pulumi_home_without_credentials_is_another_login(isolated_env, monkeypatch):
    from credproc import cache

    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", data.TOKEN)
    _save_current(isolated_env.home, "http://127.0.0.1:1", {})
    binding = cache.Binding.now("pulumi", REF)
    assert binding.holds(0)
    monkeypatch.setenv("PULUMI_HOME", str(isolated_env.home / "empty"))  # no file: api.pulumi.com
    assert not binding.holds(0)
    assert data.TOKEN not in binding.index_line()


# --- 2. plain http only to a loopback address -----------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.attacker.example", "http://127.0.0.1.nip.io", "http://localhost.example"])
def test_plain_http_to_a_name_that_looks_like_loopback_is_refused(service, cli, url):
    failed(cli("process", REF, PULUMI_BACKEND_URL=url), 2,
           f"credproc: PULUMI_BACKEND_URL uses plain http to {url[7:]}: the access token would travel in clear")
    assert service.requests == []


def test_plain_http_to_another_loopback_address_is_accepted():
    from credproc.store.pulumicloud import check_backend_url

    assert check_backend_url("http://127.0.0.2:8080", "x") == "http://127.0.0.2:8080"
    assert check_backend_url("http://[::1]:8080", "x") == "http://[::1]:8080"


def test_a_loopback_backend_is_never_reached_through_a_proxy(service, cli):
    """Plain http is accepted for loopback only because the token stays on this machine; the SDK
    would otherwise send it to HTTP_PROXY (a re-attack found it there, in clear)."""
    import http.server
    import threading

    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _record(self):
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_CONNECT = _record

    proxy = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        proxies = {name: url for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")}
        environ = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
        result = cli("process", REF, env=dict(environ, **proxies))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert result.code == 0, result
    assert seen == [] and service.count("open") == 1


# --- 3. one deadline for the whole open ------------------------------------------------------------------

@pytest.mark.parametrize("kind, behaviour", [("definition", hang), ("open", hang), ("read", trickle),
                                             ("open", trickle_headers)], ids=["definition-hangs", "open-hangs",
                                                                               "read-trickles", "open-trickles-headers"])
def test_a_service_that_hangs_or_trickles_is_given_up_at_the_refresh_timeout(service, cli, kind, behaviour):
    service.custom[kind] = behaviour
    result = failed(cli("process", REF, CREDPROC_REFRESH_TIMEOUT="3"), 6,
                    f"credproc: {REF}: opening it at the Pulumi service at {service.url} took longer than 3s")
    assert "CREDPROC_REFRESH_TIMEOUT" in result.first_line
    service.custom.clear()
    again = cli("process", REF, CREDPROC_REFRESH_TIMEOUT="30")  # the refresh lock went with the failed open
    assert again.code == 0, again


def test_retry_after_is_not_waited_for_and_a_429_is_tried_twice(service, cli):
    service.fail["read"], service.retry_after = 429, 3600  # a GET: urllib3 itself would sleep the hour
    failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} answered read with HTTP 429")
    assert service.count("read") == 2


def test_a_503_with_retry_after_is_tried_twice_not_four_times(service, cli):
    service.fail["read"], service.retry_after = 503, 1
    failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} answered read with HTTP 503")
    assert service.count("read") == 2


# --- 4. the definition is parsed with the bounds of a local one -------------------------------------------

ALIAS_BOMB = "values:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
    f"*a{i - 1}, *a{i - 1}]\n" for i in range(1, 12)) + data.DEFINITION.split("values:\n", 1)[1]
DEEP = "values:\n  deep: " + "[" * 2000 + "]" * 2000 + "\n" + data.DEFINITION.split("values:\n", 1)[1]


@pytest.mark.parametrize("definition", [ALIAS_BOMB, DEEP], ids=["alias-bomb", "nested-2000"])
def test_a_definition_credproc_would_not_read_locally_gives_the_default_lifetime(service, cli, definition):
    service.add("acme/proj/dev", definition, data.VALUES, data.SECRETS)
    result = cli("process", REF, CREDPROC_REFRESH_TIMEOUT="60")
    assert result.code == 0, result
    opens = [r for r in service.requests if r["kind"] == "open"]
    assert [r["query"]["duration"] for r in opens] == [["3600s"]]  # cannot be read: at most 1h


# --- 5. and 6. answers are bounded in size and depth ------------------------------------------------------

def _read_answer(value: str) -> bytes:
    variables = {"AWS_ACCESS_KEY_ID": data.KEY_ID, "AWS_SECRET_ACCESS_KEY": value}
    return json.dumps({"properties": {"environmentVariables": esc_value(variables, "proj/dev")}}).encode()


def test_a_gzip_bomb_is_refused_before_it_is_inflated(service, cli, isolated_env):
    service.custom["read"] = raw_answer(gzip.compress(_read_answer("0" * (64 * 1024 * 1024)), 9), "gzip")
    failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} answered read with more "
                                   "than 4 MiB (credproc's limit)")
    assert not (isolated_env.cache_dir / "pulumi").exists() or not os.listdir(isolated_env.cache_dir / "pulumi")


def test_a_large_plain_answer_is_refused(service, cli):
    service.custom["read"] = raw_answer(_read_answer("0" * (5 * 1024 * 1024)))
    failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} answered read with more "
                                   "than 4 MiB")


def test_a_small_gzip_answer_is_read(service, cli):
    service.custom["read"] = raw_answer(gzip.compress(_read_answer(data.SECRET_KEY)), "gzip")
    result = cli("process", REF)
    assert result.code == 0, result
    answer = json.loads(result.stdout)
    assert (answer["AccessKeyId"], answer["SecretAccessKey"]) == (data.KEY_ID, data.SECRET_KEY)


@pytest.mark.parametrize("kind", ["open", "read"])
def test_a_deeply_nested_answer_is_one_the_sdk_cannot_read(service, cli, kind):
    service.custom[kind] = raw_answer(b'{"id": ' + b"[" * 100000 + b"]" * 100000 + b"}")
    result = failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} gave an answer "
                                            f"to {kind} that the ESC SDK cannot read")
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


# --- 7. a token that cannot be one, and doctor's advice -------------------------------------------------

def test_a_token_with_control_characters_is_refused_before_any_request(service, cli):
    bad = "pul-abc\r\nX-Injected: 1"
    result = failed(cli("process", REF, PULUMI_ACCESS_TOKEN=bad), 4,
                    "credproc: PULUMI_ACCESS_TOKEN is not a Pulumi access token: it holds spaces, control or "
                    "non-ASCII characters")
    assert "Injected" not in result.stderr and "pul-abc" not in result.stderr
    assert service.requests == []


def test_doctor_never_suggests_env_init_for_a_pulumi_ref(service, cli):
    service.custom["read"] = raw_answer(b'{"properties": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    result = cli("doctor", REF, COLUMNS="250")
    text = result.stdout.decode()
    assert "that the ESC SDK cannot read" in text, result
    assert "env init" not in text and "credproc env edit" not in text


# --- 8. AWS secret keys are secret whatever the service's flag says --------------------------------------

def test_aws_secrets_without_a_secret_flag_are_still_secret(service, cli):
    service.flag_secrets = False
    shown = json.loads(cli("env", "open", REF).stdout)
    assert shown["environmentVariables"]["AWS_SECRET_ACCESS_KEY"] == "[secret]"
    assert shown["environmentVariables"]["AWS_SESSION_TOKEN"] == "[secret]"
    assert shown["aws"]["login"]["secretAccessKey"] == "[secret]"
    assert shown["aws"]["login"]["accessKeyId"] == data.KEY_ID
    ran = cli("run", REF, "--", "sh", "-c", 'echo "$AWS_SECRET_ACCESS_KEY|$AWS_SESSION_TOKEN|$AWS_ACCESS_KEY_ID"')
    assert ran.code == 0, ran
    assert ran.stdout.decode().strip() == f"[secret]|[secret]|{data.KEY_ID}"
    assert json.loads(cli("process", REF).stdout)["SecretAccessKey"] == data.SECRET_KEY  # still served


# --- 9. a token echoed base64-encoded is redacted ---------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda t: base64.b64encode(t.encode()).decode(),
    lambda t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("="),
    lambda t: base64.b64encode(b"Authorization: token " + t.encode()).decode(),
], ids=["standard", "urlsafe-unpadded", "inside-a-longer-text"])
def test_a_token_echoed_in_base64_is_redacted(service, cli, encode):
    echoed = encode(data.TOKEN)
    service.fail["open"] = 400
    service.diagnostics = [{"range": {"environment": "proj/dev", "begin": {"line": 3, "column": 5, "byte": 0}},
                            "summary": f"bad request carrying {echoed}"}]
    result = failed(cli("process", REF), 2, f"credproc: {REF}:3:5: bad request carrying ")
    tail = base64.b64encode(data.TOKEN.encode()).decode()[8:-8]
    assert echoed not in result.stderr and tail.rstrip("=") not in result.stderr
    assert tail.translate(str.maketrans("+/", "-_")) not in result.stderr
