"""Every sub-command's --help ends with examples that parse, `issuer init/show/trust-policy` say what
they do, and `credproc --help` says how to enable the shell completions (issue 11 §3)."""
import os
import re
import shlex

import pytest

from support.runner import run_credproc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def help_text(*command) -> str:
    result = run_credproc(*command, "--help", COLUMNS=100)
    assert result.code == 0, result
    return result.stdout.decode()


def listed_subcommands(text: str) -> list:
    """The sub-commands a --help lists under "positional arguments:" (4-space indented names)."""
    if "positional arguments:" not in text:
        return []
    section = text.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]*)(?:\s|$)", section, flags=re.M)


def every_command() -> list:
    commands = []
    for top in listed_subcommands(help_text()):
        commands.append((top,))
        commands += [(top, sub) for sub in listed_subcommands(help_text(top))]
    return commands


COMMANDS = every_command()


def test_the_command_list_is_found():
    assert ("env", "init") in COMMANDS and ("issuer", "trust-policy") in COMMANDS and ("export",) in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_sub_command_help_has_examples_that_parse(command):
    text = help_text(*command)
    assert "\nExamples:\n" in text, text
    examples = [line.strip() for line in text.split("\nExamples:\n", 1)[1].splitlines() if line.strip()]
    runnable = [line for line in examples if line.startswith("credproc ") or line.startswith('eval "$(credproc ')]
    assert runnable, examples
    assert any(" ".join(command) in line for line in runnable), examples  # shows this very command
    from credproc.cli import build_parser

    for line in runnable:
        line = re.sub(r'^eval "\$\((.*)\)"', r"\1", line.split("  #")[0]).split(" | ")[0].split(" > ")[0]
        argv = shlex.split(line)[1:]
        args = build_parser().parse_args(argv)  # raises (UsageError) when an example does not parse
        assert getattr(args, "func", None) is not None or argv[0] == "process", line


@pytest.mark.parametrize("sub", ["init", "show", "trust-policy"])
def test_issuer_sub_commands_say_what_they_do(sub):
    text = help_text("issuer", sub)
    description = text.split("\n\n", 2)[1]
    assert not description.startswith(("positional arguments:", "options:")) and len(description) > 60, text


def test_root_help_says_how_to_enable_completions():
    text = help_text()
    assert "shell completions:" in text and "no `credproc completion` command" in text
    for script in ("credproc.bash", "_credproc", "credproc.fish"):
        assert script in text and os.path.isfile(os.path.join(REPO, "install", "completions", script))
