"""Deposits on a Bitcoin-family chain: listsinceblock from the stored cursor, reorgs included.

The cursor (kept in the coordinator) holds two things:
- `scan_from`: the block at the currency's confirmation depth when the last scan finished.
  listsinceblock from there lists every wallet transaction that is shallower, so each deposit
  is listed (and reported) until it has enough confirmations, and a watcher that was down for
  any number of blocks lists everything it missed.
- `blocks`: every block above `scan_from` that holds a deposit we reported. It is saved before
  those reports are sent. A block of the list that left the active chain is walked with
  listsinceblock(include_removed), so every deposit we ever reported in a block that was
  detached is reported again, even if the watcher died between two of its writes.
"""

import logging
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ValidationError

from custody.contract.deposits import Deposit, DepositReport, DepositState
from custody.contract.errors import ErrorCode
from custody.watcher.addressbook import AddressBook
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.bitcoin_node import BitcoinNode, BlockRef, SinceBlock, WalletEntry
from custody.watcher.client import MAX_BATCH, CoordinatorClient
from custody.watcher.errors import CoordinatorError, NodeError, WatcherError
from custody.watcher.rpc import RPC_INVALID_ADDRESS_OR_KEY

log = logging.getLogger(__name__)

RECEIVE = "receive"
MAX_REMEMBERED = 200_000


class StoredBlock(BaseModel):
    """A block in the cursor."""

    hash: str
    height: int


class ScanCursor(BaseModel):
    """The watcher's scan position, stored as JSON in the coordinator."""

    version: int = 1
    scan_from: StoredBlock | None = None
    blocks: list[str] = []

    @classmethod
    def parse(cls, text: str | None) -> "ScanCursor":
        """The stored cursor; a fresh one before the first scan."""
        if text is None:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            raise WatcherError(
                f"the stored cursor is not a bitcoin scan cursor: {text[:80]}"
            ) from e


def plan_reports(
    scan: SinceBlock, removed: Iterable[WalletEntry], ours: set[str], currency: str
) -> tuple[list[DepositReport], list[DepositReport]]:
    """(deposits that left the chain, deposits as they stand now) for outputs to `ours`.

    A removed output that is back in a block is simply reported where it is now; one that
    is not (mempool, or conflicted) is reported `in_chain: false`. A conflicted output that
    never was in a block is reported the same way: that payment will never confirm.
    """
    current = {e.key: e for e in scan.entries if e.category == RECEIVE and e.address in ours}
    detached = {e.key: e for e in removed if e.category == RECEIVE and e.address in ours}
    gone: list[DepositReport] = []
    for key, entry in sorted(detached.items()):
        now = current.get(key, entry)
        if now.confirmations <= 0:
            gone.append(_report(currency, now, in_chain=False))
    live: list[DepositReport] = []
    for key, entry in sorted(current.items()):
        if key in detached and entry.confirmations <= 0:
            continue
        if entry.confirmations < 0:
            gone.append(_report(currency, entry, in_chain=False))
        else:
            live.append(_report(currency, entry, in_chain=True))
    return gone, live


def _report(currency: str, entry: WalletEntry, *, in_chain: bool) -> DepositReport:
    in_block = in_chain and entry.confirmations > 0
    return DepositReport(
        currency=currency,
        txid=entry.txid,
        output_index=entry.vout,
        address=entry.address,
        amount=entry.amount,
        block_hash=entry.block_hash if in_block else None,
        block_height=entry.block_height if in_block else None,
        confirmations=max(entry.confirmations, 0) if in_chain else 0,
        in_chain=in_chain,
    )


def _signature(r: DepositReport) -> tuple[object, ...]:
    return r.in_chain, r.block_hash, r.confirmations


class DepositReporter:
    """Sends deposit reports, each one once per change: a report equal to the last one sent
    for the same output is skipped (the memory is a cache; replaying changes nothing)."""

    def __init__(self, coordinator: CoordinatorClient):
        self._coordinator = coordinator
        self._sent: dict[tuple[str, int], tuple[object, ...]] = {}

    def send(self, reports: Sequence[DepositReport]) -> list[Deposit]:
        """Report what changed; returns the coordinator's view of each deposit reported."""
        fresh = [r for r in reports if self._sent.get(_key(r)) != _signature(r)]
        answered: list[Deposit] = []
        for at in range(0, len(fresh), MAX_BATCH):
            answered += self._send_batch(list(fresh[at : at + MAX_BATCH]))
        return answered

    def _send_batch(self, batch: list[DepositReport]) -> list[Deposit]:
        while batch:
            try:
                answered = self._coordinator.report_deposits(batch)
            except CoordinatorError as e:
                index = _unknown_address_index(e, len(batch))
                if index is None:
                    raise
                # A receive address of the pool that no user was given: nobody to credit.
                # The coins stay in the wallet (spendable); operators see this line.
                skipped = batch.pop(index)
                log.error(
                    "ALERT %s:%d pays %s, a pool address assigned to no user: not reported",
                    skipped.txid,
                    skipped.output_index,
                    skipped.address,
                )
                continue
            if len(self._sent) > MAX_REMEMBERED:
                self._sent.clear()
            for report in batch:
                self._sent[_key(report)] = _signature(report)
            return answered
        return []


def _key(r: DepositReport) -> tuple[str, int]:
    return r.txid, r.output_index


