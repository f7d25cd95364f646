"""Move the clock of credproc child processes (see fakeclock/sitecustomize.py)."""
import os
from pathlib import Path

SITE_DIR = str(Path(__file__).resolve().parent / "fakeclock")


def shifted_env(env: dict, offset_seconds: "float | None" = None, offset_file=None) -> dict:
    """A copy of ``env`` whose Python children see time.time() moved by the offset."""
    env = dict(env)
    env["PYTHONPATH"] = SITE_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if offset_seconds is not None:
        env["CREDPROC_FAKE_CLOCK_OFFSET"] = str(offset_seconds)
    if offset_file is not None:
        env["CREDPROC_FAKE_CLOCK_FILE"] = str(offset_file)
    return env
