"""The Ethereum watcher (geth, erigon, reth; anvil in tests): ETH or one ERC-20 per currency.

No address is imported into the node: deposits are found by scanning blocks (ETH) or the
token's Transfer logs, against the pool the coordinator lists. Each currency has its own
deposit addresses and hot wallet (the signer derives one BIP44 account per currency), so its
nonces are its own. Details per step: ethereum_deposits (scan and reorgs), ethereum_sweeps,
ethereum_withdrawals, ethereum_broadcast and ethereum_replace (fee bumps).
"""

import logging
from collections.abc import Callable

from custody.chains import ethereum as chain
from custody.contract.addresses import WatchAddress
from custody.contract.currencies import ChainFamily
from custody.watcher.chains.base import Capability, ChainWatcher, Probe
from custody.watcher.chains.ethereum_addresses import AddressIndex
from custody.watcher.chains.ethereum_broadcast import Broadcaster
from custody.watcher.chains.ethereum_deposits import DepositScanner
from custody.watcher.chains.ethereum_replace import Replacer
from custody.watcher.chains.ethereum_rpc import EthereumNode, EthRpc
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig, EthereumWatched
from custody.watcher.chains.ethereum_sweeps import SweepBuilder
from custody.watcher.chains.ethereum_templates import Poster
from custody.watcher.chains.ethereum_withdrawals import WithdrawalBuilder
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import ChainMismatch, SettingsError
from custody.watcher.settings import WatchedCurrency

log = logging.getLogger(__name__)


def node_config(watched: WatchedCurrency) -> EthereumNodeConfig:
    """The Ethereum node table of a watched currency."""
    if not isinstance(watched, EthereumWatched):
        raise SettingsError(f"{watched.code}: not configured with an ethereum node table")
    return watched.node


class EthereumWatcher(ChainWatcher):
    """One currency (ETH, or a token named by the coordinator's token_contract) on one node."""

    family = ChainFamily.ETHEREUM
    # No address import (the scan matches the pool itself) and one payment per transaction.
    capabilities = frozenset({Capability.REORG_REPORTS})

    def __init__(
        self,
        watched: WatchedCurrency,
        coordinator: CoordinatorClient,
        probe: Probe | None = None,
        rpc: EthRpc | None = None,
    ):
        super().__init__(watched, coordinator, probe)
        self.config = node_config(watched)
        self.chain_id = chain.chain_id(watched.network)
        self.rpc = rpc or EthRpc(self.config)
        self.node = EthereumNode(self.rpc, self.config.scan_batch)
        self.index = AddressIndex(coordinator, self.code)
        poster = Poster(coordinator, self.checkpoint)
        self.scanner = DepositScanner(
            self.node, coordinator, self.index, self.checkpoint, self.config
        )
        self.sweeper = SweepBuilder(
            self.node, coordinator, self.index, poster, self.config, self.chain_id
        )
        self.builder = WithdrawalBuilder(self.node, coordinator, poster, self.config, self.chain_id)
        self.broadcaster = Broadcaster(self.node, coordinator, self.checkpoint, self.config)
        self.replacer = Replacer(self.node, coordinator, poster, self.config)
        self._chain_checked = False

    @property
    def token(self) -> str | None:
        """The ERC-20 contract (EIP-55) the coordinator lists for this currency; None for ETH."""
        contract = self.currency.token_contract
        return None if contract is None else chain.validate_address(self.watched.network, contract)

    def prepare(self) -> None:
        """The currency from the coordinator, and the node's chain id checked once."""
        super().prepare()
        if not self._chain_checked:
            found = self.node.chain_id()
            if found != self.chain_id:
                raise ChainMismatch(
                    f"{self.code}: the node is on chain {found}, {self.watched.network} is "
                    f"chain {self.chain_id}"
                )
            self._chain_checked = True

    def steps(self) -> list[tuple[str, Callable[[], int]]]:
        """The base steps with sweeps before withdrawals (they fill the hot wallet) and fee
        bumps after the confirmations."""
        steps = super().steps()
        at = [name for name, _ in steps].index("build_withdrawals")
        steps.insert(at, ("build_sweeps", self.build_sweeps))
        steps.append(("replace_stuck", self.replace_stuck))
        return steps

    def import_addresses(self) -> int:
        """Nothing to import: the scan reads the pool (see AddressIndex)."""
        return self.index.refresh()

    def discover_deposits(self) -> int:
        """Blocks (or the token's logs) from the cursor to the head, reorgs followed."""
        return self.scanner.discover(self.code, self.token)

    def confirm_deposits(self) -> int:
        """The depth of pending deposits, from the scanned blocks."""
        return self.scanner.confirm(self.code)

    def _hot(self) -> WatchAddress | None:
        if self.index.hot is None:
            self.index.refresh()
        if self.index.hot is None:
            log.warning("%s: the pool has no hot wallet yet (the signer posts it)", self.code)
        return self.index.hot

    def build_sweeps(self) -> int:
        """Sweeps (and token gas top-ups) of credited deposit addresses to the hot wallet."""
        hot = self._hot()
        return 0 if hot is None else self.sweeper.build(self.code, hot, self.token)

    def build_withdrawals(self) -> int:
        """One template per approved withdrawal the hot wallet can pay, then nonce-gap fillers."""
        hot = self._hot()
        return 0 if hot is None else self.builder.build(self.code, hot, self.token)

    def broadcast(self) -> int:
        """eth_sendRawTransaction for every signed template."""
        return self.broadcaster.broadcast(self.code)

    def confirm_withdrawals(self) -> int:
        """Receipts at depth reported; lost transactions re-sent; dead ones failed."""
        return self.broadcaster.confirm(self.code, self.currency.confirmations)

    def replace_stuck(self) -> int:
        """Same-nonce fee bumps of transactions the market has left behind."""
        return self.replacer.replace_stuck(self.code)

    def close(self) -> None:
        """Close the node and coordinator connections."""
        self.rpc.close()
        super().close()
