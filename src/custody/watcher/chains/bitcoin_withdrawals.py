"""Withdrawal templates on a Bitcoin-family chain: one funded PSBT for a batch of withdrawals.

Crash safety without state of our own: the change address is reserved under a key derived
from the batch's withdrawal ids (a retry gets the same one), the coordinator answers the same
payload with the same template, a withdrawal already in a live template is refused (409), and
the node's coin locks are rebuilt from the live templates before every build (the node forgets
them when it restarts).
"""

import hashlib
import logging
from collections.abc import Callable, Sequence

from custody.chains import bitcoin as chain
from custody.contract.errors import ErrorCode
from custody.contract.templates import LIVE_STATUSES, TemplateCreate, TemplateKind
from custody.contract.withdrawals import Withdrawal, WithdrawalState
from custody.watcher.addressbook import AddressBook
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.bitcoin_node import BitcoinNode, Outpoint
from custody.watcher.chains.bitcoin_psbt import ReadyPsbt, payload_spends, prepare_psbt
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import CoordinatorError, CoordinatorUnavailable, NodeError, WatcherError
from custody.watcher.rpc import RPC_WALLET_ERROR, RPC_WALLET_INSUFFICIENT_FUNDS
from custody.watcher.settings import NodeConfig

log = logging.getLogger(__name__)

# Virtual bytes of a transaction besides its payee outputs, and per payee output, for the
# rough funds check before asking the node (which computes the real fee).
_BASE_VBYTES, _OUTPUT_VBYTES, _INPUT_VBYTES = 11 + 31, 43, 68
_FUNDS_ATTEMPTS = 3


def change_key(currency: str, withdrawal_ids: Sequence[str]) -> str:
    """The Idempotency-Key of the change reservation for a batch: the same batch, the same key."""
    digest = hashlib.sha256(",".join(sorted(withdrawal_ids)).encode()).hexdigest()
    return f"watcher:{currency}:change:{digest}"


def _insufficient(e: NodeError) -> bool:
    return e.code == RPC_WALLET_INSUFFICIENT_FUNDS or (
        e.code == RPC_WALLET_ERROR and "insufficient funds" in e.message.lower()
    )


