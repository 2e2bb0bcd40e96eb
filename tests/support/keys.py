"""Deterministic test keys (never of any value): the exchange, operators, pool addresses."""

import hashlib

import coincurve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.chains.bitcoin import network, p2wpkh_address
from custody.contract.intent import (
    approval_bytes,
    intent_bytes,
    public_key_hex,
    reissue_bytes,
    sign,
)
from custody.contract.withdrawals import WithdrawalIntent


def ed25519_key(label: str) -> Ed25519PrivateKey:
    """An Ed25519 key derived from a label, the same in every run."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


EXCHANGE = ed25519_key("test exchange key")
OPERATORS = [ed25519_key(f"test operator {i}") for i in range(3)]
STRANGER = ed25519_key("not a configured key")


def secp_pubkey(label: str) -> bytes:
    """A compressed secp256k1 public key derived from a label."""
    return coincurve.PrivateKey(hashlib.sha256(label.encode()).digest()).public_key.format(True)


def ltc_regtest_address(i: int) -> tuple[str, str]:
    """A valid rltc1… P2WPKH address and its public key hex, for pool tests."""
    pub = secp_pubkey(f"pool {i}")
    return p2wpkh_address(network("ltc-regtest"), pub), pub.hex()


def signed_intent(intent: WithdrawalIntent) -> dict[str, object]:
    """A withdrawal request body signed with the exchange's test key."""
    return {
        "intent": intent.model_dump(mode="json"),
        "signature": sign(EXCHANGE, intent_bytes(intent)),
    }


def approval(intent: WithdrawalIntent, operator: int = 0) -> dict[str, str]:
    """An approval body signed by test operator `operator`."""
    key = OPERATORS[operator]
    return {"operator_key": public_key_hex(key), "signature": sign(key, approval_bytes(intent))}


def reissue(intent: WithdrawalIntent, txid: str, operator: int = 0) -> dict[str, str]:
    """A reissue body: test operator `operator` says `txid` of this intent is dead."""
    key = OPERATORS[operator]
    return {
        "txid": txid,
        "operator_key": public_key_hex(key),
        "signature": sign(key, reissue_bytes(intent, txid)),
    }
