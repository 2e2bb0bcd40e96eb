"""Broadcast signed templates again and again, confirm them, and prove the ones that cannot be.

A transaction is reported failed (its withdrawals go back for a new template) only when a
different transaction spending one of its inputs is buried as deep as the currency's
confirmations: before that, a reorg could still bring ours back, and paying the withdrawals
again could pay them twice.
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
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.bitcoin_node import BitcoinNode, TxStatus
from custody.watcher.chains.bitcoin_psbt import signed_spends
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import NodeError, TemplateError
from custody.watcher.rpc import RPC_VERIFY_ALREADY_IN_CHAIN, RPC_VERIFY_ERROR, RPC_VERIFY_REJECTED

log = logging.getLogger(__name__)

INPUT_SPENT = "input_spent"
# Wallet transactions searched for the one that spent an input of ours (rare path).
_MAX_CANDIDATES = 5000


def _already_known(e: NodeError) -> bool:
    """The node has this very transaction: in a block (-27) or, for nodes that say so, in
    the mempool ("txn-already-in-mempool", "txn-already-known")."""
    return e.code == RPC_VERIFY_ALREADY_IN_CHAIN or (
        e.code == RPC_VERIFY_REJECTED and "txn-already" in e.message
    )


class Broadcaster:
    """broadcast and confirm_withdrawals of the Bitcoin watcher."""

    def __init__(
        self,
        node: BitcoinNode,
        coordinator: CoordinatorClient,
        checkpoint: Callable[[CrashPoint], None],
    ):
        self.node = node
        self.coordinator = coordinator
        self._checkpoint = checkpoint

    def broadcast(self, currency: str, depth: int) -> int:
        """Send every signed template; report those the node has."""
        accepted = 0
        for template in self.coordinator.templates(currency, TemplateStatus.SIGNED):
            if self._send(template, depth) and template.txid is not None:
                self._checkpoint(CrashPoint.TX_SENT)
                self.coordinator.report_broadcast(template.id, template.txid)
                accepted += 1
        return accepted

    def confirm(self, currency: str, depth: int) -> int:
        """Report buried transactions once; re-send dropped ones; fail provably dead ones."""
        templates = self.coordinator.templates(currency, TemplateStatus.BROADCAST)
        statuses = self.node.transactions(t.txid for t in templates if t.txid)
        reports = 0
        for template in templates:
            status = statuses.get(template.txid or "")
            if status is not None and status.confirmations >= depth:
                reports += self._report_confirmed(template, status)
            elif status is not None and status.confirmations < 0:
                reports += self._fail_if_dead(template, status, depth)
            elif (status is None or status.confirmations == 0) and not self.node.in_mempool(
                template.txid or ""
            ):
                # Reorged out and not back in the mempool, or dropped by a restarted node:
                # the same signed bytes again (the txid cannot change).
                log.warning(
                    "%s: tx %s in no block and no mempool: sending it again",
                    template.id,
                    template.txid,
                )
                self._send(template, depth)
                self._checkpoint(CrashPoint.TX_RESENT)
        return reports

    def _report_confirmed(self, template: Template, status: TxStatus) -> int:
        if status.block_hash is None or status.block_height is None:
            return 0
        report = ConfirmationReport(
            block_hash=status.block_hash,
            block_height=status.block_height,
            confirmations=status.confirmations,
        )
        self.coordinator.report_confirmation(template.id, report)
        log.info("%s: tx %s confirmed (%d deep)", template.id, template.txid, status.confirmations)
        return 1

    def _send(self, template: Template, depth: int) -> bool:
        """True when the node has the transaction now: accepted, or it had it already."""
        if template.signed_payload is None or template.txid is None:
            return False
        try:
            txid = self.node.send_raw(template.signed_payload)
        except NodeError as e:
            if _already_known(e):
                return True
            status = self.node.transaction(template.txid)
            if status is not None and status.confirmations > 0:
                return True  # mined, and its outputs are spent already: the node says -25
            if e.code in (RPC_VERIFY_ERROR, RPC_VERIFY_REJECTED):
                self._fail_if_dead(template, status, depth)
            log.warning("%s: node refuses tx %s: %s", template.id, template.txid, e.message)
            return False
        if txid != template.txid:
            raise TemplateError(
                f"{template.id}: the node says txid {txid}, the template {template.txid}"
            )
        return True

    def _fail_if_dead(self, template: Template, status: TxStatus | None, depth: int) -> int:
        """Report the template failed if a conflicting transaction is `depth` deep."""
        conflict = self._deepest_conflict(template, status)
        if conflict is None:
            return 0
        if conflict.confirmations < depth:
            log.warning(
                "%s: an input is spent by %s (%d deep): waiting for %d before giving up",
                template.id,
                conflict.txid,
                conflict.confirmations,
                depth,
            )
            return 0
        reason = f"input spent by {conflict.txid}, {conflict.confirmations} confirmations deep"
        report = FailureReport(code=INPUT_SPENT, reason=reason, outcome=FailureOutcome.RETRY)
        self.coordinator.report_failure(template.id, report)
        log.warning("%s: tx %s can never confirm (%s)", template.id, template.txid, reason)
        return 1

    def _deepest_conflict(self, template: Template, status: TxStatus | None) -> TxStatus | None:
        candidates = set(status.conflicts) if status is not None else set()
        if not candidates and template.signed_payload is not None:
            candidates = self._spenders(template)
        candidates.discard(template.txid or "")
        found = [s for s in self.node.transactions(candidates).values() if s.confirmations > 0]
        return max(found, key=lambda s: s.confirmations, default=None)

    def _spenders(self, template: Template) -> set[str]:
        """Wallet transactions that spent an input of ours the wallet never saw us spend.

        Every spend of our coins is a wallet transaction (it debits a watched key), so the
        spender is among the wallet's transactions after the block that funded the input."""
        assert template.signed_payload is not None
        found: set[str] = set()
        for outpoint in signed_spends(template.signed_payload):
            if self.node.output_unspent(outpoint):
                continue
            funding = self.node.transaction(outpoint.txid)
            if funding is None or funding.block_hash is None:
                continue  # not in a block itself: nothing can be deep on top of it
            since = self.node.previous_block(funding.block_hash)
            for txid in self.node.wallet_txids_since(since)[:_MAX_CANDIDATES]:
                if txid != template.txid and outpoint in self.node.decoded_inputs(txid):
                    found.add(txid)
        return found
