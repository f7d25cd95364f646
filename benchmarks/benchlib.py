"""Shared set-up for the proof benchmarks (cold_path, fanout, botocore_reruns, aws_overhead).

Reuses benchmarks/cache_hit.py's hermetic world (moto_server on 127.0.0.1, temp HOME/AWS_CONFIG_FILE/
CREDPROC_* dirs, a JWT-shaped token file, the environment `bench/dev` with fn::open::aws-login,
duration 2h) so every benchmark measures the same product the same way.
"""
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # tests/support: the counting proxy, the fake clock

from cache_hit import AWS, CREDPROC, PYTHON, REF, hermetic_env, start_moto, sts_calls, write_files  # noqa: E402,F401

ROLE_ARN = "arn:aws:iam::123456789012:role/esc-bench"
SESSION = "credproc-bench"
DURATION_SECONDS = 7200  # bench/dev asks for 2h


class World:
    """A temp world with moto running; ``env`` runs credproc against it."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="credproc-bench-"))
        os.chmod(self.workdir, 0o700)
        self.moto, self.moto_url = start_moto(self.workdir)
        write_files(self.workdir)
        self.env = hermetic_env(self.workdir, self.moto_url)
        self.token_file = self.workdir / "token.jwt"
        self.cache_dir = self.workdir / "cache"

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def sts_calls(self) -> int:
        return sts_calls(self.moto_url)

    def close(self) -> None:
        self.moto.terminate()
        try:
            self.moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.moto.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def world():
    w = World()
    try:
        yield w
    finally:
        w.close()


def run_ok(argv, env, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, **kw)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode()[:400]}")
    return result


def timed_ok(argv, env) -> float:
    started = time.perf_counter()
    run_ok(argv, env)
    return time.perf_counter() - started


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    ordered = sorted(values)
    p10 = ordered[int(0.1 * (len(ordered) - 1))]
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {median(values) * 1000:.1f} ms (p10 {p10 * 1000:.1f}, p90 {p90 * 1000:.1f}, n={len(values)})"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": sys.version.split()[0],
            "platform": platform.platform()}


def emit(results: list) -> None:
    """The machine-readable last line run_all.py reads: RESULTS-JSON [{name, value, unit, goal, ok, note}]."""
    print("RESULTS-JSON " + json.dumps(results))


def figure(name: str, value, unit: str = "x", goal: "str | None" = None, ok: "bool | None" = None,
           note: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "goal": goal, "ok": ok, "note": note}
