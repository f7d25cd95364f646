"""Every input credproc reads over a network or from a token source has a bound on the memory it
can cause: an endless or huge answer is an error, read no further than the bound."""
import http.server

import pytest

from credproc import cache
from credproc.identity import oidc
from credproc.creds import index
from credproc.errors import TokenError
from credproc.lang import syntax
from support.httpserver import LoopbackServer


class _Endless(http.server.BaseHTTPRequestHandler):
    """Answers 200 with a body that never ends (until the client hangs up)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            for _ in range(64):  # bounded: 64 MiB at most, far past the cap
                self.wfile.write(b" " * (1 << 20))
        except OSError:
            pass


@pytest.fixture
def endless_server():
    with LoopbackServer(_Endless) as server:
        yield server.url


def test_an_identity_provider_answering_without_end_is_refused_at_the_cap(endless_server):
    with pytest.raises(TokenError, match=r"answered more than 1024 KiB"):
        oidc.discover(endless_server)


def test_the_hot_path_reads_no_definition_past_the_languages_own_limit(tmp_path):
    # one rule in two places (the hot path must not import the language): they must agree
    assert index._MAX_DEFINITION_BYTES == syntax.MAX_SOURCE_BYTES
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (syntax.MAX_SOURCE_BYTES + 1))
    assert index._file_sha256(str(big)) is None
    small = tmp_path / "small.yaml"
    small.write_bytes(b"values: {}\n")
    assert index._file_sha256(str(small)) == cache.sha256_hex(b"values: {}\n")
