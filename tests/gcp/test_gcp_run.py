"""`credproc run` with a gcp-login: the documented variables, masking, and the external_account
credentials file through which google-auth in a long-running child refreshes on its own, past the
first token's lifetime (the clock of credproc, of the child and of the stand-in moved together, as
tests/faults does: tests/support/fakeclock)."""
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("google.auth")

from credtest import CREDPROC, PYTHON  # noqa: E402
from support import gcpenv  # noqa: E402
from support.clock import shifted_env  # noqa: E402
from support.gcpenv import PROJECT, SA, definition  # noqa: E402
from support.runner import run_credproc  # noqa: E402

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def google(isolated_env, monkeypatch):
    standin, provider = gcpenv.start(isolated_env, monkeypatch, CREDPROC)
    try:
        yield gcpenv.GcpWorld(isolated_env, standin, provider)
    finally:
        standin.__exit__(None, None, None)


DUMP = ("import json, os; print(json.dumps({n: os.environ.get(n) for n in ('GOOGLE_CLOUD_PROJECT', "
        "'GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS', "
        "'GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES')}))")


def test_run_hands_the_documented_variables_with_the_token_masked(google):
    google.define(definition())
    result = run_credproc("run", "acme/dev", "--", PYTHON, "-c", DUMP)
    assert result.code == 0, result
    seen = json.loads(result.stdout)
    assert seen["GOOGLE_CLOUD_PROJECT"] == PROJECT
    assert seen["GOOGLE_OAUTH_ACCESS_TOKEN"] == seen["CLOUDSDK_AUTH_ACCESS_TOKEN"] == "[secret]"
    assert seen["GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"] == "1"
    assert seen["GOOGLE_APPLICATION_CREDENTIALS"]
    assert not os.path.exists(seen["GOOGLE_APPLICATION_CREDENTIALS"])  # removed when the run ended


READ_FILE = ("import json, os, stat, sys; p = os.environ['GOOGLE_APPLICATION_CREDENTIALS']; "
             "info = {'mode': stat.S_IMODE(os.stat(p).st_mode), 'dir_mode': stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode), "
             "'config': json.load(open(p))}; print(json.dumps(info))")


def test_the_credentials_file_is_private_and_names_credprocs_endpoints(google):
    google.define(definition())
    result = run_credproc("run", "acme/dev", "-i", "--", PYTHON, "-c", READ_FILE)
    assert result.code == 0, result
    info = json.loads(result.stdout)
    assert info["mode"] == 0o600 and info["dir_mode"] == 0o700
    config = info["config"]
    command = config.pop("credential_source")["executable"]["command"]
    assert config == {
        "type": "external_account",
        "audience": google.provider.audience,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": google.standin.sts_url,
        "service_account_impersonation_url": f"{google.standin.iam_url}/projects/-/serviceAccounts/{SA}:generateAccessToken",
        "service_account_impersonation": {"token_lifetime_seconds": 3600},
    }
    assert " gcp-token " in command


def test_no_credentials_file_when_the_environment_names_its_own(google):
    google.define(definition(variables="    GOOGLE_APPLICATION_CREDENTIALS: /etc/mine.json\n"
                                       "    GOOGLE_CLOUD_PROJECT: ${gcp.login.project}\n"))
    result = run_credproc("run", "acme/dev", "--", PYTHON, "-c", DUMP)
    seen = json.loads(result.stdout)
    assert seen["GOOGLE_APPLICATION_CREDENTIALS"] == "/etc/mine.json"
    assert seen["GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"] is None


CHILD = textwrap.dedent("""\
    # A long-running child: Application Default Credentials (google-auth), its clock moved 2 hours
    # ahead halfway. google-auth reads the time through datetime, which the fake clock (time.time)
    # does not move: its _helpers.utcnow is pointed at time.time, as the fake clock intends.
    import datetime, json, os, sys, time, urllib.request
    import google.auth, google.auth._helpers
    from google.auth.transport.requests import AuthorizedSession, Request

    google.auth._helpers.utcnow = lambda: datetime.datetime.utcfromtimestamp(time.time())
    url = sys.argv[1]
    credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session = AuthorizedSession(credentials)
    first = session.get(url)
    token1 = credentials.token
    with open(os.environ["CREDPROC_FAKE_CLOCK_FILE"], "w") as f:
        f.write("7200")
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token1})
    try:
        urllib.request.urlopen(request, timeout=10)
        stale = 200
    except urllib.error.HTTPError as err:
        stale = err.code
    valid_before = credentials.valid
    second = session.get(url)
    print(json.dumps({"project": project, "first": first.status_code, "stale_token": stale,
                      "valid_after_two_hours": valid_before, "second": second.status_code,
                      "second_body": second.json(), "new_token": credentials.token != token1,
                      "type": type(credentials).__module__}))
    """)


