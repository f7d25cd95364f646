"""The ciphertext envelope of `fn::secret: {ciphertext: ...}` and its error messages (docs/esc-language.md §14)."""
import base64
import struct
import zlib

import pytest

from credproc.lang.crypt import CiphertextError, decode_envelope, encode_envelope, go_base64_error_offset, rot128

CORPUS_HUNTER2 = "ZXNjeAAAAAHo9e705fKyKo30VQ=="


def envelope(body: bytes, *, magic=b"escx", version=1, checksum=None) -> str:
    head = magic + struct.pack(">I", version) + body
    crc = zlib.crc32(head) if checksum is None else checksum
    return base64.b64encode(head + struct.pack(">I", crc)).decode()


def reason(b64: str) -> str:
    with pytest.raises(CiphertextError) as info:
        decode_envelope(b64)
    assert str(info.value) == f"invalid ciphertext: {info.value.reason}"
    return info.value.reason


def test_corpus_example_decrypts_to_hunter2():
    assert rot128(decode_envelope(CORPUS_HUNTER2)) == b"hunter2"


def test_encode_is_the_inverse_and_matches_the_corpus():
    assert encode_envelope(rot128(b"hunter2")) == CORPUS_HUNTER2
    for body in (b"1234", b"\x00\xff" * 100, "pässwörd".encode()):
        assert decode_envelope(encode_envelope(body)) == body


def test_rot128_is_its_own_inverse():
    data = bytes(range(256))
    assert rot128(data) == bytes((b + 128) % 256 for b in data)
    assert rot128(rot128(data)) == data


def test_ciphertext_shorter_than_4_bytes_is_eof_as_in_esc():
    # ESC requires 16 bytes in all, so an envelope of less than 4 ciphertext bytes cannot be read back.
    assert reason(envelope(b"")) == "EOF"
    assert reason(envelope(b"abc")) == "EOF"
    assert decode_envelope(envelope(b"abcd")) == b"abcd"


@pytest.mark.parametrize("b64,offset", [
    ("!!!!", 0),
    ("QUJD!", 4),                 # after one good quantum
    ("QUI", 0),                   # unpadded final quantum: Go blames its first byte
    ("QUJDQQ", 4),
    ("QQ=", 3),                   # one '=' where two are needed: blamed at the end
    ("QQ=x", 2),
    ("Q===", 1),
    ("=AAA", 0),
    ("QUI=QUI=", 4),              # data after the padding
    ("QQ==  ", 4),
    ("QUJD\u00e9", 4),            # byte offsets, not characters
    ("\u00e9QUJD", 0),
    (CORPUS_HUNTER2 + "x", 28),
])
def test_go_base64_errors(b64, offset):
    assert reason(b64) == f"illegal base64 data at input byte {offset}"


def test_newlines_are_ignored_like_go():
    wrapped = CORPUS_HUNTER2[:10] + "\r\n" + CORPUS_HUNTER2[10:] + "\n"
    assert rot128(decode_envelope(wrapped)) == b"hunter2"


@pytest.mark.parametrize("b64", ["", "QUJD", base64.b64encode(b"escx\x00\x00\x00\x01abcdefg").decode()])
def test_shorter_than_16_bytes_is_eof(b64):
    assert reason(b64) == "EOF"


def test_bad_magic():
    assert reason(envelope(b"secret", magic=b"escy")) == "invalid header"


def test_bad_checksum():
    good = base64.b64decode(envelope(b"secret"))
    assert reason(base64.b64encode(good[:-1] + bytes([good[-1] ^ 1])).decode()) == "invalid checksum"


def test_bad_version():
    assert reason(envelope(b"secret", version=2)) == "unsupported version"


def test_checks_run_in_esc_order():
    # header before checksum, checksum before version, length before everything
    assert reason(envelope(b"secret", magic=b"xxxx", checksum=0)) == "invalid header"
    assert reason(envelope(b"secret", version=7, checksum=0)) == "invalid checksum"
    assert reason(base64.b64encode(b"nope" * 3).decode()) == "EOF"


def test_error_is_a_value_error():
    assert issubclass(CiphertextError, ValueError)


@pytest.mark.parametrize("text,offset", [
    (b"", None), (b"QQ==", None), (b"QUJD", None), (b"QU\r\nJD\n", None), (b"QQ==\n\n", None),
    (b"Q", 0), (b"QQ", 0), (b"QUJDQ", 4), (b"QQ=\n=", None), (b"QQ=\n", 4), (b"QQ==QQ==", 4), (b"a b", 1),
])
def test_go_base64_error_offset(text, offset):
    # Shared with fn::fromBase64 (`decoding base64 string: illegal base64 data at input byte N`).
    assert go_base64_error_offset(text) == offset
    if offset is None:
        assert base64.b64decode(text.replace(b"\r", b"").replace(b"\n", b"")) is not None
