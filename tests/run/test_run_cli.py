"""`credproc run` through the real command line (.venv/bin/credproc), with hand-written environments.

The child is the venv's Python running small scripts, so the tests see exactly what the child got:
its environment, its argv, its files. Output is captured through pipes (not terminals), so
masking is on unless -i.
"""
import json
import os
import signal
import stat
import subprocess
import textwrap
import time

import pytest
from runhelp import CREDPROC, PY, default_signals, py, write_env  # tests/run is on sys.path

SECRET = "hunter2-very-secret"
FILE_SECRET = "-----BEGIN KEY-----\nMIIBsecretbody\n-----END KEY-----\n"

DEV = textwrap.dedent("""\
    values:
      greeting: hello
      pw:
        fn::secret: hunter2-very-secret
      nested:
        list: [zero, one]
        object: {user: bob, password: {"fn::secret": "obj-secret-xyz"}}
      environmentVariables:
        GREETING: ${greeting}
        PASSWORD: ${pw}
        NUMBER: 3.14
        FLAG: true
        NOTHING: null
        LIST: [a, b]
        OBJECT: {a: b}
        SHORT:
          fn::secret: ab
      files:
        PLAIN_FILE: plain file content
        KEY_FILE:
          fn::secret: |
            -----BEGIN KEY-----
            MIIBsecretbody
            -----END KEY-----
        LIST_FILE: [x]
    """)


@pytest.fixture(autouse=True)
def environments(isolated_env, monkeypatch):
    monkeypatch.delenv("CREDPROC_RUN", raising=False)
    write_env(isolated_env, "acme/dev", DEV)
    return isolated_env


