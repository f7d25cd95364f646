"""The device authorization grant (RFC 8628) against the real oidc-provider server: `credproc login
--device` polls as the server asks (authorization_pending, slow_down -> a longer interval), a
denial is refused clearly, and `credproc process --auto-login` logs in through the controlling
terminal alone (stdout keeps exactly the JSON, stderr stays empty)."""
import json
import os
import re
import subprocess
import threading
import time

import pytest

from loginhelp import ACCOUNT, Person, credproc_argv, run_credproc, start_credproc, write_login_env

pytestmark = pytest.mark.timeout(120)

REF = "acme/dev"
CODE_LINE = re.compile(r"To log in, open (\S+) and enter the code: (\S+)$")


def device_polls(server, since):
    return [c for c in server.token_calls(since) if c["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"]


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_device_login_polls_as_the_server_asks(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer)
    mark = oidc_server.mark()
    proc = start_credproc("login", REF, "--device")
    try:
        uri, user_code = CODE_LINE.search(proc.wait_line(CODE_LINE.search)).groups()
        # The person is slow: approve only after the server said "pending" and "slow down".
        wait_for(lambda: {"authorization_pending", "slow_down"} <= {c["error"] for c in device_polls(oidc_server, mark)})
        Person("bob").approve_device(uri, user_code)
        code, _out, stderr = proc.finish()
    finally:
        proc.kill()
    assert code == 0, stderr
    assert f"Logged in to {oidc_server.issuer} as 'bob'" in stderr
    polls = device_polls(oidc_server, mark)
    errors = [c["error"] for c in polls]
    first_slow_down = errors.index("slow_down")
    assert errors[0] == "authorization_pending" and errors[-1] is None
    assert polls[-1]["status"] == 200
    # After slow_down the interval grew from 1 s to 1 + 1 s (the test's step; RFC 8628 says 5):
    # every later poll keeps at least that distance, so no second slow_down.
    after = [c["at"] for c in polls[first_slow_down:]]
    assert all(b - a >= 1.9 for a, b in zip(after, after[1:])), after
    assert errors.count("slow_down") == 1
    # The login works for credentials.
    done = run_credproc("process", REF)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccountId"] == ACCOUNT


def test_device_login_denied(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer)
    proc = start_credproc("login", REF, "--device")
    try:
        uri, user_code = CODE_LINE.search(proc.wait_line(CODE_LINE.search)).groups()
        Person().approve_device(uri, user_code, deny=True)
        code, _out, stderr = proc.finish()
    finally:
        proc.kill()
    assert code == 4
    assert "credproc: the login was denied at the identity provider" in stderr


def test_auto_login_talks_to_the_terminal_only(oidc_server, login_env):
    """`credproc process --auto-login` with a controlling terminal (a pty) and no display: the device
    code goes to /dev/tty; stdout is exactly the credential JSON and stderr is empty."""
    import fcntl
    import termios

    write_login_env(REF, oidc_server.issuer)
    master, slave = os.openpty()

    def become_session_leader_with_tty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(credproc_argv("process", REF, "--auto-login"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(slave,),
                            preexec_fn=become_session_leader_with_tty)
    os.close(slave)
    terminal = []
    found = threading.Event()

    def read_terminal():
        buffer = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            terminal.append(chunk.decode("utf-8", "replace"))
            if any(CODE_LINE.search(line) for line in buffer.decode("utf-8", "replace").replace("\r", "").split("\n")):
                found.set()

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        assert found.wait(20), "".join(terminal)
        text = "".join(terminal).replace("\r", "")
        uri, user_code = next(CODE_LINE.search(line) for line in text.split("\n") if CODE_LINE.search(line)).groups()
        # Meanwhile a caller that cannot log in (no --auto-login) is told so at once, though the
        # waiting login holds this environment's refresh locks.
        started = time.monotonic()
        other = run_credproc("process", REF)
        assert time.monotonic() - started < 1.5
        assert other.returncode == 3, other.stderr
        assert other.stderr.startswith(f"credproc: login required for {REF}: a login is in progress in another "
                                       f"terminal (pid {proc.pid})")
        Person().approve_device(uri, user_code)
        out, err = proc.communicate(timeout=30)
        reader.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    said = "".join(terminal).replace("\r", "")
    assert f"credproc: {REF} needs a login to {oidc_server.issuer}." in said
    assert "credproc: logged in as 'alice'." in said
    assert proc.returncode == 0, err
    assert err == b""
    answer = json.loads(out)
    assert set(answer) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"}
    assert user_code.encode() not in out
    # The login was saved: the next call without --auto-login refreshes or reuses it silently.
    done = run_credproc("process", REF)
    assert done.returncode == 0 and json.loads(done.stdout) == answer


@pytest.fixture(scope="module")
def short_lived_codes_server(oidc_server, tmp_path_factory):
    """A second server whose device codes live 3 seconds (oidc_server: node and npm are there)."""
    from loginhelp import OidcServer

    server = OidcServer(tmp_path_factory.mktemp("oidc-short"), DEVICE_INTERVAL=1, DEVICE_CODE_TTL=3)
    yield server
    server.stop()


def test_device_code_expires_unapproved(short_lived_codes_server, login_env):
    write_login_env(REF, short_lived_codes_server.issuer)
    started = time.monotonic()
    done = run_credproc("login", REF, "--device", timeout=30)
    assert done.returncode == 4, done.stderr
    assert "credproc: the device code expired before the login was approved" in done.stderr
    assert time.monotonic() - started < 15
    errors = [c["error"] for c in device_polls(short_lived_codes_server, 0)]
    assert errors and set(errors) <= {"authorization_pending", "expired_token"}