def test_a_child_keeps_authenticating_past_the_first_tokens_lifetime(google, tmp_path):
    google.define(definition())
    offset = tmp_path / "clock-offset"
    offset.write_text("0")

    def moved_now():
        import time

        return time.time() + float(offset.read_text() or 0)

    google.standin.now = moved_now
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    env = shifted_env(os.environ, offset_file=offset)
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PYTHON, str(child),
                             f"{google.standin.url}/v1/projects/{PROJECT}"],
                            env=env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {"project": PROJECT, "first": 200, "stale_token": 401, "valid_after_two_hours": False,
                    "second": 200, "second_body": {"serviceAccount": SA}, "new_token": True,
                    "type": "google.auth.pluggable"}
    # credproc's own exchange for the variables, then google-auth's first and its refreshed one,
    # each through `credproc gcp-token`: a fresh local-issuer token each time.
    kinds = [r["kind"] for r in google.standin.requests if r["kind"] != "resource"]
    assert kinds == ["sts", "iam"] * 3
    sts = [r["form"] for r in google.standin.requests if r["kind"] == "sts"]
    assert len({form["subject_token"] for form in sts}) == 3
    assert [form["scope"] for form in sts] == ["https://www.googleapis.com/auth/cloud-platform"] + [
        "https://www.googleapis.com/auth/iam"] * 2  # credproc's, then google-auth's (it impersonates next)
    assert {form["audience"] for form in sts} == {google.provider.audience}


