#!/usr/bin/env python3
"""The cold path: one full refresh by `credproc process` (start, YAML evaluation, token file, STS on
moto, cache write, answer) against boto3's own web-identity provider doing the same exchange with the
same token (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE; `boto3.Session().get_credentials()` calls
AssumeRoleWithWebIdentity in-process). Both are whole processes, measured side by side in interleaved
rounds; the cache is removed before every credproc run (not timed). Goal: ratio <= 1.5.

    .venv/bin/python benchmarks/cold_path.py [--rounds 12]
"""
import argparse
import sys

from benchlib import CREDPROC, PYTHON, REF, ROLE_ARN, SESSION, emit, figure, median, spread, timed_ok, world

GOAL = 1.5
BOTO3_SCRIPT = (
    "import boto3\n"
    "creds = boto3.Session().get_credentials()\n"
    "frozen = creds.get_frozen_credentials()\n"
    "assert creds.method == 'assume-role-with-web-identity' and frozen.access_key.startswith('ASIA')\n"
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args(argv)
    with world() as w:
        boto_env = dict(w.env, AWS_ROLE_ARN=ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE=str(w.token_file),
                        AWS_ROLE_SESSION_NAME=SESSION)
        boto_argv = [PYTHON, "-c", BOTO3_SCRIPT]
        cold_argv = [CREDPROC, "process", REF]
        for _ in range(2):  # warm-up: bytecode and page caches
            w.clear_cache()
            timed_ok(cold_argv, w.env)
            timed_ok(boto_argv, boto_env)
        samples = {"credproc": [], "boto3": []}
        before = w.sts_calls()
        for r in range(args.rounds):
            w.clear_cache()
            pair = [("credproc", cold_argv, w.env), ("boto3", boto_argv, boto_env)]
            for name, argv_, env in (pair if r % 2 == 0 else pair[::-1]):
                samples[name].append(timed_ok(argv_, env))
        calls = w.sts_calls() - before
    ratio = median(samples["credproc"]) / median(samples["boto3"])
    print(f"  credproc process, cold cache (full refresh)    {spread(samples['credproc'])}")
    print(f"  boto3 web-identity provider, same token        {spread(samples['boto3'])}")
    print(f"  STS calls: {calls} for {2 * args.rounds} runs (expected {2 * args.rounds})")
    print(f"  cold credproc / boto3 in-process AWRWI: {ratio:.2f} (goal <= {GOAL}) {'ok' if ratio <= GOAL else 'MISSED'}")
    emit([figure("cold path: credproc full refresh / boto3 in-process assume_role_with_web_identity",
                 round(ratio, 2), "x", f"<= {GOAL}", ratio <= GOAL and calls == 2 * args.rounds,
                 f"{median(samples['credproc']) * 1000:.0f} ms vs {median(samples['boto3']) * 1000:.0f} ms")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
