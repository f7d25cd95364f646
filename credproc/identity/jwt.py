"""Minimal JSON Web Tokens: decode without verifying, check claims, sign and verify RS256.

Decoding and claim checks are stdlib only (they run before every STS call). RS256 signing and
verification import `cryptography` lazily, inside the functions that need it.

Every error is a credproc.errors.TokenError whose message names the claim and the expected and
actual *non-secret* values. No message ever contains the token itself.
"""
import base64
import json
import time

from credproc.errors import TokenError

#: Clock skew tolerated on exp/nbf, in seconds (STS itself allows a little skew too).
CLOCK_SKEW_SECONDS = 60


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c not in _B64URL_ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _json_part(part: str, what: str, source: str) -> dict:
    try:
        value = json.loads(b64url_decode(part))
    except (ValueError, UnicodeDecodeError):
        raise TokenError(f"the token from {source} is not a JWT: its {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise TokenError(f"the token from {source} is not a JWT: its {what} is not a JSON object")
    return value


def decode_unverified(token: str, *, source: str = "the token source") -> "tuple[dict, dict]":
    """(header, payload) of a compact JWS, without checking the signature.

    `source` names where the token came from, for messages (for example "file /var/run/token")."""
    if not isinstance(token, str) or not token.strip():
        raise TokenError(f"the token from {source} is empty")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError(
            f"the token from {source} is not a JWT: expected 3 dot-separated parts, got {len(parts)}"
        )
    header = _json_part(parts[0], "header", source)
    payload = _json_part(parts[1], "payload", source)
    if not parts[2]:
        raise TokenError(f"the token from {source} is not a signed JWT: its signature part is empty")
    return header, payload


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _numeric_claim(payload: dict, name: str, source: str, required: bool) -> "float | None":
    value = payload.get(name)
    if value is None:
        if required:
            raise TokenError(f"the token from {source} has no `{name}` claim")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenError(f"the token from {source} has a non-numeric `{name}` claim")
    return float(value)


def _audiences(payload: dict) -> list:
    aud = payload.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def check_claims(
    payload: dict,
    *,
    issuer: "str | None" = None,
    audience: "str | None" = None,
    now: "float | None" = None,
    source: str = "the token source",
    skew: int = CLOCK_SKEW_SECONDS,
) -> None:
    """Check `exp` (required, not expired), `nbf` (if present) and, when given, `iss` and `aud`."""
    now = time.time() if now is None else now
    exp = _numeric_claim(payload, "exp", source, required=True)
    if exp + skew < now:
        raise TokenError(
            f"the token from {source} has expired: `exp` is {_utc(exp)}, it is now {_utc(now)}"
        )
    nbf = _numeric_claim(payload, "nbf", source, required=False)
    if nbf is not None and nbf - skew > now:
        raise TokenError(
            f"the token from {source} is not valid yet: `nbf` is {_utc(nbf)}, it is now {_utc(now)}"
        )
    if issuer is not None and payload.get("iss") != issuer:
        raise TokenError(
            f"the token from {source} has the wrong `iss`: expected {issuer!r}, got {payload.get('iss')!r}"
        )
    if audience is not None and audience not in _audiences(payload):
        raise TokenError(
            f"the token from {source} has the wrong `aud`: expected {audience!r}, got {payload.get('aud')!r}"
        )


def describe(payload: dict) -> str:
    """The non-secret claims STS matches a trust policy against, for messages: iss, aud, sub."""
    return ", ".join(f"{name}={payload.get(name)!r}" for name in ("iss", "aud", "sub"))


# --- RS256 (cryptography, imported lazily) ---------------------------------------------------


def _int_b64(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def public_jwk(public_key, kid: str) -> dict:
    """The JWK (RFC 7517) of an RSA public key, as AWS and every OIDC client read it."""
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def encode_rs256(payload: dict, private_key, kid: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":"), sort_keys=True).encode()) for part in (header, payload)
    )
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url_encode(signature)


def verify_rs256(token: str, jwks: dict) -> dict:
    """Verify a token's RS256 signature against a JWKS (the key named by `kid`); return the payload.

    Used by tests and diagnostics; STS verifies tokens itself."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    header, payload = decode_unverified(token)
    if header.get("alg") != "RS256":
        raise TokenError(f"unsupported token algorithm: expected 'RS256', got {header.get('alg')!r}")
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")]
    if not keys:
        raise TokenError(f"no key with kid {header.get('kid')!r} in the JWKS")
    jwk = keys[0]
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
    )
    signing_input, _, signature = token.rpartition(".")
    try:
        numbers.public_key().verify(
            b64url_decode(signature), signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise TokenError("the token's signature does not verify against the JWKS") from None
    return payload
