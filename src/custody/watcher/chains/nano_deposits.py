"""Nano deposits: confirmed sends to our deposit accounts, reported once, then pocketed and swept.

`accounts_receivable` lists only confirmed sends (include_only_confirmed, the node's default
since V22), and confirmation on Nano is final: a deposit is reported with its send block hash as
txid (output 0) and one confirmation, so the coordinator credits it at once, exactly once.

Which deposit accounts still hold funds to sweep is kept in the coordinator, in this currency's
cursor: an account is added before its receive template is posted and removed once its balance
is seen at zero, so a watcher killed anywhere in between still sweeps it.
"""

import json
import logging
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ValidationError

from custody.chains import nano as chain
from custody.contract.deposits import DepositReport, DepositState
from custody.contract.errors import ErrorCode
from custody.watcher.chains.nano_rpc import NanoRpc, Receivable
from custody.watcher.client import MAX_BATCH, CoordinatorClient
from custody.watcher.errors import CoordinatorError, WatcherError

log = logging.getLogger(__name__)

MAX_CREDITED = 200_000  # remembered send hashes (a cache: forgetting one costs one report)
MAX_TO_SWEEP = 1000  # keeps the cursor well under the API's 100,000 characters


class SweepCursor(BaseModel):
    """The currency's cursor: deposit accounts (public key hex) that may hold funds."""

    v: int = 1
    sweep: list[str] = []

    @classmethod
    def parse(cls, text: str | None) -> "SweepCursor":
        """The stored cursor; an empty one before the first."""
        if text is None:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            raise WatcherError(f"the stored cursor is not a nano sweep list: {text[:80]}") from e


class DepositFinder:
    """discover_deposits and confirm_deposits, and the list of accounts to sweep."""

    def __init__(self, rpc: NanoRpc, coordinator: CoordinatorClient, batch: int):
        self.rpc = rpc
        self.coordinator = coordinator
        self.batch = batch
        self._credited: set[bytes] = set()

    def discover(self, code: str, accounts: Sequence[bytes]) -> dict[bytes, list[Receivable]]:
        """Report confirmed receivable sends; returns the credited ones per account, to pocket."""
        found: dict[bytes, list[Receivable]] = {}
        for at in range(0, len(accounts), self.batch):
            found.update(self.rpc.accounts_receivable(accounts[at : at + self.batch]))
        fresh = [(a, r) for a, rs in found.items() for r in rs if r.send not in self._credited]
        for at in range(0, len(fresh), MAX_BATCH):
            self._report(code, fresh[at : at + MAX_BATCH])
        return {
            account: sorted((r for r in rs if r.send in self._credited), key=lambda r: r.send)
            for account, rs in found.items()
            if any(r.send in self._credited for r in rs)
        }

    def _report(self, code: str, batch: list[tuple[bytes, Receivable]]) -> None:
        reports = [_report(code, account, r) for account, r in batch]
        while reports:
            try:
                answered = self.coordinator.report_deposits(reports)
            except CoordinatorError as e:
                index = _unassigned(e, len(reports))
                if index is None:
                    raise
                # A pool account no user was given: nobody to credit; the funds stay there.
                skipped = reports.pop(index)
                log.error(
                    "ALERT send %s pays %s, assigned to no user: not reported",
                    skipped.txid,
                    skipped.address,
                )
                continue
            if len(self._credited) > MAX_CREDITED:
                self._credited.clear()
            self._credited |= {
                bytes.fromhex(d.txid) for d in answered if d.state is DepositState.CREDITED
            }
            return

    def confirm(self, code: str) -> int:
        """Deposits the coordinator still holds as pending (reported by an older watcher, or
        before the currency's depth was lowered): confirmed sends are reported again."""
        reports = []
        for deposit in self.coordinator.deposits(code, DepositState.PENDING):
            info = self.rpc.block_info(bytes.fromhex(deposit.txid))
            if info is None or not info.confirmed:
                continue
            account = chain.decode_account(deposit.address)
            reports.append(
                _report(
                    code, account, Receivable(info.block.hash, deposit.amount, info.block.account)
                )
            )
        for at in range(0, len(reports), MAX_BATCH):
            self.coordinator.report_deposits(reports[at : at + MAX_BATCH])
        return len(reports)

    def load_sweeps(self, code: str) -> SweepCursor:
        """Accounts that may hold funds to sweep."""
        return SweepCursor.parse(self.coordinator.cursor(code))

    def save_sweeps(self, code: str, accounts: Iterable[bytes]) -> None:
        """Store the set (sorted: the same set, the same text)."""
        cursor = SweepCursor(sweep=sorted({a.hex() for a in accounts}))
        self.coordinator.put_cursor(code, json.dumps(cursor.model_dump(), separators=(",", ":")))


def _report(code: str, account: bytes, r: Receivable) -> DepositReport:
    # Keyed by the send's hash: the same send is the same deposit, however often it is listed.
    return DepositReport(
        currency=code,
        txid=r.send.hex().upper(),
        output_index=0,
        address=chain.encode_account(account),
        amount=r.amount,
        block_hash=r.send.hex().upper(),
        confirmations=1,
    )


def _unassigned(e: CoordinatorError, size: int) -> int | None:
    """The index of the report refused for an address assigned to no user."""
    if e.code != ErrorCode.UNKNOWN_ADDRESS or not e.field:
        return None
    parts = e.field.split(".")  # "deposits.3.address"
    if len(parts) >= 2 and parts[0] == "deposits" and parts[1].isdigit():
        index = int(parts[1])
        return index if index < size else None
    return None
