#!/usr/bin/env python3
"""botocore's own re-runs: one boto3 process (profile whose credential_process is `credproc process`,
wrapped by a tiny shell script that counts its runs) makes 200 STS GetCallerIdentity calls.

  a) 200 calls in a row (real time): how many credproc runs? (goal: 1)
  b) 200 calls spread evenly over the whole 2 h life of the first credentials, with the clock moved
     for everyone (no libfaketime here): botocore's clock in this process is patched, credproc's
     children get a sitecustomize that shifts time.time (tests/support/fakeclock), and the counting
     proxy in front of moto shifts STS's Expiration by the same amount. How many credproc runs per
     credential set botocore used? (goal: 1; botocore must never re-run credproc for a set it holds,
     which happens when a set has < 15 min left: credproc's 20-minute margin prevents it)

    .venv/bin/python benchmarks/botocore_reruns.py [--calls 200]
"""
import argparse
import datetime
import os
import sys

from benchlib import CREDPROC, DURATION_SECONDS, REF, emit, figure, world

from support.clock import SITE_DIR
from support.stsproxy import StsProxy

PROFILE = "counted"


def write_counting_profile(w) -> "tuple[str, str]":
    log = w.workdir / "runs.log"
    wrapper = w.workdir / "counting_credproc.sh"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{CREDPROC}" process {REF}\n')
    os.chmod(wrapper, 0o700)
    with open(w.workdir / "aws-config", "a") as f:
        f.write(f"\n[profile {PROFILE}]\nregion = us-east-1\ncredential_process = {wrapper}\n")
    return str(log), str(wrapper)


def runs(log: str) -> int:
    try:
        with open(log) as f:
            return len(f.read().split())
    except FileNotFoundError:
        return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    with world() as w, StsProxy(w.moto_url) as proxy:
        log, _ = write_counting_profile(w)
        offset_file = w.workdir / "clock-offset"
        offset_file.write_text("0")
        os.environ.clear()
        os.environ.update(w.env)
        os.environ.update({"AWS_ENDPOINT_URL_STS": proxy.url, "PYTHONPATH": SITE_DIR,
                           "CREDPROC_FAKE_CLOCK_FILE": str(offset_file)})
        offset = [0.0]
        patch_botocore_clock(offset)
        import boto3

        # a) real time
        client = boto3.Session(profile_name=PROFILE).client("sts")
        for _ in range(args.calls):
            client.get_caller_identity()
        runs_a = runs(log)

        # b) spread over the first credentials' life (a fresh cache, a fresh session)
        w.clear_cache()
        os.unlink(log)
        proxy.reset_counts()
        client = boto3.Session(profile_name=PROFILE).client("sts")
        keys = []
        for i in range(args.calls):
            offset[0] = i * DURATION_SECONDS / args.calls
            offset_file.write_text(str(offset[0]))
            proxy.skew_expiration(offset[0])
            client.get_caller_identity()
            creds = client._request_signer._credentials.get_frozen_credentials()
            if not keys or keys[-1] != creds.access_key:
                keys.append(creds.access_key)
        runs_b = runs(log)
        sts_b = proxy.count("AssumeRoleWithWebIdentity")
    per_set = runs_b / len(keys)
    print(f"  a) {args.calls} calls in a row: {runs_a} credproc run(s) (goal 1)")
    print(f"  b) {args.calls} calls over one {DURATION_SECONDS // 3600} h credential life: {runs_b} credproc runs, "
          f"{len(keys)} credential sets used, {sts_b} STS calls: {per_set:.2f} runs per set (goal 1)")
    emit([
        figure(f"botocore re-runs: {args.calls} calls in one boto3 process -> credproc runs", runs_a, "runs", "1",
               runs_a == 1),
        figure(f"botocore re-runs: {args.calls} calls over a {DURATION_SECONDS // 3600} h credential life "
               "-> credproc runs per credential set", round(per_set, 2), "runs/set", "1", per_set == 1,
               f"{runs_b} runs for {len(keys)} sets (the 2nd run fetched the next set 15 min before expiry)"),
    ])
    return 0


def patch_botocore_clock(offset: list) -> None:
    """RefreshableCredentials asks _time_fetcher when it needs a refresh: move it by offset[0] seconds."""
    from botocore import credentials
    from dateutil.tz import tzlocal

    def fake_now():
        return datetime.datetime.now(tzlocal()) + datetime.timedelta(seconds=offset[0])

    original = credentials.RefreshableCredentials.__init__

    def init(self, *a, **kw):
        original(self, *a, **kw)
        self._time_fetcher = fake_now

    credentials.RefreshableCredentials.__init__ = init


if __name__ == "__main__":
    sys.exit(main())
