"""The shared ESC conformance corpus through the real command line (skipped without ../shared)."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO.parent / "shared" / "conformance" / "run-esc-conformance"


@pytest.mark.timeout(600)
@pytest.mark.skipif(not RUNNER.exists(), reason="../shared/conformance is not present")
def test_conformance_runner_has_no_failures():
    credproc = REPO / ".venv" / "bin" / "credproc"
    command = str(credproc) if credproc.exists() else f"{sys.executable} -m credproc"
    proc = subprocess.run([sys.executable, str(RUNNER), "--credproc", command],
                          capture_output=True, text=True, timeout=580)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary.startswith("esc-conformance: ") and " 0 fail" in summary, summary
