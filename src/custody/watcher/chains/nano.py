"""The Nano watcher: deposits from accounts_receivable, blocks built, published and confirmed.

The seed's third flow: the watcher reads `account_info`, the signer signs the block, the
watcher publishes it with `process`. A round runs, in this order: publish signed blocks, confirm
published ones, discover deposits (and report them), re-check pending ones, build the next
withdrawal send on the hot account, then pocket credited deposits (receive/open), sweep deposit
accounts to the hot account and receive the sweeps there. Each account gets at most one new
block per round and none while one of ours is not on the node yet. Details: nano_build,
nano_publish, nano_deposits; the flow and formats: docs/nano.md.
"""

import logging
from collections.abc import Callable

from custody.chains import nano as chain
from custody.contract.addresses import AddressBranch, WatchAddress
from custody.contract.currencies import ChainFamily
from custody.contract.withdrawals import WithdrawalState
from custody.watcher.chains.base import Capability, ChainWatcher, CrashPoint, Probe
from custody.watcher.chains.nano_blocks import Live, load_live
from custody.watcher.chains.nano_build import BlockBuilder
from custody.watcher.chains.nano_deposits import MAX_TO_SWEEP, DepositFinder
from custody.watcher.chains.nano_publish import Publisher
from custody.watcher.chains.nano_rpc import NanoRpc, Receivable
from custody.watcher.chains.nano_settings import node_config
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import ChainMismatch
from custody.watcher.settings import WatchedCurrency

log = logging.getLogger(__name__)


def pool_accounts(coordinator: CoordinatorClient, code: str) -> list[WatchAddress]:
    """Every pool account of the currency, imported or not (all pages)."""
    return coordinator.addresses(code)


