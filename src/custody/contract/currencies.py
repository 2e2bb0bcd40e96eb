"""Currencies as the API describes them: family, network, units and confirmation depth."""

from enum import StrEnum

from pydantic import BaseModel, Field

from custody.contract.amounts import Amount


class ChainFamily(StrEnum):
    """The chain families the stack knows: one watcher and one signer module each."""

    BITCOIN = "bitcoin"
    ETHEREUM = "ethereum"
    NANO = "nano"


class Currency(BaseModel):
    """One listed currency. Node settings stay with the watcher and never cross the API."""

    code: str = Field(pattern=r"^[A-Z0-9]{2,12}$")
    family: ChainFamily
    network: str
    decimals: int = Field(ge=0, le=36)
    confirmations: int = Field(ge=1, le=10_000)
    withdrawal_fee: Amount = 0
    auto_approve_limit: Amount = 0
    token_contract: str | None = None
