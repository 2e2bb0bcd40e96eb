"""Withdrawal intents, their approvals and the withdrawal's life as the API reports it."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from custody.contract.addresses import ID_PATTERN
from custody.contract.amounts import Amount

HEX_SIGNATURE = r"^[0-9a-f]{128}$"
HEX_ED25519_KEY = r"^[0-9a-f]{64}$"


class WithdrawalState(StrEnum):
    """requested → approved → in_template → signed → broadcast → confirmed; failed; cancelled.

    awaiting_reissue: its signed transaction can never confirm (an input was spent elsewhere);
    operators must say so (a reissue) before the signer will sign another one for it.
    """

    REQUESTED = "requested"
    APPROVED = "approved"
    AWAITING_REISSUE = "awaiting_reissue"
    IN_TEMPLATE = "in_template"
    SIGNED = "signed"
    BROADCAST = "broadcast"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WithdrawalIntent(BaseModel):
    """What the exchange asks for and signs: these fields are the canonical intent bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    currency: str = Field(pattern=r"^[A-Z0-9]{2,12}$")
    amount: Amount
    destination: str = Field(min_length=1, max_length=128)


class WithdrawalRequest(BaseModel):
    """An intent with the exchange's Ed25519 signature over its canonical bytes."""

    intent: WithdrawalIntent
    signature: str = Field(pattern=HEX_SIGNATURE)


class Approval(BaseModel):
    """An operator's Ed25519 signature over the approval bytes of one intent."""

    operator_key: str = Field(pattern=HEX_ED25519_KEY)
    signature: str = Field(pattern=HEX_SIGNATURE)


class Reissue(BaseModel):
    """An operator's Ed25519 signature saying transaction `txid` of this intent is dead and the
    intent may be paid by a new, non-conflicting transaction."""

    txid: str = Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$")
    operator_key: str = Field(pattern=HEX_ED25519_KEY)
    signature: str = Field(pattern=HEX_SIGNATURE)


class CancelRequest(BaseModel):
    """Why a withdrawal is cancelled (kept in the audit log)."""

    reason: str = Field(default="", max_length=500)


class Withdrawal(BaseModel):
    """A withdrawal: the signed intent, its approvals and where it stands."""

    id: str
    intent: WithdrawalIntent
    signature: str
    fee: Amount
    state: WithdrawalState
    approvals: list[Approval]
    approvals_required: int
    reissues: list[Reissue] = Field(default_factory=list)
    template_id: str | None
    txid: str | None
    failure_code: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
