"""Helpers of the shell-quoting tests: write values into a definition, eval credproc's output in real
shells and read the variables back byte for byte (imported as a plain module: tests/env is on sys.path).

    yaml_string(text)            a YAML double-quoted scalar that the ESC language reads back as ``text``
    environment_yaml(mapping)    a definition whose environmentVariables are ``mapping``
    shell_reader(shell, fmt)     the shell's argv that evals $CREDPROC_T_FILE then prints `env -0`
    read_back(...)               run it in a fresh sandbox -> ({name: bytes}, stderr, touched: bool)
    run_credproc(*args)          the real CLI in bytes mode
"""
import os
import shutil
import subprocess
import sys
import tempfile

from support.runner import credproc_process  # tests/ is on sys.path (tests/conftest.py)

# The injected commands below all create this file in the shell's working directory.
MARKER = "pwned"

SHELLS = ("bash", "sh", "zsh", "fish")


def yaml_string(text: str) -> str:
    # `$$` is the language's escape for `$` (else `${...}` would interpolate); everything outside
    # printable ASCII is written as a YAML escape so no loader rejects the raw character.
    out = []
    for ch in text.replace("$", "$$"):
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def environment_yaml(variables: dict) -> str:
    lines = ["values:", "  environmentVariables:"]
    lines += [f"    {yaml_string(name)}: {yaml_string(value)}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


def missing_shell_reason(shell: str) -> "str | None":
    if shutil.which(shell):
        return None
    return f"{shell} is not installed (install/dev-setup.sh installs zsh and fish when run as root with apt-get)"


def shell_reader(shell: str) -> list:
    """argv evaluating the file $CREDPROC_T_FILE the way a user evals credproc's output, then printing
    the environment NUL-separated. POSIX shells: `set -a` so that plain NAME=value lines (dotenv,
    env-no-export) are exported too; fish: `source`, its way to eval a file."""
    if shell == "fish":
        return ["fish", "--no-config", "-c", "source $CREDPROC_T_FILE; env -0"]
    script = 'set -a; eval "$(cat "$CREDPROC_T_FILE")"; env -0'
    return [shell, "-f", "-c", script] if shell == "zsh" else [shell, "-c", script]


def run_credproc(*args, env=None) -> subprocess.CompletedProcess:
    """The real CLI, stdout and stderr as bytes (text mode would turn a value's \\r into \\n)."""
    return credproc_process(*args, env=dict(os.environ, **(env or {})))


def read_back(shell: str, text: bytes, names, workdir) -> "tuple[dict, str, bool]":
    """Eval ``text`` in ``shell`` inside a new empty directory; ({name: value bytes} of ``names``
    that are set, stderr, whether the marker file appeared)."""
    sandbox = tempfile.mkdtemp(dir=workdir)
    script = sandbox + ".out"  # beside the sandbox: only what the shell creates goes in it
    with open(script, "wb") as handle:
        handle.write(text)
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "HOME": sandbox, "CREDPROC_T_FILE": script}
    proc = subprocess.run(shell_reader(shell), cwd=sandbox, env=env, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    found = {}
    for item in proc.stdout.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and name.decode("utf-8", "replace") in names:
            found[name.decode()] = value
    touched = os.path.exists(os.path.join(sandbox, MARKER))
    return found, proc.stderr.decode("utf-8", "replace"), touched
