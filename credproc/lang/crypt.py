"""The ciphertext envelope of static secrets (`fn::secret: {ciphertext: B64}`, docs/esc-language.md §14).

B64 is standard base64 (with padding) of ``"escx" || uint32be(1) || ciphertext || uint32be(crc32)``,
the CRC-32 (IEEE) covering every byte before it. Decoding checks, in ESC's order: base64, length
(< 16 bytes is `EOF`), magic, checksum, version. Stdlib only.
"""
import base64
import binascii
import struct
import zlib

_MAGIC = b"escx"
_VERSION = 1
_PAD = ord("=")
_NEWLINES = (ord("\n"), ord("\r"))
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class CiphertextError(ValueError):
    """``str(err)`` is the full diagnostic summary, e.g. ``invalid ciphertext: invalid checksum``;
    ``err.reason`` is the part after ``invalid ciphertext: ``."""

    def __init__(self, reason: str):
        super().__init__(f"invalid ciphertext: {reason}")
        self.reason = reason


def go_base64_error_offset(src: bytes) -> "int | None":
    """The N of Go's `illegal base64 data at input byte N` for base64.StdEncoding.DecodeString(src),
    or None when Go decodes it. Mirrors Go's decodeQuantum: CR/LF are skipped, '=' ends the data."""
    si = 0
    while si < len(src):
        j = 0
        while j < 4:
            if si == len(src):
                if j == 0:
                    return None
                return si - j  # a partial quantum (standard encoding requires padding)
            c = src[si]
            si += 1
            if c in _ALPHABET:
                j += 1
                continue
            if c in _NEWLINES:
                continue
            if c != _PAD or j < 2:
                return si - 1
            if j == 2:  # "==" expected, the first '=' already consumed
                while si < len(src) and src[si] in _NEWLINES:
                    si += 1
                if si == len(src):
                    return len(src)
                if src[si] != _PAD:
                    return si - 1
                si += 1
            while si < len(src) and src[si] in _NEWLINES:
                si += 1
            return si if si < len(src) else None  # trailing garbage after the padding
    return None


def _b64decode_like_go(text: str) -> bytes:
    src = text.encode("utf-8", "surrogateescape")
    offset = go_base64_error_offset(src)
    if offset is not None:
        raise CiphertextError(f"illegal base64 data at input byte {offset}")
    cleaned = bytes(c for c in src if c not in _NEWLINES)
    # Go ignores non-zero trailing bits (non-strict decoding); so does binascii.
    return binascii.a2b_base64(cleaned)


def decode_envelope(b64: str) -> bytes:
    """The ciphertext inside an envelope; raises CiphertextError with ESC's message."""
    data = _b64decode_like_go(b64)
    if len(data) < 16:
        raise CiphertextError("EOF")
    if data[:4] != _MAGIC:
        raise CiphertextError("invalid header")
    (checksum,) = struct.unpack(">I", data[-4:])
    if zlib.crc32(data[:-4]) != checksum:
        raise CiphertextError("invalid checksum")
    (version,) = struct.unpack(">I", data[4:8])
    if version != _VERSION:
        raise CiphertextError("unsupported version")
    return data[8:-4]


def encode_envelope(ciphertext: bytes) -> str:
    body = _MAGIC + struct.pack(">I", _VERSION) + bytes(ciphertext)
    return base64.b64encode(body + struct.pack(">I", zlib.crc32(body))).decode("ascii")


def rot128(data: bytes) -> bytes:
    """The conformance corpus's test key: each byte b -> (b + 128) mod 256 (its own inverse)."""
    return bytes((b + 128) & 0xFF for b in data)
