"""Leak scan: run the product's scenarios end to end with CREDPROC_DEBUG=1 (process cold and warm,
export in several formats, run, env open/get, install-profile, doctor (--online too), cache ls/clear,
the local issuer (init, show, trust-policy, a token it signs), and error paths: STS refusals, an
expired token, an STS error that echoes the token), collect every byte written to stdout, stderr,
temp files (TMPDIR), the cache directory, the config directory, the environment store and ~/.aws, and
assert that no secret appears anywhere except where it must:

    secret                      may appear in
    STS secret key, session     `process`/`export` stdout, `env open` stdout, the 0600 cache entries
    token
    the env's fn::secret value  `env open` stdout, the user's own definition file
    OIDC tokens (the token      the token file the test wrote (the input); nowhere else, ever
    file's, the issuer's)
    the issuer's private key    its 0600 key.pem; nowhere else

A leak is reported with where it was found and which secret (by name, never by value).
"""
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

import support  # noqa: F401
from credtest import CREDPROC, jwt_token, login_yaml, python_bytecode_env, write_environment, write_token_file
from support.stsproxy import AWRWI, StsProxy, sts_error_xml

pytestmark = [pytest.mark.timeout(240), pytest.mark.skipif(os.name != "posix", reason="POSIX modes")]

MY_SECRET = "my-db-password-7c1e9d5b2a"
ISSUER_URL = "https://issuer.credproc.test"


class Scan:
    """Runs commands, keeps every output with what it may contain."""

    def __init__(self, env: dict):
        self.env = env
        self.outputs = []  # (label, stream, bytes, allowed secret names)

    def run(self, label: str, *args, stdout_may=(), ok=True, extra=None):
        env = python_bytecode_env(dict(self.env, **(extra or {})))
        proc = subprocess.run([CREDPROC, *[str(a) for a in args]], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=90)
        # (CREDPROC_DEBUG=1 prints tracebacks on errors by design: they are scanned like everything else.)
        if ok:
            assert proc.returncode == 0, (label, proc.returncode, proc.stderr[-2000:])
        if os.environ.get("LEAKSCAN_SHOW"):
            print(label, proc.returncode, proc.stdout[:70], proc.stderr.decode(errors="replace")[-150:])
        self.outputs.append((label, "stdout", proc.stdout, set(stdout_may)))
        self.outputs.append((label, "stderr", proc.stderr, set()))
        return proc


