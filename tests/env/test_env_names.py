"""Environment names: validation, and no file access outside the store whatever the name."""
import os

import pytest

from credproc.errors import UsageError
from credproc.store.store import NotInStore, Store, parse_name, resolve_short
from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

GOOD = ["acme/dev", "acme/proj/dev", "a-b_c.d/e.f", "ORG/Env-1", "0/1"]
BAD = {
    "../x": "may not start with '.'",
    "acme/../dev": "may not start with '.'",
    "acme/./dev": "may not start with '.'",
    "acme/.hidden": "may not start with '.'",
    "acme/dev/..": "may not start with '.'",
    "/etc/passwd": "absolute paths are not allowed",
    "//etc/passwd": "absolute paths are not allowed",
    "acme\\dev": "backslashes are not allowed",
    "acme/..\\..\\x": "backslashes are not allowed",
    "acme//dev": "empty name segment",
    "acme/dev/": "empty name segment",
    "acme": "expected ORG/ENV or ORG/PROJECT/ENV",
    "a/b/c/d": "expected ORG/ENV or ORG/PROJECT/ENV",
    "acme/d\u0435v": "names use only",          # Cyrillic e, a look-alike
    "acme/dev\u2215x": "names use only",       # division slash
    "acme/\uff0e\uff0e": "names use only",     # full-width dots
    "acme/dev\x00x": "names use only",
    "acme/dev x": "names use only",
    "acme/-rf": "may not start with '-'",
    "acme/" + "x" * 65: "longer than 64",
    "a/" + "b" * 300: "longer than 200",
    "acme/~root": "names use only",
    "acme/dev.yaml\n": "names use only",
}


@pytest.mark.parametrize("name", GOOD)
def test_good_names_map_into_the_store(name, tmp_path):
    parsed = parse_name(name)
    store = Store(str(tmp_path / "store"))
    path = store.path_of(parsed)
    assert path == os.path.join(str(tmp_path / "store"), *name.split("/")) + ".yaml"
    assert parsed.full == name


@pytest.mark.parametrize("name,why", sorted(BAD.items()))
def test_bad_names_are_usage_errors(name, why):
    with pytest.raises(UsageError) as info:
        parse_name(name)
    assert why in info.value.message
    assert "\n" not in info.value.message


def test_short_names_resolve_in_the_same_organization():
    assert resolve_short("acme", "a").full == "acme/a"
    assert resolve_short("acme", "p/e").full == "acme/p/e"
    for bad in ("../a", "a/b/c", "/a", "", "a\\b"):
        with pytest.raises(NotInStore, match="not found"):
            resolve_short("acme", bad)


SENTINEL = "values:\n  stolen: TOP-SECRET-SENTINEL\n"


def _outside_world(tmp_path, store):
    """A definition outside the store that a path trick would reach, and the store itself."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.yaml").write_text(SENTINEL)
    (tmp_path / "x.yaml").write_text(SENTINEL)
    (store / "acme").mkdir(parents=True)
    (store / "acme" / "ok.yaml").write_text("values:\n  a: 1\n")


TRICKS = ["../outside/x", "acme/../../outside/x", "acme/../../x", str("/") + "tmp/x",
          "acme\\..\\..\\x", "acme/\u2024\u2024/x", "..%2f../x", "acme/%2e%2e/x"]


@pytest.mark.parametrize("trick", TRICKS)
@pytest.mark.parametrize("command", [["open"], ["get"], ["check"], ["set", "--", "{name}", "a", "1"],
                                     ["rm", "--yes"], ["init"], ["edit"]])
def test_name_tricks_touch_nothing(cli, store, tmp_path, trick, command):
    _outside_world(tmp_path, store)
    before = snapshot(tmp_path)
    args = [a.replace("{name}", trick) for a in command]
    if "{name}" not in " ".join(command):
        args.append(trick)
    proc = cli("env", *args, env={"EDITOR": "false"})
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith("credproc: invalid environment name ")
    assert "TOP-SECRET-SENTINEL" not in proc.stdout + proc.stderr
    assert snapshot(tmp_path) == before


def test_symlink_out_of_the_store_is_refused(cli, store, tmp_path):
    _outside_world(tmp_path, store)
    os.symlink(tmp_path / "outside" / "x.yaml", store / "acme" / "link.yaml")
    os.symlink(tmp_path / "outside", store / "acme" / "proj")
    before = snapshot(tmp_path)
    for name in ("acme/link", "acme/proj/x"):
        proc = cli("env", "open", name)
        assert_clean_failure(proc)
        assert first_line(proc.stderr) == f"credproc: environment {name} resolves outside the environment store (symbolic link?)"
        assert "TOP-SECRET-SENTINEL" not in proc.stdout + proc.stderr
        proc = cli("env", "set", name, "a", "1")
        assert_clean_failure(proc)
    assert snapshot(tmp_path) == before


def test_import_tricks_inside_definitions_are_not_found(cli, store, tmp_path):
    _outside_world(tmp_path, store)
    (store / "acme" / "evil.yaml").write_text(
        "imports:\n  - ../../outside/x\n  - /tmp/x\nvalues:\n  r: ${environments.acme.outside.stolen}\n")
    proc = cli("env", "open", "acme/evil")
    assert_clean_failure(proc)
    assert "TOP-SECRET-SENTINEL" not in proc.stdout + proc.stderr
    assert "not found" in proc.stderr
    assert first_line(proc.stderr).startswith("acme/evil:2:")


def test_ls_of_a_bad_organization_is_refused(cli):
    proc = cli("env", "ls", "../x")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: invalid organization name '../x': contains '/'"
    proc = cli("env", "ls", ".hidden")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: invalid organization name '.hidden': a name segment may not start with '.'"
