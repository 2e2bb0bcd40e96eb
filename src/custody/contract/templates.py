"""Unsigned transaction templates, the signer's answers and the watcher's reports on them."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from custody.contract.deposits import INT32_MAX
from custody.contract.withdrawals import Withdrawal

MAX_PAYLOAD = 2_000_000


class TemplateKind(StrEnum):
    """What a template does: pay withdrawals, sweep deposits, or receive (Nano)."""

    WITHDRAWAL = "withdrawal"
    SWEEP = "sweep"
    RECEIVE = "receive"
    TOPUP = "topup"


class TemplateStatus(StrEnum):
    """unsigned → signed → broadcast → confirmed; rejected by the signer; failed; voided; replaced."""

    UNSIGNED = "unsigned"
    SIGNED = "signed"
    REJECTED = "rejected"
    BROADCAST = "broadcast"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    VOIDED = "voided"
    REPLACED = "replaced"


LIVE_STATUSES = frozenset(
    {TemplateStatus.UNSIGNED, TemplateStatus.SIGNED, TemplateStatus.BROADCAST}
)


class TemplateCreate(BaseModel):
    """The watcher's unsigned transaction: PSBT (base64), unsigned EIP-1559 tx or Nano block."""

    currency: str
    kind: TemplateKind
    withdrawal_ids: list[str] = Field(default_factory=list, max_length=500)
    payload: str = Field(min_length=1, max_length=MAX_PAYLOAD)
    txid: str | None = Field(default=None, max_length=128)
    replaces: str | None = Field(default=None, max_length=40)


class SignedTransaction(BaseModel):
    """The signer's answer: the signed bytes (hex) and the id the chain will know them by."""

    signed_payload: str = Field(min_length=1, max_length=MAX_PAYLOAD)
    txid: str = Field(min_length=1, max_length=128)


class Rejection(BaseModel):
    """The signer refused a template: the code names the check that failed."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    reason: str = Field(max_length=1000)


class BroadcastReport(BaseModel):
    """The node accepted the signed bytes (or already had them)."""

    txid: str = Field(min_length=1, max_length=128)


class ConfirmationReport(BaseModel):
    """The transaction is in a block at least as deep as the currency requires."""

    block_hash: str = Field(min_length=1, max_length=128)
    block_height: int = Field(ge=0, le=INT32_MAX)
    confirmations: int = Field(ge=1, le=INT32_MAX)


class FailureOutcome(StrEnum):
    """retry: the withdrawals go back for a new template; fail: they fail and the hold is released."""

    RETRY = "retry"
    FAIL = "fail"


class FailureReport(BaseModel):
    """The transaction provably cannot confirm (inputs or nonce spent elsewhere, failed receipt)."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    reason: str = Field(max_length=1000)
    outcome: FailureOutcome


class Template(BaseModel):
    """A template with everything the signer needs to check it: the signed intents and approvals."""

    id: str
    currency: str
    kind: TemplateKind
    status: TemplateStatus
    payload: str
    payload_hash: str
    txid: str | None
    replaces: str | None
    withdrawals: list[Withdrawal]
    signed_payload: str | None
    rejection: Rejection | None
    failure: FailureReport | None
    block_hash: str | None
    block_height: int | None
    created_at: datetime
    updated_at: datetime
