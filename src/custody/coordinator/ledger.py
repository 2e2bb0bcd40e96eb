"""Double-entry ledger in integer base units; each business event posts at most once.

Accounts per currency: `user:<id>:available`, `user:<id>:held`, `world:deposits` (what came in
from the chain), `world:withdrawals` (what went out) and `revenue:fees`. Every event's postings
sum to zero, so per currency all balances sum to zero too.
"""

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custody.contract.errors import ErrorCode
from custody.coordinator.db.tables import LedgerAccountRow, LedgerEventRow, LedgerPostingRow
from custody.coordinator.errors import Conflict

WORLD_DEPOSITS = "world:deposits"
WORLD_WITHDRAWALS = "world:withdrawals"
FEES = "revenue:fees"


def available(user_id: str) -> str:
    """The account of a user's spendable funds."""
    return f"user:{user_id}:available"


def held(user_id: str) -> str:
    """The account of a user's funds held for withdrawals in flight."""
    return f"user:{user_id}:held"


def _may_go_negative(account: str) -> bool:
    # World and revenue accounts are counterparties; a reversal may also overdraw a user,
    # which post() allows only when asked (and the caller raises an alert).
    return not account.startswith("user:")


def post(
    session: Session,
    key: str,
    kind: str,
    currency: str,
    legs: Mapping[str, int],
    allow_overdraft: bool = False,
) -> bool:
    """Post one event exactly once: False (and nothing written) if `key` was posted before.

    Raises Conflict(insufficient_funds) when a user account would go negative.
    """
    if sum(legs.values()) != 0:
        raise ValueError(f"ledger event {key} does not balance")
    if session.scalar(select(LedgerEventRow.id).where(LedgerEventRow.key == key)) is not None:
        return False
    balances = _lock_accounts(session, currency, sorted(legs))
    for account, amount in legs.items():
        new = balances[account].balance + amount
        if new < 0 and not (allow_overdraft or _may_go_negative(account)):
            raise Conflict(
                ErrorCode.INSUFFICIENT_FUNDS,
                f"{account} holds {balances[account].balance}, needs {-amount}",
                "amount",
            )
        balances[account].balance = new
    event = LedgerEventRow(key=key, kind=kind, currency=currency)
    session.add(event)
    session.flush()
    session.add_all(
        LedgerPostingRow(event_id=event.id, account=a, currency=currency, amount=v)
        for a, v in legs.items()
    )
    session.flush()
    return True


def _lock_accounts(
    session: Session, currency: str, accounts: list[str]
) -> dict[str, LedgerAccountRow]:
    """Rows of the accounts, created at zero if new, locked FOR UPDATE in a fixed order.

    Sorted locking means two transactions never wait on each other in a cycle (PostgreSQL);
    SQLite already serialises writers with BEGIN IMMEDIATE.
    """
    rows: dict[str, LedgerAccountRow] = {}
    for account in accounts:
        row = session.scalar(
            select(LedgerAccountRow)
            .where(LedgerAccountRow.account == account, LedgerAccountRow.currency == currency)
            .with_for_update()
        )
        if row is None:
            row = LedgerAccountRow(account=account, currency=currency, balance=0)
            session.add(row)
            session.flush()
        rows[account] = row
    return rows


def balance(session: Session, account: str, currency: str) -> int:
    """The running balance of one account (0 if it never moved)."""
    value = session.scalar(
        select(LedgerAccountRow.balance).where(
            LedgerAccountRow.account == account, LedgerAccountRow.currency == currency
        )
    )
    return value or 0


def lock_balance(session: Session, account: str, currency: str) -> int:
    """The balance of one account, locked until the transaction ends (for check-then-write)."""
    return _lock_accounts(session, currency, [account])[account].balance


def totals(session: Session) -> dict[str, int]:
    """Per currency, the sum of all account balances: zero in a consistent ledger."""
    sums: dict[str, int] = {}
    for row in session.scalars(select(LedgerAccountRow)):
        sums[row.currency] = sums.get(row.currency, 0) + row.balance
    return sums


def postings_match_balances(session: Session) -> bool:
    """Recompute every balance from the postings and compare with the running balances."""
    recomputed: dict[tuple[str, str], int] = {}
    for p in session.scalars(select(LedgerPostingRow)):
        k = (p.account, p.currency)
        recomputed[k] = recomputed.get(k, 0) + p.amount
    stored = {(r.account, r.currency): r.balance for r in session.scalars(select(LedgerAccountRow))}
    return all(stored.get(k, 0) == v for k, v in recomputed.items()) and all(
        recomputed.get(k, 0) == v for k, v in stored.items()
    )


def event_count(session: Session) -> int:
    """How many events the ledger holds."""
    return session.scalar(select(func.count()).select_from(LedgerEventRow)) or 0
