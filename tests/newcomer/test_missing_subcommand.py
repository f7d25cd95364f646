"""A command group without its sub-command, or an unknown command, is one `credproc:` line naming what
exists (exit 2), as every other usage error; the hidden `gcp-token` (google-auth runs it) is not offered."""
import pytest

from support.runner import run_credproc


@pytest.mark.parametrize("group, offered", [("env", "init, ls, rm, open, get, check, set, edit or rotate"),
                                            ("cache", "ls or clear"), ("issuer", "init, show or trust-policy")])
def test_a_group_without_its_sub_command_is_one_line(group, offered):
    result = run_credproc(group)
    assert result.code == 2 and result.stdout == b""
    assert result.stderr == f"credproc: {group} needs a sub-command: {offered} (hint: credproc {group} --help)\n"


def test_an_unknown_command_lists_the_commands_but_not_the_hidden_one():
    result = run_credproc("bogus")
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert "'process'" in result.stderr and "'serve'" in result.stderr and "gcp-token" not in result.stderr