def test_gcp_token_refuses_a_spec_others_could_have_written(google, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    spec.chmod(0o644)
    result = run_credproc("gcp-token", str(spec))
    assert result.code == 2
    assert json.loads(result.stdout)["success"] is False
    assert "is not a private token spec" in result.stderr
    assert stat.S_IMODE(spec.stat().st_mode) == 0o644


def _spec(**changes) -> dict:
    spec = {"audience": google_audience(), "token": None, "service_account": SA, "lifetime": 3600,
            "context": {"org": "acme", "environment": "dev", "root_environment": "dev", "subject_attributes": [],
                        "audience": "gcp:acme"}}
    for key, value in changes.items():
        if key.startswith("context_"):
            spec["context"][key[len("context_"):]] = value
        else:
            spec[key] = value
    return spec


def google_audience() -> str:
    return (f"//iam.googleapis.com/projects/{PROJECT}/locations/global/workloadIdentityPools/credproc-pool/"
            "providers/credproc-oidc")


def _private(path, text) -> str:
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def _assert_failure_answer(result, code: int, message: str) -> None:
    assert result.code == code, result
    answer = json.loads(result.stdout)
    assert answer["version"] == 1 and answer["success"] is False and answer["code"] == f"credproc-exit-{code}"
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.first_line, result.first_line
    assert "Traceback" not in result.stderr


def test_gcp_token_answers_for_a_well_formed_spec(google, tmp_path):
    result = run_credproc("gcp-token", _private(tmp_path / "spec.json", json.dumps(_spec())))
    assert result.code == 0, result
    answer = json.loads(result.stdout)
    assert answer["success"] is True and answer["id_token"].count(".") == 2


@pytest.mark.parametrize("spec, problem", [
    (_spec(context_subject_attributes=[[1, 2, 3]]), "`context.subject_attributes` must be a list of [name, value]"),
    (_spec(context_subject_attributes="pulumi.user.login"), "`context.subject_attributes` must be a list"),
    (_spec(context_root_environment=5), "`context.root_environment` must be a non-empty string"),
    (_spec(context_audience=["x"]), "`context.audience` must be a non-empty string or null"),
    (_spec(context_org=None), "`context.org` must be a non-empty string"),
    (_spec(context=[]), "`context` must be an object"),
    (_spec(token=5), "`token` must be an object or null"),
    (_spec(lifetime="1h"), "`lifetime` must be a positive integer"),
    (_spec(audience={"a": 1}), "`audience` must be a non-empty string"),
    ([1, 2], "not a JSON object"),
    ("[" * 30000 + "]" * 30000, "not JSON"),  # nested deeper than the interpreter's stack
    ("x", "not a JSON object"),
])
def test_gcp_token_refuses_a_malformed_spec_with_the_failure_answer(google, tmp_path, spec, problem):
    text = spec if isinstance(spec, str) and spec.startswith("[") else json.dumps(spec)
    result = run_credproc("gcp-token", _private(tmp_path / "spec.json", text))
    _assert_failure_answer(result, 2, "is not a token spec written by `credproc run`: " + problem)


def test_gcp_token_refuses_an_oversized_spec_without_reading_it(google, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:  # sparse: 256 MiB on disk costs nothing
        handle.truncate(256 * 1024 * 1024)
    big.chmod(0o600)
    # Linux carries a parent's peak RSS into a forked child, so the child's own peak is measured by a
    # small intermediate interpreter (its children start from its size, not this test process's).
    measured = subprocess.run([sys.executable, "-c", _PEAK_RSS, CREDPROC, "gcp-token", str(big)],
                              capture_output=True, timeout=60)
    report = json.loads(measured.stdout)
    out, err = report["out"].encode(), report["err"].encode()
    assert report["code"] == 2 and json.loads(out)["success"] is False
    assert b"at most 64 KiB" in err and b"268435456 bytes" in err and err.count(b"\n") == 1, err
    assert report["maxrss_kib"] < 150 * 1024, report  # never holds the file


_PEAK_RSS = ("import json, os, subprocess, sys; "
             "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE); "
             "out, err = p.stdout.read(), p.stderr.read(); _, status, usage = os.wait4(p.pid, 0); "
             "print(json.dumps({'out': out.decode(), 'err': err.decode(), "
             "'code': os.waitstatus_to_exitcode(status), 'maxrss_kib': usage.ru_maxrss}))")


def test_gcp_token_refuses_a_fifo_without_waiting_for_a_writer(google, tmp_path):
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo, 0o600)
    try:
        result = run_credproc("gcp-token", str(fifo), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("credproc gcp-token waited for a writer on a FIFO")
    _assert_failure_answer(result, 2, "is not a private token spec")
    assert result.first_line.endswith("not a regular file")


def test_gcp_token_refuses_a_symlink(google, tmp_path):
    target = _private(tmp_path / "spec.json", json.dumps(_spec()))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    _assert_failure_answer(run_credproc("gcp-token", str(link)), 2, "is not a private token spec")


# --- the tokens `credproc gcp-token` mints are masked in the child's output ------------------------
# Found by a hostile review: google-auth's HTTP debug log printed `subject_token=eyJ...` (a fresh
# OIDC token that the STS exchanges for the service account's token) in clear, since gcp-token, not
# `run`, minted it. gcp-token now appends each token to run's feed before it prints it.

DEBUG_CHILD = textwrap.dedent("""\
    # Application Default Credentials with HTTP debug logging (as TF_LOG=debug or --log-http do)
    import http.client, google.auth, google.auth.transport.requests
    http.client.HTTPConnection.debuglevel = 1
    creds, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    creds.refresh(google.auth.transport.requests.Request())
    print("refreshed", flush=True)
    """)

GCP_TOKEN_CHILD = textwrap.dedent("""\
    # runs the credential source as google-auth would, then prints the token in the forms logs use
    import base64, json, os, shlex, subprocess, urllib.parse
    source = json.load(open(os.environ["GOOGLE_APPLICATION_CREDENTIALS"]))["credential_source"]["executable"]
    answer = subprocess.run(shlex.split(source["command"]), capture_output=True, text=True).stdout
    token = json.loads(answer)["id_token"]
    print(answer.strip(), flush=True)
    print("form:", urllib.parse.urlencode({"subject_token": token, "x": "y"}), flush=True)
    print("b64:", base64.b64encode(token.encode()).decode(), flush=True)
    print("json:", json.dumps({"t": token}), flush=True)
    print("dots:", token.count("."), "length:", len(token), flush=True)
    """)


def _run_child(google, tmp_path, code: str) -> str:
    child = tmp_path / "child.py"
    child.write_text(code)
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PYTHON, str(child)],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_the_subject_token_in_google_auths_debug_log_is_masked(google, tmp_path):
    google.define(definition())
    output = _run_child(google, tmp_path, DEBUG_CHILD)
    minted = [r["form"]["subject_token"] for r in google.standin.requests if r["kind"] == "sts"]
    assert len(minted) == 2  # credproc's own exchange for the variables, then google-auth's
    assert "refreshed" in output and "subject_token=[secret]" in output, output
    for token in minted:
        for part in token.split("."):
            assert part not in output  # not the token, nor its header, claims or signature alone


def test_every_form_of_the_token_gcp_token_hands_the_child_is_masked(google, tmp_path):
    google.define(definition())
    output = _run_child(google, tmp_path, GCP_TOKEN_CHILD)
    assert '"success": true' in output and '"id_token": "[secret]"' in output, output
    assert "form: subject_token=[secret]&x=y" in output
    assert "b64: [secret]\n" in output and 'json: {"t": "[secret]"}' in output
    assert "dots: 2 length:" in output  # the child did get a JWT
    assert "eyJ" not in output and "ZXlK" not in output  # no JWT, no base64 of one


def test_gcp_token_appends_the_token_to_the_feed_the_spec_names(google, tmp_path):
    feed = _private(tmp_path / "feed", "earlier-token\n")
    result = run_credproc("gcp-token", _private(tmp_path / "spec.json", json.dumps(_spec(feed=feed))))
    assert result.code == 0, result
    token = json.loads(result.stdout)["id_token"]
    assert open(feed).read() == f"earlier-token\n{token}\n"


@pytest.mark.parametrize("make, problem", [
    (lambda path: None, "No such file or directory"),
    (lambda path: (path.write_text(""), path.chmod(0o644)), "mode 0644, owner uid"),
    (lambda path: os.mkfifo(path, 0o600), "No such device or address"),  # O_NONBLOCK: no reader, no wait
    (lambda path: (path.with_name("target").write_text(""), path.with_name("target").chmod(0o600),
                   path.symlink_to(path.with_name("target"))), "Too many levels of symbolic links"),
])
def test_gcp_token_refuses_to_hand_out_a_token_it_cannot_tell_run_about(google, tmp_path, make, problem):
    feed = tmp_path / "feed"
    make(feed)
    result = run_credproc("gcp-token", _private(tmp_path / "spec.json", json.dumps(_spec(feed=str(feed)))),
                          timeout=60)
    _assert_failure_answer(result, 2, f"could not tell `credproc run` the new token ('{feed}'): {problem}")
    assert b"eyJ" not in result.stdout and "eyJ" not in result.stderr


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud (the Google Cloud SDK) is not on PATH")
def test_gcloud_calls_an_api_with_the_token_run_hands_it(google, monkeypatch, tmp_path):
    # the README's recipe: CLOUDSDK_AUTH_ACCESS_TOKEN from the environment; gcloud's resource manager
    # API pointed at the stand-in, which accepts only the access tokens its IAM endpoint minted
    google.define(definition())
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", google.standin.url + "/")
    result = run_credproc("run", "acme/dev", "--", "gcloud", "projects", "describe", PROJECT, "--format", "json")
    assert result.code == 0, result
    assert json.loads(result.stdout) == {"serviceAccount": SA}
    calls = [r for r in google.standin.requests if r["kind"] == "resource"]
    assert len(calls) == 1 and calls[0]["bearer"] in google.standin.access_tokens


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud (the Google Cloud SDK) is not on PATH")
def test_gcloud_uses_the_refreshing_credentials_file(google, monkeypatch, tmp_path):
    # the README's recipe for long runs: CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE at run's external_account
    # file, whose source is `credproc gcp-token`; gcloud does the exchange itself
    google.define(definition(variables="    GOOGLE_CLOUD_PROJECT: ${gcp.login.project}\n"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", google.standin.url + "/")
    script = ('CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE="$GOOGLE_APPLICATION_CREDENTIALS" '
              f'exec gcloud projects describe {PROJECT} --format json')
    result = run_credproc("run", "acme/dev", "--", "sh", "-c", script)
    assert result.code == 0, result
    assert json.loads(result.stdout) == {"serviceAccount": SA}
    kinds = [r["kind"] for r in google.standin.requests]
    assert kinds.count("sts") == 2 and kinds.count("iam") == 2  # credproc's own open, then gcloud's exchange
    assert kinds[-1] == "resource"
