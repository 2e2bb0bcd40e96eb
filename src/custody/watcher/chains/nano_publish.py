"""Publish our signed blocks with `process`, confirm them, and fail only what provably lost.

Every `process` error is first resolved by `block_info(hash)`: found means published (the node
answers a republished send "Invalid block balance for given subtype", not "Old block"). If the
node does not have the block, the slot it was built for decides:
- its previous is unknown ("gap"): an earlier block of ours is not on the node yet; wait;
- another block holds the slot (the previous' successor, or the account's open block): a fork.
  Only when that competitor is confirmed can ours never confirm: then the template fails and
  the withdrawal's hold is released. Before that, wait (an election could still pick ours);
- nobody holds it: the block itself is refused. Work too low is regenerated (the work is not
  in the hash); anything else is an alert and waits for an operator, never a failure.
"""

import logging
from collections.abc import Callable
from enum import Enum

from custody.chains import nano as chain
from custody.contract.templates import (
    ConfirmationReport,
    FailureOutcome,
    FailureReport,
    TemplateKind,
    TemplateStatus,
)
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.nano_blocks import Live, OurBlock, chain_order
from custody.watcher.chains.nano_rpc import NanoRpc
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import NodeError

log = logging.getLogger(__name__)

FORK_LOST = "nano_fork_lost"
UNRECEIVED = "nano_unreceivable"
UNRECEIVABLE = "Unreceivable"
WORK_ERRORS = frozenset({"Block work is less than threshold", "Block work is insufficient"})


class Outcome(Enum):
    """What became of one publish attempt."""

    PUBLISHED = "published"
    WAITING = "waiting"
    FAILED = "failed"


class Publisher:
    """broadcast and confirm_withdrawals of the Nano watcher."""

    def __init__(
        self,
        rpc: NanoRpc,
        coordinator: CoordinatorClient,
        checkpoint: Callable[[CrashPoint], None],
        thresholds: chain.Thresholds,
    ):
        self.rpc = rpc
        self.coordinator = coordinator
        self.thresholds = thresholds
        self._checkpoint = checkpoint

    def broadcast(self, live: Live) -> int:
        """Publish signed blocks, each account's strictly in chain order; report what the node has."""
        published = 0
        for blocks in live.by_account.values():
            on_node = {TemplateStatus.SIGNED, TemplateStatus.BROADCAST}
            for ours in chain_order(b for b in blocks if b.template.status in on_node):
                if ours.template.status is TemplateStatus.BROADCAST:
                    continue  # on the node already (confirm_withdrawals watches it)
                outcome = self.publish(ours)
                if outcome is not Outcome.PUBLISHED:
                    break  # what follows in this account builds on it
                self._checkpoint(CrashPoint.TX_SENT)
                self.coordinator.report_broadcast(ours.template.id, ours.block.hash_hex)
                published += 1
        return published

    def confirm(self, live: Live) -> int:
        """Report confirmed blocks; republish a broadcast block the node lost; fail lost forks."""
        reports = 0
        for ours in live.blocks(TemplateStatus.BROADCAST):
            info = self.rpc.block_info(ours.hash)
            if info is None:
                # Rolled back or dropped: the same bytes again, then the slot decides.
                self.publish(ours)
                self._checkpoint(CrashPoint.TX_RESENT)
                continue
            if info.confirmed:
                report = ConfirmationReport(
                    block_hash=ours.block.hash_hex, block_height=info.height, confirmations=1
                )
                self.coordinator.report_confirmation(ours.template.id, report)
                reports += 1
        return reports

    def publish(self, ours: OurBlock) -> Outcome:
        """`process` with the subtype; any error resolved by block_info, then by the slot."""
        try:
            self.rpc.process(ours.block, ours.subtype)
            return Outcome.PUBLISHED
        except NodeError as e:
            error = e
        if self.rpc.block_info(ours.hash) is not None:
            log.info("block %s is on the node already (%s)", ours.block.hash_hex, error.message)
            return Outcome.PUBLISHED
        return self._not_on_node(ours, error)

    def _not_on_node(self, ours: OurBlock, error: NodeError) -> Outcome:
        block = ours.block
        if block.is_open:
            info = self.rpc.account_info(block.account)
            holder = None if info is None else info.open_block
        else:
            previous = self.rpc.block_info(block.previous)
            if previous is None:
                log.info(
                    "block %s waits: its previous is not on the node (%s)",
                    block.hash_hex,
                    error.message,
                )
                return Outcome.WAITING
            holder = None if previous.successor == chain.ZERO else previous.successor
        if holder is None:
            return self._refused(ours, error)  # the place is free: the node refuses the block
        return self._fork(ours, holder)

    def _fork(self, ours: OurBlock, holder: bytes) -> Outcome:
        """Another block holds our block's place: fail ours only once that one is confirmed."""
        competitor = self.rpc.block_info(holder)
        if competitor is None or not competitor.confirmed:
            log.warning(
                "block %s forks with unconfirmed %s; waiting for the election",
                ours.block.hash_hex,
                holder.hex().upper(),
            )
            return Outcome.WAITING
        reason = f"block {holder.hex().upper()} is confirmed in the place of {ours.block.hash_hex}"
        log.error("ALERT %s: %s", ours.template.id, reason)
        failure = FailureReport(code=FORK_LOST, reason=reason, outcome=FailureOutcome.FAIL)
        self.coordinator.report_failure(ours.template.id, failure)
        return Outcome.FAILED

    def _refused(self, ours: OurBlock, error: NodeError) -> Outcome:
        """The place is free and the node still refuses the block itself."""
        if error.message in WORK_ERRORS:
            root = ours.block.root
            work = self.rpc.work_generate(root, self.thresholds.for_subtype(ours.subtype))
            log.warning(
                "block %s: %s; new work %s",
                ours.block.hash_hex,
                error.message,
                chain.work_hex(work),
            )
            try:
                self.rpc.process(ours.block.with_work(work), ours.subtype)
                return Outcome.PUBLISHED
            except NodeError as e:
                error = e
        if error.message == UNRECEIVABLE and ours.template.kind is TemplateKind.RECEIVE:
            # The send was received by another block already: this one can never apply, and a
            # receive pays nobody, so failing it frees the account for its next block.
            failure = FailureReport(
                code=UNRECEIVED,
                reason=f"{error.message}: the send "
                f"{ours.block.link.hex().upper()} is not receivable",
                outcome=FailureOutcome.FAIL,
            )
            self.coordinator.report_failure(ours.template.id, failure)
            return Outcome.FAILED
        log.error(
            "ALERT block %s (template %s) refused by the node: %s; an operator must look",
            ours.block.hash_hex,
            ours.template.id,
            error.message,
        )
        return Outcome.WAITING
