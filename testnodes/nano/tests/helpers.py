"""Test wallet for ledger-level tests: keys, block builders (the peer's own signer), polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from testnodes.nano import crypto
from testnodes.nano.block import StateBlock
from testnodes.nano.codec import ZERO32
from testnodes.nano.ledger import Ledger
from testnodes.nano.state import DEV_GENESIS_KEY

SEED = bytes.fromhex("11" * 32)
MAX_WORK = crypto.DEV.epoch_2  # the higher dev threshold: enough for any block


def key(index: int) -> bytes:
    return crypto.seed_private_key(SEED, index)


def pub(private_key: bytes) -> bytes:
    return crypto.public_key(private_key)


def build(
    ledger: Ledger,
    private_key: bytes,
    balance: int,
    link: bytes = ZERO32,
    representative: bytes | None = None,
    previous: bytes | None = None,
) -> StateBlock:
    """A signed, worked block on the account's current head (or `previous` if given)."""
    account = pub(private_key)
    info = ledger.accounts.get(account)
    if previous is None:
        previous = info.head if info else ZERO32
    if representative is None:
        representative = info.representative if info else account
    block = StateBlock(account, previous, representative, balance, link)
    return block.signed(private_key).worked(MAX_WORK)


def balance_of(ledger: Ledger, account: bytes) -> int:
    info = ledger.accounts.get(account)
    return info.balance if info else 0


def send(ledger: Ledger, private_key: bytes, destination: bytes, amount: int) -> StateBlock:
    """Build and apply a send; the applied block."""
    balance = balance_of(ledger, pub(private_key)) - amount
    block = build(ledger, private_key, balance, destination)
    ledger.process(block, "send")
    return block


def fund(ledger: Ledger, destination: bytes, amount: int) -> StateBlock:
    return send(ledger, DEV_GENESIS_KEY, destination, amount)


def receive(ledger: Ledger, private_key: bytes, send_block: StateBlock) -> StateBlock:
    """Build and apply the receive (or open) of `send_block`; the applied block."""
    amount = ledger.pending[(pub(private_key), send_block.hash)].amount
    block = build(
        ledger, private_key, balance_of(ledger, pub(private_key)) + amount, send_block.hash
    )
    ledger.process(block, "receive")
    return block


def rework(block: StateBlock, low: int, high: int) -> StateBlock:
    """The same block with work whose value lies in [low, high): too little for some check."""
    nonce = 0
    while not low <= crypto.work_value(nonce, block.root) < high:
        nonce += 1
    return replace(block, work=nonce)


class FakeClock:
    """A monotonic clock the test moves by hand: confirmations without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `predicate` until true; fail after `timeout` seconds (never a blind sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
