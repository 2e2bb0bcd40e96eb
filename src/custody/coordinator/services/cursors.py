"""The watcher's per-currency scan positions, kept here so the watcher holds no state of its own."""

from sqlalchemy.orm import Session

from custody.contract.cursors import ChainCursor, CursorUpdate
from custody.contract.errors import ErrorCode
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.db.tables import CursorRow
from custody.coordinator.db.types import utcnow
from custody.coordinator.errors import NotFound
from custody.coordinator.services.common import currency_or_error


def get(session: Session, config: CoordinatorConfig, code: str) -> ChainCursor:
    """The stored cursor, or 404 when the watcher never stored one (it starts from its config)."""
    currency = currency_or_error(config, code)
    row = session.get(CursorRow, currency.code)
    if row is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"no cursor stored for {currency.code}", "currency")
    return ChainCursor(currency=row.currency, cursor=row.cursor, updated_at=row.updated_at)


def put(
    session: Session, config: CoordinatorConfig, code: str, update: CursorUpdate
) -> ChainCursor:
    """Store the cursor (PUT: the same value twice is the same state)."""
    currency = currency_or_error(config, code)
    row = session.get(CursorRow, currency.code, with_for_update=True)
    if row is None:
        row = CursorRow(currency=currency.code, cursor=update.cursor)
        session.add(row)
    elif row.cursor != update.cursor:
        row.cursor = update.cursor
        row.updated_at = utcnow()
    session.flush()
    return ChainCursor(currency=row.currency, cursor=row.cursor, updated_at=row.updated_at)
