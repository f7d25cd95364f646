"""`credproc doctor` fits its table to the terminal (COLUMNS, else 80 columns when stdout is not a
terminal), wrapping DETAIL and FIX at spaces, never inside a path (issue 11 §3)."""
import os

import pytest

from support.runner import run_credproc
from support.store import define

DETAIL_COLUMN = len("environment variables") + 2 + len("STATUS") + 2
STATIC = "values:\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n    AWS_SECRET_ACCESS_KEY: x\n"


@pytest.fixture
def deep_home(isolated_env, monkeypatch, tmp_path):
    """Paths longer than any cell (and than 40 columns): the AWS config and the cache directory."""
    deep = tmp_path / "a-rather-long-directory-name" / "and-another-one-so-that-paths-are-long"
    config, cache = deep / ".aws" / "config", deep / "credproc-cache"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("CREDPROC_CACHE_DIR", str(cache))
    monkeypatch.delenv("COLUMNS", raising=False)
    define(isolated_env, STATIC)
    return [str(config), str(cache)]


def doctor(columns=None) -> str:
    extra = {"COLUMNS": columns} if columns else {}
    result = run_credproc("doctor", "acme/dev", **extra)
    assert result.code == 0, result
    return result.stdout.decode()


def assert_fits(out: str, width: int, paths: list) -> None:
    for path in paths:
        assert path in out, f"{path} was split:\n{out}"  # whole, on one line
    for line in out.splitlines():
        if len(line) > width:  # only a path longer than its cell may overflow: the last thing on its line,
            # after nothing but the CHECK and STATUS cells (the DETAIL column starts at 33) or the block indent
            assert any(line.endswith(p) and len(line) - len(p) <= DETAIL_COLUMN for p in paths), \
                f"line wider than {width}:\n{line}"


@pytest.mark.parametrize("columns", [None, "80", "120", "40"])
def test_the_table_fits_the_width_and_keeps_paths_whole(deep_home, columns):
    out = doctor(columns)
    width = int(columns or 80)  # not a terminal here: 80 columns unless COLUMNS says otherwise
    assert_fits(out, width, deep_home)
    assert "no profile in" in out and "install-profile" in out  # the WARN row and its FIX, present


def test_wider_terminals_use_fewer_lines(deep_home):
    assert len(doctor("120").splitlines()) < len(doctor("80").splitlines())


def test_a_narrow_terminal_gets_one_block_per_check(deep_home):
    out = doctor("40")
    assert "CHECK" not in out.splitlines()[0]
    assert "profile: WARN" in out.splitlines()
