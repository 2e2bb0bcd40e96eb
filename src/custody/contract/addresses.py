"""The address pool: addresses the signer derives, the exchange hands out and the watcher imports."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"


class AddressBranch(StrEnum):
    """What an address is for: user deposits, the signer's own change, or a hot wallet."""

    RECEIVE = "receive"
    CHANGE = "change"
    HOT = "hot"


class PoolAddress(BaseModel):
    """One derived address as the signer posts it: never a private key, only public data."""

    currency: str
    address: str = Field(min_length=1, max_length=128)
    derivation_path: str = Field(pattern=r"^m(/[0-9]+'?)+$", max_length=128)
    public_key: str = Field(pattern=r"^[0-9a-f]{64,130}$")
    branch: AddressBranch = AddressBranch.RECEIVE
    # BIP32 master key fingerprint the path starts from; the watcher writes it into PSBTs.
    fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{8}$")


class AddressBatch(BaseModel):
    """A batch of pool addresses; posting it again changes nothing."""

    addresses: list[PoolAddress] = Field(min_length=1, max_length=1000)


class AddressBatchResult(BaseModel):
    """How many addresses of a batch were new and how many the pool had already."""

    added: int
    existing: int


class DepositAddressRequest(BaseModel):
    """The exchange asks for a user's deposit address; `fresh` asks for a new one."""

    user_id: str = Field(pattern=ID_PATTERN)
    currency: str
    fresh: bool = False


class DepositAddress(BaseModel):
    """The address a user pays deposits to."""

    user_id: str
    currency: str
    address: str
    assigned_at: datetime


class WatchAddress(BaseModel):
    """An address as the watcher sees it: what to import into the node."""

    currency: str
    address: str
    public_key: str
    derivation_path: str
    fingerprint: str | None
    branch: AddressBranch
    imported: bool
    # Handed to a user: payments to it are deposits. A receive address never handed out
    # should receive nothing; coins there belong to no one in the ledger.
    assigned: bool = False


class ImportedMark(BaseModel):
    """The watcher reports addresses it has imported into its node."""

    currency: str
    addresses: list[str] = Field(min_length=1, max_length=1000)


class ChangeReservation(BaseModel):
    """The watcher reserves one change address for a template it is building."""

    currency: str


class PoolLevel(BaseModel):
    """How many unused addresses the pool holds per currency and branch."""

    currency: str
    branch: AddressBranch
    unused: int
    total: int


class ImportedResult(BaseModel):
    """How many addresses were marked imported."""

    marked: int
