import time

import pytest

from credproc.identity import jwt
from credproc.errors import TokenError
from stssupport import make_token


def test_decode_unverified_returns_header_and_payload():
    token = make_token(sub="alice")
    header, payload = jwt.decode_unverified(token)
    assert header["alg"] == "RS256" and header["kid"] == "k1"
    assert payload["sub"] == "alice"


@pytest.mark.parametrize("bad, needle", [
    ("", "empty"),
    ("abc.def", "expected 3 dot-separated parts, got 2"),
    ("a.b.c.d", "got 4"),
    ("!!!.e30.c2ln", "header is not base64url-encoded JSON"),
    ("e30.bm90IGpzb24.c2ln", "payload is not base64url-encoded JSON"),
    ("WzFd.e30.c2ln", "header is not a JSON object"),
    ("e30.e30.", "signature part is empty"),
])
def test_malformed_tokens_name_the_problem_not_the_token(bad, needle):
    with pytest.raises(TokenError) as info:
        jwt.decode_unverified(bad, source="file /t")
    assert needle in str(info.value)
    assert "file /t" in str(info.value)
    if bad:
        assert bad not in str(info.value)


def test_check_claims_accepts_a_good_token():
    _, payload = jwt.decode_unverified(make_token())
    jwt.check_claims(payload, issuer="https://issuer.example.com", audience="sts.amazonaws.com")


def test_expired_token_is_refused_with_times():
    now = time.time()
    token = make_token(exp=int(now) - 600)
    _, payload = jwt.decode_unverified(token)
    with pytest.raises(TokenError, match=r"has expired: `exp` is \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, it is now") as info:
        jwt.check_claims(payload, now=now)
    assert token not in str(info.value)


def test_small_clock_skew_is_tolerated():
    now = time.time()
    _, payload = jwt.decode_unverified(make_token(exp=int(now) - 10))
    jwt.check_claims(payload, now=now)  # within CLOCK_SKEW_SECONDS
    with pytest.raises(TokenError, match="expired"):
        jwt.check_claims(payload, now=now + jwt.CLOCK_SKEW_SECONDS + 1)


def test_missing_or_bad_exp_and_future_nbf():
    with pytest.raises(TokenError, match="no `exp` claim"):
        jwt.check_claims({"iss": "x"})
    with pytest.raises(TokenError, match="non-numeric `exp`"):
        jwt.check_claims({"exp": "soon"})
    now = time.time()
    with pytest.raises(TokenError, match="not valid yet: `nbf`"):
        jwt.check_claims({"exp": now + 900, "nbf": now + 600}, now=now)


def test_wrong_issuer_and_audience_name_expected_and_actual():
    _, payload = jwt.decode_unverified(make_token(iss="https://evil.example", aud=["a", "b"]))
    with pytest.raises(TokenError) as info:
        jwt.check_claims(payload, issuer="https://good.example")
    assert "`iss`" in str(info.value) and "https://good.example" in str(info.value)
    assert "https://evil.example" in str(info.value)
    with pytest.raises(TokenError, match=r"wrong `aud`: expected 'c', got \['a', 'b'\]"):
        jwt.check_claims(payload, audience="c")
    jwt.check_claims(payload, audience="b")  # a list audience containing the expected one is fine


def test_rs256_round_trip_and_tamper_detection():
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode_rs256({"sub": "s", "exp": 1}, key, "kid-1")
    jwks = {"keys": [jwt.public_jwk(key.public_key(), "kid-1")]}
    assert jwt.verify_rs256(token, jwks) == {"sub": "s", "exp": 1}
    header, payload, signature = token.split(".")
    forged = ".".join([header, jwt.b64url_encode(b'{"sub":"root","exp":1}'), signature])
    with pytest.raises(TokenError, match="signature does not verify"):
        jwt.verify_rs256(forged, jwks)
    with pytest.raises(TokenError, match="no key with kid"):
        jwt.verify_rs256(token, {"keys": [jwt.public_jwk(key.public_key(), "other")]})
