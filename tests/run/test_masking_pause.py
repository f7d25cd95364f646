"""The stream masker when the output pauses mid-secret, in-process. The masker has no clock: the
quiet timeout of childio (TAIL_RELEASE) reaches it as a release() call, so these tests drive the
pauses as events: feed(), release() (the output went quiet), finish() (the end of the stream)."""
import os
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.commands.run import masking
from credproc.commands.run.masking import SHORT_TAIL, LiveSecrets, SecretMasker

TOKEN = "ya29.standin-OLvmUcby7MmISTlc_HE6P-DMUu1mHFjz"


def play(secrets, events) -> bytes:
    """events: bytes to feed, or None for a pause (release)."""
    masker = SecretMasker(secrets)
    out = [masker.release() if event is None else masker.feed(event) for event in events]
    return b"".join(out) + masker.finish()


def test_the_rest_of_a_secret_after_a_pause_is_masked():
    # the hostile review's repro: 2 bytes, a pause, the rest
    out = play([TOKEN], [b"token: " + TOKEN[:2].encode(), None, TOKEN[2:].encode() + b"\n"])
    assert out == b"token: ya[secret]\n"


def test_a_secret_written_byte_by_byte_with_pauses_shows_at_most_its_first_bytes():
    events = []
    for byte in TOKEN.encode():
        events += [bytes([byte]), None]
    out = play([TOKEN], events + [b"\n"])
    assert out == TOKEN[:SHORT_TAIL].encode() + b"[secret]\n"
    assert SHORT_TAIL == 2


def test_a_longer_held_tail_becomes_the_mark_at_the_pause_and_the_rest_joins_it():
    masker = SecretMasker([TOKEN])
    assert masker.feed(b"x " + TOKEN[:10].encode()) == b"x "
    assert masker.release() == b"[secret]"  # 10 bytes of a possible secret: never shown in clear
    assert masker.feed(TOKEN[10:20].encode()) == b""
    assert masker.release() == b""  # the same secret goes on: one mark
    assert masker.feed(TOKEN[20:].encode() + b" y\n") == b" y\n"
    assert masker.finish() == b""


def test_a_prompt_that_might_start_a_secret_still_appears_at_the_pause():
    masker = SecretMasker(["Yes-this-is-secret"])
    assert masker.feed(b"Proceed [Y") == b"Proceed ["
    assert masker.release() == b"Y"  # 1 byte: shown as it is
    assert masker.feed(b"/n] ") == b"/n] "  # not the secret after all: nothing lost


def test_the_pause_releases_the_same_secrets_remainder_masked_after_two_pauses():
    # 1 byte, pause, 1 byte, pause: 2 bytes shown; the third is the first that would go past the bound
    out = play(["hunter2-secret"], [b"h", None, b"u", None, b"n", None, b"ter2-secret\n"])
    assert out == b"hu[secret]\n"


def test_a_harmless_text_equal_to_a_secrets_start_may_become_the_mark_never_more():
    # the accepted false positive: 3+ bytes equal to a secret's start, then a pause
    out = play([TOKEN], [b"see ya29", None, b" later\n"])
    assert out == b"see [secret] later\n"


def test_complete_secrets_inside_the_held_tail_are_masked_at_the_pause():
    out = play(["abc", "abcdef"], [b"-abc", None, b"def-\n"])
    assert out == b"-[secret]-\n"


def test_a_pause_at_the_end_of_a_line_changes_nothing():
    assert play([TOKEN], [b"plain text\n", None, b"more\n", None]) == b"plain text\nmore\n"


def test_the_masker_keeps_only_a_bounded_tail_however_long_the_drip():
    masker = SecretMasker([TOKEN])
    for _ in range(200):
        for byte in TOKEN.encode():
            masker.feed(bytes([byte]))
            masker.release()
        assert len(masker._shown) + len(masker.pending) < len(TOKEN)


ALPHABET_SECRET = "abc"
ALPHABET_OTHER = "xyz \n"


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(alphabet=ALPHABET_SECRET, min_size=3, max_size=12),
    before=st.text(alphabet=ALPHABET_OTHER, max_size=6),
    after=st.text(alphabet=ALPHABET_OTHER, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=30), max_size=8),
    pauses=st.lists(st.booleans(), min_size=9, max_size=9),
)
def test_pauses_anywhere_show_at_most_short_tail_bytes_of_the_secret(secret, before, after, cuts, pauses):
    data = (before + secret + after).encode()
    points = sorted(set(min(c, len(data)) for c in cuts))
    events = []
    for number, (a, b) in enumerate(zip([0] + points, points + [len(data)])):
        events.append(data[a:b])
        if pauses[number % len(pauses)]:
            events.append(None)
    out = play([secret], events)
    shown = re.sub(rb"\[secret\]", b"#", out)
    assert len(re.findall(rb"[abc]", shown)) <= SHORT_TAIL, (events, out)
    assert b"#" in shown
    # what is not the secret is never lost: the text around it is all there, in order
    assert shown.replace(b"a", b"").replace(b"b", b"").replace(b"c", b"").replace(b"#", b"") == \
        (before + after).encode()