class WithdrawalBuilder:
    """build_withdrawals of the Bitcoin watcher."""

    def __init__(
        self,
        node: BitcoinNode,
        coordinator: CoordinatorClient,
        book: AddressBook,
        checkpoint: Callable[[CrashPoint], None],
        config: NodeConfig,
    ):
        self.node = node
        self.coordinator = coordinator
        self.book = book
        self.config = config
        self._checkpoint = checkpoint
        # Withdrawals the node refuses to pay on their own (e.g. dust); in memory only, found
        # again after a restart. An operator cancels them.
        self.unpayable: set[str] = set()

    def fee_rate(self) -> int:
        """The node's estimate, bounded by the configured floor and cap (fallback without one)."""
        estimate = self.node.fee_rate(self.config.conf_target)
        if estimate is None:
            estimate = self.config.fallback_fee or self.config.fee_floor
        return min(max(estimate, self.config.fee_floor), self.config.fee_cap)

    def reconcile_locks(self, currency: str) -> set[Outpoint]:
        """Lock exactly the inputs of live templates; returns them."""
        wanted: set[Outpoint] = set()
        for status in sorted(LIVE_STATUSES):
            for template in self.coordinator.templates(currency, status):
                wanted |= payload_spends(template.payload)
        locked = self.node.locked()
        # Inputs of templates that died (failed, voided, rejected) go back to coin selection.
        self.node.set_locked(locked - wanted, False)
        missing = wanted - locked
        if missing:
            spendable = self.node.unspent(include_unsafe=True).keys()
            relock = missing & spendable
            if relock:
                log.info("%s: locking %d inputs of live templates again", currency, len(relock))
                self.node.set_locked(relock, True)
        return wanted

    def build(self, currency: str, net: chain.BitcoinNetwork) -> int:
        """At most one new template per round, for the oldest approved withdrawals that fit."""
        self.reconcile_locks(currency)
        approved = self.coordinator.withdrawals(
            currency, WithdrawalState.APPROVED, min(1000, 4 * self.config.batch_size)
        )
        rate = self.fee_rate()
        batch = self._fit([w for w in approved if w.id not in self.unpayable], rate)
        for _ in range(_FUNDS_ATTEMPTS):
            if not batch:
                return 0
            try:
                return self._build(currency, net, batch, rate)
            except NodeError as e:
                if not _insufficient(e):
                    raise
                log.warning(
                    "%s: funds short for %d withdrawals, trying fewer", currency, len(batch)
                )
                batch = batch[:-1]
        return 0

    def _fit(self, approved: Sequence[Withdrawal], rate: int) -> list[Withdrawal]:
        """Oldest first, one per destination (the node refuses a repeated address), while the
        amounts and a rough fee fit in the spendable coins."""
        available = sum(self.node.unspent(include_unsafe=False).values())
        batch: list[Withdrawal] = []
        destinations: set[str] = set()
        total = 0
        for w in approved:
            if len(batch) >= self.config.batch_size or w.intent.destination in destinations:
                continue
            fee = rate * (_BASE_VBYTES + _OUTPUT_VBYTES * (len(batch) + 1) + _INPUT_VBYTES)
            if total + w.intent.amount + fee > available:
                continue
            batch.append(w)
            destinations.add(w.intent.destination)
            total += w.intent.amount
        return batch

    def _build(
        self, currency: str, net: chain.BitcoinNetwork, batch: Sequence[Withdrawal], rate: int
    ) -> int:
        ids = sorted(w.id for w in batch)
        change = self.coordinator.reserve_change(currency, change_key(currency, ids))
        self.book.remember([change])
        self._checkpoint(CrashPoint.CHANGE_RESERVED)
        # The change output must be watched, or the wallet could not spend it later.
        refused = self.node.import_addresses([change], timeout=None)
        if refused:
            raise WatcherError(f"the node refuses to watch change address {refused}")
        outputs = [(w.intent.destination, w.intent.amount) for w in batch]
        try:
            funded = self.node.fund_psbt(outputs, change.address, rate)
        except NodeError as e:
            if not _insufficient(e):
                self._find_unpayable(batch, rate, change.address, e)
            raise
        spends = payload_spends(funded)
        try:
            ready = prepare_psbt(funded, net, change, self.book.entries, self._previous_tx)
            self._checkpoint(CrashPoint.PSBT_FUNDED)
            return self._post(currency, ids, ready)
        except CoordinatorUnavailable:
            raise  # the template may be stored: the next round's reconcile decides the locks
        except WatcherError:
            self.node.set_locked(spends, False)  # nothing stored: the coins are free again
            raise

    def _post(self, currency: str, ids: list[str], ready: ReadyPsbt) -> int:
        body = TemplateCreate(
            currency=currency,
            kind=TemplateKind.WITHDRAWAL,
            withdrawal_ids=ids,
            payload=ready.payload,
            txid=ready.txid,
        )
        try:
            template = self.coordinator.create_template(body)
        except CoordinatorError as e:
            if e.status != 409:
                raise
            # Nothing was stored. If another template holds some of these withdrawals (our
            # own, whose answer was lost), that one goes on: never a second transaction.
            self.node.set_locked(ready.spends, False)
            if e.code == ErrorCode.WITHDRAWAL_IN_LIVE_TEMPLATE:
                live = sorted({t for i in ids if (t := self.coordinator.withdrawal(i).template_id)})
                log.warning("%s: withdrawals already in live template(s) %s", currency, live)
            else:
                log.warning("%s: template refused: %s", currency, e)
            return 0
        self._checkpoint(CrashPoint.TEMPLATE_POSTED)
        log.info(
            "%s: template %s for %d withdrawals, txid %s",
            currency,
            template.id,
            len(ids),
            ready.txid,
        )
        return len(ids)

    def _previous_tx(self, txid: str) -> str:
        status = self.node.transaction(txid)
        if status is None or not status.hex:
            raise WatcherError(f"the wallet does not have transaction {txid} an input spends")
        return status.hex

    def _find_unpayable(
        self, batch: Sequence[Withdrawal], rate: int, change: str, error: NodeError
    ) -> None:
        """The node refused the batch for another reason than funds: find whom it refuses alone."""
        log.error("node refused to fund %d withdrawals: %s", len(batch), error)
        for w in batch:
            try:
                # A dry run: nothing is locked, stored or sent.
                self.node.fund_psbt(
                    [(w.intent.destination, w.intent.amount)], change, rate, lock=False
                )
            except NodeError as e:
                if _insufficient(e):
                    continue
                self.unpayable.add(w.id)
                log.error(
                    "ALERT withdrawal %s (%s to %s) cannot be paid: %s; cancel it",
                    w.id,
                    w.intent.amount,
                    w.intent.destination,
                    e.message,
                )
