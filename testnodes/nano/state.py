"""What one running peer holds: ledger, confirmation policy, fault switches, one lock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from testnodes.nano import crypto
from testnodes.nano.confirm import ConfirmationPolicy
from testnodes.nano.ledger import Ledger

# The dev network's genesis key (nano/secure/common.cpp), public and well known: the peer's
# genesis account is the same account a dev node starts with.
DEV_GENESIS_KEY = bytes.fromhex("34F0A37AAD20F4A260F0A5B3CB3D7FB50673212263E58A380BC10474BB039CE4")
MAX_SUPPLY = 2**128 - 1


@dataclass
class Faults:
    """Fault switches that act on the HTTP layer."""

    drop_replies: dict[str, int] = field(default_factory=dict)  # action -> replies left to drop

    def take_drop(self, action: str) -> bool:
        """True (and one fewer left) if this reply to `action` must be dropped."""
        left = self.drop_replies.get(action, 0)
        if left <= 0:
            return False
        self.drop_replies[action] = left - 1
        return True


@dataclass
class PeerState:
    """Everything RPC and control actions act on; hold `lock` while touching the ledger."""

    ledger: Ledger
    genesis_key: bytes
    policy: ConfirmationPolicy = field(default_factory=ConfirmationPolicy)
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    internal_errors: list[str] = field(default_factory=list)  # bugs; stop() raises on them


def new_state(
    genesis_balance: int = MAX_SUPPLY,
    confirm_delay: float = 0.0,
    thresholds: crypto.Thresholds = crypto.DEV,
    genesis_key: bytes = DEV_GENESIS_KEY,
) -> PeerState:
    """A fresh peer: genesis holds the whole supply, confirmations after `confirm_delay` s."""
    ledger = Ledger(genesis_key, genesis_balance, thresholds)
    return PeerState(ledger, genesis_key, ConfirmationPolicy(delay=confirm_delay))
