"""The peer's ledger: nano_node's `process` checks in the node's order, with its exact texts.

Order and texts follow json_handler.cpp `process` (subtype pre-check, entry work) and
ledger.cpp `ledger_processor::state_block` / `state_block_impl`; see nano-notes.md §4, §5, §7.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from testnodes.nano import crypto, errors
from testnodes.nano.block import StateBlock
from testnodes.nano.codec import ZERO32
from testnodes.nano.errors import RpcError

EPOCH_LINKS = (crypto.EPOCH_V1_LINK, crypto.EPOCH_V2_LINK)
Verifier = Callable[[bytes, bytes, bytes], bool]


@dataclass(frozen=True)
class Stored:
    """A block in the ledger with its sideband: subtype, amount, height, times."""

    block: StateBlock
    subtype: str  # send, receive (open included), change, epoch
    amount: int
    height: int
    timestamp: int  # wall-clock seconds, the node's local_timestamp
    arrived: float  # monotonic seconds, for the confirmation delay


@dataclass(frozen=True)
class Account:
    """An opened account, as the node's account_info plus its confirmation height."""

    head: bytes
    open_block: bytes
    balance: int
    representative: bytes
    block_count: int
    modified: int
    confirmed_height: int = 0
    confirmed_frontier: bytes = ZERO32


@dataclass(frozen=True)
class Pending:
    """A receivable send, keyed in the ledger by (destination, send hash)."""

    source: bytes
    amount: int


@dataclass(frozen=True)
class Snapshot:
    """The ledger's tables at one moment (see Ledger.snapshot)."""

    blocks: dict[bytes, Stored]
    chains: dict[bytes, list[bytes]]
    accounts: dict[bytes, Account]
    pending: dict[tuple[bytes, bytes], Pending]


