"""Terminal escape sequences in a definition (a key, a value that ends up in an error, an environment
name) never reach the terminal raw through an error line or a diagnostic: ESC[2J (clear screen),
OSC 52 (set the clipboard), a C1 CSI and a bidi override print as visible \\x1b / \\u202e escapes.

Runs the real `credproc` entry point and checks every byte of stderr."""
import json

import pytest

import support  # noqa: F401
from credtest import jwt_token, write_environment, write_token_file
from support.runner import assert_clean_failure, run_credproc
from support.stsproxy import AWRWI, StsProxy, sts_error_xml

from credproc.errors import ExitCode, printable

# clear screen, set the clipboard (OSC 52 ... BEL), a one-byte C1 CSI, a right-to-left override
HOSTILE = "\x1b[2J" + "\x1b]52;c;aGk=\x07" + "\x9b31m" + "\u202e"
VISIBLE = "\\x1b[2J\\x1b]52;c;aGk=\\x07\\x9b31m\\u202e"
REF = "acme/dev"
ROLE = "arn:aws:iam::123456789012:role/esc-dev"


def q(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON strings are YAML)."""
    return json.dumps(text)


def unsafe_characters(text: str) -> "list[str]":
    return [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0
                                              or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069)]


def login_definition(token_file, *, oidc_extra: str = "", role: str = ROLE) -> str:
    return ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
            f"          roleArn: {q(role)}\n          sessionName: credproc-test\n"
            f"          token: {{file: {q(str(token_file))}}}\n{oidc_extra}"
            "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
            "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n"
            "    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n")


def assert_escaped(result, *, code=None, visible=True) -> None:
    assert unsafe_characters(result.stderr) == [], result
    if visible:  # the text is still there, shown, not acted on
        assert VISIBLE in result.stderr, result
    if code is not None:
        assert_clean_failure(result, code)


@pytest.fixture
def token_file(tmp_path):
    return write_token_file(tmp_path, jwt_token())


def test_printable_escapes_exactly_the_unsafe_characters():
    unsafe = [*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
              # invisible format characters: zero-width spaces and joiners, bidi marks, soft hyphen,
              # line/paragraph separators, word joiners, BOM, interlinear annotations
              0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), 0x2028, 0x2029, *range(0x2060, 0x2065), 0xFEFF,
              *range(0xFFF9, 0xFFFC)]
    for code in [*range(0x2100), *range(0xFEF0, 0x10000)]:
        shown = printable(chr(code))
        if code in unsafe:
            assert shown == (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            assert shown == chr(code)
    assert printable(printable(HOSTILE)) == printable(HOSTILE) == VISIBLE


@pytest.mark.parametrize("argv, code", [
    (["env", "open", REF], ExitCode.USAGE),
    (["process", REF], ExitCode.USAGE),
    (["run", REF, "--", "true"], ExitCode.USAGE),
])
def test_a_hostile_key_in_an_error_diagnostic(isolated_env, token_file, argv, code):
    """aws-login's unknown-key error (found when the environment is evaluated) quotes the key."""
    hostile_key = f"          {q('x' + HOSTILE)}: 1\n"
    write_environment(isolated_env.env_dir, REF, login_definition(token_file, oidc_extra=hostile_key))
    assert_escaped(run_credproc(*argv), code=code)


def test_a_hostile_top_level_key_in_a_warning(isolated_env):
    write_environment(isolated_env.env_dir, REF, f"values:\n  a: 1\n{q('x' + HOSTILE)}: 1\n")
    result = run_credproc("env", "check", REF)
    assert "warning" in result.stderr
    assert_escaped(result)


def test_a_hostile_value_quoted_in_an_error(isolated_env, tmp_path):
    missing = tmp_path / f"token{HOSTILE}"  # the token file path, quoted by "does not exist"
    write_environment(isolated_env.env_dir, REF, login_definition(missing))
    assert_escaped(run_credproc("process", REF), code=ExitCode.TOKEN)


@pytest.mark.parametrize("argv", [["env", "check", REF], ["install-profile", REF]])
def test_a_hostile_import_name(isolated_env, argv):
    write_environment(isolated_env.env_dir, REF, f"imports: [{q('other' + HOSTILE)}]\nvalues:\n  a: 1\n")
    assert_escaped(run_credproc(*argv), code=ExitCode.USAGE)


def test_a_hostile_value_set_by_env_set(isolated_env):
    write_environment(isolated_env.env_dir, REF, "values:\n  a: 1\n")
    result = run_credproc("env", "set", REF, "values.b", "${nope" + HOSTILE + "}")
    assert_escaped(result, code=ExitCode.USAGE, visible=False)


@pytest.mark.parametrize("argv", [["env", "open"], ["env", "check"], ["process"], ["install-profile"], ["run"]])
def test_a_hostile_environment_name(argv):
    extra = ["--", "true"] if argv == ["run"] else []
    assert_escaped(run_credproc(*argv, "acme/dev" + HOSTILE, *extra), code=ExitCode.USAGE)


def test_a_hostile_role_arn_in_an_sts_refusal(isolated_env, token_file, moto_server, monkeypatch):
    write_environment(isolated_env.env_dir, REF, login_definition(token_file, role=ROLE + HOSTILE))
    with StsProxy(moto_server) as proxy:
        proxy.fail_always(AWRWI, ("status", 403, sts_error_xml("AccessDenied", "Not authorized")))
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        result = run_credproc("process", REF)
    assert proxy.count(AWRWI) >= 1  # STS was asked, and refused: the message names the role
    assert_escaped(result, code=ExitCode.STS_REFUSED)
