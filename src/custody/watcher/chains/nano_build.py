"""Build Nano templates: withdrawal sends, receives/opens and sweeps, one block per account.

A block is built only on a frontier it can trust: frontier, balance and representative come
from ONE account_info call, the previous block from block_info of that frontier, and the
frontier must be confirmed or one of our own published blocks (a run of sends is then signed
ahead of confirmation). The work is generated here, over the block's root, at the threshold of
its subtype; it travels in the payload and the signer never signs it.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from custody.chains import nano as chain
from custody.contract.addresses import WatchAddress
from custody.contract.errors import ErrorCode
from custody.contract.templates import TemplateCreate, TemplateKind
from custody.contract.withdrawals import Withdrawal
from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.nano_blocks import Live, OurBlock, build_payload, our_block
from custody.watcher.chains.nano_rpc import NanoRpc, Receivable
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import CoordinatorError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Base:
    """What a new block of one account builds on; previous None for an unopened account."""

    previous: chain.StateBlock | None
    balance: int
    representative: bytes | None


class BlockBuilder:
    """Turns what an account must do next into an unsigned template at the coordinator."""

    def __init__(
        self,
        rpc: NanoRpc,
        coordinator: CoordinatorClient,
        checkpoint: Callable[[CrashPoint], None],
        net: chain.NanoNetwork,
        representative: bytes,
    ):
        self.rpc = rpc
        self.coordinator = coordinator
        self.net = net
        self.representative = representative
        self._checkpoint = checkpoint

    def base(self, account: bytes, live: Live) -> Base | None:
        """The account's frontier if we may build on it now; None means wait."""
        if live.busy(account):
            return None
        info = self.rpc.account_info(account)
        if info is None:
            return Base(None, 0, None)
        if info.frontier != info.confirmed_frontier and info.frontier not in live.broadcast_hashes(
            account
        ):
            log.info(
                "%s: frontier %s is neither confirmed nor ours; waiting",
                chain.encode_account(account),
                info.frontier.hex().upper(),
            )
            return None
        frontier = self.rpc.block_info(info.frontier)
        if frontier is None or frontier.block.balance != info.balance:
            return None  # the account moved between the two calls: next round
        return Base(frontier.block, info.balance, info.representative)

    def withdrawal(self, code: str, hot: WatchAddress, w: Withdrawal, live: Live) -> bool:
        """A send from the hot account paying `w`; False if it must wait (busy, not enough)."""
        account = bytes.fromhex(hot.public_key)
        base = self.base(account, live)
        if base is None or base.previous is None or base.representative is None:
            return False
        amount = w.intent.amount
        if base.balance < amount:
            log.warning(
                "%s: hot account holds %d raw, withdrawal %s needs %d; waiting",
                code,
                base.balance,
                w.id,
                amount,
            )
            return False
        block = chain.StateBlock(
            account,
            base.previous.hash,
            base.representative,
            base.balance - amount,
            chain.decode_account(w.intent.destination),
        )
        built = self._post(code, TemplateKind.WITHDRAWAL, chain.SEND, hot, block, base, [w.id])
        if built is not None:
            live.add(built)
        return built is not None

    def receive(self, code: str, entry: WatchAddress, send: Receivable, live: Live) -> bool:
        """A receive (or open) on one of our accounts pocketing `send`."""
        account = bytes.fromhex(entry.public_key)
        base = self.base(account, live)
        if base is None:
            return False
        previous = chain.ZERO if base.previous is None else base.previous.hash
        block = chain.StateBlock(
            account, previous, self.representative, base.balance + send.amount, send.send
        )
        subtype = chain.OPEN if base.previous is None else chain.RECEIVE
        built = self._post(code, TemplateKind.RECEIVE, subtype, entry, block, base, [])
        if built is not None:
            live.add(built)
        return built is not None

    def sweep(
        self, code: str, entry: WatchAddress, hot: WatchAddress, base: Base, live: Live
    ) -> bool:
        """A send of a deposit account's whole balance to the hot account."""
        assert base.previous is not None and base.representative is not None
        block = chain.StateBlock(
            base.previous.account,
            base.previous.hash,
            base.representative,
            0,
            bytes.fromhex(hot.public_key),
        )
        built = self._post(code, TemplateKind.SWEEP, chain.SEND, entry, block, base, [])
        if built is not None:
            live.add(built)
        return built is not None

    def _post(
        self,
        code: str,
        kind: TemplateKind,
        subtype: str,
        entry: WatchAddress,
        block: chain.StateBlock,
        base: Base,
        withdrawal_ids: Sequence[str],
    ) -> OurBlock | None:
        work = self.rpc.work_generate(block.root, self.net.thresholds.for_subtype(subtype))
        payload = build_payload(subtype, entry.derivation_path, block, base.previous, work)
        self._checkpoint(CrashPoint.NANO_WORK_READY)
        request = TemplateCreate(
            currency=code,
            kind=kind,
            withdrawal_ids=list(withdrawal_ids),
            payload=payload,
            txid=block.hash_hex,
        )
        try:
            template = self.coordinator.create_template(request)
        except CoordinatorError as e:
            if e.code not in (ErrorCode.WITHDRAWAL_IN_LIVE_TEMPLATE, ErrorCode.ILLEGAL_STATE):
                raise
            # Cancelled meanwhile, or placed by another template: nothing to build.
            log.warning("%s: template for %s not stored: %s", code, list(withdrawal_ids), e)
            return None
        self._checkpoint(CrashPoint.TEMPLATE_POSTED)
        log.info(
            "%s: %s template %s, block %s on %s",
            code,
            subtype,
            template.id,
            block.hash_hex,
            entry.address,
        )
        return our_block(template)
