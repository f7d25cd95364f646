#!/usr/bin/env python3
"""The credentials endpoint (`credproc serve`) against a `credproc process` cache hit, side by side.

    a) interleaved rounds: one `credproc process bench/dev` cache hit (a new process, as botocore runs
       it) and one endpoint answer (a new HTTP connection with the token, as the SDKs' container
       providers make it); goal: the endpoint answers in under a tenth of a cache hit's time
    b) N parallel clients (1, 10, 50), each fetching R times over its own connections, on a warm cache:
       latency per answer and STS calls (0 expected)
    c) 50 clients at once on a cold cache (the cache directory removed under the running endpoint):
       STS calls (1 expected: the refresh lock) and latency

Hermetic world of benchlib (moto on 127.0.0.1, temp HOME and CREDPROC_* dirs, bench/dev with aws-login).

Usage: .venv/bin/python benchmarks/endpoint.py [--rounds N] [--repeats R]
"""
import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse

from benchlib import CREDPROC, REF, emit, figure, machine, median, run_ok, spread, timed_ok, world

GOAL_RATIO = 0.1


class Serve:
    def __init__(self, env):
        self.proc = subprocess.Popen([CREDPROC, "serve", REF, "--format", "json"], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = []
        for line in self.proc.stdout:
            lines.append(line.decode())
            if line.rstrip() == b"}":
                break
        variables = json.loads("".join(lines))
        self.token = variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        url = urllib.parse.urlsplit(variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
        self.host, self.port, self.path = url.hostname, url.port, url.path

    def fetch(self) -> float:
        """One answer over a new connection (as botocore's and the JavaScript SDK's providers ask); seconds."""
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", self.path, headers={"Authorization": self.token, "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200 or b"AccessKeyId" not in body:
            raise SystemExit(f"endpoint answered {response.status}: {body[:200]!r}")
        return time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=30)


def side_by_side(w, serve, rounds: int) -> "tuple[list, list]":
    hits, answers = [], []
    for _ in range(rounds):
        hits.append(timed_ok([CREDPROC, "process", REF], w.env))
        answers.append(serve.fetch())
    return hits, answers


def parallel(serve, clients: int, repeats: int) -> "tuple[list, float]":
    latencies, lock = [], threading.Lock()

    def client():
        mine = [serve.fetch() for _ in range(repeats)]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    results = []
    with world() as w:
        run_ok([CREDPROC, "process", REF], w.env)  # warm: the index holds the answer
        serve = Serve(w.env)
        try:
            for _ in range(3):
                serve.fetch()
            sts_before = w.sts_calls()
            hits, answers = side_by_side(w, serve, args.rounds)
            ratio = median(answers) / median(hits)
            print("a) side by side, interleaved:")
            print(f"   credproc process cache hit   {spread(hits)}")
            print(f"   endpoint answer              {spread(answers)}")
            print(f"   endpoint / cache hit         {ratio:.3f} (goal < {GOAL_RATIO})")
            results.append(figure("endpoint answer / process cache hit", round(ratio, 3), "x", f"< {GOAL_RATIO}",
                                  ratio < GOAL_RATIO, f"{median(answers) * 1000:.2f} ms vs {median(hits) * 1000:.1f} ms"))
            print(f"b) parallel clients on a warm cache, {args.repeats} answers each:")
            for clients in (1, 10, 50):
                before = w.sts_calls()
                latencies, elapsed = parallel(serve, clients, args.repeats)
                calls = w.sts_calls() - before
                rate = len(latencies) / elapsed
                print(f"   {clients:>2} clients: {spread(latencies)}, {rate:.0f} answers/s, STS calls {calls}")
                results.append(figure(f"endpoint, {clients} parallel clients: median latency",
                                      round(median(latencies) * 1000, 2), "ms", None, None,
                                      f"{rate:.0f} answers/s, STS calls {calls}"))
            warm_calls = w.sts_calls() - sts_before
            print(f"   STS calls during a) and b): {warm_calls}")
            results.append(figure("STS calls while serving from a warm cache", warm_calls, "", "0", warm_calls == 0))
            w.clear_cache()
            before = w.sts_calls()
            latencies, elapsed = parallel(serve, 50, 1)
            cold_calls = w.sts_calls() - before
            print(f"c) 50 clients at once on a cold cache: {spread(latencies)}, STS calls {cold_calls}")
            results.append(figure("endpoint, 50 clients on a cold cache: STS calls", cold_calls, "", "1",
                                  cold_calls == 1, f"slowest answer {max(latencies) * 1000:.0f} ms"))
        finally:
            serve.stop()
    emit(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
