"""credproc.commands.run.runner pieces in-process: masking, projections, the child's environment, temp files."""
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.commands.run import runner
from credproc.errors import UsageError
from credproc.lang.values import Number, Value


def mask_all(secrets, chunks):
    masker = runner.SecretMasker(secrets)
    return b"".join(masker.feed(c) for c in chunks) + masker.finish()


# --- masking ------------------------------------------------------------------------------------

def test_masks_every_occurrence_and_keeps_the_rest():
    assert mask_all(["hunter2"], [b"a hunter2 b hunter2\n"]) == b"a [secret] b [secret]\n"


def test_short_secrets_are_not_masked():
    assert mask_all(["ab", "xyz"], [b"ab xyz\n"]) == b"ab [secret]\n"


def test_final_partial_line_is_masked():
    assert mask_all(["hunter2"], [b"hunter2"]) == b"[secret]"


def test_secret_split_across_chunks():
    data = b"pre hunter2 post\n"
    for cut in range(len(data) + 1):
        assert mask_all(["hunter2"], [data[:cut], data[cut:]]) == b"pre [secret] post\n", cut


def test_secret_one_byte_at_a_time():
    data = b"xhunter2hunter2y"
    assert mask_all(["hunter2"], [data[i:i + 1] for i in range(len(data))]) == b"x[secret][secret]y"


def test_longest_match_wins():
    assert mask_all(["abc", "abcdef"], [b"abcdef abc\n"]) == b"[secret] [secret]\n"


def test_longer_secret_completed_in_a_later_chunk():
    assert mask_all(["abc", "abcdef"], [b"abcde", b"f!"]) == b"[secret]!"


def test_overlapping_secrets_leak_no_byte():
    # "abcd" and "cdef" overlap in "abcdef": neither "ab" nor "ef" may be shown.
    assert mask_all(["abcd", "cdef"], [b"abcdef\n"]) == b"[secret]\n"


def test_multiline_secret():
    key = "-----BEGIN KEY-----\nMIIB\n-----END KEY-----"
    assert mask_all([key], [b"k=" + key.encode() + b"\nok\n"]) == b"k=[secret]\nok\n"


def test_output_that_cannot_start_a_secret_is_released_at_once():
    masker = runner.SecretMasker(["hunter2"])
    assert masker.feed(b"Password: ") == b"Password: "
    assert masker.feed(b"hun") == b""  # could be the start of the secret: held back
    assert masker.feed(b"gry\n") == b"hungry\n"


def test_variants_of_a_multiline_secret_are_masked():
    secret = "line-one\nline-two\n"
    # printed without its final newline, re-indented, with CRLF line ends
    assert mask_all([secret], [b"a line-one\nline-two b"]) == b"a [secret] b"
    assert mask_all([secret], [b"  line-one\r\n  line-two\r\n"]) == b"  [secret]\r\n  [secret]\r\n"
    variants = runner.mask_variants("ab\nlong-line\n")
    assert {"ab\nlong-line\n", "ab\nlong-line", "long-line", "ab\r\nlong-line\r\n"} <= variants
    assert "ab" not in variants  # a line shorter than MIN_SECRET_LENGTH is not masked on its own
    assert {" pad ", "pad"} <= runner.mask_variants(" pad ")


def test_unicode_secret():
    assert mask_all(["pässwörd"], ["x pässwörd y".encode()]) == b"x [secret] y"


@settings(max_examples=200, deadline=None)
@given(
    secrets=st.lists(st.text(alphabet="ab\n", min_size=3, max_size=6), min_size=1, max_size=3),
    text=st.text(alphabet="ab\nc", max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=4),
)
def test_chunking_never_changes_the_result(secrets, text, cuts):
    data = text.encode()
    whole = mask_all(secrets, [data])
    points = sorted(set(min(c, len(data)) for c in cuts))
    chunks = [data[a:b] for a, b in zip([0] + points, points + [len(data)])]
    assert mask_all(secrets, chunks) == whole
    for secret in secrets:
        assert secret.encode() not in whole.replace(b"[secret]", b"\0")


# --- projections --------------------------------------------------------------------------------

def obj(**members):
    return Value(members)


