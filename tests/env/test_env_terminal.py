"""Questions asked on a terminal: `env rm` confirmation and `env edit`'s "re-edit?" (through a pty)."""
import os
import pty
import select
import subprocess
import sys
import time

from envhelpers import CREDPROC

PROMPT_TIMEOUT = 20


def _run_on_pty(args, answers, env=None):
    """Run credproc with stdin/stderr on a pty; answer each prompt (a (text, reply) pair) in order.
    Returns (exit code, everything written to the terminal)."""
    master, slave = pty.openpty()
    environ = dict(os.environ, **(env or {}))
    proc = subprocess.Popen([str(CREDPROC)] + list(args), stdin=slave, stderr=slave, stdout=subprocess.PIPE,
                            env=environ, close_fds=True)
    os.close(slave)
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + PROMPT_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0].encode() in seen:
                os.write(master, pending.pop(0)[1].encode())
                seen += b"<answered>"
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=PROMPT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, seen.decode(errors="replace")


def test_rm_asks_on_a_terminal(put, store):
    put("acme/keep", "values: {a: 1}\n")
    put("acme/gone", "values: {a: 1}\n")
    code, text = _run_on_pty(["env", "rm", "acme/keep"], [("remove environment acme/keep? [y/N] ", "n\n")])
    assert code == 0 and "not removed" in text
    assert (store / "acme" / "keep.yaml").exists()
    code, text = _run_on_pty(["env", "rm", "acme/gone"], [("remove environment acme/gone? [y/N] ", "y\n")])
    assert code == 0 and "removed acme/gone" in text
    assert not (store / "acme" / "gone.yaml").exists()


def test_edit_offers_to_re_edit_and_saves_the_fixed_version(put, store, tmp_path):
    put("acme/dev", "values:\n  a: 1\n")
    # First run writes an error; the second (after "re-edit? y") writes a valid file.
    counter = tmp_path / "runs"
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        f"c = pathlib.Path({str(counter)!r})\n"
        "n = int(c.read_text()) if c.exists() else 0\n"
        "c.write_text(str(n + 1))\n"
        "body = 'values:\\n  a: ${nope}\\n' if n == 0 else 'values:\\n  a: 2\\n'\n"
        "open(sys.argv[-1], 'w').write(body)\n")
    code, text = _run_on_pty(["env", "edit", "acme/dev"], [("re-edit? [Y/n] ", "\n")],
                             env={"EDITOR": f"{sys.executable} {script}", "VISUAL": ""})
    assert code == 0, text
    assert 'acme/dev:2:8: unknown property "nope"' in text
    assert counter.read_text() == "2"
    assert (store / "acme" / "dev.yaml").read_text() == "values:\n  a: 2\n"


def test_edit_declining_to_re_edit_writes_nothing(put, store, tmp_path):
    put("acme/dev", "values:\n  a: 1\n")
    script = tmp_path / "editor.py"
    script.write_text("import sys\nopen(sys.argv[-1], 'w').write('values:\\n  a: ${nope}\\n')\n")
    code, text = _run_on_pty(["env", "edit", "acme/dev"], [("re-edit? [Y/n] ", "n\n")],
                             env={"EDITOR": f"{sys.executable} {script}", "VISUAL": ""})
    assert code == 2
    assert "credproc: environment acme/dev would have 1 error" in text
    assert (store / "acme" / "dev.yaml").read_text() == "values:\n  a: 1\n"
