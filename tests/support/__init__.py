"""Shared helpers for the proof suites (tests/faults, tests/badinput, tests/leaks) and the benchmarks.

    support.stsproxy   a counting, fault-injecting proxy in front of moto (extends tests/creds' FaultProxy
                       with stalls, Expiration skew and a request log)
    support.clock      a fake clock for credproc child processes (a sitecustomize that shifts time.time)
    support.runner     run the real `credproc` entry point with a timeout and check its failure shape

Importable as `support` once tests/ is on sys.path (each suite's conftest.py puts it there).
"""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
# credtest (tests/creds) holds the token/environment helpers and the FaultProxy these build on.
for _path in (str(TESTS), str(TESTS / "creds")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
