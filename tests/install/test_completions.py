"""Shell completions: every top-level command of `credproc --help` is in each script, and bash's works."""
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPLETIONS = os.path.join(REPO, "install", "completions")
SCRIPTS = {"bash": "credproc.bash", "zsh": "_credproc", "fish": "credproc.fish"}


def help_commands() -> list:
    """The COMMAND list that `credproc --help` prints (parsed from the real output)."""
    result = subprocess.run([sys.executable, "-m", "credproc", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    match = re.search(r"\{([a-z,-]+)\}", result.stdout)  # usage line lists the choices when there is no metavar
    if match:
        return match.group(1).split(",")
    section = result.stdout.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]*)\s", section, flags=re.M)


def test_help_lists_commands():
    commands = help_commands()
    assert {"process", "demo", "doctor"} <= set(commands), commands


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_script_mentions_every_top_level_command(shell):
    with open(os.path.join(COMPLETIONS, SCRIPTS[shell]), encoding="utf-8") as handle:
        text = handle.read()
    words = set(re.findall(r"[a-z][a-z-]*", text))
    missing = [c for c in help_commands() if c not in words]
    assert not missing, f"{SCRIPTS[shell]} lacks {missing}"


def bash_complete(words: list, env: dict) -> list:
    line = " ".join(words)
    script = (
        f"source {COMPLETIONS}/credproc.bash\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}\n"
        "_credproc; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=30,
                            env=dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin")))
    assert result.returncode == 0, result.stderr
    return [w for w in result.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_commands_subcommands_and_environments(isolated_env):
    env = dict(os.environ)
    assert set(help_commands()) <= set(bash_complete(["credproc", ""], env))
    assert bash_complete(["credproc", "do"], env) == ["doctor"]
    assert set(bash_complete(["credproc", "issuer", ""], env)) == {"init", "show", "trust-policy"}
    # Environment names come from the store.
    (isolated_env.env_dir / "acme" / "payments").mkdir(parents=True)
    (isolated_env.env_dir / "acme" / "dev.yaml").write_text("values: {}\n")
    (isolated_env.env_dir / "acme" / "payments" / "prod.yaml").write_text("values: {}\n")
    assert set(bash_complete(["credproc", "process", ""], env)) == {"acme/dev", "acme/payments/prod"}
    assert bash_complete(["credproc", "run", "acme/d"], env) == ["acme/dev"]
    assert set(bash_complete(["credproc", "export", "--format", ""], env)) >= {"env", "fish", "powershell", "json"}


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_parse_their_script(shell):
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    flag = ["-n"]
    result = subprocess.run([exe, *flag, os.path.join(COMPLETIONS, SCRIPTS[shell])], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_and_environments(isolated_env):
    (isolated_env.env_dir / "acme").mkdir(parents=True)
    (isolated_env.env_dir / "acme" / "dev.yaml").write_text("values: {}\n")

    def complete(line):
        script = f"source {COMPLETIONS}/credproc.fish; complete -C {line!r}"
        result = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return {row.split("\t")[0] for row in result.stdout.splitlines()}

    assert set(help_commands()) <= complete("credproc ")
    assert complete("credproc issuer ") == {"init", "show", "trust-policy"}
    assert "acme/dev" in complete("credproc process ")
