#!/usr/bin/env python3
"""What a `credproc process` cache hit costs, measured side by side in one run.

Prints three figures (medians over interleaved rounds, so drift on a noisy VM hits every command alike):

  1. cache hit / `python -I -c pass`              goal <= 1.5  (the interpreter start is the floor)
  2. cache hit / a static credential_process     goal <= 1.2  (a script that prints fixed JSON)
  3. the share credproc adds to `aws sts get-caller-identity` against moto on a warm cache:
     (median with the credproc profile - median with the same keys in environment variables)
     / median with the keys in environment variables                                  goal < 10 %

Hermetic: temp HOME/AWS_CONFIG_FILE/CREDPROC_* dirs, moto_server on 127.0.0.1 (a free port, stopped
by pid at the end), a JWT-shaped token file, and the environment `bench/dev` using fn::open::aws-login.
  4. a hit through the launcher `credproc install-profile` writes (`python -IS`, skips `site`;
     credproc.commands.process.launcher_source) / `python -I -c pass`               goal <= 0.7
Informative rows: the launcher's floor `python -I -S -c pass`, and aws through the launcher profile.
Bytecode caching is allowed for the measured commands (as users have it), even where the machine sets
PYTHONDONTWRITEBYTECODE.

Usage: .venv/bin/python benchmarks/cache_hit.py [--rounds N] [--aws-rounds M] [--check]
  --check: exit 1 when a goal is missed.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
CREDPROC = str(VENV_BIN / "credproc")
AWS = str(VENV_BIN / "aws")
MOTO = str(VENV_BIN / "moto_server")
REF = "bench/dev"
GOALS = {"hit_vs_python": 1.5, "hit_vs_static": 1.2, "aws_share": 0.10, "launcher_hit_vs_python": 0.7}


# --- setting up ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(workdir: Path):
    port = free_port()
    log = open(workdir / "moto.log", "w")
    proc = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto_server did not start")


def jwt_token() -> str:
    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": "https://issuer.bench.test", "aud": "sts.amazonaws.com", "sub": "bench", "iat": now,
              "exp": now + 6 * 3600}
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2lnbmF0dXJl"


def hermetic_env(workdir: Path, moto_url: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "CREDPROC_")) and k not in ("PYTHONDONTWRITEBYTECODE", "HTTPS_PROXY",
                                                                    "https_proxy", "HTTP_PROXY", "http_proxy")}
    home = workdir / "home"
    env.update({
        "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
        "AWS_CONFIG_FILE": str(workdir / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "none"),
        "CREDPROC_CACHE_DIR": str(workdir / "cache"), "CREDPROC_CONFIG_DIR": str(workdir / "config"),
        "CREDPROC_ENV_DIR": str(workdir / "envs"), "AWS_ENDPOINT_URL": moto_url,
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "AWS_DEFAULT_REGION": "us-east-1",
    })
    return env


def write_files(workdir: Path) -> None:
    for d in ("home", "envs/bench", "config"):
        (workdir / d).mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(workdir / d, 0o700)
    os.chmod(workdir / "envs", 0o700)
    token = workdir / "token.jwt"
    token.write_text(jwt_token())
    os.chmod(token, 0o600)
    definition = workdir / "envs" / "bench" / "dev.yaml"
    definition.write_text(
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
        "          roleArn: arn:aws:iam::123456789012:role/esc-bench\n          sessionName: credproc-bench\n"
        f"          duration: 2h\n          token: {{file: {token}}}\n"
        "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
        "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n")
    os.chmod(definition, 0o600)
    (workdir / "aws-config").write_text(
        f"[profile credproc]\nregion = us-east-1\noutput = json\ncredential_process = {CREDPROC} process {REF}\n")


def write_static_process(workdir: Path, answer: bytes) -> Path:
    script = workdir / "static_cp.py"
    script.write_text("import sys\nsys.stdout.write(%r)\n" % answer.decode())
    return script


def install_launcher_profile(env: dict) -> Path:
    """`credproc install-profile` as a user runs it: it writes the `python -IS` launcher
    (credproc.commands.process.launcher_source) into the credproc config dir and a profile
    `credproc-fast` whose credential_process runs it. Returns the launcher the line starts."""
    import configparser
    import shlex

    result = subprocess.run([CREDPROC, "install-profile", REF, "--profile", "credproc-fast", "--region", "us-east-1"],
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"install-profile failed: {result.stderr.strip()}")
    parser = configparser.RawConfigParser()
    parser.read(env["AWS_CONFIG_FILE"])
    argv = shlex.split(parser.get("profile credproc-fast", "credential_process"))
    if argv[1:] != ["process", REF] or "/launchers/" not in argv[0]:
        raise SystemExit(f"install-profile did not write a launcher line: {argv}")
    return Path(argv[0])


# --- measuring -----------------------------------------------------------------------------------

def timed(argv, env) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode()[:300]}")
    return elapsed


def measure(commands: dict, rounds: int, slow: set, slow_rounds: int) -> dict:
    """Round-robin: each round runs every command once, in an order rotated per round."""
    names = list(commands)
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            if name in slow and r >= slow_rounds:
                continue
            argv, env = commands[name]
            samples[name].append(timed(argv, env))
    return samples


def summary(values) -> str:
    ordered = sorted(values)
    p10 = ordered[int(0.1 * (len(ordered) - 1))]
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(values) * 1000:7.1f} ms  (p10 {p10 * 1000:.1f}, p90 {p90 * 1000:.1f}, n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="rounds for the fast commands (default 40)")
    parser.add_argument("--aws-rounds", type=int, default=15, help="rounds for the aws CLI commands (default 15)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="credproc-bench-"))
    os.chmod(workdir, 0o700)
    moto, moto_url = start_moto(workdir)
    try:
        write_files(workdir)
        env = hermetic_env(workdir, moto_url)
        warm = subprocess.run([CREDPROC, "process", REF], env=env, capture_output=True)
        if warm.returncode != 0:
            raise SystemExit(f"warming the cache failed: {warm.stderr.decode().strip()}")
        answer = warm.stdout
        creds = json.loads(answer)
        static = write_static_process(workdir, answer)
        launcher = install_launcher_profile(env)
        keys_env = dict(env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                        AWS_SESSION_TOKEN=creds["SessionToken"])
        commands = {
            "python -I -c pass": ([PYTHON, "-I", "-c", "pass"], env),
            "credproc process (hit)": ([CREDPROC, "process", REF], env),
            "static credential_process": ([PYTHON, "-I", str(static)], env),
            "credproc process (hit), installed launcher": ([str(launcher), "process", REF], env),
            "python -I -S -c pass": ([PYTHON, "-I", "-S", "-c", "pass"], env),
            "aws sts get-caller-identity, credproc profile": ([AWS, "--profile", "credproc", "sts",
                                                               "get-caller-identity"], env),
            "aws sts get-caller-identity, keys in env": ([AWS, "sts", "get-caller-identity"], keys_env),
            "aws sts get-caller-identity, launcher profile": ([AWS, "--profile", "credproc-fast", "sts",
                                                                   "get-caller-identity"], env),
        }
        slow = {name for name in commands if name.startswith("aws ")}
        measure(commands, 3, slow, 1)  # warm-up: bytecode caches, page cache
        calls_before = sts_calls(moto_url)
        samples = measure(commands, args.rounds, slow, args.aws_rounds)
        calls_after = sts_calls(moto_url)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    med = {name: statistics.median(values) for name, values in samples.items()}
    print(f"credproc cache-hit benchmark ({sys.version.split()[0]}, {os.cpu_count()} CPUs), interleaved rounds\n")
    for name, values in samples.items():
        print(f"  {name:<48} {summary(values)}")
    hit = med["credproc process (hit)"]
    ratios = {
        "hit_vs_python": hit / med["python -I -c pass"],
        "hit_vs_static": hit / med["static credential_process"],
        "aws_share": (med["aws sts get-caller-identity, credproc profile"]
                      - med["aws sts get-caller-identity, keys in env"]) / med["aws sts get-caller-identity, keys in env"],
    }
    base = med["aws sts get-caller-identity, keys in env"]
    print()
    print(f"  cache hit / python -I -c pass        {ratios['hit_vs_python']:.2f}   (goal <= {GOALS['hit_vs_python']})"
          f"  {'ok' if ratios['hit_vs_python'] <= GOALS['hit_vs_python'] else 'MISSED'}")
    print(f"  cache hit / static credential_process {ratios['hit_vs_static']:.2f}   (goal <= {GOALS['hit_vs_static']})"
          f"  {'ok' if ratios['hit_vs_static'] <= GOALS['hit_vs_static'] else 'MISSED'}")
    print(f"  share credproc adds to aws sts get-caller-identity  {ratios['aws_share'] * 100:.1f} %"
          f"   (goal < {GOALS['aws_share'] * 100:.0f} %)  {'ok' if ratios['aws_share'] < GOALS['aws_share'] else 'MISSED'}")
    launcher_ratio = med["credproc process (hit), installed launcher"] / med["python -I -c pass"]
    ratios["launcher_hit_vs_python"] = launcher_ratio
    goal = GOALS["launcher_hit_vs_python"]
    print(f"  installed launcher hit / python -I -c pass {launcher_ratio:.2f}   (goal <= {goal})"
          f"  {'ok' if launcher_ratio <= goal else 'MISSED'}")
    print(f"  (informative) share the launcher profile adds to aws sts get-caller-identity "
          f"{(med['aws sts get-caller-identity, launcher profile'] - base) / base * 100:.1f} %")
    print(f"  AssumeRoleWithWebIdentity calls during the measured rounds: {calls_after - calls_before} (expected 0)")
    missed = (ratios["hit_vs_python"] > GOALS["hit_vs_python"] or ratios["hit_vs_static"] > GOALS["hit_vs_static"]
              or ratios["aws_share"] >= GOALS["aws_share"] or calls_after != calls_before
              or launcher_ratio > goal)
    return 1 if (args.check and missed) else 0


def sts_calls(moto_url: str) -> int:
    """AssumeRole* calls moto has served (docs/background.md §3)."""
    with urllib.request.urlopen(moto_url + "/moto-api/data.json", timeout=10) as resp:
        data = json.loads(resp.read())
    return len((data.get("sts") or {}).get("AssumedRole") or [])


if __name__ == "__main__":
    sys.exit(main())
