"""Secrets stay hidden unless asked for: every format of `env open` and `env get` without
--show-secrets, on an environment whose fn::secret values sit everywhere (nested, interpolated into
a larger string, inside arrays, in `files`, through fn::toJSON / fn::toBase64 / fn::join, imported
from another environment), prints none of them, nor their JSON-escaped or base64 forms, on stdout or
stderr, nor in a temp file (`files`).

`credproc export` prints AWS credentials by design (like `aws configure export-credentials`): there
the credentials may be on stdout (and must be: the command's job) but on stderr never, and no other
secret of the environment may appear anywhere.
"""
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CREDPROC = REPO / ".venv" / "bin" / "credproc"

# Each secret carries a unique token of letters and digits: any escaping (JSON, Go, YAML, shell)
# leaves the token whole; base64 is looked for separately. The characters around the tokens make
# the JSON and shell forms differ from the raw text.
TOKENS = {
    "plain": "tokPLAIN7f3a9c1e", "nested": "tokNESTED5b2d8e4f", "array": "tokARRAY1c9e7a3b",
    "json": "tokJSON8d4f2a6c", "b64": "tokBASE646e1b9d3f", "join": "tokJOIN3a7c5e9b",
    "imported": "tokIMPORTED9f2b4d6a", "file": "tokFILE2e8a6c4d", "envvar": "tokENVVAR4b6d8f1a",
    "awssecret": "tokAWSSECRET7c3e1a5b",
}


def secret(name: str) -> str:
    return f"<{TOKENS[name]}> \\\"q\\\" & 'x'"  # a YAML double-quoted text: <, >, &, ", \ and '


VAULT = f"""values:
  vaulted:
    fn::secret: "{secret('imported')}"
"""

ENVIRONMENT = f"""imports:
  - vault
values:
  plain:
    fn::secret: "{secret('plain')}"
  nested:
    deep:
      deeper:
        fn::secret: "{secret('nested')}"
  interpolated: "before ${{plain}} after"
  list:
    - 1
    - fn::secret: "{secret('array')}"
    - "in a list: ${{nested.deep.deeper}}"
  asJSON:
    fn::toJSON:
      a:
        fn::secret: "{secret('json')}"
  asBase64:
    fn::toBase64:
      fn::secret: "{secret('b64')}"
  interpolatedBase64:
    fn::toBase64: "x${{plain}}yz"
  joined:
    fn::join: [",", ["a", {{fn::secret: "{secret('join')}"}}, "${{plain}}"]]
  fromVault: ${{vaulted}}
  environmentVariables:
    AWS_ACCESS_KEY_ID: AKIAHIDDENTEST000001
    AWS_SECRET_ACCESS_KEY:
      fn::secret: "{TOKENS['awssecret']}"
    PLAIN: ${{plain}}
    INTERPOLATED: ${{interpolated}}
    JSONV: ${{asJSON}}
    B64: ${{asBase64}}
    JOINED: ${{joined}}
    IMPORTED: ${{fromVault}}
    OWN:
      fn::secret: "{secret('envvar')}"
  files:
    SECRET_FILE:
      fn::secret: "{secret('file')}"
    MIXED_FILE: "key = ${{nested.deep.deeper}}"
"""

OPEN_FORMATS = ("json", "yaml", "string", "dotenv", "shell", "detailed")
PATHS = (None, "nested", "list", "environmentVariables", "asJSON", "joined")


def needles(token: str) -> list:
    """The token, and its base64 at each of the three alignments it can have inside a longer text."""
    found = [token.encode()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + token.encode())
        found.append(encoded[4:-4])  # the groups made of token bytes only
    return found


def leaks(data: bytes, allowed=()) -> list:
    return sorted(name for name, token in TOKENS.items()
                  if name not in allowed and any(n in data for n in needles(token)))


@pytest.fixture
def secret_store(isolated_env, tmp_path):
    org = Path(isolated_env.env_dir) / "acme"
    org.mkdir(parents=True, exist_ok=True)
    (org / "vault.yaml").write_text(VAULT)
    (org / "full.yaml").write_text(ENVIRONMENT)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(mode=0o700)
    return tmpdir


def run(tmpdir: Path, *args) -> subprocess.CompletedProcess:
    command = [str(CREDPROC)] if CREDPROC.exists() else [sys.executable, "-m", "credproc"]
    # files written for `env open` go to the private runtime directory, scanned like TMPDIR
    return subprocess.run(command + list(args), env=dict(os.environ, TMPDIR=str(tmpdir), XDG_RUNTIME_DIR=str(tmpdir)),
                          capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def temp_files(tmpdir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmpdir.rglob("*")) if p.is_file())


