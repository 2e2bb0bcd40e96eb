"""Deposits on Ethereum: scan blocks (ETH) or Transfer logs (a token), follow reorgs by hash.

The cursor (kept in the coordinator) is the list of the last `reorg_window` blocks scanned,
(height, hash). Every block fetched must name the cursor's last hash as its parent; when one
does not, the chain was reorganised: the fork point is the highest cursor block the node still
has, the deposits we reported in the dropped blocks are re-checked (those no longer mined are
reported out of the chain: orphaned before credit, reversed after), the cursor is rolled back
to the fork point, and the blocks from there on are scanned again.

Deposit keys: (currency, txid, 0) for ETH paid by a transaction; (currency, txid, n) for a
token, n the position of the Transfer log among the transaction's logs, which stays the same
when a reorg moves the transaction into another block. Only the top-level value of a successful
transaction counts as an ETH deposit (ETH sent by a contract's internal call is not seen).
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from custody.chains.ethereum_tx import TRANSFER_TOPIC, TxError, checksum, decode_transfer_log
from custody.contract.deposits import Deposit, DepositReport, DepositState
from custody.contract.errors import ErrorCode
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.ethereum_addresses import AddressIndex
from custody.watcher.chains.ethereum_rpc import EthereumNode, Json, quantity
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.client import MAX_BATCH, CoordinatorClient
from custody.watcher.errors import CoordinatorError, NodeUnavailable, WatcherError

log = logging.getLogger(__name__)


class ScanCursor(BaseModel):
    """The last blocks scanned, oldest first; scanning goes on at `next`."""

    version: int = 1
    family: str = "ethereum"
    next: int
    blocks: list[tuple[int, str]] = []

    @classmethod
    def parse(cls, text: str) -> "ScanCursor":
        """The stored cursor; WatcherError if it is another family's."""
        try:
            cursor = cls.model_validate_json(text)
        except ValidationError as e:
            raise WatcherError(f"the stored cursor is not an ethereum cursor: {text[:80]}") from e
        if cursor.family != "ethereum":
            raise WatcherError(f"the stored cursor is a {cursor.family} cursor")
        return cursor

    def tip(self) -> tuple[int, str] | None:
        """The last block scanned."""
        return self.blocks[-1] if self.blocks else None

    def hashes(self) -> dict[int, str]:
        """height → hash of the blocks kept."""
        return dict(self.blocks)


@dataclass(frozen=True)
class Found:
    """A payment to one of our deposit addresses, as a block shows it."""

    txid: str
    index: int
    address: str
    amount: int
    block_hash: str
    height: int