def fragments(value: str) -> list:
    """The value and pieces of it long enough to be unmistakable (a truncated leak is still a leak)."""
    value = value.strip()
    pieces = {value}
    for part in value.split("."):  # each JWT segment on its own
        if len(part) >= 24:
            pieces.add(part)
    if len(value) >= 48:
        pieces.add(value[len(value) // 2 - 12: len(value) // 2 + 12])
    return sorted(pieces)


def find_leaks(haystack: bytes, secrets: dict, allowed: set) -> list:
    found = []
    for name, value in secrets.items():
        if name in allowed or not value:
            continue
        if any(piece.encode() in haystack for piece in fragments(value)):
            found.append(name)
    return found


def command_lines_during(argv, env) -> bytes:
    """Every process's command line (/proc/*/cmdline), sampled while ``argv`` runs: secrets must travel
    in the environment or files, never in argv (any user can read argv)."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = set()
    try:
        while proc.poll() is None:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            seen.add(f.read())
                    except OSError:
                        pass
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert any(b"sleep 1.5" in line for line in seen), "the child was never seen"
    return b"\n".join(sorted(seen))


def test_no_secret_leaks_anywhere(isolated_env, moto_server, tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(mode=0o700)
    inputs = tmp_path / "inputs"  # test-owned inputs (the token file): not credproc's output
    inputs.mkdir(mode=0o700)
    token = jwt_token()
    token_file = write_token_file(inputs, token)
    expired_file = inputs / "expired.jwt"
    expired_file.write_text(jwt_token(lifetime=-600))
    secret_line = f"  mySecret:\n    fn::secret: {MY_SECRET}\n"
    write_environment(isolated_env.env_dir, "acme/dev", login_yaml(f"{{file: {token_file}}}", extra=""
                                                                          ).replace("  environmentVariables:\n",
                                                                                    secret_line + "  environmentVariables:\n"
                                                                                    "    MY_SECRET: ${mySecret}\n"))
    write_environment(isolated_env.env_dir, "acme/denied", login_yaml(f"{{file: {token_file}}}",
                                                                     role_arn="arn:aws:iam::123456789012:role/denied"))
    write_environment(isolated_env.env_dir, "acme/expired", login_yaml(f"{{file: {expired_file}}}"))
    write_environment(isolated_env.env_dir, "acme/echo", login_yaml(f"{{file: {token_file}}}",
                                                                   role_arn="arn:aws:iam::123456789012:role/echo"))
    issued = ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
              "          roleArn: arn:aws:iam::123456789012:role/issued\n          sessionName: issued\n"
              "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
              "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n"
              "    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n")
    write_environment(isolated_env.env_dir, "acme/issued", issued)
    os.chmod(isolated_env.config_dir, 0o700)  # created as the store's parent; the issuer insists on 0700

    with StsProxy(moto_server) as proxy:
        env = dict(os.environ, AWS_ENDPOINT_URL_STS=proxy.url, AWS_ENDPOINT_URL=moto_server, CREDPROC_DEBUG="1",
                   TMPDIR=str(tmpdir), AWS_DEFAULT_REGION="us-east-1")
        scan = Scan(env)
        sts = {"sts"}

        # --- the credential paths --------------------------------------------------------------
        cold = scan.run("process cold", "process", "acme/dev", stdout_may=sts)
        scan.run("process warm", "process", "acme/dev", stdout_may=sts)
        for fmt in ("env", "json", "dotenv", "powershell", "fish"):
            scan.run(f"export {fmt}", "export", "acme/dev", "--format", fmt, stdout_may=sts)
        scan.run("run (masked)", "run", "acme/dev", "--", "sh", "-c",
                 'echo "$AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $MY_SECRET"; echo "$AWS_SESSION_TOKEN" >&2')
        argv_seen = command_lines_during([CREDPROC, "run", "acme/dev", "--", "sh", "-c", "sleep 1.5"],
                                         python_bytecode_env(env))
        scan.outputs.append(("argv of every process during `run`", "argv", argv_seen, set()))
        scan.run("env open", "env", "open", "acme/dev", stdout_may=sts | {"my_secret"})
        scan.run("env open dotenv", "env", "open", "acme/dev", "--format", "dotenv", stdout_may=sts | {"my_secret"})
        scan.run("env get", "env", "get", "acme/dev")
        scan.run("install-profile", "install-profile", "acme/dev", "--region", "us-east-1")
        scan.run("doctor profile", "doctor", "esc-dev", ok=False)
        scan.run("doctor online", "doctor", "acme/dev", "--online", ok=False)
        scan.run("cache ls", "cache", "ls")

        # --- the local issuer ------------------------------------------------------------------
        scan.run("issuer init", "issuer", "init", "--url", ISSUER_URL)
        scan.run("issuer show", "issuer", "show")
        scan.run("issuer trust-policy", "issuer", "trust-policy", "acme/issued", "--account", "123456789012")
        issued_answer = scan.run("process with the local issuer", "process", "acme/issued", stdout_may={"sts-issued"})
        scan.run("doctor issuer", "doctor", "acme/issued", ok=False)

        # --- error paths -----------------------------------------------------------------------
        proxy.fail_always(AWRWI, ("status", 403, sts_error_xml("AccessDenied", "Not authorized")))
        denied = scan.run("process AccessDenied", "process", "acme/denied", ok=False)
        assert denied.returncode == 5
        failed_run = scan.run("run, STS refuses", "run", "acme/denied", "--", "true", ok=False)
        assert failed_run.returncode == 5
        proxy.fail_always(AWRWI, ("status", 400, sts_error_xml("InvalidIdentityToken", f"bad token {token}")))
        echo = scan.run("process STS echoes the token", "process", "acme/echo", ok=False)
        assert echo.returncode == 5
        proxy.always.clear()
        expired = scan.run("process expired token", "process", "acme/expired", ok=False)
        assert expired.returncode == 4
        scan.run("cache clear", "cache", "clear")
        web_tokens = [body.get("WebIdentityToken") for body in proxy.bodies if body.get("WebIdentityToken")]

    answer = json.loads(cold.stdout)
    issued_creds = json.loads(issued_answer.stdout)
    key_pem = next(Path(isolated_env.config_dir).rglob("key.pem"))
    pem_body = "".join(line for line in key_pem.read_text().splitlines() if not line.startswith("-----"))
    secrets = {
        "sts": answer["SecretAccessKey"], "sts-token": answer["SessionToken"],
        "sts-issued": issued_creds["SecretAccessKey"], "sts-issued-token": issued_creds["SessionToken"],
        "my_secret": MY_SECRET, "oidc-token-file": token,
    }
    for n, web_token in enumerate(sorted(set(web_tokens) - {token})):
        secrets[f"oidc-token-minted-{n}"] = web_token  # signed by the local issuer
    for n in range(0, len(pem_body) - 64, 64):
        secrets[f"issuer-key-{n}"] = pem_body[n:n + 64]
    assert any(name.startswith("oidc-token-minted") for name in secrets), "the local issuer's token was not seen"
    # Names that stand for a family: "sts" allows both halves of that answer.
    families = {"sts": {"sts", "sts-token"}, "sts-issued": {"sts-issued", "sts-issued-token"},
                "my_secret": {"my_secret"}}

    leaks = []
    for label, stream, data, allowed in scan.outputs:
        allowed_names = set().union(*(families.get(a, {a}) for a in allowed)) if allowed else set()
        for name in find_leaks(data, secrets, allowed_names):
            leaks.append(f"{label} {stream}: {name}")

    # Every file credproc (or the AWS config) could have written, and TMPDIR.
    roots = [isolated_env.home, isolated_env.cache_dir, isolated_env.config_dir, tmpdir]
    credential_entries = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            allowed = set()
            mode = stat.S_IMODE(path.stat().st_mode)
            rel = str(path)
            if path.parent.name in ("creds", "env") and path.suffix in (".json", ".idx") \
                    and Path(root) == isolated_env.cache_dir:
                allowed = {"sts", "sts-token", "sts-issued", "sts-issued-token"}
                credential_entries.append(path)
                assert mode == 0o600, (rel, oct(mode))
            elif path == key_pem:
                allowed = {n for n in secrets if n.startswith("issuer-key-")}
                assert mode == 0o600, (rel, oct(mode))
            elif path.suffix == ".yaml" and str(path).startswith(str(isolated_env.env_dir)):
                allowed = {"my_secret"}  # the user's own definition (fn::secret plaintext is their input)
            for name in find_leaks(data, secrets, allowed):
                leaks.append(f"file {rel}: {name}")
    assert leaks == [], "secrets found where they must not be:\n" + "\n".join(leaks)
    # The scan saw what it claims to: the cache was cleared at the end, but stdout/stderr were checked,
    # and the run's masked output was really produced.
    run_out = next(data for label, stream, data, _ in scan.outputs if label == "run (masked)" and stream == "stdout")
    assert b"[secret]" in run_out
    assert os.listdir(tmpdir) == []  # run's 0600 temp files are gone


def test_the_scan_detects_a_leak():
    # The detector itself: a full secret, a truncated one and one JWT segment are all found.
    token = jwt_token()
    secrets = {"t": token, "s": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" * 2}
    assert find_leaks(("x" + token + "y").encode(), secrets, set()) == ["t"]
    assert find_leaks(token.split(".")[1].encode(), secrets, set()) == ["t"]
    assert find_leaks(secrets["s"][20:70].encode(), secrets, set()) == ["s"]
    assert find_leaks(b"nothing here", secrets, set()) == []
    assert find_leaks(token.encode(), secrets, {"t"}) == []