def credproc_run(*args, env=None, timeout=60):
    return subprocess.run([CREDPROC, "run", *args], capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


# --- variables and files ------------------------------------------------------------------------

REPORT = """
    import json, os, stat, sys
    names = ["GREETING", "PASSWORD", "NUMBER", "FLAG", "NOTHING", "LIST", "OBJECT", "SHORT", "LIST_FILE",
             "CREDPROC_RUN"]
    files = {}
    for name in ("PLAIN_FILE", "KEY_FILE"):
        path = os.environ[name]
        files[name] = {"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode),
                       "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
                       "content": open(path).read()}
    print(json.dumps({"env": {n: os.environ.get(n) for n in names}, "files": files}))
"""


def test_variables_and_files_are_passed():
    result = credproc_run("-i", "acme/dev", "--", *py(REPORT))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["env"] == {
        "GREETING": "hello", "PASSWORD": SECRET, "NUMBER": "3.14", "FLAG": "true", "NOTHING": "",
        "LIST": None, "OBJECT": None, "SHORT": "ab", "LIST_FILE": None, "CREDPROC_RUN": "acme/dev",
    }
    for name, content in (("PLAIN_FILE", "plain file content"), ("KEY_FILE", FILE_SECRET)):
        info = report["files"][name]
        assert info["content"] == content
        assert info["mode"] == 0o600 and info["dir_mode"] == 0o700
        assert not os.path.exists(info["path"]), "temp file left behind"
        assert not os.path.exists(os.path.dirname(info["path"])), "temp dir left behind"


def test_files_removed_when_the_command_fails():
    code = "import os, sys; print(os.environ['PLAIN_FILE']); sys.exit(3)"
    result = credproc_run("acme/dev", "--", PY, "-c", code)
    assert result.returncode == 3
    path = result.stdout.decode().strip()
    assert path and not os.path.exists(path)


def test_inherited_environment_is_kept_and_projections_win():
    code = "import os; print(os.environ['KEEP_ME'], os.environ['GREETING'])"
    result = credproc_run("acme/dev", "--", PY, "-c", code, env={"KEEP_ME": "kept", "GREETING": "old"})
    assert result.stdout.decode() == "kept hello\n"


# --- arguments ----------------------------------------------------------------------------------

ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


def test_argument_interpolation():
    args = ["${greeting}", "x-${nested.list[1]}-y", "[${missing}]", "$${greeting}", "$$5", "${greeting",
            "${nested.list}", "plain"]
    result = credproc_run("-i", "acme/dev", "--", PY, "-c", ARGV, *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "hello", "x-one-y", "[]", "${greeting}", "$5", "${greeting", '"zero","one"', "plain",
    ]


def test_secrets_used_in_arguments_are_masked_in_output():
    result = credproc_run("acme/dev", "--", PY, "-c", ARGV, "${pw}", "${nested.object}")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert SECRET not in out and "obj-secret-xyz" not in out
    assert json.loads(out) == ["[secret]", '"password"="[secret]","user"="bob"']


def test_an_argument_carrying_a_secret_is_warned_about_on_stderr():
    result = credproc_run("-i", "acme/dev", "--", PY, "-c", ARGV, "${greeting}", "--password=${pw}",
                          "${nested.object}", "${nested.list[1]}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["hello", "--password=" + SECRET, '"password"="obj-secret-xyz","user"="bob"',
                                         "one"]
    warning = "credproc: warning: argument {} of " + PY + " carries a secret ({}); any local user can read argv with ps"
    assert result.stderr.decode().splitlines() == [warning.format(4, "pw"), warning.format(5, "nested.object")]
    assert SECRET.encode() not in result.stderr and b"obj-secret-xyz" not in result.stderr
    plain = credproc_run("acme/dev", "--", PY, "-c", ARGV, "${greeting}", "${nested.list}")
    assert plain.returncode == 0 and plain.stderr == b"", plain.stderr  # no secret in argv: no warning


def test_command_name_is_not_interpolated():
    result = credproc_run("acme/dev", "--", "${greeting}")
    assert result.returncode == 2
    assert b"resolving command" in result.stderr and b"${greeting}" in result.stderr


def test_options_after_the_environment():
    result = credproc_run("acme/dev", "-i", "--", PY, "-c", "import os; print(os.environ['PASSWORD'])")
    assert result.stdout.decode() == SECRET + "\n"


# --- masking ------------------------------------------------------------------------------------

LEAK = """
    import os, sys, time
    pw = os.environ["PASSWORD"]
    key = open(os.environ["KEY_FILE"]).read()
    print("out:", pw, "short:", os.environ["SHORT"], flush=True)
    print("err:", pw, file=sys.stderr, flush=True)
    sys.stdout.write("key:" + key)
    sys.stdout.flush()
    # a secret split across two writes with a pause between them
    sys.stdout.write("split:" + pw[:5]); sys.stdout.flush(); time.sleep(0.2)
    sys.stdout.write(pw[5:] + "\\n"); sys.stdout.flush()
    sys.stderr.write("tail:" + pw)  # no final newline
"""


def test_masking_in_stdout_and_stderr():
    result = credproc_run("acme/dev", "--", *py(LEAK))
    assert result.returncode == 0, result.stderr
    out, err = result.stdout.decode(), result.stderr.decode()
    assert out == "out: [secret] short: ab\nkey:[secret]split:[secret]\n"
    assert err == "err: [secret]\ntail:[secret]"


def test_interactive_disables_masking():
    result = credproc_run("-i", "acme/dev", "--", *py(LEAK))
    out, err = result.stdout.decode(), result.stderr.decode()
    assert out == f"out: {SECRET} short: ab\nkey:{FILE_SECRET}split:{SECRET}\n"
    assert err == f"err: {SECRET}\ntail:{SECRET}"


def test_interleaving_kept_when_stdout_and_stderr_are_one_pipe():
    code = "import os,sys\nfor i in range(3):\n print('o', i, os.environ['PASSWORD'], flush=True); " \
           "print('e', i, flush=True, file=sys.stderr)"
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PY, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)
    assert result.stdout.decode().splitlines() == [
        "o 0 [secret]", "e 0", "o 1 [secret]", "e 1", "o 2 [secret]", "e 2"]


def test_large_output_passes_through():
    code = "import os,sys\nline=('x'*99+'\\n')*10000\nsys.stdout.write(line+os.environ['PASSWORD']+line)"
    result = credproc_run("acme/dev", "--", PY, "-c", code)
    assert result.returncode == 0
    assert result.stdout == (b"x" * 99 + b"\n") * 10000 + b"[secret]" + (b"x" * 99 + b"\n") * 10000


