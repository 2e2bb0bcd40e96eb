"""Deposits as the watcher reports them and the exchange reads them."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from custody.contract.amounts import Amount

# Heights, indexes and depths are stored as 32-bit integers.
INT32_MAX = 2**31 - 1


class DepositState(StrEnum):
    """pending → credited; orphaned (left the chain before credit); reversed (after credit)."""

    PENDING = "pending"
    CREDITED = "credited"
    ORPHANED = "orphaned"
    REVERSED = "reversed"


class DepositReport(BaseModel):
    """What the watcher sees of one output or log, keyed by (currency, txid, output_index)."""

    currency: str
    txid: str = Field(min_length=1, max_length=128)
    output_index: int = Field(ge=0, le=INT32_MAX)
    address: str
    amount: Amount
    block_hash: str | None = Field(default=None, max_length=128)
    block_height: int | None = Field(default=None, ge=0, le=INT32_MAX)
    confirmations: int = Field(ge=0, le=INT32_MAX)
    in_chain: bool = True


class DepositReportBatch(BaseModel):
    """Reports are upserts: replaying any of them changes nothing."""

    deposits: list[DepositReport] = Field(min_length=1, max_length=1000)


class Deposit(BaseModel):
    """A deposit and its state."""

    id: str
    currency: str
    txid: str
    output_index: int
    address: str
    user_id: str
    amount: Amount
    block_hash: str | None
    block_height: int | None
    confirmations: int
    state: DepositState
    credit_count: int
    created_at: datetime
    updated_at: datetime


class DepositEvent(BaseModel):
    """A change of a deposit, numbered in the order it happened."""

    seq: int
    state: DepositState
    deposit: Deposit


class DepositFeed(BaseModel):
    """Deposit changes since a cursor; pass next_cursor back to continue."""

    events: list[DepositEvent]
    next_cursor: int
