"""Fee bumps: a transaction pending too long while the market asks more is replaced.

The replacement is a declared one (`replaces`): the same nonce, the same payment, higher fees
(each raised by at least bump_percent, as nodes require), so at most one of the two can be
mined. An ETH sweep pays the higher gas out of the value it sweeps.
"""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from custody.chains.ethereum_tx import Eip1559Tx, TemplatePayload
from custody.contract.templates import TemplateKind, TemplateStatus
from custody.watcher.chains.ethereum_rpc import EthereumNode
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.chains.ethereum_templates import Fees, LiveTx, Poster, decode, quote
from custody.watcher.client import CoordinatorClient

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Replacer:
    """Builds same-nonce replacements of stuck templates of one Ethereum currency."""

    def __init__(
        self,
        node: EthereumNode,
        coordinator: CoordinatorClient,
        poster: Poster,
        config: EthereumNodeConfig,
        clock: Callable[[], datetime] = _now,
    ):
        self.node = node
        self.coordinator = coordinator
        self.poster = poster
        self.config = config
        self._clock = clock

    def replace_stuck(self, code: str) -> int:
        """One replacement per stuck template; returns how many were posted."""
        now = self._clock()
        waiting = [
            decode(t)
            for status in (TemplateStatus.SIGNED, TemplateStatus.BROADCAST)
            for t in self.coordinator.templates(code, status)
            if (now - t.updated_at).total_seconds() >= self.config.replace_after
        ]
        if not waiting:
            return 0
        receipts = self.node.receipts(i.template.txid for i in waiting if i.template.txid)
        stuck = [i for i in waiting if not receipts.get(i.template.txid or "")]
        if not stuck:
            return 0
        fees = quote(self.node, self.config)
        return sum(self._replace(code, item, fees) for item in stuck)

    def _replace(self, code: str, item: LiveTx, fees: Fees) -> int:
        tx = self._bumped(item, fees)
        if tx is None:
            return 0
        payload = TemplatePayload(tx, item.sender, item.payload.path, item.payload.to_path)
        ids = [w.id for w in item.template.withdrawals]
        template = self.poster.post(code, item.template.kind, payload, ids, item.template.id)
        if template is None:
            return 0
        log.warning(
            "%s: tx %s stuck at %d wei/gas: replaced by template %s at %d",
            code,
            item.template.txid,
            item.tx.max_fee_per_gas,
            template.id,
            tx.max_fee_per_gas,
        )
        return 1

    def _bumped(self, item: LiveTx, fees: Fees) -> Eip1559Tx | None:
        """The transaction with higher fees; None if the market asks no more or we cannot."""
        old = item.tx
        if fees.max_fee <= old.max_fee_per_gas and fees.priority <= old.max_priority_fee_per_gas:
            return None  # waiting longer, not paying more, is what helps
        minimum_fee, minimum_tip = (
            self._step(old.max_fee_per_gas),
            self._step(old.max_priority_fee_per_gas),
        )
        fee = min(max(minimum_fee, fees.max_fee), self.config.max_fee_per_gas)
        tip = min(max(minimum_tip, fees.priority), fee)
        if fee < minimum_fee or tip < minimum_tip:
            log.warning(
                "%s: tx %s is stuck and its fee is at the cap", item.template.id, item.template.txid
            )
            return None
        value = old.value
        if item.template.kind is TemplateKind.SWEEP and not old.data and value:
            value -= old.gas_limit * (fee - old.max_fee_per_gas)  # the sweep pays its own gas
            if value <= 0:
                return None
        elif old.to is not None and old.data and not self._affords(item, old.gas_limit * fee):
            return None
        return replace(old, max_priority_fee_per_gas=tip, max_fee_per_gas=fee, value=value)

    def _affords(self, item: LiveTx, gas_cost: int) -> bool:
        balance = self.node.balances([item.sender])[item.sender]
        if balance >= gas_cost:
            return True
        log.warning(
            "%s: %s cannot pay the higher gas of a replacement", item.template.id, item.sender
        )
        return False

    def _step(self, value: int) -> int:
        return value + max(1, -(-value * self.config.bump_percent // 100))
