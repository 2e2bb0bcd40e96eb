"""Read-only summaries for operators: withdrawals counted by state, alerts from the audit log."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custody.coordinator.db.tables import AuditRow, WithdrawalRow

ALERT_PREFIX = "alert_"


@dataclass(frozen=True)
class Alert:
    """An audit-log row whose action starts with `alert_`: something a person must look at."""

    id: int
    at: datetime
    actor: str
    action: str
    object_id: str
    detail: str


def withdrawal_counts(session: Session) -> dict[str, int]:
    """How many withdrawals are in each state (states with none are left out)."""
    stmt = (
        select(WithdrawalRow.state, func.count())
        .group_by(WithdrawalRow.state)
        .order_by(WithdrawalRow.state)
    )
    return {state: int(n) for state, n in session.execute(stmt)}


def alerts(session: Session, limit: int) -> list[Alert]:
    """The newest alerts first."""
    stmt = (
        select(AuditRow)
        .where(AuditRow.action.startswith(ALERT_PREFIX, autoescape=True))
        .order_by(AuditRow.id.desc())
        .limit(limit)
    )
    return [
        Alert(r.id, r.at, r.actor, r.action, r.object_id, r.detail) for r in session.scalars(stmt)
    ]
