#!/usr/bin/env python3
"""Run every credproc benchmark and print one table (markdown): figure, value, goal, met?

    .venv/bin/python benchmarks/run_all.py            # full run, about 1.5-2 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick    # fewer rounds, about 1 minute (noisier)

Every figure is a ratio (or a count) measured side by side within one script's interleaved rounds,
median of repeats. The scripts run one after another (never in parallel: they would disturb each
other's timings). A failing script is retried once (its error is printed); exit status 1 when it fails
twice. Missed goals are reported, not fatal.
"""
import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import PYTHON, machine  # noqa: E402

FULL = {
    "cache_hit.py": ["--rounds", "40", "--aws-rounds", "15"],
    "aws_overhead.py": ["--rounds", "15"],
    "cold_path.py": ["--rounds", "12"],
    "fanout.py": ["--repeats", "3"],
    "botocore_reruns.py": ["--calls", "200"],
    "eval_scaling.py": ["--repeat", "5"],
    "endpoint.py": ["--rounds", "30", "--repeats", "20"],
}
QUICK = {
    "cache_hit.py": ["--rounds", "15", "--aws-rounds", "6"],
    "aws_overhead.py": ["--rounds", "6"],
    "cold_path.py": ["--rounds", "4"],
    "fanout.py": ["--repeats", "1"],
    "botocore_reruns.py": ["--calls", "200"],
    "eval_scaling.py": ["--repeat", "2"],
    "endpoint.py": ["--rounds", "10", "--repeats", "5"],
}


def figure(name, value, unit, goal=None, ok=None, note=""):
    return {"name": name, "value": value, "unit": unit, "goal": goal, "ok": ok, "note": note}


def parse_cache_hit(text: str) -> list:
    """benchmarks/cache_hit.py prints text (owned by another module): pick its three ratios."""
    def number(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None

    med = dict(re.findall(r"^\s+(.+?)\s+median\s+([0-9.]+) ms", text, re.M))
    hit_py = number(r"cache hit / python -I -c pass\s+([0-9.]+)")
    hit_static = number(r"cache hit / static credential_process\s+([0-9.]+)")
    share = number(r"share credproc adds to aws sts get-caller-identity\s+(-?[0-9.]+) %")
    calls = number(r"AssumeRoleWithWebIdentity calls during the measured rounds: (\d+)")
    launcher = number(r"installed launcher hit / python -I -c pass\s+([0-9.]+)")

    def ms(name):
        return f"{float(med[name]):.1f} ms" if name in med else "?"

    return [
        figure("cache hit: credproc process / python -I -c pass", hit_py, "x", "<= 1.5",
               hit_py is not None and hit_py <= 1.5, f"{ms('credproc process (hit)')} vs {ms('python -I -c pass')}"),
        figure("cache hit through the installed launcher / python -I -c pass", launcher, "x", "<= 0.7",
               launcher is not None and launcher <= 0.7,
               f"{ms('credproc process (hit), installed launcher')} vs {ms('python -I -c pass')}"),
        figure("cache hit: credproc process / static credential_process (fixed JSON)", hit_static, "x", "<= 1.2",
               hit_static is not None and hit_static <= 1.2, f"vs {ms('static credential_process')}"),
        figure("share credproc adds to aws sts get-caller-identity (warm cache)", share, "%", "< 10",
               share is not None and share < 10 and calls == 0,
               f"{ms('aws sts get-caller-identity, credproc profile')} vs "
               f"{ms('aws sts get-caller-identity, keys in env')}; STS calls while measuring: {calls:.0f}"
               if calls is not None else ""),
    ]


def parse_eval_scaling(text: str) -> list:
    m = re.search(r"ratio (\d+)/(\d+): ([0-9.]+)x \(goal <= (\d+)x\)", text)
    if not m:
        return [figure("evaluator scaling", None, "x", None, False, "output not understood")]
    big, small, ratio, goal = m.group(1), m.group(2), float(m.group(3)), m.group(4)
    times = dict((s, t) for s, t in re.findall(r"^\s*(\d+) target values:.*?([0-9.]+) ms", text, re.M))
    return [figure(f"evaluator scaling: {big} / {small} values (CPU time)", ratio, "x", f"<= {goal}",
                   ratio <= float(goal), f"{times.get(small, '?')} ms vs {times.get(big, '?')} ms")]


def run_script(name: str, args: list) -> "tuple[list, str, float]":
    started = time.perf_counter()
    for attempt in (1, 2):  # one retry: on a shared machine a server's free port can be taken meanwhile
        proc = subprocess.run([PYTHON, str(HERE / name), *args], capture_output=True, text=True, cwd=HERE.parent)
        if proc.returncode == 0 or name == "eval_scaling.py":  # eval_scaling exits 1 when its goal is missed
            break
        print(f"{name} failed ({proc.returncode}), attempt {attempt}:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}",
              file=sys.stderr)
    else:
        raise SystemExit(f"{name} failed twice")
    elapsed = time.perf_counter() - started
    out = proc.stdout
    if name == "cache_hit.py":
        return parse_cache_hit(out), out, elapsed
    if name == "eval_scaling.py":
        return parse_eval_scaling(out), out, elapsed
    line = [l for l in out.splitlines() if l.startswith("RESULTS-JSON ")]
    if not line:
        raise SystemExit(f"{name} printed no RESULTS-JSON line:\n{out[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(line[-1][len("RESULTS-JSON "):]), out, elapsed


def fmt_value(fig) -> str:
    v = fig["value"]
    if v is None:
        return "?"
    unit = fig["unit"]
    if unit == "x":
        return f"{v:.2f}x"
    if unit == "%":
        return f"{v:.1f} %"
    return f"{v:g} {unit}"


def table(figures: list) -> str:
    lines = ["| figure | measured | goal | met | detail |", "|---|---|---|---|---|"]
    for fig in figures:
        met = "—" if fig["ok"] is None else ("yes" if fig["ok"] else "**no**")
        goal = fig["goal"] or "—"
        if fig["goal"] and fig["unit"] == "%":
            goal += " %"
        lines.append(f"| {fig['name']} | {fmt_value(fig)} | {goal} | {met} | {fig['note']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier), about half the time")
    parser.add_argument("--verbose", action="store_true", help="also print each script's own output")
    parser.add_argument("--only", help="comma-separated script names to run (default: all)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.only:
        wanted = {n if n.endswith(".py") else n + ".py" for n in args.only.split(",")}
        plan = {k: v for k, v in plan.items() if k in wanted}
    started = time.perf_counter()
    figures, timings = [], []
    for name, script_args in plan.items():
        print(f"running {name} {' '.join(script_args)} ...", file=sys.stderr, flush=True)
        got, out, elapsed = run_script(name, script_args)
        figures += got
        timings.append(f"{name} {elapsed:.0f}s")
        if args.verbose:
            print(out, file=sys.stderr)
    m = machine()
    print(f"credproc benchmarks ({'quick' if args.quick else 'full'} run, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}")
    print(f"command: .venv/bin/python benchmarks/run_all.py{' --quick' if args.quick else ''}")
    print(f"time: {time.perf_counter() - started:.0f}s ({', '.join(timings)})\n")
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