class NanoWatcher(ChainWatcher):
    """One Nano currency on one node (and optionally a work server)."""

    family = ChainFamily.NANO
    capabilities = frozenset({Capability.TXID_BEFORE_SIGNING})

    def __init__(
        self,
        watched: WatchedCurrency,
        coordinator: CoordinatorClient,
        probe: Probe | None = None,
        rpc: NanoRpc | None = None,
    ):
        super().__init__(watched, coordinator, probe)
        self.config = node_config(watched)
        self.net = chain.network(watched.network)
        self.rpc = rpc or NanoRpc(self.config)
        representative = chain.decode_account(self.config.representative)
        self.publisher = Publisher(self.rpc, coordinator, self.checkpoint, self.net.thresholds)
        self.builder = BlockBuilder(
            self.rpc, coordinator, self.checkpoint, self.net, representative
        )
        self.finder = DepositFinder(self.rpc, coordinator, self.config.receivable_batch)
        self._accounts: dict[bytes, WatchAddress] = {}
        self._pocket: dict[bytes, list[Receivable]] = {}
        self._live: Live | None = None
        self._hot_entry: WatchAddress | None = None

    def steps(self) -> list[tuple[str, Callable[[], int]]]:
        """Publish and confirm first: what is receivable (discover) and each account's frontier
        (build, pocket) are then read after this round's blocks reached the node."""
        return [
            ("broadcast", self.broadcast),
            ("confirm_withdrawals", self.confirm_withdrawals),
            ("discover_deposits", self.discover_deposits),
            ("confirm_deposits", self.confirm_deposits),
            ("build_withdrawals", self.build_withdrawals),
            ("pocket_deposits", self.pocket_deposits),
        ]

    def prepare(self) -> None:
        """The currency, and the pool's accounts (the hot one and the deposit accounts)."""
        super().prepare()
        if self.currency.confirmations != 1:
            # Reports say 1 once the send is confirmed (final on Nano); a deeper setting would
            # leave every deposit pending forever.
            raise ChainMismatch(
                f"{self.code}: a nano currency is listed with confirmations 1, "
                f"not {self.currency.confirmations}"
            )
        entries = pool_accounts(self.coordinator, self.code)
        self._accounts = {bytes.fromhex(e.public_key): e for e in entries}
        self._pocket, self._live = {}, None
        hot = [e for e in entries if e.branch is AddressBranch.HOT]
        self._hot_entry = hot[0] if len(hot) == 1 else None
        if self._hot_entry is None:
            log.warning(
                "%s: the pool has %d hot accounts, needs exactly one (no withdrawal or "
                "sweep until the signer posts it)",
                self.code,
                len(hot),
            )

    def import_addresses(self) -> int:
        """Nothing to import: a Nano node answers for every account."""
        return 0

    def discover_deposits(self) -> int:
        """Report confirmed sends to deposit accounts; remember the credited ones to pocket."""
        deposit_accounts = [
            a for a, e in self._accounts.items() if e.branch is AddressBranch.RECEIVE
        ]
        self._pocket = self.finder.discover(self.code, deposit_accounts)
        self.checkpoint(CrashPoint.DEPOSITS_REPORTED)
        return sum(len(sends) for sends in self._pocket.values())

    def confirm_deposits(self) -> int:
        """Pending deposits whose send is confirmed now."""
        return self.finder.confirm(self.code)

    def broadcast(self) -> int:
        """`process` for every signed block, per account in chain order."""
        return self.publisher.broadcast(load_live(self.coordinator, self.code))

    def confirm_withdrawals(self) -> int:
        """Confirmations (of every kind of block) and lost forks."""
        return self.publisher.confirm(load_live(self.coordinator, self.code))

    def build_withdrawals(self) -> int:
        """The oldest approved withdrawal, as a send on the hot account's frontier."""
        hot = self._hot()
        if hot is None:
            return 0
        approved = self.coordinator.withdrawals(self.code, WithdrawalState.APPROVED, 1)
        if not approved:
            return 0
        return int(self.builder.withdrawal(self.code, hot, approved[0], self._build_view()))

    def pocket_deposits(self) -> int:
        """Receive credited deposits, sweep deposit accounts, receive sweeps on the hot account."""
        live = self._build_view()
        sweeps = set(self.finder.load_sweeps(self.code).sweep)
        built = self._receive_deposits(live, sweeps)
        built += self._sweep(live, sweeps)
        hot = self._hot()
        if hot is not None:
            pending = self.rpc.accounts_receivable([bytes.fromhex(hot.public_key)])
            for send in next(iter(pending.values()), [])[:1]:
                built += int(self.builder.receive(self.code, hot, send, live))
        return built

    def _receive_deposits(self, live: Live, sweeps: set[str]) -> int:
        limit = self.config.pocket_per_round
        chosen = [a for a in sorted(self._pocket) if not live.busy(a)][:limit]
        chosen = [a for a in chosen if a.hex() in sweeps or len(sweeps) < MAX_TO_SWEEP]
        if not {a.hex() for a in chosen} <= sweeps:
            # Listed before the receive is posted: a crash in between still sweeps them.
            sweeps |= {a.hex() for a in chosen}
            self.finder.save_sweeps(self.code, (bytes.fromhex(a) for a in sweeps))
        self.checkpoint(CrashPoint.NANO_SWEEP_LISTED)
        return sum(
            self.builder.receive(self.code, self._accounts[a], self._pocket[a][0], live)
            for a in chosen
        )

    def _sweep(self, live: Live, sweeps: set[str]) -> int:
        hot = self._hot()
        if hot is None:
            return 0
        built, done = 0, set()
        for text in sorted(sweeps):
            account = bytes.fromhex(text)
            entry = self._accounts.get(account)
            if entry is None or account in self._pocket or built >= self.config.pocket_per_round:
                continue  # not ours (yet), or deposits still to receive first
            base = self.builder.base(account, live)
            if base is None:
                continue
            if base.balance == 0:
                done.add(text)
            elif self.builder.sweep(self.code, entry, hot, base, live):
                built += 1
        if done:
            self.finder.save_sweeps(self.code, (bytes.fromhex(a) for a in sweeps - done))
        return built

    def _build_view(self) -> Live:
        """Live templates for this round's building (withdrawals, then pocketing)."""
        if self._live is None:
            self._live = load_live(self.coordinator, self.code)
        return self._live

    def _hot(self) -> WatchAddress | None:
        return self._hot_entry

    def close(self) -> None:
        """Close the node and coordinator connections."""
        self.rpc.close()
        super().close()