def test_stdin_passes_through():
    code = "import sys; print(sys.stdin.read().upper())"
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PY, "-c", code], input=b"from stdin",
                            capture_output=True, timeout=60)
    assert result.stdout == b"FROM STDIN\n"


# --- exit codes and signals ---------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 42])
def test_exit_code_propagates(code):
    result = credproc_run("acme/dev", "--", PY, "-c", f"import sys; sys.exit({code})")
    assert result.returncode == code


def test_child_killed_by_a_signal_gives_128_plus_n():
    result = credproc_run("acme/dev", "--", PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert result.returncode == 128 + signal.SIGKILL


TRAP = """
    import os, signal, sys, time
    marker, ready = sys.argv[1], sys.argv[2]
    def on_term(signum, frame):
        with open(marker, "w") as fh:
            fh.write(os.environ["PLAIN_FILE"])
        sys.exit(7)
    signal.signal(signal.SIGTERM, on_term)
    open(ready, "w").close()
    time.sleep(30)
    sys.exit(1)
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signame", [name for name in (
    "SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
    "SIGPWR", "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGSTKFLT", "SIGIO", "SIGSYS", "SIGABRT",
    "SIGRTMIN", "SIGRTMAX") if hasattr(signal, name)])
def test_signals_reach_the_child(tmp_path, signame):
    marker, ready = tmp_path / "marker", tmp_path / "ready"
    trap = TRAP.replace("signal.SIGTERM", f"signal.{signame}")
    proc = subprocess.Popen([CREDPROC, "run", "acme/dev", "--", *py(trap), str(marker), str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=default_signals)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "child never started"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 7, err
    temp_file = marker.read_text()
    assert temp_file and not os.path.exists(temp_file)


def _ignore_hangup_and_interrupt():
    """For preexec_fn: what `nohup credproc run ... &` gives credproc."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def test_under_nohup_the_child_keeps_sighup_and_sigint_ignored():
    # As a shell does: a signal ignored when credproc starts stays ignored for the command it runs
    # (nohup's promise); credproc neither catches nor forwards it.
    report = "import signal; print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN, signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PY, "-c", report], capture_output=True, timeout=60,
                            stdin=subprocess.DEVNULL, preexec_fn=_ignore_hangup_and_interrupt)
    assert (result.returncode, result.stdout) == (0, b"True True\n"), result.stderr


def test_with_default_dispositions_the_child_gets_default_sighup():
    report = "import signal; print(signal.getsignal(signal.SIGHUP) == signal.SIG_DFL)"
    result = subprocess.run([CREDPROC, "run", "acme/dev", "--", PY, "-c", report], capture_output=True, timeout=60,
                            stdin=subprocess.DEVNULL, preexec_fn=default_signals)
    assert (result.returncode, result.stdout) == (0, b"True\n"), result.stderr


# --- refusals and errors ------------------------------------------------------------------------

def test_nesting_refused_without_nested(tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()"
    result = credproc_run("acme/dev", "--", PY, "-c", code, env={"CREDPROC_RUN": "acme/prod"})
    assert result.returncode == 2
    assert result.stderr.decode().startswith("credproc: already inside `credproc run acme/prod`")
    assert b"--nested" in result.stderr
    assert not marker.exists()
    result = credproc_run("--nested", "acme/dev", "--", PY, "-c", "import os; print(os.environ['CREDPROC_RUN'])",
                          env={"CREDPROC_RUN": "acme/prod"})
    assert result.returncode == 0 and result.stdout == b"acme/dev\n"


def test_a_run_inside_a_run_is_refused():
    inner = [CREDPROC, "run", "acme/dev", "--", PY, "-c", "print('inner ran')"]
    result = credproc_run("acme/dev", "--", *inner)
    assert result.returncode == 2
    assert b"inner ran" not in result.stdout and b"already inside" in result.stderr


AWS_ENV = textwrap.dedent("""\
    values:
      environmentVariables:
        AWS_ACCESS_KEY_ID: AKIAENVIRONMENTKEY01
        AWS_SECRET_ACCESS_KEY:
          fn::secret: environment-secret-key
        AWS_REGION: eu-west-3
    """)
AWS_NAMES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
             "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_REGION",
             "AWS_DEFAULT_REGION")