class DepositScanner:
    """discover_deposits and confirm_deposits of one Ethereum currency."""

    def __init__(
        self,
        node: EthereumNode,
        coordinator: CoordinatorClient,
        index: AddressIndex,
        checkpoint: Callable[[CrashPoint], None],
        config: EthereumNodeConfig,
    ):
        self.node = node
        self.coordinator = coordinator
        self.index = index
        self.config = config
        self._checkpoint = checkpoint

    def load_cursor(self, code: str, head: int) -> ScanCursor:
        """The stored cursor, or a fresh one at start_block (else the head) on the first start."""
        text = self.coordinator.cursor(code)
        if text is not None:
            return ScanCursor.parse(text)
        start = self.config.start_block if self.config.start_block is not None else head
        return ScanCursor(next=start)

    def discover(self, code: str, token: str | None) -> int:
        """Scan from the cursor to the head (at most max_blocks_per_round); returns reports."""
        # The head first, the pool after: an address paid in a block up to this head was
        # handed out before that block, so it is in the pool when we read it.
        head = self.node.head()
        self.index.refresh()
        cursor = self.load_cursor(code, head)
        end = min(head, cursor.next + self.config.max_blocks_per_round - 1)
        reports = 0
        rewinds = 0
        while cursor.next <= end:
            last = min(end, cursor.next + self.config.scan_batch - 1)
            blocks = self.node.blocks(range(cursor.next, last + 1), full=token is None)
            headers = [b for b in blocks if b is not None]
            fork = _first_unlinked(cursor, headers)
            if fork is not None:
                rewinds += 1
                if rewinds > 3:
                    raise NodeUnavailable("the chain keeps reorganising under the scan")
                reports += self.rewind(code, cursor)
                continue
            if len(headers) < len(blocks):
                break  # the node's chain got shorter meanwhile: the next round goes on
            found = self._eth(headers) if token is None else self._token(token, headers)
            reports += self.report(code, [_report(code, f, last) for f in found])
            if found:
                self._checkpoint(CrashPoint.DEPOSITS_REPORTED)
            self._advance(code, cursor, headers)
        return reports

    def _advance(self, code: str, cursor: ScanCursor, headers: Sequence[Json]) -> None:
        blocks = cursor.blocks + [(quantity(b["number"]), str(b["hash"]).lower()) for b in headers]
        cursor.blocks = blocks[-self.config.reorg_window :]
        cursor.next = cursor.blocks[-1][0] + 1
        self.coordinator.put_cursor(code, cursor.model_dump_json())

    def _eth(self, blocks: Sequence[Json]) -> list[Found]:
        """ETH paid by successful transactions to deposit addresses."""
        candidates = []
        for block in blocks:
            for tx in block.get("transactions") or []:
                if isinstance(tx, dict) and tx.get("to") and quantity(tx.get("value"), "value"):
                    candidates.append((block, tx))
        ours = self.index.deposit_addresses(str(tx["to"]) for _, tx in candidates)
        mine = [(b, t) for b, t in candidates if str(t["to"]).lower() in ours]
        receipts = self.node.receipts(str(t["hash"]).lower() for _, t in mine)
        found = []
        for block, tx in mine:
            txid = str(tx["hash"]).lower()
            receipt = receipts.get(txid)
            if receipt is None or str(receipt.get("blockHash")).lower() != block["hash"].lower():
                raise NodeUnavailable(f"no receipt of {txid} in its block: the chain moved")
            if quantity(receipt.get("status"), "status") != 1:
                continue  # a failed transaction moved no value
            found.append(
                Found(
                    txid,
                    0,
                    ours[str(tx["to"]).lower()].address,
                    quantity(tx["value"]),
                    block["hash"].lower(),
                    quantity(block["number"]),
                )
            )
        return found

    def _token(self, contract: str, headers: Sequence[Json]) -> list[Found]:
        """Transfer logs of the token contract to deposit addresses."""
        by_hash = {str(h["hash"]).lower(): quantity(h["number"]) for h in headers}
        start, end = quantity(headers[0]["number"]), quantity(headers[-1]["number"])
        transfers = []
        for entry in self.node.logs(start, end, contract, TRANSFER_TOPIC):
            if str(entry.get("blockHash")).lower() not in by_hash:
                raise NodeUnavailable("a log of a block we did not fetch: the chain moved")
            try:
                _, to, amount = decode_transfer_log(
                    entry.get("topics") or [], entry.get("data", "")
                )
            except TxError:
                continue  # another event with the same signature (ERC-721): not a deposit
            if amount:
                transfers.append((entry, checksum(to)))
        ours = self.index.deposit_addresses(to for _, to in transfers)
        mine = [(e, to) for e, to in transfers if to.lower() in ours]
        receipts = self.node.receipts(str(e["transactionHash"]).lower() for e, _ in mine)
        return [self._token_found(e, ours[to.lower()].address, receipts) for e, to in mine]

    def _token_found(self, entry: Json, address: str, receipts: dict[str, Json | None]) -> Found:
        txid = str(entry["transactionHash"]).lower()
        receipt = receipts.get(txid)
        if receipt is None or str(receipt.get("blockHash")).lower() != entry["blockHash"].lower():
            raise NodeUnavailable(f"no receipt of {txid} in its block: the chain moved")
        indexes = [quantity(r.get("logIndex")) for r in receipt.get("logs") or []]
        position = indexes.index(quantity(entry["logIndex"]))
        _, _, amount = decode_transfer_log(entry["topics"], entry["data"])
        return Found(
            txid,
            position,
            address,
            amount,
            str(entry["blockHash"]).lower(),
            quantity(entry["blockNumber"]),
        )

    def rewind(self, code: str, cursor: ScanCursor) -> int:
        """Roll the cursor back to the fork point; report deposits that left the chain."""
        heights = [h for h, _ in cursor.blocks]
        canonical = {
            h: _hash(b) for h, b in zip(heights, self.node.blocks(heights, False), strict=True)
        }
        kept = [(h, x) for h, x in cursor.blocks if canonical.get(h) == x]
        fork = cursor.blocks[0][0] if not kept else kept[-1][0] + 1
        if not kept or kept != cursor.blocks[: len(kept)]:
            raise WatcherError(
                f"{code}: the chain was reorganised below the {len(cursor.blocks)} blocks kept "
                f"(from {cursor.blocks[0][0]}): rescan by hand from an older cursor"
            )
        dropped = {x for h, x in cursor.blocks if h >= fork}
        log.warning("%s: reorg: %d blocks from %d dropped", code, len(dropped), fork)
        reports = self.report(code, self._gone(code, dropped, fork))
        self._checkpoint(CrashPoint.REMOVALS_REPORTED)
        cursor.blocks, cursor.next = kept, fork
        self.coordinator.put_cursor(code, cursor.model_dump_json())
        return reports

    def _gone(self, code: str, dropped: set[str], fork: int) -> list[DepositReport]:
        """Deposits we placed in dropped blocks whose transaction is no longer mined."""
        affected = [d for d in self._recent(code, fork) if (d.block_hash or "") in dropped]
        receipts = self.node.receipts(d.txid for d in affected)
        gone = []
        for deposit in affected:
            receipt = receipts.get(deposit.txid)
            if receipt is not None and self._canonical(receipt):
                continue  # mined again: the rescan reports it in its new block
            gone.append(
                DepositReport(
                    currency=code,
                    txid=deposit.txid,
                    output_index=deposit.output_index,
                    address=deposit.address,
                    amount=deposit.amount,
                    confirmations=0,
                    in_chain=False,
                )
            )
        return gone

    def _recent(self, code: str, fork: int) -> list[Deposit]:
        """Pending and credited deposits, newest first, enough pages of them to hold all above
        the fork point: paging stops after a page that ends below it."""
        out: list[Deposit] = []
        for state in (DepositState.PENDING, DepositState.CREDITED):
            for page in self.coordinator.deposit_pages(code, state, newest_first=True):
                out += page
                if (page[-1].block_height or 0) < fork:
                    break
        return out

    def _canonical(self, receipt: Json) -> bool:
        [block] = self.node.blocks([quantity(receipt.get("blockNumber"))], False)
        return block is not None and _hash(block) == str(receipt.get("blockHash")).lower()

    def confirm(self, code: str) -> int:
        """Report the depth of pending deposits whose block is still ours; returns reports."""
        text = self.coordinator.cursor(code)
        if text is None:
            return 0
        cursor = ScanCursor.parse(text)
        tip = cursor.tip()
        if tip is None:
            return 0
        hashes = cursor.hashes()
        reports = []
        for d in self.coordinator.deposits(code, DepositState.PENDING):
            if d.block_height is None or hashes.get(d.block_height) != d.block_hash:
                continue  # not in a block we scanned: the scan (or a rewind) reports it
            depth = tip[0] - d.block_height + 1
            if depth != d.confirmations:
                reports.append(d.model_copy(update={"confirmations": depth}))
        return self.report(code, [_as_report(d) for d in reports])

    def report(self, code: str, reports: list[DepositReport]) -> int:
        """Send reports in batches; a pool address no user was given is dropped, not retried."""
        sent = 0
        for at in range(0, len(reports), MAX_BATCH):
            sent += self._send(code, reports[at : at + MAX_BATCH])
        return sent

    def _send(self, code: str, batch: list[DepositReport]) -> int:
        while batch:
            try:
                self.coordinator.report_deposits(batch)
                return len(batch)
            except CoordinatorError as e:
                position = _unassigned(e, len(batch))
                if position is None:
                    raise
                log.warning(
                    "%s: %s was paid but belongs to no user: not reported",
                    code,
                    batch[position].address,
                )
                batch = batch[:position] + batch[position + 1 :]
        return 0


