"""Ed25519 with Blake2b (Nano's signatures) behind a small interface: ed25519-blake2b-fork.

The backend is deterministic (RFC 8032 style nonces), so a block signed twice gives the same
signature. It is the library bip-utils itself uses for Nano keys; never install the original
`ed25519-blake2b` beside it (same module name). The test peer verifies with a different,
libsodium-based implementation, so a bug in this one cannot hide itself.
"""

import ed25519_blake2b


class NanoKey:
    """A Nano signing key. The secret stays inside; repr shows the public key only."""

    __slots__ = ("_signing", "public_key")

    def __init__(self, secret: bytes):
        if len(secret) != 32:
            raise ValueError("a Nano private key is 32 bytes")
        self._signing = ed25519_blake2b.SigningKey(secret)
        self.public_key: bytes = bytes(self._signing.get_verifying_key().to_bytes())

    def __repr__(self) -> str:
        return f"NanoKey(public_key={self.public_key.hex()!r})"

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of `message` (a block hash), deterministic."""
        return bytes(self._signing.sign(message))


def public_key(secret: bytes) -> bytes:
    """The public key of a 32-byte private key."""
    return NanoKey(secret).public_key


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True only for a valid signature; malformed keys or signatures are simply invalid."""
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        ed25519_blake2b.VerifyingKey(public).verify(signature, message)
    except (ed25519_blake2b.BadSignatureError, ValueError, AssertionError):
        return False
    return True
