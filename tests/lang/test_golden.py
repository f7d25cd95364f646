"""credproc's own golden cases for the language: tests/testdata/eval/<case>/.

Each folder holds env.yaml (the root), any environments it imports (NAME.yaml, loaded by short
name, `foo/bar` -> foo/bar.yaml) and expected.json:

    {"options": {"rootName": "...", "modes": ["eval", "check"], "showSecrets": false},
     "eval":  {"values": "<Go JSON of the plain value, secrets shown>",
               "redacted": "<the same, secrets redacted>",
               "diagnostics": ["error env:3:5: summary @ values.a", ...]},
     "check": {...}}

Values are kept as Go-JSON *text* so that number spelling (`1e+06`) and escaping (`\\u003c`) are
compared exactly. `CREDPROC_ACCEPT=1` rewrites the eval/check parts from the current output
(options are kept); review the diff before committing it.
"""
import json
import os
from pathlib import Path

import pytest

from credproc.lang import sort_diagnostics
from credproc.lang.values import go_json, to_plain
from tests.lang.harness import run_case

CASES = Path(__file__).resolve().parents[1] / "testdata" / "eval"


def _cases():
    return sorted(p.name for p in CASES.iterdir() if (p / "env.yaml").is_file())


def _describe(diags):
    return [f"{d.severity} {d.format()} @ {d.path}" for d in sort_diagnostics(diags)]


def _render(case_dir, options, mode):
    load_diags, value, diags = run_case(case_dir, options.get("rootName", case_dir.name), mode=mode,
                                        show_secrets=bool(options.get("showSecrets")))
    return {
        "values": None if value is None else go_json(to_plain(value, False)),
        "redacted": None if value is None else go_json(to_plain(value, True)),
        "diagnostics": _describe(load_diags + diags),
    }


@pytest.mark.parametrize("case", _cases())
def test_golden(case):
    case_dir = CASES / case
    expected_path = case_dir / "expected.json"
    expected = json.loads(expected_path.read_text()) if expected_path.is_file() else {"options": {}}
    options = expected.get("options", {})
    actual = {"options": options}
    for mode in options.get("modes", ["eval", "check"]):
        actual[mode] = _render(case_dir, options, mode)
    if os.environ.get("CREDPROC_ACCEPT") == "1":
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        return
    for mode in options.get("modes", ["eval", "check"]):
        assert actual[mode] == expected.get(mode), f"{case} ({mode})"
