"""The base of a chain family's watcher: six steps, capabilities declared, crash points named."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import ClassVar

from custody.contract.currencies import ChainFamily, Currency
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import ChainMismatch
from custody.watcher.settings import WatchedCurrency


class Capability(StrEnum):
    """What a family's watcher does; the loop reads these instead of probing the node."""

    # The node watches only addresses it was told about (Bitcoin wallets, not Ethereum logs).
    ADDRESS_IMPORT = "address_import"
    # One transaction pays many withdrawals.
    BATCHED_WITHDRAWALS = "batched_withdrawals"
    # The transaction id is known before signing (segwit), so templates carry it.
    TXID_BEFORE_SIGNING = "txid_before_signing"
    # Deposits that leave the chain are reported (orphaned, reversed) and come back.
    REORG_REPORTS = "reorg_reports"


class CrashPoint(StrEnum):
    """Points between two side effects where the process may die; each one has a test."""

    IMPORTED_NOT_MARKED = "import:node-has-keys,coordinator-not-told"
    REMOVALS_REPORTED = "deposits:removals-reported,cursor-not-saved"
    BLOCKS_SAVED = "deposits:blocks-saved,reports-not-sent"
    DEPOSITS_REPORTED = "deposits:reports-sent,cursor-not-saved"
    CHANGE_RESERVED = "withdrawals:change-reserved,psbt-not-funded"
    PSBT_FUNDED = "withdrawals:inputs-locked,template-not-posted"
    TEMPLATE_POSTED = "withdrawals:template-posted,answer-lost"
    TX_SENT = "broadcast:node-has-tx,coordinator-not-told"
    TX_RESENT = "confirm:tx-rebroadcast,nothing-reported"
    # Nano (watcher/chains/nano*.py): the sweep list is the currency's cursor; work is generated
    # before the template is posted (it is not part of the block hash).
    NANO_SWEEP_LISTED = "nano:sweep-list-saved,receive-not-posted"
    NANO_WORK_READY = "nano:work-generated,template-not-posted"


# Called at every crash point; tests pass one that kills the watcher there.
Probe = Callable[[CrashPoint], None]


def _no_probe(point: CrashPoint) -> None:
    return None


class ChainWatcher(ABC):
    """One per watched currency. Every step reads its state from the node and the coordinator
    each time it runs, so a watcher killed anywhere and started again carries on."""

    family: ClassVar[ChainFamily]
    capabilities: ClassVar[frozenset[Capability]]
    # The crash points this family's steps pass through; each one has a kill-and-restart test.
    crash_points: ClassVar[tuple[CrashPoint, ...]] = ()

    def __init__(
        self, watched: WatchedCurrency, coordinator: CoordinatorClient, probe: Probe | None = None
    ):
        self.watched = watched
        self.code = watched.code
        self.coordinator = coordinator
        self._probe = probe or _no_probe
        self._currency: Currency | None = None

    @property
    def currency(self) -> Currency:
        """The currency as the coordinator lists it (confirmations come from there)."""
        if self._currency is None:
            raise ChainMismatch(f"{self.code}: the coordinator's currency list was not read yet")
        return self._currency

    def checkpoint(self, point: CrashPoint) -> None:
        """A named point between two side effects (see CrashPoint)."""
        self._probe(point)

    def refresh_currency(self) -> None:
        """Read the currency from the coordinator and check it is the one configured."""
        listed = {c.code: c for c in self.coordinator.currencies()}
        currency = listed.get(self.code)
        if currency is None:
            raise ChainMismatch(f"the coordinator does not list {self.code}")
        if (currency.family, currency.network) != (self.watched.family, self.watched.network):
            raise ChainMismatch(
                f"{self.code}: the coordinator lists {currency.family}/{currency.network}, "
                f"the watcher's config {self.watched.family}/{self.watched.network}"
            )
        self._currency = currency

    def prepare(self) -> None:
        """Before the steps of a round: the currency, and whatever the node needs."""
        self.refresh_currency()

    @abstractmethod
    def import_addresses(self) -> int:
        """Make the node watch pool addresses it does not know yet; returns how many."""

    @abstractmethod
    def discover_deposits(self) -> int:
        """Report new outputs to our addresses and what changed since; returns reports sent."""

    @abstractmethod
    def confirm_deposits(self) -> int:
        """Re-check deposits the coordinator holds as pending; returns reports sent."""

    @abstractmethod
    def build_withdrawals(self) -> int:
        """Turn approved withdrawals into an unsigned template; returns withdrawals placed."""

    @abstractmethod
    def broadcast(self) -> int:
        """Send every signed template to the network; returns how many the node accepted."""

    @abstractmethod
    def confirm_withdrawals(self) -> int:
        """Report confirmed or failed transactions, re-send dropped ones; returns reports."""

    def close(self) -> None:
        """Release connections."""
        self.coordinator.close()

    def steps(self) -> list[tuple[str, Callable[[], int]]]:
        """The round's steps in order, after `prepare`."""
        steps: list[tuple[str, Callable[[], int]]] = []
        if Capability.ADDRESS_IMPORT in self.capabilities:
            steps.append(("import_addresses", self.import_addresses))
        steps += [
            ("discover_deposits", self.discover_deposits),
            ("confirm_deposits", self.confirm_deposits),
            ("build_withdrawals", self.build_withdrawals),
            ("broadcast", self.broadcast),
            ("confirm_withdrawals", self.confirm_withdrawals),
        ]
        return steps
