"""User balances as the ledger holds them."""

from pydantic import BaseModel

from custody.contract.amounts import SignedAmount


class Balance(BaseModel):
    """Available and held base units of one user in one currency."""

    user_id: str
    currency: str
    available: SignedAmount
    held: SignedAmount
