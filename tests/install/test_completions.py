"""Shell completions: every sub-command, option and choice of credproc's parsers is offered by each script
(bash, zsh, fish: asked through the real shells), nothing the parsers reject is, and environment names come
from the store."""
import os
import re
import shutil
import subprocess
import sys

import pytest

import shellcomplete  # tests/install is on sys.path (rootdir-less test dir)

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


# --- every sub-command, option and choice of the argparse tree, in every shell ---------------------------------

def parser_tree() -> list:
    """(words, sub-commands, long options, short options, {option: choices}) for every parser of credproc,
    from credproc.cli.build_parser() itself. Hidden sub-commands (no help line, e.g. gcp-token) are left out."""
    import argparse

    from credproc.cli import build_parser

    rows = []

    def walk(parser, words):
        subs, longs, shorts, choices = {}, set(), set(), {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                listed = {choice.dest for choice in action._choices_actions}
                subs = {name: p for name, p in action.choices.items() if name in listed}
                continue
            for option in action.option_strings:
                (longs if option.startswith("--") else shorts).add(option)
            if action.option_strings and action.choices:
                choices[max(action.option_strings, key=len)] = set(action.choices)
        rows.append((words, set(subs), longs, shorts, choices))
        for name, sub in subs.items():
            walk(sub, words + [name])

    walk(build_parser(), [])
    # Values checked after parsing (argparse has no choices for them, the command refuses the rest).
    from credproc.commands.env import GET_VALUE_FORMATS

    for words, _, _, _, choices in rows:
        if words == ["env", "get"]:
            choices["--value"] = set(GET_VALUE_FORMATS)
    return rows


def ask(shell: str, lines: list, tmp_path) -> list:
    cwd = tmp_path / "cwd"  # empty: no file names among the answers
    cwd.mkdir(exist_ok=True)
    if shell == "zsh":
        return shellcomplete.zsh(lines, dict(os.environ), cwd, tmp_path)
    return getattr(shellcomplete, shell)(lines, dict(os.environ), cwd)


def test_parser_tree_is_walked():
    rows = {" ".join(words): row for words, *row in parser_tree()}
    assert {"", "env", "env open", "issuer trust-policy", "cache ls", "run"} <= set(rows)
    assert "gcp-token" not in rows and "gcp-token" not in rows[""][0]
    assert rows["env open"][3]["--format"] >= {"json", "detailed"}
    assert rows["env get"][3]["--value"] >= {"json", "string"}


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_completions_match_the_parsers(shell, tmp_path, isolated_env):
    """Each shell offers exactly the sub-commands of every parser, every long option (--help may be left
    out), no option the parser does not accept, and exactly the choices of every option that has some."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    queries = []  # (line, check)
    for words, subs, longs, shorts, choices in parser_tree():
        head = " ".join(["credproc", *words])
        if subs:
            queries.append((head + " ", ("subs", subs)))
        queries.append((head + " --", ("longs", longs)))
        queries.append((head + " -", ("options", longs | shorts)))
        for option, values in choices.items():
            queries.append((f"{head} {option} ", ("choices", values)))
    answers = ask(shell, [line for line, _ in queries], tmp_path)
    problems = []
    for (line, (kind, want)), got in zip(queries, answers):
        if kind == "subs":
            words = {w for w in got if not w.startswith("-")}
            if words != want:
                problems.append(f"{line!r}: missing {sorted(want - words)}, not accepted {sorted(words - want)}")
        elif kind == "longs":
            missing = want - got - {"--help"}
            extra = got - want
            if missing or extra:
                problems.append(f"{line!r}: missing {sorted(missing)}, not accepted {sorted(extra)}")
        elif kind == "options":
            extra = {w for w in got if w.startswith("-")} - want
            if extra:
                problems.append(f"{line!r}: not accepted {sorted(extra)}")
        elif got != want:
            problems.append(f"{line!r}: missing {sorted(want - got)}, not accepted {sorted(got - want)}")
    assert not problems, f"{SCRIPTS[shell]} drifted from the parsers:\n" + "\n".join(problems)


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_run_completes_the_command_after_the_separator(shell, tmp_path, isolated_env):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    (isolated_env.env_dir / "acme").mkdir(parents=True)
    (isolated_env.env_dir / "acme" / "dev.yaml").write_text("values: {}\n")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "plan.tf").write_text("")
    environment, command, argument = ask(shell, ["credproc run acme/d", "credproc run -i acme/dev -- ech",
                                                 "credproc run acme/dev -- cat pl"], tmp_path)
    assert environment == {"acme/dev"} and "echo" in command and "echo" not in argument, (environment, command)
    assert argument == {"plan.tf"}, argument
