"""`credproc run` masks every secret leaf wherever the child prints it: real `credproc run`
subprocesses, on pipes and on a pseudo-terminal, plus the run directory's sweep after a SIGKILL.

Each test puts the secret where a leak could happen (inside a larger string, a JSON value, a file,
split across writes, stderr, a terminal) and checks that no byte of it reaches our side.
"""
import base64
import os
import signal
import stat
import subprocess
import textwrap
import time

import pytest

from runhelp import CREDPROC, PY, Terminal, default_signals, py, write_env  # tests/run is on sys.path

PW = "hunter2-very-secret"
INLINE = "inline-only-secret"
KEY = "-----BEGIN KEY-----\nMIIBsecretbody\n-----END KEY-----\n"

ENV = textwrap.dedent("""\
    values:
      user: app-user
      pw:
        fn::secret: hunter2-very-secret
      key:
        fn::secret: |
          -----BEGIN KEY-----
          MIIBsecretbody
          -----END KEY-----
      environmentVariables:
        DATABASE_URL: postgres://${user}:${pw}@db.example.com/app
        CONFIG:
          fn::toJSON: {user: "${user}", password: "${pw}", key: "${key}"}
        INLINE_JSON:
          fn::toJSON: {user: "${user}", token: {fn::secret: inline-only-secret}}
        B64:
          fn::toBase64: ${pw}
        PLAIN: nothing to hide
      files:
        SETTINGS_FILE: "[db]\\npassword = ${pw}\\nuser = ${user}\\n"
        KEY_FILE: ${key}
    """)


@pytest.fixture(autouse=True)
def environments(isolated_env, monkeypatch):
    monkeypatch.delenv("CREDPROC_RUN", raising=False)
    write_env(isolated_env, "acme/mask", ENV)
    return isolated_env


