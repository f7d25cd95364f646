"""Helpers of the `credproc run` tests (tests/run is on sys.path: imported as a plain module)."""
import os
import signal
import sys
import textwrap

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
PY = sys.executable


def write_env(isolated_env, name, text):
    path = isolated_env.env_dir.joinpath(*name.split("/")).with_suffix(".yaml")
    for parent in reversed(path.relative_to(isolated_env.config_dir).parents):
        (isolated_env.config_dir / parent).mkdir(mode=0o700, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def default_signals():
    """For preexec_fn: credproc starts with default signal dispositions even when the tests run
    under nohup (SIGHUP ignored) or in a background job (SIGINT ignored), which it would inherit."""
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                   signal.SIGALRM):
        signal.signal(signum, signal.SIG_DFL)


def py(code):
    return [PY, "-c", textwrap.dedent(code)]
