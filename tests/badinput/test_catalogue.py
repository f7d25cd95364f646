"""The bad-input catalogue (tests/badinput/catalogue.py), run case by case through the real command
line: the expected exit code and first stderr line, no traceback, no hang (every run has a timeout),
nothing on stdout, no partial writes (the store, the AWS config and the cache are as before), and no
secret (the token) in any message. Also checks that docs/reliability.md publishes this very table
(CREDPROC_ACCEPT=1 regenerates it)."""
import os
import re
import time
from pathlib import Path

import pytest

import support  # noqa: F401
from catalogue import CASES
from credtest import jwt_token, login_yaml, write_environment
from support.runner import run_credproc, tree_snapshot
from support.stsproxy import AWRWI, StsProxy

import docgen

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 40


@pytest.fixture
def world(isolated_env, moto_server, monkeypatch, tmp_path):
    with StsProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        yield isolated_env, proxy, tmp_path


class EntraAnswers:
    """A plain-http Entra ID token endpoint on 127.0.0.1 (AZURE_AUTHORITY_HOST allows http on loopback)
    answering every request with ``answer`` (status, body): a case's ``entra``."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler

        from support.httpserver import LoopbackServer, answer

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = owner.answer
                answer(self, status, "application/json; charset=utf-8", body.encode())

        self.answer = (404, "{}")
        self.server = LoopbackServer(Handler)
        self.url = self.server.url


@pytest.fixture
def entra():
    answers = EntraAnswers()
    with answers.server:
        yield answers


def substitute(text, values: dict):
    if isinstance(text, bytes):
        for key, value in values.items():
            text = text.replace(("{" + key + "}").encode(), str(value).encode())
        return text
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def prepare(c: dict, world) -> "tuple[dict, str]":
    """Write the case's files; return (placeholder values, the token text)."""
    ns, proxy, tmp = world
    token = c.get("token", jwt_token())
    token_file = tmp / "token.jwt"
    token_file.write_bytes(token if isinstance(token, bytes) else token.encode())
    os.chmod(token_file, 0o600)
    values = {"token_file": token_file, "env_dir": ns.env_dir, "cache_dir": ns.cache_dir,
              "config_file": ns.config_file, "credentials_file": ns.credentials_file, "tmp": tmp, "role": "arn:aws:iam::123456789012:role/esc-dev",
              "token": token if isinstance(token, str) else ""}
    text = substitute(c["yaml"], values) if "yaml" in c else login_yaml(f"{{file: {token_file}}}")
    path = write_environment(ns.env_dir, "acme/dev", "")
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for name, key in (("config", "config_file"), ("credentials", "credentials_file")):
        if name in c:
            target = getattr(ns, key)
            target.parent.mkdir(mode=0o700, exist_ok=True)
            data = substitute(c[name], values)
            target.write_bytes(data if isinstance(data, bytes) else data.encode())
            os.chmod(target, 0o600)
    if "sts" in c:
        status, body = c["sts"]
        proxy.fail_always(AWRWI, ("status", status, substitute(body, values)))
    return values, (token if isinstance(token, str) else token.decode("latin-1"))


def run_case(c: dict, world, entra=None):
    ns, proxy, tmp = world
    values, token = prepare(c, world)
    env = dict(os.environ)
    if "entra" in c:
        entra.answer = c["entra"]
        env["AZURE_AUTHORITY_HOST"] = values["entra"] = entra.url
    for key, value in (c.get("env") or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = substitute(value, values)
    args = [substitute(a, values) for a in c["args"]]
    watched = (ns.env_dir, ns.config_file.parent, ns.cache_dir, ns.config_dir)
    before = _snapshot(watched)
    started = time.monotonic()
    result = run_credproc(*args, env=env, timeout=TIMEOUT)
    result.elapsed = time.monotonic() - started
    result.changed = sorted(set(_snapshot(watched).items()) ^ set(before.items()))
    result.token = token
    result.values = values
    return result


def _snapshot(roots) -> dict:
    # Lock files are created (and kept, by design) on any refresh attempt: not a partial write.
    return {k: v for k, v in tree_snapshot(*roots).items()
            if "/locks/" not in k}


def line_matches(c: dict, line: str) -> bool:
    if c["match"] == "exact":
        return line == c["line"]
    if c["match"] == "prefix":
        return line.startswith(c["line"])
    if c["match"] == "contains":
        return c["line"] in line
    if c["match"] == "regex":
        return re.fullmatch(c["line"], line) is not None
    raise ValueError(c["match"])


@pytest.mark.timeout(TIMEOUT + 20)
@pytest.mark.parametrize("c", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(c, world, entra):
    result = run_case(c, world, entra)
    assert result.code == c["code"], result
    assert "Traceback" not in result.stderr, result
    if "stdout" in c:  # a command whose failure answer goes to stdout (gcp-token: google-auth reads it)
        assert c["stdout"] in result.stdout.decode(), result
    else:
        assert result.stdout == b"", result
    assert result.first_line, result
    assert line_matches(dict(c, line=substitute(c["line"], result.values)), result.first_line), \
        (c["line"], result.first_line)
    changed = result.changed
    if c.get("may_cache"):
        changed = [entry for entry in changed if "/creds/" not in entry[0]]
    assert changed == [], changed  # nothing half-written, nothing cached
    if len(result.token) >= 8:
        assert result.token not in result.stderr and result.token.strip() not in result.stderr
    assert result.elapsed < TIMEOUT


def test_catalogue_is_large_and_covers_every_entry_point():
    assert len(CASES) >= 50
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert {c["entry"] for c in CASES} >= {"arguments", "names", "environment YAML", "token contents",
                                           "STS responses", "~/.aws/config", "environment variables"}


def test_reliability_doc_publishes_this_catalogue():
    doc = REPO / "docs" / "reliability.md"
    current = doc.read_text() if doc.exists() else ""
    wanted = docgen.render(current, CASES)
    if os.environ.get("CREDPROC_ACCEPT") == "1" and current != wanted:
        doc.write_text(wanted)
        current = doc.read_text()
    assert current == wanted, "docs/reliability.md is stale: rerun with CREDPROC_ACCEPT=1"
