"""What `credproc run` masks in its child's output, and the stream masker that does it.

    secret_leaves(value)   -> every secret leaf of an opened environment (plus what a secret JSON
                              or base64 string carries inside it)
    mask_variants(secret)  -> the byte strings masked for one secret: itself, its lines, and the
                              forms a program or ESC's own builtins print it in
    SecretMasker           -> replaces them by [secret] in a byte stream, chunk by chunk

The minimum length is counted in characters (Unicode code points) of the secret's text, never in
bytes, everywhere: "é1" (2 characters, 3 UTF-8 bytes) is not masked, "pwé" is. A derived form is
masked when the text it derives from is long enough.

Covered: the secret itself; without surrounding whitespace; each line of a multi-line secret; the
whole with CRLF line ends (a terminal's output); JSON string escapes (Go's, as fn::toJSON writes,
Python's ASCII-only form, and `/` escaped as `\\/`); percent-encoding (as in a URL: every byte, or `/`
kept, upper- or lowercase hex); base64 (standard and URL-safe, with and without padding, of the
secret and of the secret plus a newline as `echo "$S" | base64` does, and each line of it wrapped at
76 or 64 columns as `base64` and `openssl base64` print it). Every literal `fn::secret` of the
definitions is masked too, wherever it was interpolated (definition_secrets).
Not covered: a secret cut into pieces, re-encoded inside a larger encoding (base64 of "user:pw",
a JSON escape of a document that holds it), hex, compression, encryption, or any transformation
the program invents; secrets shorter than MIN_SECRET_LENGTH characters; when the output pauses in
the middle of a secret, its first SHORT_TAIL bytes (SecretMasker.release).
"""
import base64
import binascii
import json
import re
from urllib.parse import quote, quote_plus

MIN_SECRET_LENGTH = 3  # characters: shorter secrets would mask too much ordinary output (as esc)
SECRET_MARK = b"[secret]"

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")


def long_enough(text: str) -> bool:
    """The one length rule of every masker: characters, not bytes."""
    return len(text) >= MIN_SECRET_LENGTH


def as_bytes(text: str) -> bytes:
    # surrogateescape: fn::fromBase64 of non-UTF-8 bytes yields such strings, printed as those bytes
    return text.encode("utf-8", "surrogateescape")


# --- which strings are secret --------------------------------------------------------------------

def secret_leaves(value) -> set:
    """The string form of every scalar under a secret node of ``value`` (a secret flag covers the
    whole subtree), plus the strings a secret JSON document or base64 text holds inside it, so a
    program that decodes one and prints a member or the decoded text is masked too."""
    secret, plain = set(), set()
    _walk(value, False, secret, plain)
    for text in list(secret):
        secret |= _embedded_strings(text) - plain
    return {s for s in secret if long_enough(s)}


def _walk(value, inherited: bool, secret: set, plain: set) -> None:
    if value is None or value.unknown:
        return
    is_secret = inherited or value.secret
    inner = value.value
    if isinstance(inner, dict):
        children = inner.values()
    elif isinstance(inner, list):
        children = inner
    else:
        (secret if is_secret else plain).add(_scalar_text(inner))
        return
    for child in children:
        _walk(child, is_secret, secret, plain)


def _scalar_text(inner) -> str:
    from credproc.lang.values import scalar_string

    return scalar_string(inner)


def _embedded_strings(text: str) -> set:
    """Strings inside a secret that is a JSON document (fn::toJSON of an object with an inline
    secret) or base64 text (fn::toBase64 of one). The evaluated value no longer says which member
    was secret, so every string member is masked, except those the environment has as plain values
    elsewhere (a `user: ${user}` member stays visible)."""
    found = set(_json_strings(text))
    decoded = _base64_text(text)
    if decoded is not None:
        found.add(decoded)
        found.update(_json_strings(decoded))
    return found


def _json_strings(text: str) -> list:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return []
    try:
        document = json.loads(stripped)
    except ValueError:
        return []
    return list(_strings_in(document))


def _strings_in(document):
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for member in document.values():
            yield from _strings_in(member)
    elif isinstance(document, list):
        for member in document:
            yield from _strings_in(member)


def _base64_text(text: str) -> "str | None":
    """The UTF-8 text ``text`` is the base64 of, or None (not base64, or binary)."""
    if len(text) < 4 or not _BASE64.fullmatch(text):
        return None
    try:
        data = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                validate=True)
        decoded = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None


