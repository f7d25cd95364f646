"""Fixtures for the `credproc env` tests: run the real command line against a store in tmp_path.

cli(*args, input=None, env=None, timeout=60) -> CompletedProcess (text mode)
    runs `.venv/bin/credproc` (the installed console script) with the isolated environment of
    tests/conftest.py (CREDPROC_ENV_DIR points into tmp_path); stdin is /dev/null unless ``input``.
store: pathlib.Path of the store root (CREDPROC_ENV_DIR; not created).
put(name, text) -> Path: writes <store>/<name>.yaml (creating folders).
Helpers (snapshot, first_line, assert_clean_failure) live in envhelpers.py.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CREDPROC = REPO / ".venv" / "bin" / "credproc"


def _command() -> list:
    if CREDPROC.exists():
        return [str(CREDPROC)]
    return [sys.executable, "-m", "credproc"]


@pytest.fixture
def store(isolated_env) -> Path:
    return Path(isolated_env.env_dir)


@pytest.fixture
def cli(isolated_env):
    def run(*args, input=None, env=None, timeout=60):
        environ = dict(os.environ)
        environ.update(env or {})
        return subprocess.run(
            _command() + [str(a) for a in args], input=input, env=environ, capture_output=True,
            text=True, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL,
        )

    return run


@pytest.fixture
def put(store):
    def write(name: str, text, *, binary: bool = False) -> Path:
        path = store / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write
