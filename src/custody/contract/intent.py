"""Canonical bytes of a withdrawal intent and of an approval, and their Ed25519 signatures."""

import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custody.contract.withdrawals import WithdrawalIntent

INTENT_DOMAIN = b"custody/withdrawal-intent/v1\n"
APPROVAL_DOMAIN = b"custody/withdrawal-approval/v1\n"
REISSUE_DOMAIN = b"custody/withdrawal-reissue/v1\n"


def intent_bytes(intent: WithdrawalIntent) -> bytes:
    """The bytes the exchange signs: a domain tag, then sorted compact JSON of string fields."""
    fields = {
        "amount": str(intent.amount),
        "currency": intent.currency,
        "destination": intent.destination,
        "request_id": intent.request_id,
        "user_id": intent.user_id,
    }
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return INTENT_DOMAIN + body.encode("ascii")


def intent_digest(intent: WithdrawalIntent) -> bytes:
    """SHA-256 of the canonical intent bytes: what an approval refers to."""
    return hashlib.sha256(intent_bytes(intent)).digest()


def approval_bytes(intent: WithdrawalIntent) -> bytes:
    """The bytes an operator signs: bound to one intent, so an approval cannot be replayed."""
    return APPROVAL_DOMAIN + intent_digest(intent).hex().encode("ascii")


def reissue_bytes(intent: WithdrawalIntent, txid: str) -> bytes:
    """The bytes operators sign to say `txid` can never confirm and the intent may be paid anew."""
    digest = intent_digest(intent).hex()
    return REISSUE_DOMAIN + f"{digest}\n{txid.lower()}".encode("ascii")


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    """Sign with Ed25519; hex signature."""
    return private_key.sign(message).hex()


def verify(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    """True only for a valid Ed25519 signature; malformed keys or signatures are simply invalid."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def public_key_hex(private_key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key in hex, the form keys are configured in."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return raw.hex()