def test_projection_string_forms_and_skips():
    value = obj(
        environmentVariables=obj(
            PLAIN=Value("text"), NUM=Value(Number("3.14")), FLAG=Value(True), NOTHING=Value(None),
            LIST=Value([Value("a")]), OBJECT=obj(a=Value("b")), SECRET=Value("hunter2", secret=True),
        ),
        files=obj(CERT=Value("pem-body", secret=True), LIST=Value([])),
    )
    projection = runner.project(value)
    assert projection.variables == {"PLAIN": "text", "NUM": "3.14", "FLAG": "true", "NOTHING": "",
                                     "SECRET": "hunter2"}
    assert projection.files == {"CERT": "pem-body"}
    assert projection.secrets == {"hunter2", "pem-body"}


def test_projection_of_an_environment_without_them():
    assert runner.project(obj(other=Value("x"))) == runner.Projection()
    assert runner.project(None) == runner.Projection()


def test_lookup_paths():
    value = obj(a=obj(b=Value([Value("x"), Value("y")])), k=Value("v"))
    assert runner.lookup(value, ["a", "b", 1]).value == "y"
    assert runner.lookup(value, ["a", "b", 5]) is None
    assert runner.lookup(value, ["a", "b", -1]) is None
    assert runner.lookup(value, ["k", "x"]) is None
    assert runner.lookup(value, ["missing"]) is None


def test_secret_strings_of_an_object_include_secret_members():
    value = obj(user=Value("bob"), password=Value("hunter2", secret=True))
    assert runner.secret_strings(value) == {"hunter2"}


# --- the child's environment --------------------------------------------------------------------

AWS_STALE = {name: "stale" for name in runner.CONFLICTING_AWS_VARIABLES}


def test_conflicting_aws_variables_cleared_when_the_environment_has_keys():
    projection = runner.Projection(variables={"AWS_ACCESS_KEY_ID": "AKIANEW", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
                                              "AWS_REGION": "eu-west-1"})
    env = runner.child_environment(dict(AWS_STALE, HOME="/h"), projection, {}, "acme/dev")
    assert env["AWS_ACCESS_KEY_ID"] == "AKIANEW"
    assert env["AWS_SECRET_ACCESS_KEY"] == "s3cr3t"
    for name in set(runner.CONFLICTING_AWS_VARIABLES) - {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}:
        assert name not in env, name
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["HOME"] == "/h"
    assert env["CREDPROC_RUN"] == "acme/dev"


def test_aws_variables_kept_when_the_environment_has_no_keys():
    projection = runner.Projection(variables={"GREETING": "hi"})
    env = runner.child_environment(dict(AWS_STALE), projection, {"CERT": "/tmp/x"}, "acme/dev")
    for name in runner.CONFLICTING_AWS_VARIABLES:
        assert env[name] == "stale"
    assert env["GREETING"] == "hi" and env["CERT"] == "/tmp/x"


def test_expiration_and_region_from_the_aws_login_records():
    from credproc import cache

    key = cache.make_key({"test": "run"})
    records = [
        {"access_key_id": "ASIAOTHER", "expiration": "2030-01-01T00:00:00Z", "cache_key": None, "region": "x"},
        {"access_key_id": "ASIAMINE", "expiration": "2031-02-03T04:05:06Z", "cache_key": key, "region": "ap-south-1"},
    ]
    projection = runner.Projection(variables={"AWS_ACCESS_KEY_ID": "ASIAMINE", "AWS_SECRET_ACCESS_KEY": "x"})
    env = runner.child_environment({"AWS_REGION": "us-west-2"}, projection, {}, "acme/dev", records)
    assert env["AWS_CREDENTIAL_EXPIRATION"] == "2031-02-03T04:05:06Z"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "ap-south-1"


def test_a_region_sts_only_defaulted_to_is_not_given_to_the_command():
    """The record's region is the one the definition gave (None here); the cache entry's STS region
    (the us-east-1 fallback) must not become the command's AWS_REGION."""
    from credproc import cache

    key = cache.make_key({"test": "run-default-region"})
    cache.write_entry("creds", key, {"expiration": "2031-02-03T04:05:06Z",
                                     "material": {"sts": {"region": "us-east-1", "endpoint": None}}})
    records = [{"access_key_id": "ASIAMINE", "expiration": "2031-02-03T04:05:06Z", "cache_key": key, "region": None}]
    projection = runner.Projection(variables={"AWS_ACCESS_KEY_ID": "ASIAMINE", "AWS_SECRET_ACCESS_KEY": "x"})
    env = runner.child_environment({}, projection, {}, "acme/dev", records)
    assert "AWS_REGION" not in env and "AWS_DEFAULT_REGION" not in env


