"""Confirmation without voting: a delay per block, chain order, and fault switches to hold it."""

from __future__ import annotations

from dataclasses import dataclass, field

from testnodes.nano.ledger import Ledger, Stored


@dataclass
class ConfirmationPolicy:
    """When a block may confirm: `delay` seconds after it arrived, unless held.

    The delay is read when confirmations advance, so lowering it also speeds up blocks that
    are already waiting.
    """

    delay: float = 0.0
    hold_all: bool = False  # nothing confirms until released
    held: set[bytes] = field(default_factory=set)  # these never confirm (nor what depends on them)

    def due(self, stored: Stored, now: float, ignore_delay: bool) -> bool:
        if self.hold_all or stored.block.hash in self.held:
            return False
        return ignore_delay or now >= stored.arrived + self.delay


def advance(ledger: Ledger, policy: ConfirmationPolicy, ignore_delay: bool = False) -> list[bytes]:
    """Confirm every block that may confirm now; the hashes, in the order they confirmed.

    A block confirms only after its previous (confirmation height is per account) and a
    receive only after its source send, as the node's cementing does. Repeats until nothing
    moves, because one confirmation can unblock a receive in another account.
    """
    now = ledger.clock()
    confirmed: list[bytes] = []
    moved = True
    while moved:
        moved = False
        for account in list(ledger.accounts):
            while (stored := ledger.next_unconfirmed(account)) is not None:
                if not policy.due(stored, now, ignore_delay) or not _source_confirmed(
                    ledger, stored
                ):
                    break
                confirmed.append(ledger.cement(account))
                moved = True
    return confirmed


def _source_confirmed(ledger: Ledger, stored: Stored) -> bool:
    if stored.subtype != "receive" or stored.block.link not in ledger.blocks:
        return True  # sends, changes, and the genesis fixture whose link is no block
    return ledger.is_confirmed(stored.block.link)
