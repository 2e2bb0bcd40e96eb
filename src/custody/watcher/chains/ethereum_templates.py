"""What every Ethereum template step shares: live templates, nonces, fees, and posting one.

Nonces are assigned when a template is built and never reused for another purpose: the next
nonce of a sender is the lowest one at or above its mined transaction count that no live
template (unsigned, signed or broadcast) holds. A nonce a dead template left free below a live
one is a gap: the node holds every later transaction back until it is filled, so gaps are
reported and filled (by the next template, or by a zero-value self-transfer).
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from custody.chains.ethereum_tx import Eip1559Tx, TemplatePayload, TxError, decode_transfer
from custody.contract.errors import ErrorCode
from custody.contract.templates import (
    LIVE_STATUSES,
    Template,
    TemplateCreate,
    TemplateKind,
    TemplateStatus,
)
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.ethereum_rpc import EthereumNode
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import CoordinatorError, TemplateError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveTx:
    """A live template with its payload decoded."""

    template: Template
    payload: TemplatePayload

    @property
    def sender(self) -> str:
        """The address that signs (and pays the gas)."""
        return self.payload.sender

    @property
    def nonce(self) -> int:
        """The sender's nonce it consumes."""
        return self.payload.tx.nonce

    @property
    def tx(self) -> Eip1559Tx:
        """The unsigned transaction."""
        return self.payload.tx


def decode(template: Template) -> LiveTx:
    """A template of ours with its payload parsed; TemplateError if it is not ours to read."""
    try:
        return LiveTx(template, TemplatePayload.parse(template.payload))
    except TxError as e:
        raise TemplateError(f"template {template.id} has no ethereum payload: {e}") from e


def live_templates(coordinator: CoordinatorClient, code: str) -> list[LiveTx]:
    """Every unsigned, signed and broadcast template of the currency, decoded."""
    out: list[LiveTx] = []
    for status in sorted(LIVE_STATUSES):
        out += [decode(t) for t in coordinator.templates(code, status)]
    return out


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fees per gas, in wei."""

    priority: int
    max_fee: int


def quote(node: EthereumNode, config: EthereumNodeConfig) -> Fees:
    """Tip: the median of recent tips at the configured percentile, within floor and cap;
    max fee: twice the next block's base fee plus the tip, within the cap."""
    base, tips = node.fee_history(config.fee_history_blocks, config.fee_percentile)
    ordered = sorted(tips)
    tip = ordered[len(ordered) // 2] if ordered else 0
    priority = min(max(tip, config.min_priority_fee), config.max_priority_fee)
    wanted = 2 * base + priority
    if wanted > config.max_fee_per_gas:
        log.warning("base fee %d wei: capping the max fee at %d", base, config.max_fee_per_gas)
    max_fee = min(wanted, config.max_fee_per_gas)
    return Fees(priority=min(priority, max_fee), max_fee=max_fee)


class NonceBook:
    """Nonces of our senders for one round: the node's mined count plus what live templates hold."""

    def __init__(self, node: EthereumNode, live: Sequence[LiveTx]):
        self._node = node
        self._held: dict[str, set[int]] = defaultdict(set)
        for item in live:
            self._held[item.sender].add(item.nonce)
        self._mined: dict[str, int] = {}

    def mined(self, sender: str) -> int:
        """The sender's mined transaction count (read once per round)."""
        if sender not in self._mined:
            self._mined[sender] = self._node.nonce(sender, "latest")
        return self._mined[sender]

    def take(self, sender: str) -> int:
        """The lowest free nonce of the sender, now held."""
        nonce = self.mined(sender)
        while nonce in self._held[sender]:
            nonce += 1
        self._held[sender].add(nonce)
        return nonce

    def gaps(self, sender: str) -> list[int]:
        """Free nonces below a held one: the node can mine nothing after them."""
        held = {n for n in self._held[sender] if n >= self.mined(sender)}
        if not held:
            return []
        return [n for n in range(self.mined(sender), max(held)) if n not in held]

    def busy(self, sender: str) -> bool:
        """The sender has a live template whose nonce is not mined yet."""
        return any(n >= self.mined(sender) for n in self._held[sender])


def outflow(item: LiveTx, token: str | None) -> tuple[int, int]:
    """(wei, token units) a live transaction can still take from its sender."""
    tx = item.tx
    tokens = 0
    if token is not None and tx.to_address == token:
        try:
            _, tokens = decode_transfer(tx.data)
        except TxError:
            tokens = 0
    return tx.max_cost, tokens


class Poster:
    """Posts templates; the crash point between the post and its answer is named here."""

    def __init__(self, coordinator: CoordinatorClient, checkpoint: Callable[[CrashPoint], None]):
        self.coordinator = coordinator
        self._checkpoint = checkpoint

    def post(
        self,
        code: str,
        kind: TemplateKind,
        payload: TemplatePayload,
        withdrawal_ids: Sequence[str] = (),
        replaces: str | None = None,
    ) -> Template | None:
        """The stored template; None when a withdrawal of it is in another live template."""
        body = TemplateCreate(
            currency=code,
            kind=kind,
            withdrawal_ids=list(withdrawal_ids),
            payload=payload.encode(),
            replaces=replaces,
        )
        try:
            template = self.coordinator.create_template(body)
        except CoordinatorError as e:
            if e.code == ErrorCode.WITHDRAWAL_IN_LIVE_TEMPLATE:
                log.info("%s: %s is in another live template already", code, withdrawal_ids)
                return None
            raise
        self._checkpoint(CrashPoint.TEMPLATE_POSTED)
        if template.status is not TemplateStatus.UNSIGNED:
            # The same payload was posted before (a retry) and has moved on since.
            log.info("%s: %s template %s is %s already", code, kind, template.id, template.status)
        return template