def _first_unlinked(cursor: ScanCursor, headers: Sequence[Json]) -> int | None:
    """The position of the first block whose parent is not the block before it."""
    tip = cursor.tip()
    previous = tip[1] if tip is not None and tip[0] == cursor.next - 1 else None
    for position, block in enumerate(headers):
        if previous is not None and str(block["parentHash"]).lower() != previous:
            return position
        previous = _hash(block)
    return None


def _hash(block: Json | None) -> str | None:
    return None if block is None else str(block["hash"]).lower()


def _report(code: str, found: Found, tip: int) -> DepositReport:
    return DepositReport(
        currency=code,
        txid=found.txid,
        output_index=found.index,
        address=found.address,
        amount=found.amount,
        block_hash=found.block_hash,
        block_height=found.height,
        confirmations=tip - found.height + 1,
    )


def _as_report(d: Deposit) -> DepositReport:
    return DepositReport(
        currency=d.currency,
        txid=d.txid,
        output_index=d.output_index,
        address=d.address,
        amount=d.amount,
        block_hash=d.block_hash,
        block_height=d.block_height,
        confirmations=d.confirmations,
    )


def _unassigned(e: CoordinatorError, size: int) -> int | None:
    """The position of the report the coordinator refused for an address no user was given."""
    if e.code != ErrorCode.UNKNOWN_ADDRESS or not e.field or not e.field.startswith("deposits."):
        return None
    part = e.field.split(".")[1]
    return int(part) if part.isdigit() and int(part) < size else None
