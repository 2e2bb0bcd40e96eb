"""Sweeps: move credited deposits from deposit addresses to the currency's hot wallet.

ETH: the balance minus the most the gas can cost. A token: the deposit address first needs ETH
for gas, so the hot wallet tops it up (a `topup` template) and the token transfer follows once
that top-up is confirmed. An address is swept only when none of its deposits is still pending
and it has no live transaction; a top-up that fails is tried again after `topup_retry_after`,
never waited for.
"""

import logging
import time
from collections.abc import Callable, Sequence

from custody.chains.ethereum_tx import Eip1559Tx, TemplatePayload, address_bytes, encode_transfer
from custody.contract.addresses import WatchAddress
from custody.contract.deposits import DepositState
from custody.contract.templates import TemplateKind, TemplateStatus
from custody.watcher.chains.ethereum_addresses import AddressIndex
from custody.watcher.chains.ethereum_rpc import EthereumNode
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.chains.ethereum_templates import (
    Fees,
    LiveTx,
    NonceBook,
    Poster,
    live_templates,
    quote,
)
from custody.watcher.client import CoordinatorClient

log = logging.getLogger(__name__)


class SweepBuilder:
    """build_sweeps of one Ethereum currency."""

    def __init__(
        self,
        node: EthereumNode,
        coordinator: CoordinatorClient,
        index: AddressIndex,
        poster: Poster,
        config: EthereumNodeConfig,
        chain_id: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.node = node
        self.coordinator = coordinator
        self.index = index
        self.poster = poster
        self.config = config
        self.chain_id = chain_id
        self._clock = clock
        # Top-ups seen live, per deposit address; and when one last failed, how many times.
        # Memory only: after a restart a failed top-up is simply tried again at once.
        self._topups: dict[str, str] = {}
        self._topup_failed: dict[str, tuple[float, int]] = {}

    def build(self, code: str, hot: WatchAddress, token: str | None) -> int:
        """Sweep (or top up) every credited deposit address that has something; returns templates."""
        live = live_templates(self.coordinator, code)
        book = NonceBook(self.node, live)
        self._track_topups(code, live)
        entries = self._candidates(code, book)
        if not entries:
            return 0
        fees = quote(self.node, self.config)
        wei = self.node.balances([e.address for e in entries])
        if token is None:
            return sum(self._sweep_eth(code, e, wei[e.address], fees, hot, book) for e in entries)
        tokens = self.node.token_balances(token, [e.address for e in entries])
        return sum(
            self._sweep_token(code, e, tokens[e.address], wei[e.address], fees, hot, token, book)
            for e in entries
            if tokens[e.address] > max(self.config.sweep_min, 0)
        )

    def _candidates(self, code: str, book: NonceBook) -> list[WatchAddress]:
        """Deposit addresses with credited deposits, none pending and no live transaction."""
        pending = {d.address for d in self.coordinator.deposits(code, DepositState.PENDING)}
        credited = {d.address for d in self.coordinator.deposits(code, DepositState.CREDITED)}
        quiet = sorted(a for a in credited - pending if a not in self._topups)
        entries = self.index.deposit_addresses(quiet)
        return [e for e in entries.values() if not book.busy(e.address)]

    def _sweep_eth(
        self,
        code: str,
        entry: WatchAddress,
        balance: int,
        fees: Fees,
        hot: WatchAddress,
        book: NonceBook,
    ) -> int:
        gas = self.config.gas_limit
        value = balance - gas * fees.max_fee
        if value <= self.config.sweep_min:
            return 0
        tx = Eip1559Tx(
            self.chain_id,
            book.take(entry.address),
            fees.priority,
            fees.max_fee,
            gas,
            address_bytes(hot.address),
            value,
        )
        return self._post(code, TemplatePayload(tx, entry.address, entry.derivation_path))

    def _sweep_token(
        self,
        code: str,
        entry: WatchAddress,
        tokens: int,
        wei: int,
        fees: Fees,
        hot: WatchAddress,
        token: str,
        book: NonceBook,
    ) -> int:
        gas = self.config.token_gas_limit
        if wei < gas * fees.max_fee:
            return self._top_up(code, entry, gas * fees.max_fee * 5 // 4 - wei, fees, hot, book)
        data = encode_transfer(address_bytes(hot.address), tokens)
        tx = Eip1559Tx(
            self.chain_id,
            book.take(entry.address),
            fees.priority,
            fees.max_fee,
            gas,
            address_bytes(token),
            0,
            data,
        )
        return self._post(code, TemplatePayload(tx, entry.address, entry.derivation_path))

    def _top_up(
        self,
        code: str,
        entry: WatchAddress,
        value: int,
        fees: Fees,
        hot: WatchAddress,
        book: NonceBook,
    ) -> int:
        failed_at, failures = self._topup_failed.get(entry.address, (None, 0))
        if failed_at is not None and self._clock() - failed_at < self.config.topup_retry_after:
            return 0
        # Each new attempt offers more: a payload like the failed one would only be answered
        # with the same dead template.
        for _ in range(failures):
            fees = self._raised(fees)
        value = min(value, self.config.token_gas_limit * self.config.max_fee_per_gas)
        tx = Eip1559Tx(
            self.chain_id,
            book.take(hot.address),
            fees.priority,
            fees.max_fee,
            self.config.gas_limit,
            address_bytes(entry.address),
            value,
        )
        payload = TemplatePayload(tx, hot.address, hot.derivation_path, entry.derivation_path)
        template = self.poster.post(code, TemplateKind.TOPUP, payload)
        if template is None:
            return 0
        log.info(
            "%s: topping up %s with %d wei for its sweep (%s)",
            code,
            entry.address,
            value,
            template.id,
        )
        self._topups[entry.address] = template.id
        return 1

    def _track_topups(self, code: str, live: Sequence[LiveTx]) -> None:
        """Forget top-ups that ended; remember when one failed so it is not waited for."""
        for item in live:
            if item.template.kind is TemplateKind.TOPUP and item.tx.to_address is not None:
                self._topups[item.tx.to_address] = item.template.id
        live_ids = {i.template.id for i in live}
        for address, tid in list(self._topups.items()):
            if tid in live_ids:
                continue
            del self._topups[address]
            status = self.coordinator.template(tid).status
            if status is not TemplateStatus.CONFIRMED:
                log.warning(
                    "%s: top-up %s of %s is %s: trying again later", code, tid, address, status
                )
                failures = self._topup_failed.get(address, (0.0, 0))[1] + 1
                self._topup_failed[address] = (self._clock(), failures)
            else:
                self._topup_failed.pop(address, None)

    def _raised(self, fees: Fees) -> Fees:
        def step(value: int) -> int:
            return value + max(1, value * self.config.bump_percent // 100)

        max_fee = min(step(fees.max_fee), self.config.max_fee_per_gas)
        return Fees(priority=min(step(fees.priority), max_fee), max_fee=max_fee)

    def _post(self, code: str, payload: TemplatePayload) -> int:
        template = self.poster.post(code, TemplateKind.SWEEP, payload)
        if template is None:
            return 0
        log.info("%s: sweeping %s in template %s", code, payload.sender, template.id)
        return 1
