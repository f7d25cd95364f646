"""Run one spec row through the CLI, the way the conformance runner does.

Each row is a `Row`: the YAML files of a store (organization `test`), the root to open, and what
the spec says must come out: the JSON `values` on stdout, error summaries that must appear on
stderr (and the run then exits non-zero), warnings, and texts that must *not* appear.

Most rows run in-process through the console script's own function (tests/support/inprocess.py:
a subprocess per row cost ~0.1-0.4 s). `params` sends a representative set through the real
command line as well (the first row of each kind in a table and every tenth row; marked `cli`, so
`pytest -m cli tests/spec` runs just those), and such a row must give the same exit code, stdout
and stderr both ways.
"""
import dataclasses
import json
import os
import textwrap
from pathlib import Path

import pytest

from support.inprocess import run_in_process
from support.runner import credproc_process

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
    via_cli: bool = False           # also through the real command line (set by `params`)

    def kind(self) -> tuple:
        """What a representative set must cover: the command, the format, success or failure."""
        clean = self.clean if self.clean is not None else not self.errors
        return (self.command, self.fmt, clean)


def write_store(tmp_path: Path, files: dict) -> dict:
    """The row's files under tmp_path/store/test; the variables that point credproc at them."""
    store = tmp_path / "store"
    for name, text in files.items():
        f = store / "test" / f"{name}.yaml"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text))
    return {"CREDPROC_ENV_DIR": str(store), "CREDPROC_CONFORMANCE": "1"}


def run_cli(tmp_path: Path, files: dict, args: list):
    """The real command line: a `credproc` process."""
    return credproc_process(*args, env=dict(os.environ, **write_store(tmp_path, files)), text=True, timeout=30)


def run_row_command(row: Row, tmp_path: Path, args: list):
    """In-process; a `via_cli` row also as a process, which must give exactly the same outcome."""
    inside = run_in_process(args, write_store(tmp_path, row.files))
    if row.via_cli:
        outside = run_cli(tmp_path, row.files, args)
        both = [(p.returncode, p.stdout, p.stderr) for p in (inside, outside)]
        assert both[0] == both[1], f"in-process and command line differ:\n{both[0]!r}\n{both[1]!r}"
    return inside


def check_row(row: Row, tmp_path: Path):
    if row.command == "open":
        args = ["env", "open", f"test/{row.root}"] + ([row.path] if row.path else [])
        args += ["--format", row.fmt, "--show-secrets", "--partial"]
    elif row.command == "get":
        args = ["env", "get", f"test/{row.root}"] + ([row.path] if row.path else []) + ["--value", row.fmt]
    else:
        args = ["env", "check", f"test/{row.root}"]
    p = run_row_command(row, tmp_path, args)
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
    """pytest params of a table; the representative rows go through the real command line too."""
    seen = set()
    out = []
    for index, row in enumerate(rows):
        via_cli = index % 10 == 0 or row.kind() not in seen
        seen.add(row.kind())
        row = dataclasses.replace(row, via_cli=via_cli)
        out.append(pytest.param(row, id=row.name, marks=[pytest.mark.cli] if via_cli else []))
    return out
