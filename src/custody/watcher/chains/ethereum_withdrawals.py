"""Withdrawal templates from the hot wallet: one EIP-1559 transaction per withdrawal.

Crash safety without state of our own: a withdrawal in a live template is not approved any
more, so it is never built twice, and the nonce it holds is read back from the live templates
(NonceBook) before any new one is assigned. Templates are built oldest withdrawal first while
the hot wallet can pay them; a withdrawal the hot wallet cannot pay yet waits, and the ones
after it wait too (first in, first out).
"""

import logging
from dataclasses import dataclass

from custody.chains.ethereum_tx import (
    Eip1559Tx,
    TemplatePayload,
    address_bytes,
    encode_transfer,
)
from custody.contract.addresses import WatchAddress
from custody.contract.templates import TemplateKind
from custody.contract.withdrawals import Withdrawal, WithdrawalState
from custody.watcher.chains.ethereum_rpc import EthereumNode
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.chains.ethereum_templates import (
    Fees,
    LiveTx,
    NonceBook,
    Poster,
    live_templates,
    outflow,
    quote,
)
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import NodeError

log = logging.getLogger(__name__)


@dataclass
class Budget:
    """What the hot wallet can still spend this round: wei and token units."""

    wei: int
    tokens: int

    def take(self, wei: int, tokens: int) -> bool:
        """Reserve the amounts if both fit."""
        if wei > self.wei or tokens > self.tokens:
            return False
        self.wei -= wei
        self.tokens -= tokens
        return True


class WithdrawalBuilder:
    """build_withdrawals of one Ethereum currency (ETH or a token)."""

    def __init__(
        self,
        node: EthereumNode,
        coordinator: CoordinatorClient,
        poster: Poster,
        config: EthereumNodeConfig,
        chain_id: int,
    ):
        self.node = node
        self.coordinator = coordinator
        self.poster = poster
        self.config = config
        self.chain_id = chain_id
        # Withdrawals the node will not estimate (a contract that refuses ETH): in memory only,
        # found again after a restart; an operator cancels them.
        self.unpayable: set[str] = set()

    def build(self, code: str, hot: WatchAddress, token: str | None) -> int:
        """Templates for approved withdrawals, then fillers for nonce gaps; returns withdrawals."""
        live = live_templates(self.coordinator, code)
        book = NonceBook(self.node, live)
        approved = self.coordinator.withdrawals(
            code, WithdrawalState.APPROVED, self.config.templates_per_round
        )
        placed = 0
        todo = [w for w in approved if w.id not in self.unpayable]
        if todo:
            fees = quote(self.node, self.config)
            budget = self._budget(hot, token, [i for i in live if i.sender == hot.address], book)
            for withdrawal in todo:
                if not self._build_one(code, hot, token, withdrawal, fees, budget, book):
                    break
                placed += 1
        self.fill_gaps(code, hot, book)
        return placed

    def _budget(
        self, hot: WatchAddress, token: str | None, live: list[LiveTx], book: NonceBook
    ) -> Budget:
        wei = self.node.balances([hot.address])[hot.address]
        tokens = self.node.token_balances(token, [hot.address])[hot.address] if token else 0
        for item in live:
            if item.nonce >= book.mined(hot.address):
                spent_wei, spent_tokens = outflow(item, token)
                wei, tokens = wei - spent_wei, tokens - spent_tokens
        return Budget(wei, tokens)

    def _build_one(
        self,
        code: str,
        hot: WatchAddress,
        token: str | None,
        withdrawal: Withdrawal,
        fees: Fees,
        budget: Budget,
        book: NonceBook,
    ) -> bool:
        """Post one template; False when the hot wallet cannot pay it (the rest waits too)."""
        intent = withdrawal.intent
        gas = self._gas(hot.address, intent.destination, intent.amount, token)
        if gas is None:
            self.unpayable.add(withdrawal.id)
            return True
        tokens = intent.amount if token else 0
        wei = gas * fees.max_fee + (0 if token else intent.amount)
        if not budget.take(wei, tokens):
            log.warning(
                "%s: the hot wallet cannot pay %s yet (%d wei, %d tokens needed)",
                code,
                withdrawal.id,
                wei,
                tokens,
            )
            return False
        tx = self._tx(book.take(hot.address), fees, gas, intent.destination, intent.amount, token)
        payload = TemplatePayload(tx, hot.address, hot.derivation_path)
        template = self.poster.post(code, TemplateKind.WITHDRAWAL, payload, [withdrawal.id])
        if template is not None:
            log.info("%s: %s in template %s (nonce %d)", code, withdrawal.id, template.id, tx.nonce)
        return True

    def _tx(
        self, nonce: int, fees: Fees, gas: int, destination: str, amount: int, token: str | None
    ) -> Eip1559Tx:
        if token is not None:
            to, value, data = (
                address_bytes(token),
                0,
                encode_transfer(address_bytes(destination), amount),
            )
        else:
            to, value, data = address_bytes(destination), amount, b""
        return Eip1559Tx(self.chain_id, nonce, fees.priority, fees.max_fee, gas, to, value, data)

    def _gas(self, sender: str, destination: str, amount: int, token: str | None) -> int | None:
        """The gas limit: fixed for tokens and plain transfers, estimated for a contract."""
        if token is not None:
            return self.config.token_gas_limit
        if not self.node.has_code(destination):
            return self.config.gas_limit
        try:
            estimate = self.node.estimate_gas(sender, destination, amount, b"")
        except NodeError as e:
            log.error("%s cannot receive %d wei: %s", destination, amount, e.message)
            return None
        gas = max(self.config.gas_limit, estimate * 5 // 4)
        if gas > self.config.max_gas_limit:
            log.error("%s needs %d gas, above max_gas_limit", destination, gas)
            return None
        return gas

    def fill_gaps(self, code: str, hot: WatchAddress, book: NonceBook) -> int:
        """A zero-value self-transfer of the hot wallet at every nonce gap; returns how many."""
        gaps = book.gaps(hot.address)
        if not gaps:
            return 0
        log.error("%s: nonce gap(s) %s of the hot wallet %s: filling them", code, gaps, hot.address)
        fees = quote(self.node, self.config)
        for nonce in gaps:
            tx = Eip1559Tx(
                self.chain_id,
                nonce,
                fees.priority,
                fees.max_fee,
                self.config.gas_limit,
                address_bytes(hot.address),
                0,
            )
            self.poster.post(
                code, TemplateKind.SWEEP, TemplatePayload(tx, hot.address, hot.derivation_path)
            )
        return len(gaps)
