"""Nano primitives: state-block hash, proof of work, thresholds, Ed25519-Blake2b on libsodium."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from nacl import bindings as sodium
from nacl import exceptions as sodium_errors

# Group order of Ed25519; a signature's S must be below it (no malleable S + L).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
STATE_PREAMBLE = bytes(31) + b"\x06"  # block_type::state, left-padded to 32 bytes
EPOCH_V1_LINK = b"epoch v1 block".ljust(32, b"\x00")
EPOCH_V2_LINK = b"epoch v2 block".ljust(32, b"\x00")


@dataclass(frozen=True)
class Thresholds:
    """Work thresholds of one network (nano/lib/config.cpp `work_thresholds`)."""

    epoch_1: int
    epoch_2: int  # send and change blocks of epoch-2 accounts; the node's default difficulty
    epoch_2_receive: int  # receive, open and epoch blocks of epoch-2 accounts
    entry: int  # the least of all; below it `process` answers "Block work is less than threshold"


DEV = Thresholds(
    epoch_1=0xFE00000000000000,
    epoch_2=0xFFC0000000000000,
    epoch_2_receive=0xF000000000000000,
    entry=0xF000000000000000,
)
LIVE = Thresholds(
    epoch_1=0xFFFFFFC000000000,
    epoch_2=0xFFFFFFF800000000,
    epoch_2_receive=0xFFFFFE0000000000,
    entry=0xFFFFFE0000000000,
)


def blake2b_256(*parts: bytes) -> bytes:
    """32-byte Blake2b of the concatenated parts."""
    digest = hashlib.blake2b(digest_size=32)
    for part in parts:
        digest.update(part)
    return digest.digest()


def state_hash(
    account: bytes, previous: bytes, representative: bytes, balance: int, link: bytes
) -> bytes:
    """Hash of a state block; signature and work are outside it, so re-signing keeps identity."""
    return blake2b_256(
        STATE_PREAMBLE, account, previous, representative, balance.to_bytes(16, "big"), link
    )


def work_root(account: bytes, previous: bytes) -> bytes:
    """What the work is computed over: previous, or the account key for an open block."""
    return account if previous == bytes(32) else previous


def work_value(work: int, root: bytes) -> int:
    """Difficulty reached by `work` over `root` (uint64 little-endian of an 8-byte blake2b)."""
    digest = hashlib.blake2b(work.to_bytes(8, "little") + root, digest_size=8).digest()
    return int.from_bytes(digest, "little")


def work_generate(root: bytes, threshold: int, start: int | None = None) -> int:
    """A nonce whose value over `root` reaches `threshold`; a plain loop, fit for dev thresholds."""
    nonce = int.from_bytes(os.urandom(8), "little") if start is None else start
    while True:
        nonce = (nonce + 1) & 0xFFFFFFFFFFFFFFFF
        if work_value(nonce, root) >= threshold:
            return nonce


def to_multiplier(difficulty: int, base: int) -> float:
    """How many times harder than `base` a difficulty is (nano::difficulty::to_multiplier)."""
    return (2**64 - base) / (2**64 - difficulty)


def from_multiplier(multiplier: float, base: int) -> int:
    """The difficulty `multiplier` times harder than `base` (nano::difficulty::from_multiplier)."""
    return 2**64 - int((2**64 - base) / multiplier)


def seed_private_key(seed: bytes, index: int) -> bytes:
    """Private key `index` of a 32-byte seed: blake2b(seed || index as uint32 big-endian)."""
    return blake2b_256(seed, index.to_bytes(4, "big"))


# Ed25519 with Blake2b-512 in place of SHA-512. libsodium only offers SHA-512 Ed25519, so
# the protocol is rebuilt from its group and scalar primitives; the project's signer uses
# another backend (ed25519_blake2b), so a bug in one cannot hide itself in both.


def _blake2b_512(*parts: bytes) -> bytes:
    digest = hashlib.blake2b(digest_size=64)
    for part in parts:
        digest.update(part)
    return digest.digest()


def _reduce(digest64: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(digest64))


def _expand(private_key: bytes) -> tuple[bytes, bytes]:
    """(secret scalar mod L, nonce prefix) as in RFC 8032 §5.1.5, with Blake2b-512."""
    if len(private_key) != 32:
        raise ValueError("private key must be 32 bytes")
    expanded = _blake2b_512(private_key)
    clamped = bytearray(expanded[:32])
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    return _reduce(bytes(clamped) + bytes(32)), expanded[32:]


def public_key(private_key: bytes) -> bytes:
    """Public key (compressed point) of a 32-byte private key."""
    scalar, _ = _expand(private_key)
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar))


def sign(private_key: bytes, message: bytes) -> bytes:
    """Deterministic 64-byte signature R || S (the node itself uses random nonces)."""
    scalar, prefix = _expand(private_key)
    public = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar))
    nonce = _reduce(_blake2b_512(prefix, message))
    point_r = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(nonce))
    challenge = _reduce(_blake2b_512(point_r, public, message))
    s = sodium.crypto_core_ed25519_scalar_add(
        nonce, sodium.crypto_core_ed25519_scalar_mul(challenge, scalar)
    )
    return point_r + bytes(s)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is valid for `message` under `public`.

    Cofactorless check R == [S]B - [k]A compared byte for byte, like ed25519-donna in
    nano_node. Stricter than the node in two ways, both documented in the README: S must be
    below the group order, and small-order keys (the all-zero burn key among them) are refused.
    """
    if len(public) != 32 or len(signature) != 64:
        return False
    point_r, s = signature[:32], signature[32:]
    if int.from_bytes(s, "little") >= GROUP_ORDER:
        return False
    if not sodium.crypto_core_ed25519_is_valid_point(public):
        return False
    challenge = _reduce(_blake2b_512(point_r, public, message))
    try:
        s_b = sodium.crypto_scalarmult_ed25519_base_noclamp(s)
        k_a = sodium.crypto_scalarmult_ed25519_noclamp(challenge, public)
        expected_r = sodium.crypto_core_ed25519_sub(s_b, k_a)
    except sodium_errors.RuntimeError:
        # libsodium refuses a zero scalar or an identity result: no valid signature has them.
        return False
    return hmac.compare_digest(bytes(expected_r), point_r)
