"""Users' balances per currency, read from the ledger's running balances."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.contract.balances import Balance
from custody.coordinator import ledger
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.db.tables import LedgerAccountRow


def of_user(session: Session, config: CoordinatorConfig, user_id: str) -> list[Balance]:
    """Available and held per configured currency (zero where the user never moved funds)."""
    accounts = (ledger.available(user_id), ledger.held(user_id))
    rows = session.execute(
        select(LedgerAccountRow.account, LedgerAccountRow.currency, LedgerAccountRow.balance).where(
            LedgerAccountRow.account.in_(accounts)
        )
    )
    found = {(a, c): b for a, c, b in rows}
    return [
        Balance(
            user_id=user_id,
            currency=code,
            available=found.get((accounts[0], code), 0),
            held=found.get((accounts[1], code), 0),
        )
        for code in sorted(config.currencies)
    ]