# --- the feed: secrets learnt while the command runs ------------------------------------------------

def test_a_token_appended_to_a_watched_feed_is_masked_from_the_next_chunk(tmp_path):
    feed = tmp_path / "feed"
    feed.write_bytes(b"")
    secrets = LiveSecrets({"static-secret"})
    secrets.watch(str(feed))
    masker = SecretMasker(secrets)
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert masker.feed(jwt.encode() + b"\n") == jwt.encode() + b"\n"  # not told yet
    with open(feed, "ab") as handle:
        handle.write(jwt.encode() + b"\n")
    assert masker.feed(b"subject_token=" + jwt.encode() + b"&x\n") == b"subject_token=[secret]&x\n"
    import base64
    from urllib.parse import quote

    assert masker.feed(base64.b64encode(jwt.encode()) + b" " + quote(jwt + "/", safe="").encode()[:-3] + b"\n") \
        == b"[secret] [secret]\n"


FIRST_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmaXJzdCJ9.Zmlyc3Q"
SECOND_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNvbmQifQ.c2Vjb25k"


def test_a_partial_line_in_the_feed_waits_for_its_end(tmp_path):
    feed = tmp_path / "feed"
    feed.write_bytes(FIRST_JWT.encode() + b"\n" + SECOND_JWT.encode()[:30])
    secrets = LiveSecrets()
    secrets.watch(str(feed))
    secrets.poll()
    assert set(secrets) == {FIRST_JWT}
    with open(feed, "ab") as handle:
        handle.write(SECOND_JWT.encode()[30:] + b"\n")
    secrets.poll()
    assert set(secrets) == {FIRST_JWT, SECOND_JWT}


def test_only_token_shaped_lines_in_the_feed_are_learnt(tmp_path):
    # the child can append to the feed too (same uid): "a" or " " as a secret would garble its output
    feed = tmp_path / "feed"
    feed.write_bytes(b"a\n \n\nnot a token at all\nx.y.z\n" + FIRST_JWT.encode() + b"\n")
    secrets = LiveSecrets()
    secrets.watch(str(feed))
    secrets.poll()
    assert set(secrets) == {FIRST_JWT}
    assert SecretMasker(secrets).feed(b"a b c\n") == b"a b c\n"


def test_each_look_at_the_feed_reads_a_bounded_amount(tmp_path, monkeypatch):
    reads = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, offset: reads.append(n) or real_pread(fd, n, offset))
    feed = tmp_path / "feed"
    lines = [f"{FIRST_JWT}{i:08d}" for i in range(60_000)]  # 3.5 MiB
    feed.write_bytes("".join(line + "\n" for line in lines).encode())
    secrets = LiveSecrets()
    secrets.watch(str(feed))
    while len(secrets) < len(lines):
        before = len(secrets)
        secrets.poll()
        assert len(secrets) > before
    assert set(secrets) == set(lines)
    assert max(reads) <= masking.MAX_FEED_READ and len(reads) >= 4


def test_a_line_longer_than_a_read_is_skipped_once(tmp_path):
    feed = tmp_path / "feed"
    feed.write_bytes(b"x" * (masking.MAX_FEED_READ + 10) + b"\n" + FIRST_JWT.encode() + b"\n")
    secrets = LiveSecrets()
    secrets.watch(str(feed))
    for _ in range(3):
        secrets.poll()
    assert set(secrets) == {FIRST_JWT}


def test_a_fifo_or_link_in_place_of_the_feed_is_ignored_without_blocking(tmp_path):
    fifo, target, link = tmp_path / "fifo", tmp_path / "target", tmp_path / "link"
    os.mkfifo(fifo, 0o600)
    target.write_bytes(b"linked-secret\n")
    link.symlink_to(target)
    secrets = LiveSecrets()
    secrets.watch(str(fifo))
    secrets.watch(str(link))
    secrets.watch(str(tmp_path / "gone"))
    secrets.poll()
    assert set(secrets) == set()
    assert secrets.watching


def test_masking_stays_linear_in_output_size():
    """Work per byte does not grow with the output: the held state is bounded by the longest form."""
    masker = SecretMasker([TOKEN, "another-secret-value"])
    chunk = (b"ya29.standin-" + b"x" * 50 + b"\n") * 10
    for _ in range(300):
        masker.feed(chunk)
        masker.release()
    assert len(masker.pending) + len(masker._shown) <= max(len(s) for s in masker.secrets)
    assert masking.SECRET_MARK == b"[secret]"
