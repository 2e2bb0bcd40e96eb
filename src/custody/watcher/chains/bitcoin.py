"""The Bitcoin-family watcher (Bitcoin Core, Litecoin Core): one watch-only wallet per currency.

The node's wallet watches the pool's P2WPKH keys (no private key ever), finds deposits with
listsinceblock, and funds withdrawal PSBTs from the watched coins. Details per step live in
bitcoin_deposits (scan and reorgs), bitcoin_withdrawals (templates) and bitcoin_broadcast.
"""

import logging
from collections.abc import Sequence

from custody.chains import bitcoin as chain
from custody.contract.addresses import AddressBranch, WatchAddress
from custody.contract.currencies import ChainFamily
from custody.watcher.addressbook import AddressBook
from custody.watcher.chains.base import Capability, ChainWatcher, CrashPoint, Probe
from custody.watcher.chains.bitcoin_broadcast import Broadcaster
from custody.watcher.chains.bitcoin_deposits import DepositScanner
from custody.watcher.chains.bitcoin_node import BitcoinNode
from custody.watcher.chains.bitcoin_withdrawals import WithdrawalBuilder
from custody.watcher.client import CoordinatorClient
from custody.watcher.rpc import NodeRpc
from custody.watcher.settings import WatchedCurrency

log = logging.getLogger(__name__)

# Pages of addresses imported per round: a big backlog is worked off over several rounds,
# so deposits and withdrawals are not held up for long.
MAX_IMPORT_PAGES = 10
# An import of a full page can take minutes on a legacy wallet (benchmarks.md).
IMPORT_TIMEOUT = 3600.0


class BitcoinWatcher(ChainWatcher):
    """One currency on one Bitcoin Core or Litecoin Core node."""

    family = ChainFamily.BITCOIN
    capabilities = frozenset(
        {
            Capability.ADDRESS_IMPORT,
            Capability.BATCHED_WITHDRAWALS,
            Capability.TXID_BEFORE_SIGNING,
            Capability.REORG_REPORTS,
        }
    )
    crash_points = (
        CrashPoint.IMPORTED_NOT_MARKED,
        CrashPoint.REMOVALS_REPORTED,
        CrashPoint.BLOCKS_SAVED,
        CrashPoint.DEPOSITS_REPORTED,
        CrashPoint.CHANGE_RESERVED,
        CrashPoint.PSBT_FUNDED,
        CrashPoint.TEMPLATE_POSTED,
        CrashPoint.TX_SENT,
        CrashPoint.TX_RESENT,
    )

    def __init__(
        self,
        watched: WatchedCurrency,
        coordinator: CoordinatorClient,
        probe: Probe | None = None,
        rpc: NodeRpc | None = None,
    ):
        super().__init__(watched, coordinator, probe)
        self.net = chain.network(watched.network)
        self.rpc = rpc or NodeRpc(watched.node)
        self.node = BitcoinNode(self.rpc)
        self.book = AddressBook(coordinator, self.code)
        self.scanner = DepositScanner(
            self.node, coordinator, self.book, self.checkpoint, watched.node.reorg_window
        )
        self.builder = WithdrawalBuilder(
            self.node, coordinator, self.book, self.checkpoint, watched.node
        )
        self.broadcaster = Broadcaster(self.node, coordinator, self.checkpoint)
        self._chain_checked = False

    def prepare(self) -> None:
        """The currency from the coordinator; the node's chain (once) and its wallet loaded."""
        super().prepare()
        self.node.decimals = self.currency.decimals
        if not self._chain_checked:
            self.node.check_chain(self.watched.network)
            self._chain_checked = True
        # Every round: a restarted node may not have loaded the wallet yet.
        self.node.ensure_wallet()

    def import_addresses(self) -> int:
        """Import pages of pool addresses, rescan if they may have been paid, mark them."""
        total = 0
        for _ in range(MAX_IMPORT_PAGES):
            page = self.coordinator.unimported(self.code, self.watched.node.import_batch)
            if not page:
                break
            refused = self.node.import_addresses(page, timeout=IMPORT_TIMEOUT)
            for address, reason in sorted(refused.items()):
                # Left unmarked: listed (and refused) again next round, for operators to see.
                log.error("%s: the node refuses to watch %s: %s", self.code, address, reason)
            imported = [a for a in page if a.address not in refused]
            self.book.remember(imported)
            self._rescan_for(imported)
            self.checkpoint(CrashPoint.IMPORTED_NOT_MARKED)
            if imported:
                total += self.coordinator.mark_imported(self.code, [a.address for a in imported])
                log.info("%s: imported %d addresses", self.code, len(imported))
            if len(page) < self.watched.node.import_batch or not imported:
                break
        return total

    def _rescan_for(self, page: Sequence[WatchAddress]) -> None:
        """A deposit address can be handed out, and paid, before the watcher imports it: scan
        again from the cursor block, the earliest block whose payments were not yet seen.
        Before marking them imported, so a crash in between repeats the rescan."""
        if all(a.branch is AddressBranch.CHANGE for a in page):  # also when empty
            return  # change addresses are reserved by the watcher and paid only after import
        cursor = self.scanner.load_cursor(self.code)
        start = cursor.scan_from.height if cursor.scan_from else self.watched.node.birth_height
        if start is not None:
            self.node.rescan(start, timeout=IMPORT_TIMEOUT)

    def discover_deposits(self) -> int:
        """listsinceblock from the cursor (see bitcoin_deposits)."""
        return self.scanner.discover(self.code, self.currency.confirmations)

    def confirm_deposits(self) -> int:
        """Pending deposits re-checked with gettransaction."""
        return self.scanner.confirm(self.code, self.currency.confirmations)

    def build_withdrawals(self) -> int:
        """One funded PSBT for the oldest approved withdrawals that fit."""
        return self.builder.build(self.code, self.net)

    def broadcast(self) -> int:
        """sendrawtransaction for every signed template."""
        return self.broadcaster.broadcast(self.code, self.currency.confirmations)

    def confirm_withdrawals(self) -> int:
        """Confirmations from the wallet; re-send or fail as the chain says."""
        return self.broadcaster.confirm(self.code, self.currency.confirmations)

    def close(self) -> None:
        """Close the node and coordinator connections."""
        self.rpc.close()
        super().close()
