"""Broadcast signed templates again and again, confirm them by receipt and depth, bump stuck ones.

"already known" from the node is success. "nonce too low" is resolved by looking up our own
transaction hash, never by building a new transaction. One nonce may carry a chain of declared
replacements (same nonce, higher fees): whichever of them is mined is the one reported, and
only one can be. A nonce taken by a transaction that is none of ours is reported failed once
that is `confirmations` deep, as is a transaction whose receipt says it failed (status 0).
"""

import logging
from collections.abc import Callable

from custody.contract.templates import (
    ConfirmationReport,
    FailureOutcome,
    FailureReport,
    Template,
    TemplateStatus,
)
from custody.contract.withdrawals import WithdrawalState
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.ethereum_rpc import EthereumNode, Json, quantity
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.chains.ethereum_templates import LiveTx, decode
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import NodeError, TemplateError

log = logging.getLogger(__name__)

TX_REVERTED = "tx_reverted"
NONCE_CONSUMED = "nonce_consumed"


def already_known(e: NodeError) -> bool:
    """The node has this very transaction (geth, erigon, reth, anvil, nethermind wordings)."""
    text = e.message.lower().replace(" ", "")
    return any(s in text for s in ("alreadyknown", "alreadyimported", "knowntransaction"))


def nonce_too_low(e: NodeError) -> bool:
    """The sender's nonce is used already: by this transaction, or by another one."""
    text = e.message.lower().replace(" ", "")
    return "noncetoolow" in text or "oldnonce" in text


class Broadcaster:
    """broadcast and confirm_withdrawals of one Ethereum currency."""

    def __init__(
        self,
        node: EthereumNode,
        coordinator: CoordinatorClient,
        checkpoint: Callable[[CrashPoint], None],
        config: EthereumNodeConfig,
    ):
        self.node = node
        self.coordinator = coordinator
        self.config = config
        self._checkpoint = checkpoint

    def broadcast(self, code: str) -> int:
        """Send every signed template, lowest nonce first; report those the node has."""
        signed = [decode(t) for t in self.coordinator.templates(code, TemplateStatus.SIGNED)]
        accepted = 0
        for item in sorted(signed, key=lambda i: (i.sender, i.nonce)):
            txid = item.template.txid
            if txid is not None and self.send(item.template):
                self._checkpoint(CrashPoint.TX_SENT)
                self.coordinator.report_broadcast(item.template.id, txid)
                accepted += 1
        return accepted

    def send(self, template: Template) -> bool:
        """True when the node has the transaction now: accepted, or it had it already."""
        if template.signed_payload is None or template.txid is None:
            return False
        try:
            txid = self.node.send_raw(template.signed_payload)
        except NodeError as e:
            if already_known(e):
                return True
            if nonce_too_low(e):
                # Mined already (ours), or the nonce went to another transaction: only our
                # own hash can tell, and the confirm step deals with the second case.
                return self.node.transactions([template.txid])[template.txid] is not None
            log.warning("%s: node refuses tx %s: %s", template.id, template.txid, e.message)
            return False
        if txid != template.txid:
            raise TemplateError(
                f"{template.id}: the node says {txid}, the template {template.txid}"
            )
        return True

    def confirm(self, code: str, depth: int) -> int:
        """Report what is mined deep enough; re-send what the node lost; returns reports."""
        live = [
            decode(t)
            for status in (TemplateStatus.SIGNED, TemplateStatus.BROADCAST)
            for t in self.coordinator.templates(code, status)
        ]
        if not live:
            return 0
        families = {i.template.id: self._family(i.template) for i in live}
        # The head before the receipts: a transaction mined after this head is judged next round.
        head = self.node.head()
        receipts = self.node.receipts(t.txid for f in families.values() for t in f if t.txid)
        reports = 0
        for item in live:
            family = families[item.template.id]
            mined = [(t, r) for t in family if t.txid and (r := receipts.get(t.txid)) is not None]
            if mined:
                reports += self._mined(item, *mined[0], head, depth)
            else:
                reports += self._unmined(item, head, depth)
        return reports

    def _family(self, template: Template) -> list[Template]:
        """The template and every template it replaces, newest first (all share one nonce)."""
        family = [template]
        while family[-1].replaces is not None and len(family) < 50:
            family.append(self.coordinator.template(family[-1].replaces))
        return family

    def _mined(self, item: LiveTx, template: Template, receipt: Json, head: int, depth: int) -> int:
        height = quantity(receipt.get("blockNumber"), "block number")
        [block] = self.node.blocks([height], False)
        block_hash = str(receipt.get("blockHash")).lower()
        if block is None or str(block["hash"]).lower() != block_hash:
            return 0  # a reorg is moving it: next round
        confirmations = head - height + 1
        if confirmations < depth:
            return 0
        if quantity(receipt.get("status"), "status") != 1:
            return self._fail(item, TX_REVERTED, f"{template.txid} failed (status 0) in {height}")
        report = ConfirmationReport(
            block_hash=block_hash, block_height=height, confirmations=confirmations
        )
        self.coordinator.report_confirmation(template.id, report)
        if template.id != item.template.id:
            log.warning(
                "%s: replaced tx %s confirmed instead of %s",
                item.template.id,
                template.txid,
                item.template.txid,
            )
        log.info("%s: tx %s confirmed (%d deep)", template.id, template.txid, confirmations)
        return 1

    def _unmined(self, item: LiveTx, head: int, depth: int) -> int:
        """None of the nonce's transactions is mined: taken by another one, lost, or waiting."""
        if self.node.nonce(item.sender, "latest") > item.nonce:
            safe = self.node.nonce(item.sender, hex(max(head - depth + 1, 0)))
            if safe <= item.nonce:
                return 0  # taken in a block that a reorg may still undo: wait
            return self._fail(
                item, NONCE_CONSUMED, f"nonce {item.nonce} of {item.sender} was used by another tx"
            )
        template = item.template
        if template.status is not TemplateStatus.BROADCAST or template.txid is None:
            return 0
        if self.node.transactions([template.txid])[template.txid] is None:
            log.warning(
                "%s: tx %s is in no block and no mempool: sending it again",
                template.id,
                template.txid,
            )
            self.send(template)
            self._checkpoint(CrashPoint.TX_RESENT)
        return 0

    def _fail(self, item: LiveTx, code: str, reason: str) -> int:
        """Fail a template that can never confirm; its withdrawals fail and are released."""
        settled = [w.id for w in item.template.withdrawals if w.state is WithdrawalState.CONFIRMED]
        if settled:
            # Paid by a replaced ancestor the coordinator did not link to this template.
            log.error(
                "%s: withdrawals %s are confirmed already: not failing it",
                item.template.id,
                settled,
            )
            return 0
        report = FailureReport(code=code, reason=reason, outcome=FailureOutcome.FAIL)
        self.coordinator.report_failure(item.template.id, report)
        log.warning("%s: tx %s can never confirm: %s", item.template.id, item.template.txid, reason)
        return 1
