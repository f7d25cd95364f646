"""A child of the real `credproc run` that pauses in the middle of a secret (found by a hostile
review: the held start of the secret was released after 250 ms of quiet and the rest was then never
masked). Whatever the timing, at most the secret's first 2 bytes may show: the pauses below (longer
than childio.TAIL_RELEASE) make the release happen, the assertions do not depend on it."""
import os
import subprocess
import textwrap

import pytest

from runhelp import CREDPROC, Terminal, default_signals, py, write_env  # tests/run is on sys.path

TOKEN = "ya29.a0AfB_byDripPauseCase-9f8e7d6c5b4a"
SHORT = "drip-S3cr3t!"

ENV = textwrap.dedent(f"""\
    values:
      token: {{fn::secret: "{TOKEN}"}}
      short: {{fn::secret: "{SHORT}"}}
      environmentVariables:
        GOOGLE_OAUTH_ACCESS_TOKEN: ${{token}}
        SHORT_SECRET: ${{short}}
    """)

SPLIT = """
    import os, sys, time
    s = os.environ["GOOGLE_OAUTH_ACCESS_TOKEN"]
    sys.stdout.write("token: " + s[:2]); sys.stdout.flush(); time.sleep(0.6)
    sys.stdout.write(s[2:] + "\\n"); sys.stdout.flush()
    sys.stderr.write("err: " + s[:5]); sys.stderr.flush(); time.sleep(0.6)
    sys.stderr.write(s[5:] + "\\n"); sys.stderr.flush()
"""

DRIP = """
    import os, sys, time
    for ch in os.environ["SHORT_SECRET"]:
        sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.3)
    sys.stdout.write("\\n")
"""


@pytest.fixture(autouse=True)
def environments(isolated_env, monkeypatch):
    monkeypatch.delenv("CREDPROC_RUN", raising=False)
    write_env(isolated_env, "acme/pause", ENV)
    return isolated_env


def run(code) -> bytes:
    done = subprocess.run([CREDPROC, "run", "acme/pause", "--", *py(code)], capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL, preexec_fn=default_signals)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def assert_at_most_two_bytes_of(secret: str, output: bytes):
    for start in range(len(secret) - 2):  # no 3 consecutive characters of the secret
        assert secret[start:start + 3].encode() not in output, (secret, output)


@pytest.mark.timeout(60)
def test_the_rest_of_a_secret_after_a_pause_is_masked_on_pipes():
    output = run(SPLIT)
    assert_at_most_two_bytes_of(TOKEN, output)
    assert output.count(b"[secret]") == 2, output
    assert output.startswith(b"token: ") and b"err: " in output


@pytest.mark.timeout(60)
def test_a_secret_written_one_byte_at_a_time_shows_at_most_two_bytes():
    output = run(DRIP)
    assert_at_most_two_bytes_of(SHORT, output)
    assert output.endswith(b"[secret]\n"), output


@pytest.mark.timeout(60)
def test_the_rest_of_a_secret_after_a_pause_is_masked_on_a_terminal():
    term = Terminal()
    try:
        proc = term.start("acme/pause", "--", *py(SPLIT))
        output = term.read_rest(proc)
    finally:
        term.close()
    assert proc.returncode == 0, output
    assert_at_most_two_bytes_of(TOKEN, output)
    assert output.count(b"[secret]") == 2, output


@pytest.mark.timeout(60)
def test_a_secret_dripped_on_a_terminal_shows_at_most_two_bytes():
    term = Terminal()
    try:
        proc = term.start("acme/pause", "--", *py(DRIP))
        output = term.read_rest(proc)
    finally:
        term.close()
    assert proc.returncode == 0, output
    assert_at_most_two_bytes_of(SHORT, output)
    assert b"[secret]" in output


def test_the_reference_without_masking_shows_the_secret():
    """-i turns masking off: the same child shows the whole secret, so the tests above see it if
    masking fails."""
    done = subprocess.run([CREDPROC, "run", "acme/pause", "-i", "--", *py(SPLIT.replace("0.6", "0"))],
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL, preexec_fn=default_signals)
    assert TOKEN.encode() in done.stdout and os.path.basename(CREDPROC) == "credproc"
