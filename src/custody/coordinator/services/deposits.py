"""Deposits: the watcher's reports become pending, credited, orphaned or reversed, exactly once."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.contract.deposits import (
    Deposit,
    DepositEvent,
    DepositFeed,
    DepositReport,
    DepositReportBatch,
    DepositState,
)
from custody.contract.errors import ErrorCode
from custody.coordinator import ledger
from custody.coordinator.auth import Principal
from custody.coordinator.config import CoordinatorConfig, CurrencyConfig
from custody.coordinator.db.tables import DepositEventRow, DepositRow, PoolAddressRow
from custody.coordinator.db.types import utcnow
from custody.coordinator.errors import Conflict
from custody.coordinator.services.common import (
    checked_address,
    currency_or_error,
    new_id,
    page_after,
)
from custody.coordinator.writes import audit

log = logging.getLogger(__name__)


def report(
    session: Session, config: CoordinatorConfig, principal: Principal, batch: DepositReportBatch
) -> list[Deposit]:
    """Upsert every report; replaying any of them changes nothing."""
    return [
        _apply(session, config, principal, r, f"deposits.{i}") for i, r in enumerate(batch.deposits)
    ]


def _apply(
    session: Session, config: CoordinatorConfig, principal: Principal, r: DepositReport, field: str
) -> Deposit:
    currency = currency_or_error(config, r.currency, f"{field}.currency")
    address = checked_address(currency, r.address, f"{field}.address")
    # Locked: two reports of the same output (say "deep enough" and "left the chain") must
    # not both start from the same old state, or a credit could be overwritten and repeated.
    row = session.scalar(
        select(DepositRow)
        .where(
            DepositRow.currency == currency.code,
            DepositRow.txid == r.txid,
            DepositRow.output_index == r.output_index,
        )
        .with_for_update()
    )
    if row is None:
        row = _create(session, currency, r, address, field)
    elif (row.address, row.amount) != (address, r.amount):
        raise Conflict(
            ErrorCode.DEPOSIT_MISMATCH,
            f"{r.txid}:{r.output_index} was reported before with another address or amount",
            field,
        )
    if r.in_chain:
        row.block_hash, row.block_height = r.block_hash, r.block_height
        row.confirmations = r.confirmations
    _advance(session, currency, principal, row, r.in_chain)
    return to_model(row)


def _create(
    session: Session, currency: CurrencyConfig, r: DepositReport, address: str, field: str
) -> DepositRow:
    owner = session.scalar(
        select(PoolAddressRow.user_id).where(
            PoolAddressRow.currency == currency.code, PoolAddressRow.address == address
        )
    )
    if owner is None:
        raise Conflict(
            ErrorCode.UNKNOWN_ADDRESS, f"{address} is not a deposit address of any user", field
        )
    row = DepositRow(
        id=new_id("dep"),
        currency=currency.code,
        txid=r.txid,
        output_index=r.output_index,
        address=address,
        user_id=owner,
        amount=r.amount,
        confirmations=0,
        state=DepositState.PENDING.value,
        credit_count=0,
    )
    session.add(row)
    session.flush()
    _event(session, row)
    return row


def _advance(
    session: Session,
    currency: CurrencyConfig,
    principal: Principal,
    row: DepositRow,
    in_chain: bool,
) -> None:
    """Move the state machine one step as far as the report allows."""
    state = DepositState(row.state)
    if not in_chain:
        if state is DepositState.PENDING:
            _set(session, row, DepositState.ORPHANED)
        elif state is DepositState.CREDITED:
            _reverse(session, principal, row)
        return
    if state in (DepositState.ORPHANED, DepositState.REVERSED):
        _set(session, row, DepositState.PENDING)
        state = DepositState.PENDING
    if state is DepositState.PENDING and row.confirmations >= currency.confirmations:
        row.credit_count += 1
        ledger.post(
            session,
            f"deposit:{row.id}:credit:{row.credit_count}",
            "deposit_credit",
            row.currency,
            {ledger.available(row.user_id): row.amount, ledger.WORLD_DEPOSITS: -row.amount},
        )
        _set(session, row, DepositState.CREDITED)


def _reverse(session: Session, principal: Principal, row: DepositRow) -> None:
    # A credited deposit left the chain: take the credit back even if the user already spent
    # it (the account may go negative) and raise an alert for the operators.
    ledger.post(
        session,
        f"deposit:{row.id}:reverse:{row.credit_count}",
        "deposit_reversal",
        row.currency,
        {ledger.available(row.user_id): -row.amount, ledger.WORLD_DEPOSITS: row.amount},
        allow_overdraft=True,
    )
    _set(session, row, DepositState.REVERSED)
    audit(session, principal, "alert_deposit_reversed", row.id, f"{row.txid}:{row.output_index}")
    log.warning("ALERT deposit %s reversed after credit (user %s)", row.id, row.user_id)


def _set(session: Session, row: DepositRow, state: DepositState) -> None:
    row.state = state.value
    row.updated_at = utcnow()
    session.flush()
    _event(session, row)


def _event(session: Session, row: DepositRow) -> None:
    session.add(DepositEventRow(deposit_id=row.id, state=row.state))
    session.flush()


def feed(session: Session, since: int, limit: int, currency: str | None) -> DepositFeed:
    """Deposit changes after `since`, oldest first."""
    stmt = (
        select(DepositEventRow, DepositRow)
        .join(DepositRow, DepositRow.id == DepositEventRow.deposit_id)
        .where(DepositEventRow.seq > since)
        .order_by(DepositEventRow.seq)
        .limit(limit)
    )
    if currency is not None:
        stmt = stmt.where(DepositRow.currency == currency)
    events = [
        DepositEvent(seq=e.seq, state=DepositState(e.state), deposit=to_model(d))
        for e, d in session.execute(stmt)
    ]
    return DepositFeed(events=events, next_cursor=events[-1].seq if events else since)


def listing(
    session: Session,
    currency: str | None,
    state: DepositState | None,
    limit: int,
    oldest_first: bool = False,
    after: str | None = None,
) -> list[Deposit]:
    """Deposits filtered by currency and state, newest first unless asked; pages by `after`."""
    stmt = select(DepositRow)
    if currency is not None:
        stmt = stmt.where(DepositRow.currency == currency)
    if state is not None:
        stmt = stmt.where(DepositRow.state == state.value)
    stmt = page_after(session, stmt, DepositRow, after, newest_first=not oldest_first)
    return [to_model(r) for r in session.scalars(stmt.limit(limit))]


def to_model(row: DepositRow) -> Deposit:
    """The API's view of a deposit row."""
    return Deposit(
        id=row.id,
        currency=row.currency,
        txid=row.txid,
        output_index=row.output_index,
        address=row.address,
        user_id=row.user_id,
        amount=row.amount,
        block_hash=row.block_hash,
        block_height=row.block_height,
        confirmations=row.confirmations,
        state=DepositState(row.state),
        credit_count=row.credit_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
