"""Run one spec row through the real CLI, the way the conformance runner does.

Each row is a `Row`: the YAML files of a store (organization `test`), the root to open, and what
the spec says must come out: the JSON `values` on stdout, error summaries that must appear on
stderr (and the run then exits non-zero), warnings, and texts that must *not* appear.
"""
import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CREDPROC = str(Path(sys.executable).with_name("credproc"))
_MISSING = object()


@dataclasses.dataclass
class Row:
    name: str                       # the spec statement the row checks
    files: dict                     # env name -> YAML text ("env" is the usual root)
    values: object = _MISSING       # expected JSON of stdout (--partial), if checked
    errors: tuple = ()              # error summaries that must appear on stderr
    warnings: tuple = ()            # warning summaries that must appear on stderr
    absent: tuple = ()              # texts that must not appear on stderr
    root: str = "env"
    command: str = "open"           # open | get | check
    clean: bool = None              # exit 0 with no error expected (default: when no errors listed)
    path: str = None                # property path argument for open/get
    fmt: str = "json"


def run_cli(tmp_path: Path, files: dict, args: list):
    store = tmp_path / "store"
    for name, text in files.items():
        f = store / "test" / f"{name}.yaml"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text))
    env = dict(os.environ, CREDPROC_ENV_DIR=str(store), CREDPROC_CONFORMANCE="1")
    return subprocess.run([CREDPROC] + args, env=env, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def check_row(row: Row, tmp_path: Path):
    if row.command == "open":
        args = ["env", "open", f"test/{row.root}"] + ([row.path] if row.path else [])
        args += ["--format", row.fmt, "--show-secrets", "--partial"]
    elif row.command == "get":
        args = ["env", "get", f"test/{row.root}"] + ([row.path] if row.path else []) + ["--value", row.fmt]
    else:
        args = ["env", "check", f"test/{row.root}"]
    p = run_cli(tmp_path, row.files, args)
    ctx = f"\nstdout: {p.stdout}\nstderr: {p.stderr}"
    for s in row.errors:
        assert s in p.stderr, f"missing error {s!r}{ctx}"
    for s in row.warnings:
        assert s in p.stderr, f"missing warning {s!r}{ctx}"
        assert "warning" in p.stderr, ctx
    for s in row.absent:
        assert s not in p.stderr, f"unexpected {s!r}{ctx}"
    clean = row.clean if row.clean is not None else not row.errors
    if clean:
        assert p.returncode == 0, f"exit {p.returncode}{ctx}"
    else:
        assert p.returncode != 0, f"exit 0 although errors were expected{ctx}"
    if row.values is not _MISSING:
        if row.fmt == "json":
            got = json.loads(p.stdout) if p.stdout.strip() else None
        else:
            got = p.stdout
        assert got == row.values, ctx
    return p


def params(rows):
    import pytest
    return [pytest.param(r, id=r.name) for r in rows]
