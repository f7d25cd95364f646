"""The shared ESC conformance corpus (../shared/conformance/esc-eval), through the library API.

For every case: eval values (secrets shown and redacted) and the load/eval error and warning
summaries; where the case has checkValues, the check run's values and its error summaries too.
Rotation cases also run a rotation (values, errors and state patches).
"""
from pathlib import Path

import pytest

from tests.lang.harness import _numbers, plain, rotate_case, run_case

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "conformance" / "esc-eval"


def _cases():
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def _expected(case):
    import json

    return json.loads((CORPUS / case / "expected.json").read_text())


def _summaries(expected, phases, severity):
    out = set()
    for d in expected.get("diagnostics", []):
        if d["severity"] == severity and set(d["phases"]) & phases:
            out.add(d["summary"])
    return out


def _matches(expected_summary, actual_summaries):
    if expected_summary.startswith("<environment-not-found: "):
        name = expected_summary[len("<environment-not-found: "):-1]
        return any(name in a and "not found" in a for a in actual_summaries)
    if expected_summary == "<yaml-syntax-error>":
        return any(a.startswith("yaml:") for a in actual_summaries)
    return expected_summary in actual_summaries


def _compare_summaries(expected, actual):
    missing = sorted(s for s in expected if not _matches(s, actual))
    extra = sorted(a for a in actual if not any(_matches(s, {a}) for s in expected))
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"


@pytest.mark.parametrize("case", _cases() or [pytest.param("none", marks=pytest.mark.skip(
    reason=f"conformance corpus not found at {CORPUS}"))])
def test_eval(case):
    expected = _expected(case)
    load_diags, value, diags = run_case(CORPUS / case, expected["rootName"], mode="eval")
    all_diags = load_diags + diags
    assert plain(value, redact=False) == _numbers(expected["values"])
    assert plain(value, redact=True) == _numbers(expected["valuesRedacted"])
    _compare_summaries(_summaries(expected, {"load", "eval"}, "error"),
                       {d.summary for d in all_diags if d.severity == "error"})
    _compare_summaries(_summaries(expected, {"load", "eval"}, "warning"),
                       {d.summary for d in all_diags if d.severity == "warning"})
    _compare_places(expected, {"load", "eval"}, all_diags)


def _compare_places(expected, phases, actual):
    """Each expected diagnostic (exact wording) at the same path, line, column and environment."""
    have = {(d.summary, d.path, d.line, d.column, d.environment) for d in actual}
    for d in expected.get("diagnostics", []):
        if not set(d["phases"]) & phases or d.get("exact") is False:
            continue
        want = (d["summary"], d.get("path") or "", d.get("line"), d.get("column"), d["environment"])
        assert want in have, f"{want} not in {sorted(have, key=str)}"


@pytest.mark.parametrize("case", [c for c in _cases() if _expected(c).get("rotate")]
                         or [pytest.param("none", marks=pytest.mark.skip(reason="no corpus"))])
def test_rotate(case):
    expected = _expected(case)
    want = expected["rotate"]
    load_diags, value, patches, diags = rotate_case(CORPUS / case, expected["rootName"], want["paths"])
    assert plain(value, redact=True) == _numbers(want["values"])
    _compare_summaries(set(want["errors"]), {d.summary for d in load_diags + diags if d.severity == "error"}
                       - {d.summary for d in load_diags})
    assert [(p.doc_path, plain(p.state, redact=False)) for p in patches] == \
        [(p["docPath"], _numbers(p["state"])) for p in want["patches"]]


@pytest.mark.parametrize("case", [c for c in _cases() if _expected(c).get("checkValues") is not None]
                         or [pytest.param("none", marks=pytest.mark.skip(reason="no corpus"))])
def test_check(case):
    expected = _expected(case)
    overrides = expected.get("overrides") or {}
    load_diags, value, diags = run_case(CORPUS / case, expected["rootName"], mode="check",
                                        show_secrets=bool(overrides.get("showSecrets")))
    all_diags = load_diags + diags
    assert plain(value, redact=True) == _numbers(expected["checkValues"])
    _compare_summaries(_summaries(expected, {"load", "check"}, "error"),
                       {d.summary for d in all_diags if d.severity == "error"})
    _compare_places(expected, {"load", "check"}, all_diags)
