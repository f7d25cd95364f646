"""The in-process runner (tests/support/inprocess.py) is the command line minus the process: the same
function, parser, error boundary and exit codes. Spec rows rely on it."""
import os
import subprocess
import sys

import pytest

from credproc import cli
from support.inprocess import console_script_function, run_in_process

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")


def test_the_runner_calls_the_function_behind_the_console_script():
    assert console_script_function() is cli.main


def _outcome(p):
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("args", [
    ["--version"],
    [],                                   # no command: help on stderr, usage exit code
    ["--no-such-option"],                 # argparse through the one-line error parser
    ["env", "open", "acme/missing"],      # a CredprocError through the error boundary
    ["env", "open", "not a name"],
    ["process"],                          # the hand-parsed hot path
    ["process", "--no-such-option", "acme/dev"],
    ["env", "ls"],
])
def test_in_process_and_command_line_agree(args):
    real = subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert _outcome(run_in_process(args)) == _outcome(real)


def test_the_environment_is_restored_after_a_run():
    before = dict(os.environ)
    run_in_process(["env", "ls"], {"CREDPROC_CONFORMANCE": "1"})
    assert dict(os.environ) == before
