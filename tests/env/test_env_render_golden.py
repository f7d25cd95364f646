"""`env open --format json|yaml|string|detailed` byte for byte as ESC v0.25 prints them.

The goldens in render_golden/ hold ESC's wire JSON for each case and the bytes ESC's own rendering
code (pulumi/esc v0.25.0 cmd/esc/cli with gopkg.in/yaml.v3 v3.0.1, the esc-render oracle) printed
for it; render_golden/README.md says how to regenerate them. No Go is needed here.
"""
import json
from pathlib import Path

import pytest

from support.escrender import credproc_output

GOLDEN_DIR = Path(__file__).resolve().parent / "render_golden"


def _cases(name: str) -> list:
    lines = (GOLDEN_DIR / name).read_text(encoding="ascii").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


EDGE = _cases("edge.jsonl")
FUZZ = _cases("fuzz.jsonl")


def _assert_like_esc(case: dict) -> None:
    assert case["outputs"], case["name"]
    for fmt, expected in case["outputs"].items():
        assert credproc_output(case, fmt) == expected, (case["name"], fmt)


@pytest.mark.parametrize("case", EDGE, ids=[c["name"] for c in EDGE])
def test_edge_case_renders_as_esc(case):
    _assert_like_esc(case)


@pytest.mark.parametrize("case", FUZZ, ids=[c["name"] for c in FUZZ])
def test_random_case_renders_as_esc(case):
    _assert_like_esc(case)


def test_goldens_cover_every_format_and_both_secret_modes():
    formats = {fmt for case in EDGE + FUZZ for fmt in case["outputs"]}
    assert formats == {"json", "yaml", "string", "detailed"}
    assert {case.get("show_secrets", True) for case in EDGE + FUZZ} == {True, False}
    assert len(FUZZ) >= 200


CLI_CASES = {case["name"]: case for case in EDGE if case["name"].startswith("cli_definition")}


@pytest.mark.parametrize("fmt", ["json", "yaml", "string", "detailed"])
def test_cli_env_open_prints_esc_bytes(cli, put, fmt):
    put("acme/render", (GOLDEN_DIR / "cli-definition.yaml").read_text(encoding="utf-8"))
    proc = cli("env", "open", "acme/render", "--format", fmt, "--show-secrets")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == CLI_CASES["cli_definition"]["outputs"][fmt]


@pytest.mark.parametrize("fmt", ["json", "yaml", "string"])
def test_cli_env_open_redacted_prints_esc_bytes(cli, put, fmt):
    put("acme/render", (GOLDEN_DIR / "cli-definition.yaml").read_text(encoding="utf-8"))
    proc = cli("env", "open", "acme/render", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == CLI_CASES["cli_definition_redacted"]["outputs"][fmt]
