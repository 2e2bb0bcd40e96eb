"""User balances as the ledger holds them."""

from pydantic import BaseModel

from custody.contract.amounts import Amount


class Balance(BaseModel):
    """Available and held base units of one user in one currency."""

    user_id: str
    currency: str
    available: Amount
    held: Amount