class Ledger:
    """Blocks, accounts, receivables; every change keeps balances + receivables = supply."""

    def __init__(
        self,
        genesis_key: bytes,
        genesis_balance: int,
        thresholds: crypto.Thresholds = crypto.DEV,
        verifier: Verifier = crypto.verify,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.thresholds = thresholds
        self.verify = verifier
        self.clock = clock
        self.blocks: dict[bytes, Stored] = {}
        self.chains: dict[bytes, list[bytes]] = {}  # account -> hashes by height - 1
        self.accounts: dict[bytes, Account] = {}
        self.pending: dict[tuple[bytes, bytes], Pending] = {}
        self.genesis_account = crypto.public_key(genesis_key)
        self.epoch_signer = self.genesis_account  # as on the dev network
        self.supply = genesis_balance
        self._install_genesis(genesis_key, genesis_balance)

    def _install_genesis(self, key: bytes, balance: int) -> None:
        # A fixture, not a processed block: an open whose link is the genesis key (like the
        # node's legacy genesis open, whose source is its own account), confirmed from the start.
        account = self.genesis_account
        block = StateBlock(account, ZERO32, account, balance, account)
        block = block.signed(key).worked(self.thresholds.epoch_2_receive)
        self._store(block, "receive", balance)
        self.accounts[account] = replace(
            self.accounts[account], confirmed_height=1, confirmed_frontier=block.hash
        )
        self.assert_conservation()

    # -- process: json_handler part --------------------------------------------------

    def process(self, block: StateBlock, subtype: str | None = None) -> bytes:
        """Check and apply `block` as `process` does; its hash, or RpcError with the node's text."""
        self.precheck(block, subtype)
        return self.apply(block)

    def precheck(self, block: StateBlock, subtype: str | None) -> None:
        """The checks json_handler runs before the ledger: subtype, then entry work."""
        if subtype:
            self._check_subtype(block, subtype)
        if crypto.work_value(block.work, block.root) < self.thresholds.entry:
            raise RpcError(errors.WORK_LOW)

    def _check_subtype(self, block: StateBlock, subtype: str) -> None:
        if not block.is_open and block.previous not in self.blocks:
            raise RpcError(errors.GAP_PREVIOUS)
        info = self.accounts.get(block.account)
        balance = info.balance if info else 0
        if subtype == "send":
            if balance <= block.balance:
                raise RpcError(errors.SUBTYPE_BALANCE)
        elif subtype == "receive":
            if balance > block.balance:
                raise RpcError(errors.SUBTYPE_BALANCE)
        elif subtype == "open":
            if not block.is_open:
                raise RpcError(errors.SUBTYPE_PREVIOUS)
        elif subtype in ("change", "epoch"):
            if balance != block.balance:
                raise RpcError(errors.SUBTYPE_BALANCE)
            if subtype == "change" and block.is_open:
                raise RpcError(errors.SUBTYPE_PREVIOUS)
            if subtype == "epoch" and block.link not in EPOCH_LINKS:
                raise RpcError(errors.SUBTYPE_EPOCH_LINK)
        else:
            raise RpcError(errors.SUBTYPE_UNKNOWN)

    # -- process: ledger part ----------------------------------------------------------

    def apply(self, block: StateBlock) -> bytes:
        """ledger_processor::state_block: the ledger's checks, then the block is stored."""
        if self._is_epoch_block(block):
            self._refuse_epoch_block(block)
        subtype, amount = self._check_state(block)
        self._store(block, subtype, amount)
        self.assert_conservation()
        return block.hash

    def _is_epoch_block(self, block: StateBlock) -> bool:
        if block.link not in EPOCH_LINKS:
            return False
        previous_balance = 0
        if not block.is_open:
            if block.previous not in self.blocks:
                raise RpcError(errors.GAP_PREVIOUS)
            previous_balance = self.blocks[block.previous].block.balance
        return block.balance == previous_balance

    def _refuse_epoch_block(self, block: StateBlock) -> None:
        # epoch_block_impl up to its fork checks. The peer has no epoch upgrades: every
        # account counts as epoch 2 already, so no epoch block can raise its epoch.
        if block.hash in self.blocks:
            raise RpcError(errors.OLD)
        if not self.verify(self.epoch_signer, block.hash, block.signature):
            raise RpcError(errors.BAD_SIGNATURE)
        if block.account == ZERO32:
            raise RpcError(errors.BURN_ACCOUNT)
        info = self.accounts.get(block.account)
        if info and (block.is_open or block.previous != info.head):
            raise RpcError(errors.FORK)
        raise RpcError(errors.BLOCK_POSITION)

    def _check_state(self, block: StateBlock) -> tuple[str, int]:
        """state_block_impl's checks in its order; (subtype, amount) when all pass."""
        if block.hash in self.blocks:
            raise RpcError(errors.OLD)
        if not self.verify(block.account, block.hash, block.signature):
            raise RpcError(errors.BAD_SIGNATURE)
        if block.account == ZERO32:
            raise RpcError(errors.BURN_ACCOUNT)
        is_send, amount = self._check_position(block)
        is_receive = not is_send and block.link != ZERO32
        if not is_send:
            self._check_receivable(block, amount)
        threshold = self.thresholds.epoch_2_receive if is_receive else self.thresholds.epoch_2
        if crypto.work_value(block.work, block.root) < threshold:
            raise RpcError(errors.INSUFFICIENT_WORK)
        return ("send" if is_send else "receive" if is_receive else "change"), amount

    def _check_position(self, block: StateBlock) -> tuple[bool, int]:
        """Fork / gap checks against the account's head; (is_send, amount)."""
        info = self.accounts.get(block.account)
        if info is None:
            if not block.is_open:
                raise RpcError(errors.GAP_PREVIOUS)
            if block.link == ZERO32:
                raise RpcError(errors.GAP_SOURCE)
            return False, block.balance
        if block.is_open:
            raise RpcError(errors.FORK)
        if block.previous not in self.blocks:
            raise RpcError(errors.GAP_PREVIOUS)
        if block.previous != info.head:
            raise RpcError(errors.FORK)
        return block.balance < info.balance, abs(block.balance - info.balance)

    def _check_receivable(self, block: StateBlock, amount: int) -> None:
        if block.link == ZERO32:
            # No link: only the representative may change.
            if amount != 0:
                raise RpcError(errors.BALANCE_MISMATCH)
            return
        if block.link not in self.blocks:
            raise RpcError(errors.GAP_SOURCE)
        pending = self.pending.get((block.account, block.link))
        if pending is None:
            raise RpcError(errors.UNRECEIVABLE)
        if amount != pending.amount:
            raise RpcError(errors.BALANCE_MISMATCH)

    def _store(self, block: StateBlock, subtype: str, amount: int) -> None:
        info = self.accounts.get(block.account)
        height = info.block_count + 1 if info else 1
        now = int(time.time())
        self.blocks[block.hash] = Stored(block, subtype, amount, height, now, self.clock())
        self.chains.setdefault(block.account, []).append(block.hash)
        self.accounts[block.account] = Account(
            head=block.hash,
            open_block=info.open_block if info else block.hash,
            balance=block.balance,
            representative=block.representative,
            block_count=height,
            modified=now,
            confirmed_height=info.confirmed_height if info else 0,
            confirmed_frontier=info.confirmed_frontier if info else ZERO32,
        )
        if subtype == "send":
            self.pending[(block.link, block.hash)] = Pending(block.account, amount)
        elif subtype == "receive" and (block.account, block.link) in self.pending:
            del self.pending[(block.account, block.link)]

    def assert_conservation(self) -> None:
        """No raw is created or lost: balances plus receivables equal the genesis supply."""
        held = sum(info.balance for info in self.accounts.values())
        owed = sum(entry.amount for entry in self.pending.values())
        assert held + owed == self.supply, f"supply broken: {held} + {owed} != {self.supply}"

    # -- rollback, for the fork fault ------------------------------------------------------

    def rollback_after(self, account: bytes, keep_height: int) -> list[bytes]:
        """Remove the account's blocks above `keep_height`, newest first; their hashes.

        Refused (RpcError) if one is confirmed or is a send already received: the node would
        roll the receiver back too, which this peer does not do.
        """
        doomed = self.chains.get(account, [])[keep_height:]
        for hash_ in doomed:
            self._check_can_roll_back(hash_)
        for hash_ in reversed(doomed):
            self._unstore(hash_)
        self.assert_conservation()
        return list(reversed(doomed))

    def _check_can_roll_back(self, hash_: bytes) -> None:
        stored = self.blocks[hash_]
        if self.is_confirmed(hash_):
            raise RpcError(f"peer: block {hash_.hex().upper()} is confirmed, cannot roll back")
        if stored.subtype == "send" and (stored.block.link, hash_) not in self.pending:
            raise RpcError(f"peer: send {hash_.hex().upper()} was received, cannot roll back")

    def _unstore(self, hash_: bytes) -> None:
        stored = self.blocks.pop(hash_)
        block = stored.block
        chain = self.chains[block.account]
        chain.pop()
        if stored.subtype == "send":
            del self.pending[(block.link, hash_)]
        elif stored.subtype == "receive" and block.link in self.blocks:
            source = self.blocks[block.link].block.account
            self.pending[(block.account, block.link)] = Pending(source, stored.amount)
        if not chain:
            del self.chains[block.account]
            del self.accounts[block.account]
            return
        head = self.blocks[chain[-1]].block
        self.accounts[block.account] = replace(
            self.accounts[block.account],
            head=head.hash,
            balance=head.balance,
            representative=head.representative,
            block_count=len(chain),
            modified=int(time.time()),
        )

    def snapshot(self) -> Snapshot:
        """A copy to restore if a multi-step change fails half-way (values are immutable)."""
        chains = {account: list(hashes) for account, hashes in self.chains.items()}
        return Snapshot(dict(self.blocks), chains, dict(self.accounts), dict(self.pending))

    def restore(self, snapshot: Snapshot) -> None:
        self.blocks, self.chains = snapshot.blocks, snapshot.chains
        self.accounts, self.pending = snapshot.accounts, snapshot.pending

    # -- confirmation and queries -------------------------------------------------------------

    def is_confirmed(self, hash_: bytes) -> bool:
        stored = self.blocks[hash_]
        return stored.height <= self.accounts[stored.block.account].confirmed_height

    def next_unconfirmed(self, account: bytes) -> Stored | None:
        """The lowest unconfirmed block of the account: the only one that may confirm next."""
        info = self.accounts[account]
        if info.confirmed_height >= info.block_count:
            return None
        return self.blocks[self.chains[account][info.confirmed_height]]

    def cement(self, account: bytes) -> bytes:
        """Confirm the account's next block (its previous is confirmed already)."""
        info = self.accounts[account]
        hash_ = self.chains[account][info.confirmed_height]
        self.accounts[account] = replace(
            info, confirmed_height=info.confirmed_height + 1, confirmed_frontier=hash_
        )
        return hash_

    def successor(self, hash_: bytes) -> bytes:
        stored = self.blocks[hash_]
        chain = self.chains[stored.block.account]
        return chain[stored.height] if stored.height < len(chain) else ZERO32

    def block_at(self, account: bytes, height: int) -> Stored:
        return self.blocks[self.chains[account][height - 1]]

    def receivable(self, account: bytes, only_confirmed: bool) -> list[tuple[bytes, Pending]]:
        """(send hash, entry) owed to `account`, by send hash like the node's pending table."""
        entries = [
            (send, entry)
            for (destination, send), entry in self.pending.items()
            if destination == account and (not only_confirmed or self.is_confirmed(send))
        ]
        return sorted(entries, key=lambda item: item[0])

    def weight(self, representative: bytes) -> int:
        return sum(i.balance for i in self.accounts.values() if i.representative == representative)