def test_the_needles_find_every_secret_when_shown(secret_store):
    """The scan can fail: with --show-secrets every secret is found (base64 ones through their base64)."""
    shown = run(secret_store, "env", "open", "acme/full", "--show-secrets")
    assert shown.returncode == 0, shown.stderr
    assert leaks(shown.stdout) == sorted(TOKENS)
    dotenv = run(secret_store, "env", "open", "acme/full", "--format", "dotenv", "--show-secrets")
    assert "file" in leaks(temp_files(secret_store))
    assert "b64" in leaks(dotenv.stdout) and "imported" in leaks(dotenv.stdout)


@pytest.mark.parametrize("fmt", OPEN_FORMATS)
def test_env_open_hides_every_secret_without_show_secrets(secret_store, fmt):
    for path in PATHS if fmt not in ("dotenv", "shell") else (None,):
        proc = run(secret_store, "env", "open", "acme/full", *([path] if path else []), "--format", fmt)
        assert proc.returncode == 0, (fmt, path, proc.stderr)
        assert proc.stdout.strip(), (fmt, path)
        assert leaks(proc.stdout + proc.stderr) == [], (fmt, path, proc.stdout)
    assert leaks(temp_files(secret_store)) == [], fmt


# esc env get --value: no yaml; "" is the markdown report (value, definition, defined at)
GET_FORMATS = ("json", "string", "dotenv", "shell", "detailed", "")


@pytest.mark.parametrize("fmt", GET_FORMATS)
def test_env_get_hides_every_secret_without_show_secrets(secret_store, fmt):
    for path in PATHS if fmt not in ("dotenv", "shell") else (None,):
        value = ["--value", fmt] if fmt else []
        proc = run(secret_store, "env", "get", "acme/full", *([path] if path else []), *value)
        assert proc.returncode == 0, (fmt, path, proc.stderr)
        assert leaks(proc.stdout + proc.stderr) == [], (fmt, path, proc.stdout)
    assert leaks(temp_files(secret_store)) == [], fmt


def test_detailed_still_says_which_values_are_secret(secret_store):
    import json

    for command in (("open", "--format"), ("get", "--value")):
        proc = run(secret_store, "env", command[0], "acme/full", "nested", command[1], "detailed")
        out = json.loads(proc.stdout)
        assert "trace" in out  # ESC's esc.Value always has one
        assert _without_traces(out) == {"value": {"deep": {"value": {"deeper": {"value": "[secret]", "secret": True}}}}}


def _without_traces(node):
    if isinstance(node, dict):
        return {k: _without_traces(v) for k, v in node.items() if k != "trace"}
    if isinstance(node, list):
        return [_without_traces(v) for v in node]
    return node


def test_env_open_partial_with_errors_hides_secrets_in_diagnostics(secret_store, isolated_env):
    """Builtins that fail on a secret input must not quote it in their diagnostic."""
    broken = ENVIRONMENT.replace("values:\n", "values:\n  badB64:\n    fn::fromBase64: ${plain}\n"
                                              "  badJSON:\n    fn::fromJSON: ${plain}\n"
                                              "  badPath: ${plain.nope}\n", 1)
    (Path(isolated_env.env_dir) / "acme" / "broken.yaml").write_text(broken)
    for fmt in OPEN_FORMATS:
        proc = run(secret_store, "env", "open", "acme/broken", "--format", fmt, "--partial")
        assert proc.returncode == 2 and proc.stderr, (fmt, proc.stderr)
        assert leaks(proc.stdout + proc.stderr) == [], (fmt, proc.stderr)
    check = run(secret_store, "env", "check", "acme/broken")
    assert check.returncode == 2 and leaks(check.stdout + check.stderr) == [], check.stderr


EXPORT_FORMATS = ("process", "env", "env-no-export", "powershell", "windows-cmd", "fish", "dotenv", "json")


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_prints_the_credentials_and_no_other_secret(secret_store, fmt):
    proc = run(secret_store, "export", "acme/full", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert leaks(proc.stdout) == ["awssecret"]  # its job; every other secret stays hidden
    assert leaks(proc.stderr) == []
    assert leaks(temp_files(secret_store)) == []