AWS_DUMP = "import json, os; print(json.dumps({n: os.environ.get(n) for n in %r}))" % (AWS_NAMES,)


def test_conflicting_aws_variables_cleared(environments):
    write_env(environments, "acme/aws", AWS_ENV)
    stale = {name: "stale" for name in AWS_NAMES}
    result = credproc_run("-i", "acme/aws", "--", PY, "-c", AWS_DUMP, env=stale)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None, "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENTKEY01",
        "AWS_SECRET_ACCESS_KEY": "environment-secret-key", "AWS_SESSION_TOKEN": None,
        "AWS_SECURITY_TOKEN": None, "AWS_CREDENTIAL_EXPIRATION": None, "AWS_WEB_IDENTITY_TOKEN_FILE": None,
        "AWS_ROLE_ARN": None, "AWS_ROLE_SESSION_NAME": None, "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
    }


def test_aws_variables_kept_when_the_environment_has_no_credentials():
    result = credproc_run("acme/dev", "--", PY, "-c", AWS_DUMP, env={"AWS_PROFILE": "mine"})
    assert json.loads(result.stdout)["AWS_PROFILE"] == "mine"


def test_missing_command():
    result = credproc_run("acme/dev", "--", "no-such-command-credproc-test", "arg")
    assert result.returncode == 2
    assert result.stderr.decode() == \
        "credproc: resolving command: 'no-such-command-credproc-test' not found on PATH\n"


def test_a_forgotten_environment_is_named_not_the_commands_option():
    result = subprocess.run([CREDPROC, "run", "--", "ls", "-la"], capture_output=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.decode() == ("credproc: 'ls' is not an environment name; the environment comes first "
                                      "(hint: credproc run ORG/ENV -- COMMAND [ARGS...])\n")


def test_no_command():
    result = credproc_run("acme/dev", "--")
    assert result.returncode == 2 and b"no command specified" in result.stderr


def test_environment_with_diagnostics_is_not_run(environments, tmp_path):
    write_env(environments, "acme/bad", "values:\n  a: ${nope}\n  environmentVariables:\n    A: ${a}\n")
    marker = tmp_path / "ran"
    result = credproc_run("acme/bad", "--", PY, "-c", f"open({str(marker)!r}, 'w').close()")
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("acme/bad:2:") and "nope" in lines[0]
    assert lines[-1].startswith("credproc: environment acme/bad has ")
    assert not marker.exists()


def test_missing_environment():
    result = credproc_run("acme/nothere", "--", PY, "-c", "pass")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("credproc: ") and len(result.stderr.splitlines()) == 1


def test_a_terminal_stream_is_masked_too():
    """stdout is a terminal but stdin is not: the child writes to a pipe, masked on its way to the
    terminal (it used to write to the terminal directly, secrets in clear)."""
    import pty

    leader, follower = pty.openpty()
    try:
        code = "import os, sys; print('tty', os.isatty(1), os.environ['PASSWORD']); " \
               "print('pipe', os.environ['PASSWORD'], file=sys.stderr)"
        proc = subprocess.run([CREDPROC, "run", "acme/dev", "--", PY, "-c", code], stdout=follower,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
        os.close(follower)
        follower = None
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO once the terminal's other side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert seen.replace(b"\r\n", b"\n") == b"tty False [secret]\n"
    assert proc.stderr == b"pipe [secret]\n"


def test_every_signal_that_would_end_credproc_is_forwarded():
    # signal(7): these do not end a process by default, cannot be caught, are the kernel's fault
    # signals, or are ignored by Python itself (PIPE, XFSZ); every other one would end credproc and
    # orphan the command
    from credproc.commands.run.runner import FORWARDED_SIGNALS

    names = ("SIGCHLD", "SIGCONT", "SIGURG", "SIGWINCH", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGSTOP", "SIGKILL",
             "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGTRAP", "SIGPIPE", "SIGXFSZ")
    exempt = {getattr(signal, name) for name in names if hasattr(signal, name)}
    assert set(signal.valid_signals()) - exempt - set(FORWARDED_SIGNALS) == set()