def _unknown_address_index(e: CoordinatorError, size: int) -> int | None:
    """The index of the report the coordinator refused for an unassigned address."""
    if e.code != ErrorCode.UNKNOWN_ADDRESS or not e.field:
        return None
    parts = e.field.split(".")  # "deposits.3" or "deposits.3.address"
    if len(parts) >= 2 and parts[0] == "deposits" and parts[1].isdigit():
        index = int(parts[1])
        return index if index < size else None
    return None


class DepositScanner:
    """discover_deposits and confirm_deposits of the Bitcoin watcher."""

    def __init__(
        self,
        node: BitcoinNode,
        coordinator: CoordinatorClient,
        book: AddressBook,
        checkpoint: Callable[[CrashPoint], None],
        reorg_window: int,
    ):
        self.node = node
        self.coordinator = coordinator
        self.book = book
        self.reporter = DepositReporter(coordinator)
        self._checkpoint = checkpoint
        self._reorg_window = reorg_window

    def load_cursor(self, currency: str) -> ScanCursor:
        """The cursor stored in the coordinator."""
        return ScanCursor.parse(self.coordinator.cursor(currency))

    def discover(self, currency: str, confirmations: int) -> int:
        """One scan: report detached deposits, save the blocks, report the rest, move on."""
        cursor = self.load_cursor(currency)
        scan = self._scan(cursor, confirmations)
        removed = [*scan.removed, *self._walk_detached(cursor.blocks)]
        ours = self.book.receive(
            e.address for e in [*scan.entries, *removed] if e.category == RECEIVE
        )
        gone, live = plan_reports(scan, removed, ours, currency)
        sent = len(self.reporter.send(gone))
        self._checkpoint(CrashPoint.REMOVALS_REPORTED)
        blocks = sorted({r.block_hash for r in live if r.block_hash is not None})
        if not set(blocks) <= set(cursor.blocks) or gone:
            self._save(currency, ScanCursor(scan_from=cursor.scan_from, blocks=blocks))
        self._checkpoint(CrashPoint.BLOCKS_SAVED)
        sent += len(self.reporter.send(live))
        self._checkpoint(CrashPoint.DEPOSITS_REPORTED)
        last = self.node.block_ref(scan.lastblock)
        above = sorted(
            {
                r.block_hash
                for r in live
                if r.block_hash and r.block_height and r.block_height > last.height
            }
        )
        after = ScanCursor(scan_from=StoredBlock(hash=last.hash, height=last.height), blocks=above)
        if after != cursor:
            self._save(currency, after)
        return sent

    def _save(self, currency: str, cursor: ScanCursor) -> None:
        self.coordinator.put_cursor(currency, cursor.model_dump_json())

    def _scan(self, cursor: ScanCursor, confirmations: int) -> SinceBlock:
        start = cursor.scan_from
        try:
            return self.node.list_since(start.hash if start else None, confirmations)
        except NodeError as e:
            if start is None or e.code != RPC_INVALID_ADDRESS_OR_KEY:
                raise
        # The node does not know the cursor block (reindexed, or another node): start again
        # well below it. Deposits seen again are reported again, which changes nothing.
        height = max(0, start.height - self._reorg_window)
        log.warning("cursor block %s unknown to the node; scanning from %d", start.hash, height)
        return self.node.list_since(self.node.block_hash(height), confirmations)

    def _walk_detached(self, blocks: Sequence[str]) -> list[WalletEntry]:
        """Rows of every transaction in blocks we reported in that left the active chain."""
        stale, unknown = self.node.stale_blocks(blocks)
        for block in unknown:
            log.error("block %s with reported deposits is unknown to the node", block)
        removed: list[WalletEntry] = []
        for block in stale:
            log.warning("block %s with reported deposits left the active chain", block)
            removed += self.node.list_since(block, 1).removed
        return removed

    def confirm(self, currency: str, confirmations: int) -> int:
        """Re-check the deposits the coordinator holds as pending against the wallet: one that
        reached the depth (e.g. after the currency's depth was raised) or left the chain."""
        pending = self.coordinator.deposits(currency, DepositState.PENDING)
        statuses = self.node.transactions(d.txid for d in pending)
        reports = []
        for deposit in pending:
            status = statuses.get(deposit.txid)
            if status is None:
                continue
            if status.confirmations >= confirmations and status.block_hash is not None:
                reports.append(
                    deposit_report(
                        deposit, status.confirmations, status.block_hash, status.block_height
                    )
                )
            elif status.confirmations < 0 or (status.confirmations == 0 and deposit.block_hash):
                reports.append(deposit_report(deposit, 0, None, None, in_chain=False))
        return len(self.reporter.send(reports))


def deposit_report(
    deposit: Deposit,
    confirmations: int,
    block_hash: str | None,
    block_height: int | None,
    *,
    in_chain: bool = True,
) -> DepositReport:
    """A report on a deposit the coordinator already knows."""
    return DepositReport(
        currency=deposit.currency,
        txid=deposit.txid,
        output_index=deposit.output_index,
        address=deposit.address,
        amount=deposit.amount,
        block_hash=block_hash,
        block_height=block_height,
        confirmations=confirmations,
        in_chain=in_chain,
    )


def latest(blocks: Iterable[BlockRef]) -> BlockRef | None:
    """The highest of some blocks."""
    return max(blocks, key=lambda b: b.height, default=None)
