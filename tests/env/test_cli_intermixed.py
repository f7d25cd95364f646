"""Options anywhere among positional arguments, as cobra accepts in every `esc` command, and `--`
kept intact for `credproc run ORG/ENV -- CMD ...` (the child's options are never credproc's)."""
import argparse
import json

import pytest

from credproc.cli import build_parser
from credproc.commands.run import split_command


def _leaf_parsers(parser, prefix=()):
    """(argv prefix, parser) of every sub-command that has no sub-commands of its own."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_parsers(child, prefix + (name,))


def _positionals(parser):
    return [a for a in parser._get_positional_actions() if a.nargs != argparse.REMAINDER]


def _options(parser):
    return [a for a in parser._get_optional_actions()
            if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def _option_argv(action) -> "tuple[list, object]":
    """argv giving this option, and the value it must then have in the namespace."""
    flag = next(s for s in action.option_strings if s.startswith("--"))
    if action.nargs == 0:  # store_true / store_const / count
        return [flag], action.const if action.const is not None else 1
    value = list(action.choices)[-1] if action.choices else "7"
    typed = action.type(value) if callable(action.type) else value
    return [flag, value], ([typed] if isinstance(action, argparse._AppendAction) else typed)


def _required_options(parser, but):
    argv = []
    for action in _options(parser):
        if action.required and action is not but:
            argv += _option_argv(action)[0]
    return argv


def _parse(prefix, argv):
    """The namespace a command sees: `run` takes its own options out of what follows ORG/ENV
    (up to `--` or the command) when it runs, the others at parse time."""
    args = build_parser().parse_args(argv)
    if prefix == ("run",):
        split_command(args)
    return args


def _cases():
    for prefix, parser in _leaf_parsers(build_parser()):
        positionals = _positionals(parser)
        if not positionals:
            continue
        for action in _options(parser):
            yield pytest.param(prefix, parser, action, id=" ".join(prefix + (action.option_strings[-1],)))


CASES = list(_cases())
CASES_WITH_TWO_POSITIONALS = [c for c in CASES if len(_positionals(c.values[1])) >= 2
                              or _positionals(c.values[1])[0].nargs == "*"]


def test_the_walk_covers_the_commands_with_positionals_and_options():
    commands = {" ".join(p.values[0]) for p in CASES}
    for expected in ("env get", "env open", "env set", "env init", "env rm", "run", "process", "export",
                     "issuer trust-policy", "install-profile", "login"):
        assert expected in commands, commands


@pytest.mark.parametrize("prefix,parser,action", CASES)
def test_an_option_after_every_positional_is_accepted(prefix, parser, action):
    positional_values = [f"p{i}" if i else "acme/dev" for i, _ in enumerate(_positionals(parser))]
    option, expected = _option_argv(action)
    argv = list(prefix) + _required_options(parser, action) + positional_values + option
    args = _parse(prefix, argv)
    assert getattr(args, action.dest) == expected
    first = _positionals(parser)[0]
    got = getattr(args, first.dest)
    assert (got[0] if isinstance(got, list) else got) == "acme/dev"


@pytest.mark.parametrize("prefix,parser,action", CASES_WITH_TWO_POSITIONALS)
def test_an_option_between_positionals_is_accepted(prefix, parser, action):
    positionals = _positionals(parser)
    option, expected = _option_argv(action)
    argv = list(prefix) + _required_options(parser, action) + ["acme/dev"] + option + ["p1"]
    if len(positionals) > 2:
        argv += [f"p{i}" for i in range(2, len(positionals))]
    args = _parse(prefix, argv)
    assert getattr(args, action.dest) == expected
    values = [getattr(args, p.dest) for p in positionals]
    flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
    assert flat[:2] == ["acme/dev", "p1"]


# --- the real command line ---------------------------------------------------------------------

DEFINITION = "values:\n  a:\n    b: 1\n  environmentVariables:\n    GREETING: hello\n"


@pytest.mark.parametrize("argv", [
    ("env", "get", "acme/dev", "--value", "json", "a"),
    ("env", "get", "acme/dev", "a", "--value", "json"),
    ("env", "get", "--value", "json", "acme/dev", "a"),
    ("env", "open", "acme/dev", "--format", "json", "a"),
    ("env", "open", "acme/dev", "a", "--format", "json"),
    ("env", "open", "--format", "json", "acme/dev", "a"),
])
def test_issue_examples_through_the_cli(cli, put, argv):
    put("acme/dev", DEFINITION)
    got = cli(*argv)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {"b": 1}


def test_a_stray_extra_positional_is_still_refused(cli, put):
    put("acme/dev", DEFINITION)
    got = cli("env", "get", "acme/dev", "--value", "json", "a", "b")
    assert got.returncode == 2
    assert got.stderr.count("\n") == 1 and "unrecognized arguments: b" in got.stderr


def test_double_dash_makes_an_option_like_word_a_positional(cli, put, store):
    put("acme/dev", DEFINITION)
    got = cli("env", "set", "acme/dev", "a.c", "--string", "--", "--format")
    assert got.returncode == 0, got.stderr
    assert '"--format"' in (store / "acme" / "dev.yaml").read_text()


@pytest.mark.parametrize("child", [
    ["--format", "json"],
    ["--value", "yaml", "-i", "--nested", "--help"],
    ["-h"],
    ["--", "-i"],
    ["--show-secrets", "--partial", "x"],
])
def test_run_leaves_the_childs_options_alone(cli, put, child):
    put("acme/dev", DEFINITION)
    got = cli("run", "acme/dev", "--", "python3", "-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *child)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == child


def test_run_ls_format_json_runs_ls_with_its_own_options(cli, put, tmp_path):
    put("acme/dev", DEFINITION)
    (tmp_path / "marker").write_text("")
    got = cli("run", "acme/dev", "--", "ls", "--format", "single-column", str(tmp_path))
    assert got.returncode == 0, got.stderr
    assert "marker" in got.stdout.split()


def test_run_options_before_double_dash_are_credprocs(cli, put):
    put("acme/dev", DEFINITION)
    got = cli("run", "acme/dev", "--nested", "--", "python3", "-c",
              "import os, sys; print(os.environ['GREETING'], sys.argv[1:])", "--nested")
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "hello ['--nested']"


def test_run_without_double_dash_gives_the_command_its_options(cli, put):
    put("acme/dev", DEFINITION)
    got = cli("run", "acme/dev", "python3", "-c", "import sys; print(sys.argv[1:])", "--format", "json")
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "['--format', 'json']"
