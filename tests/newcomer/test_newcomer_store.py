"""The store's location as `env --help` states it, and `env rm` leaving no empty directories behind
(issue 11 §3), through the real `credproc` command."""
import os
import re

from support.runner import run_credproc
from support.store import define


def env_help() -> str:
    """`credproc env --help`, wide enough that argparse does not wrap (and hyphenate) the path."""
    return re.sub(r"\s+", " ", run_credproc("env", "--help", COLUMNS=1000).stdout.decode())


def test_env_help_states_the_rule_the_store_follows(isolated_env, monkeypatch, tmp_path):
    config_dir, xdg = tmp_path / "elsewhere", tmp_path / "xdg"
    monkeypatch.delenv("CREDPROC_ENV_DIR")
    monkeypatch.setenv("CREDPROC_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    store = xdg / "credproc" / "environments"

    shown = env_help()
    assert "$CREDPROC_ENV_DIR" in shown and "CREDPROC_CONFIG_DIR does not move it" in shown
    assert f"Here: {store}." in shown

    created = run_credproc("env", "init", "acme/dev")
    assert created.code == 0, created
    assert (store / "acme" / "dev.yaml").is_file()  # where the help said
    assert not (config_dir / "environments").exists()


def test_env_help_names_credproc_env_dir_when_it_is_set(isolated_env):
    shown = env_help()
    assert f"Here: {isolated_env.env_dir}." in shown


def test_env_rm_removes_the_organization_directory_it_empties(isolated_env):
    define(isolated_env, "values: {a: 1}\n", "acme/dev")
    removed = run_credproc("env", "rm", "acme/dev", "--yes")
    assert removed.code == 0, removed
    assert sorted(os.listdir(isolated_env.env_dir)) == []  # no empty acme/ left
    assert run_credproc("env", "ls").stdout == b""


def test_env_rm_removes_an_emptied_project_and_organization_but_keeps_the_rest(isolated_env):
    define(isolated_env, "values: {a: 1}\n", "acme/web/dev")
    define(isolated_env, "values: {a: 1}\n", "acme/api/dev")
    define(isolated_env, "values: {a: 1}\n", "other/dev")
    assert run_credproc("env", "rm", "acme/web/dev", "--yes").code == 0
    assert sorted(os.listdir(isolated_env.env_dir / "acme")) == ["api"]  # web/ went, api/ stays
    assert run_credproc("env", "rm", "acme/api/dev", "--yes").code == 0
    assert sorted(os.listdir(isolated_env.env_dir)) == ["other"]  # acme/ went, the store root stays


def test_env_rm_keeps_a_directory_that_still_holds_something(isolated_env):
    define(isolated_env, "values: {a: 1}\n", "acme/dev")
    (isolated_env.env_dir / "acme" / "notes.txt").write_text("the user's own file\n")
    assert run_credproc("env", "rm", "acme/dev", "--yes").code == 0
    assert sorted(os.listdir(isolated_env.env_dir / "acme")) == ["notes.txt"]
