"""Definitions in the test's environment store, laid out as the store rule wants them (yours,
directories 0700, files 0600)."""
import os
from pathlib import Path


def define(isolated_env, text: str, ref: str = "acme/dev") -> Path:
    """Write ``text`` as the definition of ``ref`` in the test's store; returns its path."""
    parts = ref.split("/")
    directory = Path(isolated_env.env_dir).joinpath(*parts[:-1])
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.chmod(isolated_env.env_dir, 0o700)
    path = directory / (parts[-1] + ".yaml")
    path.write_text(text)
    path.chmod(0o600)
    return path
