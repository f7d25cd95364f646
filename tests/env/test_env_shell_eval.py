"""Output made to be eval'd runs nothing and gives back exactly the values: `env open --format
shell|dotenv`, `env get --value shell|dotenv` and `credproc export --format env|env-no-export|fish|
dotenv`, through the real CLI, eval'd in real bash, sh (dash), zsh and fish, the variables read back
byte for byte with `env -0`, and a marker file that any injected command would create.

Random values (hypothesis) mix every Unicode character but NUL and surrogates with quotes, backslashes,
`$(...)`, backquotes, newlines, control characters and PowerShell's quote look-alikes.
"""
import io
import json
import os
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credproc.store.render import dotenv_problem
from shellhelpers import MARKER, SHELLS, environment_yaml, missing_shell_reason, read_back, run_credproc, yaml_string

NASTY = ["'", '"', "\\", "\\'", "'\\''", "$(touch pwned)", "`touch pwned`", "${HOME}", "$HOME", "$",
         ";touch pwned;", "&& touch pwned", "(touch pwned)", "{touch,pwned}", "\n", "\r", "\t", "\x1b[31m",
         "\x7f", "!", "!!", "%PATH%", "#", " ", "=", "\\\n", "\u2018", "\u2019", "\u201a", "\u201b",
         "\u201c", "\u201d", "\u201e", "\u00e9", "\U0001f600", "\u0085", "\u2028", "'\"'\"'"]
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
VALUE = st.lists(st.one_of(st.sampled_from(NASTY), st.text(CHARS, max_size=6)), max_size=6).map("".join)
SLOW = settings(max_examples=int(os.environ.get("CREDPROC_SHELL_EXAMPLES", "15")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def shell_or_skip(shell: str) -> None:
    reason = missing_shell_reason(shell)
    if reason:
        pytest.skip(reason)


def cli(*args, env=None):
    """Bytes in, bytes out: the tests compare values byte for byte."""
    return run_credproc(*[str(a) for a in args], env=env)


def check_round_trip(shell: str, text: bytes, expected: dict, workdir, *, fish_export: bool = False) -> None:
    found, stderr, touched = read_back(shell, text, set(expected), workdir)
    assert not touched, f"{shell} ran a command hidden in a value:\n{text!r}"
    for name, value in expected.items():
        if fish_export and "\n" in value:
            # fish's `export` is a function; versions before 3.6 split its argument with a command
            # substitution and kept a value's first line (3.6, in README, keeps every line).
            assert found.get(name) in (value.encode(), value.split("\n")[0].encode()), (shell, name, value)
            continue
        assert found.get(name) == value.encode("utf-8"), (shell, name, value, text, stderr)


# --- env open / env get: shell and dotenv --------------------------------------------------------

ENV_COMMANDS = {
    "open shell": ("env", "open", "acme/q", "--format", "shell", "--show-secrets"),
    "open dotenv": ("env", "open", "acme/q", "--format", "dotenv", "--show-secrets"),
    "get shell": ("env", "get", "acme/q", "--value", "shell", "--show-secrets"),
    "get dotenv": ("env", "get", "acme/q", "--value", "dotenv", "--show-secrets"),
}


@pytest.mark.parametrize("shell", SHELLS)
@SLOW
@given(values=st.lists(VALUE, min_size=1, max_size=5))
@example(values=["$(touch pwned)", "`touch pwned`", "it's", "a\\", "\\'", "x\ny\n", "", "\u2019'\u2018"])
def test_env_open_and_get_output_evals_to_exactly_the_values(shell, values, put, tmp_path):
    shell_or_skip(shell)
    expected = {f"CREDPROC_T{i}": value for i, value in enumerate(values)}
    put("acme/q", environment_yaml(expected))
    for label, argv in ENV_COMMANDS.items():
        if shell == "fish" and "dotenv" in label:
            continue  # NAME=value lines are not fish syntax (a .env file is for dotenv readers and sh)
        proc = cli(*argv)
        wanted = dict(expected)
        if "dotenv" in label:  # left out, with a warning each: no .env form every locale's shell reads safely
            wanted = {name: value for name, value in expected.items() if not dotenv_problem(value)}
        assert proc.returncode == 0, (label, proc.stderr)
        assert proc.stderr.count(b"left out") == len(expected) - len(wanted), (label, proc.stderr)
        check_round_trip(shell, proc.stdout, wanted, tmp_path, fish_export=shell == "fish")


@SLOW
@given(values=st.lists(VALUE, min_size=1, max_size=6))
@example(values=["it's", "a\\b", "$(x)'", "`x`\\", "${HOME}", "x\ny", "\\n", "'\n$HOME=1\nEVIL=1"])
@example(values=["x\\", "\" EVIL=1 \""])  # compose: a closing quote after a backslash ends nothing
def test_dotenv_readers_get_one_entry_per_variable(values, put):
    """python-dotenv (interpolation off: it has no escape for `${`) gets each variable at most once and no
    other, exact except that in a value holding ' or \\ it keeps the backslash written before $ and `;
    docker compose's parser gets exactly these entries or refuses the file."""
    from dotenv import dotenv_values

    expected = {f"CREDPROC_T{i}": value for i, value in enumerate(values)}
    put("acme/q", environment_yaml(expected))
    proc = cli(*ENV_COMMANDS["open dotenv"])
    got = dotenv_values(stream=io.StringIO(proc.stdout.decode("utf-8")), interpolate=False)
    # a value ending in a backslash has its backslashes after the closing quote: dropped (warning);
    # credproc leaves out values with no .env form a GBK/Big5/Shift-JIS shell reads safely (warning)
    assert set(got) == {name for name, value in expected.items()
                        if not value.endswith("\\") and not dotenv_problem(value)}, proc.stdout
    for name in got:
        value = expected[name]
        if "'" in value or "\\" in value:
            value = value.replace("$", "\\$").replace("`", "\\`")
        assert got[name] == value, (name, proc.stdout)
    assert compose_keys(proc.stdout.decode("utf-8")) in ([n for n, v in expected.items() if not dotenv_problem(v)], None)


def compose_keys(text: str) -> "list | None":
    """The keys docker compose's .env parser (compose-go dotenv/parser.go) reads, or None where it refuses
    the file. Only its statement splitting, which is what decides whether a value can smuggle in an
    entry: a quoted value ends at the first quote of its kind not right after a backslash."""
    keys = []
    while text.strip():
        text = text.lstrip()
        key, sep, rest = text.partition("=")
        if not sep or not re.fullmatch(r"[\w.]+", key):
            return None  # "unexpected character in variable name": the file is refused
        quote = rest[:1]
        if quote in ("'", '"'):
            end = next((i for i in range(1, len(rest)) if rest[i] == quote and rest[i - 1] != "\\"), None)
            if end is None:
                return None  # unterminated quoted value
            rest = rest[end + 1:]
        else:
            rest = rest.partition("\n")[2]
        keys.append(key)
        text = rest
    return keys


# Valid names that the reading shell itself needs or owns: set, but not read back.
SHELL_OWNED = {"PATH", "HOME", "IFS", "PWD", "OLDPWD", "PPID", "LINENO", "OPTIND", "OPTARG", "PS1", "PS2", "PS4",
               "ENV", "SHLVL", "LC_ALL", "CREDPROC_T_FILE", "_"}


@SLOW
# keys beginning with fn:: (in any case) are the language's reserved builtin prefix: a definition error
@given(names=st.lists(st.text(CHARS, min_size=1, max_size=12).filter(lambda n: not n.lower().startswith("fn::")),
                      min_size=1, max_size=4, unique=True))
@example(names=["X=1;touch pwned;Y", "$(touch pwned)", "A B", "1X", "OK_1", "\u00e9t\u00e9", "a\nb"])
def test_keys_that_are_not_variable_names_are_left_out_with_a_warning(names, put, tmp_path):
    import re

    valid = [n for n in names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    expected = {n: "v" for n in valid if n not in SHELL_OWNED}
    put("acme/q", environment_yaml({name: "v" for name in names}))
    for label in ("open shell", "get dotenv"):
        proc = cli(*ENV_COMMANDS[label])
        out, err = proc.stdout.decode(), proc.stderr.decode()
        assert proc.returncode == 0, err
        printed = {line.split("=", 1)[0].removeprefix("export ") for line in out.splitlines()}
        assert printed == set(valid), out
        warnings = [line for line in err.split("\n") if line.startswith("credproc: warning: ")]
        assert len(warnings) == len(names) - len(valid), err
        assert err.count("\n") == len(warnings), err  # one line each: names are Go-quoted
        found, _, touched = read_back("sh", proc.stdout, set(expected), tmp_path)
        assert not touched and all(found[n] == b"v" for n in expected), proc.stdout


def test_a_nul_in_a_value_leaves_that_variable_out_with_a_warning(put):
    put("acme/q", "values:\n  environmentVariables:\n    A: \"x\\0y\"\n    B: ok\n")
    for label in ("open shell", "open dotenv", "get shell"):
        proc = cli(*ENV_COMMANDS[label])
        assert proc.returncode == 0, proc.stderr
        assert [line.removeprefix(b"export ").split(b"=")[0] for line in proc.stdout.splitlines()] == [b"B"]
        assert proc.stderr == (b"credproc: warning: environmentVariables.A holds a NUL character, which no "
                               b"environment variable can; left out\n")


def test_a_file_path_with_quotes_and_substitutions_is_quoted(put, tmp_path):
    """`files` print the path of a file in the private runtime directory: under an XDG_RUNTIME_DIR
    whose name is shell code it must stay data."""
    tmpdir = tmp_path / "it's $(touch pwned) `touch pwned`"
    tmpdir.mkdir(mode=0o700)
    put("acme/q", "values:\n  files:\n    CONF: \"[default]\\nregion = x\\n\"\n")
    for fmt in ("shell", "dotenv"):
        proc = cli("env", "open", "acme/q", "--format", fmt, env={"XDG_RUNTIME_DIR": str(tmpdir)})
        assert proc.returncode == 0, proc.stderr
        for shell in ("bash", "sh"):
            found, _, touched = read_back(shell, proc.stdout, {"CONF"}, tmp_path)
            assert not touched
            path = found["CONF"].decode()
            assert os.path.dirname(path) == str(tmpdir / "credproc" / "files")
            with open(path, encoding="utf-8") as handle:
                assert handle.read() == "[default]\nregion = x\n"


# --- credproc export --------------------------------------------------------------------------------

EXPORT_SHELLS = {"env": SHELLS, "env-no-export": ("bash", "sh", "zsh"), "fish": ("fish",), "dotenv": ("bash", "sh", "zsh")}
def _control(ch: str) -> bool:  # what export refuses: C0, DEL and C1
    return ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0


PRINTABLE = st.characters(blacklist_categories=("Cs",), min_codepoint=0x20).filter(lambda ch: not _control(ch))
CREDENTIAL = st.lists(st.one_of(st.sampled_from([n for n in NASTY if not any(_control(c) for c in n)]),
                                st.text(PRINTABLE, max_size=6)), min_size=1, max_size=5).map("".join).filter(bool)


def static_credentials_yaml(key_id: str, secret: str, token: str) -> str:
    return ("values:\n  environmentVariables:\n"
            f"    AWS_ACCESS_KEY_ID: {yaml_string(key_id)}\n"
            f"    AWS_SECRET_ACCESS_KEY: {yaml_string(secret)}\n"
            f"    AWS_SESSION_TOKEN: {yaml_string(token)}\n")


def powershell_assignments(text: str) -> dict:
    """Reads `$Env:NAME='...'` lines as PowerShell's tokenizer does: ' and U+2018..U+201B all close a
    verbatim string, and two of them in a row stand for the second one."""
    quotes = "'\u2018\u2019\u201a\u201b"
    got, i = {}, 0
    while i < len(text):
        assert text.startswith("$Env:", i), text[i:]
        eq = text.index("=", i)
        name, i = text[i + 5:eq], eq + 1
        assert text[i] in quotes
        i, value = i + 1, []
        while not (text[i] in quotes and (i + 1 >= len(text) or text[i + 1] not in quotes)):
            if text[i] in quotes:
                i += 1
            value.append(text[i])
            i += 1
        assert text[i + 1] == "\n", text[i:]
        got[name], i = "".join(value), i + 2
    return got


def export_formats_read_by(shell: str) -> list:
    return [fmt for fmt, shells in EXPORT_SHELLS.items() if shell in shells]


@pytest.mark.parametrize("shell", SHELLS)
@SLOW
@given(key_id=CREDENTIAL, secret=CREDENTIAL, token=CREDENTIAL)
@example(key_id="AKIA'$(touch pwned)", secret="s\\'`touch pwned`\u2019\u2018'", token="t\u201c\u201b$HOME\\")
def test_export_formats_eval_to_exactly_the_credentials(shell, key_id, secret, token, put, tmp_path):
    shell_or_skip(shell)
    expected = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}
    put("acme/q", static_credentials_yaml(key_id, secret, token))
    for fmt in export_formats_read_by(shell):
        proc = cli("export", "acme/q", "--format", fmt)
        if fmt == "dotenv" and any(dotenv_problem(value) for value in expected.values()):
            assert proc.returncode == 2 and proc.stdout == b"" and proc.stderr.count(b"\n") == 1, proc.stderr
            continue
        assert proc.returncode == 0, (fmt, proc.stderr)
        check_round_trip(shell, proc.stdout, expected, tmp_path)


@SLOW
@given(key_id=CREDENTIAL, secret=CREDENTIAL, token=CREDENTIAL)
@example(key_id="AKIA'", secret="\u2018$(x)\u2019\u201a\u201b''", token="`x`\u201c\u201d\u201e")
def test_export_powershell_and_json_read_back_exactly(key_id, secret, token, put):
    """No PowerShell here: its verbatim-string rule (powershell_assignments) stands in for it."""
    expected = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}
    put("acme/q", static_credentials_yaml(key_id, secret, token))
    powershell = cli("export", "acme/q", "--format", "powershell")
    assert powershell_assignments(powershell.stdout.decode("utf-8")) == expected
    assert json.loads(cli("export", "acme/q", "--format", "json").stdout) == expected


@pytest.mark.parametrize("control", ["\x1b[2J", "\x7f", "\u0085", "\u009b2J"])  # C0, DEL, C1 (0x9b: a CSI)
def test_export_refuses_control_characters_in_one_line(put, control):
    put("acme/q", static_credentials_yaml("AKIA", f"a{control}b", "t"))
    for fmt in ("env", "powershell", "fish", "dotenv", "json"):
        proc = cli("export", "acme/q", "--format", fmt)
        assert proc.returncode != 0 and proc.stdout == b""
        assert proc.stderr.count(b"\n") == 1 and b"AWS_SECRET_ACCESS_KEY" in proc.stderr, proc.stderr
        assert control.encode() not in proc.stderr


def test_powershell_doubles_every_single_quote_look_alike():
    from credproc.creds.export import _powershell_single_quoted

    assert _powershell_single_quoted("a'b\u2018c\u2019d\u201ae\u201bf\u201cg") == \
        "'a''b\u2018\u2018c\u2019\u2019d\u201a\u201ae\u201b\u201bf\u201cg'"


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_missing_shells_are_named_in_the_skip_reason(shell, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert shell in missing_shell_reason(shell) and "dev-setup.sh" in missing_shell_reason(shell)


def test_the_marker_is_what_the_injections_would_create(tmp_path):
    """The harness can see an injection: the same payload, unquoted, does create the marker."""
    found, _, touched = read_back("sh", b"X=$(touch pwned)\n", {"X"}, tmp_path)
    assert touched and MARKER == "pwned"


def test_files_of_env_open_stay_private_and_old_ones_are_swept(put, tmp_path):
    """They outlive the command (their paths are printed to be used later), so they never go to
    /tmp: a private 0700 directory in the runtime dir, 0600 files, removed after 12 hours."""
    import stat
    import time

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    put("acme/q", "values:\n  files:\n    CONF: hello\n")
    proc = cli("env", "open", "acme/q", "--format", "dotenv", env={"XDG_RUNTIME_DIR": str(runtime)})
    assert proc.returncode == 0, proc.stderr
    files = runtime / "credproc" / "files"
    [first] = list(files.iterdir())
    assert stat.S_IMODE(files.stat().st_mode) == 0o700 and stat.S_IMODE(first.stat().st_mode) == 0o600
    long_ago = time.time() - 13 * 3600
    os.utime(first, (long_ago, long_ago))
    assert cli("env", "open", "acme/q", "--format", "dotenv", env={"XDG_RUNTIME_DIR": str(runtime)}).returncode == 0
    assert not first.exists() and len(list(files.iterdir())) == 1


# --- dotenv in a multibyte locale --------------------------------------------------------------------

GBK_VALUES = {"APP_SECRET": "\u2018$(touch pwned)'", "APP_TICK": "\u4e2d`touch pwned`\\", "APP_OK": "caf\u00e9 it's $HOME"}


def _gbk_locale(tmp_path) -> "dict | None":
    """LOCPATH/LC_ALL of a zh_CN.GBK locale built here (localedef), or None where it cannot be."""
    import shutil
    import subprocess

    if not shutil.which("localedef") or not shutil.which("bash"):
        return None
    target = tmp_path / "locales"
    target.mkdir()
    made = subprocess.run(["localedef", "-i", "zh_CN", "-f", "GBK", str(target / "zh_CN.GBK")],
                          capture_output=True, timeout=120)
    if not (target / "zh_CN.GBK").exists():
        return None
    return {"LOCPATH": str(target), "LC_ALL": "zh_CN.GBK"} if made.returncode in (0, 1) else None


def test_dotenv_leaves_out_what_a_gbk_shell_would_run(put, tmp_path):
    """In GBK (also Big5, Shift-JIS) the byte before an escaping backslash can make it the second
    byte of a two-byte character: `‘\\$(cmd)` then runs cmd. Such values are left out of dotenv with a
    warning (export --format dotenv refuses them); everything written is read back exactly, and a
    real bash in a GBK locale runs nothing."""
    import subprocess

    assert dotenv_problem(GBK_VALUES["APP_SECRET"]) and dotenv_problem(GBK_VALUES["APP_TICK"])
    assert not dotenv_problem(GBK_VALUES["APP_OK"]) and not dotenv_problem("\u2018$(x)")  # single quotes: no escapes
    put("acme/q", environment_yaml(GBK_VALUES))
    proc = cli(*ENV_COMMANDS["open dotenv"])
    assert proc.returncode == 0
    assert proc.stderr.count(b"left out") == 2 and b"APP_SECRET" in proc.stderr and b"APP_TICK" in proc.stderr
    assert b"APP_SECRET" not in proc.stdout and b"APP_OK=" in proc.stdout
    check_round_trip("bash", proc.stdout, {"APP_OK": GBK_VALUES["APP_OK"]}, tmp_path)
    put("acme/q", static_credentials_yaml("AKIA", GBK_VALUES["APP_SECRET"], "t"))
    refused = cli("export", "acme/q", "--format", "dotenv")
    assert refused.returncode == 2 and refused.stdout == b"" and refused.stderr.count(b"\n") == 1
    locale = _gbk_locale(tmp_path)
    if locale is None:
        pytest.skip("no GBK locale can be built here (localedef); the rule above is still checked")
    # The old output, as credproc wrote it before: proves this bash would have run the command.
    marker = tmp_path / "pwned"
    old = b"APP_SECRET=\"" + "\u2018".encode() + b"\\$(touch " + str(marker).encode() + b")'\"\n"
    (tmp_path / "old.env").write_bytes(old)
    subprocess.run(["bash", "-c", f"set -a; . {tmp_path / 'old.env'}"], env=dict(os.environ, **locale),
                   capture_output=True, timeout=30)
    if not marker.exists():
        pytest.skip("this bash does not read GBK that way: the check below would prove nothing here")
    marker.unlink()
    put("acme/q", environment_yaml({**GBK_VALUES, "APP_SECRET": "\u2018$(touch " + str(marker) + ")'"}))
    now = cli(*ENV_COMMANDS["open dotenv"])
    (tmp_path / "now.env").write_bytes(now.stdout)
    subprocess.run(["bash", "-c", f"set -a; . {tmp_path / 'now.env'}"], env=dict(os.environ, **locale),
                   capture_output=True, timeout=30)
    assert not marker.exists()
