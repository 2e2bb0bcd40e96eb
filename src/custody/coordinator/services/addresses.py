"""The address pool: batches from the signer, deposit addresses for users, imports by the watcher."""

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from custody.contract.addresses import (
    AddressBatch,
    AddressBatchResult,
    AddressBranch,
    DepositAddress,
    DepositAddressRequest,
    ImportedMark,
    PoolLevel,
    WatchAddress,
)
from custody.contract.errors import ErrorCode
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.db.tables import CurrentDepositAddress, PoolAddressRow
from custody.coordinator.db.types import utcnow
from custody.coordinator.errors import BadRequest, Conflict
from custody.coordinator.services.common import checked_address, currency_or_error


def add_batch(
    session: Session, config: CoordinatorConfig, batch: AddressBatch
) -> AddressBatchResult:
    """Add the signer's addresses; an address already in the pool must match exactly."""
    added = existing = 0
    for i, item in enumerate(batch.addresses):
        field = f"addresses.{i}"
        currency = currency_or_error(config, item.currency, f"{field}.currency")
        address = checked_address(currency, item.address, f"{field}.address")
        row = session.scalar(
            select(PoolAddressRow).where(
                PoolAddressRow.currency == currency.code, PoolAddressRow.address == address
            )
        )
        if row is not None:
            if (row.derivation_path, row.public_key, row.branch, row.fingerprint) != (
                item.derivation_path,
                item.public_key,
                item.branch.value,
                item.fingerprint,
            ):
                raise Conflict(
                    ErrorCode.CONFLICT, f"{address} is in the pool with other key data", field
                )
            existing += 1
            continue
        session.add(
            PoolAddressRow(
                currency=currency.code,
                address=address,
                derivation_path=item.derivation_path,
                public_key=item.public_key,
                fingerprint=item.fingerprint,
                branch=item.branch.value,
                imported=False,
            )
        )
        session.flush()
        added += 1
    return AddressBatchResult(added=added, existing=existing)


def deposit_address(
    session: Session, config: CoordinatorConfig, request: DepositAddressRequest
) -> DepositAddress:
    """The user's current address for the currency; a fresh one only when asked for."""
    currency = currency_or_error(config, request.currency)
    current = session.get(CurrentDepositAddress, (request.user_id, currency.code))
    if current is not None and not request.fresh:
        row = session.get(PoolAddressRow, current.address_id)
        assert row is not None and row.assigned_at is not None
        return _deposit_address(row)
    row = _take_unused(session, currency.code, AddressBranch.RECEIVE)
    row.user_id = request.user_id
    row.assigned_at = utcnow()
    if current is None:
        session.add(
            CurrentDepositAddress(
                user_id=request.user_id, currency=currency.code, address_id=row.id
            )
        )
    else:
        current.address_id = row.id
    session.flush()
    return _deposit_address(row)


def reserve_change(session: Session, config: CoordinatorConfig, code: str) -> WatchAddress:
    """Reserve one change address for a template the watcher is building."""
    currency = currency_or_error(config, code)
    row = _take_unused(session, currency.code, AddressBranch.CHANGE)
    row.reserved_at = utcnow()
    session.flush()
    return watch_address(row)


def _take_unused(session: Session, currency: str, branch: AddressBranch) -> PoolAddressRow:
    # SKIP LOCKED lets concurrent assignments on PostgreSQL take different rows instead of
    # queueing on the same one; SQLite ignores it and serialises writers anyway.
    row = session.scalar(
        select(PoolAddressRow)
        .where(
            PoolAddressRow.currency == currency,
            PoolAddressRow.branch == branch.value,
            PoolAddressRow.user_id.is_(None),
            PoolAddressRow.reserved_at.is_(None),
        )
        .order_by(PoolAddressRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if row is None:
        raise Conflict(
            ErrorCode.ADDRESS_POOL_EMPTY,
            f"no unused {branch.value} address left for {currency}; the signer must top up the pool",
            "currency",
        )
    return row


def _deposit_address(row: PoolAddressRow) -> DepositAddress:
    assert row.user_id is not None and row.assigned_at is not None
    return DepositAddress(
        user_id=row.user_id, currency=row.currency, address=row.address, assigned_at=row.assigned_at
    )


def watch_address(row: PoolAddressRow) -> WatchAddress:
    """The watcher's view of a pool row."""
    return WatchAddress(
        currency=row.currency,
        address=row.address,
        public_key=row.public_key,
        derivation_path=row.derivation_path,
        fingerprint=row.fingerprint,
        branch=AddressBranch(row.branch),
        imported=row.imported,
        assigned=row.user_id is not None,
    )


def list_for_watcher(
    session: Session,
    config: CoordinatorConfig,
    code: str,
    imported: bool | None,
    only: list[str] | None,
    limit: int,
    after: str | None = None,
) -> list[WatchAddress]:
    """Pool addresses of a currency in pool order: those not yet imported, or the ones named in
    `only`; `after` (an address) continues from the page that ended with it."""
    currency = currency_or_error(config, code)
    stmt = select(PoolAddressRow).where(PoolAddressRow.currency == currency.code)
    if imported is not None:
        stmt = stmt.where(PoolAddressRow.imported.is_(imported))
    if only:
        stmt = stmt.where(PoolAddressRow.address.in_(only))
    if after is not None:
        last = session.scalar(
            select(PoolAddressRow.id).where(
                PoolAddressRow.currency == currency.code, PoolAddressRow.address == after
            )
        )
        if last is None:
            raise BadRequest(
                ErrorCode.INVALID_REQUEST, f"after: {after} is not in the pool", "after"
            )
        stmt = stmt.where(PoolAddressRow.id > last)
    rows = session.scalars(stmt.order_by(PoolAddressRow.id).limit(limit))
    return [watch_address(r) for r in rows]


def mark_imported(session: Session, config: CoordinatorConfig, mark: ImportedMark) -> int:
    """Mark addresses imported into the watcher's node; unknown addresses are an error."""
    currency = currency_or_error(config, mark.currency)
    rows = list(
        session.scalars(
            select(PoolAddressRow).where(
                PoolAddressRow.currency == currency.code, PoolAddressRow.address.in_(mark.addresses)
            )
        )
    )
    known = {r.address for r in rows}
    missing = [a for a in mark.addresses if a not in known]
    if missing:
        raise Conflict(ErrorCode.UNKNOWN_ADDRESS, f"not in the pool: {missing[0]}", "addresses")
    for row in rows:
        row.imported = True
    return len(rows)


def pool_levels(session: Session) -> list[PoolLevel]:
    """Unused and total addresses per currency and branch."""
    free = and_(PoolAddressRow.user_id.is_(None), PoolAddressRow.reserved_at.is_(None))
    stmt = (
        select(
            PoolAddressRow.currency,
            PoolAddressRow.branch,
            func.count(),
            func.sum(case((free, 1), else_=0)),
        )
        .group_by(PoolAddressRow.currency, PoolAddressRow.branch)
        .order_by(PoolAddressRow.currency, PoolAddressRow.branch)
    )
    return [
        PoolLevel(currency=c, branch=AddressBranch(b), total=total, unused=int(unused or 0))
        for c, b, total, unused in session.execute(stmt)
    ]
