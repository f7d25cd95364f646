#!/usr/bin/env python3
"""Fan-out: N `credproc process` started at once on a cold cache (N = 1, 10, 50, 100). For each N:
the AssumeRoleWithWebIdentity calls moto served (goal: 1 for every N), that every answer is the same,
and the wall time until the last one finished divided by the wall time of one cold call (goal: <= 2 at
N = 100). Median of --repeats runs per N; the Ns are interleaved per repeat. For scale, each N also
times N bare `python -I -c pass` started at once (the floor any process-per-call tool has here) and
N `credproc process` at once on the warm cache (N cache hits: what the N processes cost without any
waiting on the refresh lock).

    .venv/bin/python benchmarks/fanout.py [--repeats 3] [--sizes 1,10,50,100]
"""
import argparse
import subprocess
import sys
import time

from benchlib import CREDPROC, PYTHON, REF, emit, figure, median, world

GOAL_AT_100 = 2.0


def fan_out(w, n: int, cold: bool = True) -> "tuple[float, int, int]":
    """(wall seconds, STS calls, distinct answers) for n parallel calls on a cold (or warm) cache."""
    if cold:
        w.clear_cache()
    before = w.sts_calls()
    started = time.perf_counter()
    procs = [subprocess.Popen([CREDPROC, "process", REF], env=w.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    outputs = [p.communicate(timeout=300) for p in procs]
    wall = time.perf_counter() - started
    failed = [(p.returncode, err.decode()[:200]) for p, (_, err) in zip(procs, outputs) if p.returncode != 0]
    if failed:
        raise SystemExit(f"fan-out N={n}: {len(failed)} failed, e.g. {failed[0]}")
    return wall, w.sts_calls() - before, len({out for out, _ in outputs})


def floor(w, n: int) -> float:
    """Wall time of n `python -I -c pass` started at once: what n processes cost here before any work."""
    started = time.perf_counter()
    procs = [subprocess.Popen([PYTHON, "-I", "-c", "pass"], env=w.env, stdin=subprocess.DEVNULL) for _ in range(n)]
    for p in procs:
        p.wait(timeout=120)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50,100")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    walls = {n: [] for n in sizes}
    calls = {n: [] for n in sizes}
    answers = {n: [] for n in sizes}
    floors = {n: [] for n in sizes}
    warms = {n: [] for n in sizes}
    with world() as w:
        fan_out(w, 1)  # warm-up
        for _ in range(args.repeats):
            for n in sizes:
                wall, c, a = fan_out(w, n)
                walls[n].append(wall)
                calls[n].append(c)
                answers[n].append(a)
                floors[n].append(floor(w, n))
                warms[n].append(fan_out(w, n, cold=False)[0])  # the same N, all cache hits
    one = median(walls[sizes[0]]) if sizes[0] == 1 else None
    results = []
    for n in sizes:
        ratio = median(walls[n]) / one if one else None
        worst_calls = max(calls[n])
        floor_ratio = median(floors[n]) / one
        print(f"  N={n:>3}: wall {median(walls[n]) * 1000:7.0f} ms  / one cold call {ratio:.2f}  "
              f"STS calls {calls[n]}  distinct answers {answers[n]}  "
              f"(N bare interpreter starts alone: {median(floors[n]) * 1000:.0f} ms = {floor_ratio:.2f}x; "
              f"N cache hits at once: {median(warms[n]) * 1000:.0f} ms = {median(warms[n]) / one:.2f}x)")
        goal_ratio = GOAL_AT_100 if n == 100 else None
        ok = worst_calls == 1 and max(answers[n]) == 1 and (goal_ratio is None or ratio <= goal_ratio)
        results.append(figure(f"fan-out N={n}: STS calls (max of {args.repeats})", worst_calls, "calls", "1",
                              worst_calls == 1 and max(answers[n]) == 1))
        results.append(figure(f"fan-out N={n}: wall time / one cold call", round(ratio, 2), "x",
                              f"<= {goal_ratio}" if goal_ratio else None, ok if goal_ratio else None,
                              f"{median(walls[n]) * 1000:.0f} ms; {n} x `python -I -c pass` at once alone: "
                              f"{median(floors[n]) * 1000:.0f} ms = {floor_ratio:.2f}x; {n} cache hits at once: "
                              f"{median(warms[n]) * 1000:.0f} ms = {median(warms[n]) / one:.2f}x"))
    emit(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