# --- the forms each secret is masked in ----------------------------------------------------------

def mask_variants(secret: str) -> set:
    """The strings masked for one secret (see the module docstring), each long enough."""
    if not long_enough(secret):
        return set()
    cores = _core_forms(secret)
    variants = set(cores)
    for core in cores:
        variants |= _escaped_forms(core)
    for whole in {secret, secret.strip()}:
        if long_enough(whole):
            variants |= _base64_forms(whole) | _base64_forms(whole + "\n")
    return {v for v in variants if long_enough(v)}


def _core_forms(secret: str) -> set:
    """A program rarely prints a multi-line value byte for byte: `$(cat f)` drops the final newline,
    tools re-indent, a terminal turns \\n into \\r\\n. So: the secret, stripped, with CRLF, and
    each of its lines stripped."""
    cores = {secret, secret.strip()}
    if "\n" in secret or "\r" in secret:
        cores.add(secret.replace("\r\n", "\n").replace("\n", "\r\n"))
        cores.add(secret.strip().replace("\r\n", "\n").replace("\n", "\r\n"))
        cores.update(line.strip() for line in secret.splitlines())
    return {c for c in cores if long_enough(c)}


def _escaped_forms(text: str) -> set:
    from credproc.lang.values import go_json_string

    data = as_bytes(text)
    forms = {go_json_string(text)[1:-1], json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    forms |= {f.replace("/", "\\/") for f in forms}  # PHP's (and others') JSON escapes `/` as `\/`
    # percent-encoding: every byte, or `/` kept (Python's quote default), `+` for spaces; and the
    # lowercase hex some encoders write
    encoded = {quote(data, safe=""), quote(data), quote_plus(data, safe=""), quote_plus(data)}
    encoded |= {_PERCENT.sub(lambda m: m.group(0).lower(), e) for e in encoded}
    return forms | encoded


_PERCENT = re.compile(r"%[0-9A-F]{2}")
#: Line lengths of wrapped base64: GNU `base64` (76) and `openssl base64` (64). A long secret's
#: base64 arrives in lines: each full line is masked on its own.
BASE64_WRAP_COLUMNS = (76, 64)
_MIN_BASE64_LINE = 8  # a shorter last line is left: a few characters of base64 reveal next to nothing


def _base64_forms(text: str) -> set:
    data = as_bytes(text)
    forms = set()
    for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
        forms.add(encoded.decode("ascii"))
        forms.add(encoded.rstrip(b"=").decode("ascii"))
    for encoded in (base64.b64encode(data).decode("ascii"),):
        for width in BASE64_WRAP_COLUMNS:
            if len(encoded) > width:
                lines = [encoded[i:i + width] for i in range(0, len(encoded), width)]
                forms.update(line for line in lines if len(line) >= _MIN_BASE64_LINE)
    return forms


def definition_secrets(paths) -> set:
    """The plaintext of every literal `fn::secret` in these definition files: a secret written inline
    inside fn::join, fn::toString or a nested fn::toJSON survives in the evaluated value only as part
    of a larger string, so it is taken from where it was written."""
    found = set()
    for path in paths:
        found |= _literal_secrets(path)
    return {s for s in found if long_enough(s)}


def _literal_secrets(path: str) -> set:
    try:
        import yaml

        with open(path, "rb") as handle:
            data = handle.read(1024 * 1024 + 1)
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader) if len(data) <= 1024 * 1024 else None
    except Exception:  # unreadable or not YAML: the evaluation reported it; nothing to add here
        return set()
    found, seen, stack = set(), set(), [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "fn::secret" and isinstance(value, yaml.ScalarNode):
                    found.add(value.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return found


# --- the stream masker ---------------------------------------------------------------------------

class LiveSecrets(set):
    """A set of secrets that may grow while the command runs (files `run` keeps fresh bring new
    tokens, `credproc gcp-token` appends the tokens it mints to a feed file): every SecretMasker
    built from it picks up what was added before its next read."""

    def __init__(self, secrets=()):
        import threading

        super().__init__(secrets)
        self.version = 0
        self._lock = threading.Lock()
        self._feeds = {}  # path -> bytes of it consumed (whole lines)

    def grow(self, more) -> None:
        with self._lock:
            new = {s for s in more if isinstance(s, str)} - set(self)
            if new:
                self.update(new)
                self.version += 1

    def snapshot(self) -> "tuple[set, int]":
        with self._lock:
            return set(self), self.version

    def watch(self, path: str) -> None:
        """Learn each line appended to the file at ``path`` (a feed) from now on: poll() reads it."""
        with self._lock:
            self._feeds.setdefault(path, 0)

    @property
    def watching(self) -> bool:
        return bool(self._feeds)

    def poll(self) -> None:
        """Learn the lines appended to the feeds since the last look. The masker calls it before
        each chunk of output: one lstat(2) per feed when nothing was added. A writer appends a whole
        line before it hands the token on, so the line is there before any output that holds it."""
        for path, offset in list(self._feeds.items()):
            lines, consumed = _read_feed(path, offset)
            if consumed:
                with self._lock:
                    self._feeds[path] = offset + consumed
                self.grow(lines)


MAX_FEED_LINE = 64 * 1024  # a longer line in a feed is skipped (no token is that long)
MAX_FEED_READ = 1024 * 1024  # read per look: the child can write to the feed too (same uid)
#: What gcp-token appends: a JWT (three base64url parts). Anything else in the feed came from
#: elsewhere (the child can write it): masking "a" would garble every line of output.
_JWT_LINE = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def _read_feed(path: str, offset: int) -> "tuple[list, int]":
    """(complete lines after ``offset``, bytes they take); nothing when the feed is unchanged or not
    a regular file (O_NONBLOCK, O_NOFOLLOW: a FIFO or link put in its place never blocks us)."""
    import os
    import stat

    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size <= offset:
            return [], 0
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return [], 0
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return [], 0
        data = os.pread(fd, min(info.st_size - offset, MAX_FEED_READ), offset)
    except OSError:
        return [], 0
    finally:
        os.close(fd)
    whole = data[:data.rfind(b"\n") + 1]
    if not whole and len(data) == MAX_FEED_READ:
        return [], len(data)  # a line longer than any read: skipped, not read again and again
    lines = [line.decode("ascii", "replace") for line in whole.split(b"\n")[:-1]]
    return [line for line in lines if len(line) <= MAX_FEED_LINE and _JWT_LINE.fullmatch(line)], len(whole)


#: Of a secret the output pauses in (TAIL_RELEASE of quiet in childio), at most this many leading
#: bytes are ever shown in clear: a held tail that is no longer than this (counting what of the same
#: possible secret was shown before) is released as it is, so a prompt such as "Proceed [Y" still
#: appears; a longer one is replaced by SECRET_MARK.
SHORT_TAIL = 2


class SecretMasker:
    """Replaces every occurrence of any masked form of any secret with [secret] in a byte stream.

    Occurrences are found for every form, overlapping ones included, and overlapping spans are
    merged, so no byte of any secret leaks even when two secrets overlap (the longest match at a
    position always wins). Output is released as soon as it cannot be the start of a secret: a
    tail that is a proper prefix of some form is held back (``pending``) until more data (or the
    end) decides, so a secret split across reads is still masked, yet prompts without a newline
    still appear.

    The caller may also release what is held when the output goes quiet (release()): then at most
    SHORT_TAIL bytes of the possible secret are shown in clear and the rest is replaced by
    SECRET_MARK. Either way the masker keeps what it released (``_shown``, as long as it may still
    be the start of a secret) and goes on matching from there, so the remainder of a secret that
    arrives after a pause, or byte by byte, is masked: of a secret printed whole, pauses or not,
    at most its first SHORT_TAIL bytes ever show.

    The masker has no clock: feed(), release() and finish() are the events. Each call costs time
    linear in its data plus what is held (both bounded by the longest form).
    """

    def __init__(self, secrets):
        self._live = secrets if isinstance(secrets, LiveSecrets) else None
        self._version = None
        if self._live is not None:
            secrets, self._version = self._live.snapshot()
        self._learn(secrets)
        self.pending = b""          # held back: not written yet
        self._shown = b""           # written just before ``pending``, still possibly a secret's start
        self._shown_clear = b""     # per byte of _shown: b"\1" written in clear, b"\0" as SECRET_MARK
        self._mark_last = False     # what was written last ends with SECRET_MARK

    def _learn(self, secrets) -> None:
        variants = {v for s in secrets if isinstance(s, str) for v in mask_variants(s)}
        self.secrets = sorted({as_bytes(v) for v in variants}, key=len, reverse=True)

    def _catch_up(self) -> None:
        if self._live is not None:
            self._live.poll()
            if self._live.version != self._version:
                secrets, self._version = self._live.snapshot()
                self._learn(secrets)

    def feed(self, data: bytes) -> bytes:
        self._catch_up()
        base = len(self._shown)
        buffer = self._shown + self.pending + data
        spans = self._spans(buffer)
        cut = self._safe_cut(len(buffer) - self._longest_open_prefix(buffer), spans)
        end = max(cut, base)  # what was written stays written
        out = self._write(buffer, spans, base, end)
        if cut < base:  # a possible secret begins in what was written: keep that part of it
            self._shown, self._shown_clear = self._shown[cut:], self._shown_clear[cut:]
        else:
            self._shown, self._shown_clear = b"", b""
        self.pending = buffer[end:]
        return out

    def release(self) -> bytes:
        """The output went quiet: write what is held. In clear while what of the possible secret
        would then have been shown in clear is at most SHORT_TAIL bytes, else as SECRET_MARK. What
        is written is remembered, so the rest of the secret is still masked when it comes."""
        self._catch_up()
        if not self.pending:
            return b""
        base = len(self._shown)
        buffer = self._shown + self.pending
        spans = self._spans(buffer)
        start = len(buffer) - self._longest_open_prefix(buffer)
        covered = _covered(spans, len(buffer))
        clear_before = self._shown_clear[min(start, base):].count(1)
        clear_now = sum(1 for i in range(max(start, base), len(buffer)) if not covered[i])
        clear = clear_before + clear_now <= SHORT_TAIL
        out = self._write(buffer, spans if clear else [(min(start, base), len(buffer))], base, len(buffer))
        if clear:
            flags = bytes(0 if covered[i] else 1 for i in range(base, len(buffer)))
        else:
            flags = bytes(len(buffer) - base)
        self._shown = buffer[start:]
        self._shown_clear = (self._shown_clear + flags)[start:]
        self.pending = b""
        return out

    def finish(self) -> bytes:
        """The end of the stream: what is held is written as release() writes it (nothing more can
        come to decide), and the masker starts afresh."""
        out = self.release()
        self.pending, self._shown, self._shown_clear, self._mark_last = b"", b"", b"", False
        return out

    def _spans(self, buffer: bytes) -> list:
        spans = []
        for secret in self.secrets:
            start = buffer.find(secret)
            while start >= 0:
                spans.append((start, start + len(secret)))
                start = buffer.find(secret, start + 1)
        return _merge(spans)

    @staticmethod
    def _safe_cut(cut: int, spans: list) -> int:
        for start, end in spans:  # never cut through a masked span: hold the whole span back
            if start < cut < end:
                cut = start
        return cut

    def _longest_open_prefix(self, buffer: bytes) -> int:
        """Length of the longest tail of ``buffer`` that is a proper prefix of some secret."""
        if not buffer:
            return 0
        last, best = buffer[-1:], 0
        for secret in self.secrets:
            position = secret.find(last, 0, len(secret) - 1)
            while position >= 0:
                length = position + 1
                if length > best and length <= len(buffer) and buffer.endswith(secret[:length]):
                    best = length
                position = secret.find(last, position + 1, len(secret) - 1)
        return best

    def _write(self, buffer: bytes, spans: list, base: int, end: int) -> bytes:
        """buffer[base:end] as written, spans as SECRET_MARK. A span that began in what was already
        written, right after the mark written last (a secret continued after a pause), adds no mark."""
        if base >= end:
            return b""
        out, position = [], base
        for start, stop in spans:
            if stop <= position or start >= end:
                continue
            if start > position:
                out.append(buffer[position:start])
            if out or start >= base or not self._mark_last:
                out.append(SECRET_MARK)
            position = min(stop, end)
        if position < end:
            out.append(buffer[position:end])
        self._mark_last = out[-1] is SECRET_MARK if out else self._mark_last
        return b"".join(out)


def _covered(spans: list, length: int) -> list:
    covered = [False] * length
    for start, end in spans:
        for i in range(start, min(end, length)):
            covered[i] = True
    return covered


def _merge(spans: list) -> list:
    merged = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
