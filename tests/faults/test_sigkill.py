"""SIGKILL of the refresher, 20 times, while 20 callers wait: each kill lands either while the token
command runs or while the STS request is in flight. Afterwards: every surviving caller prints the
same valid answer (the one in the cache), no temp file is left, and the next call is a hit."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from credtest import CREDPROC, jwt_token, login_yaml, python_bytecode_env, write_environment, write_token_file
from support.runner import run_credproc, temp_leftovers
from support.stsproxy import AWRWI

from credproc import cache

REF = "acme/dev"
CALLERS = 20
KILLS = 20

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(os.name != "posix", reason="SIGKILL")]

# The token command: records "<its parent credproc's pid>" -> "<its own pid>" in the marker directory,
# then sleeps while the flag file exists (a refresher stuck in its token source), then prints the token.
TOKEN_COMMAND = """
import os, sys, time
flag, markers, token = sys.argv[1:4]
with open(os.path.join(markers, str(os.getppid())), "w") as f:
    f.write(str(os.getpid()))
while os.path.exists(flag):
    time.sleep(0.05)
sys.stdout.write(open(token).read())
"""


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_sigkill_of_the_refresher_20_times_under_20_parallel_callers(isolated_env, proxy, tmp_path):
    script = tmp_path / "token_command.py"
    script.write_text(TOKEN_COMMAND)
    flag, markers = tmp_path / "hold", tmp_path / "markers"
    markers.mkdir()
    token_file = write_token_file(tmp_path, jwt_token())
    command = json.dumps([sys.executable, str(script), str(flag), str(markers), str(token_file)])
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{command: {command}}}"))
    env = python_bytecode_env(dict(os.environ, CREDPROC_LOCK_TIMEOUT="110"))

    def spawn():
        return subprocess.Popen([CREDPROC, "process", REF], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    callers = {}
    killed = set()

    def new_refresher():
        """The pid of a live caller that has started the token command and was not killed yet."""
        for name in os.listdir(markers):
            if int(name) in callers and int(name) not in killed:
                return int(name)
        return None

    flag.write_text("1")
    for _ in range(CALLERS):
        p = spawn()
        callers[p.pid] = p
    sts_kills = 0
    for n in range(KILLS):
        if n % 2 == 0:  # in the token source
            flag.write_text("1")
            pid = wait_for(new_refresher)
        else:  # with the STS request in flight (the proxy holds it for 2 s)
            flag.unlink(missing_ok=True)
            before = proxy.count(AWRWI)
            proxy.queue(AWRWI, ("delay", 2.0))
            wait_for(lambda: proxy.count(AWRWI) > before)
            pid = wait_for(new_refresher)
            sts_kills += 1
        kill(pid)
        token_pid = int((markers / str(pid)).read_text() or 0)
        if token_pid:
            kill(token_pid)  # its orphaned token command
        killed.add(pid)
        callers[pid].wait(timeout=10)
        assert callers[pid].returncode == -signal.SIGKILL
        assert callers[pid].stdout.read() == b""  # a killed refresher printed nothing
        replacement = spawn()
        callers[replacement.pid] = replacement

    flag.unlink(missing_ok=True)
    proxy.faults.clear()
    survivors = [p for pid, p in callers.items() if pid not in killed]
    assert len(survivors) == CALLERS
    outputs = [(p.wait(timeout=100), *p.communicate()) for p in survivors]
    assert [code for code, _, _ in outputs] == [0] * CALLERS, [err for _, _, err in outputs if err][:3]
    answers = {out for _, out, _ in outputs}
    assert len(answers) == 1  # no wrong or mixed answer
    answer = json.loads(answers.pop())
    (_, entry), = cache.list_entries("creds")
    assert entry["credentials"]["AccessKeyId"] == answer["AccessKeyId"]
    assert cache.parse_expiration(answer["Expiration"]) - time.time() > 50 * 60
    # Only the kills during STS cost a call; the survivors shared one refresh.
    assert proxy.count(AWRWI) == sts_kills + 1
    assert temp_leftovers(isolated_env.cache_dir) == []

    again = run_credproc("process", REF)
    assert again.code == 0 and json.loads(again.stdout) == answer
    assert proxy.count(AWRWI) == sts_kills + 1
