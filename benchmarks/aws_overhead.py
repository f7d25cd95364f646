#!/usr/bin/env python3
"""The share credproc adds to a boto3 script on a warm cache: a script that makes one STS
GetCallerIdentity call through `Session(profile_name=...)` (botocore starts `credproc process`, a cache
hit) against the same script with the same keys in AWS_* environment variables. Interleaved rounds;
share = (median with the profile - median with env keys) / median with env keys. Goal: < 10 %,
for both the hand-written `credproc process` line (the console script) and the profile
`credproc install-profile` writes (its `python -IS` launcher), measured side by side.
(`aws sts get-caller-identity` is measured by benchmarks/cache_hit.py.)

    .venv/bin/python benchmarks/aws_overhead.py [--rounds 15]
"""
import argparse
import json
import sys

from benchlib import CREDPROC, PYTHON, REF, emit, figure, median, run_ok, spread, timed_ok, world
from cache_hit import install_launcher_profile

GOAL = 0.10
SCRIPT = (
    "import sys, boto3\n"
    "session = boto3.Session(profile_name=sys.argv[1]) if len(sys.argv) > 1 else boto3.Session()\n"
    "arn = session.client('sts', region_name='us-east-1').get_caller_identity()['Arn']\n"
    "assert ':assumed-role/' in arn, arn\n"
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    with world() as w:
        creds = json.loads(run_ok([CREDPROC, "process", REF], w.env).stdout)
        keys_env = dict(w.env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                        AWS_SESSION_TOKEN=creds["SessionToken"])
        static = w.workdir / "static_cp.py"  # the floor: a credential_process that only prints fixed JSON
        static.write_text("import sys\nsys.stdout.write(%r)\n" % json.dumps(creds))
        with open(w.workdir / "aws-config", "a") as f:
            f.write(f"\n[profile static]\nregion = us-east-1\ncredential_process = {PYTHON} -I {static}\n")
        install_launcher_profile(w.env)  # the profile a user gets: [profile credproc-fast]
        commands = {"profile": ([PYTHON, "-c", SCRIPT, "credproc"], w.env), "keys": ([PYTHON, "-c", SCRIPT], keys_env),
                    "static": ([PYTHON, "-c", SCRIPT, "static"], w.env),
                    "launcher": ([PYTHON, "-c", SCRIPT, "credproc-fast"], w.env)}
        for argv_, env in commands.values():
            timed_ok(argv_, env)
        samples = {name: [] for name in commands}
        before = w.sts_calls()
        for r in range(args.rounds):
            k = r % len(commands)
            names = list(commands)[k:] + list(commands)[:k]
            for name in names:
                samples[name].append(timed_ok(*commands[name]))
        calls = w.sts_calls() - before
    share = (median(samples["profile"]) - median(samples["keys"])) / median(samples["keys"])
    launcher_share = (median(samples["launcher"]) - median(samples["keys"])) / median(samples["keys"])
    static_share = (median(samples["static"]) - median(samples["keys"])) / median(samples["keys"])
    print(f"  boto3 script, credproc profile (warm cache)   {spread(samples['profile'])}")
    print(f"  boto3 script, installed launcher profile     {spread(samples['launcher'])}")
    print(f"  boto3 script, same keys in environment        {spread(samples['keys'])}")
    print(f"  boto3 script, static credential_process       {spread(samples['static'])}")
    print(f"  share credproc adds to a boto3 script: {share * 100:.1f} % (goal < {GOAL * 100:.0f} %) "
          f"{'ok' if share < GOAL else 'MISSED'}; STS calls while measuring: {calls} (expected 0)")
    print(f"  share the installed launcher profile adds: {launcher_share * 100:.1f} % "
          f"{'ok' if launcher_share < GOAL else 'MISSED'}")
    print(f"  share a static credential_process (fixed JSON) adds: {static_share * 100:.1f} % (the floor of any "
          "credential_process)")
    emit([
        figure("share credproc adds to a boto3 script (warm cache)", round(share * 100, 1), "%", f"< {GOAL * 100:.0f}",
               share < GOAL and calls == 0,
               f"{median(samples['profile']) * 1000:.0f} ms vs {median(samples['keys']) * 1000:.0f} ms"),
        figure("share the profile install-profile writes (launcher) adds to the same script", round(launcher_share * 100, 1),
               "%", f"< {GOAL * 100:.0f}", launcher_share < GOAL and calls == 0,
               f"{median(samples['launcher']) * 1000:.0f} ms"),
        figure("share a static credential_process (prints fixed JSON) adds to the same script", round(static_share * 100, 1),
               "%", None, None, f"{median(samples['static']) * 1000:.0f} ms: the floor for any credential_process"),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