def test_region_the_environment_sets_wins():
    projection = runner.Projection(variables={"AWS_ACCESS_KEY_ID": "ASIAMINE", "AWS_SECRET_ACCESS_KEY": "x",
                                              "AWS_REGION": "eu-north-1"})
    records = [{"access_key_id": "ASIAMINE", "expiration": "2031-02-03T04:05:06Z", "region": "ap-south-1"}]
    env = runner.child_environment({}, projection, {}, "acme/dev", records)
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-north-1"


@pytest.mark.parametrize("name,value", [("A=B", "x"), ("", "x"), ("OK", "nul\0inside")])
def test_variables_exec_cannot_pass_are_refused(name, value):
    from credproc.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        runner.child_environment({}, runner.Projection(variables={name: value}), {}, "acme/dev")
    assert "nul\0inside" not in caught.value.message


def test_nesting_refused_unless_asked():
    with pytest.raises(UsageError, match="already inside") as caught:
        runner.refuse_nesting({"CREDPROC_RUN": "acme/prod"}, "acme/dev", nested=False)
    assert "--nested" in caught.value.hint
    runner.refuse_nesting({"CREDPROC_RUN": "acme/prod"}, "acme/dev", nested=True)
    runner.refuse_nesting({}, "acme/dev", nested=False)


def test_exit_status_of_signalled_child():
    assert runner.exit_status(0) == 0
    assert runner.exit_status(42) == 42
    assert runner.exit_status(-15) == 143


# --- files --------------------------------------------------------------------------------------

def test_temp_files_are_private_and_removed():
    with runner.TempFiles() as files:
        paths = files.write_all({"A": "alpha", "B": "béta\n"})
        directory = files.directory
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        for name, content in (("A", "alpha"), ("B", "béta\n")):
            assert stat.S_IMODE(os.stat(paths[name]).st_mode) == 0o600
            with open(paths[name], encoding="utf-8") as fh:
                assert fh.read() == content
    assert not os.path.exists(directory)


def test_temp_files_removed_on_error():
    with pytest.raises(RuntimeError):
        with runner.TempFiles() as files:
            files.write("A", "x")
            directory = files.directory
            raise RuntimeError("boom")
    assert not os.path.exists(directory)


# --- signals ------------------------------------------------------------------------------------

class FakeChild:
    returncode = None

    def __init__(self):
        self.signals = []

    def send_signal(self, signum):
        self.signals.append(signum)


@pytest.fixture
def default_signals():
    """Default dispositions for the test, as for a credproc started from a shell, even when pytest
    runs under nohup (SIGHUP ignored) or in a background job (SIGINT ignored)."""
    import signal

    previous = {signum: signal.signal(signum, signal.SIG_DFL) for signum in runner.FORWARDED_SIGNALS}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_signal_before_the_child_starts_is_remembered_then_forwarded(default_signals):
    import signal

    forwarder = runner.SignalForwarder().install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread: credproc is not killed
        assert forwarder.pending == [signal.SIGTERM]
        child = FakeChild()
        forwarder.attach(child)
        assert child.signals == [signal.SIGTERM]
        os.kill(os.getpid(), signal.SIGHUP)
        assert child.signals == [signal.SIGTERM, signal.SIGHUP]
    finally:
        forwarder.restore()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_run_does_not_start_the_command_after_a_signal(tmp_path, monkeypatch, default_signals):
    import signal

    marker = tmp_path / "ran"
    real_write_all = runner.TempFiles.write_all

    def write_all_then_signal(self, files):
        paths = real_write_all(self, files)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the files are being written
        return paths

    monkeypatch.setattr(runner.TempFiles, "write_all", write_all_then_signal)
    value = obj(files=obj(F=Value("content")))
    status = runner.run("acme/dev", value, ["touch", str(marker)], inherited={"PATH": os.defpath})
    assert status == 128 + signal.SIGTERM
    assert not marker.exists()