def run(*args, timeout=60, **kwargs):
    return subprocess.run([CREDPROC, "run", *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, preexec_fn=default_signals, **kwargs)


def assert_no_secret(data: bytes):
    for secret in (PW, INLINE, "MIIBsecretbody", "-----BEGIN KEY-----"):
        assert secret.encode() not in data, (secret, data)


# --- leak paths on pipes --------------------------------------------------------------------------

PARTS = """
    import json, os, sys
    from urllib.parse import urlsplit
    print("url-password:", urlsplit(os.environ["DATABASE_URL"]).password)
    config = json.loads(os.environ["CONFIG"])
    print("json-password:", config["password"], "user:", config["user"])
    print("json-raw:", os.environ["CONFIG"])
    print("inline:", json.loads(os.environ["INLINE_JSON"])["token"], "user:", json.loads(os.environ["INLINE_JSON"])["user"])
    print("plain:", os.environ["PLAIN"])
"""


def test_a_secret_inside_a_larger_value_is_masked_when_printed_alone():
    result = run("acme/mask", "--", *py(PARTS))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert_no_secret(result.stdout)
    lines = out.splitlines()
    assert lines[0] == "url-password: [secret]"
    assert lines[1] == "json-password: [secret] user: app-user"  # a plain member stays visible
    assert lines[2] == "json-raw: [secret]"  # the whole document is a secret value too
    assert lines[3] == "inline: [secret] user: app-user"
    assert lines[4] == "plain: nothing to hide"


FILE_PARTS = """
    import base64, os, sys
    settings = open(os.environ["SETTINGS_FILE"]).read()
    password_line = [l for l in settings.splitlines() if l.startswith("password")][0]
    print("from-file:", password_line.split(" = ")[1])
    key = open(os.environ["KEY_FILE"]).read()
    print("key-line:", key.splitlines()[1])
    print("key-escaped:", repr(key))
    print("b64:", os.environ["B64"], "decoded:", base64.b64decode(os.environ["B64"]).decode())
    print("b64-of-echo:", base64.b64encode((os.environ["PASSWORD_ARG"] + "\\n").encode()).decode())
"""


def test_secrets_from_files_and_derived_forms_are_masked():
    result = run("acme/mask", "--", "sh", "-c", 'PASSWORD_ARG="$1" exec "$0" "$2" "$3"', PY, "${pw}",
                 "-c", textwrap.dedent(FILE_PARTS))
    assert result.returncode == 0, result.stderr
    assert_no_secret(result.stdout)
    assert base64.b64encode(PW.encode()) not in result.stdout
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "from-file: [secret]"
    assert lines[1] == "key-line: [secret]"
    assert lines[3] == "b64: [secret] decoded: [secret]"
    assert lines[4] == "b64-of-echo: [secret]"


SPLIT = """
    import os, sys, time
    pw = os.environ["CONFIG"]
    for stream in (sys.stdout, sys.stderr):
        secret = __import__("json").loads(pw)["password"]
        stream.write("split:" + secret[:7]); stream.flush(); time.sleep(0.3)
        stream.write(secret[7:] + "|" + secret[:2]); stream.flush(); time.sleep(0.3)
        stream.write("\\n"); stream.flush()
"""


def test_a_secret_split_across_writes_with_a_flush_between_on_stdout_and_stderr():
    result = run("acme/mask", "--", *py(SPLIT))
    assert result.returncode == 0
    assert result.stdout == b"split:[secret]|hu\n"
    assert result.stderr == b"split:[secret]|hu\n"


MULTILINE = """
    import json, os, sys
    key = json.loads(os.environ["CONFIG"])["key"]
    sys.stderr.write("whole:" + key)
    sys.stderr.write("crlf:" + key.replace("\\n", "\\r\\n"))
    sys.stderr.write("indented:\\n" + "".join("    " + line + "\\n" for line in key.splitlines()))
"""


def test_a_multiline_secret_and_each_of_its_lines_are_masked_on_stderr():
    result = run("acme/mask", "--", *py(MULTILINE))
    assert result.returncode == 0
    assert_no_secret(result.stderr)
    assert result.stderr.decode() == "whole:[secret]crlf:[secret]indented:\n" + "    [secret]\n" * 3


def test_interactive_turns_masking_off():
    result = run("-i", "acme/mask", "--", *py(PARTS))
    assert result.returncode == 0
    assert f"url-password: {PW}\n".encode() in result.stdout
    assert f"inline: {INLINE} ".encode() in result.stdout


def test_lots_of_output_on_both_streams_does_not_deadlock():
    code = "import os,sys\nfor i in range(3000):\n sys.stdout.write('o'*200+os.environ['DATABASE_URL']+'\\n')\n" \
           " sys.stderr.write('e'*200+'\\n')"
    result = run("acme/mask", "--", PY, "-c", code, timeout=60)
    assert result.returncode == 0
    assert result.stdout == (b"o" * 200 + b"[secret]\n") * 3000  # DATABASE_URL is a secret as a whole
    assert result.stderr == (b"e" * 200 + b"\n") * 3000


@pytest.mark.timeout(60)
def test_a_background_grandchild_holding_the_pipe_does_not_hold_the_run():
    started = time.monotonic()
    result = run("acme/mask", "--", "sh", "-c", 'sleep 30 & echo "done $DATABASE_URL"', timeout=25)
    assert time.monotonic() - started < 10
    assert result.returncode == 0
    assert result.stdout == b"done [secret]\n"


# --- on a terminal --------------------------------------------------------------------------------

@pytest.fixture
def terminal():
    term = Terminal()
    yield term
    term.close()


TTY_REPORT = """
    import json, os, subprocess, sys
    print("isatty", os.isatty(0), os.isatty(1), os.isatty(2), flush=True)
    print("size", subprocess.run(["stty", "size"], capture_output=True, text=True).stdout.strip(), flush=True)
    print("url", os.environ["DATABASE_URL"], flush=True)
    print("err", json.loads(os.environ["CONFIG"])["password"], file=sys.stderr, flush=True)
    sys.stdout.write("key:" + open(os.environ["KEY_FILE"]).read() + "end\\n")
"""


@pytest.mark.timeout(60)
def test_on_a_terminal_the_child_gets_a_terminal_and_its_output_is_masked(terminal):
    before = terminal.settings()
    proc = terminal.start("acme/mask", "--", *py(TTY_REPORT))
    output = terminal.read_rest(proc)
    assert proc.returncode == 0, output
    assert_no_secret(output)
    text = output.decode().replace("\r\n", "\n")
    assert "isatty True True True\n" in text
    assert "size 37 101\n" in text
    assert "url [secret]\n" in text
    assert "err [secret]\n" in text
    assert "key:[secret]end\n" in text  # the terminal turned its \n into \r\n
    assert terminal.settings() == before, "credproc left the terminal in raw mode"


@pytest.mark.timeout(60)
def test_a_background_grandchild_holding_the_terminal_does_not_hold_the_run(terminal):
    started = time.monotonic()
    proc = terminal.start("acme/mask", "--", "sh", "-c", 'sleep 30 & echo "done $DATABASE_URL"')
    output = terminal.read_rest(proc, timeout=25)
    assert time.monotonic() - started < 10
    assert proc.returncode == 0
    assert output.replace(b"\r\n", b"\n") == b"done [secret]\n"


WINCH = """
    import os, signal, subprocess, sys, time
    def report(*_):
        print("size", subprocess.run(["stty", "size"], capture_output=True, text=True).stdout.strip(), flush=True)
        sys.exit(0)
    signal.signal(signal.SIGWINCH, report)
    print("ready", flush=True)
    time.sleep(20)
    sys.exit(9)
"""


@pytest.mark.timeout(60)
def test_window_size_changes_reach_the_child(terminal):
    proc = terminal.start("acme/mask", "--", *py(WINCH))
    terminal.read_until(b"ready")
    terminal.resize(12, 34)
    proc.send_signal(signal.SIGWINCH)  # what the terminal sends its foreground group
    output = terminal.read_rest(proc)
    assert proc.returncode == 0, output
    assert b"size 12 34" in output


KEYS = """
    import os, sys
    line = sys.stdin.readline()
    print("got", line.strip(), os.environ["DATABASE_URL"], flush=True)
"""


@pytest.mark.timeout(60)
def test_typed_input_reaches_the_child_on_its_terminal(terminal):
    proc = terminal.start("acme/mask", "--", *py(KEYS))
    time.sleep(1)
    os.write(terminal.leader, b"typed words\r")
    output = terminal.read_rest(proc)
    assert proc.returncode == 0, output
    text = output.decode().replace("\r\n", "\n")
    assert "typed words\n" in text  # echoed by the child's terminal
    assert "got typed words [secret]\n" in text


TRAP = """
    import os, signal, sys, time
    def stop(signum, frame):
        print("caught", signal.Signals(signum).name, flush=True)
        sys.exit(7)
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), stop)
    print("ready", flush=True)
    time.sleep(20)
    sys.exit(1)
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signals_reach_the_child_on_a_terminal_and_the_terminal_is_restored(terminal, signame):
    before = terminal.settings()
    proc = terminal.start("acme/mask", "--", *py(TRAP))
    terminal.read_until(b"ready")
    proc.send_signal(getattr(signal, signame))
    output = terminal.read_rest(proc)
    assert proc.returncode == 7, output
    assert f"caught {signame}".encode() in output
    assert terminal.settings() == before


@pytest.mark.timeout(60)
def test_ctrl_c_typed_on_the_terminal_interrupts_the_child_once(terminal):
    proc = terminal.start("acme/mask", "--", *py(TRAP))
    terminal.read_until(b"ready")
    os.write(terminal.leader, b"\x03")
    output = terminal.read_rest(proc)
    assert proc.returncode == 7, output
    assert output.count(b"caught SIGINT") == 1


def test_a_child_killed_by_a_signal_on_a_terminal_gives_128_plus_n(terminal):
    proc = terminal.start("acme/mask", "--", PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    terminal.read_rest(proc)
    assert proc.returncode == 128 + signal.SIGTERM


# --- the run directory ----------------------------------------------------------------------------

HOLD = """
    import os, sys, time
    with open(sys.argv[1], "w") as fh:
        fh.write(os.environ["KEY_FILE"] + "\\n" + str(os.getpid()))
    time.sleep(30)
"""


def run_directory(isolated_env):
    return isolated_env.cache_dir / "run"  # the tests' XDG_RUNTIME_DIR does not exist


def _sigkilled_run(environments, tmp_path):
    """A run killed with SIGKILL (its child too) -> (its directory, the key file it left behind)."""
    report = tmp_path / "report"
    proc = subprocess.Popen([CREDPROC, "run", "acme/mask", "--", *py(HOLD), str(report)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=default_signals)
    deadline = time.monotonic() + 30
    while not report.exists() or "\n" not in report.read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    key_file, child_pid = report.read_text().split("\n")
    proc.kill()
    proc.wait()
    os.kill(int(child_pid), signal.SIGKILL)
    run_dir = os.path.dirname(key_file)
    assert os.path.dirname(run_dir) == str(run_directory(environments))
    assert os.path.basename(run_dir).startswith(f"{proc.pid}-")
    assert open(key_file).read() == KEY  # left behind by the SIGKILL
    return proc, run_dir


@pytest.mark.timeout(60)
def test_files_of_a_sigkilled_run_are_swept_by_the_next_run(environments, tmp_path):
    proc, run_dir = _sigkilled_run(environments, tmp_path)
    scope = os.path.basename(run_dir).split("-")[1]
    live = run_directory(environments) / f"{os.getpid()}-{scope}-live"  # a run still going: kept
    elsewhere = run_directory(environments) / f"{proc.pid}-0badc0de-other"  # another host/container's
    for kept in (live, elsewhere):
        kept.mkdir(mode=0o700)
    result = run("acme/mask", "--", PY, "-c", "pass")
    assert result.returncode == 0, result.stderr
    assert not os.path.exists(run_dir)
    assert live.exists() and elsewhere.exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("named", [False, True])
def test_cache_clear_sweeps_the_files_of_a_sigkilled_run(environments, tmp_path, named):
    proc, run_dir = _sigkilled_run(environments, tmp_path)
    scope = os.path.basename(run_dir).split("-")[1]
    live = run_directory(environments) / f"{os.getpid()}-{scope}-live"  # a run still going: kept
    elsewhere = run_directory(environments) / f"{proc.pid}-0badc0de-other"  # another host/container's
    for kept in (live, elsewhere):
        kept.mkdir(mode=0o700)
    result = subprocess.run([CREDPROC, "cache", "clear", *(["acme/mask"] if named else [])], capture_output=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().endswith(" and 1 directory of killed runs\n"), result.stdout
    assert not os.path.exists(run_dir)
    assert live.exists() and elsewhere.exists()
    again = subprocess.run([CREDPROC, "cache", "clear"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "killed runs" not in again.stdout.decode()


def test_files_live_in_a_private_run_directory(environments):
    code = "import os; print(os.environ['KEY_FILE'])"
    result = run("acme/mask", "--", PY, "-c", code)
    path = result.stdout.decode().strip()
    run_dir = run_directory(environments)
    assert os.path.dirname(os.path.dirname(path)) == str(run_dir)
    assert stat.S_IMODE(os.stat(run_dir).st_mode) == 0o700
    assert not os.path.exists(path)


def test_the_runtime_directory_is_preferred(environments, tmp_path):
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    code = "import os; print(os.environ['KEY_FILE'])"
    result = run("acme/mask", "--", PY, "-c", code, env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)))
    path = result.stdout.decode().strip()
    assert os.path.dirname(os.path.dirname(path)) == str(runtime / "credproc" / "run")


def test_an_open_run_directory_is_refused_with_the_fix(environments, tmp_path):
    run_dir = run_directory(environments)
    run_dir.parent.mkdir(mode=0o700)
    run_dir.mkdir(mode=0o755)
    run_dir.chmod(0o755)
    marker = tmp_path / "ran"
    result = run("acme/mask", "--", PY, "-c", f"open({str(marker)!r}, 'w').close()")
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith(f"credproc: run directory {run_dir} is accessible by group or others (mode 755)")
    assert f"chmod 700 {run_dir}" in result.stderr.decode()
    assert not marker.exists()


ECHO = """
    import sys
    print("ready", flush=True)
    line = sys.stdin.readline()
    print("read", len(line.strip()), flush=True)
"""


@pytest.mark.timeout(60)
def test_a_typed_key_that_could_start_a_secret_is_echoed_at_once(terminal):
    """The echo of "h" (the start of hunter2-...) is not held back until the next key: held-back
    output that is only the echo of what was typed is shown after a short pause. A program's own
    output is never released that way (test_a_secret_split_across_writes_...)."""
    proc = terminal.start("acme/mask", "--", *py(ECHO))
    terminal.read_until(b"ready\r\n")  # whole: the kernel may echo a key between "ready" and its \r\n
    os.write(terminal.leader, b"h")
    terminal.read_until(b"ready\r\nh", timeout=3)
    os.write(terminal.leader, PW[1:].encode())
    os.write(terminal.leader, b"\r")
    output = terminal.read_rest(proc)
    assert proc.returncode == 0
    assert b"read 19" in output


@pytest.mark.timeout(60)
def test_on_a_terminal_with_output_redirected_the_output_stays_in_the_files_and_the_echo_on_the_terminal(tmp_path):
    term = Terminal()
    out, err = tmp_path / "out", tmp_path / "err"
    try:
        with open(out, "wb") as out_file, open(err, "wb") as err_file:
            def child_setup():
                default_signals()
                os.setsid()
                import fcntl
                import termios
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

            follower = os.open(os.ttyname(term.follower), os.O_RDWR)
            proc = subprocess.Popen([CREDPROC, "run", "acme/mask", "--", *py(KEYS)], stdin=follower,
                                    stdout=out_file, stderr=err_file, preexec_fn=child_setup)
            os.close(follower)
            time.sleep(1)
            os.write(term.leader, b"typed words\r")
            shown = term.read_rest(proc)
    finally:
        term.close()
    assert proc.returncode == 0, err.read_bytes()
    assert out.read_bytes() == b"got typed words [secret]\n"  # a pipe: no \r, masked
    assert b"typed words\r\n" in shown  # the echo went to the terminal, not into a file
    assert err.read_bytes() == b""
