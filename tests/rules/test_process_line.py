"""One home for reading a credential_process line: install-profile (which decides whether a line is
credproc's and for which environment) and doctor read it with credproc.aws.processline.parse_process_line,
and the environment it finds is the one `credproc process` itself would answer for (they once
disagreed: install-profile took `--path` for the environment of `credproc process --path a.b acme/dev`)."""
import pytest
from hypothesis import given, settings, strategies as st

from credproc.aws import processline
from credproc.commands import process
from credproc.commands.doctor import checks as doctor
from credproc.errors import UsageError

WORDS = st.sampled_from(["acme/dev", "acme/payments/prod", "--path", "--path=aws.login", "a.b",
                         "--auto-login", "--", "-", "x"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(WORDS, max_size=5))
def test_the_line_names_the_environment_process_answers_for(args):
    try:
        ref, _ = process.parse_arguments([a for a in args if a != "--auto-login"])
    except UsageError:
        return
    line = processline.join_command_line(["/opt/credproc/bin/credproc", "process", *args])
    assert processline.parse_process_line(line).ref == ref
    assert processline.credproc_ref_of(line) == ref


@pytest.mark.parametrize("line, ref", [
    ("/v/bin/credproc process --path a.b acme/dev", "acme/dev"),
    ("/v/bin/credproc process --path=a.b acme/dev", "acme/dev"),
    ("/v/bin/credproc process acme/dev --path a.b", "acme/dev"),
    ("/v/bin/python -m credproc process -- acme/dev", "acme/dev"),
    ("/usr/bin/other-helper process acme/dev", None),
])
def test_install_profile_and_doctor_read_a_line_alike(line, ref):
    assert processline.credproc_ref_of(line) == ref
    found = doctor.credproc_profiles({"p": {"credential_process": line}})
    assert (found["p"].ref if found else None) == ref
